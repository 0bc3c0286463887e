//! The trace view: a waterfall of every span (critical path marked), the selected span's
//! details (`?span=<id>`: attributes, events, status, links) and the trace's logs.

use std::collections::{HashMap, HashSet};

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;

use super::service::LogList;
use crate::api::{Span, TraceDetail, get_trace_detail};
use crate::format::{self, use_local};
use crate::timerange::{use_link, use_param, use_set_params};
use crate::widgets::section;

/// Spans in display order (depth first, children by start time) with their depth.
pub(crate) fn tree_order(spans: &[Span]) -> Vec<(usize, usize)> {
    let ids: HashSet<&str> = spans.iter().map(|s| s.span_id.as_str()).collect();
    let mut children: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut roots = Vec::new();
    for (i, s) in spans.iter().enumerate() {
        if s.parent_span_id.is_empty() || !ids.contains(s.parent_span_id.as_str()) {
            roots.push(i);
        } else {
            children
                .entry(s.parent_span_id.as_str())
                .or_default()
                .push(i);
        }
    }
    let by_start =
        |v: &mut Vec<usize>| v.sort_by_key(|&i| (spans[i].start_ns, spans[i].span_id.clone()));
    by_start(&mut roots);
    for v in children.values_mut() {
        by_start(v);
    }
    let mut out = Vec::with_capacity(spans.len());
    let mut stack: Vec<(usize, usize)> = roots.into_iter().rev().map(|i| (i, 0)).collect();
    while let Some((i, depth)) = stack.pop() {
        out.push((i, depth));
        if let Some(kids) = children.get(spans[i].span_id.as_str()) {
            stack.extend(kids.iter().rev().map(|&k| (k, depth + 1)));
        }
    }
    out
}

/// The critical path: from the longest root, repeatedly the child that finished last
/// before the current point, walking back in time (the spans that bound the trace's
/// duration).
pub(crate) fn critical_path(spans: &[Span]) -> HashSet<String> {
    let mut children: HashMap<&str, Vec<&Span>> = HashMap::new();
    for s in spans {
        children
            .entry(s.parent_span_id.as_str())
            .or_default()
            .push(s);
    }
    let ids: HashSet<&str> = spans.iter().map(|s| s.span_id.as_str()).collect();
    let root = spans
        .iter()
        .filter(|s| s.parent_span_id.is_empty() || !ids.contains(s.parent_span_id.as_str()))
        .max_by_key(|s| s.end_ns - s.start_ns);
    let mut out = HashSet::new();
    let mut stack: Vec<(&Span, i64)> = root.map(|r| (r, r.end_ns)).into_iter().collect();
    while let Some((span, end)) = stack.pop() {
        out.insert(span.span_id.clone());
        let mut kids: Vec<&Span> = children
            .get(span.span_id.as_str())
            .cloned()
            .unwrap_or_default();
        kids.sort_by_key(|k| std::cmp::Reverse(k.end_ns.min(end)));
        let mut cursor = end;
        for k in kids {
            if k.start_ns < cursor && k.end_ns > span.start_ns {
                stack.push((k, k.end_ns.min(cursor)));
                cursor = k.start_ns;
            }
        }
    }
    out
}

#[component]
pub(crate) fn TracePage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.read().get("id").unwrap_or_default());
    let data = Resource::new(move || id.get(), get_trace_detail);
    view! {
        <Title text=move || format!("Trace {} · Headroom", id.get())/>
        <h1><span class="muted">"Trace "</span><span class="mono">{move || id.get()}</span></h1>
        {section(data, |d| view! { <TraceView detail=d/> })}
    }
}

#[component]
fn TraceView(detail: TraceDetail) -> impl IntoView {
    let spans = detail.spans;
    let order = tree_order(&spans);
    let critical = critical_path(&spans);
    let t0 = spans.iter().map(|s| s.start_ns).min().unwrap_or_default();
    let t1 = spans.iter().map(|s| s.end_ns).max().unwrap_or_default();
    let total = (t1 - t0).max(1) as f64;
    let selected = use_param("span");
    let set = use_set_params();
    let services: HashSet<&str> = spans.iter().map(|s| s.service.as_str()).collect();
    let errors = spans.iter().filter(|s| s.status_code == "ERROR").count();
    let mut service_list: Vec<&str> = services.into_iter().collect();
    service_list.sort();
    let color_of = {
        let list: Vec<String> = service_list.iter().map(|s| s.to_string()).collect();
        move |svc: &str| crate::chart::color(list.iter().position(|s| s == svc).unwrap_or(0))
    };
    let rows = order
        .iter()
        .map(|&(i, depth)| {
            let s = &spans[i];
            let left = (s.start_ns - t0) as f64 / total * 100.0;
            let width = ((s.end_ns - s.start_ns) as f64 / total * 100.0).max(0.3);
            let id = s.span_id.clone();
            let id2 = id.clone();
            let set = set.clone();
            let on_path = critical.contains(&s.span_id);
            let dur = (s.end_ns - s.start_ns) as f64 / 1e6;
            view! {
                <button type="button" class="span-row" class:selected=move || selected.get() == id2
                    class:error=s.status_code == "ERROR" class:critical=on_path data-span=id.clone()
                    aria-label=format!("{} {} {}", s.service, s.name, format::ms(Some(dur)))
                    on:click=move |_| set(vec![("span", Some(id.clone()))])>
                    <span class="span-name" style:padding-left=format!("{}px", depth * 14)>
                        <span class="swatch" style:background=color_of(&s.service)></span>
                        <b>{s.service.clone()}</b>" "{s.name.clone()}
                    </span>
                    <span class="span-track">
                        <span class="span-bar" style:left=format!("{left:.3}%") style:width=format!("{width:.3}%") style:background=color_of(&s.service)></span>
                        <span class="span-dur" style:left=format!("{:.3}%", (left + width).min(88.0))>{format::ms(Some(dur))}</span>
                    </span>
                </button>
            }
        })
        .collect_view();
    let details = {
        let spans = spans.clone();
        move || {
            let id = selected.get();
            spans
                .iter()
                .find(|s| s.span_id == id)
                .cloned()
                .map(|s| view! { <SpanDetails span=s t0=t0/> })
        }
    };
    let start_ms = t0 / 1_000_000;
    view! {
        <p class="muted">
            {move || format::datetime(start_ms, use_local())}
            {format!(" · {} · {} spans · {} services · {} errors", format::ms(Some(total / 1e6)), spans.len(), service_list.len(), errors)}
            " · "<span class="legend-critical">"critical path"</span>
        </p>
        <div class="trace-layout">
            <section class="panel waterfall" aria-label="Waterfall">{rows}</section>
            <aside class="panel span-details" aria-live="polite">
                {move || details().map(|v| v.into_any()).unwrap_or_else(|| view! { <p class="muted">"Select a span to see its details."</p> }.into_any())}
            </aside>
        </div>
        <section class="panel">
            <h2>{format!("Logs of this trace ({})", detail.logs.len())}</h2>
            <LogList logs=detail.logs/>
        </section>
    }
}

#[component]
fn SpanDetails(span: Span, t0: i64) -> impl IntoView {
    let link = use_link();
    let kv = |pairs: Vec<(String, String)>| {
        view! {
            <dl class="kv">
                {pairs.into_iter().map(|(k, v)| view! { <dt>{k}</dt><dd>{v}</dd> }).collect_view()}
            </dl>
        }
    };
    let offset = format::ms(Some((span.start_ns - t0) as f64 / 1e6));
    view! {
        <h2>{span.name.clone()}</h2>
        <dl class="kv">
            <dt>"service"</dt><dd>{span.service.clone()}</dd>
            <dt>"kind"</dt><dd>{span.kind.clone()}</dd>
            <dt>"duration"</dt><dd>{format::ms(Some((span.end_ns - span.start_ns) as f64 / 1e6))}</dd>
            <dt>"starts at"</dt><dd>{format!("+{offset}")}</dd>
            <dt>"status"</dt><dd class:bad=span.status_code == "ERROR">{span.status_code.clone()}" "{span.status_message.clone()}</dd>
            <dt>"span id"</dt><dd class="mono">{span.span_id.clone()}</dd>
        </dl>
        <h3>"Attributes"</h3>
        {kv(span.attributes)}
        <h3>{format!("Events ({})", span.events.len())}</h3>
        <ul class="events">
            {span.events.into_iter().map(|e| view! {
                <li>
                    <b>{e.name}</b>" "<span class="muted">{format!("+{}", format::ms(Some((e.time_ns - t0) as f64 / 1e6)))}</span>
                    {kv(e.attributes)}
                </li>
            }).collect_view()}
        </ul>
        <h3>{format!("Links ({})", span.links.len())}</h3>
        <ul class="links">
            {span.links.into_iter().map(|l| {
                let href = link(&format!("/traces/{}", l.trace_id), &[("span", &l.span_id)]);
                view! { <li><A href=href attr:class="mono">{format!("{}/{}", l.trace_id, l.span_id)}</A></li> }
            }).collect_view()}
        </ul>
        <h3>"Resource"</h3>
        {kv(span.resource_attributes)}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(id: &str, parent: &str, start: i64, end: i64) -> Span {
        Span {
            span_id: id.into(),
            parent_span_id: parent.into(),
            start_ns: start,
            end_ns: end,
            ..Span::default()
        }
    }

    #[test]
    fn critical_path_follows_the_last_finishing_children() {
        // root 0..100; a 0..30, b 10..90 (b bounds the end), c 35..40 under root
        // (finishes before b starts? no: overlaps b, so b wins), d 20..80 under b.
        let spans = vec![
            span("root", "", 0, 100),
            span("a", "root", 0, 8),
            span("b", "root", 10, 90),
            span("c", "root", 35, 40),
            span("d", "b", 20, 80),
        ];
        let path = critical_path(&spans);
        let mut p: Vec<_> = path.into_iter().collect();
        p.sort();
        assert_eq!(p, vec!["a", "b", "d", "root"]);
        let order: Vec<_> = tree_order(&spans)
            .into_iter()
            .map(|(i, d)| (spans[i].span_id.as_str(), d))
            .collect();
        assert_eq!(
            order,
            vec![("root", 0), ("a", 1), ("b", 1), ("d", 2), ("c", 1)]
        );
    }
}
