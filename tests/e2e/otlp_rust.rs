//! The Rust `opentelemetry-otlp` exporter, over gRPC and HTTP, against the real server;
//! RED figures compared with an exact computation over the same spans.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use opentelemetry::trace::{
    SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_otlp::{WithExportConfig, WithTonicConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanExporter as _, SpanLinks};

use crate::server::Server;

/// One planned span.
#[derive(Clone)]
pub(crate) struct Planned {
    pub service: &'static str,
    pub name: &'static str,
    pub kind: SpanKind,
    pub trace: u128,
    pub id: u64,
    pub parent: u64,
    pub start: SystemTime,
    pub duration: Duration,
    pub error: bool,
}

pub(crate) fn to_span_data(p: &Planned) -> SpanData {
    SpanData {
        span_context: SpanContext::new(
            TraceId::from(p.trace),
            SpanId::from(p.id),
            TraceFlags::SAMPLED,
            false,
            TraceState::default(),
        ),
        parent_span_id: if p.parent == 0 {
            SpanId::INVALID
        } else {
            SpanId::from(p.parent)
        },
        parent_span_is_remote: false,
        span_kind: p.kind.clone(),
        name: p.name.into(),
        start_time: p.start,
        end_time: p.start + p.duration,
        attributes: vec![
            KeyValue::new("feature", "checkout"),
            KeyValue::new("http.status_code", 200),
        ],
        dropped_attributes_count: 0,
        events: SpanEvents::default(),
        links: SpanLinks::default(),
        status: if p.error {
            Status::error("boom")
        } else {
            Status::Unset
        },
        instrumentation_scope: InstrumentationScope::builder("headroom-e2e")
            .with_version("1.0")
            .build(),
    }
}

/// Deterministic xorshift.
pub(crate) struct Rng(pub u64);
impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    /// Log-normal-ish latency in µs between 200 µs and ~2 s: a realistic long tail.
    pub(crate) fn latency(&mut self) -> Duration {
        let u = (self.next() % 1_000_000) as f64 / 1_000_000.0;
        let v = (self.next() % 1_000_000) as f64 / 1_000_000.0;
        Duration::from_micros((200.0 * 10f64.powf(1.5 * u + 2.5 * v * v * v)) as u64)
    }
}

/// A workload: `checkout` SERVER spans with CLIENT children to `payments` (SERVER);
/// `worker` CONSUMER spans; `cron` has only INTERNAL root spans (measured by local roots).
pub(crate) fn workload(seed: u64, traces: usize, base: SystemTime) -> Vec<Planned> {
    let mut rng = Rng(seed);
    let mut out = Vec::new();
    let mut next_id = seed.wrapping_mul(1_000_003) | 1;
    let mut id = || {
        next_id = next_id.wrapping_add(0x9e37_79b9_7f4a_7c15) | 1;
        next_id
    };
    for i in 0..traces {
        let trace = ((seed as u128) << 64) | (i as u128 + 1);
        let start = base + Duration::from_millis((i as u64 * 7) % 240_000);
        match i % 4 {
            0 | 1 => {
                let root = id();
                let d = rng.latency();
                let err = rng.next().is_multiple_of(10);
                out.push(Planned {
                    service: "checkout",
                    name: if i % 2 == 0 {
                        "POST /cart"
                    } else {
                        "GET /cart"
                    },
                    kind: SpanKind::Server,
                    trace,
                    id: root,
                    parent: 0,
                    start,
                    duration: d + Duration::from_millis(2),
                    error: err,
                });
                let client = id();
                out.push(Planned {
                    service: "checkout",
                    name: "charge",
                    kind: SpanKind::Client,
                    trace,
                    id: client,
                    parent: root,
                    start: start + Duration::from_micros(500),
                    duration: d,
                    error: err,
                });
                out.push(Planned {
                    service: "payments",
                    name: "Charge",
                    kind: SpanKind::Server,
                    trace,
                    id: id(),
                    parent: client,
                    start: start + Duration::from_micros(700),
                    duration: d / 2,
                    error: err && rng.next().is_multiple_of(2),
                });
            }
            2 => out.push(Planned {
                service: "worker",
                name: "process order",
                kind: SpanKind::Consumer,
                trace,
                id: id(),
                parent: 0,
                start,
                duration: rng.latency(),
                error: rng.next().is_multiple_of(25),
            }),
            _ => {
                let root = id();
                out.push(Planned {
                    service: "cron",
                    name: "rollup",
                    kind: SpanKind::Internal,
                    trace,
                    id: root,
                    parent: 0,
                    start,
                    duration: rng.latency(),
                    error: rng.next().is_multiple_of(5),
                });
                out.push(Planned {
                    service: "cron",
                    name: "rollup step",
                    kind: SpanKind::Internal,
                    trace,
                    id: id(),
                    parent: root,
                    start,
                    duration: Duration::from_millis(1),
                    error: false,
                });
            }
        }
    }
    out
}

#[derive(Clone, Copy)]
pub(crate) enum Transport {
    Grpc,
    Http,
}

/// Exports with the real exporter, one exporter per service, in batches of 512.
pub(crate) async fn export(server: &Server, transport: Transport, spans: &[Planned]) {
    let mut by_service: BTreeMap<&str, Vec<SpanData>> = BTreeMap::new();
    for p in spans {
        by_service
            .entry(p.service)
            .or_default()
            .push(to_span_data(p));
    }
    for (service, data) in by_service {
        let mut exporter = match transport {
            Transport::Grpc => opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .with_endpoint(&server.grpc)
                .with_compression(opentelemetry_otlp::Compression::Gzip)
                .build(),
            Transport::Http => opentelemetry_otlp::SpanExporter::builder()
                .with_http()
                .with_endpoint(format!("{}/v1/traces", server.otlp_http))
                .build(),
        }
        .expect("build exporter");
        exporter.set_resource(&Resource::builder_empty().with_service_name(service).build());
        for chunk in data.chunks(512) {
            exporter
                .export(chunk.to_vec())
                .await
                .unwrap_or_else(|e| panic!("export to {service} failed: {e}"));
        }
    }
}

/// The exact value at rank floor(q * (n - 1)) of the sorted values.
pub(crate) fn exact_quantile(sorted: &[f64], q: f64) -> f64 {
    sorted[(q * (sorted.len() as f64 - 1.0)) as usize]
}

pub(crate) struct Expected {
    pub requests: u64,
    pub errors: u64,
    pub durations_ms: Vec<f64>,
}

/// Exact RED figures: entry spans (SERVER/CONSUMER), else local roots, per key.
pub(crate) fn expected<K: Ord + Clone>(
    spans: &[Planned],
    key: impl Fn(&Planned) -> K,
) -> BTreeMap<K, Expected> {
    let has_entry: std::collections::HashSet<&str> = spans
        .iter()
        .filter(|p| matches!(p.kind, SpanKind::Server | SpanKind::Consumer))
        .map(|p| p.service)
        .collect();
    let mut out: BTreeMap<K, Expected> = BTreeMap::new();
    for p in spans {
        let counts = if has_entry.contains(p.service) {
            matches!(p.kind, SpanKind::Server | SpanKind::Consumer)
        } else {
            p.parent == 0
        };
        if !counts {
            continue;
        }
        let e = out.entry(key(p)).or_insert(Expected {
            requests: 0,
            errors: 0,
            durations_ms: vec![],
        });
        e.requests += 1;
        e.errors += p.error as u64;
        e.durations_ms.push(p.duration.as_nanos() as f64 / 1e6);
    }
    for e in out.values_mut() {
        e.durations_ms.sort_by(f64::total_cmp);
    }
    out
}

pub(crate) fn assert_red(got: &serde_json::Value, want: &Expected, what: &str, seconds: f64) {
    assert_eq!(
        got["requests"].as_u64(),
        Some(want.requests),
        "{what} requests: {got}"
    );
    assert_eq!(
        got["errors"].as_u64(),
        Some(want.errors),
        "{what} errors: {got}"
    );
    let rate = want.errors as f64 / want.requests as f64;
    assert!(
        (got["error_rate"].as_f64().unwrap_or(-1.0) - rate).abs() < 1e-9,
        "{what} error_rate: {got}"
    );
    let rps = want.requests as f64 / seconds;
    assert!(
        (got["rate_per_s"].as_f64().unwrap_or(-1.0) - rps).abs() < 1e-6 * rps.max(1.0),
        "{what} rate_per_s: {got}"
    );
    for (q, field) in [(0.5, "p50_ms"), (0.95, "p95_ms"), (0.99, "p99_ms")] {
        let exact = exact_quantile(&want.durations_ms, q);
        let ours = got[field]
            .as_f64()
            .unwrap_or_else(|| panic!("{what} {field} missing: {got}"));
        let rel = ((ours - exact) / exact).abs();
        assert!(
            rel <= 0.01,
            "{what} {field}: ours {ours} exact {exact} (rel err {rel:.4})"
        );
    }
}

async fn round_trip(transport: Transport, seed: u64) {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(&dir.path().join("data"), &[]);
    let base = SystemTime::now() - Duration::from_secs(600);
    let spans = workload(seed, 2_000, base);
    export(&server, transport, &spans).await;

    let from = base
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("epoch")
        .as_millis() as u64
        - 1_000;
    let to = from + 3_600_000;
    let seconds = (to - from) as f64 / 1e3;
    let v = server
        .get(&format!("/api/v1/services?from={from}&to={to}"))
        .await;
    let services = v["services"].as_array().expect("services");
    let want = expected(&spans, |p| p.service);
    let names: Vec<&str> = services
        .iter()
        .map(|s| s["service"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(names, want.keys().copied().collect::<Vec<_>>());
    for s in services {
        let name = s["service"].as_str().expect("name");
        assert_red(s, &want[name], name, seconds);
    }

    let want_ops = expected(&spans, |p| (p.service, p.name));
    for service in ["checkout", "cron"] {
        let v = server
            .get(&format!(
                "/api/v1/services/{service}/operations?from={from}&to={to}"
            ))
            .await;
        let ops = v["operations"].as_array().expect("operations");
        let expected_ops: Vec<_> = want_ops.keys().filter(|(s, _)| *s == service).collect();
        assert_eq!(ops.len(), expected_ops.len(), "{service} operations: {v}");
        for op in ops {
            let name = op["operation"].as_str().expect("operation");
            let key = want_ops
                .keys()
                .find(|(s, n)| *s == service && *n == name)
                .unwrap_or_else(|| panic!("unexpected operation {name}"));
            assert_red(op, &want_ops[key], &format!("{service}/{name}"), seconds);
        }
    }

    // The series adds up to the totals.
    let v = server
        .get(&format!(
            "/api/v1/services/checkout/series?from={from}&to={to}&step=5m"
        ))
        .await;
    let points = v["points"].as_array().expect("points");
    assert_eq!(points.len(), 12);
    let total: u64 = points
        .iter()
        .map(|p| p["requests"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(total, want["checkout"].requests);

    // A trace comes back whole, with parent links across services.
    let trace = spans
        .iter()
        .find(|p| p.service == "payments")
        .expect("a payments span")
        .trace;
    let id = format!("{trace:032x}");
    let v = server.get(&format!("/api/v1/traces/{id}")).await;
    let got = v["spans"].as_array().expect("spans");
    assert_eq!(got.len(), 3, "{v}");
    let services: Vec<&str> = got
        .iter()
        .map(|s| s["service_name"].as_str().unwrap_or_default())
        .collect();
    assert!(services.contains(&"payments") && services.contains(&"checkout"));
    assert_eq!(got[0]["parent_span_id"], "");
    assert_eq!(got[0]["attributes"]["feature"], "checkout");
    assert_eq!(got[0]["resource_attributes"]["service.name"], "checkout");
    assert_eq!(got[0]["scope_name"], "headroom-e2e");

    // Search: errors of one operation above a duration.
    let v = server.get(&format!("/api/v1/traces?service=checkout&operation=POST%20/cart&error=true&min_duration_ms=10&from={from}&to={to}&limit=1000")).await;
    let found: std::collections::BTreeSet<String> = v["traces"]
        .as_array()
        .expect("traces")
        .iter()
        .map(|t| t["trace_id"].as_str().unwrap_or_default().to_string())
        .collect();
    let want_found: std::collections::BTreeSet<String> = spans
        .iter()
        .filter(|p| {
            p.service == "checkout"
                && p.name == "POST /cart"
                && p.error
                && p.duration >= Duration::from_millis(10)
        })
        .map(|p| format!("{:032x}", p.trace))
        .collect();
    assert!(!want_found.is_empty());
    assert_eq!(found, want_found);

    // SQL sees the same rows.
    assert_eq!(
        server.sql_i64("SELECT count(*) FROM spans").await,
        spans.len() as i64
    );
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_exporter_grpc_red_matches_exact() {
    round_trip(Transport::Grpc, 11).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_exporter_http_red_matches_exact() {
    round_trip(Transport::Http, 12).await;
}
