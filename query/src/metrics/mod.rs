//! Metrics: the catalog of metric names and time series of one metric, aggregated per
//! group (`avg`, `sum`, `min`, `max`, `rate`, `pNN`). See [`series`] for the semantics.

mod hist;
mod series;

use std::collections::HashMap;

use arrow::array::{
    Array, AsArray, BooleanArray, Float64Array, Int32Array, ListArray, MapArray, RecordBatch,
    StringArray, TimestampNanosecondArray, UInt64Array,
};
use arrow::datatypes::{Float64Type, UInt64Type};
use datafusion::common::ScalarValue;
use serde_json::{Map, Value, json};

use crate::QueryEngine;
use crate::error::{Error, Result};
use crate::json::objects;
use crate::red::ts;
use hist::{Explicit, Exponential};
pub(crate) use series::Buckets;

/// How points are combined within a time bucket and group.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Agg {
    Avg,
    Sum,
    Min,
    Max,
    Rate,
    /// A quantile in (0, 1), from `p50`, `p99`, `p99.9`…
    Quantile(f64),
}

impl Agg {
    pub fn parse(s: &str) -> Result<Agg> {
        Ok(match s {
            "avg" => Agg::Avg,
            "sum" => Agg::Sum,
            "min" => Agg::Min,
            "max" => Agg::Max,
            "rate" => Agg::Rate,
            p if p.starts_with('p') => {
                let q = p[1..]
                    .parse::<f64>()
                    .ok()
                    .filter(|q| *q > 0.0 && *q < 100.0)
                    .ok_or_else(|| Error::BadRequest(format!("invalid quantile {p:?}")))?;
                Agg::Quantile(q / 100.0)
            }
            other => {
                return Err(Error::BadRequest(format!(
                    "invalid agg {other:?}: use avg, sum, min, max, rate, p50, p90, p95, p99"
                )));
            }
        })
    }
}

/// The value a point carries.
#[derive(Debug, Clone)]
pub(crate) enum PointValue {
    Number(f64),
    Explicit {
        h: Explicit,
        count: u64,
        sum: f64,
    },
    Exponential {
        h: Exponential,
        count: u64,
        sum: f64,
    },
}

/// One data point, reduced to what series need.
#[derive(Debug)]
pub(crate) struct Point {
    pub(crate) stream: usize,
    pub(crate) group: Vec<String>,
    pub(crate) time: i64,
    pub(crate) start: Option<i64>,
    pub(crate) delta: bool,
    pub(crate) value: PointValue,
    pub(crate) min: Option<f64>,
    pub(crate) max: Option<f64>,
}

/// A series request.
#[derive(Debug, Clone)]
pub struct SeriesRequest {
    pub name: String,
    pub from: i64,
    pub to: i64,
    pub step: i64,
    pub agg: Agg,
    /// `service` or attribute keys (point attributes first, then resource attributes).
    pub group_by: Vec<String>,
    pub service: Option<String>,
}

fn map_pairs(map: &MapArray, i: usize) -> Vec<(String, String)> {
    let entries = map.value(i);
    let keys = entries.column(0).as_string::<i32>();
    let values = entries.column(1).as_string::<i32>();
    let mut pairs: Vec<(String, String)> = (0..entries.len())
        .map(|j| (keys.value(j).to_string(), values.value(j).to_string()))
        .collect();
    pairs.sort();
    pairs
}

fn opt_f64(a: &Float64Array, i: usize) -> Option<f64> {
    a.is_valid(i).then(|| a.value(i))
}

fn list_f64(a: &ListArray, i: usize) -> Vec<f64> {
    a.value(i).as_primitive::<Float64Type>().values().to_vec()
}

fn list_u64(a: &ListArray, i: usize) -> Vec<u64> {
    if a.is_null(i) {
        return vec![];
    }
    a.value(i).as_primitive::<UInt64Type>().values().to_vec()
}

fn column<'a, T: 'static>(b: &'a RecordBatch, name: &str) -> Result<&'a T> {
    b.column_by_name(name)
        .and_then(|c| c.as_any().downcast_ref::<T>())
        .ok_or_else(|| Error::Internal(format!("metrics column {name} has an unexpected type")))
}

/// Service, point attributes and resource attributes (sorted): one stream.
type StreamKey = (String, Vec<(String, String)>, Vec<(String, String)>);

const SERIES_COLUMNS: &str = "timestamp, start_timestamp, service_name, metric_type, temporality,
    is_monotonic, value, count, sum, min, max, bucket_bounds, bucket_counts, exp_scale,
    exp_zero_count, exp_positive_offset, exp_positive_counts, exp_negative_offset,
    exp_negative_counts, attributes, resource_attributes";

/// Rows → points, assigning stream ids and group keys. Returns the metric type and
/// whether it is monotonic.
fn points(
    batches: &[RecordBatch],
    group_by: &[String],
) -> Result<(Vec<Point>, Option<String>, bool)> {
    let mut streams: HashMap<StreamKey, usize> = HashMap::new();
    let mut out = Vec::new();
    let (mut kind, mut monotonic) = (None::<String>, false);
    for b in batches {
        let time = column::<TimestampNanosecondArray>(b, "timestamp")?;
        let start = column::<TimestampNanosecondArray>(b, "start_timestamp")?;
        let service = column::<StringArray>(b, "service_name")?;
        let types = column::<StringArray>(b, "metric_type")?;
        let temporality = column::<StringArray>(b, "temporality")?;
        let is_monotonic = column::<BooleanArray>(b, "is_monotonic")?;
        let value = column::<Float64Array>(b, "value")?;
        let count = column::<UInt64Array>(b, "count")?;
        let sum = column::<Float64Array>(b, "sum")?;
        let min = column::<Float64Array>(b, "min")?;
        let max = column::<Float64Array>(b, "max")?;
        let bounds = column::<ListArray>(b, "bucket_bounds")?;
        let counts = column::<ListArray>(b, "bucket_counts")?;
        let scale = column::<Int32Array>(b, "exp_scale")?;
        let zero = column::<UInt64Array>(b, "exp_zero_count")?;
        let pos_off = column::<Int32Array>(b, "exp_positive_offset")?;
        let pos = column::<ListArray>(b, "exp_positive_counts")?;
        let neg_off = column::<Int32Array>(b, "exp_negative_offset")?;
        let neg = column::<ListArray>(b, "exp_negative_counts")?;
        let attrs = column::<MapArray>(b, "attributes")?;
        let res = column::<MapArray>(b, "resource_attributes")?;
        for i in 0..b.num_rows() {
            let t = types.value(i);
            if kind.as_deref().is_some_and(|k| k != t) {
                return Err(Error::BadRequest(format!(
                    "metric has points of more than one type ({} and {t}): filter by service",
                    kind.unwrap_or_default()
                )));
            }
            kind.get_or_insert_with(|| t.to_string());
            monotonic = is_monotonic.is_valid(i) && is_monotonic.value(i);
            let pv = match t {
                "gauge" | "sum" => match opt_f64(value, i) {
                    Some(v) => PointValue::Number(v),
                    None => continue,
                },
                "histogram" => PointValue::Explicit {
                    h: Explicit {
                        bounds: list_f64(bounds, i),
                        counts: list_u64(counts, i),
                    },
                    count: count.value(i),
                    sum: opt_f64(sum, i).unwrap_or(0.0),
                },
                "exponential_histogram" => PointValue::Exponential {
                    h: Exponential {
                        scale: scale.value(i),
                        zero: zero.value(i),
                        positive: Exponential::buckets(pos_off.value(i), &list_u64(pos, i)),
                        negative: Exponential::buckets(neg_off.value(i), &list_u64(neg, i)),
                    },
                    count: count.value(i),
                    sum: opt_f64(sum, i).unwrap_or(0.0),
                },
                other => {
                    return Err(Error::BadRequest(format!(
                        "series of {other} metrics are not supported: query the metrics table with SQL"
                    )));
                }
            };
            let (a, r) = (map_pairs(attrs, i), map_pairs(res, i));
            let lookup = |key: &str| -> String {
                if key == "service" || key == "service.name" {
                    return service.value(i).to_string();
                }
                a.iter()
                    .chain(r.iter())
                    .find(|(k, _)| k == key)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default()
            };
            let group = group_by.iter().map(|k| lookup(k)).collect();
            let next = streams.len();
            let stream = *streams
                .entry((service.value(i).to_string(), a, r))
                .or_insert(next);
            out.push(Point {
                stream,
                group,
                time: time.value(i),
                start: start.is_valid(i).then(|| start.value(i)),
                delta: temporality.is_valid(i) && temporality.value(i) == "delta",
                value: pv,
                min: opt_f64(min, i),
                max: opt_f64(max, i),
            });
        }
    }
    Ok((out, kind, monotonic))
}

impl QueryEngine {
    /// Metric names seen in `[from, to)`, with type, unit, services and point counts.
    pub async fn metric_names(
        &self,
        from: i64,
        to: i64,
        service: Option<&str>,
    ) -> Result<Vec<Map<String, Value>>> {
        let mut params = vec![ts(from), ts(to)];
        let mut filter = String::new();
        if let Some(s) = service {
            params.push(ScalarValue::Utf8(Some(s.to_string())));
            filter.push_str(" AND service_name = $3");
        }
        let sql = format!(
            "SELECT metric_name AS name, metric_type AS type, unit, max(description) AS description,
                    array_sort(array_agg(DISTINCT service_name)) AS services, count(*) AS points
             FROM metrics WHERE timestamp >= $1 AND timestamp < $2{filter}
             GROUP BY metric_name, metric_type, unit ORDER BY name, type, unit"
        );
        objects(&self.query(&sql, params).await?)
    }

    /// The unit a metric reports in `[from, to)` (`""` if none or unknown). Files are
    /// sorted by metric name, so this reads little.
    pub async fn metric_unit(&self, name: &str, from: i64, to: i64) -> Result<String> {
        let sql = "SELECT max(unit) AS unit FROM metrics
                   WHERE metric_name = $1 AND timestamp >= $2 AND timestamp < $3";
        let rows = objects(
            &self
                .query(
                    sql,
                    vec![ScalarValue::Utf8(Some(name.to_string())), ts(from), ts(to)],
                )
                .await?,
        )?;
        Ok(rows
            .first()
            .and_then(|r| r.get("unit"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string())
    }

    /// One metric's series per group, one value (or null) per bucket of `step`.
    pub async fn metric_series(&self, req: &SeriesRequest) -> Result<Value> {
        // Cumulative points need their predecessor: read a little before `from`.
        let lookback = req.step.max(15 * 60 * 1_000_000_000);
        let mut params = vec![
            ScalarValue::Utf8(Some(req.name.clone())),
            ts(req.from.saturating_sub(lookback)),
            ts(req.to),
        ];
        let mut filter = String::new();
        if let Some(s) = &req.service {
            params.push(ScalarValue::Utf8(Some(s.clone())));
            filter.push_str(" AND service_name = $4");
        }
        let sql = format!(
            "SELECT {SERIES_COLUMNS} FROM metrics
             WHERE metric_name = $1 AND timestamp >= $2 AND timestamp < $3{filter}
             ORDER BY timestamp"
        );
        let batches = self.query(&sql, params).await?;
        let r = req.clone();
        let (series, kind, mixed) = tokio::task::spawn_blocking(move || -> Result<_> {
            let req = r;
            let (points, kind, monotonic) = points(&batches, &req.group_by)?;
            let histogram = matches!(kind.as_deref(), Some("histogram" | "exponential_histogram"));
            match (req.agg, kind.as_deref()) {
                (Agg::Quantile(_), Some(k)) if !histogram => {
                    return Err(Error::BadRequest(format!(
                        "quantiles need a histogram metric; {} is a {k}",
                        req.name
                    )));
                }
                (Agg::Rate, Some("gauge")) => {
                    return Err(Error::BadRequest(format!(
                        "rate needs a sum or histogram metric; {} is a gauge",
                        req.name
                    )));
                }
                _ => {}
            }
            let buckets = Buckets {
                from: req.from,
                to: req.to,
                step: req.step,
            };
            let (series, mixed) =
                series::compute(&points, req.agg, monotonic || histogram, &buckets);
            Ok((series, kind, mixed))
        })
        .await
        .map_err(|e| Error::Internal(e.to_string()))??;
        let series: Vec<Value> = series
            .into_iter()
            .map(|(group, values)| {
                let group: Map<String, Value> = req
                    .group_by
                    .iter()
                    .cloned()
                    .zip(group.into_iter().map(Value::String))
                    .collect();
                let points: Vec<Value> = values
                    .iter()
                    .enumerate()
                    .map(|(k, v)| json!([(req.from + k as i64 * req.step) / 1_000_000, v]))
                    .collect();
                json!({"group": group, "points": points})
            })
            .collect();
        Ok(json!({
            "metric": req.name,
            "type": kind,
            "series": series,
            "mixed_bucket_bounds": mixed,
        }))
    }
}
