//! History: simulated minutes from the start of the gap to `--until`, sent in time order.
//!
//! Chunks of [`CHUNK_MINUTES`] are generated on the blocking pool, two at a time; their
//! metric intervals are folded into the cumulative meters in order; their requests go to
//! the sender, which keeps a few in flight.

use std::sync::Arc;

use futures::StreamExt;
use tokio_util::sync::CancellationToken;

use super::meters::{Interval, Meters, count_points};
use super::model::NS_PER_MIN;
use super::model::{Stream, Versions};
use super::otlp;
use super::records::Batch;
use super::send::{Counts, Export, MAX_ITEMS_PER_REQUEST, Sender, Signal};
use super::sim::{Traffic, simulate_minute};

/// Simulated minutes per chunk: a multiple of the metric interval.
const CHUNK_MINUTES: i64 = 30;
/// Minutes per metric interval in history.
const INTERVAL_MINUTES: i64 = 5;
/// Chunks generated ahead of sending, in parallel.
const GENERATE_AHEAD: usize = 2;

/// What to generate.
#[derive(Debug, Clone, Copy)]
pub(crate) struct History {
    pub seed: u64,
    /// First and end minute (exclusive), since the epoch.
    pub from_min: i64,
    pub to_min: i64,
    /// Sampled traces per minute at the weekly peak.
    pub peak_per_min: f64,
    /// Real requests each sampled trace stands for (scales the metrics).
    pub weight: u64,
    pub until_ns: i64,
}

/// A generated chunk: requests for spans and logs, and metric intervals to fold in.
struct Chunk {
    exports: Vec<Export>,
    intervals: Vec<Interval>,
}

/// Sends the history; returns early (without error) when cancelled. Returns the meters
/// for live traffic to continue.
pub(crate) async fn run(
    h: History,
    sender: &mut Sender,
    cancel: &CancellationToken,
) -> anyhow::Result<Meters> {
    let mut bounds = Vec::new();
    let mut a = h.from_min;
    while a < h.to_min {
        let b = ((a.div_euclid(CHUNK_MINUTES) + 1) * CHUNK_MINUTES).min(h.to_min);
        bounds.push((a, b));
        a = b;
    }
    let counts = Arc::clone(&sender.counts);
    let mut chunks = futures::stream::iter(bounds)
        .map(|(a, b)| {
            let counts = Arc::clone(&counts);
            tokio::task::spawn_blocking(move || generate(h, a, b, &counts))
        })
        .buffered(GENERATE_AHEAD);
    let mut meters = Meters::new(h.seed, h.from_min * NS_PER_MIN);
    loop {
        let chunk = tokio::select! {
            c = chunks.next() => c,
            _ = cancel.cancelled() => None,
        };
        // When cancelled, chunks still being generated finish on their own (pure CPU work,
        // well under a second) and are dropped.
        let Some(chunk) = chunk else { break };
        let chunk = chunk?;
        for export in chunk.exports {
            sender.send(export).await?;
        }
        if sender.counts.supports(Signal::Metrics) {
            let metrics: Vec<_> = chunk
                .intervals
                .iter()
                .flat_map(|iv| meters.record(iv))
                .collect();
            let n = metrics.iter().map(|(_, _, m)| count_points(m)).sum();
            sender
                .send(Export::Metrics(otlp::metrics(metrics), n))
                .await?;
        }
    }
    sender.flush().await?;
    Ok(meters)
}

/// Simulates minutes `[a, b)` and builds their requests (CPU work: blocking pool).
fn generate(h: History, a: i64, b: i64, counts: &Counts) -> Chunk {
    let mut batch = Batch::default();
    let mut versions = Versions::new(h.seed);
    let traffic = Traffic {
        seed: h.seed,
        stream: Stream::Minute,
        peak_per_min: h.peak_per_min,
        until_ns: h.until_ns,
    };
    let mut intervals = Vec::new();
    for minute in a..b {
        let first = batch.spans.len();
        simulate_minute(&traffic, minute, &mut versions, &mut batch);
        if minute == a || minute.rem_euclid(INTERVAL_MINUTES) == 0 {
            let end = (minute - minute.rem_euclid(INTERVAL_MINUTES) + INTERVAL_MINUTES).min(b);
            intervals.push(Interval::new(minute * NS_PER_MIN, end * NS_PER_MIN));
        }
        if let Some(iv) = intervals.last_mut() {
            iv.add_spans(&batch.spans[first..], h.weight);
        }
    }
    let mut exports: Vec<Export> = batch
        .spans
        .chunks(MAX_ITEMS_PER_REQUEST)
        .map(|s| Export::Traces(otlp::traces(s), s.len() as u64))
        .collect();
    if counts.supports(Signal::Logs) {
        exports.extend(
            batch
                .logs
                .chunks(MAX_ITEMS_PER_REQUEST)
                .map(|l| Export::Logs(otlp::logs(l), l.len() as u64)),
        );
    }
    Chunk { exports, intervals }
}
