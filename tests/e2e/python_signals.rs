//! Logs and metrics from the OpenTelemetry Python SDK (gRPC with cumulative temporality,
//! HTTP with delta) against the real server, compared with what the script reports it sent.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use crate::otlp_rust::exact_quantile;
use crate::python_sdk::run_script;
use crate::server::Server;

fn plan(service: &str, now_ns: u128) -> Value {
    let severities = ["INFO", "INFO", "WARN", "ERROR", "DEBUG2"];
    let logs: Vec<Value> = (0..250u128)
        .map(|i| {
            let traced = i % 5 == 0;
            json!({
                "body": format!("order {i} {}", if i % 7 == 0 { "FAILED: card declined" } else { "placed" }),
                "severity": severities[i as usize % severities.len()],
                "trace_id": if traced { format!("{:032x}", 0xabc0_0000 + i) } else { String::new() },
                "span_id": if traced { format!("{:016x}", 0x5000 + i) } else { String::new() },
                "time_ns": now_ns - 120_000_000_000 + i * 1_000_000,
                "attributes": {"order.id": i as u64, "vip": i % 2 == 0},
            })
        })
        .collect();
    let mut x = 7u64;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % 1_000_000) as f64 / 1_000_000.0
    };
    let latencies: Vec<Value> = (0..300)
        .map(|i| {
            let v = 0.002 + next().powi(3) * 3.0;
            json!([{"route": if i % 3 == 0 { "/pay" } else { "/cart" }}, v])
        })
        .collect();
    let sizes: Vec<Value> = (0..200)
        .map(|_| json!([{}, 10.0 + next() * 5000.0]))
        .collect();
    let adds: Vec<Value> = (0..90)
        .map(|i| json!([{"route": if i % 2 == 0 { "/pay" } else { "/cart" }}, 1 + i % 4]))
        .collect();
    json!({
        "service": service,
        "logs": logs,
        "metrics": {
            "counter": {"name": "py.requests", "unit": "1", "adds": adds},
            "histogram": {"name": "py.latency", "unit": "s",
                          "bounds": [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5], "records": latencies},
            "gauge": {"name": "py.queue", "unit": "1", "sets": [[{}, 4.0], [{}, 9.5], [{}, 2.0]]},
            "updown": {"name": "py.inflight", "unit": "1", "adds": [[{}, 5], [{}, -2], [{}, 4]]},
            "exponential": {"name": "py.size", "unit": "By", "records": sizes},
            "collections": 3,
        },
    })
}

async fn one_bucket(server: &Server, name: &str, q: &str) -> Value {
    let v = server
        .get(&format!("/api/v1/metrics/{name}/series?{q}"))
        .await;
    v["series"].clone()
}

fn value(series: &Value) -> f64 {
    assert_eq!(series.as_array().map(Vec::len), Some(1), "{series}");
    series[0]["points"][0][1].as_f64().unwrap_or(f64::NAN)
}

fn close(a: f64, b: f64, what: &str) {
    assert!(
        (a - b).abs() <= 1e-9 * b.abs().max(1.0),
        "{what}: {a} vs {b}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_logs_and_metrics_round_trip() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(&dir.path().join("data"), &[]);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("epoch")
        .as_nanos();
    let (from, to) = (now / 1_000_000 - 600_000, now / 1_000_000 + 600_000);
    for (protocol, endpoint, temporality, service) in [
        ("grpc", server.grpc.clone(), "cumulative", "py-grpc"),
        ("http", server.otlp_http.clone(), "delta", "py-http"),
    ] {
        let report = run_script(
            "send_logs_metrics.py",
            &[
                "--endpoint",
                &endpoint,
                "--protocol",
                protocol,
                "--temporality",
                temporality,
            ],
            &plan(service, now),
        );
        let expected = &report["expected"];

        // Logs: every record exactly, through the paged API.
        let page = server
            .get(&format!(
                "/api/v1/logs?service={service}&from={from}&to={to}&limit=1000"
            ))
            .await;
        let stored = page["logs"].as_array().expect("logs");
        // The fields that identify a record, as the API returns them and as the script sent them.
        let keys = |logs: &[Value]| -> Vec<String> {
            let mut keys: Vec<String> = logs
                .iter()
                .map(|l| {
                    [
                        "body",
                        "severity_number",
                        "severity_text",
                        "trace_id",
                        "span_id",
                    ]
                    .map(|f| l[f].to_string())
                    .join("|")
                })
                .collect();
            keys.sort();
            keys
        };
        let (got, want) = (
            keys(stored),
            keys(expected["logs"].as_array().expect("expected logs")),
        );
        assert_eq!(got, want, "{service}: logs");
        assert!(
            stored.iter().any(|l| l["attributes"]["vip"] == "true"),
            "attributes kept"
        );
        let failed = server
            .get(&format!("/api/v1/logs?service={service}&from={from}&to={to}&q=failed&severity_min=warn&limit=1000"))
            .await;
        let want_failed = expected["logs"]
            .as_array()
            .expect("logs")
            .iter()
            .filter(|l| {
                l["body"].as_str().is_some_and(|b| b.contains("FAILED"))
                    && l["severity_number"].as_i64() >= Some(13)
            })
            .count();
        assert_eq!(failed["logs"].as_array().map(Vec::len), Some(want_failed));

        // Metrics, one bucket covering everything.
        let q = format!("from={from}&to={to}&step=1200s&service={service}");
        let m = &expected["metrics"];
        let by_route = one_bucket(
            &server,
            "py.requests",
            &format!("{q}&agg=sum&group_by=route"),
        )
        .await;
        for s in m["counter"]["series"].as_array().expect("counter series") {
            let route = &s["attributes"]["route"];
            let got = by_route
                .as_array()
                .expect("series")
                .iter()
                .find(|g| g["group"]["route"] == *route)
                .expect("route series");
            close(
                got["points"][0][1].as_f64().unwrap_or(f64::NAN),
                s["total"].as_f64().expect("total"),
                "counter",
            );
        }
        let updown = &m["updown"]["series"][0];
        let values: Vec<f64> = updown["point_values"]
            .as_array()
            .expect("values")
            .iter()
            .filter_map(Value::as_f64)
            .collect();
        let levels: Vec<f64> = if temporality == "delta" {
            values
                .iter()
                .scan(0.0, |acc, v| {
                    *acc += v;
                    Some(*acc)
                })
                .collect()
        } else {
            values
        };
        close(
            *levels.last().expect("level"),
            updown["final"].as_f64().expect("final"),
            "updown final",
        );
        let avg = value(&one_bucket(&server, "py.inflight", &format!("{q}&agg=avg")).await);
        close(
            avg,
            levels.iter().sum::<f64>() / levels.len() as f64,
            "updown avg level",
        );
        let gauge = &m["gauge"]["series"][0];
        let gmax = gauge["point_values"]
            .as_array()
            .expect("values")
            .iter()
            .filter_map(Value::as_f64)
            .fold(f64::MIN, f64::max);
        close(
            value(&one_bucket(&server, "py.queue", &format!("{q}&agg=max")).await),
            gmax,
            "gauge max",
        );

        let h = &m["histogram"];
        let count: f64 = h["series"]
            .as_array()
            .expect("series")
            .iter()
            .filter_map(|s| s["count"].as_f64())
            .sum();
        let sum: f64 = h["series"]
            .as_array()
            .expect("series")
            .iter()
            .filter_map(|s| s["sum"].as_f64())
            .sum();
        close(
            value(&one_bucket(&server, "py.latency", &format!("{q}&agg=rate")).await) * 1200.0,
            count,
            "histogram count",
        );
        let avg = value(&one_bucket(&server, "py.latency", &format!("{q}&agg=avg")).await);
        assert!(
            (avg - sum / count).abs() < 1e-9,
            "histogram avg {avg} vs {}",
            sum / count
        );
        let mut raw: Vec<f64> = h["series"]
            .as_array()
            .expect("series")
            .iter()
            .flat_map(|s| s["values"].as_array().cloned().unwrap_or_default())
            .filter_map(|v| v.as_f64())
            .collect();
        raw.sort_by(f64::total_cmp);
        let mut bounds = vec![0.0];
        bounds.extend(
            h["bounds"]
                .as_array()
                .expect("bounds")
                .iter()
                .filter_map(Value::as_f64),
        );
        for p in [50.0, 95.0, 99.0] {
            let got = value(&one_bucket(&server, "py.latency", &format!("{q}&agg=p{p}")).await);
            let exact = exact_quantile(&raw, p / 100.0);
            let k = bounds
                .iter()
                .position(|b| exact <= *b)
                .unwrap_or(bounds.len());
            let lo = bounds[k.saturating_sub(1)];
            let hi = bounds.get(k).copied().unwrap_or(lo);
            assert!(
                got >= lo && got <= hi,
                "{service} p{p}: {got} not in [{lo}, {hi}] (exact {exact})"
            );
        }

        // Exponential: the quantile is within one bucket's relative width of the exact one.
        let scale = server
            .sql_i64(&format!("SELECT min(exp_scale) FROM metrics WHERE service_name = '{service}' AND metric_name = 'py.size' AND exp_positive_counts <> []"))
            .await;
        let base = 2f64.powf(2f64.powi(-(scale as i32)));
        let mut sizes: Vec<f64> = m["exponential"]["series"][0]["values"]
            .as_array()
            .expect("values")
            .iter()
            .filter_map(Value::as_f64)
            .collect();
        sizes.sort_by(f64::total_cmp);
        for p in [50.0, 90.0] {
            let got = value(&one_bucket(&server, "py.size", &format!("{q}&agg=p{p}")).await);
            let exact = exact_quantile(&sizes, p / 100.0);
            assert!(
                got / exact <= base && exact / got <= base,
                "{service} size p{p}: {got} vs exact {exact} (scale {scale})"
            );
        }
    }
    server.stop();
}
