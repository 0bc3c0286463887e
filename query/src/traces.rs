//! Trace lookup and trace search.

use datafusion::common::ScalarValue;
use serde_json::{Map, Value};

use crate::QueryEngine;
use crate::error::{Error, Result};
use crate::json::objects;
use crate::red::ts;

/// Filters of a trace search.
#[derive(Debug, Clone, Default)]
pub struct TraceSearch {
    pub service: Option<String>,
    pub operation: Option<String>,
    pub min_duration_ms: Option<f64>,
    pub error: Option<bool>,
    /// A span attribute that must equal a value.
    pub attribute: Option<(String, String)>,
    pub limit: Option<usize>,
}

/// Normalizes a trace id: 32 hex digits, lowercase.
pub fn parse_trace_id(id: &str) -> Result<String> {
    let id = id.trim().to_ascii_lowercase();
    if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::BadRequest(format!(
            "invalid trace id {id:?}: expected 32 hex digits"
        )));
    }
    Ok(id)
}

impl QueryEngine {
    /// Every span of a trace, by start time. `NotFound` if the trace has no spans.
    pub async fn trace(&self, trace_id: &str) -> Result<Vec<Map<String, Value>>> {
        let id = parse_trace_id(trace_id)?;
        let batches = self
            .query(
                "SELECT trace_id, span_id, parent_span_id, service_name, span_name, span_kind, start_time, end_time,
                        duration_ns, status_code, status_message, flags, scope_name, scope_version, trace_state,
                        attributes, resource_attributes, events, links
                 FROM spans WHERE trace_id = $1 ORDER BY start_time, span_id",
                vec![ScalarValue::Utf8(Some(id.clone()))],
            )
            .await?;
        let spans = objects(&batches)?;
        if spans.is_empty() {
            return Err(Error::NotFound(format!("trace {id} not found")));
        }
        Ok(spans)
    }

    /// Traces with at least one span in `[from, to)` matching the filters, newest first.
    pub async fn search_traces(
        &self,
        search: &TraceSearch,
        from: i64,
        to: i64,
    ) -> Result<Vec<Map<String, Value>>> {
        let limit = search.limit.unwrap_or(20).clamp(1, 1000);
        let mut params = vec![ts(from), ts(to)];
        let mut conditions = String::new();
        let push = |cond: &str,
                    value: ScalarValue,
                    conditions: &mut String,
                    params: &mut Vec<ScalarValue>| {
            params.push(value);
            conditions.push_str(&format!(" AND {cond} ${}", params.len()));
        };
        if let Some(s) = &search.service {
            push(
                "service_name =",
                ScalarValue::Utf8(Some(s.clone())),
                &mut conditions,
                &mut params,
            );
        }
        if let Some(o) = &search.operation {
            push(
                "span_name =",
                ScalarValue::Utf8(Some(o.clone())),
                &mut conditions,
                &mut params,
            );
        }
        if let Some(ms) = search.min_duration_ms {
            if ms.is_nan() || ms < 0.0 {
                return Err(Error::BadRequest(
                    "min_duration_ms must be a non-negative number".into(),
                ));
            }
            push(
                "duration_ns >=",
                ScalarValue::Int64(Some((ms * 1e6) as i64)),
                &mut conditions,
                &mut params,
            );
        }
        if let Some((key, value)) = &search.attribute {
            params.push(ScalarValue::Utf8(Some(key.clone())));
            let k = params.len();
            push(
                &format!("attributes[${k}] ="),
                ScalarValue::Utf8(Some(value.clone())),
                &mut conditions,
                &mut params,
            );
        }
        match search.error {
            Some(true) => conditions.push_str(" AND status_code = 'ERROR'"),
            Some(false) => conditions.push_str(" AND status_code <> 'ERROR'"),
            None => {}
        }
        // Spans of a found trace may start a little outside the window: look an hour around it.
        let margin = 3_600_000_000_000i64;
        params.push(ts(from.saturating_sub(margin)));
        params.push(ts(to.saturating_add(margin)));
        let (w1, w2) = (params.len() - 1, params.len());
        let sql = format!(
            "WITH hits AS (
                SELECT trace_id, max(start_time) AS last_seen FROM spans
                WHERE start_time >= $1 AND start_time < $2{conditions}
                GROUP BY trace_id ORDER BY last_seen DESC LIMIT {limit}
            ), member AS (
                SELECT s.trace_id, s.service_name, s.span_name, (s.parent_span_id = '' OR (s.flags & 768) = 768) AS is_root,
                       CAST(s.start_time AS BIGINT) AS start_ns, CAST(s.end_time AS BIGINT) AS end_ns,
                       s.status_code = 'ERROR' AS is_error, h.last_seen
                FROM spans s JOIN hits h ON s.trace_id = h.trace_id
                WHERE s.start_time >= ${w1} AND s.start_time < ${w2}
            ), summary AS (
                SELECT trace_id,
                       first_value(service_name ORDER BY is_root DESC, start_ns) AS root_service,
                       first_value(span_name ORDER BY is_root DESC, start_ns) AS root_operation,
                       min(start_ns) AS first_ns, max(end_ns) AS last_ns,
                       count(*) AS span_count,
                       sum(CASE WHEN is_error THEN 1 ELSE 0 END) AS error_count,
                       array_agg(DISTINCT service_name) AS services,
                       max(last_seen) AS last_seen
                FROM member GROUP BY trace_id
            )
            SELECT trace_id, root_service, root_operation,
                   first_ns, (last_ns - first_ns) / 1e6 AS duration_ms,
                   span_count, error_count, services, last_seen
            FROM summary ORDER BY last_seen DESC, trace_id"
        );
        let batches = self.query(&sql, params).await?;
        let mut rows = objects(&batches)?;
        for r in &mut rows {
            r.remove("last_seen");
            if let Some(ns) = r.remove("first_ns").and_then(|v| v.as_i64()) {
                let t = chrono::DateTime::<chrono::Utc>::from_timestamp_nanos(ns);
                r.insert(
                    "start_time".into(),
                    t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true).into(),
                );
            }
        }
        Ok(rows)
    }
}

impl QueryEngine {
    /// Services with spans in `[from, to)`, by name.
    pub async fn service_names(&self, from: i64, to: i64) -> Result<Vec<String>> {
        self.names(
            "SELECT DISTINCT service_name AS name FROM spans WHERE start_time >= $1 AND start_time < $2 ORDER BY name",
            vec![ts(from), ts(to)],
        )
        .await
    }

    /// Span names of `service` in `[from, to)`, by name (at most 500).
    pub async fn operation_names(&self, service: &str, from: i64, to: i64) -> Result<Vec<String>> {
        self.names(
            "SELECT DISTINCT span_name AS name FROM spans WHERE start_time >= $1 AND start_time < $2 AND service_name = $3 ORDER BY name LIMIT 500",
            vec![ts(from), ts(to), ScalarValue::Utf8(Some(service.to_string()))],
        )
        .await
    }

    async fn names(&self, sql: &str, params: Vec<ScalarValue>) -> Result<Vec<String>> {
        let rows = objects(&self.query(sql, params).await?)?;
        Ok(rows
            .into_iter()
            .filter_map(|mut r| match r.remove("name") {
                Some(Value::String(s)) => Some(s),
                _ => None,
            })
            .collect())
    }
}
