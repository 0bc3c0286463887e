//! OTLP/HTTP receivers (`POST /v1/traces`, `/v1/logs`, `/v1/metrics`), protobuf or JSON,
//! optionally gzip-compressed.

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use prost::Message;

use crate::Collector;
use crate::error::{Error, Result};
use crate::ingest::{Format, Signal};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;

/// `google.rpc.Status`, the error body OTLP/HTTP specifies. Declared here because
/// opentelemetry-proto does not ship it; prost does the encoding.
#[derive(Clone, PartialEq, prost::Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
}

/// The OTLP/HTTP routes.
pub fn router(collector: Collector) -> Router {
    Router::new()
        .route("/v1/traces", post(export::<ExportTraceServiceRequest>))
        .route("/v1/logs", post(export::<ExportLogsServiceRequest>))
        .route("/v1/metrics", post(export::<ExportMetricsServiceRequest>))
        // Our handler enforces the (decompressed) limit itself; keep axum's cap out of the way.
        .layer(axum::extract::DefaultBodyLimit::disable())
        .with_state(collector)
}

async fn export<S: Signal>(State(c): State<Collector>, headers: HeaderMap, body: Body) -> Response {
    let format = headers
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap_or("<invalid>"))
        .unwrap_or("")
        .to_string();
    let reply_format = Format::from_content_type(&format).unwrap_or(Format::Json);
    match handle::<S>(&c, &format, &headers, body).await {
        Ok(bytes) => ([(header::CONTENT_TYPE, reply_format.content_type())], bytes).into_response(),
        Err(e) => error_response(&e, reply_format),
    }
}

async fn handle<S: Signal>(
    c: &Collector,
    content_type: &str,
    headers: &HeaderMap,
    body: Body,
) -> Result<bytes::Bytes> {
    let format = Format::from_content_type(content_type)?;
    let gzip = match headers.get(header::CONTENT_ENCODING).map(|v| {
        v.to_str()
            .unwrap_or("<invalid>")
            .trim()
            .to_ascii_lowercase()
    }) {
        None => false,
        Some(e) if e.is_empty() || e == "identity" => false,
        Some(e) if e == "gzip" => true,
        Some(e) => return Err(Error::UnsupportedEncoding(e)),
    };
    let _permit = c.admit()?;
    let limit = c.config.max_request_bytes;
    let body = axum::body::to_bytes(body, limit).await.map_err(|e| {
        if std::error::Error::source(&e).is_some_and(|s| s.is::<http_body_util::LengthLimitError>())
        {
            Error::TooLarge { limit }
        } else {
            Error::Malformed {
                format: "http body",
                message: e.to_string(),
            }
        }
    })?;
    let response = c.export_body::<S>(format, gzip, body).await?;
    Ok(crate::ingest::encode_response::<S>(format, &response))
}

fn error_response(e: &Error, format: Format) -> Response {
    let status = e.http_status();
    if status.is_server_error() {
        tracing::warn!(error = %e, "otlp/http export failed");
    }
    let rpc = RpcStatus {
        code: e.grpc_status().code() as i32,
        message: e.to_string(),
    };
    let body = match format {
        Format::Protobuf => rpc.encode_to_vec(),
        Format::Json => {
            serde_json::to_vec(&serde_json::json!({"code": rpc.code, "message": rpc.message}))
                .unwrap_or_default()
        }
    };
    let mut resp = (
        status,
        [(header::CONTENT_TYPE, format.content_type())],
        body,
    )
        .into_response();
    if e.retryable() {
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        resp.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    resp
}
