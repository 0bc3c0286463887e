//! UI benchmark: the server render time of every page over demo data, next to the JSON
//! API call that returns the same data, plus the wasm bundle's size.
//!
//! `cargo bench --bench ui -- [--days 7] [--repeat 7] [--range now-24h]`, or
//! `./headroom.sh bench ui`. Under `cargo test` (no `--bench` flag) it runs as a smoke
//! test over one day of sparse history.
//!
//! A release `headroom serve` is filled by `headroom demo --no-live --days N` (the same
//! simulated shop as `./headroom.sh run`). Each page is fetched whole (the streamed HTML
//! to its last byte, every resource resolved) `repeat` times after one warm-up; the
//! figure is the median. The peer is the public API request(s) for the same figures, so
//! the ratio is the cost of rendering on top of querying.

use std::time::{Duration, Instant};

#[path = "../tests/e2e/server.rs"]
#[allow(dead_code)] // shared with the e2e tests, which use all of it
mod server;

struct Args {
    days: u32,
    history_rate: f64,
    repeat: usize,
    range: String,
}

fn args() -> Args {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    // `cargo bench` passes `--bench`; under `cargo test` this runs as a quick smoke test
    // (one hour of history, one timed run per page).
    let bench = argv.iter().any(|a| a == "--bench");
    let mut a = Args {
        days: if bench { 7 } else { 1 },
        history_rate: if bench { 30.0 } else { 5.0 },
        repeat: if bench { 7 } else { 1 },
        range: "now-24h".into(),
    };
    let mut i = 0;
    while i < argv.len() {
        let value = argv.get(i + 1).cloned().unwrap_or_default();
        match argv[i].as_str() {
            "--days" => a.days = value.parse().expect("--days N"),
            "--repeat" => a.repeat = value.parse().expect("--repeat N"),
            "--history-rate" => a.history_rate = value.parse().expect("--history-rate N"),
            "--range" => a.range = value,
            _ => {
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    a
}

fn median(mut v: Vec<Duration>) -> f64 {
    v.sort();
    v[v.len() / 2].as_secs_f64() * 1e3
}

async fn time_get(client: &reqwest::Client, url: &str, repeat: usize) -> f64 {
    let once = || async {
        let started = Instant::now();
        let resp = client.get(url).send().await.expect("request");
        assert!(resp.status().is_success(), "GET {url}: {}", resp.status());
        let body = resp.bytes().await.expect("body");
        assert!(!body.is_empty());
        started.elapsed()
    };
    once().await;
    let mut times = Vec::with_capacity(repeat);
    for _ in 0..repeat {
        times.push(once().await);
    }
    median(times)
}

async fn time_sql(client: &reqwest::Client, api: &str, sql: &str, repeat: usize) -> f64 {
    let mut times = Vec::new();
    for i in 0..=repeat {
        let started = Instant::now();
        let resp = client
            .post(format!("{api}/api/v1/sql"))
            .json(&serde_json::json!({ "sql": sql }))
            .send()
            .await
            .expect("sql");
        assert!(resp.status().is_success());
        resp.bytes().await.expect("body");
        if i > 0 {
            times.push(started.elapsed());
        }
    }
    median(times)
}

fn main() {
    let a = args();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(run(a));
}

async fn run(a: Args) {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = server::Server::start(&dir.path().join("data"), &[]);
    let started = Instant::now();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_headroom"))
        .args(["demo", "--no-live", "--days", &a.days.to_string()])
        .args(["--history-rate", &a.history_rate.to_string()])
        .args(["--endpoint", &server.grpc, "--api", &server.api])
        .env("RUST_LOG", "warn")
        .output()
        .await
        .expect("headroom demo");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let spans = server.sql_i64("SELECT count(*) FROM spans").await;
    println!(
        "demo data: {} days, {spans} spans, loaded in {:.1} s",
        a.days,
        started.elapsed().as_secs_f64()
    );
    // Let the memtable flush and compaction settle so runs see the same files.
    if a.repeat > 1 {
        tokio::time::sleep(Duration::from_secs(5)).await;
    }

    let r = &a.range;
    let api = server.api.clone();
    // A payments error trace if there is one (the trace view's heaviest case), else any.
    let mut trace = None;
    for filter in ["&service=payments&error=true", "&error=true", ""] {
        let found = server
            .get(&format!("/api/v1/traces?from={r}{filter}&limit=1"))
            .await;
        trace = found["traces"][0]["trace_id"].as_str().map(String::from);
        if trace.is_some() {
            break;
        }
    }
    let trace = trace.expect("the demo stored traces");
    let sql = "SELECT service_name, count(*) AS spans FROM spans GROUP BY 1 ORDER BY 1";
    let sql_q = sql.replace(' ', "+");
    let client = reqwest::Client::new();
    // (page, page path, API paths that return the same figures; SQL marked "sql:").
    let pages: Vec<(&str, String, Vec<String>)> = vec![
        (
            "Services",
            format!("/?from={r}"),
            vec![format!("/api/v1/services?from={r}")],
        ),
        (
            "Service (checkout)",
            format!("/services/checkout?from={r}"),
            vec![
                format!("/api/v1/services/checkout/series?from={r}"),
                format!("/api/v1/services/checkout/operations?from={r}"),
                format!("/api/v1/traces?from={r}&service=checkout&error=true&limit=10"),
                format!("/api/v1/logs?from={r}&service=checkout&severity_min=ERROR&limit=20"),
                format!("/api/v1/metrics?from={r}&service=checkout"),
            ],
        ),
        (
            "Traces (payments errors)",
            format!("/traces?from={r}&service=payments&errors=1"),
            vec![format!(
                "/api/v1/traces?from={r}&service=payments&error=true&limit=50"
            )],
        ),
        (
            "Trace view",
            format!("/traces/{trace}"),
            vec![format!("/api/v1/traces/{trace}")],
        ),
        (
            "Logs (payments errors)",
            format!("/logs?from={r}&service=payments&severity=ERROR"),
            vec![format!(
                "/api/v1/logs?from={r}&service=payments&severity_min=ERROR&limit=100"
            )],
        ),
        (
            "Metrics (p95 by service)",
            format!(
                "/explore/metrics?from={r}&name=http.server.request.duration&agg=p95&group_by=service"
            ),
            vec![
                format!("/api/v1/metrics?from={r}"),
                format!(
                    "/api/v1/metrics/http.server.request.duration/series?from={r}&agg=p95&group_by=service"
                ),
            ],
        ),
        ("SQL", format!("/sql?q={sql_q}"), vec![format!("sql:{sql}")]),
        ("Dashboards", "/dashboards".into(), vec![]),
        (
            "Dashboard: Service health",
            format!("/dashboards/service-health?from={r}"),
            vec![],
        ),
    ];
    println!(
        "\n{:<28} {:>12} {:>14} {:>7}",
        "page", "render (ms)", "API (ms)", "ratio"
    );
    for (name, path, peers) in pages {
        let page = time_get(&client, &format!("{api}{path}"), a.repeat).await;
        let mut peer = 0.0;
        for p in &peers {
            peer += match p.strip_prefix("sql:") {
                Some(sql) => time_sql(&client, &api, sql, a.repeat).await,
                None => time_get(&client, &format!("{api}{p}"), a.repeat).await,
            };
        }
        if peers.is_empty() {
            println!("{name:<28} {page:>12.1} {:>14} {:>7}", "–", "–");
        } else {
            println!("{name:<28} {page:>12.1} {peer:>14.1} {:>6.2}×", page / peer);
        }
    }
    println!(
        "\n(API column: the sum of the sequential API calls a client would make for the same figures; the page runs its queries concurrently.)"
    );
    let pkg = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/site/pkg");
    let size = |f: &str| std::fs::metadata(pkg.join(f)).map(|m| m.len()).ok();
    match (size("headroom_ui_bg.wasm"), size("headroom_ui_bg.wasm.gz")) {
        (Some(raw), Some(gz)) => println!(
            "wasm bundle: {raw} bytes raw, {gz} bytes gzip; JS glue {} bytes",
            size("headroom_ui.js").unwrap_or_default()
        ),
        _ => println!("wasm bundle: not built (./headroom.sh setup builds it)"),
    }
    server.stop();
}
