//! The web UI in headless Chromium (Debian's `chromium` + `chromedriver`, driven over
//! WebDriver by fantoccini) against a server loaded with a day of demo data.
//!
//! Each page's figures are compared with the JSON API over the same data; hydration is
//! checked by changing the time range and filters without a full page load (a marker on
//! `window` survives); a dashboard made in the browser survives a server restart; the SQL
//! page shows results and DataFusion's message for a bad query; the browser's console
//! log has no errors.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use crate::server::Server;

/// The test data lies in the past; keep retention from removing it.
const ENV: [(&str, &str); 1] = [("HEADROOM_STORAGE__RETENTION__MAX_AGE", "100years")];
const WAIT: Duration = Duration::from_secs(30);

struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

async fn start_driver() -> Driver {
    let port = free_port();
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver (apt-get install chromium-driver; ./headroom.sh test installs it)");
    // Owned at once: Drop kills and reaps it on every path, the panic below included.
    let driver = Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    for _ in 0..100 {
        if reqwest::get(format!("{}/status", driver.url)).await.is_ok() {
            return driver;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not start");
}

async fn browser(driver: &Driver) -> Client {
    let profile = tempfile::tempdir().expect("profile dir").keep();
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": "/usr/bin/chromium",
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                     "--no-first-run", "--disable-component-update", "--disable-sync", "--disable-quic",
                     "--window-size=1280,900", format!("--user-data-dir={}", profile.display())]
        }),
    );
    caps.insert("goog:loggingPrefs".into(), json!({ "browser": "ALL" }));
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("WebDriver session")
}

/// Polls a JS expression until it is truthy; returns its value.
async fn wait_js(c: &Client, expr: &str) -> Value {
    let script = format!("return ({expr});");
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let v = c.execute(&script, vec![]).await.unwrap_or(Value::Null);
        let truthy = match &v {
            Value::Null | Value::Bool(false) => false,
            Value::String(s) => !s.is_empty(),
            Value::Number(n) => n.as_f64() != Some(0.0),
            Value::Array(a) => !a.is_empty(),
            _ => true,
        };
        if truthy {
            return v;
        }
        if tokio::time::Instant::now() > deadline {
            let url = c
                .current_url()
                .await
                .map(|u| u.to_string())
                .unwrap_or_default();
            let body = c
                .execute("return document.body.innerText", vec![])
                .await
                .unwrap_or_default();
            panic!("timed out waiting for `{expr}` at {url}; page text:\n{body}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Loads a page and waits until it has hydrated.
async fn open(c: &Client, url: &str) {
    c.goto(url).await.expect("goto");
    wait_js(c, "document.documentElement.dataset.hydrated === '1'").await;
}

async fn texts(c: &Client, css: &str) -> Vec<String> {
    let script = format!(
        "return Array.from(document.querySelectorAll({})).map(e => e.innerText.trim())",
        Value::String(css.into())
    );
    serde_json::from_value(c.execute(&script, vec![]).await.expect("js")).expect("strings")
}

/// Sets a select's value and fires `change`, as a user picking an option does.
async fn choose(c: &Client, css: &str, value: &str) {
    let el = c.find(Locator::Css(css)).await.expect("select");
    el.select_by_value(value).await.expect("select option");
}

/// Finds an element and clicks it, as a user does.
async fn click(c: &Client, locator: Locator<'_>) {
    c.find(locator)
        .await
        .expect("element to click")
        .click()
        .await
        .expect("click");
}

/// Severe entries of the browser's console log (chromedriver's log endpoint).
async fn console_errors(c: &Client, driver: &Driver) -> Vec<String> {
    let id = c.session_id().await.ok().flatten().expect("session id");
    let resp: Value = reqwest::Client::new()
        .post(format!("{}/session/{id}/se/log", driver.url))
        .json(&json!({ "type": "browser" }))
        .send()
        .await
        .expect("log request")
        .json()
        .await
        .expect("log json");
    resp["value"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|e| e["level"] == "SEVERE")
        .map(|e| e["message"].as_str().unwrap_or_default().to_string())
        .collect()
}

async fn load_demo(server: &Server) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_headroom"))
        .args(["demo", "--history-rate", "10", "--no-live", "--days", "1"])
        .args(["--endpoint", &server.grpc, "--api", &server.api])
        .env("RUST_LOG", "warn")
        .output()
        .await
        .expect("run headroom demo");
    assert!(
        out.status.success(),
        "headroom demo failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_pages_render_hydrate_and_keep_dashboards() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let server = Server::start(&data, &ENV);
    load_demo(&server).await;
    let driver = start_driver().await;
    let c = browser(&driver).await;
    let base = server.api.clone();

    services_page(&c, &server).await;
    service_page(&c, &server).await;
    traces_and_trace_view(&c, &server).await;
    logs_page(&c, &server).await;
    metrics_page(&c, &base).await;
    sql_page(&c, &server).await;
    let board = create_dashboard(&c, &base).await;
    let errors = console_errors(&c, &driver).await;
    assert!(errors.is_empty(), "console errors: {errors:#?}");

    // The dashboard survives a restart.
    server.stop();
    let server = Server::start(&data, &ENV);
    open(&c, &format!("{}/dashboards", server.api)).await;
    wait_js(
        &c,
        &format!("document.querySelector('[data-dashboard=\"{board}\"]')"),
    )
    .await;
    open(
        &c,
        &format!("{}/dashboards/{board}?from=now-24h", server.api),
    )
    .await;
    let title = wait_js(&c, "document.querySelector('main h1')?.innerText").await;
    assert_eq!(title, "E2E board");
    // Its SQL stat panel shows the span count SQL gives for the whole range.
    let stat = wait_js(&c, "document.querySelector('.stat-value')?.innerText").await;
    let spans = server.sql_i64("SELECT count(*) FROM spans").await;
    assert_eq!(stat, json!(spans.to_string()));
    let _ = c.close().await;
}

/// Every service with the API's figures; sorting; the time range changes in place.
async fn services_page(c: &Client, s: &Server) {
    open(c, &format!("{}/?from=now-24h", s.api)).await;
    wait_js(
        c,
        "document.querySelectorAll('tr[data-service]').length === 6",
    )
    .await;
    let api = s.get("/api/v1/services?from=now-24h").await;
    for svc in api["services"].as_array().expect("services") {
        let name = svc["service"].as_str().expect("name");
        let p95 = headroom_ui::format::ms(svc["p95_ms"].as_f64());
        let shown = texts(
            c,
            &format!("tr[data-service=\"{name}\"] td[data-col=p95] .value"),
        )
        .await;
        // The page queried a moment later than the API: allow a neighbouring sketch bucket.
        assert_eq!(shown.len(), 1, "{name}");
        let (a, b) = (parse_ms(&shown[0]), parse_ms(&p95));
        assert!(
            (a - b).abs() <= b * 0.05 + 0.1,
            "{name}: page p95 {shown:?}, API {p95}"
        );
    }
    // Sorting by p95, descending: the first row has the largest p95.
    c.find(Locator::Css("th[aria-sort] button.sort"))
        .await
        .expect("header");
    let header = c
        .find(Locator::XPath("//th//button[contains(., 'p95')]"))
        .await
        .expect("p95 header");
    header.click().await.expect("sort asc");
    wait_js(c, "location.search.includes('sort=p95')").await;
    header.click().await.expect("sort desc");
    wait_js(c, "location.search.includes('dir=desc')").await;
    let col = texts(c, "tr[data-service] td[data-col=p95] .value").await;
    let values: Vec<f64> = col.iter().map(|t| parse_ms(t)).collect();
    assert!(
        values.windows(2).all(|w| w[0] >= w[1]),
        "not sorted: {col:?}"
    );

    // Hydrated: changing the range navigates in place (the marker survives) and refetches.
    c.execute("window.__marker = 42", vec![]).await.expect("js");
    choose(c, "#range", "now-6h").await;
    wait_js(c, "location.search.includes('from=now-6h')").await;
    wait_js(
        c,
        "document.querySelector('[data-testid=range-label]').innerText === 'Last 6 hours'",
    )
    .await;
    wait_js(
        c,
        "document.querySelectorAll('tr[data-service]').length === 6",
    )
    .await;
    assert_eq!(
        c.execute("return window.__marker", vec![])
            .await
            .expect("js"),
        json!(42)
    );
}

fn parse_ms(text: &str) -> f64 {
    let (n, unit) = text.split_once(' ').unwrap_or((text, "ms"));
    let n: f64 = n.parse().unwrap_or(f64::NAN);
    match unit {
        "µs" => n / 1000.0,
        "s" => n * 1000.0,
        _ => n,
    }
}

/// A service: charts, its operations (as the API lists them), error traces, metrics.
async fn service_page(c: &Client, s: &Server) {
    open(c, &format!("{}/services/checkout?from=now-24h", s.api)).await;
    wait_js(
        c,
        "document.querySelectorAll('table.operations tbody tr').length > 0",
    )
    .await;
    let api = s
        .get("/api/v1/services/checkout/operations?from=now-24h")
        .await;
    let mut want: Vec<String> = api["operations"]
        .as_array()
        .expect("ops")
        .iter()
        .map(|o| o["operation"].as_str().expect("op").to_string())
        .collect();
    let mut shown = texts(c, "table.operations tbody th").await;
    want.sort();
    shown.sort();
    assert_eq!(shown, want);
    // Three RED charts with lines, runtime metric charts, and error traces.
    wait_js(
        c,
        "document.querySelectorAll('.chart svg path').length >= 5",
    )
    .await;
    wait_js(c, "document.querySelectorAll('.metric-chart').length >= 3").await;
    wait_js(c, "document.querySelectorAll('tr[data-trace]').length > 0").await;
    // Hovering a chart shows a tooltip with exact values.
    let hit = c
        .find(Locator::Css(".chart rect.hit"))
        .await
        .expect("chart");
    c.execute(
        "const r = arguments[0].getBoundingClientRect();
         arguments[0].dispatchEvent(new PointerEvent('pointermove', {bubbles: true, clientX: r.left + r.width / 2, clientY: r.top + 10}));",
        vec![serde_json::to_value(&hit).expect("element")],
    )
    .await
    .expect("hover");
    wait_js(
        c,
        "document.querySelector('.tooltip .tooltip-row b')?.innerText",
    )
    .await;
    // Dragging across a chart zooms the global range to the dragged span (epoch ms).
    c.execute(
        "const el = arguments[0], r = el.getBoundingClientRect();
         const ev = (type, f) => el.dispatchEvent(new PointerEvent(type, {bubbles: true, button: 0, pointerId: 1, clientX: r.left + r.width * f, clientY: r.top + 10}));
         ev('pointerdown', 0.25); ev('pointermove', 0.5); ev('pointermove', 0.75); ev('pointerup', 0.75);",
        vec![serde_json::to_value(&hit).expect("element")],
    )
    .await
    .expect("drag");
    let hours = wait_js(
        c,
        "(() => { const p = new URLSearchParams(location.search); const f = +p.get('from'), t = +p.get('to'); return f > 0 && t > f ? (t - f) / 3.6e6 : 0; })()",
    )
    .await;
    // Half of the chart's 24-hour window, give or take its aligned first bucket.
    let hours = hours.as_f64().unwrap_or_default();
    assert!((11.0..13.5).contains(&hours), "zoomed to {hours} h");
    wait_js(
        c,
        "document.querySelectorAll('table.operations tbody tr').length > 0",
    )
    .await;
}

/// Trace search for payments errors, then the first trace's waterfall and span details.
async fn traces_and_trace_view(c: &Client, s: &Server) {
    open(
        c,
        &format!("{}/traces?from=now-24h&service=payments&errors=1", s.api),
    )
    .await;
    wait_js(c, "document.querySelectorAll('tr[data-trace]').length > 0").await;
    let api = s
        .get("/api/v1/traces?from=now-24h&service=payments&error=true&limit=50")
        .await;
    let ids: Vec<String> = texts(c, "tr[data-trace] td:last-child").await;
    let api_ids = api["traces"].as_array().expect("traces");
    assert_eq!(ids.len(), api_ids.len());
    let first = api_ids[0]["trace_id"].as_str().expect("id").to_string();
    let first_shown: String = c
        .execute(
            "return document.querySelector('tr[data-trace]').dataset.trace",
            vec![],
        )
        .await
        .expect("js")
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert_eq!(first_shown, first);
    // Open it by clicking (client-side navigation).
    click(c, Locator::Css("tr[data-trace] td:last-child a")).await;
    wait_js(c, &format!("location.pathname === '/traces/{first}'")).await;
    wait_js(c, "document.querySelectorAll('.span-row').length > 0").await;
    let trace = s.get(&format!("/api/v1/traces/{first}")).await;
    let n = trace["spans"].as_array().expect("spans").len();
    assert_eq!(texts(c, ".span-row").await.len(), n);
    assert!(!texts(c, ".span-row.critical").await.is_empty());
    assert!(!texts(c, ".span-row.error").await.is_empty());
    click(c, Locator::Css(".span-row.error")).await;
    wait_js(c, "location.search.includes('span=')").await;
    let details = wait_js(c, "document.querySelector('.span-details')?.innerText").await;
    assert!(
        details.as_str().unwrap_or_default().contains("ERROR"),
        "{details}"
    );
}

/// Error logs of payments: newest first, all ERROR, paging forward.
async fn logs_page(c: &Client, s: &Server) {
    open(
        c,
        &format!(
            "{}/logs?from=now-24h&service=payments&severity=ERROR",
            s.api
        ),
    )
    .await;
    wait_js(c, "document.querySelectorAll('li.log').length > 0").await;
    let sev = texts(c, "li.log .sev").await;
    assert!(sev.iter().all(|s| s == "ERROR" || s == "FATAL"), "{sev:?}");
    let api = s
        .get("/api/v1/logs?from=now-24h&service=payments&severity_min=ERROR&limit=100")
        .await;
    let bodies = texts(c, "li.log .body").await;
    let api_bodies: Vec<&str> = api["logs"]
        .as_array()
        .expect("logs")
        .iter()
        .map(|l| l["body"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(bodies, api_bodies);
    // The text filter goes through the form and the URL.
    let input = c.find(Locator::Css("input[name=q]")).await.expect("q");
    input.send_keys("declined").await.expect("type");
    click(c, Locator::Css(".filters button[type=submit]")).await;
    wait_js(c, "location.search.includes('q=declined')").await;
    wait_js(c, "Array.from(document.querySelectorAll('li.log .body')).every(b => b.innerText.toLowerCase().includes('declined'))").await;
}

/// A histogram's p95 grouped by service: one legend entry per service.
async fn metrics_page(c: &Client, base: &str) {
    open(
        c,
        &format!("{base}/explore/metrics?from=now-24h&name=http.server.request.duration&agg=p95&group_by=service"),
    )
    .await;
    wait_js(c, "document.querySelectorAll('.legend-item').length === 6").await;
    // Legend entries toggle their series.
    let before = wait_js(c, "document.querySelectorAll('.chart svg path').length").await;
    click(c, Locator::Css(".legend-item")).await;
    let after = wait_js(c, "document.querySelectorAll('.chart svg path').length").await;
    assert_eq!(after.as_i64(), before.as_i64().map(|b| b - 1));
}

/// SQL results match the API; a bad query shows DataFusion's message.
async fn sql_page(c: &Client, s: &Server) {
    open(c, &format!("{}/sql", s.api)).await;
    let sql = "SELECT service_name, count(*) AS n FROM spans GROUP BY 1 ORDER BY 1";
    let area = c.find(Locator::Css("#sql")).await.expect("editor");
    area.clear().await.expect("clear");
    area.send_keys(sql).await.expect("type");
    click(c, Locator::Css(".sql-form button[type=submit]")).await;
    wait_js(
        c,
        "document.querySelectorAll('table.result tbody tr').length === 6",
    )
    .await;
    let (_, api) = s.sql(sql).await;
    let cells = texts(c, "table.result tbody td").await;
    let want: Vec<String> = api["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .flat_map(|r| {
            r.as_array()
                .expect("row")
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(String::from)
                        .unwrap_or_else(|| v.to_string())
                })
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(cells, want);
    // A bad query: DataFusion's message, in place.
    area.clear().await.expect("clear");
    area.send_keys("SELECT nope FROM spans")
        .await
        .expect("type");
    click(c, Locator::Css(".sql-form button[type=submit]")).await;
    let msg = wait_js(c, "document.querySelector('.error')?.innerText").await;
    assert!(msg.as_str().unwrap_or_default().contains("nope"), "{msg}");
    // An example query is one click away.
    click(c, Locator::Css(".examples .chip")).await;
    wait_js(
        c,
        "document.querySelectorAll('table.result tbody tr').length > 0",
    )
    .await;
}

/// Creates a dashboard in the browser: title and one stat panel counting spans.
async fn create_dashboard(c: &Client, base: &str) -> String {
    open(c, &format!("{base}/dashboards?from=now-24h")).await;
    // The built-in dashboard is listed and renders its panels.
    wait_js(
        c,
        "document.querySelector('[data-dashboard=\"service-health\"]')",
    )
    .await;
    click(c, Locator::XPath("//button[contains(., 'New dashboard')]")).await;
    wait_js(
        c,
        "location.search.includes('edit=1') && document.querySelector('.title-input')",
    )
    .await;
    let id = wait_js(c, "location.pathname.split('/')[2]").await;
    let title = c.find(Locator::Css(".title-input")).await.expect("title");
    title.clear().await.expect("clear");
    title.send_keys("E2E board").await.expect("type");
    choose(c, ".panel-kind", "stat").await;
    let sql = c.find(Locator::Css(".panel-sql")).await.expect("sql");
    sql.clear().await.expect("clear");
    sql.send_keys("SELECT count(*) AS spans FROM spans")
        .await
        .expect("type");
    click(c, Locator::XPath("//button[normalize-space(.)='Save']")).await;
    wait_js(
        c,
        "!location.search.includes('edit=1') && document.querySelector('.stat-value')",
    )
    .await;
    let h1 = wait_js(c, "document.querySelector('main h1')?.innerText").await;
    assert_eq!(h1, "E2E board");
    id.as_str().expect("id").to_string()
}
