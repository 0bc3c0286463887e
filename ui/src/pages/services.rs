//! Services (home): every service's rate, error rate and latency percentiles with a
//! sparkline each; sortable (`?sort=p95&dir=desc`); rising errors or latency stand out.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::api::{RedPoint, ServiceSummary, ServicesOverview, get_services_overview};
use crate::chart::Sparkline;
use crate::format;
use crate::timerange::{use_link, use_param, use_set_params, use_time_range};
use crate::widgets::section;

type Column = (
    &'static str,
    &'static str,
    fn(&ServiceSummary) -> f64,
    fn(&RedPoint) -> Option<f64>,
    &'static str,
);

/// Sortable columns: key, header, value of the row, value of a bucket, unit.
const COLUMNS: [Column; 5] = [
    (
        "rate",
        "Rate",
        |s| s.red.rate_per_s,
        |p| Some(p.rate_per_s),
        "/s",
    ),
    (
        "errors",
        "Error rate",
        |s| s.red.error_rate,
        |p| (p.requests > 0).then_some(p.error_rate),
        "%",
    ),
    (
        "p50",
        "p50",
        |s| s.red.p50_ms.unwrap_or(-1.0),
        |p| p.p50_ms,
        "ms",
    ),
    (
        "p95",
        "p95",
        |s| s.red.p95_ms.unwrap_or(-1.0),
        |p| p.p95_ms,
        "ms",
    ),
    (
        "p99",
        "p99",
        |s| s.red.p99_ms.unwrap_or(-1.0),
        |p| p.p99_ms,
        "ms",
    ),
];

fn cell_text(key: &str, s: &ServiceSummary) -> String {
    match key {
        "rate" => format!("{}/s", format::num(s.red.rate_per_s)),
        "errors" => format::pct(s.red.error_rate),
        "p50" => format::ms(s.red.p50_ms),
        "p95" => format::ms(s.red.p95_ms),
        _ => format::ms(s.red.p99_ms),
    }
}

#[component]
pub(crate) fn ServicesPage() -> impl IntoView {
    let range = use_time_range();
    let data = Resource::new(
        move || range.get(),
        |(r, _)| get_services_overview(r.from, r.to),
    );
    view! {
        <Title text="Services · Headroom"/>
        <h1>"Services"</h1>
        {section(data, |o| view! { <ServicesTable overview=o/> })}
    }
}

#[component]
fn ServicesTable(overview: ServicesOverview) -> impl IntoView {
    let sort = use_param("sort");
    let dir = use_param("dir");
    let set = use_set_params();
    let link = use_link();
    if overview.services.is_empty() {
        return view! {
            <div class="empty">
                <p>"No services sent spans in this time range."</p>
                <p class="muted">"Send OTLP to the collector (gRPC :4317, HTTP :4318), run " <code>"headroom demo"</code> ", or pick a longer range."</p>
            </div>
        }
        .into_any();
    }
    let summary = format!(
        "{} services · buckets of {}",
        overview.services.len(),
        step_text(overview.window.step_ms)
    );
    let rows = move || {
        let mut rows = overview.services.clone();
        let key = sort.get();
        let desc = dir.get() == "desc";
        if let Some(c) = COLUMNS.iter().find(|c| c.0 == key) {
            rows.sort_by(|a, b| c.2(a).total_cmp(&c.2(b)));
        } else {
            rows.sort_by(|a, b| a.red.name.cmp(&b.red.name));
        }
        if desc {
            rows.reverse();
        }
        rows.into_iter()
            .map(|s| {
                let hot = s.error_rising || s.latency_rising;
                let name = s.red.name.clone();
                let href = link(&format!("/services/{name}"), &[]);
                let label = name.clone();
                view! {
                    <tr class:hot=hot data-service=name.clone()>
                        <th scope="row">
                            <A href=href>{label}</A>
                            {s.error_rising.then(|| view! { <span class="badge bad" title="Error rate rising in the last quarter of the range">"errors ↑"</span> })}
                            {s.latency_rising.then(|| view! { <span class="badge warn" title="p95 rising in the last quarter of the range">"latency ↑"</span> })}
                        </th>
                        {COLUMNS
                            .iter()
                            .map(|c| {
                                let alert = (c.0 == "errors" && s.error_rising) || (c.0 == "p95" && s.latency_rising);
                                view! {
                                    <td class="num" data-col=c.0>
                                        <span class="value">{cell_text(c.0, &s)}</span>
                                        <Sparkline values=s.series.iter().map(c.3).collect() unit=c.4 alert/>
                                    </td>
                                }
                            })
                            .collect_view()}
                    </tr>
                }
            })
            .collect_view()
    };
    let header = move |key: &'static str, label: &'static str| {
        let set = set.clone();
        let active = move || sort.get() == key;
        let aria = move || match (active(), dir.get() == "desc") {
            (true, true) => "descending",
            (true, false) => "ascending",
            _ => "none",
        };
        view! {
            <th scope="col" aria-sort=aria class="num">
                <button type="button" class="sort" on:click=move |_| {
                    let next = if active() && dir.get_untracked() != "desc" { "desc" } else { "asc" };
                    set(vec![("sort", Some(key.to_string())), ("dir", Some(next.to_string()))]);
                }>
                    {label}
                    <span class="sort-mark">{move || match aria() { "descending" => "▼", "ascending" => "▲", _ => "" }}</span>
                </button>
            </th>
        }
    };
    let name_header = header("name", "Service");
    view! {
        <p class="muted">
            {summary}
        </p>
        <table class="services">
            <thead>
                <tr>
                    {name_header}
                    {COLUMNS.iter().map(|c| header(c.0, c.1)).collect_view()}
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}

pub(crate) fn step_text(ms: i64) -> String {
    match ms {
        ms if ms % 86_400_000 == 0 => format!("{} d", ms / 86_400_000),
        ms if ms % 3_600_000 == 0 => format!("{} h", ms / 3_600_000),
        ms if ms % 60_000 == 0 => format!("{} min", ms / 60_000),
        ms => format!("{} s", ms / 1000),
    }
}
