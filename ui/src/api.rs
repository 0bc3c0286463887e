//! What the pages ask the server for: the data types both sides share and the server
//! functions that return them.
//!
//! Each server function is a thin shim: its body (compiled only with `ssr`) calls
//! [`crate::server::fns`], which reads through `headroom-query`. In the browser the same
//! function is a `POST /ui/fn/<name>` with a JSON body. Times are the API's strings
//! (`now-1h`, epoch ms, RFC 3339) and are resolved on the server.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::chart::Series;
use crate::dashboard::{Dashboard, DashboardSummary, Panel, PanelData};

/// The resolved time window of a response, in epoch ms, and its bucket width.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Window {
    pub from_ms: i64,
    pub to_ms: i64,
    pub step_ms: i64,
}

/// RED figures of a service or operation over the whole window.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Red {
    pub name: String,
    pub requests: u64,
    pub errors: u64,
    pub error_rate: f64,
    pub rate_per_s: f64,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
}

/// RED figures of one time bucket.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RedPoint {
    pub t_ms: i64,
    pub requests: u64,
    pub errors: u64,
    pub error_rate: f64,
    pub rate_per_s: f64,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
}

/// One row of the Services page.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ServiceSummary {
    pub red: Red,
    pub series: Vec<RedPoint>,
    /// The error rate of the last quarter of the window is well above the rest's.
    pub error_rising: bool,
    /// The p95 of the last quarter of the window is well above the rest's.
    pub latency_rising: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ServicesOverview {
    pub window: Window,
    pub services: Vec<ServiceSummary>,
}

/// A trace found by a search.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TraceSummary {
    pub trace_id: String,
    pub root_service: String,
    pub root_operation: String,
    pub start_ms: i64,
    pub duration_ms: f64,
    pub span_count: u64,
    pub error_count: u64,
    pub services: Vec<String>,
}

/// One log record.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LogRow {
    pub time_ns: i64,
    pub service: String,
    pub severity_number: i32,
    pub severity_text: String,
    pub body: String,
    pub trace_id: String,
    pub span_id: String,
    pub attributes: Vec<(String, String)>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LogPage {
    pub window: Window,
    pub logs: Vec<LogRow>,
    pub next_cursor: Option<String>,
}

/// A chart of one metric for the service page.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricChart {
    pub name: String,
    pub unit: String,
    pub kind: String,
    pub agg: String,
    pub series: Vec<Series>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ServiceDetail {
    pub window: Window,
    pub series: Vec<RedPoint>,
    pub operations: Vec<Red>,
    pub error_traces: Vec<TraceSummary>,
    pub error_logs: Vec<LogRow>,
    pub runtime: Vec<MetricChart>,
}

/// Trace search filters. Empty strings mean "any".
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TraceQuery {
    pub from: String,
    pub to: String,
    pub service: String,
    pub operation: String,
    pub min_duration_ms: Option<f64>,
    pub errors_only: bool,
    /// `key=value`: a span attribute that must match exactly.
    pub attribute: String,
    pub limit: usize,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TraceSearchResult {
    pub window: Window,
    pub traces: Vec<TraceSummary>,
    pub operations: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SpanEvent {
    pub time_ns: i64,
    pub name: String,
    pub attributes: Vec<(String, String)>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SpanLink {
    pub trace_id: String,
    pub span_id: String,
    pub attributes: Vec<(String, String)>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Span {
    pub span_id: String,
    pub parent_span_id: String,
    pub service: String,
    pub name: String,
    pub kind: String,
    pub start_ns: i64,
    pub end_ns: i64,
    pub status_code: String,
    pub status_message: String,
    pub attributes: Vec<(String, String)>,
    pub resource_attributes: Vec<(String, String)>,
    pub events: Vec<SpanEvent>,
    pub links: Vec<SpanLink>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TraceDetail {
    pub trace_id: String,
    pub spans: Vec<Span>,
    pub logs: Vec<LogRow>,
}

/// Log search filters. Empty strings mean "any".
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LogQuery {
    pub from: String,
    pub to: String,
    pub service: String,
    pub severity: String,
    pub text: String,
    pub trace_id: String,
    pub cursor: String,
    pub limit: usize,
}

/// A metric that has points in the window.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricInfo {
    pub name: String,
    pub kind: String,
    pub unit: String,
    pub description: String,
    pub services: Vec<String>,
    pub points: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricQuery {
    pub from: String,
    pub to: String,
    pub name: String,
    pub agg: String,
    pub group_by: String,
    pub service: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricSeries {
    pub window: Window,
    pub chart: MetricChart,
}

/// A SQL result: column names and types, rows as JSON values; or, for a query the user
/// got wrong (syntax, unknown column, …), DataFusion's message in `error`. That is a
/// result to show, not a failed request.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SqlResult {
    pub error: Option<String>,
    pub columns: Vec<(String, String)>,
    pub rows: Vec<Vec<Value>>,
    pub truncated: bool,
    pub elapsed_ms: f64,
}

/// The message of a server function error, without the framework's prefix.
pub fn error_text(e: &ServerFnError) -> String {
    match e {
        ServerFnError::ServerError(m) => m.clone(),
        other => other.to_string(),
    }
}

#[cfg(feature = "ssr")]
fn sfe(e: impl std::fmt::Display) -> ServerFnError {
    ServerFnError::ServerError(e.to_string())
}

#[server(prefix = "/ui/fn", input = Json)]
pub async fn get_services_overview(
    from: String,
    to: String,
) -> Result<ServicesOverview, ServerFnError> {
    crate::server::fns::services_overview(&from, &to)
        .await
        .map_err(sfe)
}

#[server(prefix = "/ui/fn", input = Json)]
pub async fn get_service_detail(
    service: String,
    from: String,
    to: String,
) -> Result<ServiceDetail, ServerFnError> {
    crate::server::fns::service_detail(&service, &from, &to)
        .await
        .map_err(sfe)
}

#[server(prefix = "/ui/fn", input = Json)]
pub async fn service_names(from: String, to: String) -> Result<Vec<String>, ServerFnError> {
    crate::server::fns::service_names(&from, &to)
        .await
        .map_err(sfe)
}

#[server(prefix = "/ui/fn", input = Json)]
pub async fn search_traces(query: TraceQuery) -> Result<TraceSearchResult, ServerFnError> {
    crate::server::fns::search_traces(&query).await.map_err(sfe)
}

#[server(prefix = "/ui/fn", input = Json)]
pub async fn get_trace_detail(trace_id: String) -> Result<TraceDetail, ServerFnError> {
    crate::server::fns::trace_detail(&trace_id)
        .await
        .map_err(sfe)
}

#[server(prefix = "/ui/fn", input = Json)]
pub async fn search_logs(query: LogQuery) -> Result<LogPage, ServerFnError> {
    crate::server::fns::search_logs(&query).await.map_err(sfe)
}

#[server(prefix = "/ui/fn", input = Json)]
pub async fn metric_catalog(from: String, to: String) -> Result<Vec<MetricInfo>, ServerFnError> {
    crate::server::fns::metric_catalog(&from, &to)
        .await
        .map_err(sfe)
}

#[server(prefix = "/ui/fn", input = Json)]
pub async fn get_metric_series(query: MetricQuery) -> Result<MetricSeries, ServerFnError> {
    crate::server::fns::metric_series(&query).await.map_err(sfe)
}

#[server(prefix = "/ui/fn", input = Json)]
pub async fn run_sql(sql: String) -> Result<SqlResult, ServerFnError> {
    crate::server::fns::run_sql(&sql).await.map_err(sfe)
}

#[server(prefix = "/ui/fn", input = Json)]
pub async fn list_dashboards() -> Result<Vec<DashboardSummary>, ServerFnError> {
    crate::server::fns::dashboards()?.list().await.map_err(sfe)
}

#[server(prefix = "/ui/fn", input = Json)]
pub async fn get_dashboard(id: String) -> Result<Dashboard, ServerFnError> {
    crate::server::fns::dashboards()?
        .get(&id)
        .await
        .map_err(sfe)
}

/// Saves a dashboard (a new one when `id` is empty) and returns its id.
#[server(prefix = "/ui/fn", input = Json)]
pub async fn save_dashboard(dashboard: Dashboard) -> Result<String, ServerFnError> {
    crate::server::fns::dashboards()?
        .save(dashboard)
        .await
        .map_err(sfe)
}

#[server(prefix = "/ui/fn", input = Json)]
pub async fn delete_dashboard(id: String) -> Result<(), ServerFnError> {
    crate::server::fns::dashboards()?
        .delete(&id)
        .await
        .map_err(sfe)
}

/// The choices of a dashboard variable: the first column of its SQL under the time range
/// (empty SQL: no choices, the variable is free text).
#[server(prefix = "/ui/fn", input = Json)]
pub async fn get_variable_choices(
    sql: String,
    from: String,
    to: String,
) -> Result<Vec<String>, ServerFnError> {
    crate::server::fns::variable_choices(&sql, &from, &to)
        .await
        .map_err(sfe)
}

/// One panel's data under the dashboard's variables and the global time range.
#[server(prefix = "/ui/fn", input = Json)]
pub async fn get_panel_data(
    panel: Panel,
    vars: Vec<(String, String)>,
    from: String,
    to: String,
) -> Result<PanelData, ServerFnError> {
    crate::server::fns::panel_data(&panel, &vars, &from, &to)
        .await
        .map_err(sfe)
}
