//! The collector's error type and its one mapping to HTTP and gRPC status codes.

use axum::http::StatusCode;
use headroom_storage::ErrorKind;

/// Result alias for the collector.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why an export request was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("malformed {format} request: {message}")]
    Malformed {
        format: &'static str,
        message: String,
    },

    #[error("unsupported content type {0:?}: use application/x-protobuf or application/json")]
    UnsupportedMediaType(String),

    #[error("unsupported content encoding {0:?}: use gzip or identity")]
    UnsupportedEncoding(String),

    #[error("request body exceeds the limit of {limit} bytes")]
    TooLarge { limit: usize },

    #[error("too many export requests in flight; retry later")]
    Overloaded,

    #[error(transparent)]
    Storage(#[from] headroom_storage::Error),

    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// The HTTP status for this error, per the OTLP/HTTP specification.
    pub fn http_status(&self) -> StatusCode {
        match self {
            Error::Malformed { .. } => StatusCode::BAD_REQUEST,
            Error::UnsupportedMediaType(_) | Error::UnsupportedEncoding(_) => {
                StatusCode::UNSUPPORTED_MEDIA_TYPE
            }
            Error::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Error::Overloaded => StatusCode::TOO_MANY_REQUESTS,
            Error::Storage(e) => match e.kind() {
                ErrorKind::Exhausted => StatusCode::TOO_MANY_REQUESTS,
                ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
                ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            },
            Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The gRPC status for this error. Retryable conditions map to `UNAVAILABLE`, which
    /// OTLP exporters retry with backoff.
    pub fn grpc_status(&self) -> tonic::Status {
        let msg = self.to_string();
        match self {
            Error::Malformed { .. }
            | Error::UnsupportedMediaType(_)
            | Error::UnsupportedEncoding(_) => tonic::Status::invalid_argument(msg),
            Error::TooLarge { .. } => tonic::Status::resource_exhausted(msg),
            Error::Overloaded => tonic::Status::unavailable(msg),
            Error::Storage(e) => match e.kind() {
                ErrorKind::Exhausted | ErrorKind::Unavailable => tonic::Status::unavailable(msg),
                ErrorKind::Internal => tonic::Status::internal(msg),
            },
            Error::Internal(_) => tonic::Status::internal(msg),
        }
    }

    /// Whether a client should retry the same request later.
    pub fn retryable(&self) -> bool {
        matches!(
            self.http_status(),
            StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
        )
    }
}
