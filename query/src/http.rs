//! Query HTTP routes under `/api/v1`.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::QueryEngine;
use crate::error::{Error, Result};
use crate::logs::{LogSearch, parse_severity};
use crate::metrics::{Agg, SeriesRequest};
use crate::red::Grouping;
use crate::time::{parse_step, range};
use crate::traces::TraceSearch;

/// The media type of an Arrow IPC stream response.
pub const ARROW_STREAM: &str = "application/vnd.apache.arrow.stream";

type Engine = Arc<QueryEngine>;

/// All query routes; the binary nests nothing and merges this router as is.
pub fn router(engine: Engine) -> Router {
    Router::new()
        .route("/api/v1/sql", post(sql))
        .route("/api/v1/services", get(services))
        .route("/api/v1/services/{service}/operations", get(operations))
        .route("/api/v1/services/{service}/series", get(series))
        .route("/api/v1/traces", get(search_traces))
        .route("/api/v1/traces/{trace_id}", get(trace))
        .route("/api/v1/logs", get(search_logs))
        .route("/api/v1/metrics", get(metric_names))
        .route("/api/v1/metrics/{name}/series", get(metric_series))
        .with_state(engine)
}

/// `Query` whose rejection is our JSON `{"error": …}` 400 rather than axum's plain text.
struct ApiQuery<T>(T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(v)| ApiQuery(v))
            .map_err(|e| Error::BadRequest(e.body_text()))
    }
}

fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or_default()
}

#[derive(Debug, Deserialize)]
struct RangeParams {
    from: Option<String>,
    to: Option<String>,
    step: Option<String>,
}

impl RangeParams {
    fn resolve(&self) -> Result<(i64, i64)> {
        range(self.from.as_deref(), self.to.as_deref(), now_ns())
    }
}

fn window(from: i64, to: i64) -> Value {
    json!({"from": from / 1_000_000, "to": to / 1_000_000})
}

async fn services(
    State(e): State<Engine>,
    ApiQuery(p): ApiQuery<RangeParams>,
) -> Result<Json<Value>> {
    let (from, to) = p.resolve()?;
    let rows = e.red(Grouping::Service, None, from, to).await?;
    Ok(Json(json!({"range": window(from, to), "services": rows})))
}

async fn operations(
    State(e): State<Engine>,
    Path(service): Path<String>,
    ApiQuery(p): ApiQuery<RangeParams>,
) -> Result<Json<Value>> {
    let (from, to) = p.resolve()?;
    let rows = e.red(Grouping::Operation, Some(&service), from, to).await?;
    Ok(Json(
        json!({"range": window(from, to), "service": service, "operations": rows}),
    ))
}

async fn series(
    State(e): State<Engine>,
    Path(service): Path<String>,
    ApiQuery(p): ApiQuery<RangeParams>,
) -> Result<Json<Value>> {
    let (from, to) = p.resolve()?;
    let step = step_for(p.step.as_deref(), from, to)?;
    // Buckets align to `from`.
    let rows = e
        .red(Grouping::Series(step), Some(&service), from, to)
        .await?;
    Ok(Json(
        json!({"range": window(from, to), "service": service, "step_ms": step / 1_000_000, "points": rows}),
    ))
}

#[derive(Debug, Deserialize)]
struct SearchParams {
    from: Option<String>,
    to: Option<String>,
    service: Option<String>,
    operation: Option<String>,
    min_duration_ms: Option<f64>,
    error: Option<String>,
    /// `key=value`: a span attribute that must match exactly.
    attribute: Option<String>,
    limit: Option<usize>,
}

async fn search_traces(
    State(e): State<Engine>,
    ApiQuery(p): ApiQuery<SearchParams>,
) -> Result<Json<Value>> {
    let (from, to) = range(p.from.as_deref(), p.to.as_deref(), now_ns())?;
    let error = match p.error.as_deref() {
        None | Some("") => None,
        Some("true" | "1") => Some(true),
        Some("false" | "0") => Some(false),
        Some(other) => {
            return Err(Error::BadRequest(format!(
                "error must be true or false, got {other:?}"
            )));
        }
    };
    let search = TraceSearch {
        service: p.service,
        operation: p.operation,
        min_duration_ms: p.min_duration_ms,
        error,
        attribute: parse_attribute(p.attribute.as_deref())?,
        limit: p.limit,
    };
    let traces = e.search_traces(&search, from, to).await?;
    Ok(Json(json!({"range": window(from, to), "traces": traces})))
}

/// `key=value` (both non-empty) into a pair; absent or empty means no filter.
pub fn parse_attribute(value: Option<&str>) -> Result<Option<(String, String)>> {
    let Some(v) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    match v.split_once('=') {
        Some((k, val)) if !k.trim().is_empty() => {
            Ok(Some((k.trim().to_string(), val.trim().to_string())))
        }
        _ => Err(Error::BadRequest(format!(
            "attribute must be key=value, got {v:?}"
        ))),
    }
}

#[derive(Debug, Deserialize)]
struct LogParams {
    from: Option<String>,
    to: Option<String>,
    service: Option<String>,
    severity_min: Option<String>,
    q: Option<String>,
    trace_id: Option<String>,
    limit: Option<usize>,
    cursor: Option<String>,
}

async fn search_logs(
    State(e): State<Engine>,
    ApiQuery(p): ApiQuery<LogParams>,
) -> Result<Json<Value>> {
    let (from, to) = range(p.from.as_deref(), p.to.as_deref(), now_ns())?;
    let search = LogSearch {
        service: p.service.filter(|s| !s.is_empty()),
        severity_min: p
            .severity_min
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(parse_severity)
            .transpose()?,
        q: p.q,
        trace_id: p.trace_id.filter(|s| !s.is_empty()),
        limit: p.limit,
        cursor: p.cursor.filter(|s| !s.is_empty()),
    };
    let page = e.search_logs(&search, from, to).await?;
    Ok(Json(
        json!({"range": window(from, to), "logs": page.logs, "next_cursor": page.next_cursor}),
    ))
}

#[derive(Debug, Deserialize)]
struct MetricParams {
    from: Option<String>,
    to: Option<String>,
    service: Option<String>,
    step: Option<String>,
    agg: Option<String>,
    group_by: Option<String>,
}

async fn metric_names(
    State(e): State<Engine>,
    ApiQuery(p): ApiQuery<MetricParams>,
) -> Result<Json<Value>> {
    let (from, to) = range(p.from.as_deref(), p.to.as_deref(), now_ns())?;
    let metrics = e.metric_names(from, to, p.service.as_deref()).await?;
    Ok(Json(json!({"range": window(from, to), "metrics": metrics})))
}

async fn metric_series(
    State(e): State<Engine>,
    Path(name): Path<String>,
    ApiQuery(p): ApiQuery<MetricParams>,
) -> Result<Json<Value>> {
    let (from, to) = range(p.from.as_deref(), p.to.as_deref(), now_ns())?;
    let step = step_for(p.step.as_deref(), from, to)?;
    let request = SeriesRequest {
        name,
        from,
        to,
        step,
        agg: Agg::parse(p.agg.as_deref().unwrap_or("avg"))?,
        group_by: p
            .group_by
            .as_deref()
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(String::from)
            .collect(),
        service: p.service.filter(|s| !s.is_empty()),
    };
    let mut body = e.metric_series(&request).await?;
    if let Some(obj) = body.as_object_mut() {
        obj.insert("range".into(), window(from, to));
        obj.insert("step_ms".into(), json!(step / 1_000_000));
        obj.insert("agg".into(), json!(p.agg.as_deref().unwrap_or("avg")));
    }
    Ok(Json(body))
}

/// The bucket width: `step` if given, else about 60 buckets of at least a second; at most
/// 10 000 buckets.
fn step_for(step: Option<&str>, from: i64, to: i64) -> Result<i64> {
    let step = match step {
        Some(s) => parse_step(s)?,
        None => ((to - from) / 60).max(1_000_000_000),
    };
    if (to - from + step - 1) / step > 10_000 {
        return Err(Error::BadRequest(
            "too many points: use a larger step".into(),
        ));
    }
    Ok(step)
}

async fn trace(State(e): State<Engine>, Path(trace_id): Path<String>) -> Result<Json<Value>> {
    let spans = e.trace(&trace_id).await?;
    Ok(Json(
        json!({"trace_id": trace_id.to_ascii_lowercase(), "spans": spans}),
    ))
}

#[derive(Debug, Deserialize)]
struct SqlRequest {
    sql: String,
}

async fn sql(
    State(e): State<Engine>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response> {
    let req: SqlRequest = serde_json::from_slice(&body).map_err(|err| {
        Error::BadRequest(format!("expected a JSON body {{\"sql\": \"...\"}}: {err}"))
    })?;
    let (batches, truncated) = e.user_query(&req.sql).await?;
    let wants_arrow = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains(ARROW_STREAM));
    if wants_arrow {
        let schema = batches
            .first()
            .map(|b| b.schema())
            .unwrap_or_else(|| Arc::new(arrow::datatypes::Schema::empty()));
        let mut buf = Vec::new();
        {
            let mut w = arrow::ipc::writer::StreamWriter::try_new(&mut buf, &schema)
                .map_err(|err| Error::Internal(err.to_string()))?;
            for b in &batches {
                w.write(b).map_err(|err| Error::Internal(err.to_string()))?;
            }
            w.finish().map_err(|err| Error::Internal(err.to_string()))?;
        }
        return Ok(([(header::CONTENT_TYPE, ARROW_STREAM)], buf).into_response());
    }
    let columns: Vec<Value> = batches
        .first()
        .map(|b| {
            b.schema()
                .fields()
                .iter()
                .map(|f| json!({"name": f.name(), "type": f.data_type().to_string()}))
                .collect()
        })
        .unwrap_or_default();
    let rows = crate::json::rows(&batches)?;
    Ok(Json(json!({"columns": columns, "rows": rows, "truncated": truncated})).into_response())
}
