//! Sends OTLP export requests over gRPC with the generated OTLP clients: gzip, a few
//! requests in flight, retries with backoff while the server pushes back, rejected counts
//! from partial success logged and reported. Nothing is dropped silently: a request that
//! cannot be delivered fails the run, or is logged when the demo is stopped.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tonic::codec::CompressionEncoding;
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Status};
use tracing::{debug, warn};

/// Export requests in flight at once.
const MAX_IN_FLIGHT: usize = 4;
/// How long one request is retried while the server pushes back or is unreachable.
const RETRY_FOR: Duration = Duration::from_secs(120);
/// Most spans or log records per export request (well under the server's 16 MiB limit).
pub(crate) const MAX_ITEMS_PER_REQUEST: usize = 8_192;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// One export request and the number of items (spans, log records, data points) in it.
#[derive(Debug)]
pub(crate) enum Export {
    Traces(ExportTraceServiceRequest, u64),
    Logs(ExportLogsServiceRequest, u64),
    Metrics(ExportMetricsServiceRequest, u64),
}

impl Export {
    fn signal(&self) -> Signal {
        match self {
            Export::Traces(..) => Signal::Traces,
            Export::Logs(..) => Signal::Logs,
            Export::Metrics(..) => Signal::Metrics,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signal {
    Traces,
    Logs,
    Metrics,
}

impl Signal {
    pub(crate) fn name(self) -> &'static str {
        ["traces", "logs", "metrics"][self as usize]
    }
}

/// Counts shared by the sender and its tasks.
#[derive(Debug, Default)]
pub(crate) struct Counts {
    /// Accepted items per signal.
    pub accepted: [AtomicU64; 3],
    /// Items the server refused through partial success.
    pub rejected: AtomicU64,
    /// Signals the server does not implement.
    unsupported: [AtomicBool; 3],
}

impl Counts {
    pub(crate) fn supports(&self, signal: Signal) -> bool {
        !self.unsupported[signal as usize].load(Ordering::Relaxed)
    }

    pub(crate) fn accepted(&self, signal: Signal) -> u64 {
        self.accepted[signal as usize].load(Ordering::Relaxed)
    }
}

#[derive(Debug, Clone)]
struct Clients {
    traces: TraceServiceClient<Channel>,
    logs: LogsServiceClient<Channel>,
    metrics: MetricsServiceClient<Channel>,
}

/// Sends requests in the order given, at most [`MAX_IN_FLIGHT`] at a time.
#[derive(Debug)]
pub(crate) struct Sender {
    clients: Clients,
    permits: Arc<Semaphore>,
    tasks: JoinSet<anyhow::Result<()>>,
    pub counts: Arc<Counts>,
    cancel: CancellationToken,
}

impl Sender {
    /// A sender to an OTLP/gRPC endpoint such as `http://127.0.0.1:4317`; connects lazily
    /// (and reconnects) as requests go out.
    pub(crate) fn new(endpoint: &str, cancel: CancellationToken) -> anyhow::Result<Self> {
        let channel = Endpoint::from_shared(endpoint.to_string())
            .with_context(|| format!("invalid OTLP endpoint {endpoint:?}"))?
            .connect_timeout(Duration::from_secs(5))
            .connect_lazy();
        let gzip = CompressionEncoding::Gzip;
        Ok(Self {
            clients: Clients {
                traces: TraceServiceClient::new(channel.clone())
                    .send_compressed(gzip)
                    .accept_compressed(gzip),
                logs: LogsServiceClient::new(channel.clone())
                    .send_compressed(gzip)
                    .accept_compressed(gzip),
                metrics: MetricsServiceClient::new(channel)
                    .send_compressed(gzip)
                    .accept_compressed(gzip),
            },
            permits: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
            tasks: JoinSet::new(),
            counts: Arc::new(Counts::default()),
            cancel,
        })
    }

    /// Starts sending `export` once a slot is free; fails if an earlier request failed.
    pub(crate) async fn send(&mut self, export: Export) -> anyhow::Result<()> {
        while let Some(done) = self.tasks.try_join_next() {
            done??;
        }
        if !self.counts.supports(export.signal()) {
            return Ok(());
        }
        let permit = Arc::clone(&self.permits).acquire_owned().await?;
        let (clients, counts) = (self.clients.clone(), Arc::clone(&self.counts));
        let cancel = self.cancel.clone();
        self.tasks.spawn(async move {
            let _permit = permit;
            deliver(clients, export, &counts, &cancel).await
        });
        Ok(())
    }

    /// Waits for every request sent so far.
    pub(crate) async fn flush(&mut self) -> anyhow::Result<()> {
        while let Some(done) = self.tasks.join_next().await {
            done??;
        }
        Ok(())
    }
}

fn retryable(code: Code) -> bool {
    // OTLP's retryable codes, plus RESOURCE_EXHAUSTED: Headroom answers it when full.
    matches!(
        code,
        Code::Unavailable
            | Code::ResourceExhausted
            | Code::DeadlineExceeded
            | Code::Aborted
            | Code::OutOfRange
            | Code::DataLoss
    )
}

/// One export, retried with backoff (50 ms doubling to 5 s) for up to [`RETRY_FOR`].
async fn deliver(
    clients: Clients,
    export: Export,
    counts: &Counts,
    cancel: &CancellationToken,
) -> anyhow::Result<()> {
    let signal = export.signal();
    let started = Instant::now();
    let mut delay = Duration::from_millis(50);
    loop {
        match attempt(&clients, &export).await {
            Ok((items, rejected, message)) => {
                if rejected > 0 {
                    warn!(signal = signal.name(), rejected, %message, "server rejected part of a demo export");
                    counts.rejected.fetch_add(rejected, Ordering::Relaxed);
                }
                let accepted = items.saturating_sub(rejected);
                counts.accepted[signal as usize].fetch_add(accepted, Ordering::Relaxed);
                return Ok(());
            }
            Err(status) if status.code() == Code::Unimplemented && signal != Signal::Traces => {
                if !counts.unsupported[signal as usize].swap(true, Ordering::Relaxed) {
                    warn!(
                        signal = signal.name(),
                        "the server does not accept this signal; the demo skips it"
                    );
                }
                return Ok(());
            }
            Err(status) if retryable(status.code()) && started.elapsed() < RETRY_FOR => {
                debug!(signal = signal.name(), code = ?status.code(), ?delay, "demo export refused; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = cancel.cancelled() => {
                        warn!(signal = signal.name(), "demo stopped before the server accepted an export; it is not sent");
                        return Ok(());
                    }
                }
                delay = (delay * 2).min(Duration::from_secs(5));
            }
            Err(status) => {
                return Err(anyhow::anyhow!(
                    "exporting {} failed: {}: {}",
                    signal.name(),
                    status.code(),
                    status.message()
                ));
            }
        }
    }
}

/// Sends once; returns (items, rejected, partial-success message).
async fn attempt(clients: &Clients, export: &Export) -> Result<(u64, u64, String), Status> {
    fn request<T>(message: T) -> tonic::Request<T> {
        let mut r = tonic::Request::new(message);
        r.set_timeout(REQUEST_TIMEOUT);
        r
    }
    let rejected = |n: i64| u64::try_from(n).unwrap_or(0);
    match export {
        Export::Traces(req, n) => {
            let resp = clients.traces.clone().export(request(req.clone())).await?;
            let p = resp.into_inner().partial_success.unwrap_or_default();
            Ok((*n, rejected(p.rejected_spans), p.error_message))
        }
        Export::Logs(req, n) => {
            let resp = clients.logs.clone().export(request(req.clone())).await?;
            let p = resp.into_inner().partial_success.unwrap_or_default();
            Ok((*n, rejected(p.rejected_log_records), p.error_message))
        }
        Export::Metrics(req, n) => {
            let resp = clients.metrics.clone().export(request(req.clone())).await?;
            let p = resp.into_inner().partial_success.unwrap_or_default();
            Ok((*n, rejected(p.rejected_data_points), p.error_message))
        }
    }
}
