//! The query error type and its one mapping to HTTP.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use datafusion::error::DataFusionError;

/// Result alias for the query crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Errors from planning or running a query, or from a bad API request.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid request: {0}")]
    BadRequest(String),

    #[error("{0}")]
    NotFound(String),

    #[error("query failed: {0}")]
    DataFusion(#[from] DataFusionError),

    #[error("query exceeded the time limit of {0:?}")]
    Timeout(std::time::Duration),

    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// The HTTP status for this error.
    pub fn http_status(&self) -> StatusCode {
        match self {
            Error::BadRequest(_) => StatusCode::BAD_REQUEST,
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::DataFusion(e) => match e.find_root() {
                DataFusionError::SQL(..)
                | DataFusionError::Plan(_)
                | DataFusionError::SchemaError(..)
                | DataFusionError::NotImplemented(_)
                | DataFusionError::Execution(_) => StatusCode::BAD_REQUEST,
                DataFusionError::ResourcesExhausted(_) => StatusCode::SERVICE_UNAVAILABLE,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            },
            Error::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
            Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.http_status();
        if status.is_server_error() {
            tracing::warn!(error = %self, "query request failed");
        }
        (
            status,
            Json(serde_json::json!({ "error": self.to_string() })),
        )
            .into_response()
    }
}
