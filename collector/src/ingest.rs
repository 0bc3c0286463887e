//! The protocol-independent part of an export: decode (off the I/O runtime), convert to
//! Arrow, write durably, answer with partial success.

use std::io::Read;

use arrow::array::RecordBatch;
use bytes::Bytes;
use headroom_storage::Table;
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::Collector;
use crate::error::{Error, Result};

/// Wire format of an OTLP/HTTP body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Protobuf,
    Json,
}

impl Format {
    /// The format named by a `Content-Type` header value, ignoring parameters.
    pub fn from_content_type(value: &str) -> Result<Format> {
        let mime = value
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        match mime.as_str() {
            "application/x-protobuf" | "application/protobuf" => Ok(Format::Protobuf),
            "application/json" => Ok(Format::Json),
            _ => Err(Error::UnsupportedMediaType(value.to_string())),
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Protobuf => "application/x-protobuf",
            Format::Json => "application/json",
        }
    }
}

/// Inflates a gzip body, refusing to produce more than `limit` bytes (gzip bombs).
pub fn gunzip(body: &[u8], limit: usize) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(body.len().saturating_mul(4).min(limit));
    flate2::read::GzDecoder::new(body)
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| Error::Malformed {
            format: "gzip",
            message: e.to_string(),
        })?;
    if out.len() > limit {
        return Err(Error::TooLarge { limit });
    }
    Ok(out)
}

/// One OTLP signal: its export request and response types, the table it lands in, and
/// how its requests become Arrow rows. The export path is the same for all three.
pub trait Signal: Message + Default + DeserializeOwned + Send + 'static {
    /// The export response.
    type Response: Message + Serialize + Send + 'static;
    /// Where the rows go.
    const TABLE: Table;
    /// Rewrites enum names in an OTLP/JSON body into the numbers prost expects.
    fn normalize_json(value: &mut serde_json::Value);
    /// Converts a request into rows, rejecting invalid items one by one.
    fn convert(&self) -> Result<Converted>;
    /// The response reporting `rejected` items (`partial_success`), if any.
    fn response(rejected: i64, error_message: String) -> Self::Response;
    /// Whether a response reports no rejections.
    fn is_full_success(response: &Self::Response) -> bool;
}

impl Signal for ExportTraceServiceRequest {
    type Response = ExportTraceServiceResponse;
    const TABLE: Table = Table::Spans;
    fn normalize_json(value: &mut serde_json::Value) {
        crate::traces::normalize_json_enums(value);
    }
    fn convert(&self) -> Result<Converted> {
        crate::traces::convert(self)
    }
    fn response(rejected: i64, error_message: String) -> Self::Response {
        ExportTraceServiceResponse {
            partial_success: (rejected > 0).then_some(ExportTracePartialSuccess {
                rejected_spans: rejected,
                error_message,
            }),
        }
    }
    fn is_full_success(response: &Self::Response) -> bool {
        response.partial_success.is_none()
    }
}

impl Signal for ExportLogsServiceRequest {
    type Response = ExportLogsServiceResponse;
    const TABLE: Table = Table::Logs;
    fn normalize_json(value: &mut serde_json::Value) {
        crate::logs::normalize_json_enums(value);
    }
    fn convert(&self) -> Result<Converted> {
        crate::logs::convert(self)
    }
    fn response(rejected: i64, error_message: String) -> Self::Response {
        ExportLogsServiceResponse {
            partial_success: (rejected > 0).then_some(ExportLogsPartialSuccess {
                rejected_log_records: rejected,
                error_message,
            }),
        }
    }
    fn is_full_success(response: &Self::Response) -> bool {
        response.partial_success.is_none()
    }
}

impl Signal for ExportMetricsServiceRequest {
    type Response = ExportMetricsServiceResponse;
    const TABLE: Table = Table::Metrics;
    fn normalize_json(value: &mut serde_json::Value) {
        crate::metrics::normalize_json_enums(value);
    }
    fn convert(&self) -> Result<Converted> {
        crate::metrics::convert(self)
    }
    fn response(rejected: i64, error_message: String) -> Self::Response {
        ExportMetricsServiceResponse {
            partial_success: (rejected > 0).then_some(ExportMetricsPartialSuccess {
                rejected_data_points: rejected,
                error_message,
            }),
        }
    }
    fn is_full_success(response: &Self::Response) -> bool {
        response.partial_success.is_none()
    }
}

/// The outcome of converting one export request.
#[derive(Debug)]
pub struct Converted {
    /// Accepted rows (may be empty).
    pub batch: RecordBatch,
    /// Number of items rejected.
    pub rejected: i64,
    /// Why the first rejected items were rejected.
    pub error_message: String,
}

/// The elements of the array at `key` in a JSON object (none if absent or not an array).
fn json_array<'a>(
    value: &'a mut serde_json::Value,
    key: &'static str,
) -> impl Iterator<Item = &'a mut serde_json::Value> {
    value
        .get_mut(key)
        .and_then(|v| v.as_array_mut())
        .into_iter()
        .flatten()
}

/// The items of an OTLP/JSON request, three arrays deep: for `["resourceSpans",
/// "scopeSpans", "spans"]`, every span of every scope of every resource.
pub(crate) fn json_items<'a>(
    root: &'a mut serde_json::Value,
    [resources, scopes, items]: [&'static str; 3],
) -> impl Iterator<Item = &'a mut serde_json::Value> {
    json_array(root, resources)
        .flat_map(move |r| json_array(r, scopes))
        .flat_map(move |s| json_array(s, items))
}

/// Decodes an OTLP/HTTP body.
pub fn decode<S: Signal>(format: Format, body: &[u8]) -> Result<S> {
    match format {
        Format::Protobuf => S::decode(body).map_err(|e| Error::Malformed {
            format: "protobuf",
            message: e.to_string(),
        }),
        Format::Json => {
            let malformed = |e: serde_json::Error| Error::Malformed {
                format: "json",
                message: e.to_string(),
            };
            let mut value: serde_json::Value = serde_json::from_slice(body).map_err(malformed)?;
            S::normalize_json(&mut value);
            serde_json::from_value(value).map_err(malformed)
        }
    }
}

/// Encodes an export response in `format`.
pub fn encode_response<S: Signal>(format: Format, response: &S::Response) -> Bytes {
    match format {
        Format::Protobuf => Bytes::from(response.encode_to_vec()),
        // A full success is `{}`: OTLP/JSON omits unset fields rather than writing null.
        Format::Json if S::is_full_success(response) => Bytes::from_static(b"{}"),
        Format::Json => {
            Bytes::from(serde_json::to_vec(response).unwrap_or_else(|_| b"{}".to_vec()))
        }
    }
}

impl Collector {
    /// Takes one in-flight slot or refuses with [`Error::Overloaded`].
    pub(crate) fn admit(&self) -> Result<tokio::sync::OwnedSemaphorePermit> {
        std::sync::Arc::clone(&self.permits)
            .try_acquire_owned()
            .map_err(|_| Error::Overloaded)
    }

    /// Converts (on the blocking pool) and durably stores a decoded request.
    pub async fn export<S: Signal>(&self, request: S) -> Result<S::Response> {
        let converted = tokio::task::spawn_blocking(move || request.convert())
            .await
            .map_err(|e| Error::Internal(e.to_string()))??;
        self.store::<S>(converted).await
    }

    /// Decompresses, decodes, converts (all on the blocking pool) and stores an HTTP body.
    pub async fn export_body<S: Signal>(
        &self,
        format: Format,
        gzip: bool,
        body: Bytes,
    ) -> Result<S::Response> {
        let limit = self.config.max_request_bytes;
        let converted = tokio::task::spawn_blocking(move || {
            let inflated;
            let raw: &[u8] = if gzip {
                inflated = gunzip(&body, limit)?;
                &inflated
            } else {
                &body
            };
            decode::<S>(format, raw)?.convert()
        })
        .await
        .map_err(|e| Error::Internal(e.to_string()))??;
        self.store::<S>(converted).await
    }

    async fn store<S: Signal>(&self, converted: Converted) -> Result<S::Response> {
        let Converted {
            batch,
            rejected,
            error_message,
        } = converted;
        if batch.num_rows() > 0 {
            self.storage.write(S::TABLE, batch).await?;
        }
        Ok(S::response(rejected, error_message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types() {
        assert_eq!(
            Format::from_content_type("application/json; charset=utf-8").ok(),
            Some(Format::Json)
        );
        assert_eq!(
            Format::from_content_type("application/x-protobuf").ok(),
            Some(Format::Protobuf)
        );
        assert!(matches!(
            Format::from_content_type("text/plain"),
            Err(Error::UnsupportedMediaType(_))
        ));
    }

    #[test]
    fn gzip_bomb_is_refused() {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(&vec![0u8; 10 << 20]).expect("compress");
        let bomb = enc.finish().expect("finish");
        assert!(bomb.len() < 100 << 10);
        assert!(matches!(
            gunzip(&bomb, 1 << 20),
            Err(Error::TooLarge { .. })
        ));
        assert_eq!(gunzip(&bomb, 11 << 20).expect("fits").len(), 10 << 20);
        assert!(matches!(
            gunzip(b"not gzip", 100),
            Err(Error::Malformed { .. })
        ));
    }

    #[test]
    fn json_with_enum_names_strings_and_hex_ids() {
        let body = br#"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}}]},
          "scopeSpans":[{"scope":{"name":"s"},"spans":[
            {"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"a","kind":"SPAN_KIND_SERVER",
             "startTimeUnixNano":"1544712660000000000","endTimeUnixNano":"1544712661000000000",
             "attributes":[{"key":"n","value":{"intValue":"7"}}],"status":{"code":"STATUS_CODE_ERROR","message":"bad"}},
            {"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b175","parentSpanId":"eee19b7ec3c1b174","name":"b","kind":3,
             "startTimeUnixNano":1544712660000000001,"endTimeUnixNano":1544712660000000002,"status":{"code":1}},
            {"traceId":"","spanId":"eee19b7ec3c1b176","name":"bad","startTimeUnixNano":"1","endTimeUnixNano":"2"}
          ]}]}]}"#;
        let req = decode::<ExportTraceServiceRequest>(Format::Json, body).expect("decodes");
        let c = req.convert().expect("converts");
        assert_eq!(c.batch.num_rows(), 2);
        assert_eq!(c.rejected, 1);
        assert!(c.error_message.contains("trace_id"), "{}", c.error_message);
        let pretty = arrow::util::pretty::pretty_format_batches(&[c
            .batch
            .project(&[0, 2, 4, 6, 9, 10, 15])
            .expect("project")])
        .expect("format")
        .to_string();
        assert!(pretty.contains("| 5b8efff798038103d269b633813fc60c |                  | svc          | SERVER    | 1000000000  | ERROR       | {n: 7}"), "{pretty}");
        assert!(
            pretty.contains("eee19b7ec3c1b174 | svc          | CLIENT    | 1           | OK"),
            "{pretty}"
        );
    }

    #[test]
    fn malformed_bodies() {
        assert!(matches!(
            decode::<ExportTraceServiceRequest>(Format::Protobuf, b"\xff\xff\xff"),
            Err(Error::Malformed { .. })
        ));
        assert!(matches!(
            decode::<ExportTraceServiceRequest>(Format::Json, b"{not json"),
            Err(Error::Malformed { .. })
        ));
        assert!(matches!(
            decode::<ExportTraceServiceRequest>(
                Format::Json,
                br#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"zz"}]}]}]}"#
            ),
            Err(Error::Malformed { .. })
        ));
    }
}
