//! Ingest and query benchmark: `cargo bench --bench ingest` (or `./headroom.sh bench`).
//!
//! 1. Starts the release `headroom serve` on a fresh data directory (fsync before ack).
//! 2. Concurrent OTLP clients, half gRPC (the generated OTLP `TraceServiceClient`) and half
//!    OTLP/HTTP protobuf, send batches of 512 realistic, unique spans; every batch is
//!    acknowledged (the clients retry 429 / UNAVAILABLE). Prints spans/s, the server's
//!    CPU-seconds per million spans (from /proc) and its peak RSS.
//! 3. Restarts the server so compaction merges the files; prints bytes on disk per span.
//! 4. Times `GET /api/v1/services` over everything stored next to DuckDB running the same
//!    aggregation over the same Parquet files (`scripts/duckdb_reference.py`), in this run.
//!
//! 5. The same for logs and metrics (`ingest/signals.rs`): log records/s, data points/s,
//!    bytes per record on disk, and log search over a day next to DuckDB.
//!
//! Options (after `--`): `--spans N` (default 10 000 000; 0 skips spans), `--logs N` and
//! `--points N` (default 5 000 000 each), `--clients N` (default 8), `--repeat N` (default 5). The load generator runs on the same machine as the server.
//! Under `cargo test` (no `--bench` flag) it runs a 20 480-span smoke version.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{
    ResourceSpans, ScopeSpans, Span, Status, span, status,
};
use prost::Message;

#[allow(dead_code)]
#[path = "../tests/e2e/server.rs"]
mod server;
#[path = "ingest/signals.rs"]
mod signals;

const BATCH: usize = 512;
const SERVICES: [(&str, [&str; 4]); 6] = [
    (
        "frontend",
        ["GET /", "GET /product", "POST /cart", "GET /search"],
    ),
    (
        "checkout",
        ["PlaceOrder", "GetCart", "ValidateCart", "Quote"],
    ),
    ("payments", ["Charge", "Refund", "Authorize", "Capture"]),
    (
        "catalog",
        ["ListProducts", "GetProduct", "SearchProducts", "Stock"],
    ),
    ("search", ["Query", "Suggest", "Rank", "Index"]),
    ("auth", ["Login", "Verify", "Refresh", "Logout"]),
];

struct Args {
    spans: u64,
    logs: u64,
    points: u64,
    clients: usize,
    repeat: usize,
}

fn args() -> Args {
    let argv: Vec<String> = std::env::args().collect();
    // `cargo bench` passes `--bench`; under `cargo test` this runs as a quick smoke test.
    let mut a = if argv.iter().any(|a| a == "--bench") {
        Args {
            spans: 10_000_000,
            logs: 5_000_000,
            points: 5_000_000,
            clients: 8,
            repeat: 5,
        }
    } else {
        Args {
            spans: 20_480,
            logs: 20_000,
            points: 20_000,
            clients: 4,
            repeat: 1,
        }
    };
    let mut i = 1;
    while i < argv.len() {
        let value = argv.get(i + 1).and_then(|v| v.parse::<u64>().ok());
        match (argv[i].as_str(), value) {
            ("--spans", Some(v)) => a.spans = v,
            ("--logs", Some(v)) => a.logs = v,
            ("--points", Some(v)) => a.points = v,
            ("--clients", Some(v)) => a.clients = v.max(2) as usize,
            ("--repeat", Some(v)) => a.repeat = v.max(1) as usize,
            _ => {
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    a
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        // splitmix64
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn kv(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

fn s(v: &str) -> any_value::Value {
    any_value::Value::StringValue(v.into())
}

/// Batch `b` of 512 unique spans: traces of ~5 spans, one service per resource group,
/// start times spread evenly over `[t0, t0 + window)`.
fn batch(b: u64, total_batches: u64, t0: u64, window: u64) -> ExportTraceServiceRequest {
    let mut rng = Rng(b.wrapping_mul(0x2545_f491_4f6c_dd1d) ^ 0xdead_beef);
    let mut by_service: Vec<Vec<Span>> = vec![Vec::new(); SERVICES.len()];
    let mut trace_id = [0u8; 16];
    let mut parent = Vec::new();
    for i in 0..BATCH as u64 {
        if i % 5 == 0 {
            trace_id[..8].copy_from_slice(&rng.next().to_le_bytes());
            trace_id[8..].copy_from_slice(&(b * BATCH as u64 + i).to_le_bytes());
            parent.clear();
        }
        let svc = (rng.next() % SERVICES.len() as u64) as usize;
        let op = SERVICES[svc].1[(rng.next() % 4) as usize];
        let kind = match rng.next() % 10 {
            0..=3 => span::SpanKind::Server,
            4..=7 => span::SpanKind::Client,
            _ => span::SpanKind::Internal,
        };
        // Log-normal latency around 20 ms with a long tail.
        let z = (-2.0 * rng.unit().max(1e-12).ln()).sqrt()
            * (2.0 * std::f64::consts::PI * rng.unit()).cos();
        let dur = (20e6 * (0.9 * z).exp()) as u64 + 50_000;
        let start = t0
            + (window as f64
                * ((b * BATCH as u64 + i) as f64 / (total_batches * BATCH as u64) as f64))
                as u64
            + rng.next() % 1_000_000;
        let error = rng.next().is_multiple_of(100);
        let span_id = rng.next() | 1;
        let route = format!("/api/{}", op.to_ascii_lowercase().replace(' ', "_"));
        by_service[svc].push(Span {
            trace_id: trace_id.to_vec(),
            span_id: span_id.to_be_bytes().to_vec(),
            parent_span_id: parent.clone(),
            name: op.into(),
            kind: kind as i32,
            start_time_unix_nano: start,
            end_time_unix_nano: start + dur,
            attributes: vec![
                kv(
                    "http.request.method",
                    s(if rng.next().is_multiple_of(3) {
                        "POST"
                    } else {
                        "GET"
                    }),
                ),
                kv("http.route", s(&route)),
                kv(
                    "http.response.status_code",
                    any_value::Value::IntValue(if error { 500 } else { 200 }),
                ),
                kv(
                    "feature",
                    s(["browse", "search", "checkout", "login"][(rng.next() % 4) as usize]),
                ),
            ],
            status: Some(Status {
                code: if error {
                    status::StatusCode::Error as i32
                } else {
                    0
                },
                message: if error {
                    "upstream timeout".into()
                } else {
                    String::new()
                },
            }),
            ..Default::default()
        });
        parent = span_id.to_be_bytes().to_vec();
    }
    let resource_spans = by_service
        .into_iter()
        .enumerate()
        .filter(|(_, spans)| !spans.is_empty())
        .map(|(i, spans)| ResourceSpans {
            resource: Some(Resource {
                attributes: vec![
                    kv("service.name", s(SERVICES[i].0)),
                    kv("service.version", s("1.42.0")),
                    kv("host.name", s(&format!("{}-{}", SERVICES[i].0, b % 3))),
                    kv("deployment.environment", s("prod")),
                ],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "bench".into(),
                    version: "1".into(),
                    ..Default::default()
                }),
                spans,
                ..Default::default()
            }],
            ..Default::default()
        })
        .collect();
    ExportTraceServiceRequest { resource_spans }
}

fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

fn peak_rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

async fn ingest(server: &server::Server, a: &Args, t0: u64, window: u64) -> (f64, u64) {
    let batches = a.spans.div_ceil(BATCH as u64);
    let next = Arc::new(AtomicU64::new(0));
    let retries = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for c in 0..a.clients {
        let (next, retries) = (Arc::clone(&next), Arc::clone(&retries));
        let grpc = server.grpc.clone();
        let http = format!("{}/v1/traces", server.otlp_http);
        tasks.spawn(async move {
            let mut grpc_client = if c % 2 == 0 {
                Some(
                    TraceServiceClient::connect(grpc)
                        .await
                        .expect("grpc connect")
                        .max_encoding_message_size(64 << 20),
                )
            } else {
                None
            };
            let http_client = reqwest::Client::new();
            loop {
                let b = next.fetch_add(1, Ordering::Relaxed);
                if b >= batches {
                    return;
                }
                let req = batch(b, batches, t0, window);
                loop {
                    let ok = match grpc_client.as_mut() {
                        Some(client) => match client.export(req.clone()).await {
                            Ok(_) => true,
                            Err(s)
                                if matches!(
                                    s.code(),
                                    tonic::Code::Unavailable | tonic::Code::ResourceExhausted
                                ) =>
                            {
                                false
                            }
                            Err(s) => panic!("grpc export failed: {s}"),
                        },
                        None => {
                            let resp = http_client
                                .post(&http)
                                .header("content-type", "application/x-protobuf")
                                .body(req.encode_to_vec())
                                .send()
                                .await
                                .expect("http export");
                            match resp.status().as_u16() {
                                200 => true,
                                429 | 503 => false,
                                other => panic!("http export failed: {other}"),
                            }
                        }
                    };
                    if ok {
                        break;
                    }
                    retries.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.expect("client task");
    }
    (
        started.elapsed().as_secs_f64(),
        retries.load(Ordering::Relaxed),
    )
}

fn parquet_stats(dir: &std::path::Path) -> (u64, usize) {
    fn walk(p: &std::path::Path, acc: &mut (u64, usize)) {
        for e in std::fs::read_dir(p).into_iter().flatten().flatten() {
            let path = e.path();
            if path.is_dir() {
                walk(&path, acc);
            } else if path.extension().is_some_and(|x| x == "parquet") {
                acc.0 += e.metadata().map(|m| m.len()).unwrap_or(0);
                acc.1 += 1;
            }
        }
    }
    let mut acc = (0, 0);
    walk(dir, &mut acc);
    acc
}

/// (bytes, files, rows) of the spans files the catalog lists.
fn catalog_stats(data: &std::path::Path) -> (u64, usize, u64) {
    catalog_table_stats(data, "spans")
}

/// (bytes, files, rows) of the files of `table` the catalog lists.
fn catalog_table_stats(data: &std::path::Path, table: &str) -> (u64, usize, u64) {
    let text =
        std::fs::read_to_string(data.join("objects/catalog/catalog.json")).unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    let files = v["tables"][table].as_array().cloned().unwrap_or_default();
    let sum = |k: &str| {
        files
            .iter()
            .map(|f| f[k].as_u64().unwrap_or(0))
            .sum::<u64>()
    };
    (sum("bytes"), files.len(), sum("rows"))
}

fn main() {
    let a = args();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(run(a));
}

async fn run(a: Args) {
    if a.spans > 0 {
        run_spans(&a).await;
    }
    if a.logs > 0 || a.points > 0 {
        let dir = tempfile::tempdir().expect("tempdir");
        signals::run(
            &dir.path().join("data"),
            a.logs,
            a.points,
            a.clients,
            a.repeat,
        )
        .await;
    }
}

async fn run_spans(a: &Args) {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("epoch")
        .as_nanos() as u64;
    let window = 50 * 60 * 1_000_000_000u64;
    let t0 = (now - window - 60_000_000_000) / 1_000_000 * 1_000_000;
    println!(
        "headroom ingest+query benchmark: {} spans, {} clients (half gRPC, half HTTP), batches of {BATCH}",
        a.spans, a.clients
    );

    let server =
        server::Server::start(&data, &[("HEADROOM_STORAGE__COMPACTION__ENABLED", "false")]);
    let cpu0 = cpu_seconds(server.pid());
    let (secs, retries) = ingest(&server, a, t0, window).await;
    let cpu = cpu_seconds(server.pid()) - cpu0;
    let rss = peak_rss_mb(server.pid());
    let stored = server.sql_i64("SELECT count(*) FROM spans").await;
    assert_eq!(
        stored as u64,
        a.spans.div_ceil(BATCH as u64) * BATCH as u64,
        "every acknowledged span is stored"
    );
    println!(
        "ingest: {:.0} spans/s durable (fsync before ack), {:.1} s wall, {retries} retried batches",
        stored as f64 / secs,
        secs
    );
    println!(
        "ingest: server CPU {:.2} s per million spans ({:.0} spans per CPU-second); peak RSS {:.0} MB",
        cpu / (stored as f64 / 1e6),
        stored as f64 / cpu,
        rss
    );
    server.stop();

    // Compaction: restart with a 1 s interval and wait until the catalog stops changing.
    let server = server::Server::start(
        &data,
        &[
            ("HEADROOM_STORAGE__COMPACTION__INTERVAL", "1s"),
            ("HEADROOM_STORAGE__COMPACTION__MIN_FILES", "2"),
        ],
    );
    let before = catalog_stats(&data);
    let started = Instant::now();
    let mut last = before;
    let mut stable_since = Instant::now();
    let settle = Duration::from_secs(if stored < 100_000 { 3 } else { 60 });
    while started.elapsed() < Duration::from_secs(900) && stable_since.elapsed() < settle {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = catalog_stats(&data);
        if now != last {
            last = now;
            stable_since = Instant::now();
        }
    }
    let settled = (started.elapsed() - settle).as_secs_f64();
    server.stop();
    // A fresh start reads only what the catalog lists (files merged away are deleted).
    let server =
        server::Server::start(&data, &[("HEADROOM_STORAGE__COMPACTION__ENABLED", "false")]);
    let (bytes, files, rows) = catalog_stats(&data);
    assert_eq!(rows, stored as u64, "compaction keeps every row");
    assert_eq!(
        parquet_stats(&data),
        (bytes, files),
        "only catalogued files remain on disk"
    );
    println!(
        "storage: compaction merged {} files into {files} in {settled:.0} s; {:.1} bytes per span on disk ({:.1} before compaction)",
        before.1,
        bytes as f64 / rows as f64,
        before.0 as f64 / rows as f64
    );

    let (from_ms, to_ms) = (t0 / 1_000_000 - 60_000, (t0 + window) / 1_000_000 + 120_000);
    let path = format!("/api/v1/services?from={from_ms}&to={to_ms}");
    let _ = server.get(&path).await;
    let mut ours = Vec::new();
    let mut last_resp = serde_json::Value::Null;
    for _ in 0..a.repeat {
        let t = Instant::now();
        last_resp = server.get(&path).await;
        ours.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let python = std::env::var("HEADROOM_PYTHON")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/.venv/bin/python").into());
    let glob = format!("{}/objects/spans/**/*.parquet", data.display());
    let duck = |approx: bool| -> Option<(f64, serde_json::Value)> {
        let mut cmd = std::process::Command::new(&python);
        cmd.args([
            concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/duckdb_reference.py"),
            "--glob",
            &glob,
            "--from-ns",
            &(from_ms * 1_000_000).to_string(),
            "--to-ns",
            &(to_ms * 1_000_000).to_string(),
            "--repeat",
            &a.repeat.to_string(),
        ]);
        if approx {
            cmd.arg("--approx");
        }
        let out = match cmd.output() {
            Ok(o) if o.status.success() => o,
            Ok(o) => {
                eprintln!(
                    "duckdb_reference.py failed: {}",
                    String::from_utf8_lossy(&o.stderr)
                );
                return None;
            }
            Err(e) => {
                eprintln!("could not run {python}: {e}");
                return None;
            }
        };
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
        Some((v["median_ms"].as_f64()?, v))
    };
    let ours_ms = median(ours);
    println!("query: GET /api/v1/services over {stored} spans: headroom median {ours_ms:.0} ms");
    let approx = duck(true);
    match duck(false) {
        Some((exact_ms, exact)) => {
            let approx_ms = approx.map(|(ms, _)| ms);
            println!(
                "query: same aggregation in DuckDB on the same Parquet files: exact quantiles {exact_ms:.0} ms, approx_quantile {}",
                approx_ms.map_or("n/a".into(), |ms| format!("{ms:.0} ms"))
            );
            println!(
                "query: headroom / DuckDB(exact) = {:.2}x, headroom / DuckDB(approx) = {}",
                ours_ms / exact_ms,
                approx_ms.map_or("n/a".into(), |ms| format!("{:.2}x", ours_ms / ms))
            );
            // Sanity: the same requests per service in both engines.
            for row in exact["rows"].as_array().into_iter().flatten() {
                let name = row["service_name"].as_str().unwrap_or_default();
                let ours_row = last_resp["services"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|s| s["service"] == name);
                let ours_req = ours_row.and_then(|r| r["requests"].as_u64());
                assert_eq!(
                    ours_req,
                    row["requests"].as_u64(),
                    "requests of {name} differ between headroom and DuckDB"
                );
                let p99_ours = ours_row.and_then(|r| r["p99_ms"].as_f64()).unwrap_or(0.0);
                let p99_duck = row["p99_ns"].as_f64().unwrap_or(0.0) / 1e6;
                println!(
                    "  {name:<9} requests {:>9}  p99 headroom {p99_ours:>8.2} ms  DuckDB {p99_duck:>8.2} ms",
                    row["requests"]
                );
            }
        }
        None => println!(
            "query: DuckDB comparison unavailable (see the error above; ./headroom.sh bench sets up the venv)"
        ),
    }
    server.stop();
}
