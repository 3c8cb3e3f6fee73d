//! [`Error`]: what can go wrong when starting, running or talking to edri.

use crate::Failure;

/// The result type of edri's fallible operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error of the edri runtime (startup, configuration, shutdown).
///
/// Answers to requests fail with a [`Failure`] instead; `Error` converts from it, so `?` works
/// on both in a function returning [`edri::Result`](crate::Result).
///
/// Its `Debug` form is the same sentence as its `Display` form, followed by its causes, so that
/// `fn main() -> edri::Result<()>` prints a startup error as a person reads it.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Two event types share one wire name.
    #[error(
        "two events are named `{name}`: `{first}` ({first_location}) and `{second}` ({second_location}); \
         give one of them another name with #[event(..., name = \"...\")]"
    )]
    DuplicateEventName {
        /// The shared wire name.
        name: &'static str,
        /// The first type.
        first: &'static str,
        /// Where the first type is declared.
        first_location: &'static str,
        /// The second type.
        second: &'static str,
        /// Where the second type is declared.
        second_location: &'static str,
    },
    /// Automatic registration found no events at all.
    #[error(
        "automatic event registration found nothing on this target: edri relies on the `inventory` \
         crate, which needs link-time constructors (supported on Linux, macOS, Windows, iOS, Android, \
         FreeBSD and WebAssembly with a constructor-aware runtime)"
    )]
    NothingRegistered,
    /// A manager solves an event whose registration is missing.
    #[error(
        "manager `{manager}` solves `{event}` ({location}), but that event is not registered: \
         declare it with #[event(...)] and make sure the crate that declares it is linked"
    )]
    UnregisteredEvent {
        /// The manager's name.
        manager: String,
        /// The event's type name.
        event: &'static str,
        /// Where the solver is declared.
        location: &'static str,
    },
    /// One manager has two solvers for one event in one direction.
    #[error(
        "manager `{manager}` has two #[solve({direction})] solvers for `{event}`: {first} and {second}"
    )]
    DuplicateSolver {
        /// The manager's name.
        manager: String,
        /// The event's wire name.
        event: &'static str,
        /// `req` or `res`.
        direction: &'static str,
        /// Where the first solver is declared.
        first: &'static str,
        /// Where the second solver is declared.
        second: &'static str,
    },
    /// A process solver is missing from the table a worker process reads.
    #[error(
        "manager `{manager}` has the process solver `{solver}` ({location}), but it is missing from \
         this executable's table of process solvers; the linker dropped it (is the crate that \
         declares it linked into this binary?)"
    )]
    ProcessSolverMissing {
        /// The manager's name.
        manager: String,
        /// The solver's key.
        solver: &'static str,
        /// Where the solver is declared.
        location: &'static str,
    },
    /// Two managers were given one name.
    #[error("two managers are named `{0}`; choose another name for one of them")]
    DuplicateManager(String),
    /// An environment variable holds a value edri cannot use.
    #[error("environment variable {name}={value:?} is invalid: {reason}")]
    InvalidEnv {
        /// The variable.
        name: &'static str,
        /// Its value.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A builder call was given a value edri cannot use.
    #[error("Edri::{call}({value}) is invalid: {reason}")]
    InvalidSetting {
        /// The builder method.
        call: &'static str,
        /// The value it was given.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// [`Edri::run`](crate::Edri::run) was called from inside a tokio runtime.
    #[error(
        "Edri::run() blocks and starts its own tokio runtime, so it cannot be called from async code; \
         use `Edri::start().await` there instead"
    )]
    NestedRuntime,
    /// An I/O error: setting up the runtime or the signal handlers, or reading an address.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The store could not open its database file.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// A job given to the scheduler is invalid.
    #[error(transparent)]
    Job(#[from] crate::scheduler::JobError),
    /// The router could not join the switch (a refused setting, a spool that cannot be
    /// opened).
    #[error(transparent)]
    Switch(#[from] crate::switch::SwitchError),
    /// The API could not listen on its address.
    #[error("cannot serve the API on {addr}: {source}")]
    ApiListen {
        /// The address it was given.
        addr: String,
        /// Why not.
        source: std::io::Error,
    },
    /// The REST routes of two events clash.
    #[error("cannot build the API's routes: {0}")]
    ApiRoute(String),
    /// The system is shutting down or has stopped.
    #[error("edri is shutting down")]
    ShuttingDown,
    /// A request failed.
    #[error(transparent)]
    Failure(#[from] Failure),
}

impl std::fmt::Debug for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self}")?;
        let mut source = std::error::Error::source(self);
        while let Some(cause) = source {
            write!(f, "\n  caused by: {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}
