//! Bodies of the server functions in [`crate::api`]: resolve the time range, run the page's
//! queries concurrently through `headroom-query`, and shape the results for the page.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use headroom_query::logs::LogSearch;
use headroom_query::metrics::{Agg, SeriesRequest};
use headroom_query::red::{self, Grouping};
use headroom_query::time::range;
use headroom_query::traces::TraceSearch;
use leptos::prelude::use_context;
use leptos::server_fn::error::ServerFnError;
use serde_json::{Map, Value};

use super::error::{Error, Result};
use super::{DashboardStore, UiState};
use crate::api::*;
use crate::chart::{Series, cell_text, table_series};
use crate::dashboard::{Panel, PanelData, PanelKind, PanelQuery, substitute};

fn state() -> Result<UiState> {
    use_context::<UiState>().ok_or(Error::NoState)
}

/// The dashboards store, for the dashboard server functions.
pub fn dashboards() -> Result<DashboardStore, ServerFnError> {
    state()
        .map(|s| s.dashboards)
        .map_err(|e| ServerFnError::ServerError(e.to_string()))
}

fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or_default()
}

fn resolve(from: &str, to: &str) -> Result<(i64, i64)> {
    let opt = |s: &str| Some(s.to_string()).filter(|s| !s.is_empty());
    let (f, t) = range(opt(from).as_deref(), opt(to).as_deref(), now_ns())?;
    if t <= f {
        return Err(Error::BadRequest(
            "the time range ends before it starts".into(),
        ));
    }
    Ok((f, t))
}

/// Bucket width for about `buckets` buckets over the range, rounded up to a step a
/// person would pick (10 s … 1 d), so buckets line up with clock time.
fn step_for(from: i64, to: i64, buckets: i64) -> i64 {
    const S: i64 = 1_000_000_000;
    let steps = [
        10 * S,
        30 * S,
        60 * S,
        120 * S,
        300 * S,
        600 * S,
        900 * S,
        1800 * S,
        3600 * S,
        7200 * S,
        3 * 3600 * S,
        6 * 3600 * S,
        12 * 3600 * S,
        86_400 * S,
    ];
    let want = (to - from) / buckets;
    steps
        .into_iter()
        .find(|s| *s >= want)
        .unwrap_or_else(|| (want / (86_400 * S) + 1) * 86_400 * S)
}

/// Aligns `from` down to a whole step so that buckets fall on clock boundaries.
fn align(from: i64, step: i64) -> i64 {
    from.div_euclid(step) * step
}

fn window(from: i64, to: i64, step: i64) -> Window {
    Window {
        from_ms: from / 1_000_000,
        to_ms: to / 1_000_000,
        step_ms: step / 1_000_000,
    }
}

/// A resolved range cut into about `n` clock-aligned buckets: `[from, to)` as asked,
/// bucketed series start at `start` (≤ `from`).
struct Buckets {
    from: i64,
    to: i64,
    start: i64,
    step: i64,
}

impl Buckets {
    fn new(from: &str, to: &str, n: i64) -> Result<Self> {
        let (from, to) = resolve(from, to)?;
        let step = step_for(from, to, n);
        Ok(Self {
            from,
            to,
            start: align(from, step),
            step,
        })
    }

    fn window(&self) -> Window {
        window(self.start, self.to, self.step)
    }
}

fn red_of(r: &red::Red) -> Red {
    Red {
        name: r
            .operation
            .clone()
            .or_else(|| r.service.clone())
            .unwrap_or_default(),
        requests: r.requests,
        errors: r.errors,
        error_rate: r.error_rate,
        rate_per_s: r.rate_per_s,
        p50_ms: r.p50_ms,
        p95_ms: r.p95_ms,
        p99_ms: r.p99_ms,
    }
}

fn point_of(r: &red::Red) -> RedPoint {
    RedPoint {
        t_ms: r.time.as_deref().map(rfc3339_ns).unwrap_or_default() / 1_000_000,
        requests: r.requests,
        errors: r.errors,
        error_rate: r.error_rate,
        rate_per_s: r.rate_per_s,
        p50_ms: r.p50_ms,
        p95_ms: r.p95_ms,
        p99_ms: r.p99_ms,
    }
}

fn rfc3339_ns(s: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .and_then(|t| t.timestamp_nanos_opt())
        .unwrap_or_default()
}

/// Whether errors or latency rose in the last quarter of the window compared with the
/// rest: error rate at least doubled (and up by 1 point), or request-weighted p95 up by
/// half; each needs 20 requests in the last quarter to count.
pub(crate) fn trend(series: &[RedPoint]) -> (bool, bool) {
    if series.len() < 4 {
        return (false, false);
    }
    let cut = series.len() - series.len() / 4;
    let (before, recent) = series.split_at(cut);
    let totals = |pts: &[RedPoint]| {
        let req: u64 = pts.iter().map(|p| p.requests).sum();
        let err: u64 = pts.iter().map(|p| p.errors).sum();
        let (mut w, mut p95) = (0.0, 0.0);
        for p in pts {
            if let Some(v) = p.p95_ms {
                w += p.requests as f64;
                p95 += v * p.requests as f64;
            }
        }
        let rate = if req > 0 {
            err as f64 / req as f64
        } else {
            0.0
        };
        (req, rate, if w > 0.0 { Some(p95 / w) } else { None })
    };
    let (req_b, err_b, p95_b) = totals(before);
    let (req_r, err_r, p95_r) = totals(recent);
    let enough = req_r >= 20 && req_b >= 20;
    let error_rising = enough && err_r >= (2.0 * err_b).max(err_b + 0.01);
    let latency_rising = enough
        && match (p95_b, p95_r) {
            (Some(b), Some(r)) => b > 0.0 && r >= 1.5 * b,
            _ => false,
        };
    (error_rising, latency_rising)
}

pub async fn services_overview(from: &str, to: &str) -> Result<ServicesOverview> {
    let s = state()?;
    let b = Buckets::new(from, to, 40)?;
    let (totals, series) = tokio::join!(
        s.engine.red(Grouping::Service, None, b.from, b.to),
        s.engine.red(Grouping::Series(b.step), None, b.start, b.to),
    );
    let series = series?;
    let services = totals?
        .iter()
        .map(|r| {
            let points: Vec<RedPoint> = series
                .iter()
                .filter(|p| p.service == r.service)
                .map(point_of)
                .collect();
            let (error_rising, latency_rising) = trend(&points);
            ServiceSummary {
                red: red_of(r),
                series: points,
                error_rising,
                latency_rising,
            }
        })
        .collect();
    Ok(ServicesOverview {
        window: b.window(),
        services,
    })
}

pub async fn service_names(from: &str, to: &str) -> Result<Vec<String>> {
    let (f, t) = resolve(from, to)?;
    Ok(state()?.engine.service_names(f, t).await?)
}

/// The aggregation that suits a metric type on the service page.
fn default_agg(kind: &str) -> Option<&'static str> {
    match kind {
        "sum" => Some("rate"),
        "gauge" => Some("avg"),
        "histogram" | "exponential_histogram" => Some("p95"),
        _ => None,
    }
}

fn metric_chart(name: &str, unit: &str, agg: &str, body: &Value) -> MetricChart {
    let series = body["series"]
        .as_array()
        .map(|all| {
            all.iter()
                .map(|s| {
                    let group = s["group"]
                        .as_object()
                        .map(|g| {
                            g.values()
                                .map(|v| v.as_str().unwrap_or_default().to_string())
                                .collect::<Vec<_>>()
                                .join(" ")
                        })
                        .filter(|g| !g.is_empty())
                        .unwrap_or_else(|| name.to_string());
                    let points = s["points"]
                        .as_array()
                        .map(|pts| {
                            pts.iter()
                                .map(|p| (p[0].as_i64().unwrap_or_default(), p[1].as_f64()))
                                .collect()
                        })
                        .unwrap_or_default();
                    Series {
                        name: group,
                        points,
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    MetricChart {
        name: name.to_string(),
        unit: if agg == "rate" {
            format!("{unit}/s")
        } else {
            unit.to_string()
        },
        kind: body["type"].as_str().unwrap_or_default().to_string(),
        agg: agg.to_string(),
        series,
    }
}

pub async fn service_detail(service: &str, from: &str, to: &str) -> Result<ServiceDetail> {
    let s = state()?;
    let e = &s.engine;
    let b = Buckets::new(from, to, 60)?;
    let (f, t) = (b.from, b.to);
    let traces = TraceSearch {
        service: Some(service.to_string()),
        error: Some(true),
        limit: Some(10),
        ..TraceSearch::default()
    };
    let logs = LogSearch {
        service: Some(service.to_string()),
        severity_min: Some(17),
        limit: Some(20),
        ..LogSearch::default()
    };
    let (series, operations, error_traces, error_logs, metrics) = tokio::join!(
        e.red(Grouping::Series(b.step), Some(service), b.start, t),
        e.red(Grouping::Operation, Some(service), f, t),
        e.search_traces(&traces, f, t),
        e.search_logs(&logs, f, t),
        e.metric_names(f, t, Some(service)),
    );
    // Runtime metric charts need the names first; they then load together.
    let charts = futures::future::join_all(metrics?.iter().filter_map(|m| {
        let name = m.get("name")?.as_str()?.to_string();
        let unit = m
            .get("unit")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let agg = default_agg(m.get("type")?.as_str()?)?;
        let req = SeriesRequest {
            name: name.clone(),
            from: b.start,
            to: t,
            step: b.step,
            agg: Agg::parse(agg).ok()?,
            group_by: vec![],
            service: Some(service.to_string()),
        };
        Some(async move {
            let body = e.metric_series(&req).await?;
            Ok::<_, Error>(metric_chart(&name, &unit, agg, &body))
        })
    }))
    .await
    .into_iter()
    .collect::<Result<Vec<_>>>()?;
    Ok(ServiceDetail {
        window: b.window(),
        series: series?.iter().map(point_of).collect(),
        operations: operations?.iter().map(red_of).collect(),
        error_traces: error_traces?.iter().map(trace_summary).collect(),
        error_logs: error_logs?.logs.iter().map(log_row).collect(),
        runtime: charts,
    })
}

fn text(m: &Map<String, Value>, k: &str) -> String {
    match m.get(k) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

/// A JSON array of strings (other elements skipped).
fn strings(m: &Map<String, Value>, k: &str) -> Vec<String> {
    m.get(k)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

fn number(m: &Map<String, Value>, k: &str) -> f64 {
    match m.get(k) {
        Some(Value::Number(n)) => n.as_f64().unwrap_or_default(),
        Some(Value::String(s)) => s.parse().unwrap_or_default(),
        _ => 0.0,
    }
}

fn time_ns(v: Option<&Value>) -> i64 {
    match v {
        Some(Value::String(s)) => rfc3339_ns(s),
        Some(Value::Number(n)) => n.as_i64().unwrap_or_default(),
        _ => 0,
    }
}

/// Attribute maps as sorted `(key, value)` pairs (arrow-json writes maps as objects).
fn pairs(v: Option<&Value>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = match v {
        Some(Value::Object(o)) => o
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    v.as_str()
                        .map(String::from)
                        .unwrap_or_else(|| v.to_string()),
                )
            })
            .collect(),
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|e| {
                Some((
                    e.get("key")?.as_str()?.to_string(),
                    e.get("value")?.as_str()?.to_string(),
                ))
            })
            .collect(),
        _ => vec![],
    };
    out.sort();
    out
}

fn trace_summary(m: &Map<String, Value>) -> TraceSummary {
    TraceSummary {
        trace_id: text(m, "trace_id"),
        root_service: text(m, "root_service"),
        root_operation: text(m, "root_operation"),
        start_ms: time_ns(m.get("start_time")) / 1_000_000,
        duration_ms: number(m, "duration_ms"),
        span_count: number(m, "span_count") as u64,
        error_count: number(m, "error_count") as u64,
        services: strings(m, "services"),
    }
}

fn log_row(m: &Map<String, Value>) -> LogRow {
    LogRow {
        time_ns: time_ns(m.get("timestamp")),
        service: text(m, "service_name"),
        severity_number: number(m, "severity_number") as i32,
        severity_text: text(m, "severity_text"),
        body: text(m, "body"),
        trace_id: text(m, "trace_id"),
        span_id: text(m, "span_id"),
        attributes: pairs(m.get("attributes")),
    }
}

fn span(m: &Map<String, Value>) -> Span {
    let list = |k: &str| {
        m.get(k)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    Span {
        span_id: text(m, "span_id"),
        parent_span_id: text(m, "parent_span_id"),
        service: text(m, "service_name"),
        name: text(m, "span_name"),
        kind: text(m, "span_kind"),
        start_ns: time_ns(m.get("start_time")),
        end_ns: time_ns(m.get("end_time")),
        status_code: text(m, "status_code"),
        status_message: text(m, "status_message"),
        attributes: pairs(m.get("attributes")),
        resource_attributes: pairs(m.get("resource_attributes")),
        events: list("events")
            .iter()
            .filter_map(Value::as_object)
            .map(|e| SpanEvent {
                time_ns: time_ns(e.get("time")),
                name: text(e, "name"),
                attributes: pairs(e.get("attributes")),
            })
            .collect(),
        links: list("links")
            .iter()
            .filter_map(Value::as_object)
            .map(|l| SpanLink {
                trace_id: text(l, "trace_id"),
                span_id: text(l, "span_id"),
                attributes: pairs(l.get("attributes")),
            })
            .collect(),
    }
}

pub async fn search_traces(q: &TraceQuery) -> Result<TraceSearchResult> {
    let s = state()?;
    let (f, t) = resolve(&q.from, &q.to)?;
    let opt = |v: &str| Some(v.trim().to_string()).filter(|v| !v.is_empty());
    let search = TraceSearch {
        service: opt(&q.service),
        operation: opt(&q.operation),
        min_duration_ms: q.min_duration_ms,
        error: q.errors_only.then_some(true),
        attribute: headroom_query::http::parse_attribute(Some(&q.attribute))?,
        limit: Some(if q.limit == 0 { 50 } else { q.limit }),
    };
    let operations = async {
        match &search.service {
            Some(svc) => s.engine.operation_names(svc, f, t).await,
            None => Ok(vec![]),
        }
    };
    let (traces, operations) = tokio::join!(s.engine.search_traces(&search, f, t), operations);
    Ok(TraceSearchResult {
        window: window(f, t, 0),
        traces: traces?.iter().map(trace_summary).collect(),
        operations: operations?,
    })
}

pub async fn trace_detail(trace_id: &str) -> Result<TraceDetail> {
    let s = state()?;
    let spans: Vec<Span> = s.engine.trace(trace_id).await?.iter().map(span).collect();
    let first = spans.iter().map(|s| s.start_ns).min().unwrap_or_default();
    let last = spans.iter().map(|s| s.end_ns).max().unwrap_or_default();
    // Logs of a trace fall within its spans; allow a minute either side for clock skew.
    let logs = LogSearch {
        trace_id: Some(trace_id.to_ascii_lowercase()),
        limit: Some(1000),
        ..LogSearch::default()
    };
    let minute = 60_000_000_000;
    let mut logs: Vec<LogRow> = s
        .engine
        .search_logs(&logs, first - minute, last + minute + 1)
        .await?
        .logs
        .iter()
        .map(log_row)
        .collect();
    logs.reverse(); // oldest first, like the waterfall
    Ok(TraceDetail {
        trace_id: trace_id.to_ascii_lowercase(),
        spans,
        logs,
    })
}

pub async fn search_logs(q: &LogQuery) -> Result<LogPage> {
    let s = state()?;
    let (f, t) = resolve(&q.from, &q.to)?;
    let opt = |v: &str| Some(v.trim().to_string()).filter(|v| !v.is_empty());
    let search = LogSearch {
        service: opt(&q.service),
        severity_min: opt(&q.severity)
            .map(|v| headroom_query::logs::parse_severity(&v))
            .transpose()?,
        q: opt(&q.text),
        trace_id: opt(&q.trace_id),
        limit: Some(if q.limit == 0 { 100 } else { q.limit }),
        cursor: opt(&q.cursor),
    };
    let page = s.engine.search_logs(&search, f, t).await?;
    Ok(LogPage {
        window: window(f, t, 0),
        logs: page.logs.iter().map(log_row).collect(),
        next_cursor: page.next_cursor,
    })
}

pub async fn metric_catalog(from: &str, to: &str) -> Result<Vec<MetricInfo>> {
    let (f, t) = resolve(from, to)?;
    let rows = state()?.engine.metric_names(f, t, None).await?;
    Ok(rows
        .iter()
        .map(|m| MetricInfo {
            name: text(m, "name"),
            kind: text(m, "type"),
            unit: text(m, "unit"),
            description: text(m, "description"),
            services: strings(m, "services"),
            points: number(m, "points") as u64,
        })
        .collect())
}

pub async fn metric_series(q: &MetricQuery) -> Result<MetricSeries> {
    let s = state()?;
    let b = Buckets::new(&q.from, &q.to, 60)?;
    let agg = if q.agg.is_empty() {
        "avg"
    } else {
        q.agg.as_str()
    };
    let req = SeriesRequest {
        name: q.name.clone(),
        from: b.start,
        to: b.to,
        step: b.step,
        agg: Agg::parse(agg)?,
        group_by: q
            .group_by
            .split(',')
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(String::from)
            .collect(),
        service: Some(q.service.trim().to_string()).filter(|s| !s.is_empty()),
    };
    let (body, unit) = tokio::join!(
        s.engine.metric_series(&req),
        s.engine.metric_unit(&q.name, b.from, b.to),
    );
    let (body, unit) = (body?, unit?);
    Ok(MetricSeries {
        window: b.window(),
        chart: metric_chart(&q.name, &unit, agg, &body),
    })
}

pub async fn run_sql(sql: &str) -> Result<SqlResult> {
    let s = state()?;
    let started = Instant::now();
    let (batches, truncated) = match s.engine.user_query(sql).await {
        Ok(r) => r,
        Err(e) if e.http_status().is_client_error() => {
            return Ok(SqlResult {
                error: Some(e.to_string()),
                ..SqlResult::default()
            });
        }
        Err(e) => return Err(e.into()),
    };
    let columns = batches
        .first()
        .map(|b| {
            b.schema()
                .fields()
                .iter()
                .map(|f| (f.name().clone(), f.data_type().to_string()))
                .collect()
        })
        .unwrap_or_default();
    Ok(SqlResult {
        error: None,
        columns,
        rows: headroom_query::json::rows(&batches)?,
        truncated,
        elapsed_ms: started.elapsed().as_secs_f64() * 1e3,
    })
}

fn rfc3339(ns: i64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp_nanos(ns)
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn red_table(rows: &[red::Red]) -> SqlResult {
    let cols = [
        "service",
        "requests",
        "errors",
        "error_rate",
        "rate_per_s",
        "p50_ms",
        "p95_ms",
        "p99_ms",
    ];
    let types = [
        "Utf8", "UInt64", "UInt64", "Float64", "Float64", "Float64", "Float64", "Float64",
    ];
    SqlResult {
        columns: cols
            .iter()
            .zip(types)
            .map(|(c, t)| (c.to_string(), t.to_string()))
            .collect(),
        rows: rows
            .iter()
            .map(|r| {
                vec![
                    r.service.clone().into(),
                    r.requests.into(),
                    r.errors.into(),
                    r.error_rate.into(),
                    r.rate_per_s.into(),
                    r.p50_ms.into(),
                    r.p95_ms.into(),
                    r.p99_ms.into(),
                ]
            })
            .collect(),
        truncated: false,
        elapsed_ms: 0.0,
        error: None,
    }
}

pub async fn variable_choices(sql: &str, from: &str, to: &str) -> Result<Vec<String>> {
    if sql.trim().is_empty() {
        return Ok(vec![]);
    }
    let b = Buckets::new(from, to, 60)?;
    let sql = substitute(
        sql,
        &[],
        &rfc3339(b.from),
        &rfc3339(b.to),
        b.step / 1_000_000_000,
    );
    let result = run_sql(&sql).await?;
    Ok(result
        .rows
        .iter()
        .filter_map(|r| r.first())
        .map(cell_text)
        .collect())
}

pub async fn panel_data(
    panel: &Panel,
    vars: &[(String, String)],
    from: &str,
    to: &str,
) -> Result<PanelData> {
    let s = state()?;
    let b = Buckets::new(from, to, 60)?;
    let (f, t, start, step) = (b.from, b.to, b.start, b.step);
    let win = b.window();
    match &panel.query {
        PanelQuery::Sql { sql } => {
            let sql = substitute(sql, vars, &rfc3339(f), &rfc3339(t), step / 1_000_000_000);
            let table = run_sql(&sql).await?;
            let series = if panel.kind == PanelKind::TimeSeries {
                table_series(&table.columns, &table.rows).unwrap_or_default()
            } else {
                vec![]
            };
            Ok(PanelData {
                window: win,
                table,
                series,
            })
        }
        PanelQuery::Builtin { name, service } => {
            let service = match service.strip_prefix('$') {
                Some(var) => vars
                    .iter()
                    .find(|(k, _)| k == var)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default(),
                None => service.clone(),
            };
            if name == "services" {
                let rows = s.engine.red(Grouping::Service, None, f, t).await?;
                return Ok(PanelData {
                    window: win,
                    table: red_table(&rows),
                    series: vec![],
                });
            }
            let rows = s
                .engine
                .red(Grouping::Series(step), Some(&service), start, t)
                .await?;
            let pts: Vec<RedPoint> = rows.iter().map(point_of).collect();
            let line = |label: &str, get: fn(&RedPoint) -> Option<f64>| Series {
                name: label.to_string(),
                points: pts.iter().map(|p| (p.t_ms, get(p))).collect(),
            };
            let series = match name.as_str() {
                "rate" => vec![line("requests/s", |p| Some(p.rate_per_s))],
                "errors" => vec![line("error rate", |p| {
                    (p.requests > 0).then_some(p.error_rate)
                })],
                "latency" => vec![
                    line("p50", |p| p.p50_ms),
                    line("p95", |p| p.p95_ms),
                    line("p99", |p| p.p99_ms),
                ],
                other => {
                    return Err(Error::BadRequest(format!(
                        "unknown built-in query {other:?}"
                    )));
                }
            };
            Ok(PanelData {
                window: win,
                table: red_table(&rows),
                series,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pt(requests: u64, errors: u64, p95: f64) -> RedPoint {
        RedPoint {
            requests,
            errors,
            error_rate: errors as f64 / requests as f64,
            p95_ms: Some(p95),
            ..RedPoint::default()
        }
    }

    #[test]
    fn trend_flags_a_late_rise_only() {
        let flat: Vec<RedPoint> = (0..8).map(|_| pt(100, 1, 50.0)).collect();
        assert_eq!(trend(&flat), (false, false));
        let mut late = flat.clone();
        late[6] = pt(100, 10, 120.0);
        late[7] = pt(100, 12, 110.0);
        assert_eq!(trend(&late), (true, true));
        let mut early = flat;
        early[0] = pt(100, 40, 500.0);
        assert_eq!(trend(&early), (false, false));
    }

    #[test]
    fn steps_are_round_and_cover_the_range() {
        let h = 3_600_000_000_000;
        assert_eq!(step_for(0, h, 60), 60_000_000_000);
        assert_eq!(step_for(0, 24 * h, 40), 3_600_000_000_000);
        assert_eq!(align(90_000_000_000, 60_000_000_000), 60_000_000_000);
    }
}
