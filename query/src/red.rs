//! RED metrics (rate, errors, duration) per service, per operation and over time.
//!
//! A service's requests are its entry spans: kind `SERVER` or `CONSUMER`. A service with
//! no entry spans in the range is measured by its local root spans instead: spans without
//! a parent, or whose parent is remote (OTLP span flags bits 8 and 9 both set).
//! Percentiles come from DDSketch (see `sketch`): within 0.5% of the exact value.

use arrow::array::{AsArray, RecordBatch};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Float64Type, Int64Type};
use datafusion::common::ScalarValue;
use datafusion::common::arrow::datatypes::IntervalMonthDayNano;
use serde::Serialize;

use crate::QueryEngine;
use crate::error::{Error, Result};

/// One row of RED figures.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Red {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    /// Bucket start (series only), RFC 3339.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    pub requests: u64,
    pub errors: u64,
    pub error_rate: f64,
    pub rate_per_s: f64,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
}

/// How RED rows are grouped.
#[derive(Debug, Clone, Copy)]
pub enum Grouping {
    Service,
    Operation,
    /// Time buckets of this many ns.
    Series(i64),
}

pub(crate) fn ts(ns: i64) -> ScalarValue {
    ScalarValue::TimestampNanosecond(Some(ns), Some("UTC".into()))
}

/// Which spans count as a service's requests in one pass over the data.
enum Pass<'a> {
    /// Entry spans: kind SERVER or CONSUMER.
    Entry,
    /// Local roots (no parent, or a remote one), for these services only.
    LocalRoots(&'a [String]),
}

/// One pass of RED aggregation. The entry pass reads only cheap columns (kind, status,
/// duration); `parent_span_id` and `flags` are read only by the local-roots pass, which is
/// restricted to the few services without entry spans (files are sorted by service, so
/// Parquet skips the rest).
fn red_sql(
    grouping: Grouping,
    service_filter: bool,
    pass: &Pass<'_>,
    first_param: usize,
) -> String {
    let (g_select, g) = match grouping {
        Grouping::Service => ("", ""),
        Grouping::Operation => (", span_name", ", span_name"),
        Grouping::Series(_) => (", date_bin($4, start_time, $1) AS bucket", ", bucket"),
    };
    let mut filter = String::new();
    if service_filter {
        filter.push_str(" AND service_name = $3");
    }
    let counted = match pass {
        Pass::Entry => "span_kind IN ('SERVER', 'CONSUMER')",
        Pass::LocalRoots(services) => {
            let list: Vec<String> = (0..services.len())
                .map(|i| format!("${}", first_param + i))
                .collect();
            filter.push_str(&format!(" AND service_name IN ({})", list.join(", ")));
            "(parent_span_id = '' OR (flags & 768) = 768)"
        }
    };
    format!(
        "WITH agg AS (
            SELECT service_name{g},
                   count(*) FILTER (WHERE counted) AS requests,
                   count(*) FILTER (WHERE counted AND is_error) AS errors,
                   dd_sketch(d) FILTER (WHERE counted) AS sk
            FROM (
                SELECT service_name{g_select}, {counted} AS counted,
                       status_code = 'ERROR' AS is_error, CAST(duration_ns AS DOUBLE) AS d
                FROM spans WHERE start_time >= $1 AND start_time < $2{filter}
            ) AS base
            GROUP BY service_name{g}
        )
        SELECT service_name{g}, requests, errors,
               sketch_quantile(sk, 0.5) AS p50, sketch_quantile(sk, 0.95) AS p95, sketch_quantile(sk, 0.99) AS p99
        FROM agg ORDER BY service_name{g}"
    )
}

/// Column `name` of `batch`, cast to `ty`.
fn column(batch: &RecordBatch, name: &str, ty: &DataType) -> Result<arrow::array::ArrayRef> {
    let col = batch
        .column_by_name(name)
        .ok_or_else(|| Error::Internal(format!("missing column {name}")))?;
    cast(col, ty).map_err(|e| Error::Internal(e.to_string()))
}

fn f64s(batch: &RecordBatch, name: &str) -> Result<Vec<Option<f64>>> {
    let col = column(batch, name, &DataType::Float64)?;
    Ok(col.as_primitive::<Float64Type>().iter().collect())
}

fn strings(batch: &RecordBatch, name: &str) -> Result<Vec<String>> {
    let col = column(batch, name, &DataType::Utf8)?;
    Ok(col
        .as_string::<i32>()
        .iter()
        .map(|s| s.unwrap_or_default().to_string())
        .collect())
}

fn i64s(batch: &RecordBatch, name: &str) -> Result<Vec<i64>> {
    let col = column(batch, name, &DataType::Int64)?;
    Ok(col
        .as_primitive::<Int64Type>()
        .iter()
        .map(Option::unwrap_or_default)
        .collect())
}

fn rfc3339(ns: i64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp_nanos(ns)
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn red_row(requests: u64, errors: u64, seconds: f64, p: [Option<f64>; 3]) -> Red {
    let ms = |v: Option<f64>| v.map(|ns| ns / 1e6);
    Red {
        service: None,
        operation: None,
        time: None,
        requests,
        errors,
        error_rate: if requests > 0 {
            errors as f64 / requests as f64
        } else {
            0.0
        },
        rate_per_s: requests as f64 / seconds,
        p50_ms: ms(p[0]),
        p95_ms: ms(p[1]),
        p99_ms: ms(p[2]),
    }
}

impl QueryEngine {
    /// RED figures over `[from, to)`, grouped as asked, optionally for one service.
    pub async fn red(
        &self,
        grouping: Grouping,
        service: Option<&str>,
        from: i64,
        to: i64,
    ) -> Result<Vec<Red>> {
        let mut out = self
            .red_pass(grouping, service, from, to, &Pass::Entry)
            .await?;
        // Services with no entry spans in the range are measured by their local roots.
        let mut totals: std::collections::BTreeMap<&str, u64> = std::collections::BTreeMap::new();
        for r in &out {
            *totals
                .entry(r.service.as_deref().unwrap_or_default())
                .or_default() += r.requests;
        }
        let no_entry: Vec<String> = totals
            .into_iter()
            .filter(|(_, n)| *n == 0)
            .map(|(s, _)| s.to_string())
            .collect();
        if !no_entry.is_empty() {
            let roots = self
                .red_pass(grouping, service, from, to, &Pass::LocalRoots(&no_entry))
                .await?;
            out.retain(|r| {
                !no_entry
                    .iter()
                    .any(|s| Some(s.as_str()) == r.service.as_deref())
            });
            out.extend(roots);
            out.sort_by(|a, b| {
                (&a.service, &a.operation, &a.time).cmp(&(&b.service, &b.operation, &b.time))
            });
        }
        match grouping {
            Grouping::Operation => out.retain(|r| r.requests > 0),
            Grouping::Series(step) => out = fill_buckets(out, service, from, to, step),
            Grouping::Service => {}
        }
        Ok(out)
    }

    async fn red_pass(
        &self,
        grouping: Grouping,
        service: Option<&str>,
        from: i64,
        to: i64,
        pass: &Pass<'_>,
    ) -> Result<Vec<Red>> {
        let mut params = vec![
            ts(from),
            ts(to),
            ScalarValue::Utf8(Some(service.unwrap_or_default().to_string())),
        ];
        if let Grouping::Series(step) = grouping {
            params.push(ScalarValue::IntervalMonthDayNano(Some(
                IntervalMonthDayNano::new(0, 0, step),
            )));
        }
        let sql = red_sql(grouping, service.is_some(), pass, params.len() + 1);
        if let Pass::LocalRoots(services) = pass {
            params.extend(services.iter().map(|s| ScalarValue::Utf8(Some(s.clone()))));
        }
        let batches = self.query(&sql, params).await?;
        let seconds = match grouping {
            Grouping::Series(step) => step as f64 / 1e9,
            _ => (to - from) as f64 / 1e9,
        };
        let mut out = Vec::new();
        for b in &batches {
            let services = strings(b, "service_name")?;
            let requests = i64s(b, "requests")?;
            let errors = i64s(b, "errors")?;
            let (p50, p95, p99) = (f64s(b, "p50")?, f64s(b, "p95")?, f64s(b, "p99")?);
            let ops = matches!(grouping, Grouping::Operation)
                .then(|| strings(b, "span_name"))
                .transpose()?;
            let buckets = matches!(grouping, Grouping::Series(_))
                .then(|| i64s(b, "bucket"))
                .transpose()?;
            for i in 0..b.num_rows() {
                let mut row = red_row(
                    requests[i] as u64,
                    errors[i] as u64,
                    seconds,
                    [p50[i], p95[i], p99[i]],
                );
                row.service = Some(services[i].clone());
                row.operation = ops.as_ref().map(|o| o[i].clone());
                row.time = buckets.as_ref().map(|t| rfc3339(t[i]));
                out.push(row);
            }
        }
        Ok(out)
    }
}

/// Adds zero rows for empty buckets so every series has one point per step: one series
/// for `service`, or one per service present in `rows` when no service is given.
fn fill_buckets(rows: Vec<Red>, service: Option<&str>, from: i64, to: i64, step: i64) -> Vec<Red> {
    let mut services: Vec<Option<String>> = match service {
        Some(s) => vec![Some(s.to_string())],
        None => rows.iter().map(|r| r.service.clone()).collect(),
    };
    services.dedup();
    let mut by_key: std::collections::HashMap<(Option<String>, String), Red> = rows
        .into_iter()
        .filter_map(|r| Some(((r.service.clone(), r.time.clone()?), r)))
        .collect();
    let mut out = Vec::new();
    for service in services {
        let mut t = from;
        while t < to {
            let key = (service.clone(), rfc3339(t));
            let row = by_key.remove(&key).unwrap_or_else(|| {
                let mut r = red_row(0, 0, step as f64 / 1e9, [None; 3]);
                r.service = key.0.clone();
                r.time = Some(key.1.clone());
                r
            });
            out.push(row);
            t += step;
        }
    }
    out
}
