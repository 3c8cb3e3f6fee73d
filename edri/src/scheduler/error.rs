//! [`JobError`]: why the scheduler refuses a job.

/// Why a [`Job`](super::Job) is invalid.
///
/// Every message names the job (`` job `backup` ``, or `job #2` for the second job given to
/// [`start_scheduler`](crate::Edri::start_scheduler) without a name) and the value at fault.
/// At startup it makes [`Edri::start`](crate::Edri::start) fail (as
/// [`Error::Job`](crate::Error::Job)); at run time a [`Set`](super::Set) or
/// [`Update`](super::Update) of such a job fails with `Failure(BadRequest)` carrying the same
/// message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JobError {
    /// The cron expression does not parse, or no time ever matches it.
    #[error("{job}: invalid cron expression `{expression}`: {reason}")]
    Cron {
        /// Which job.
        job: String,
        /// The expression as given.
        expression: String,
        /// What the cron parser said.
        reason: String,
    },
    /// `every(Duration::ZERO)`: a repeating job needs a period above zero.
    #[error("{job}: invalid period 0s: a repeating job needs a period above zero")]
    ZeroPeriod {
        /// Which job.
        job: String,
    },
    /// Two builder calls that contradict each other, such as `every` on a cron job.
    #[error("{job}: {reason}")]
    Conflict {
        /// Which job.
        job: String,
        /// Which calls contradict each other.
        reason: String,
    },
    /// Two jobs given to `start_scheduler` have one name.
    #[error("two jobs are named `{name}`; job names must be unique")]
    DuplicateName {
        /// The shared name.
        name: String,
    },
}
