//! Live traffic: requests at `--rate` (scaled by the traffic shape), each trace sent on the
//! first tick after its root span ended (ticks every second), metrics every 10 s.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio_util::sync::CancellationToken;

use super::meters::{Interval, Meters, count_points};
use super::model::{NS_PER_MIN, NS_PER_S, Stream, Versions};
use super::otlp;
use super::records::{Batch, LogRec, SpanRec};
use super::send::{Export, MAX_ITEMS_PER_REQUEST, Sender, Signal};
use super::sim::{Traffic, simulate_minute};

const TICK: Duration = Duration::from_secs(1);
const METRICS_EVERY_NS: i64 = 10 * NS_PER_S;

fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}

/// What to generate.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Live {
    pub seed: u64,
    /// Traces per minute at the weekly peak.
    pub peak_per_min: f64,
    pub until_ns: i64,
    /// Live traffic starts here (the end of history, or a little before now).
    pub from_ns: i64,
}

/// A generated trace waiting for its root span to end.
struct Pending {
    spans: Vec<SpanRec>,
    logs: Vec<LogRec>,
    end: i64,
}

/// Runs until `cancel`; `meters` continue the history's cumulative series.
pub(crate) async fn run(
    l: Live,
    mut meters: Meters,
    sender: &mut Sender,
    cancel: &CancellationToken,
) -> anyhow::Result<()> {
    let mut pending: Vec<Pending> = Vec::new();
    let mut next_minute = l.from_ns.div_euclid(NS_PER_MIN);
    let mut versions = Versions::new(l.seed);
    let mut interval = Interval::new(l.from_ns, l.from_ns + METRICS_EVERY_NS);
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = cancel.cancelled() => break,
        }
        let now = now_ns();
        while next_minute <= now.div_euclid(NS_PER_MIN) {
            let (minute, from) = (next_minute, l.from_ns);
            let (batch, v) = tokio::task::spawn_blocking(move || {
                let mut b = Batch::default();
                let traffic = Traffic {
                    seed: l.seed,
                    stream: Stream::Live,
                    peak_per_min: l.peak_per_min,
                    until_ns: l.until_ns,
                };
                simulate_minute(&traffic, minute, &mut versions, &mut b);
                (b, versions)
            })
            .await?;
            versions = v;
            pending.extend(
                batch
                    .traces
                    .iter()
                    .filter(|t| t.start >= from)
                    .map(|t| Pending {
                        spans: batch.spans[t.spans.clone()].to_vec(),
                        logs: batch.logs[t.logs.clone()].to_vec(),
                        end: t.end,
                    }),
            );
            next_minute += 1;
        }
        let mut ready: Vec<Pending> = pending.extract_if(.., |p| p.end <= now).collect();
        ready.sort_by_key(|p| p.end);
        for p in &ready {
            while p.end >= interval.end {
                send_metrics(&mut meters, &mut interval, sender).await?;
            }
            interval.add_spans(&p.spans, 1);
        }
        send_traces(&ready, sender).await?;
        while now >= interval.end {
            send_metrics(&mut meters, &mut interval, sender).await?;
        }
    }
    sender.flush().await
}

async fn send_traces(ready: &[Pending], sender: &mut Sender) -> anyhow::Result<()> {
    let spans: Vec<&SpanRec> = ready.iter().flat_map(|p| &p.spans).collect();
    for part in spans.chunks(MAX_ITEMS_PER_REQUEST) {
        let request = otlp::traces(part.iter().copied());
        sender
            .send(Export::Traces(request, part.len() as u64))
            .await?;
    }
    if sender.counts.supports(Signal::Logs) {
        let logs: Vec<&LogRec> = ready.iter().flat_map(|p| &p.logs).collect();
        for part in logs.chunks(MAX_ITEMS_PER_REQUEST) {
            let request = otlp::logs(part.iter().copied());
            sender
                .send(Export::Logs(request, part.len() as u64))
                .await?;
        }
    }
    Ok(())
}

/// Sends the metrics of `interval` and starts the next one.
async fn send_metrics(
    meters: &mut Meters,
    interval: &mut Interval,
    sender: &mut Sender,
) -> anyhow::Result<()> {
    let next = Interval::new(interval.end, interval.end + METRICS_EVERY_NS);
    let done = std::mem::replace(interval, next);
    let metrics = meters.record(&done);
    if sender.counts.supports(Signal::Metrics) {
        let n = metrics.iter().map(|(_, _, m)| count_points(m)).sum();
        sender
            .send(Export::Metrics(otlp::metrics(metrics), n))
            .await?;
    }
    Ok(())
}
