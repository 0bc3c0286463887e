//! The OpenTelemetry Python SDK (gRPC and HTTP exporters) against the real server.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use crate::otlp_rust::exact_quantile;
use crate::server::Server;

fn python() -> String {
    if let Ok(p) = std::env::var("HEADROOM_PYTHON") {
        return p;
    }
    let venv = concat!(env!("CARGO_MANIFEST_DIR"), "/.venv/bin/python");
    assert!(
        std::path::Path::new(venv).exists(),
        "the OpenTelemetry Python SDK is needed: run `./headroom.sh test` (it creates .venv) or set HEADROOM_PYTHON"
    );
    venv.to_string()
}

fn send(endpoint: &str, protocol: &str, plan: &Value) -> Value {
    run_script(
        "send_spans.py",
        &["--endpoint", endpoint, "--protocol", protocol],
        plan,
    )
}

/// Runs `tests/e2e/python/<script>` with `args`, the plan on stdin; returns its JSON report.
pub(crate) fn run_script(script: &str, args: &[&str], plan: &Value) -> Value {
    let script = format!("{}/tests/e2e/python/{script}", env!("CARGO_MANIFEST_DIR"));
    let mut child = Command::new(python())
        .arg(&script)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run python");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(plan.to_string().as_bytes())
        .expect("write plan");
    let out = child.wait_with_output().expect("python output");
    assert!(
        out.status.success(),
        "{script} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json report")
}

fn plan(start_ns: u128, n: usize, service: &str) -> Value {
    let spans: Vec<Value> = (0..n)
        .map(|i| {
            let d = 1_000_000 + (i as u64 * 7_919 % 400) * 250_000 + if i % 50 == 0 { 900_000_000 } else { 0 };
            json!({
                "service": service, "name": if i % 3 == 0 { "GET /items" } else { "POST /items" }, "kind": "SERVER",
                "start_ns": start_ns + i as u128 * 1_000_000, "duration_ns": d, "error": i % 9 == 0,
                "attributes": {"feature": "browse", "i": i},
                "children": [{"service": "db", "name": "SELECT items", "kind": "CLIENT", "start_ns": start_ns + i as u128 * 1_000_000 + 100, "duration_ns": d / 2}]
            })
        })
        .collect();
    json!({ "spans": spans })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_grpc_and_http_round_trip() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(&dir.path().join("data"), &[]);
    let start = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("epoch")
        .as_nanos()
        - 300_000_000_000;
    let mut sent = Vec::new();
    for (protocol, endpoint, service) in [
        ("grpc", server.grpc.clone(), "py-grpc"),
        ("http", server.otlp_http.clone(), "py-http"),
    ] {
        let out = send(&endpoint, protocol, &plan(start, 700, service));
        sent.extend(out["spans"].as_array().expect("spans").iter().cloned());
    }
    assert_eq!(sent.len(), 2 * 700 * 2);

    // Every span the SDK reported sending is stored with its ids, parent, kind and status.
    let v = server.sql_i64("SELECT count(*) FROM spans").await;
    assert_eq!(v, sent.len() as i64);
    let one = sent
        .iter()
        .find(|s| s["parent_span_id"] != "")
        .expect("a child span");
    let trace = server
        .get(&format!(
            "/api/v1/traces/{}",
            one["trace_id"].as_str().expect("id")
        ))
        .await;
    let spans = trace["spans"].as_array().expect("spans");
    assert_eq!(spans.len(), 2);
    let child = spans
        .iter()
        .find(|s| s["span_id"] == one["span_id"])
        .expect("child stored");
    assert_eq!(child["parent_span_id"], one["parent_span_id"]);
    assert_eq!(child["span_kind"], "CLIENT");
    assert_eq!(child["service_name"], "db");
    let root = spans
        .iter()
        .find(|s| s["parent_span_id"] == "")
        .expect("root");
    assert_eq!(root["attributes"]["feature"], "browse");
    assert_eq!(
        root["resource_attributes"]["telemetry.sdk.language"],
        "python"
    );

    // RED per service against an exact computation of what the SDK sent.
    let from_ms = start / 1_000_000 - 1_000;
    let to_ms = from_ms + 3_600_000;
    let services = server
        .get(&format!("/api/v1/services?from={from_ms}&to={to_ms}"))
        .await;
    let mut want: BTreeMap<&str, (u64, u64, Vec<f64>)> = BTreeMap::new();
    for s in &sent {
        if s["kind"] == "SERVER" {
            let e = want
                .entry(s["service"].as_str().expect("service"))
                .or_default();
            e.0 += 1;
            e.1 += s["error"].as_bool().unwrap_or(false) as u64;
            e.2.push(s["duration_ns"].as_f64().expect("duration") / 1e6);
        }
    }
    for s in services["services"].as_array().expect("services") {
        let name = s["service"].as_str().expect("name");
        if name == "db" {
            // Only CLIENT spans with local parents: measured by local roots, of which it has none.
            assert_eq!(s["requests"], 0, "{s}");
            continue;
        }
        let (n, errors, mut d) = want
            .remove(name)
            .unwrap_or_else(|| panic!("unexpected service {name}"));
        d.sort_by(f64::total_cmp);
        assert_eq!(s["requests"].as_u64(), Some(n), "{s}");
        assert_eq!(s["errors"].as_u64(), Some(errors), "{s}");
        for (q, f) in [(0.5, "p50_ms"), (0.95, "p95_ms"), (0.99, "p99_ms")] {
            let exact = exact_quantile(&d, q);
            let ours = s[f].as_f64().expect("percentile");
            assert!(
                ((ours - exact) / exact).abs() <= 0.01,
                "{name} {f}: ours {ours} exact {exact}"
            );
        }
    }
    assert!(
        want.is_empty(),
        "services missing from the API: {:?}",
        want.keys()
    );
    server.stop();
}
