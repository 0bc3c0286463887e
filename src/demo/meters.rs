//! Runtime metrics of the shop's services, computed from the simulated requests of each
//! interval, as OTLP metrics: every kind appears (cumulative and delta sums, a gauge, an
//! explicit-bounds histogram, an exponential histogram). Each deploy restarts the service,
//! so its cumulative series reset there, as real ones do.

use std::collections::BTreeMap;
use std::sync::Arc;

use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::metrics::v1::exponential_histogram_data_point::Buckets;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::metrics::v1::number_data_point::Value;
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, ExponentialHistogram, ExponentialHistogramDataPoint, Gauge, Histogram,
    HistogramDataPoint, Metric, NumberDataPoint, Sum,
};

use super::model::{self, DayPlan, NS_PER_DAY, NS_PER_S, Svc, Versions};
use super::otlp::{int, kv, text};
use super::records::{Kind, SpanRec, What};

/// OpenTelemetry's default bounds for `http.server.request.duration`, in seconds.
const HTTP_BOUNDS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];
/// Scale of the exponential histograms: bucket boundaries grow by 2^(1/8) ≈ 1.09.
const EXP_SCALE: i32 = 3;
/// CPU time per request (s) and idle CPU (cores) per service, in `Svc` order.
const CPU_PER_REQUEST: [f64; 6] = [0.003, 0.012, 0.002, 0.006, 0.004, 0.002];
const CPU_IDLE: f64 = 0.02;
/// Resident memory after start, in bytes, and its growth per hour.
const MEMORY_BASE: [f64; 6] = [420e6, 180e6, 650e6, 1_200e6, 300e6, 260e6];
const MEMORY_GROWTH_PER_HOUR: f64 = 1.5e6;

#[derive(Debug, Clone, Default)]
struct Hist {
    counts: Vec<u64>,
    count: u64,
    sum: f64,
    min: f64,
    max: f64,
}

impl Hist {
    fn add(&mut self, index: usize, v: f64, weight: u64) {
        if self.counts.len() <= index {
            self.counts.resize(index + 1, 0);
        }
        self.counts[index] += weight;
        let first = self.count == 0;
        self.min = if first { v } else { self.min.min(v) };
        self.max = if first { v } else { self.max.max(v) };
        self.count += weight;
        self.sum += v * weight as f64;
    }

    fn merge(&mut self, o: &Hist) {
        if o.count == 0 {
            return;
        }
        if self.counts.len() < o.counts.len() {
            self.counts.resize(o.counts.len(), 0);
        }
        for (a, b) in self.counts.iter_mut().zip(&o.counts) {
            *a += b;
        }
        let first = self.count == 0;
        self.min = if first { o.min } else { self.min.min(o.min) };
        self.max = if first { o.max } else { self.max.max(o.max) };
        self.count += o.count;
        self.sum += o.sum;
    }
}

type HttpKey = (Svc, &'static str, &'static str, u16);
type DbKey = (Svc, &'static str, &'static str, &'static str);

/// What happened in one interval `[start, end)`: counts are weighted by the sampling of
/// history, so metrics show the full traffic even when traces are sparse.
#[derive(Debug, Default)]
pub(crate) struct Interval {
    pub start: i64,
    pub end: i64,
    requests: [u64; 6],
    http: BTreeMap<HttpKey, Hist>,
    /// Exponential buckets from the lowest index seen, and that index.
    db: BTreeMap<DbKey, (Hist, i32)>,
    orders: BTreeMap<&'static str, u64>,
}

impl Interval {
    pub(crate) fn new(start: i64, end: i64) -> Self {
        Self {
            start,
            end,
            ..Self::default()
        }
    }

    /// Counts each span `weight` times.
    pub(crate) fn add_spans(&mut self, spans: &[SpanRec], weight: u64) {
        for s in spans {
            let secs = (s.end - s.start) as f64 / 1e9;
            match &s.what {
                What::Server { ep, status, .. } => {
                    self.requests[s.svc as usize] += weight;
                    let bucket = HTTP_BOUNDS.partition_point(|&b| b < secs);
                    let key = (s.svc, ep.method, ep.route, *status);
                    self.http.entry(key).or_default().add(bucket, secs, weight);
                    if ep.route == "/api/checkout" {
                        let outcome = if *status == 200 { "placed" } else { "failed" };
                        *self.orders.entry(outcome).or_default() += weight;
                    }
                }
                What::Db(db)
                    if s.kind == Kind::Client && matches!(s.svc, Svc::Catalog | Svc::Payments) =>
                {
                    // Bucket i covers (base^i, base^(i+1)]; stored from the lowest index seen.
                    let index = (secs.log2() * f64::from(1 << EXP_SCALE)).ceil() as i32 - 1;
                    let key = (s.svc, db.system, db.operation, db.collection);
                    let (hist, offset) = self.db.entry(key).or_insert((Hist::default(), index));
                    if index < *offset {
                        let shift = (*offset - index) as usize;
                        hist.counts.splice(0..0, std::iter::repeat_n(0, shift));
                        *offset = index;
                    }
                    hist.add((index - *offset) as usize, secs, weight);
                }
                _ => {}
            }
        }
    }
}

/// Cumulative state of every service process, from the first interval on.
#[derive(Debug)]
pub(crate) struct Meters {
    seed: u64,
    versions: Versions,
    started: [i64; 6],
    cpu: [f64; 6],
    http: BTreeMap<HttpKey, Hist>,
}

fn point(start: i64, time: i64, attrs: Vec<KeyValue>, v: Value) -> NumberDataPoint {
    NumberDataPoint {
        attributes: attrs,
        start_time_unix_nano: start as u64,
        time_unix_nano: time as u64,
        value: Some(v),
        ..Default::default()
    }
}

fn metric(name: &str, unit: &str, description: &str, data: Data) -> Metric {
    Metric {
        name: name.into(),
        unit: unit.into(),
        description: description.into(),
        data: Some(data),
        ..Default::default()
    }
}

impl Meters {
    /// Every service process starts at `start`.
    pub(crate) fn new(seed: u64, start: i64) -> Self {
        Self {
            seed,
            versions: Versions::new(seed),
            started: [start; 6],
            cpu: [0.0; 6],
            http: BTreeMap::new(),
        }
    }

    /// Folds an interval in; returns each service's resource (name, version) and metrics.
    pub(crate) fn record(&mut self, iv: &Interval) -> Vec<(Svc, Arc<str>, Vec<Metric>)> {
        let plan = DayPlan::new(self.seed, (iv.end - 1).div_euclid(NS_PER_DAY));
        for (svc, at) in plan.restarts() {
            if self.started[svc as usize] < at && at <= iv.end {
                self.started[svc as usize] = at;
                self.cpu[svc as usize] = 0.0;
                self.http.retain(|k, _| k.0 != svc);
            }
        }
        for (k, h) in &iv.http {
            self.http.entry(*k).or_default().merge(h);
        }
        let secs = (iv.end - iv.start) as f64 / NS_PER_S as f64;
        let load = model::traffic(iv.end, iv.end);
        let mut out = Vec::with_capacity(Svc::ALL.len());
        for svc in Svc::ALL {
            let i = svc as usize;
            let started = self.started[i];
            self.cpu[i] += CPU_IDLE * secs + CPU_PER_REQUEST[i] * iv.requests[i] as f64;
            let uptime_h = (iv.end - started) as f64 / 3.6e12;
            let memory = MEMORY_BASE[i] * (1.0 + 0.12 * load) + MEMORY_GROWTH_PER_HOUR * uptime_h;
            let mut metrics = vec![
                metric(
                    "process.cpu.time",
                    "s",
                    "CPU time used by the process",
                    Data::Sum(Sum {
                        data_points: vec![point(
                            started,
                            iv.end,
                            vec![],
                            Value::AsDouble(self.cpu[i]),
                        )],
                        aggregation_temporality: AggregationTemporality::Cumulative as i32,
                        is_monotonic: true,
                    }),
                ),
                metric(
                    "process.memory.usage",
                    "By",
                    "Resident memory of the process",
                    Data::Gauge(Gauge {
                        data_points: vec![point(
                            started,
                            iv.end,
                            vec![],
                            Value::AsInt(memory as i64),
                        )],
                    }),
                ),
            ];
            metrics.extend(self.http_metric(svc, iv.end));
            metrics.extend(db_metric(iv, svc));
            if svc == Svc::Checkout {
                metrics.push(orders_metric(iv));
            }
            out.push((svc, self.versions.at(svc, iv.end - 1), metrics));
        }
        out
    }

    /// `http.server.request.duration`: cumulative since the process started.
    fn http_metric(&self, svc: Svc, time: i64) -> Option<Metric> {
        let started = self.started[svc as usize];
        let points: Vec<HistogramDataPoint> = self
            .http
            .range((svc, "", "", 0)..)
            .take_while(|(k, _)| k.0 == svc)
            .map(|(k, h)| {
                let mut counts = h.counts.clone();
                counts.resize(HTTP_BOUNDS.len() + 1, 0);
                HistogramDataPoint {
                    attributes: vec![
                        kv("http.request.method", text(k.1)),
                        kv("http.route", text(k.2)),
                        kv("http.response.status_code", int(k.3.into())),
                    ],
                    start_time_unix_nano: started as u64,
                    time_unix_nano: time as u64,
                    count: h.count,
                    sum: Some(h.sum),
                    bucket_counts: counts,
                    explicit_bounds: HTTP_BOUNDS.to_vec(),
                    min: Some(h.min),
                    max: Some(h.max),
                    ..Default::default()
                }
            })
            .collect();
        (!points.is_empty()).then(|| {
            let data = Data::Histogram(Histogram {
                data_points: points,
                aggregation_temporality: AggregationTemporality::Cumulative as i32,
            });
            metric(
                "http.server.request.duration",
                "s",
                "Duration of HTTP server requests",
                data,
            )
        })
    }
}

/// `db.client.operation.duration`: exponential buckets, delta per interval.
fn db_metric(iv: &Interval, svc: Svc) -> Option<Metric> {
    let points: Vec<ExponentialHistogramDataPoint> = iv
        .db
        .iter()
        .filter(|(k, _)| k.0 == svc)
        .map(|(k, (h, offset))| ExponentialHistogramDataPoint {
            attributes: vec![
                kv("db.system", text(k.1)),
                kv("db.operation.name", text(k.2)),
                kv("db.collection.name", text(k.3)),
            ],
            start_time_unix_nano: iv.start as u64,
            time_unix_nano: iv.end as u64,
            count: h.count,
            sum: Some(h.sum),
            scale: EXP_SCALE,
            positive: Some(Buckets {
                offset: *offset,
                bucket_counts: h.counts.clone(),
            }),
            min: Some(h.min),
            max: Some(h.max),
            ..Default::default()
        })
        .collect();
    (!points.is_empty()).then(|| {
        let data = Data::ExponentialHistogram(ExponentialHistogram {
            data_points: points,
            aggregation_temporality: AggregationTemporality::Delta as i32,
        });
        metric(
            "db.client.operation.duration",
            "s",
            "Duration of database client operations",
            data,
        )
    })
}

/// `shop.orders`: orders placed or failed in the interval (a delta sum).
fn orders_metric(iv: &Interval) -> Metric {
    let points = iv
        .orders
        .iter()
        .map(|(outcome, n)| {
            let attrs = vec![kv("outcome", text(outcome))];
            point(iv.start, iv.end, attrs, Value::AsInt(*n as i64))
        })
        .collect();
    let data = Data::Sum(Sum {
        data_points: points,
        aggregation_temporality: AggregationTemporality::Delta as i32,
        is_monotonic: true,
    });
    metric("shop.orders", "{order}", "Orders placed or failed", data)
}

/// Number of data points in a set of metrics.
pub(crate) fn count_points(metrics: &[Metric]) -> u64 {
    metrics
        .iter()
        .map(|m| match &m.data {
            Some(Data::Sum(s)) => s.data_points.len(),
            Some(Data::Gauge(g)) => g.data_points.len(),
            Some(Data::Histogram(h)) => h.data_points.len(),
            Some(Data::ExponentialHistogram(h)) => h.data_points.len(),
            Some(Data::Summary(s)) => s.data_points.len(),
            None => 0,
        } as u64)
        .sum()
}
