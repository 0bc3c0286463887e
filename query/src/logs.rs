//! Log search: newest first, filtered by service, minimum severity, trace id and a
//! case-insensitive substring of the body, paged with an opaque cursor.
//!
//! # Paging
//! Rows are ordered by `timestamp DESC` and then by a tie-break over the remaining
//! identifying columns, so the order is total and stable. A cursor is `<ts_ns>.<skip>`:
//! the next page starts at `timestamp <= ts_ns`, skipping the `skip` rows at exactly
//! `ts_ns` that earlier pages already returned. New rows with older timestamps than the
//! cursor appear in later pages; rows newer than the first page do not shift anything.

use datafusion::common::ScalarValue;
use serde_json::{Map, Value};

use crate::QueryEngine;
use crate::error::{Error, Result};
use crate::json::objects;
use crate::red::ts;
use crate::traces::parse_trace_id;

/// Filters of a log search.
#[derive(Debug, Clone, Default)]
pub struct LogSearch {
    pub service: Option<String>,
    /// Minimum `severity_number` (1–24).
    pub severity_min: Option<i32>,
    /// Case-insensitive substring of the body.
    pub q: Option<String>,
    pub trace_id: Option<String>,
    /// Page size, 1–1000 (default 100).
    pub limit: Option<usize>,
    /// Where the previous page ended, as returned in `next_cursor`.
    pub cursor: Option<String>,
}

/// One page of logs and the cursor of the next one (`None` when this is the last).
#[derive(Debug)]
pub struct LogPage {
    pub logs: Vec<Map<String, Value>>,
    pub next_cursor: Option<String>,
}

/// A severity given as a number (1–24) or an OTel level name (`trace`, `debug`, `info`,
/// `warn`, `error`, `fatal`, any case), which means its lowest number.
pub fn parse_severity(value: &str) -> Result<i32> {
    const LEVELS: [&str; 6] = ["trace", "debug", "info", "warn", "error", "fatal"];
    let v = value.trim().to_ascii_lowercase();
    let n = match v.parse::<i32>() {
        Ok(n) => n,
        Err(_) => match LEVELS
            .iter()
            .position(|l| *l == v || (v == "warning" && *l == "warn"))
        {
            Some(i) => i as i32 * 4 + 1,
            None => {
                return Err(Error::BadRequest(format!(
                    "invalid severity {value:?}: use 1-24 or trace|debug|info|warn|error|fatal"
                )));
            }
        },
    };
    if !(1..=24).contains(&n) {
        return Err(Error::BadRequest(format!("severity {n} is outside 1-24")));
    }
    Ok(n)
}

fn parse_cursor(cursor: &str) -> Result<(i64, u64)> {
    let bad = || Error::BadRequest(format!("invalid cursor {cursor:?}"));
    let (ts, skip) = cursor.split_once('.').ok_or_else(bad)?;
    Ok((
        ts.parse().map_err(|_| bad())?,
        skip.parse().map_err(|_| bad())?,
    ))
}

/// Escapes `%`, `_` and `\` so that `s` matches literally inside a LIKE pattern.
fn like_literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

impl QueryEngine {
    /// Logs in `[from, to)` matching the filters, newest first, one page at a time.
    pub async fn search_logs(&self, search: &LogSearch, from: i64, to: i64) -> Result<LogPage> {
        let limit = search.limit.unwrap_or(100).clamp(1, 1000);
        let (mut to, mut skip) = (to, 0u64);
        let mut upper = "timestamp < $2";
        if let Some(cursor) = &search.cursor {
            let (ts_ns, s) = parse_cursor(cursor)?;
            if ts_ns < to {
                (to, skip) = (ts_ns, s);
                upper = "timestamp <= $2";
            }
        }
        let mut params = vec![ts(from), ts(to)];
        let mut filters = vec!["timestamp >= $1".to_string(), upper.to_string()];
        let param = |params: &mut Vec<ScalarValue>, v: ScalarValue| {
            params.push(v);
            format!("${}", params.len())
        };
        if let Some(s) = &search.service {
            let p = param(&mut params, ScalarValue::Utf8(Some(s.clone())));
            filters.push(format!("service_name = {p}"));
        }
        if let Some(n) = search.severity_min {
            let p = param(&mut params, ScalarValue::Int32(Some(n)));
            filters.push(format!("severity_number >= {p}"));
        }
        if let Some(id) = &search.trace_id {
            let p = param(&mut params, ScalarValue::Utf8(Some(parse_trace_id(id)?)));
            filters.push(format!("trace_id = {p}"));
        }
        if let Some(q) = search.q.as_deref().filter(|q| !q.is_empty()) {
            let pattern = format!("%{}%", like_literal(q));
            let p = param(&mut params, ScalarValue::Utf8(Some(pattern)));
            filters.push(format!("body ILIKE {p}"));
        }
        let sql = format!(
            "SELECT timestamp, observed_timestamp, service_name, severity_number, severity_text, body,
                    trace_id, span_id, flags, event_name, scope_name, attributes, resource_attributes
             FROM logs WHERE {}
             ORDER BY timestamp DESC, service_name, trace_id, span_id, body, observed_timestamp
             LIMIT {} OFFSET {skip}",
            filters.join(" AND "),
            limit + 1,
        );
        let batches = self.query(&sql, params).await?;
        let mut logs = objects(&batches)?;
        let more = logs.len() > limit;
        logs.truncate(limit);
        let next_cursor = if more {
            let times = timestamps_ns(&batches, limit)?;
            let last_ts = times[limit - 1];
            // Rows at `last_ts` on this page, plus those skipped before it if the whole page
            // sits at the cursor's timestamp.
            let same = times.iter().rev().take_while(|t| **t == last_ts).count() as u64;
            let carried = if same as usize == limit && last_ts == to {
                skip
            } else {
                0
            };
            Some(format!("{last_ts}.{}", same + carried))
        } else {
            None
        };
        Ok(LogPage { logs, next_cursor })
    }
}

/// The `timestamp` (first column) of the first `n` rows across `batches`, in ns.
fn timestamps_ns(batches: &[arrow::array::RecordBatch], n: usize) -> Result<Vec<i64>> {
    use arrow::array::TimestampNanosecondArray;
    let mut out = Vec::with_capacity(n);
    for b in batches {
        let col = b
            .column(0)
            .as_any()
            .downcast_ref::<TimestampNanosecondArray>()
            .ok_or_else(|| Error::Internal("timestamp column type".into()))?;
        out.extend(col.values().iter().take(n - out.len()));
    }
    if out.len() < n {
        return Err(Error::Internal("fewer rows than the page".into()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severities() {
        assert_eq!(parse_severity("warn").ok(), Some(13));
        assert_eq!(parse_severity("ERROR").ok(), Some(17));
        assert_eq!(parse_severity("9").ok(), Some(9));
        assert!(parse_severity("0").is_err());
        assert!(parse_severity("loud").is_err());
    }

    #[test]
    fn like_escaping() {
        assert_eq!(like_literal(r"50%_a\b"), r"50\%\_a\\b");
    }
}
