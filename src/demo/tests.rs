//! Invariants of the generated telemetry, and the sender against an in-process OTLP server.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::metrics::v1::number_data_point::Value;
use tokio_util::sync::CancellationToken;
use tonic::codec::CompressionEncoding;
use tonic::{Request, Response, Status};

use super::meters::{Interval, Meters};
use super::model::{NS_PER_DAY, NS_PER_MIN, Stream};
use super::records::{Batch, Kind, What};
use super::send::{Export, Sender, Signal};
use super::sim::{Traffic, simulate_minute};
use super::{otlp, rfc3339};

/// 2026-11-02, a Monday with an error burst and a latency regression for seed 7.
const DAY: i64 = 20_759;

fn minutes(seed: u64, from: i64, to: i64) -> Batch {
    let mut batch = Batch::default();
    let mut versions = super::model::Versions::new(seed);
    let traffic = Traffic {
        seed,
        stream: Stream::Minute,
        peak_per_min: 40.0,
        until_ns: (DAY + 1) * NS_PER_DAY,
    };
    for m in from..to {
        simulate_minute(&traffic, m, &mut versions, &mut batch);
    }
    batch
}

#[test]
fn traces_are_well_formed() {
    let first = DAY * 1440 + 12 * 60;
    let batch = minutes(7, first, first + 60);
    assert!(batch.traces.len() > 500, "{}", batch.traces.len());
    for t in &batch.traces {
        let spans = &batch.spans[t.spans.clone()];
        let ids: HashSet<u64> = spans.iter().map(|s| s.span_id).collect();
        assert_eq!(ids.len(), spans.len(), "span ids are unique");
        let roots: Vec<_> = spans.iter().filter(|s| s.parent == 0).collect();
        assert_eq!(roots.len(), 1);
        assert!(matches!(
            roots[0].what,
            What::Server {
                feature: Some(_),
                ..
            }
        ));
        let by_id: HashMap<u64, _> = spans.iter().map(|s| (s.span_id, s)).collect();
        for s in spans.iter().filter(|s| s.parent != 0) {
            let parent = by_id[&s.parent];
            assert!(
                parent.start <= s.start && s.end <= parent.end,
                "child within parent"
            );
            if s.failure.is_some() {
                assert!(parent.failure.is_some(), "errors propagate to the parent");
            }
            if s.kind == Kind::Server {
                assert_eq!(parent.kind, Kind::Client);
            }
        }
        for l in &batch.logs[t.logs.clone()] {
            assert!(
                ids.contains(&l.span_id),
                "logs point at a span of their trace"
            );
        }
    }
}

#[test]
fn generation_is_deterministic_per_minute() {
    let first = DAY * 1440 + 600;
    let whole = minutes(42, first, first + 10);
    let mut parts = minutes(42, first, first + 4);
    let rest = minutes(42, first + 4, first + 10);
    parts.spans.extend(rest.spans);
    let key = |b: &Batch| -> Vec<(u128, u64, i64, i64)> {
        b.spans
            .iter()
            .map(|s| (s.trace_id, s.span_id, s.start, s.end))
            .collect()
    };
    assert_eq!(key(&whole), key(&parts));
    assert_ne!(key(&whole), key(&minutes(43, first, first + 10)));
    assert_eq!(rfc3339(DAY * NS_PER_DAY), "2026-11-02T00:00:00Z");
}

#[test]
fn metrics_are_consistent_and_reset_at_deploys() {
    let mut meters = Meters::new(7, DAY * NS_PER_DAY);
    let mut cpu: HashMap<String, (u64, f64)> = HashMap::new();
    let mut resets = 0;
    let mut names = HashSet::new();
    for i in 0..24 * 12 {
        let from = DAY * 1440 + i * 5;
        let batch = minutes(7, from, from + 5);
        let mut iv = Interval::new(from * NS_PER_MIN, (from + 5) * NS_PER_MIN);
        iv.add_spans(&batch.spans, 10);
        for (svc, _, metrics) in meters.record(&iv) {
            for m in metrics {
                names.insert(m.name.clone());
                match m.data {
                    Some(Data::Sum(s)) if m.name == "process.cpu.time" => {
                        let p = &s.data_points[0];
                        let v = match p.value {
                            Some(Value::AsDouble(v)) => v,
                            _ => panic!("double"),
                        };
                        let prev = cpu.insert(svc.name().into(), (p.start_time_unix_nano, v));
                        if let Some((start, before)) = prev {
                            if start == p.start_time_unix_nano {
                                assert!(v > before, "cumulative sums grow");
                            } else {
                                resets += 1;
                            }
                        }
                    }
                    Some(Data::Histogram(h)) => {
                        for p in h.data_points {
                            assert_eq!(p.bucket_counts.iter().sum::<u64>(), p.count);
                            assert_eq!(p.bucket_counts.len(), p.explicit_bounds.len() + 1);
                        }
                    }
                    Some(Data::ExponentialHistogram(h)) => {
                        for p in h.data_points {
                            let b = p.positive.expect("positive buckets");
                            assert_eq!(b.bucket_counts.iter().sum::<u64>(), p.count);
                            let base = 2f64.powf(2f64.powi(-p.scale));
                            let max = p.max.expect("max");
                            let top = b.offset + b.bucket_counts.len() as i32;
                            assert!(max <= base.powi(top) && max > base.powi(top - 1));
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    assert!(resets >= 2, "deploys restart services: {resets}");
    let expected = [
        "process.cpu.time",
        "process.memory.usage",
        "http.server.request.duration",
        "db.client.operation.duration",
        "shop.orders",
    ];
    assert!(expected.iter().all(|n| names.contains(*n)), "{names:?}");
}

/// Refuses the first `busy` trace exports, rejects one span of every later one; serves
/// metrics; has no logs service (UNIMPLEMENTED).
#[derive(Default)]
struct Counters {
    busy: AtomicU64,
    spans: AtomicU64,
    points: AtomicU64,
}

#[derive(Clone, Default)]
struct Fake(Arc<Counters>);

#[tonic::async_trait]
impl TraceService for Fake {
    async fn export(
        &self,
        r: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        if self.0.busy.load(Ordering::SeqCst) > 0 {
            self.0.busy.fetch_sub(1, Ordering::SeqCst);
            return Err(Status::resource_exhausted("full"));
        }
        let n: usize = r
            .get_ref()
            .resource_spans
            .iter()
            .flat_map(|r| &r.scope_spans)
            .map(|s| s.spans.len())
            .sum();
        self.0.spans.fetch_add(n as u64, Ordering::SeqCst);
        Ok(Response::new(ExportTraceServiceResponse {
            partial_success: Some(ExportTracePartialSuccess {
                rejected_spans: 1,
                error_message: "one bad span".into(),
            }),
        }))
    }
}

#[tonic::async_trait]
impl MetricsService for Fake {
    async fn export(
        &self,
        r: Request<ExportMetricsServiceRequest>,
    ) -> Result<Response<ExportMetricsServiceResponse>, Status> {
        let ms = r
            .get_ref()
            .resource_metrics
            .iter()
            .flat_map(|r| &r.scope_metrics);
        let n = ms
            .map(|s| super::meters::count_points(&s.metrics))
            .sum::<u64>();
        self.0.points.fetch_add(n, Ordering::SeqCst);
        Ok(Response::new(ExportMetricsServiceResponse::default()))
    }
}

#[tokio::test]
async fn sender_retries_counts_rejects_and_skips_unimplemented_signals() {
    let fake = Fake::default();
    fake.0.busy.store(3, Ordering::SeqCst);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let stop = CancellationToken::new();
    let server = tonic::transport::Server::builder()
        .add_service(
            TraceServiceServer::new(fake.clone()).accept_compressed(CompressionEncoding::Gzip),
        )
        .add_service(
            MetricsServiceServer::new(fake.clone()).accept_compressed(CompressionEncoding::Gzip),
        )
        .serve_with_incoming_shutdown(
            tokio_stream::wrappers::TcpListenerStream::new(listener),
            stop.clone().cancelled_owned(),
        );
    let server = tokio::spawn(server);

    let first = DAY * 1440 + 600;
    let batch = minutes(7, first, first + 10);
    let mut iv = Interval::new(first * NS_PER_MIN, (first + 10) * NS_PER_MIN);
    iv.add_spans(&batch.spans, 1);
    let metrics = Meters::new(7, iv.start).record(&iv);
    let points: u64 = metrics
        .iter()
        .map(|(_, _, m)| super::meters::count_points(m))
        .sum();

    let mut sender =
        Sender::new(&format!("http://{addr}"), CancellationToken::new()).expect("sender");
    let halves = batch.spans.chunks(batch.spans.len() / 2 + 1);
    for part in halves {
        sender
            .send(Export::Traces(otlp::traces(part), part.len() as u64))
            .await
            .expect("send");
    }
    sender
        .send(Export::Logs(
            otlp::logs(&batch.logs),
            batch.logs.len() as u64,
        ))
        .await
        .expect("send");
    sender
        .send(Export::Metrics(otlp::metrics(metrics), points))
        .await
        .expect("send");
    sender.flush().await.expect("flush");

    let n = batch.spans.len() as u64;
    assert_eq!(
        fake.0.spans.load(Ordering::SeqCst),
        n,
        "every span delivered once"
    );
    assert_eq!(sender.counts.accepted(Signal::Traces), n - 2);
    assert_eq!(sender.counts.rejected.load(Ordering::SeqCst), 2);
    assert!(!sender.counts.supports(Signal::Logs));
    assert_eq!(sender.counts.accepted(Signal::Logs), 0);
    assert_eq!(fake.0.points.load(Ordering::SeqCst), points);
    assert_eq!(sender.counts.accepted(Signal::Metrics), points);
    stop.cancel();
    server.await.expect("join").expect("server");
}
