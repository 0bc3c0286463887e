//! One service: rate, errors and latency over time, its operations, recent error traces,
//! recent error logs and its runtime metrics. One server function loads all of it, the
//! queries running concurrently on the server.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;

use crate::api::{LogRow, RedPoint, ServiceDetail, TraceSummary, get_service_detail};
use crate::chart::{Series, TimeChart};
use crate::format::{self, use_local};
use crate::timerange::{use_link, use_time_range};
use crate::widgets::section;

fn line(name: &str, pts: &[RedPoint], get: fn(&RedPoint) -> Option<f64>) -> Series {
    Series {
        name: name.to_string(),
        points: pts.iter().map(|p| (p.t_ms, get(p))).collect(),
    }
}

#[component]
pub(crate) fn ServicePage() -> impl IntoView {
    let params = use_params_map();
    let name = Memo::new(move |_| params.read().get("name").unwrap_or_default());
    let range = use_time_range();
    let data = Resource::new(
        move || (name.get(), range.get()),
        |(name, (r, _))| get_service_detail(name, r.from, r.to),
    );
    view! {
        <Title text=move || format!("{} · Headroom", name.get())/>
        <h1><span class="muted">"Service "</span>{move || name.get()}</h1>
        {section(data, move |d| view! { <ServiceView detail=d service=name.get_untracked()/> })}
    }
}

#[component]
fn ServiceView(detail: ServiceDetail, service: String) -> impl IntoView {
    let link = use_link();
    let w = detail.window.clone();
    let s = &detail.series;
    let rate = vec![line("requests/s", s, |p| Some(p.rate_per_s))];
    let errors = vec![line("error rate", s, |p| {
        (p.requests > 0).then_some(p.error_rate)
    })];
    let latency = vec![
        line("p50", s, |p| p.p50_ms),
        line("p95", s, |p| p.p95_ms),
        line("p99", s, |p| p.p99_ms),
    ];
    let traces_href = link("/traces", &[("service", &service), ("errors", "1")]);
    let logs_href = link("/logs", &[("service", &service), ("severity", "ERROR")]);
    let ops = detail
        .operations
        .clone()
        .into_iter()
        .map(|o| {
            let href = link("/traces", &[("service", &service), ("operation", &o.name)]);
            view! {
                <tr>
                    <th scope="row"><A href=href>{o.name.clone()}</A></th>
                    <td class="num">{format!("{}/s", format::num(o.rate_per_s))}</td>
                    <td class="num">{format::num(o.requests as f64)}</td>
                    <td class="num" class:bad={o.error_rate > 0.0}>{format::pct(o.error_rate)}</td>
                    <td class="num">{format::ms(o.p50_ms)}</td>
                    <td class="num">{format::ms(o.p95_ms)}</td>
                    <td class="num">{format::ms(o.p99_ms)}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="grid3">
            <section class="panel"><h2>"Rate"</h2><TimeChart series=rate from_ms=w.from_ms to_ms=w.to_ms unit="/s" height=200 width=460/></section>
            <section class="panel"><h2>"Error rate"</h2><TimeChart series=errors from_ms=w.from_ms to_ms=w.to_ms unit="%" height=200 width=460/></section>
            <section class="panel"><h2>"Latency"</h2><TimeChart series=latency from_ms=w.from_ms to_ms=w.to_ms unit="ms" height=200 width=460/></section>
        </div>
        <section class="panel">
            <h2>"Operations"</h2>
            <table class="operations">
                <thead><tr>
                    <th scope="col">"Operation"</th><th scope="col" class="num">"Rate"</th><th scope="col" class="num">"Requests"</th>
                    <th scope="col" class="num">"Errors"</th><th scope="col" class="num">"p50"</th><th scope="col" class="num">"p95"</th><th scope="col" class="num">"p99"</th>
                </tr></thead>
                <tbody>{ops}</tbody>
            </table>
        </section>
        <div class="grid2">
            <section class="panel">
                <h2>"Recent error traces " <A href=traces_href attr:class="more">"all →"</A></h2>
                <TraceList traces=detail.error_traces.clone()/>
            </section>
            <section class="panel">
                <h2>"Recent error logs " <A href=logs_href attr:class="more">"all →"</A></h2>
                <LogList logs=detail.error_logs.clone()/>
            </section>
        </div>
        <section class="panel">
            <h2>"Runtime metrics"</h2>
            {if detail.runtime.is_empty() {
                view! { <p class="muted">"This service reports no metrics in this range."</p> }.into_any()
            } else {
                view! {
                    <div class="grid3">
                        {detail.runtime.iter().map(|m| view! {
                            <div class="metric-chart">
                                <h3 title=m.kind.clone()>{format!("{} ({})", m.name, m.agg)}</h3>
                                <TimeChart series=m.series.clone() from_ms=w.from_ms to_ms=w.to_ms unit=m.unit.clone() height=200 width=460/>
                            </div>
                        }).collect_view()}
                    </div>
                }.into_any()
            }}
        </section>
    }
}

/// A compact list of traces linking to the trace view.
#[component]
pub(crate) fn TraceList(traces: Vec<TraceSummary>) -> impl IntoView {
    let link = use_link();
    if traces.is_empty() {
        return view! { <p class="muted">"None in this range."</p> }.into_any();
    }
    view! {
        <table class="traces">
            <thead><tr>
                <th scope="col">"Start"</th><th scope="col">"Root"</th><th scope="col" class="num">"Duration"</th>
                <th scope="col" class="num">"Spans"</th><th scope="col" class="num">"Errors"</th><th scope="col">"Trace"</th>
            </tr></thead>
            <tbody>
                {traces.into_iter().map(|t| {
                    let href = link(&format!("/traces/{}", t.trace_id), &[]);
                    let start = t.start_ms;
                    let short = format!("{}…", &t.trace_id[..t.trace_id.len().min(12)]);
                    view! {
                        <tr data-trace=t.trace_id>
                            <td class="time">{move || format::datetime(start, use_local())}</td>
                            <td><b>{t.root_service.clone()}</b>" "{t.root_operation.clone()}</td>
                            <td class="num">{format::ms(Some(t.duration_ms))}</td>
                            <td class="num">{t.span_count}</td>
                            <td class="num" class:bad={t.error_count > 0}>{t.error_count}</td>
                            <td><A href=href attr:class="mono">{short}</A></td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

/// Log records, newest first as given, with a link to each record's trace.
#[component]
pub(crate) fn LogList(logs: Vec<LogRow>) -> impl IntoView {
    let link = use_link();
    if logs.is_empty() {
        return view! { <p class="muted">"None in this range."</p> }.into_any();
    }
    view! {
        <ul class="logs">
            {logs.into_iter().map(|l| {
                let ms = l.time_ns / 1_000_000;
                let sev = if l.severity_text.is_empty() { format::severity(l.severity_number).to_string() } else { l.severity_text.clone() };
                let level = format::severity(l.severity_number).to_ascii_lowercase();
                let trace = (!l.trace_id.is_empty()).then(|| {
                    let href = link(&format!("/traces/{}", l.trace_id), &[]);
                    view! { <A href=href attr:class="trace-link" attr:title="Open the trace">"trace →"</A> }
                });
                let attrs = l.attributes.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" ");
                view! {
                    <li class=format!("log sev-{level}")>
                        <span class="time">{move || format::datetime(ms, use_local())}</span>
                        <span class="sev">{sev}</span>
                        <span class="svc">{l.service.clone()}</span>
                        <span class="body">{l.body.clone()}</span>
                        {(!attrs.is_empty()).then(|| view! { <span class="attrs muted">{attrs}</span> })}
                        {trace}
                    </li>
                }
            }).collect_view()}
        </ul>
    }
    .into_any()
}
