use std::fmt;

/// One error type for the use-case and store layers. Only `web` turns it into HTTP,
/// so the wording here is what an operator, admin or integrator reads.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
    #[error("database error: {0}")]
    Db(String),
    /// A row with the same unique key exists (two writers raced, or a caller asked twice).
    #[error("already stored: {0}")]
    Unique(String),
    #[error("database unavailable: {0}")]
    Pool(String),
    /// Two transactions met in a deadlock or a serialization failure (PostgreSQL): nothing
    /// was written, and running the same work again may well succeed.
    #[error("transaction collided: {0}")]
    Collided(String),
    /// The disk under the database or the attachments is full: nothing was written.
    #[error("storage is full: {0}")]
    Full(String),
    #[error("file storage error: {0}")]
    Io(std::io::Error),
    #[error("{0}")]
    Internal(String),
}

impl Error {
    pub fn invalid(msg: impl fmt::Display) -> Self {
        Error::Invalid(msg.to_string())
    }
    pub fn not_found(msg: impl fmt::Display) -> Self {
        Error::NotFound(msg.to_string())
    }
    pub fn forbidden(msg: impl fmt::Display) -> Self {
        Error::Forbidden(msg.to_string())
    }
    pub fn internal(msg: impl fmt::Display) -> Self {
        Error::Internal(msg.to_string())
    }

    /// Something the caller can fix (bad input, a missing thing, a refused change), which a
    /// form shows in place; everything else is the server's failure.
    pub fn is_caller_error(&self) -> bool {
        matches!(
            self,
            Error::NotFound(_) | Error::Invalid(_) | Error::Forbidden(_) | Error::Conflict(_)
        )
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::StorageFull {
            Error::Full(e.to_string())
        } else {
            Error::Io(e)
        }
    }
}

impl From<tokio::task::JoinError> for Error {
    fn from(e: tokio::task::JoinError) -> Self {
        Error::Internal(format!("background task failed: {e}"))
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
