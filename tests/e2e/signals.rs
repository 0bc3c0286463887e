//! Logs and metrics end to end: the Rust `opentelemetry-otlp` exporters over gRPC and
//! HTTP, and OTLP requests with hand-picked points (built with `opentelemetry-proto`'s
//! types and sent by its tonic client) where exact semantics are under test: counter
//! resets, delta vs cumulative, histogram quantile interpolation.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry::logs::{AnyValue, LogRecord as _, Logger as _, LoggerProvider as _, Severity};
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::trace::{SpanId, TraceId};
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_otlp::{WithExportConfig, WithTonicConfig};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use opentelemetry_proto::tonic::common::v1::{AnyValue as PAny, KeyValue as PKv, any_value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    ExponentialHistogram, ExponentialHistogramDataPoint, Histogram, HistogramDataPoint, Metric,
    NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, exponential_histogram_data_point, metric,
    number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource as PResource;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::logs::{LogBatch, LogExporter as _, SdkLoggerProvider};
use opentelemetry_sdk::metrics::periodic_reader_with_async_runtime::PeriodicReader;
use opentelemetry_sdk::metrics::{SdkMeterProvider, Temporality};
use serde_json::Value;

use crate::bad_input::post_to;
use crate::otlp_rust::{Rng, Transport, exact_quantile};
use crate::server::Server;

fn ns(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .expect("after epoch")
        .as_nanos() as i64
}

/// One planned log record.
#[derive(Debug, Clone, PartialEq)]
struct PlannedLog {
    time: i64,
    severity: i32,
    body: String,
    trace_id: String,
}

fn plan_logs(seed: u64, n: usize, base: SystemTime) -> Vec<PlannedLog> {
    let mut rng = Rng(seed);
    let words = [
        "Checkout OK",
        "payment DECLINED",
        "cache miss",
        "100% done_",
        "Timeout",
    ];
    (0..n)
        .map(|i| {
            let r = rng.next();
            PlannedLog {
                // Some records share a timestamp, so paging must break ties.
                time: ns(base) + (i as i64 / 3) * 1_000_000,
                severity: [5, 9, 9, 13, 17][(r % 5) as usize],
                body: format!("{} #{i}", words[(r >> 8) as usize % words.len()]),
                trace_id: if i % 4 == 0 {
                    format!("{:032x}", ((seed as u128) << 64) | (i as u128 + 1))
                } else {
                    String::new()
                },
            }
        })
        .collect()
}

fn severity(n: i32) -> Severity {
    match n {
        5 => Severity::Debug,
        9 => Severity::Info,
        13 => Severity::Warn,
        _ => Severity::Error,
    }
}

/// Sends `logs` for `service` through the Rust OTLP log exporter.
async fn export_logs(server: &Server, transport: Transport, service: &str, logs: &[PlannedLog]) {
    let mut exporter = match transport {
        Transport::Grpc => opentelemetry_otlp::LogExporter::builder()
            .with_tonic()
            .with_endpoint(server.grpc.clone())
            .with_compression(opentelemetry_otlp::Compression::Gzip)
            .build(),
        Transport::Http => opentelemetry_otlp::LogExporter::builder()
            .with_http()
            .with_endpoint(format!("{}/v1/logs", server.otlp_http))
            .build(),
    }
    .expect("log exporter");
    let resource = Resource::builder()
        .with_service_name(service.to_string())
        .build();
    exporter.set_resource(&resource);
    // Records are made by an SDK logger (no processor: we export them ourselves, awaiting
    // each export so that a failure fails the test).
    let provider = SdkLoggerProvider::builder().with_resource(resource).build();
    let logger = provider.logger("headroom-e2e");
    let scope = InstrumentationScope::builder("headroom-e2e").build();
    for chunk in logs.chunks(200) {
        let records: Vec<_> = chunk
            .iter()
            .map(|l| {
                let mut r = logger.create_log_record();
                r.set_timestamp(UNIX_EPOCH + Duration::from_nanos(l.time as u64));
                r.set_observed_timestamp(SystemTime::now());
                r.set_severity_number(severity(l.severity));
                r.set_severity_text(severity(l.severity).name());
                r.set_body(AnyValue::from(l.body.clone()));
                r.add_attribute("i", l.time);
                if !l.trace_id.is_empty() {
                    r.set_trace_context(
                        TraceId::from_hex(&l.trace_id).expect("hex"),
                        SpanId::from(7u64),
                        None,
                    );
                }
                r
            })
            .collect();
        let pairs: Vec<_> = records.iter().map(|r| (r, &scope)).collect();
        exporter
            .export(LogBatch::new(&pairs))
            .await
            .expect("log export acknowledged");
    }
}

/// Every page of `/api/v1/logs` with `query`, following cursors.
async fn all_pages(server: &Server, query: &str) -> (Vec<Value>, usize) {
    let mut out = Vec::new();
    let mut cursor = String::new();
    let mut pages = 0;
    loop {
        let page = server
            .get(&format!("/api/v1/logs?{query}&limit=7{cursor}"))
            .await;
        pages += 1;
        out.extend(page["logs"].as_array().expect("logs").iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => return (out, pages),
        }
        assert!(pages < 1000, "cursor does not advance");
    }
}

fn ts_ns(v: &Value) -> i64 {
    let s = v.as_str().expect("timestamp string");
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|d| d.timestamp_nanos_opt().unwrap_or_default())
        .unwrap_or_else(|_| {
            // arrow-json writes naive ISO timestamps without the offset.
            chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
                .expect("timestamp")
                .and_utc()
                .timestamp_nanos_opt()
                .unwrap_or_default()
        })
}

async fn check_logs(server: &Server, transport: Transport, service: &str, seed: u64) {
    let base = SystemTime::now() - Duration::from_secs(600);
    let planned = plan_logs(seed, 300, base);
    export_logs(server, transport, service, &planned).await;
    let window = format!(
        "service={service}&from={}&to={}",
        ns(base) / 1_000_000,
        ns(base) / 1_000_000 + 3_600_000
    );

    // Every record, newest first, exactly once across pages.
    let (got, pages) = all_pages(server, &window).await;
    assert_eq!(got.len(), planned.len(), "{service}: all records, once");
    assert!(pages >= 300 / 7, "{pages} pages");
    let times: Vec<i64> = got.iter().map(|l| ts_ns(&l["timestamp"])).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first");
    let mut got_set: Vec<(i64, i32, String, String)> = got
        .iter()
        .map(|l| {
            (
                ts_ns(&l["timestamp"]),
                l["severity_number"].as_i64().expect("severity") as i32,
                l["body"].as_str().expect("body").to_string(),
                l["trace_id"].as_str().expect("trace_id").to_string(),
            )
        })
        .collect();
    let mut want: Vec<(i64, i32, String, String)> = planned
        .iter()
        .map(|l| (l.time, l.severity, l.body.clone(), l.trace_id.clone()))
        .collect();
    got_set.sort();
    want.sort();
    assert_eq!(got_set, want, "{service}: stored logs equal sent logs");

    // Filters, against the same filters applied to the plan.
    let count = |f: &dyn Fn(&PlannedLog) -> bool| planned.iter().filter(|l| f(l)).count();
    let (q, _) = all_pages(server, &format!("{window}&q=payment%20declined")).await;
    assert_eq!(
        q.len(),
        count(&|l| l.body.to_lowercase().contains("payment declined"))
    );
    let (q, _) = all_pages(server, &format!("{window}&q=100%25%20done_")).await;
    assert_eq!(
        q.len(),
        count(&|l| l.body.contains("100% done_")),
        "% and _ literal"
    );
    let (w, _) = all_pages(server, &format!("{window}&severity_min=warn")).await;
    assert_eq!(w.len(), count(&|l| l.severity >= 13));
    let traced = planned
        .iter()
        .find(|l| !l.trace_id.is_empty())
        .expect("a traced log");
    let (t, _) = all_pages(server, &format!("{window}&trace_id={}", traced.trace_id)).await;
    assert_eq!(t.len(), 1);
    assert_eq!(t[0]["body"], traced.body.as_str());
    assert_eq!(t[0]["span_id"], "0000000000000007");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_sdk_logs_over_grpc_and_http_page_and_filter_exactly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path(), &[]);
    check_logs(&server, Transport::Grpc, "logs-grpc", 11).await;
    check_logs(&server, Transport::Http, "logs-http", 12).await;

    for (query, word) in [("severity_min=loud", "severity"), ("cursor=nope", "cursor")] {
        let (status, bad) = server.get_status(&format!("/api/v1/logs?{query}")).await;
        assert_eq!(status, 400, "{bad}");
        assert!(
            bad["error"].as_str().is_some_and(|e| e.contains(word)),
            "{bad}"
        );
    }
}

/// Counter, histogram and gauge through the Rust SDK's periodic reader.
async fn export_sdk_metrics(server: &Server, transport: Transport, service: &str) -> Vec<f64> {
    let grpc = server.grpc.clone();
    let http = format!("{}/v1/metrics", server.otlp_http);
    let service = service.to_string();
    // force_flush blocks until the export is done: keep it off the runtime's workers.
    tokio::task::spawn_blocking(move || {
        let exporter = match transport {
            Transport::Grpc => opentelemetry_otlp::MetricExporter::builder()
                .with_tonic()
                .with_endpoint(grpc)
                .with_temporality(Temporality::Cumulative)
                .build(),
            Transport::Http => opentelemetry_otlp::MetricExporter::builder()
                .with_http()
                .with_endpoint(http)
                .with_temporality(Temporality::Delta)
                .build(),
        }
        .expect("metric exporter");
        // The reader exports on the test's tokio runtime, which tonic and reqwest need.
        let reader = PeriodicReader::builder(exporter, opentelemetry_sdk::runtime::Tokio)
            .with_interval(Duration::from_secs(3600))
            .build();
        let provider = SdkMeterProvider::builder()
            .with_reader(reader)
            .with_resource(Resource::builder().with_service_name(service).build())
            .build();
        let meter = provider.meter("headroom-e2e");
        let counter = meter.u64_counter("e2e.requests").build();
        let histogram = meter
            .f64_histogram("e2e.latency")
            .with_unit("s")
            .with_boundaries(vec![0.01, 0.05, 0.1, 0.25, 0.5, 1.0])
            .build();
        let gauge = meter.f64_gauge("e2e.queue").build();
        let mut rng = Rng(99);
        let mut values = Vec::new();
        for round in 0..3 {
            for i in 0..400u64 {
                let route = if i % 4 == 0 { "/b" } else { "/a" };
                counter.add(1 + i % 3, &[KeyValue::new("route", route)]);
                let v = rng.latency().as_secs_f64();
                values.push(v);
                histogram.record(v, &[]);
            }
            gauge.record(10.0 * (round + 1) as f64, &[]);
            provider.force_flush().expect("metrics exported");
        }
        provider.shutdown().expect("shutdown");
        values
    })
    .await
    .expect("metrics thread")
}

async fn series(server: &Server, name: &str, q: &str) -> Value {
    let v = server
        .get(&format!("/api/v1/metrics/{name}/series?{q}"))
        .await;
    assert!(v.get("error").is_none(), "{name}?{q}: {v}");
    v
}

/// The one value of a single-bucket series for `service`.
fn only_value(v: &Value) -> f64 {
    let series = v["series"].as_array().expect("series");
    assert_eq!(series.len(), 1, "{v}");
    let points = series[0]["points"].as_array().expect("points");
    assert_eq!(points.len(), 1, "{v}");
    points[0][1].as_f64().unwrap_or(f64::NAN)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_sdk_metrics_cumulative_over_grpc_and_delta_over_http_agree() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path(), &[]);
    let from = ns(SystemTime::now() - Duration::from_secs(5)) / 1_000_000;
    let mut raw = BTreeMap::new();
    for (t, service) in [(Transport::Grpc, "m-grpc"), (Transport::Http, "m-http")] {
        raw.insert(service, export_sdk_metrics(&server, t, service).await);
    }
    let to = from + 3_600_000;
    // Counter total: Σ over 3 rounds of Σ(1 + i % 3) = 3 × 799.
    let total = 3.0 * (0..400u64).map(|i| 1 + i % 3).sum::<u64>() as f64;
    let names = server
        .get(&format!("/api/v1/metrics?from={from}&to={to}"))
        .await;
    let names = names["metrics"].as_array().expect("metrics").clone();
    for name in ["e2e.requests", "e2e.latency", "e2e.queue"] {
        assert!(
            names.iter().any(|m| m["name"] == name),
            "{name} in {names:?}"
        );
    }
    for service in ["m-grpc", "m-http"] {
        let q = format!("from={from}&to={to}&step=1h&service={service}");
        let sum = only_value(&series(&server, "e2e.requests", &format!("{q}&agg=sum")).await);
        assert_eq!(sum, total, "{service}: counter increase");
        let rate = only_value(&series(&server, "e2e.requests", &format!("{q}&agg=rate")).await);
        assert!(
            (rate - total / 3600.0).abs() < 1e-9,
            "{service}: rate {rate}"
        );
        let by_route = series(
            &server,
            "e2e.requests",
            &format!("{q}&agg=sum&group_by=route"),
        )
        .await;
        let routes = by_route["series"].as_array().expect("series");
        assert_eq!(routes.len(), 2, "{by_route}");
        let rate = only_value(&series(&server, "e2e.latency", &format!("{q}&agg=rate")).await);
        assert!(
            (rate - 1200.0 / 3600.0).abs() < 1e-9,
            "{service}: histogram rate {rate}"
        );
        let values = &raw[service];
        let avg = only_value(&series(&server, "e2e.latency", &format!("{q}&agg=avg")).await);
        let exact_avg = values.iter().sum::<f64>() / values.len() as f64;
        assert!(
            (avg - exact_avg).abs() < 1e-9,
            "{service}: avg {avg} vs {exact_avg}"
        );
        let bounds = [0.0, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, f64::INFINITY];
        for p in [50.0, 90.0, 99.0] {
            let got = only_value(&series(&server, "e2e.latency", &format!("{q}&agg=p{p}")).await);
            let mut sorted = values.clone();
            sorted.sort_by(f64::total_cmp);
            let exact = exact_quantile(&sorted, p / 100.0);
            // Interpolation stays inside the bucket that holds the exact quantile.
            let k = bounds.iter().position(|b| exact <= *b).expect("bucket");
            let (lo, hi) = (bounds[k - 1], bounds[k].min(1.0));
            assert!(
                (lo..=hi).contains(&got),
                "{service} p{p}: {got} outside ({lo}, {hi}] holding exact {exact}"
            );
        }
        let gauge = series(&server, "e2e.queue", &format!("{q}&agg=max")).await;
        assert_eq!(only_value(&gauge), 30.0, "{gauge}");
    }
    for (agg, word) in [("p99", "histogram"), ("median", "agg"), ("rate", "gauge")] {
        let (status, bad) = server
            .get_status(&format!(
                "/api/v1/metrics/e2e.queue/series?from={from}&to={to}&agg={agg}"
            ))
            .await;
        assert_eq!(status, 400, "{bad}");
        assert!(
            bad["error"].as_str().is_some_and(|e| e.contains(word)),
            "{bad}"
        );
    }
}

fn kv(key: &str, value: &str) -> PKv {
    PKv {
        key: key.into(),
        value: Some(PAny {
            value: Some(any_value::Value::StringValue(value.into())),
        }),
        ..Default::default()
    }
}

fn request(service: &str, metrics: Vec<Metric>) -> ExportMetricsServiceRequest {
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(PResource {
                attributes: vec![kv("service.name", service)],
                ..Default::default()
            }),
            scope_metrics: vec![ScopeMetrics {
                metrics,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn sum(name: &str, temporality: i32, points: Vec<NumberDataPoint>) -> Metric {
    Metric {
        name: name.into(),
        data: Some(metric::Data::Sum(Sum {
            data_points: points,
            aggregation_temporality: temporality,
            is_monotonic: true,
        })),
        ..Default::default()
    }
}

fn number(route: &str, start: i64, time: i64, v: f64) -> NumberDataPoint {
    NumberDataPoint {
        attributes: vec![kv("route", route)],
        start_time_unix_nano: start as u64,
        time_unix_nano: time as u64,
        value: Some(number_data_point::Value::AsDouble(v)),
        ..Default::default()
    }
}

const S: i64 = 1_000_000_000;
const CUMULATIVE: i32 = 2;
const DELTA: i32 = 1;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counter_resets_delta_and_histogram_quantiles_are_exact() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path(), &[]);
    let mut client = MetricsServiceClient::connect(server.grpc.clone())
        .await
        .expect("connect");
    let t = (ns(SystemTime::now()) / (60 * S) - 30) * 60 * S;

    // Route /a restarts at t+35 s (new start time); /b resets without a new start time.
    let a = [
        (0, 10, 10.0),
        (0, 20, 25.0),
        (0, 30, 40.0),
        (35, 40, 5.0),
        (35, 50, 12.0),
    ];
    let b = [(0, 10, 100.0), (0, 20, 130.0), (0, 30, 20.0), (0, 40, 50.0)];
    // Increments per point, worked out by hand: a reset counts the new value whole, and the
    // first point counts whole because its start time is inside the query window.
    let inc_a = [10.0, 15.0, 15.0, 5.0, 7.0];
    let inc_b = [100.0, 30.0, 20.0, 30.0];
    let mut points: Vec<NumberDataPoint> = a
        .iter()
        .map(|(s, at, v)| number("/a", t + s * S, t + at * S, *v))
        .collect();
    points.extend(
        b.iter()
            .map(|(s, at, v)| number("/b", t + s * S, t + at * S, *v)),
    );
    let delta: Vec<NumberDataPoint> = a
        .iter()
        .zip(inc_a)
        .map(|((_, at, _), inc)| number("/a", t + (at - 10) * S, t + at * S, inc))
        .collect();
    for req in [
        request("crafted", vec![sum("crafted.requests", CUMULATIVE, points)]),
        request("crafted-delta", vec![sum("crafted.requests", DELTA, delta)]),
    ] {
        let resp = client.export(req).await.expect("acked").into_inner();
        assert!(resp.partial_success.is_none(), "{resp:?}");
    }
    let (from, to) = (t / 1_000_000, (t + 60 * S) / 1_000_000);
    let q = |service: &str, agg: &str, step: &str| {
        format!("from={from}&to={to}&step={step}&agg={agg}&service={service}&group_by=route")
    };
    let v = series(&server, "crafted.requests", &q("crafted", "sum", "60s")).await;
    let by_route: BTreeMap<String, f64> = v["series"]
        .as_array()
        .expect("series")
        .iter()
        .map(|s| {
            (
                s["group"]["route"].as_str().unwrap_or_default().to_string(),
                s["points"][0][1].as_f64().unwrap_or(f64::NAN),
            )
        })
        .collect();
    assert_eq!(by_route["/a"], inc_a.iter().sum::<f64>(), "{v}");
    assert_eq!(by_route["/b"], inc_b.iter().sum::<f64>(), "{v}");
    // Per 10 s bucket, the rate of the cumulative stream equals the delta stream's.
    let cumulative = series(&server, "crafted.requests", &q("crafted", "rate", "10s")).await;
    let delta = series(
        &server,
        "crafted.requests",
        &q("crafted-delta", "rate", "10s"),
    )
    .await;
    let rates = |v: &Value, route: &str| -> Vec<Option<f64>> {
        v["series"]
            .as_array()
            .expect("series")
            .iter()
            .find(|s| s["group"]["route"] == route)
            .expect("route")["points"]
            .as_array()
            .expect("points")
            .iter()
            .map(|p| p[1].as_f64())
            .collect()
    };
    let expected: Vec<Option<f64>> = (0..6)
        .map(|k| {
            a.iter()
                .zip(inc_a)
                .find(|((_, at, _), _)| at / 10 == k)
                .map(|(_, inc)| inc / 10.0)
        })
        .collect();
    assert_eq!(rates(&cumulative, "/a"), expected, "{cumulative}");
    assert_eq!(rates(&delta, "/a"), expected, "{delta}");

    // Explicit histogram, cumulative: two points whose increments are each
    // [10, 30, 60, 0] over bounds [1, 2, 4] → merged [20, 60, 120, 0], total 200.
    // p25: rank 50 lies in (1, 2] after 20 → 1 + (50 − 20) / 60 = 1.5.
    // p70: rank 140 lies in (2, 4] after 80 → 2 + 2 · (140 − 80) / 120 = 3.0.
    let hist = |at: i64, counts: Vec<u64>| HistogramDataPoint {
        start_time_unix_nano: t as u64,
        time_unix_nano: (t + at * S) as u64,
        count: counts.iter().sum(),
        sum: Some(at as f64),
        bucket_counts: counts,
        explicit_bounds: vec![1.0, 2.0, 4.0],
        ..Default::default()
    };
    // Exponential, delta: scale 0 (base 2), buckets (1,2] and (2,4] with 50 each, and a
    // second point at scale 1 whose buckets fold into the same two at scale 0.
    // p25 → 1 + (25/50)·1 = 1.5 before merging; after merging [50+1+2, 50+3+4] = [53, 57]:
    // p25: rank 27.5 in (1,2] → 1 + 27.5/53.
    let expo = |at: i64, scale: i32, counts: Vec<u64>| ExponentialHistogramDataPoint {
        start_time_unix_nano: (t + (at - 10) * S) as u64,
        time_unix_nano: (t + at * S) as u64,
        count: counts.iter().sum(),
        scale,
        positive: Some(exponential_histogram_data_point::Buckets {
            offset: 0,
            bucket_counts: counts,
        }),
        ..Default::default()
    };
    let metrics = vec![
        Metric {
            name: "crafted.latency".into(),
            data: Some(metric::Data::Histogram(Histogram {
                data_points: vec![
                    hist(10, vec![10, 30, 60, 0]),
                    hist(20, vec![20, 60, 120, 0]),
                ],
                aggregation_temporality: CUMULATIVE,
            })),
            ..Default::default()
        },
        Metric {
            name: "crafted.size".into(),
            data: Some(metric::Data::ExponentialHistogram(ExponentialHistogram {
                data_points: vec![expo(10, 0, vec![50, 50]), expo(40, 1, vec![1, 2, 3, 4])],
                aggregation_temporality: DELTA,
            })),
            ..Default::default()
        },
    ];
    client
        .export(request("crafted", metrics))
        .await
        .expect("acked");
    let one = |v: Value| only_value(&v);
    let hq = |agg: &str| format!("from={from}&to={to}&step=60s&agg={agg}");
    assert_eq!(
        one(series(&server, "crafted.latency", &hq("p25")).await),
        1.5
    );
    assert_eq!(
        one(series(&server, "crafted.latency", &hq("p70")).await),
        3.0
    );
    assert_eq!(
        one(series(&server, "crafted.latency", &hq("rate")).await),
        200.0 / 60.0
    );
    let early = format!("from={from}&to={}&step=30s&agg=p25", from + 30_000);
    assert_eq!(one(series(&server, "crafted.size", &early).await), 1.5);
    let merged = one(series(&server, "crafted.size", &hq("p25")).await);
    assert!((merged - (1.0 + 27.5 / 53.0)).abs() < 1e-12, "{merged}");
}

/// Log records and metric points sent with acknowledgement, for the crash test.
pub(crate) async fn send_acked_logs_and_points(server: &Server, round: u64, n: usize) {
    let base = ns(SystemTime::now() - Duration::from_secs(120));
    let mut logs = LogsServiceClient::connect(server.grpc.clone())
        .await
        .expect("connect logs");
    let mut metrics = MetricsServiceClient::connect(server.grpc.clone())
        .await
        .expect("connect metrics");
    for chunk in 0..n / 100 {
        let records = (0..100)
            .map(|i| LogRecord {
                time_unix_nano: (base + (chunk * 100 + i) as i64) as u64,
                severity_number: 9,
                body: Some(PAny {
                    value: Some(any_value::Value::StringValue(format!(
                        "r{round}-{chunk}-{i}"
                    ))),
                }),
                ..Default::default()
            })
            .collect();
        let req = ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                resource: Some(PResource {
                    attributes: vec![kv("service.name", "crash")],
                    ..Default::default()
                }),
                scope_logs: vec![ScopeLogs {
                    log_records: records,
                    ..Default::default()
                }],
                ..Default::default()
            }],
        };
        logs.export(req).await.expect("logs acked");
        let points = (0..100)
            .map(|i| number(&format!("r{round}-{chunk}-{i}"), 0, base + i, i as f64))
            .collect();
        metrics
            .export(request("crash", vec![sum("crash.points", DELTA, points)]))
            .await
            .expect("points acked");
    }
}

async fn post_otlp(server: &Server, path: &str, content_type: &str, body: &str) -> (u16, Value) {
    let (status, text) = post_to(server, path, content_type, None, body.as_bytes().to_vec()).await;
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_logs_and_metrics_get_4xx_or_partial_success() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path(), &[]);
    for path in ["/v1/logs", "/v1/metrics"] {
        let (status, body) = post_otlp(&server, path, "application/json", "{nope").await;
        assert_eq!(status, 400, "{path}: {body}");
        assert!(
            body["message"].as_str().is_some_and(|m| m.contains("json")),
            "{body}"
        );
        let (status, _) = post_otlp(&server, path, "application/x-protobuf", "\u{7f}\u{7f}").await;
        assert_eq!(status, 400, "{path}");
        let (status, _) = post_otlp(&server, path, "text/plain", "{}").await;
        assert_eq!(status, 415, "{path}");
    }
    let now = ns(SystemTime::now());
    let logs = format!(
        r#"{{"resourceLogs":[{{"scopeLogs":[{{"logRecords":[
            {{"timeUnixNano":"{now}","body":{{"stringValue":"kept"}}}},
            {{"timeUnixNano":"{now}","traceId":"abcd","body":{{"stringValue":"bad id"}}}}]}}]}}]}}"#
    );
    let (status, body) = post_otlp(&server, "/v1/logs", "application/json", &logs).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["partialSuccess"]["rejectedLogRecords"], 1, "{body}");
    let metrics = format!(
        r#"{{"resourceMetrics":[{{"scopeMetrics":[{{"metrics":[
            {{"name":"ok","gauge":{{"dataPoints":[{{"timeUnixNano":"{now}","asDouble":1}}]}}}},
            {{"name":"h","histogram":{{"aggregationTemporality":2,"dataPoints":[
              {{"timeUnixNano":"{now}","count":"3","bucketCounts":[1,1,1],"explicitBounds":[1]}}]}}}}]}}]}}]}}"#
    );
    let (status, body) = post_otlp(&server, "/v1/metrics", "application/json", &metrics).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["partialSuccess"]["rejectedDataPoints"], 1, "{body}");
    assert!(
        body["partialSuccess"]["errorMessage"]
            .as_str()
            .is_some_and(|m| m.contains("bucket counts")),
        "{body}"
    );
    assert_eq!(server.sql_i64("SELECT count(*) FROM logs").await, 1);
    assert_eq!(server.sql_i64("SELECT count(*) FROM metrics").await, 1);
}
