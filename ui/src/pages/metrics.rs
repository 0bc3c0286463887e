//! Metrics: pick a metric, an aggregation (for histograms: quantiles) and a group-by; see
//! it charted. The choice lives in the URL (`?name=&agg=&group_by=&service=`).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Form;

use crate::api::{MetricInfo, MetricQuery, get_metric_series, metric_catalog};
use crate::chart::TimeChart;
use crate::timerange::{use_link, use_param, use_time_range};
use crate::widgets::{KeepRange, section};

/// The aggregations that make sense for a metric type; the first is the default.
pub(crate) fn aggs_for(kind: &str) -> &'static [&'static str] {
    match kind {
        "histogram" | "exponential_histogram" => &["p95", "p50", "p90", "p99", "rate", "avg"],
        "sum" => &["rate", "sum", "avg", "min", "max"],
        _ => &["avg", "min", "max", "sum"],
    }
}

#[component]
pub(crate) fn MetricsPage() -> impl IntoView {
    let range = use_time_range();
    let name = use_param("name");
    let agg = use_param("agg");
    let group_by = use_param("group_by");
    let service = use_param("service");
    let link = use_link();
    let catalog = Resource::new(move || range.get(), |(r, _)| metric_catalog(r.from, r.to));
    let query = Memo::new(move |_| {
        let (r, tick) = range.get();
        (
            MetricQuery {
                from: r.from,
                to: r.to,
                name: name.get(),
                agg: agg.get(),
                group_by: group_by.get(),
                service: service.get(),
            },
            tick,
        )
    });
    let series = Resource::new(
        move || query.get(),
        |(q, _)| async move {
            if q.name.is_empty() {
                return Ok(None);
            }
            get_metric_series(q).await.map(Some)
        },
    );
    let list = move |metrics: Vec<MetricInfo>| {
        if metrics.is_empty() {
            return view! { <p class="muted">"No metrics in this range."</p> }.into_any();
        }
        view! {
            <ul class="metric-list">
                {metrics.into_iter().map(|m| {
                    let href = link("/explore/metrics", &[("name", &m.name), ("group_by", "service")]);
                    let current = m.name.clone();
                    view! {
                        <li class:selected=move || name.get() == current>
                            <a href=href>{m.name.clone()}</a>
                            <span class="muted">{format!(" {} {}", m.kind, m.unit)}</span>
                            <div class="muted small">{m.description.clone()}</div>
                        </li>
                    }
                }).collect_view()}
            </ul>
        }
        .into_any()
    };
    let controls = move |metrics: Vec<MetricInfo>| {
        let kind = metrics
            .iter()
            .find(|m| m.name == name.get_untracked())
            .map(|m| m.kind.clone())
            .unwrap_or_default();
        let aggs = aggs_for(&kind);
        let current = agg.get_untracked();
        let current = if aggs.contains(&current.as_str()) {
            current
        } else {
            aggs[0].to_string()
        };
        view! {
            <Form method="GET" action="/explore/metrics" noscroll=true>
                <div class="filters">
                    <KeepRange/>
                    <input type="hidden" name="name" value=name.get_untracked()/>
                    <label>"Aggregation "
                        <select name="agg">
                            {aggs.iter().map(|a| view! { <option value=*a selected=*a == current>{*a}</option> }).collect_view()}
                        </select>
                    </label>
                    <label>"Group by "<input name="group_by" value=group_by.get_untracked() placeholder="service, attribute key…"/></label>
                    <label>"Service "<input name="service" value=service.get_untracked() placeholder="any"/></label>
                    <button type="submit" class="primary">"Apply"</button>
                </div>
            </Form>
        }
    };
    view! {
        <Title text="Metrics · Headroom"/>
        <h1>"Metrics"</h1>
        <div class="sidebar-layout">
            <aside class="panel">{section(catalog, list)}</aside>
            <section class="panel">
                {move || (!name.get().is_empty()).then(|| section(catalog, controls))}
                {section(series, |s| match s {
                    None => view! { <p class="muted">"Pick a metric."</p> }.into_any(),
                    Some(s) => view! {
                        <h2>{format!("{} · {}", s.chart.name, s.chart.agg)}</h2>
                        <TimeChart series=s.chart.series from_ms=s.window.from_ms to_ms=s.window.to_ms unit=s.chart.unit height=280/>
                    }.into_any(),
                })}
            </section>
        </div>
    }
}
