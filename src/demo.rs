//! `headroom demo`: realistic, deterministic telemetry from a simulated shop, sent through
//! the real OTLP/gRPC path.
//!
//! Six services (frontend, auth, catalog, search, checkout, payments) serve four user
//! features (browse, search, login, checkout), calling each other with proper parent/child
//! spans; logs are correlated with the spans that emit them; each service reports runtime
//! metrics. Traffic follows a daily and a weekly cycle and grows 4% a week; latencies have
//! lognormal bodies and heavy tails; a seeded schedule adds deploys (service restarts),
//! payment error bursts and catalog latency regressions.
//!
//! ```text
//!  model.rs   seeded RNG per (seed, minute | day), traffic shape, latency, deploys, incidents
//!  shop.rs    the call graph of each feature
//!  sim.rs     one minute of requests → span and log records (records.rs)
//!  meters.rs  per-interval aggregation → cumulative/delta OTLP metrics
//!  otlp.rs    records → Export{Trace,Logs,Metrics}ServiceRequest
//!  send.rs    tonic OTLP clients: gzip, 4 in flight, retry on UNAVAILABLE/RESOURCE_EXHAUSTED
//!  backfill.rs  history in time order, 30-minute chunks generated in parallel
//!  live.rs    current traffic, one tick a second, metrics every 10 s
//! ```
//!
//! **Determinism.** Every minute's traffic comes from its own ChaCha8 stream keyed by
//! (seed, minute), deploys and incidents from one keyed by (seed, day), so the same seed
//! and `--until` give the same ids, timestamps and values, whatever the chunking. Growth is
//! relative to `--until` (traffic there is `--rate` at the weekly peak).
//!
//! **History** is sparser than live traffic: `--history-rate` sampled traces per minute at
//! the weekly peak; metrics count each sampled request `rate × 60 / history-rate` times, so
//! they show the full traffic. Runtime metrics come every 5 minutes in history, every 10 s
//! live.
//!
//! **Resume.** The caller passes where existing demo data ends (the latest root span of
//! scope `headroom.demo`, see [`RESUME_SQL`]); only the gap up to `--until` is backfilled.

mod backfill;
mod live;
mod meters;
mod model;
mod otlp;
mod records;
mod send;
mod shop;
mod sim;
#[cfg(test)]
mod tests;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use serde::Serialize;
use tokio_util::sync::CancellationToken;
use tracing::info;

pub use model::{Incident, incidents};
pub use otlp::SCOPE;

use model::{NS_PER_DAY, NS_PER_MIN};
use send::Signal;

/// Where existing demo history ends: the start of the latest root span the demo sent, in
/// ns since the epoch (`NULL` without demo data).
pub const RESUME_SQL: &str = "SELECT CAST(max(start_time) AS BIGINT) AS t FROM spans \
     WHERE scope_name = 'headroom.demo' AND parent_span_id = ''";

/// Live traffic starts at most this long before now (catching up after the backfill).
const MAX_CATCH_UP_NS: i64 = 5 * NS_PER_MIN;

/// What to generate and where to send it.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// OTLP/gRPC endpoint, e.g. `http://127.0.0.1:4317`.
    pub endpoint: String,
    pub seed: u64,
    /// Live user requests per second at the weekly peak.
    pub rate: f64,
    /// Sampled traces per minute at the weekly peak, in history.
    pub history_rate: f64,
    /// Days of history ending at `until_ns`.
    pub days: u32,
    /// End of history, ns since the epoch (rounded down to a minute); `None` means now.
    pub until_ns: Option<i64>,
    pub backfill: bool,
    pub live: bool,
    /// Where existing demo data ends (see [`RESUME_SQL`]); history starts after it.
    pub resume_after_ns: Option<i64>,
}

/// What was sent; printed as `{"demo": {...}}`.
#[derive(Debug, Clone, Serialize)]
pub struct DemoReport {
    /// Items the server accepted.
    pub spans: u64,
    pub logs: u64,
    pub points: u64,
    /// Items the server refused (partial success).
    pub rejected: u64,
    pub seconds: f64,
    pub spans_per_s: f64,
    /// The history sent, RFC 3339 (`null` when none).
    pub history_from: Option<String>,
    pub history_to: Option<String>,
    /// Incidents within the history sent.
    pub incidents: Vec<Incident>,
    /// Signals the server answered UNIMPLEMENTED; they were skipped.
    pub unsupported: Vec<&'static str>,
}

fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}

pub(crate) fn rfc3339(ns: i64) -> String {
    let t = UNIX_EPOCH + Duration::from_nanos(ns.max(0) as u64);
    humantime::format_rfc3339_seconds(t).to_string()
}

/// Backfills the missing history, then (unless `live` is off) sends live traffic until
/// `cancel`. Stopping is not an error: the report covers what was sent.
pub async fn run(opts: DemoOptions, cancel: CancellationToken) -> anyhow::Result<DemoReport> {
    if !(opts.rate > 0.0 && opts.rate.is_finite()) {
        bail!("--rate must be a positive number, got {}", opts.rate);
    }
    if !(opts.history_rate > 0.0 && opts.history_rate.is_finite()) {
        bail!(
            "--history-rate must be a positive number, got {}",
            opts.history_rate
        );
    }
    let started = Instant::now();
    let until = opts.until_ns.unwrap_or_else(now_ns).div_euclid(NS_PER_MIN) * NS_PER_MIN;
    let window_start = until - i64::from(opts.days) * NS_PER_DAY;
    let from_ns = match opts.resume_after_ns {
        Some(t) => window_start.max((t.div_euclid(NS_PER_MIN) + 1) * NS_PER_MIN),
        None => window_start,
    };
    let mut sender = send::Sender::new(&opts.endpoint, cancel.clone())?;
    let mut history = None;
    let meters = if opts.backfill && from_ns < until {
        info!(from = %rfc3339(from_ns), to = %rfc3339(until), history_rate = opts.history_rate, seed = opts.seed, "demo: backfilling history");
        let h = backfill::History {
            seed: opts.seed,
            from_min: from_ns / NS_PER_MIN,
            to_min: until / NS_PER_MIN,
            peak_per_min: opts.history_rate,
            weight: (opts.rate * 60.0 / opts.history_rate).round().max(1.0) as u64,
            until_ns: until,
        };
        let meters = backfill::run(h, &mut sender, &cancel)
            .await
            .context("demo backfill")?;
        history = Some((from_ns, until));
        meters
    } else {
        info!(resume_after = ?opts.resume_after_ns.map(rfc3339), "demo: no history to backfill");
        meters::Meters::new(opts.seed, until)
    };
    let mut report = report(&sender, started, history, opts.seed);
    if history.is_some() {
        info!(report = %serde_json::to_string(&report)?, "demo: history sent");
    }
    if opts.live && !cancel.is_cancelled() {
        let live_from = until
            .max(opts.resume_after_ns.map_or(i64::MIN, |t| t + 1))
            .max(now_ns() - MAX_CATCH_UP_NS);
        info!(rate = opts.rate, from = %rfc3339(live_from), "demo: sending live traffic");
        let l = live::Live {
            seed: opts.seed,
            peak_per_min: opts.rate * 60.0,
            until_ns: until,
            from_ns: live_from,
        };
        live::run(l, meters, &mut sender, &cancel)
            .await
            .context("demo live traffic")?;
        report = self::report(&sender, started, history, opts.seed);
    }
    Ok(report)
}

fn report(
    sender: &send::Sender,
    started: Instant,
    history: Option<(i64, i64)>,
    seed: u64,
) -> DemoReport {
    let c = &sender.counts;
    let seconds = started.elapsed().as_secs_f64();
    let spans = c.accepted(Signal::Traces);
    DemoReport {
        spans,
        logs: c.accepted(Signal::Logs),
        points: c.accepted(Signal::Metrics),
        rejected: c.rejected.load(std::sync::atomic::Ordering::Relaxed),
        seconds: (seconds * 1000.0).round() / 1000.0,
        spans_per_s: (spans as f64 / seconds.max(1e-9)).round(),
        history_from: history.map(|(f, _)| rfc3339(f)),
        history_to: history.map(|(_, t)| rfc3339(t)),
        incidents: history.map_or_else(Vec::new, |(f, t)| incidents(seed, f, t)),
        unsupported: [Signal::Traces, Signal::Logs, Signal::Metrics]
            .into_iter()
            .filter(|s| !c.supports(*s))
            .map(Signal::name)
            .collect(),
    }
}

/// Asks a Headroom query API (e.g. `http://127.0.0.1:8080`) where demo data ends, with
/// [`RESUME_SQL`]. Retries for up to 30 s while the API is not reachable yet.
pub async fn resume_point(api: &str) -> anyhow::Result<Option<i64>> {
    let url = format!("{}/api/v1/sql", api.trim_end_matches('/'));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()?;
    let body = serde_json::json!({ "sql": RESUME_SQL });
    let deadline = Instant::now() + Duration::from_secs(30);
    let resp = loop {
        match client.post(&url).json(&body).send().await {
            Ok(resp) => break resp,
            Err(e) if e.is_connect() && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => return Err(e).with_context(|| format!("POST {url}")),
        }
    };
    let status = resp.status();
    let v: serde_json::Value = resp.json().await.with_context(|| format!("POST {url}"))?;
    if !status.is_success() {
        bail!("POST {url}: {status}: {v}");
    }
    match &v["rows"][0][0] {
        serde_json::Value::Null => Ok(None),
        t => t
            .as_i64()
            .map(Some)
            .with_context(|| format!("unexpected answer from {url}: {v}")),
    }
}

/// Converts a `--until`-style time (`now`, `now-1d`, RFC 3339, epoch ms) to ns.
pub fn parse_time(value: &str) -> anyhow::Result<i64> {
    headroom_query::time::parse_time(value, now_ns()).map_err(|e| anyhow::anyhow!("{e}"))
}
