//! [`Failure`]: the error half of every answer to a request.

use serde::{Deserialize, Serialize};

/// Why a request failed. Each status maps to one HTTP status code for the API broker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    /// The request was malformed (HTTP 400).
    BadRequest,
    /// The caller is not authenticated (HTTP 401).
    Unauthorized,
    /// The caller may not do this (HTTP 403).
    Forbidden,
    /// What the request names does not exist (HTTP 404).
    NotFound,
    /// The request conflicts with the current state (HTTP 409).
    Conflict,
    /// The request is well formed but cannot be processed (HTTP 422).
    Unprocessable,
    /// No answer arrived in time (HTTP 504).
    Timeout,
    /// Nobody can solve the request now (HTTP 503).
    Unavailable,
    /// The solver failed: it panicked, or broke an internal rule (HTTP 500).
    Internal,
}

impl Status {
    /// The HTTP status code this status maps to.
    pub const fn http_code(self) -> u16 {
        match self {
            Status::BadRequest => 400,
            Status::Unauthorized => 401,
            Status::Forbidden => 403,
            Status::NotFound => 404,
            Status::Conflict => 409,
            Status::Unprocessable => 422,
            Status::Timeout => 504,
            Status::Unavailable => 503,
            Status::Internal => 500,
        }
    }

    /// The wire spelling, as in `"NOT_FOUND"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Status::BadRequest => "BAD_REQUEST",
            Status::Unauthorized => "UNAUTHORIZED",
            Status::Forbidden => "FORBIDDEN",
            Status::NotFound => "NOT_FOUND",
            Status::Conflict => "CONFLICT",
            Status::Unprocessable => "UNPROCESSABLE",
            Status::Timeout => "TIMEOUT",
            Status::Unavailable => "UNAVAILABLE",
            Status::Internal => "INTERNAL",
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A request that did not succeed: a [`Status`] and a message for people.
///
/// Solvers return `Err(Failure)` to refuse a request; the runtime produces one when no answer
/// comes in time ([`Status::Timeout`]), when nobody solves the request ([`Status::Unavailable`])
/// and when a solver panics ([`Status::Internal`]).
///
/// ```
/// use edri::{Failure, Status};
/// let failure = Failure::not_found("no file named `a.txt`");
/// assert_eq!(failure.status(), Status::NotFound);
/// assert_eq!(failure.to_string(), "NOT_FOUND: no file named `a.txt`");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{status}: {message}")]
pub struct Failure {
    status: Status,
    message: String,
}

macro_rules! constructors {
    ($($(#[$doc:meta])* $fn_name:ident => $status:ident,)*) => {
        $(
            $(#[$doc])*
            pub fn $fn_name(message: impl Into<String>) -> Self {
                Self::new(Status::$status, message)
            }
        )*
    };
}

impl Failure {
    /// A failure with the given status and message.
    pub fn new(status: Status, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    constructors! {
        /// A [`Status::BadRequest`] failure.
        bad_request => BadRequest,
        /// A [`Status::Unauthorized`] failure.
        unauthorized => Unauthorized,
        /// A [`Status::Forbidden`] failure.
        forbidden => Forbidden,
        /// A [`Status::NotFound`] failure.
        not_found => NotFound,
        /// A [`Status::Conflict`] failure.
        conflict => Conflict,
        /// A [`Status::Unprocessable`] failure.
        unprocessable => Unprocessable,
        /// A [`Status::Timeout`] failure.
        timeout => Timeout,
        /// A [`Status::Unavailable`] failure.
        unavailable => Unavailable,
        /// A [`Status::Internal`] failure.
        internal => Internal,
    }

    /// Why the request failed.
    pub fn status(&self) -> Status {
        self.status
    }

    /// The message for people.
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// The message of a caught panic, for logs and failures.
pub(crate) fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(message) = panic.downcast_ref::<&str>() {
        (*message).to_owned()
    } else if let Some(message) = panic.downcast_ref::<String>() {
        message.clone()
    } else {
        "a panic without a message".to_owned()
    }
}
