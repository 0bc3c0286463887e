//! SQL: an editor over `spans`, `logs` and `metrics`; results as a table or a chart;
//! DataFusion's message on error; example queries one click away. The query is in the
//! URL (`?q=`), so a link reruns it.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::{SqlResult, run_sql};
use crate::chart::{BarChart, TimeChart, cell_text, table_bars, table_series};
use crate::timerange::{use_param, use_set_params};
use crate::widgets::{ErrorBox, section};

pub(crate) const EXAMPLES: [(&str, &str); 5] = [
    (
        "Slowest operations",
        "SELECT service_name, span_name, count(*) AS spans,\n       approx_percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ns) / 1e6 AS p95_ms\nFROM spans\nWHERE start_time > now() - INTERVAL '1 hour'\nGROUP BY 1, 2\nORDER BY p95_ms DESC\nLIMIT 20",
    ),
    (
        "Errors per minute",
        "SELECT date_bin(INTERVAL '1 minute', start_time) AS minute, service_name, count(*) AS errors\nFROM spans\nWHERE status_code = 'ERROR' AND start_time > now() - INTERVAL '1 hour'\nGROUP BY 1, 2\nORDER BY 1",
    ),
    (
        "Requests by feature",
        "SELECT attributes['feature'] AS feature, count(*) AS requests\nFROM spans\nWHERE attributes['feature'] IS NOT NULL AND start_time > now() - INTERVAL '1 day'\nGROUP BY 1\nORDER BY requests DESC",
    ),
    (
        "Log levels",
        "SELECT severity_text, count(*) AS records\nFROM logs\nWHERE timestamp > now() - INTERVAL '1 hour'\nGROUP BY 1\nORDER BY records DESC",
    ),
    (
        "Metrics and points",
        "SELECT metric_name, metric_type, unit, count(*) AS points\nFROM metrics\nGROUP BY 1, 2, 3\nORDER BY points DESC",
    ),
];

#[component]
pub(crate) fn SqlPage() -> impl IntoView {
    let q = use_param("q");
    let view_mode = use_param("view");
    let set = use_set_params();
    let draft = RwSignal::new(q.get_untracked());
    // Keep the editor in step with the URL (back/forward, example links).
    Effect::new(move |_| draft.set(q.get()));
    let result = Resource::new(
        move || q.get(),
        |sql| async move {
            if sql.trim().is_empty() {
                return Ok(None);
            }
            run_sql(sql).await.map(Some)
        },
    );
    let run = {
        let set = set.clone();
        move || set(vec![("q", Some(draft.get_untracked()))])
    };
    let run2 = run.clone();
    view! {
        <Title text="SQL · Headroom"/>
        <h1>"SQL"</h1>
        <div class="examples">
            <span class="muted">"Examples: "</span>
            {EXAMPLES.iter().map(|(label, sql)| {
                let set = set.clone();
                view! { <button type="button" class="chip" on:click=move |_| set(vec![("q", Some(sql.to_string()))])>{*label}</button> }
            }).collect_view()}
        </div>
        <form class="sql-form" on:submit=move |ev| { ev.prevent_default(); run(); }>
            <label class="sr-only" for="sql">"SQL query"</label>
            <textarea id="sql" name="q" rows="8" spellcheck="false" class="mono"
                prop:value=move || draft.get()
                on:input=move |ev| draft.set(event_target_value(&ev))
                on:keydown=move |ev: web_sys::KeyboardEvent| {
                    if ev.key() == "Enter" && (ev.ctrl_key() || ev.meta_key()) { ev.prevent_default(); run2(); }
                }>{q.get_untracked()}</textarea>
            <div class="row">
                <button type="submit" class="primary">"Run"</button>
                <span class="muted small">"Ctrl+Enter runs · tables: spans, logs, metrics · read-only"</span>
                <span class="spacer"></span>
                <ViewToggle mode=view_mode/>
            </div>
        </form>
        {section(result, move |r| match r {
            None => view! { <p class="muted">"Write a query or pick an example."</p> }.into_any(),
            Some(r) => view! { <SqlOutput result=r chart=view_mode.get_untracked() == "chart"/> }.into_any(),
        })}
    }
}

#[component]
fn ViewToggle(mode: Memo<String>) -> impl IntoView {
    let set = use_set_params();
    let set2 = set.clone();
    view! {
        <div class="toggle" role="group" aria-label="Show results as">
            <button type="button" aria-pressed=move || (mode.get() != "chart").to_string() on:click=move |_| set(vec![("view", None)])>"Table"</button>
            <button type="button" aria-pressed=move || (mode.get() == "chart").to_string() on:click=move |_| set2(vec![("view", Some("chart".into()))])>"Chart"</button>
        </div>
    }
}

#[component]
pub(crate) fn SqlOutput(result: SqlResult, chart: bool) -> impl IntoView {
    if let Some(e) = result.error {
        return view! { <ErrorBox message=e/> }.into_any();
    }
    let summary = format!(
        "{} rows · {:.0} ms{}",
        result.rows.len(),
        result.elapsed_ms,
        if result.truncated {
            " · truncated to the row limit"
        } else {
            ""
        }
    );
    let body = if chart {
        match table_series(&result.columns, &result.rows) {
            Some(series) => {
                let from = series
                    .iter()
                    .filter_map(|s| s.points.first())
                    .map(|p| p.0)
                    .min()
                    .unwrap_or_default();
                let to = series
                    .iter()
                    .filter_map(|s| s.points.last())
                    .map(|p| p.0)
                    .max()
                    .unwrap_or_default();
                view! { <TimeChart series from_ms=from to_ms=to.max(from + 1) height=300/> }
                    .into_any()
            }
            None => view! { <BarChart bars=table_bars(&result.columns, &result.rows)/> }.into_any(),
        }
    } else {
        view! { <ResultTable result=result/> }.into_any()
    };
    view! {
        <p class="muted" data-testid="sql-summary">{summary}</p>
        {body}
    }
    .into_any()
}

#[component]
pub(crate) fn ResultTable(result: SqlResult) -> impl IntoView {
    view! {
        <div class="table-scroll">
            <table class="result">
                <thead><tr>
                    {result.columns.iter().map(|(n, t)| view! { <th scope="col" title=t.clone()>{n.clone()}</th> }).collect_view()}
                </tr></thead>
                <tbody>
                    {result.rows.iter().map(|row| view! {
                        <tr>{row.iter().map(|c| view! { <td class:num=c.is_number()>{cell_text(c)}</td> }).collect_view()}</tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}
