//! Trace search: service, operation, minimum duration, errors only, a `key=value` span
//! attribute and the global time range, all in the URL (a GET form that the router turns
//! into client-side navigation once hydrated).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Form;

use super::service::TraceList;
use crate::api::{TraceQuery, search_traces};
use crate::timerange::{use_param, use_time_range};
use crate::widgets::{KeepRange, ServiceSelect, section};

#[component]
pub(crate) fn TracesPage() -> impl IntoView {
    let range = use_time_range();
    let service = use_param("service");
    let operation = use_param("operation");
    let min_ms = use_param("min_ms");
    let errors = use_param("errors");
    let attr = use_param("attr");
    let query = Memo::new(move |_| {
        let (r, tick) = range.get();
        (
            TraceQuery {
                from: r.from,
                to: r.to,
                service: service.get(),
                operation: operation.get(),
                min_duration_ms: min_ms.get().trim().parse().ok(),
                errors_only: matches!(errors.get().as_str(), "1" | "true" | "on"),
                attribute: attr.get(),
                limit: 50,
            },
            tick,
        )
    });
    let results = Resource::new(move || query.get(), |(q, _)| search_traces(q));
    view! {
        <Title text="Traces · Headroom"/>
        <h1>"Traces"</h1>
        <Form method="GET" action="/traces" noscroll=true>
            <div class="filters">
                <KeepRange/>
                <ServiceSelect/>
                <label>"Operation "<input name="operation" list="operations" value=move || operation.get() placeholder="any"/></label>
                <label>"Min duration (ms) "<input name="min_ms" type="number" min="0" step="any" value=move || min_ms.get() size="6"/></label>
                <label>"Attribute "<input name="attr" value=move || attr.get() placeholder="key=value"/></label>
                <label class="check"><input name="errors" type="checkbox" value="1" checked=move || errors.get() == "1"/>" Errors only"</label>
                <button type="submit" class="primary">"Search"</button>
            </div>
        </Form>
        {section(results, |r| view! {
            <datalist id="operations">
                {r.operations.iter().map(|o| view! { <option value=o.clone()/> }).collect_view()}
            </datalist>
            <p class="muted">{format!("{} traces (newest first, at most 50)", r.traces.len())}</p>
            <TraceList traces=r.traces/>
        })}
    }
}
