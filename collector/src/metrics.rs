//! OTLP metrics → Arrow batches of the `metrics` table, one row per data point.
//!
//! Every OTLP point type is kept whole: gauge and sum values (integers as float64),
//! explicit-bucket histograms (bounds and counts), exponential histograms (scale, zero
//! bucket, positive and negative buckets), summaries (quantiles), exemplars. Points that
//! cannot be interpreted — no timestamp, bucket counts that do not match the bounds, an
//! unspecified temporality — are rejected one by one through `partial_success`.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanBuilder, Float64Builder, Int32Builder, ListBuilder, RecordBatch,
    StringBuilder, UInt32Builder, UInt64Builder,
};
use headroom_storage::Table;
use headroom_storage::schema::{exemplar_fields, quantile_fields};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::metrics::v1::exponential_histogram_data_point::Buckets;
use opentelemetry_proto::tonic::metrics::v1::summary_data_point::ValueAtQuantile;
use opentelemetry_proto::tonic::metrics::v1::{
    Exemplar, ExponentialHistogramDataPoint, HistogramDataPoint, NumberDataPoint, SummaryDataPoint,
    exemplar, metric, number_data_point,
};

use crate::columns::{
    ListOffsets, Rejections, StringMapBuilder, attrs_into, resource_service, time_ns, ts_builder,
};
use crate::error::{Error, Result};
use crate::ingest::{Converted, json_items};

/// Which metric a point belongs to.
struct MetricCtx<'a> {
    service: &'a str,
    name: &'a str,
    kind: &'static str,
    unit: &'a str,
    description: &'a str,
    scope: &'a str,
    resource: &'a [KeyValue],
    temporality: Option<&'static str>,
    monotonic: Option<bool>,
}

/// One data point, whatever its type; fields that do not apply are `None`.
#[derive(Default)]
struct Point<'a> {
    time: u64,
    start: u64,
    value: Option<f64>,
    count: Option<u64>,
    sum: Option<f64>,
    min: Option<f64>,
    max: Option<f64>,
    buckets: Option<(&'a [f64], &'a [u64])>,
    exponential: Option<&'a ExponentialHistogramDataPoint>,
    quantiles: Option<&'a [ValueAtQuantile]>,
    exemplars: &'a [Exemplar],
    flags: u32,
    attributes: &'a [KeyValue],
}

fn temporality(t: i32) -> std::result::Result<&'static str, String> {
    match t {
        1 => Ok("delta"),
        2 => Ok("cumulative"),
        other => Err(format!(
            "aggregation temporality {other} is not delta or cumulative"
        )),
    }
}

fn validate(p: &Point<'_>) -> std::result::Result<(i64, Option<i64>), String> {
    if p.time == 0 {
        return Err("time_unix_nano is missing".into());
    }
    let time = time_ns(p.time, "time_unix_nano")?;
    let start = time_ns(p.start, "start_time_unix_nano")?;
    if let Some((bounds, counts)) = p.buckets {
        let expected = if bounds.is_empty() {
            0..=1
        } else {
            bounds.len() + 1..=bounds.len() + 1
        };
        if !counts.is_empty() && !expected.contains(&counts.len()) {
            return Err(format!(
                "{} bucket counts for {} explicit bounds (want bounds + 1)",
                counts.len(),
                bounds.len()
            ));
        }
        if bounds.windows(2).any(|w| w[0] >= w[1]) || bounds.iter().any(|b| b.is_nan()) {
            return Err("explicit bounds are not strictly increasing".into());
        }
    }
    if let Some(e) = p.exponential
        && !(-10..=20).contains(&e.scale)
    {
        return Err(format!(
            "exponential histogram scale {} is outside -10..=20",
            e.scale
        ));
    }
    if let Some(q) = p.quantiles
        && q.iter().any(|q| !(0.0..=1.0).contains(&q.quantile))
    {
        return Err("summary quantile outside [0, 1]".into());
    }
    Ok((time, (start != 0).then_some(start)))
}

/// The builders of every column, one row appended per accepted point.
struct Rows {
    timestamp: arrow::array::TimestampNanosecondBuilder,
    start: arrow::array::TimestampNanosecondBuilder,
    service: StringBuilder,
    name: StringBuilder,
    kind: StringBuilder,
    unit: StringBuilder,
    description: StringBuilder,
    temporality: StringBuilder,
    monotonic: BooleanBuilder,
    value: Float64Builder,
    count: UInt64Builder,
    sum: Float64Builder,
    min: Float64Builder,
    max: Float64Builder,
    bounds: ListBuilder<Float64Builder>,
    counts: ListBuilder<UInt64Builder>,
    exp_scale: Int32Builder,
    exp_zero_count: UInt64Builder,
    exp_zero_threshold: Float64Builder,
    exp_pos_offset: Int32Builder,
    exp_pos_counts: ListBuilder<UInt64Builder>,
    exp_neg_offset: Int32Builder,
    exp_neg_counts: ListBuilder<UInt64Builder>,
    quantiles: ListOffsets,
    q_quantile: Float64Builder,
    q_value: Float64Builder,
    exemplars: ListOffsets,
    ex_time: arrow::array::TimestampNanosecondBuilder,
    ex_value: Float64Builder,
    ex_trace: StringBuilder,
    ex_span: StringBuilder,
    ex_attrs: StringMapBuilder,
    flags: UInt32Builder,
    scope: StringBuilder,
    attributes: StringMapBuilder,
    resource: StringMapBuilder,
    scratch: String,
}

fn append_buckets(
    list: &mut ListBuilder<UInt64Builder>,
    offset: &mut Int32Builder,
    b: Option<&Buckets>,
) {
    let b = b.cloned().unwrap_or_default();
    offset.append_value(b.offset);
    list.values().append_slice(&b.bucket_counts);
    list.append(true);
}

impl Rows {
    fn new(n: usize) -> Self {
        Self {
            timestamp: ts_builder(n),
            start: ts_builder(n),
            service: StringBuilder::new(),
            name: StringBuilder::new(),
            kind: StringBuilder::new(),
            unit: StringBuilder::new(),
            description: StringBuilder::new(),
            temporality: StringBuilder::new(),
            monotonic: BooleanBuilder::with_capacity(n),
            value: Float64Builder::with_capacity(n),
            count: UInt64Builder::with_capacity(n),
            sum: Float64Builder::with_capacity(n),
            min: Float64Builder::with_capacity(n),
            max: Float64Builder::with_capacity(n),
            bounds: ListBuilder::new(Float64Builder::new()),
            counts: ListBuilder::new(UInt64Builder::new()),
            exp_scale: Int32Builder::with_capacity(n),
            exp_zero_count: UInt64Builder::with_capacity(n),
            exp_zero_threshold: Float64Builder::with_capacity(n),
            exp_pos_offset: Int32Builder::with_capacity(n),
            exp_pos_counts: ListBuilder::new(UInt64Builder::new()),
            exp_neg_offset: Int32Builder::with_capacity(n),
            exp_neg_counts: ListBuilder::new(UInt64Builder::new()),
            quantiles: ListOffsets::new(),
            q_quantile: Float64Builder::new(),
            q_value: Float64Builder::new(),
            exemplars: ListOffsets::new(),
            ex_time: ts_builder(0),
            ex_value: Float64Builder::new(),
            ex_trace: StringBuilder::new(),
            ex_span: StringBuilder::new(),
            ex_attrs: StringMapBuilder::new(),
            flags: UInt32Builder::with_capacity(n),
            scope: StringBuilder::new(),
            attributes: StringMapBuilder::new(),
            resource: StringMapBuilder::new(),
            scratch: String::new(),
        }
    }

    fn append(&mut self, m: &MetricCtx<'_>, p: &Point<'_>, time: i64, start: Option<i64>) {
        self.timestamp.append_value(time);
        self.start.append_option(start);
        self.service.append_value(m.service);
        self.name.append_value(m.name);
        self.kind.append_value(m.kind);
        self.unit.append_value(m.unit);
        self.description.append_value(m.description);
        self.temporality.append_option(m.temporality);
        self.monotonic.append_option(m.monotonic);
        self.value.append_option(p.value);
        self.count.append_option(p.count);
        self.sum.append_option(p.sum);
        self.min.append_option(p.min);
        self.max.append_option(p.max);
        match p.buckets {
            Some((bounds, counts)) => {
                self.bounds.values().append_slice(bounds);
                self.bounds.append(true);
                self.counts.values().append_slice(counts);
                self.counts.append(true);
            }
            None => {
                self.bounds.append_null();
                self.counts.append_null();
            }
        }
        match p.exponential {
            Some(e) => {
                self.exp_scale.append_value(e.scale);
                self.exp_zero_count.append_value(e.zero_count);
                self.exp_zero_threshold.append_value(e.zero_threshold);
                append_buckets(
                    &mut self.exp_pos_counts,
                    &mut self.exp_pos_offset,
                    e.positive.as_ref(),
                );
                append_buckets(
                    &mut self.exp_neg_counts,
                    &mut self.exp_neg_offset,
                    e.negative.as_ref(),
                );
            }
            None => {
                self.exp_scale.append_null();
                self.exp_zero_count.append_null();
                self.exp_zero_threshold.append_null();
                self.exp_pos_offset.append_null();
                self.exp_pos_counts.append_null();
                self.exp_neg_offset.append_null();
                self.exp_neg_counts.append_null();
            }
        }
        match p.quantiles {
            Some(qs) => {
                for q in qs {
                    self.q_quantile.append_value(q.quantile);
                    self.q_value.append_value(q.value);
                    self.quantiles.push_element();
                }
                self.quantiles.finish_row();
            }
            None => self.quantiles.null_row(),
        }
        for e in p.exemplars {
            self.ex_time
                .append_value(e.time_unix_nano.min(i64::MAX as u64) as i64);
            self.ex_value.append_value(match e.value {
                Some(exemplar::Value::AsDouble(d)) => d,
                Some(exemplar::Value::AsInt(i)) => i as f64,
                None => f64::NAN,
            });
            self.ex_trace.append_value(hex::encode(&e.trace_id));
            self.ex_span.append_value(hex::encode(&e.span_id));
            attrs_into(
                &mut self.ex_attrs,
                &e.filtered_attributes,
                &mut self.scratch,
            );
            self.ex_attrs.finish_row();
            self.exemplars.push_element();
        }
        self.exemplars.finish_row();
        self.flags.append_value(p.flags);
        self.scope.append_value(m.scope);
        attrs_into(&mut self.attributes, p.attributes, &mut self.scratch);
        self.attributes.finish_row();
        attrs_into(&mut self.resource, m.resource, &mut self.scratch);
        self.resource.finish_row();
    }

    fn finish(mut self) -> Result<RecordBatch> {
        let quantiles = self.quantiles.finish(
            quantile_fields(),
            vec![
                Arc::new(self.q_quantile.finish()) as ArrayRef,
                Arc::new(self.q_value.finish()),
            ],
        );
        let exemplars = self.exemplars.finish(
            exemplar_fields(),
            vec![
                Arc::new(self.ex_time.finish()) as ArrayRef,
                Arc::new(self.ex_value.finish()),
                Arc::new(self.ex_trace.finish()),
                Arc::new(self.ex_span.finish()),
                Arc::new(self.ex_attrs.finish()),
            ],
        );
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.timestamp.finish()),
            Arc::new(self.start.finish()),
            Arc::new(self.service.finish()),
            Arc::new(self.name.finish()),
            Arc::new(self.kind.finish()),
            Arc::new(self.unit.finish()),
            Arc::new(self.description.finish()),
            Arc::new(self.temporality.finish()),
            Arc::new(self.monotonic.finish()),
            Arc::new(self.value.finish()),
            Arc::new(self.count.finish()),
            Arc::new(self.sum.finish()),
            Arc::new(self.min.finish()),
            Arc::new(self.max.finish()),
            Arc::new(self.bounds.finish()),
            Arc::new(self.counts.finish()),
            Arc::new(self.exp_scale.finish()),
            Arc::new(self.exp_zero_count.finish()),
            Arc::new(self.exp_zero_threshold.finish()),
            Arc::new(self.exp_pos_offset.finish()),
            Arc::new(self.exp_pos_counts.finish()),
            Arc::new(self.exp_neg_offset.finish()),
            Arc::new(self.exp_neg_counts.finish()),
            Arc::new(quantiles),
            Arc::new(exemplars),
            Arc::new(self.flags.finish()),
            Arc::new(self.scope.finish()),
            Arc::new(self.attributes.finish()),
            Arc::new(self.resource.finish()),
        ];
        RecordBatch::try_new(Table::Metrics.schema(), columns)
            .map_err(|e| Error::Internal(format!("building metrics batch: {e}")))
    }
}

fn number_value(v: Option<&number_data_point::Value>) -> Option<f64> {
    match v? {
        number_data_point::Value::AsDouble(d) => Some(*d),
        number_data_point::Value::AsInt(i) => Some(*i as f64),
    }
}

/// A metric's points with what its data type says about them.
struct Shape<'a> {
    kind: &'static str,
    monotonic: Option<bool>,
    /// The raw OTLP aggregation temporality, for the types that have one.
    temporality: Option<i32>,
    points: Vec<Point<'a>>,
}

impl<'a> Point<'a> {
    fn number(p: &'a NumberDataPoint) -> Self {
        Point {
            time: p.time_unix_nano,
            start: p.start_time_unix_nano,
            value: number_value(p.value.as_ref()),
            exemplars: &p.exemplars,
            flags: p.flags,
            attributes: &p.attributes,
            ..Point::default()
        }
    }

    fn histogram(p: &'a HistogramDataPoint) -> Self {
        Point {
            time: p.time_unix_nano,
            start: p.start_time_unix_nano,
            count: Some(p.count),
            sum: p.sum,
            min: p.min,
            max: p.max,
            buckets: Some((&p.explicit_bounds, &p.bucket_counts)),
            exemplars: &p.exemplars,
            flags: p.flags,
            attributes: &p.attributes,
            ..Point::default()
        }
    }

    fn exponential(p: &'a ExponentialHistogramDataPoint) -> Self {
        Point {
            time: p.time_unix_nano,
            start: p.start_time_unix_nano,
            count: Some(p.count),
            sum: p.sum,
            min: p.min,
            max: p.max,
            exponential: Some(p),
            exemplars: &p.exemplars,
            flags: p.flags,
            attributes: &p.attributes,
            ..Point::default()
        }
    }

    fn summary(p: &'a SummaryDataPoint) -> Self {
        Point {
            time: p.time_unix_nano,
            start: p.start_time_unix_nano,
            count: Some(p.count),
            sum: Some(p.sum),
            quantiles: Some(&p.quantile_values),
            flags: p.flags,
            attributes: &p.attributes,
            ..Point::default()
        }
    }
}

fn shape(data: &metric::Data) -> Shape<'_> {
    let shape = |kind, monotonic, temporality, points| Shape {
        kind,
        monotonic,
        temporality,
        points,
    };
    match data {
        metric::Data::Gauge(g) => shape(
            "gauge",
            None,
            None,
            g.data_points.iter().map(Point::number).collect(),
        ),
        metric::Data::Sum(s) => shape(
            "sum",
            Some(s.is_monotonic),
            Some(s.aggregation_temporality),
            s.data_points.iter().map(Point::number).collect(),
        ),
        metric::Data::Histogram(h) => shape(
            "histogram",
            None,
            Some(h.aggregation_temporality),
            h.data_points.iter().map(Point::histogram).collect(),
        ),
        metric::Data::ExponentialHistogram(h) => shape(
            "exponential_histogram",
            None,
            Some(h.aggregation_temporality),
            h.data_points.iter().map(Point::exponential).collect(),
        ),
        metric::Data::Summary(s) => shape(
            "summary",
            None,
            None,
            s.data_points.iter().map(Point::summary).collect(),
        ),
    }
}

/// Converts an export request into one batch of the `metrics` table.
pub fn convert(request: &ExportMetricsServiceRequest) -> Result<Converted> {
    let mut rows = Rows::new(64);
    let mut rejections = Rejections::default();
    for rm in &request.resource_metrics {
        let (resource, service) = resource_service(rm.resource.as_ref());
        for sm in &rm.scope_metrics {
            let scope = sm.scope.as_ref().map_or("", |s| s.name.as_str());
            for metric in &sm.metrics {
                let Some(data) = &metric.data else {
                    rejections.reject(|| format!("metric {:?} has no data", metric.name));
                    continue;
                };
                let shape = shape(data);
                let temporality = match shape.temporality.map(temporality).transpose() {
                    Ok(t) => t,
                    Err(reason) => {
                        for _ in &shape.points {
                            rejections.reject(|| format!("metric {:?}: {reason}", metric.name));
                        }
                        continue;
                    }
                };
                let m = MetricCtx {
                    service: &service,
                    name: &metric.name,
                    kind: shape.kind,
                    unit: &metric.unit,
                    description: &metric.description,
                    scope,
                    resource,
                    temporality,
                    monotonic: shape.monotonic,
                };
                for p in &shape.points {
                    match validate(p) {
                        Ok((time, start)) => rows.append(&m, p, time, start),
                        Err(reason) => {
                            rejections.reject(|| format!("metric {:?}: {reason}", m.name));
                        }
                    }
                }
            }
        }
    }
    Ok(Converted {
        batch: rows.finish()?,
        rejected: rejections.count,
        error_message: rejections.message(),
    })
}

/// Rewrites `"AGGREGATION_TEMPORALITY_DELTA"`-style names, which OTLP/JSON senders may
/// use, into the integers the protobuf types expect.
pub(crate) fn normalize_json_enums(root: &mut serde_json::Value) {
    const NAMES: [&str; 3] = [
        "AGGREGATION_TEMPORALITY_UNSPECIFIED",
        "AGGREGATION_TEMPORALITY_DELTA",
        "AGGREGATION_TEMPORALITY_CUMULATIVE",
    ];
    for metric in json_items(root, ["resourceMetrics", "scopeMetrics", "metrics"]) {
        for kind in ["sum", "histogram", "exponentialHistogram"] {
            if let Some(v) = metric
                .get_mut(kind)
                .and_then(|d| d.get_mut("aggregationTemporality"))
                && let Some(i) = v.as_str().and_then(|s| NAMES.iter().position(|n| *n == s))
            {
                *v = serde_json::Value::from(i);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::{Format, decode};

    #[test]
    fn every_point_type_from_json() {
        let body = br#"{"resourceMetrics":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}}]},
          "scopeMetrics":[{"scope":{"name":"lib"},"metrics":[
            {"name":"c","unit":"1","sum":{"aggregationTemporality":"AGGREGATION_TEMPORALITY_CUMULATIVE","isMonotonic":true,
              "dataPoints":[{"asInt":"5","startTimeUnixNano":"1000","timeUnixNano":"2000",
                "exemplars":[{"timeUnixNano":"1500","asDouble":1.5,"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174"}]}]}},
            {"name":"g","gauge":{"dataPoints":[{"asDouble":2.5,"timeUnixNano":"2000","attributes":[{"key":"k","value":{"stringValue":"v"}}]}]}},
            {"name":"h","histogram":{"aggregationTemporality":1,"dataPoints":[
              {"startTimeUnixNano":"1000","timeUnixNano":"2000","count":"3","sum":3,"bucketCounts":["1","1","1"],"explicitBounds":[1,2],"min":0.5,"max":2.5},
              {"timeUnixNano":"2000","count":"3","bucketCounts":[1,1,1],"explicitBounds":[1]}]}},
            {"name":"e","exponentialHistogram":{"aggregationTemporality":2,"dataPoints":[
              {"timeUnixNano":"2000","count":"4","scale":2,"zeroCount":"1","positive":{"offset":-1,"bucketCounts":["2","1"]}}]}},
            {"name":"s","summary":{"dataPoints":[{"timeUnixNano":"2000","count":"10","sum":20,
              "quantileValues":[{"quantile":0.5,"value":1.5},{"quantile":0.99,"value":9}]}]}},
            {"name":"bad","sum":{"dataPoints":[{"asInt":"1","timeUnixNano":"2000"}]}}
          ]}]}]}"#;
        let req = decode::<ExportMetricsServiceRequest>(Format::Json, body).expect("decodes");
        let c = convert(&req).expect("converts");
        assert_eq!(c.batch.num_rows(), 5, "{}", c.error_message);
        assert_eq!(c.rejected, 2, "{}", c.error_message);
        assert!(
            c.error_message.contains("bucket counts"),
            "{}",
            c.error_message
        );
        assert!(
            c.error_message.contains("temporality"),
            "{}",
            c.error_message
        );
        let pretty = arrow::util::pretty::pretty_format_batches(&[c.batch])
            .expect("format")
            .to_string();
        for expected in [
            "| c           | sum                   | 1    |             | cumulative  | true         | 5.0   |",
            "| g           | gauge                 |      |             |             |              | 2.5   |",
            "| 3     | 3.0  | 0.5 | 2.5 | [1.0, 2.0]    | [1, 1, 1]     |",
            "| 2         | 1              | 0.0                | -1                  | [2, 1]              | 0                   | []",
            "[{quantile: 0.5, value: 1.5}, {quantile: 0.99, value: 9.0}]",
            "5b8efff798038103d269b633813fc60c",
            "{k: v}",
        ] {
            assert!(pretty.contains(expected), "{expected}\n{pretty}");
        }
    }
}
