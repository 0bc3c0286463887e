//! Logs: filter by service, minimum severity, text and trace id; newest first; older pages
//! through the API's cursor (`?cursor=`), newer ones with the browser's back button.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Form;

use super::service::LogList;
use crate::api::{LogQuery, search_logs};
use crate::timerange::{use_param, use_set_params, use_time_range};
use crate::widgets::{KeepRange, ServiceSelect, section};

const SEVERITIES: [&str; 6] = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"];

#[component]
pub(crate) fn LogsPage() -> impl IntoView {
    let range = use_time_range();
    let service = use_param("service");
    let severity = use_param("severity");
    let text = use_param("q");
    let trace_id = use_param("trace_id");
    let cursor = use_param("cursor");
    let query = Memo::new(move |_| {
        let (r, tick) = range.get();
        (
            LogQuery {
                from: r.from,
                to: r.to,
                service: service.get(),
                severity: severity.get(),
                text: text.get(),
                trace_id: trace_id.get(),
                cursor: cursor.get(),
                limit: 100,
            },
            tick,
        )
    });
    let page = Resource::new(move || query.get(), |(q, _)| search_logs(q));
    let set = use_set_params();
    view! {
        <Title text="Logs · Headroom"/>
        <h1>"Logs"</h1>
        <Form method="GET" action="/logs" noscroll=true>
            <div class="filters">
                <KeepRange/>
                <ServiceSelect/>
                <label>"Severity ≥ "
                    <select name="severity">
                        <option value="">"Any"</option>
                        {SEVERITIES.iter().map(|s| view! { <option value=*s selected=move || severity.get().eq_ignore_ascii_case(s)>{*s}</option> }).collect_view()}
                    </select>
                </label>
                <label>"Text "<input name="q" type="search" value=move || text.get() placeholder="contains…"/></label>
                <label>"Trace id "<input name="trace_id" value=move || trace_id.get() size="34" class="mono"/></label>
                <button type="submit" class="primary">"Search"</button>
            </div>
        </Form>
        {section(page, move |p| {
            let set = set.clone();
            let next = p.next_cursor.clone();
            let count = p.logs.len();
            view! {
                <p class="muted">{format!("{count} records, newest first")}</p>
                <LogList logs=p.logs/>
                <div class="pager">
                    {(!cursor.get_untracked().is_empty()).then(|| view! {
                        <button type="button" on:click=move |_| { let _ = window().history().map(|h| h.back()); }>"← Newer"</button>
                    })}
                    {next.map(|c| view! {
                        <button type="button" class="primary" on:click=move |_| set(vec![("cursor", Some(c.clone()))])>"Older →"</button>
                    })}
                </div>
            }
        })}
    }
}
