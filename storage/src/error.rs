//! The storage error type. Each variant says what failed and where; callers
//! classify it with [`Error::kind`] (the collector maps kinds to HTTP/gRPC status).

use std::path::PathBuf;

/// Result alias for storage operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// How a caller should treat an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The write queue or memory budget is full: retry later (HTTP 429, gRPC UNAVAILABLE).
    Exhausted,
    /// Storage is shutting down or not ready yet: retry later.
    Unavailable,
    /// A bug or an I/O failure: not the client's fault.
    Internal,
}

/// Errors raised by the storage engine.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("write buffer full ({what}); retry later")]
    Busy { what: &'static str },

    #[error("storage is shutting down")]
    ShuttingDown,

    #[error("write-ahead log write failed: {message}")]
    WalWrite { message: String },

    #[error("i/o error on {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("corrupt WAL segment {path} at offset {offset}: {reason}")]
    WalCorrupt {
        path: PathBuf,
        offset: u64,
        reason: String,
    },

    #[error("arrow error while {context}: {source}")]
    Arrow {
        context: &'static str,
        #[source]
        source: arrow::error::ArrowError,
    },

    #[error("parquet error on {path}: {source}")]
    Parquet {
        path: String,
        #[source]
        source: parquet::errors::ParquetError,
    },

    #[error("object store error on {path}: {source}")]
    ObjectStore {
        path: String,
        #[source]
        source: object_store::Error,
    },

    #[error("catalog {path} is invalid: {source}")]
    Catalog {
        path: String,
        #[source]
        source: serde_json::Error,
    },

    #[error("catalog {path} has format version {found}, this build reads version {expected}")]
    CatalogVersion {
        path: String,
        found: u32,
        expected: u32,
    },

    #[error("invalid storage configuration: {0}")]
    Config(String),

    #[error("background task failed: {0}")]
    Task(String),
}

impl Error {
    /// Classifies the error for status mapping and retry decisions.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Busy { .. } => ErrorKind::Exhausted,
            Error::ShuttingDown => ErrorKind::Unavailable,
            _ => ErrorKind::Internal,
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { path, source }
    }

    pub(crate) fn arrow(context: &'static str) -> impl FnOnce(arrow::error::ArrowError) -> Error {
        move |source| Error::Arrow { context, source }
    }

    pub(crate) fn store(path: impl ToString) -> impl FnOnce(object_store::Error) -> Error {
        let path = path.to_string();
        move |source| Error::ObjectStore { path, source }
    }
}
