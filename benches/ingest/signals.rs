//! The logs and metrics half of the benchmark.
//!
//! 1. Concurrent gRPC clients (the generated OTLP `LogsServiceClient`) send a day of log
//!    records in batches of 1 000, each acknowledged after fsync; prints log records/s.
//! 2. The same for metric data points (`MetricsServiceClient`: histograms with 15 buckets,
//!    cumulative counters and gauges); prints data points/s.
//! 3. Restarts the server (final flush + compaction) and prints bytes per log record and
//!    per data point on disk.
//! 4. Log search over the whole day: `GET /api/v1/logs?q=…` for a rare and a common word,
//!    median of `repeat` runs, next to DuckDB running the same search over the same
//!    Parquet files (`scripts/duckdb_logs.py`); the newest 100 matches must agree.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use opentelemetry_proto::tonic::common::v1::{AnyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    Gauge, Histogram, HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics,
    Sum, metric, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;

use crate::{Rng, SERVICES, catalog_table_stats, kv, median, s, server};

const PER_REQUEST: usize = 1_000;
const DAY_NS: u64 = 86_400 * 1_000_000_000;
/// Appears in about 1 in 1 000 log records.
pub(crate) const RARE: &str = "deadlock detected";
const COMMON: &str = "GET /product";

/// An independent stream per (batch, kind). splitmix64 advances its state by a constant,
/// so seeds that differ by multiples of it would replay each other's values: hash first.
fn seeded(b: u64, kind: u64) -> Rng {
    Rng(Rng(b ^ (kind << 56)).next())
}

fn log_batch(b: u64, total: u64, t0: u64) -> ExportLogsServiceRequest {
    let mut rng = seeded(b, 1);
    let (service, ops) = SERVICES[(b % SERVICES.len() as u64) as usize];
    let records = (0..PER_REQUEST as u64)
        .map(|i| {
            let seq = b * PER_REQUEST as u64 + i;
            let time = t0 + seq * (DAY_NS / (total * PER_REQUEST as u64)).max(1);
            let r = rng.next();
            let (severity, text) = match r % 100 {
                0..=84 => (9, "INFO"),
                85..=96 => (13, "WARN"),
                _ => (17, "ERROR"),
            };
            let body = if r % 1000 == 7 {
                format!("{RARE} on table orders_{} after {} ms", r % 97, r % 5000)
            } else {
                format!(
                    "{} /product/{} {} in {} ms user=u{} session={:016x}",
                    ["GET", "POST"][(r >> 8) as usize % 2],
                    r % 10_000,
                    [200, 200, 200, 404, 500][(r >> 12) as usize % 5],
                    (r >> 20) % 900 + 1,
                    (r >> 30) % 50_000,
                    rng.next()
                )
            };
            let traced = r.is_multiple_of(3);
            LogRecord {
                time_unix_nano: time,
                observed_time_unix_nano: time + 1_000_000,
                severity_number: severity,
                severity_text: text.into(),
                body: Some(AnyValue {
                    value: Some(any_value::Value::StringValue(body)),
                }),
                attributes: vec![
                    kv("operation", s(ops[(r >> 4) as usize % 4])),
                    kv("thread", s(&format!("worker-{}", r % 16))),
                ],
                trace_id: if traced {
                    rng.next().to_be_bytes().repeat(2)
                } else {
                    vec![]
                },
                span_id: if traced {
                    rng.next().to_be_bytes().to_vec()
                } else {
                    vec![]
                },
                ..Default::default()
            }
        })
        .collect();
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource {
                attributes: vec![
                    kv("service.name", s(service)),
                    kv("host.name", s(&format!("{service}-{}", b % 3))),
                ],
                ..Default::default()
            }),
            scope_logs: vec![ScopeLogs {
                log_records: records,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn metric_batch(b: u64, total: u64, t0: u64) -> ExportMetricsServiceRequest {
    let mut rng = seeded(b, 2);
    let (service, ops) = SERVICES[(b % SERVICES.len() as u64) as usize];
    // 1 000 points: 50 timestamps × 4 routes × (histogram + counter + 3 gauges).
    let step = (DAY_NS / (total * 50)).max(1);
    let bounds = vec![
        0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
    ];
    let (mut hist, mut counter, mut gauges) = (vec![], vec![], vec![]);
    for k in 0..50u64 {
        let time = t0 + (b * 50 + k) * step;
        for (route, op) in ops.iter().enumerate() {
            let attrs = vec![kv("route", s(op))];
            let counts: Vec<u64> = (0..15).map(|_| rng.next() % 200).collect();
            let n: u64 = counts.iter().sum();
            hist.push(HistogramDataPoint {
                attributes: attrs.clone(),
                start_time_unix_nano: t0,
                time_unix_nano: time,
                count: n,
                sum: Some(n as f64 * 0.08),
                bucket_counts: counts,
                explicit_bounds: bounds.clone(),
                ..Default::default()
            });
            counter.push(NumberDataPoint {
                attributes: attrs.clone(),
                start_time_unix_nano: t0,
                time_unix_nano: time,
                value: Some(number_data_point::Value::AsInt(
                    ((b * 50 + k) * 7 + route as u64) as i64,
                )),
                ..Default::default()
            });
            for g in 0..3 {
                gauges.push(NumberDataPoint {
                    attributes: vec![kv("route", s(op)), kv("pool", s(["a", "b", "c"][g]))],
                    time_unix_nano: time,
                    value: Some(number_data_point::Value::AsDouble(rng.unit() * 100.0)),
                    ..Default::default()
                });
            }
        }
    }
    let metric = |name: &str, data| Metric {
        name: name.into(),
        data: Some(data),
        ..Default::default()
    };
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource {
                attributes: vec![kv("service.name", s(service))],
                ..Default::default()
            }),
            scope_metrics: vec![ScopeMetrics {
                metrics: vec![
                    metric(
                        "http.server.request.duration",
                        metric::Data::Histogram(Histogram {
                            data_points: hist,
                            aggregation_temporality: 2,
                        }),
                    ),
                    metric(
                        "http.server.requests",
                        metric::Data::Sum(Sum {
                            data_points: counter,
                            aggregation_temporality: 2,
                            is_monotonic: true,
                        }),
                    ),
                    metric(
                        "db.pool.usage",
                        metric::Data::Gauge(Gauge {
                            data_points: gauges,
                        }),
                    ),
                ],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// Sends requests `0..total` (made and sent by `send_one`) over `clients` gRPC
/// connections, retrying push-back; returns the wall time in seconds.
async fn send<F, Fut>(endpoint: &str, clients: usize, total: u64, send_one: F) -> f64
where
    F: Fn(tonic::transport::Channel, u64) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Result<(), tonic::Status>> + Send,
{
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..clients {
        let next = Arc::clone(&next);
        let send_one = send_one.clone();
        let channel = tonic::transport::Channel::from_shared(endpoint.to_string())
            .expect("endpoint")
            .connect()
            .await
            .expect("connect");
        tasks.spawn(async move {
            loop {
                let b = next.fetch_add(1, Ordering::Relaxed);
                if b >= total {
                    return;
                }
                loop {
                    match send_one(channel.clone(), b).await {
                        Ok(()) => break,
                        Err(s)
                            if matches!(
                                s.code(),
                                tonic::Code::Unavailable | tonic::Code::ResourceExhausted
                            ) =>
                        {
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                        Err(s) => panic!("export failed: {s}"),
                    }
                }
            }
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.expect("client task");
    }
    started.elapsed().as_secs_f64()
}

fn duckdb_search(
    glob: &str,
    from_ns: u64,
    to_ns: u64,
    q: &str,
    repeat: usize,
) -> Option<serde_json::Value> {
    let python = std::env::var("HEADROOM_PYTHON")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/.venv/bin/python").into());
    let out = std::process::Command::new(&python)
        .args([
            concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/duckdb_logs.py"),
            "--glob",
            glob,
            "--from-ns",
            &from_ns.to_string(),
            "--to-ns",
            &to_ns.to_string(),
            "--q",
            q,
            "--repeat",
            &repeat.to_string(),
        ])
        .output()
        .map_err(|e| eprintln!("could not run {python}: {e}"))
        .ok()?;
    if !out.status.success() {
        eprintln!(
            "duckdb_logs.py failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        return None;
    }
    serde_json::from_slice(&out.stdout).ok()
}

/// Runs the logs and metrics benchmark against a fresh server in `data`.
pub(crate) async fn run(
    data: &std::path::Path,
    logs: u64,
    points: u64,
    clients: usize,
    repeat: usize,
) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("epoch")
        .as_nanos() as u64;
    // One day ending a minute ago, aligned to whole seconds.
    let t0 = (now - DAY_NS - 60_000_000_000) / 1_000_000_000 * 1_000_000_000;
    let log_batches = logs.div_ceil(PER_REQUEST as u64);
    let point_batches = points.div_ceil(PER_REQUEST as u64);
    println!(
        "logs+metrics benchmark: {} log records and {} data points over one day, {clients} gRPC clients, {PER_REQUEST} per request",
        log_batches * PER_REQUEST as u64,
        point_batches * PER_REQUEST as u64
    );
    let server = server::Server::start(data, &[("HEADROOM_STORAGE__COMPACTION__ENABLED", "false")]);
    let secs = send(
        &server.grpc,
        clients,
        log_batches,
        move |ch, b| async move {
            LogsServiceClient::new(ch)
                .max_encoding_message_size(64 << 20)
                .export(log_batch(b, log_batches, t0))
                .await
                .map(|_| ())
        },
    )
    .await;
    let stored_logs = server.sql_i64("SELECT count(*) FROM logs").await as u64;
    assert_eq!(
        stored_logs,
        log_batches * PER_REQUEST as u64,
        "every acknowledged log record is stored"
    );
    println!(
        "ingest: {:.0} log records/s durable (fsync before ack), {secs:.1} s wall",
        stored_logs as f64 / secs
    );
    let secs = send(
        &server.grpc,
        clients,
        point_batches,
        move |ch, b| async move {
            MetricsServiceClient::new(ch)
                .max_encoding_message_size(64 << 20)
                .export(metric_batch(b, point_batches, t0))
                .await
                .map(|_| ())
        },
    )
    .await;
    let stored_points = server.sql_i64("SELECT count(*) FROM metrics").await as u64;
    assert_eq!(
        stored_points,
        point_batches * PER_REQUEST as u64,
        "every acknowledged point is stored"
    );
    println!(
        "ingest: {:.0} data points/s durable, {secs:.1} s wall",
        stored_points as f64 / secs
    );
    server.stop();

    // Compaction merges each hour's files; wait until the catalog settles.
    let server = server::Server::start(
        data,
        &[
            ("HEADROOM_STORAGE__COMPACTION__INTERVAL", "1s"),
            ("HEADROOM_STORAGE__COMPACTION__MIN_FILES", "2"),
        ],
    );
    let mut last = (
        catalog_table_stats(data, "logs"),
        catalog_table_stats(data, "metrics"),
    );
    let mut stable_since = Instant::now();
    let started = Instant::now();
    let settle = Duration::from_secs(if logs < 100_000 { 3 } else { 20 });
    while started.elapsed() < Duration::from_secs(600) && stable_since.elapsed() < settle {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = (
            catalog_table_stats(data, "logs"),
            catalog_table_stats(data, "metrics"),
        );
        if now != last {
            last = now;
            stable_since = Instant::now();
        }
    }
    server.stop();
    // A fresh start: files merged away are deleted at shutdown, so DuckDB's glob below sees
    // exactly the files the catalog lists.
    let server = server::Server::start(data, &[("HEADROOM_STORAGE__COMPACTION__ENABLED", "false")]);
    let ((log_bytes, log_files, log_rows), (point_bytes, point_files, point_rows)) = last;
    assert_eq!(
        crate::parquet_stats(&data.join("objects/logs")),
        (log_bytes, log_files),
        "only catalogued log files remain on disk"
    );
    assert_eq!(
        (log_rows, point_rows),
        (stored_logs, stored_points),
        "compaction keeps every row"
    );
    println!(
        "storage: {:.1} bytes per log record on disk ({log_files} files), {:.1} bytes per data point ({point_files} files)",
        log_bytes as f64 / log_rows as f64,
        point_bytes as f64 / point_rows as f64
    );

    let (from_ns, to_ns) = (t0, t0 + DAY_NS + 60_000_000_000);
    let glob = format!("{}/objects/logs/**/*.parquet", data.display());
    for q in [RARE, COMMON] {
        let path = format!(
            "/api/v1/logs?from={}&to={}&limit=100&q={}",
            from_ns / 1_000_000,
            to_ns / 1_000_000,
            q.replace(' ', "%20").replace('/', "%2F")
        );
        let first = server.get(&path).await;
        let mut times = Vec::new();
        for _ in 0..repeat {
            let t = Instant::now();
            let _ = server.get(&path).await;
            times.push(t.elapsed().as_secs_f64() * 1e3);
        }
        let ours = median(times);
        let ours_ts: Vec<String> = first["logs"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|l| l["body"].as_str().unwrap_or_default().to_string())
                    .collect()
            })
            .unwrap_or_default();
        match duckdb_search(&glob, from_ns, to_ns, q, repeat) {
            Some(duck) => {
                let theirs: Vec<String> = duck["rows"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .map(|r| r[1].as_str().unwrap_or_default().to_string())
                            .collect()
                    })
                    .unwrap_or_default();
                let mut a = ours_ts.clone();
                let mut b = theirs.clone();
                a.sort();
                b.sort();
                assert_eq!(a, b, "the newest 100 matches of {q:?} agree with DuckDB");
                let d = duck["median_ms"].as_f64().unwrap_or(f64::NAN);
                println!(
                    "query: log search q={q:?} over one day ({stored_logs} records, {} matches, newest 100): headroom median {ours:.0} ms, DuckDB {d:.0} ms (ratio {:.2})",
                    duck["matches"],
                    ours / d
                );
            }
            None => println!(
                "query: log search q={q:?}: headroom median {ours:.0} ms (DuckDB unavailable)"
            ),
        }
    }
    server.stop();
}
