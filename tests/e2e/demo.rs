//! `headroom demo --no-live` against real servers: the simulated shop's history goes
//! through OTLP/gRPC and is checked with SQL and the API: topology, trace structure,
//! features, error propagation, the daily cycle, the scheduled incidents, determinism and
//! resume.

use serde_json::Value;

use crate::server::Server;

/// Seed 11 schedules, on 2026-11-05, a catalog latency regression (11:19–13:21) followed
/// by a payments error burst (13:33–14:02).
const SEED: &str = "11";
const UNTIL: &str = "2026-11-06T00:00:00Z";
/// The history window, as an SQL condition.
const WINDOW: &str = "start_time >= TIMESTAMP '2026-11-04T00:00:00Z' \
     AND start_time < TIMESTAMP '2026-11-06T00:00:00Z'";

/// The test data lies in the past; keep retention from removing it.
const ENV: [(&str, &str); 1] = [("HEADROOM_STORAGE__RETENTION__MAX_AGE", "100years")];

fn start() -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(&dir.path().join("data"), &ENV);
    (dir, server)
}

/// Runs `headroom demo --no-live` with a small history and returns its report.
async fn demo(server: &Server, seed: &str, until: &str, days: &str) -> Value {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_headroom"))
        .args(["demo", "--history-rate", "15", "--no-live"])
        .args(["--seed", seed, "--until", until, "--days", days])
        .args(["--endpoint", &server.grpc, "--api", &server.api])
        .env("RUST_LOG", "warn")
        .output()
        .await
        .expect("run headroom demo");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "headroom demo failed: {stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let v: Value = serde_json::from_str(stdout.trim()).expect("report JSON on stdout");
    assert_eq!(v["demo"]["rejected"], 0, "{v}");
    v["demo"].clone()
}

/// Rows of a SQL query; panics unless it succeeds.
async fn rows(server: &Server, sql: &str) -> Vec<Value> {
    let (status, v) = server.sql(sql).await;
    assert_eq!(status, 200, "{sql}: {v}");
    v["rows"].as_array().expect("rows").clone()
}

/// Everything that identifies the stored spans.
async fn fingerprint(server: &Server) -> Value {
    let sql = "SELECT count(*), sum(duration_ns), count(DISTINCT trace_id), \
        md5(string_agg(span_id || parent_span_id || CAST(CAST(start_time AS BIGINT) AS VARCHAR) \
        || status_code || service_name, ',' ORDER BY span_id)) FROM spans";
    rows(server, sql).await[0].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_history_is_realistic_deterministic_and_resumable() {
    let (_dir, a) = start();
    let report = demo(&a, SEED, UNTIL, "2").await;
    assert_eq!(report["history_from"], "2026-11-04T00:00:00Z");
    assert_eq!(report["history_to"], UNTIL);
    let spans = report["spans"].as_u64().expect("spans");
    assert!(spans > 50_000, "{report}");
    assert_eq!(a.sql_i64("SELECT count(*) FROM spans").await, spans as i64);
    let roots = format!("SELECT count(*) FROM spans WHERE parent_span_id = '' AND NOT ({WINDOW})");
    assert_eq!(
        a.sql_i64(&roots).await,
        0,
        "requests start within the history window"
    );

    check_shape(&a).await;
    check_incidents(&a, &report).await;
    check_logs_and_metrics(&a, &report).await;

    // Resume: nothing is missing, so nothing is sent again.
    let again = demo(&a, SEED, UNTIL, "2").await;
    assert_eq!(again["spans"], 0, "{again}");
    assert_eq!(again["history_from"], Value::Null);
    assert_eq!(a.sql_i64("SELECT count(*) FROM spans").await, spans as i64);

    // Determinism: the same command against a fresh server stores the same spans.
    let expected = fingerprint(&a).await;
    a.stop();
    let (_dir_b, b) = start();
    demo(&b, SEED, UNTIL, "2").await;
    assert_eq!(fingerprint(&b).await, expected);
    b.stop();

    // Another seed differs; a later --until only fills the gap, without duplicates.
    let (_dir_c, c) = start();
    let first = demo(&c, "12", "2026-11-05T00:00:00Z", "1").await;
    assert_eq!(first["history_from"], "2026-11-04T00:00:00Z");
    let gap = demo(&c, "12", UNTIL, "2").await;
    assert_eq!(gap["history_from"], "2026-11-05T00:00:00Z", "{gap}");
    assert!(gap["spans"].as_u64().expect("spans") > 10_000);
    let dupes = "SELECT count(*) - count(DISTINCT span_id) FROM spans";
    assert_eq!(c.sql_i64(dupes).await, 0);
    assert_ne!(fingerprint(&c).await, expected);
    c.stop();
}

/// Services, trace structure, features, error propagation, daily cycle, the API.
async fn check_shape(s: &Server) {
    let services = rows(s, "SELECT DISTINCT service_name FROM spans ORDER BY 1").await;
    let want = [
        "auth", "catalog", "checkout", "frontend", "payments", "search",
    ];
    assert_eq!(services, want.map(|n| serde_json::json!([n])).to_vec());

    let orphans = "SELECT count(*) FROM spans c WHERE c.parent_span_id <> '' AND NOT EXISTS \
        (SELECT 1 FROM spans p WHERE p.trace_id = c.trace_id AND p.span_id = c.parent_span_id)";
    assert_eq!(
        s.sql_i64(orphans).await,
        0,
        "every parent is in the same trace"
    );
    let roots = "SELECT count(*) - count(DISTINCT trace_id) FROM spans WHERE parent_span_id = ''";
    assert_eq!(s.sql_i64(roots).await, 0, "one root per trace");
    let traces = s
        .sql_i64("SELECT count(DISTINCT trace_id) FROM spans")
        .await;
    let entry = "SELECT count(*) FROM spans WHERE parent_span_id = '' AND span_kind = 'SERVER' \
        AND service_name = 'frontend' AND scope_name = 'headroom.demo' \
        AND attributes['http.route'] <> '' AND attributes['http.response.status_code'] <> ''";
    assert_eq!(
        s.sql_i64(entry).await,
        traces,
        "roots are frontend entry spans"
    );
    let features =
        "SELECT DISTINCT attributes['feature'] FROM spans WHERE parent_span_id = '' ORDER BY 1";
    let want = ["browse", "checkout", "login", "search"];
    assert_eq!(
        rows(s, features).await,
        want.map(|f| serde_json::json!([f])).to_vec()
    );
    let db = "SELECT count(DISTINCT attributes['db.system']) FROM spans WHERE span_kind = 'CLIENT' \
        AND attributes['db.system'] <> ''";
    assert!(s.sql_i64(db).await >= 3);

    // Errors propagate to the root, with an exception event where they were raised.
    let failed = "SELECT count(DISTINCT trace_id) FROM spans WHERE status_code = 'ERROR'";
    let failed_roots =
        "SELECT count(*) FROM spans WHERE status_code = 'ERROR' AND parent_span_id = ''";
    let failed = s.sql_i64(failed).await;
    assert!(failed > 10, "{failed}");
    assert_eq!(s.sql_i64(failed_roots).await, failed);
    let raised = "SELECT count(DISTINCT trace_id) FROM spans WHERE status_code = 'ERROR' \
        AND array_length(events) > 0 AND events[1]['name'] = 'exception'";
    assert_eq!(s.sql_i64(raised).await, failed);

    // The daily cycle: the busiest hour of the day has several times the quietest's traffic.
    let hours = "SELECT date_part('hour', start_time) AS h, count(*) AS n FROM spans \
        WHERE parent_span_id = '' GROUP BY 1 ORDER BY 2";
    let hours = rows(s, hours).await;
    assert_eq!(hours.len(), 24);
    let (low, high) = (&hours[0][1], &hours[23][1]);
    assert!(high.as_i64() > low.as_i64().map(|l| l * 4), "{hours:?}");
    let busiest = hours[23][0].as_f64().unwrap_or_default();
    assert!((12.0..=18.0).contains(&busiest), "{hours:?}");

    // The API sees every service; frontend requests are the user requests.
    let v = s
        .get("/api/v1/services?from=2026-11-04T00:00:00Z&to=2026-11-06T00:00:00Z")
        .await;
    let services = v["services"].as_array().expect("services");
    assert_eq!(services.len(), 6, "{v}");
    assert!(
        services.iter().all(|x| x["requests"].as_i64() > Some(0)),
        "{v}"
    );
    let frontend = services
        .iter()
        .find(|x| x["service"] == "frontend")
        .expect("frontend");
    assert_eq!(frontend["requests"].as_i64(), Some(traces));
}

/// Each incident of the report stands out in its window.
async fn check_incidents(s: &Server, report: &Value) {
    let incidents = report["incidents"].as_array().expect("incidents");
    let kinds: Vec<&str> = incidents
        .iter()
        .filter_map(|i| i["kind"].as_str())
        .collect();
    assert_eq!(kinds, ["latency_regression", "error_burst"], "{report}");
    for i in incidents {
        let (from, to) = (&i["start_ns"], &i["end_ns"]);
        let inside =
            format!("CAST(start_time AS BIGINT) >= {from} AND CAST(start_time AS BIGINT) < {to}");
        match i["kind"].as_str() {
            Some("error_burst") => {
                let sql = format!(
                    "SELECT {inside} AS burst, count(*), \
                     sum(CASE WHEN status_code = 'ERROR' THEN 1 ELSE 0 END) FROM spans \
                     WHERE service_name = 'payments' AND span_kind = 'SERVER' GROUP BY 1 ORDER BY 1"
                );
                let r = rows(s, &sql).await;
                let rate =
                    |row: &Value| row[2].as_f64().unwrap_or(0.0) / row[1].as_f64().unwrap_or(1.0);
                assert!(r[1][2].as_i64() >= Some(3), "{i}: {r:?}");
                assert!(rate(&r[1]) > 10.0 * rate(&r[0]), "{i}: {r:?}");
            }
            Some("latency_regression") => {
                let sql = format!(
                    "SELECT {inside} AS slow, approx_median(duration_ns) FROM spans \
                     WHERE service_name = 'catalog' AND span_kind = 'SERVER' GROUP BY 1 ORDER BY 1"
                );
                let r = rows(s, &sql).await;
                let median = |row: &Value| row[1].as_f64().unwrap_or(0.0);
                assert!(median(&r[1]) > 2.0 * median(&r[0]), "{i}: {r:?}");
            }
            other => panic!("unknown incident {other:?}"),
        }
    }
}

/// Logs and metrics of the demo: counts match the report, logs belong to stored traces,
/// every service has its runtime metrics, and the metric series API reads them.
async fn check_logs_and_metrics(s: &Server, report: &Value) {
    assert!(report["logs"].as_u64() > Some(0), "{report}");
    assert!(report["points"].as_u64() > Some(0), "{report}");
    assert_eq!(report["unsupported"], serde_json::json!([]));
    let logs = s.sql_i64("SELECT count(*) FROM logs").await;
    assert_eq!(logs, report["logs"].as_i64().unwrap_or_default());
    let correlated = "SELECT count(*) FROM logs WHERE trace_id IN (SELECT trace_id FROM spans)";
    assert_eq!(
        s.sql_i64(correlated).await,
        logs,
        "every log belongs to a stored trace"
    );
    let errors = "SELECT count(*) FROM logs WHERE severity_text = 'ERROR'";
    assert!(s.sql_i64(errors).await > 0);
    for metric in [
        "process.cpu.time",
        "process.memory.usage",
        "http.server.request.duration",
    ] {
        let sql = format!(
            "SELECT count(DISTINCT service_name) FROM metrics WHERE metric_name = '{metric}'"
        );
        assert_eq!(s.sql_i64(&sql).await, 6, "{metric} for every service");
    }
    let (from, to) = ("2026-11-04T00:00:00Z", UNTIL);
    for (metric, agg) in [
        ("http.server.request.duration", "p95"),
        ("http.server.request.duration", "rate"),
        ("process.cpu.time", "rate"),
        ("process.memory.usage", "max"),
    ] {
        let v = s
            .get(&format!(
                "/api/v1/metrics/{metric}/series?from={from}&to={to}&step=1h&agg={agg}&group_by=service"
            ))
            .await;
        let series = v["series"].as_array().expect("series");
        assert_eq!(series.len(), 6, "{metric} {agg}: {v}");
        let values: Vec<f64> = series
            .iter()
            .flat_map(|g| g["points"].as_array().cloned().unwrap_or_default())
            .filter_map(|p| p[1].as_f64())
            .collect();
        assert!(!values.is_empty(), "{metric} {agg} has values");
        assert!(
            values.iter().all(|x| x.is_finite() && *x >= 0.0),
            "{metric} {agg}: {values:?}"
        );
    }
}
