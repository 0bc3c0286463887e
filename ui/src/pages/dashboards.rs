//! Dashboards: the list (create, import), and one dashboard (view, edit, save, delete,
//! export). Variables come from the URL (`?var-service=checkout`) or their defaults; the
//! global time range applies to every panel; each panel loads on its own.

mod editor;

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};

use crate::api::{
    error_text, get_dashboard, get_panel_data, get_variable_choices, list_dashboards,
    save_dashboard,
};
use crate::chart::{BarChart, Stat, TimeChart, cell_text, table_bars};
use crate::dashboard::{Dashboard, Panel, PanelKind, Variable};
use crate::pages::sql::ResultTable;
use crate::timerange::{use_link, use_param, use_set_params, use_set_params_owned, use_time_range};
use crate::widgets::{ErrorBox, section};

#[component]
pub(crate) fn DashboardsPage() -> impl IntoView {
    let version = RwSignal::new(0u32);
    let list = Resource::new(move || version.get(), |_| list_dashboards());
    let link = use_link();
    let navigate = use_navigate();
    let error = RwSignal::new(None::<String>);
    let import_text = RwSignal::new(String::new());
    let create = {
        let navigate = navigate.clone();
        move |d: Dashboard| {
            let navigate = navigate.clone();
            spawn_local(async move {
                match save_dashboard(d).await {
                    Ok(id) => navigate(
                        &link(&format!("/dashboards/{id}"), &[("edit", "1")]),
                        Default::default(),
                    ),
                    Err(e) => error.set(Some(error_text(&e))),
                }
            });
        }
    };
    let create2 = create.clone();
    let new_dashboard = move |_| {
        create(Dashboard {
            panels: vec![Panel::default()],
            ..Dashboard::default()
        })
    };
    let import = move |_| match serde_json::from_str::<Dashboard>(&import_text.get_untracked()) {
        Ok(mut d) => {
            d.id.clear();
            d.builtin = false;
            create2(d);
        }
        Err(e) => error.set(Some(format!("not a dashboard export: {e}"))),
    };
    view! {
        <Title text="Dashboards · Headroom"/>
        <h1>"Dashboards"</h1>
        <div class="row">
            <button type="button" class="primary" on:click=new_dashboard>"New dashboard"</button>
        </div>
        {move || error.get().map(|m| view! { <ErrorBox message=m/> })}
        {section(list, move |items| view! {
            <ul class="dashboard-list">
                {items.into_iter().map(|d| view! {
                    <li data-dashboard=d.id.clone()>
                        <A href=link(&format!("/dashboards/{}", d.id), &[])>{d.title.clone()}</A>
                        <span class="muted">{format!(" · {} panels", d.panels)}</span>
                        {d.builtin.then(|| view! { <span class="badge">"built-in"</span> })}
                    </li>
                }).collect_view()}
            </ul>
        })}
        <details class="panel">
            <summary>"Import a dashboard (JSON)"</summary>
            <label class="sr-only" for="import">"Dashboard JSON"</label>
            <textarea id="import" rows="6" class="mono" placeholder="Paste an exported dashboard"
                on:input=move |ev| import_text.set(event_target_value(&ev))></textarea>
            <button type="button" on:click=import>"Import"</button>
        </details>
    }
}

#[component]
pub(crate) fn DashboardPage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.read().get("id").unwrap_or_default());
    let version = RwSignal::new(0u32);
    let data = Resource::new(
        move || (id.get(), version.get()),
        |(id, _)| get_dashboard(id),
    );
    let editing = use_param("edit");
    view! {
        <Title text="Dashboard · Headroom"/>
        {section(data, move |d| {
            if editing.get() == "1" {
                view! { <editor::Editor dashboard=d version/> }.into_any()
            } else {
                view! { <DashboardView dashboard=d/> }.into_any()
            }
        })}
    }
}

/// Current variable values: `var-<name>` from the URL, else the default.
fn variable_values(
    vars: &[Variable],
    q: &leptos_router::params::ParamsMap,
) -> Vec<(String, String)> {
    vars.iter()
        .map(|v| {
            let value = q
                .get(&format!("var-{}", v.name))
                .unwrap_or_else(|| v.default.clone());
            (v.name.clone(), value)
        })
        .collect()
}

#[component]
fn DashboardView(dashboard: Dashboard) -> impl IntoView {
    let query = use_query_map();
    let set = use_set_params();
    let vars = {
        let defs = dashboard.variables.clone();
        Memo::new(move |_| variable_values(&defs, &query.read()))
    };
    let export = format!("/api/v1/dashboards/{}", dashboard.id);
    let set_edit = set.clone();
    view! {
        <div class="row">
            <h1>{dashboard.title.clone()}</h1>
            <span class="spacer"></span>
            <button type="button" on:click=move |_| set_edit(vec![("edit", Some("1".into()))])>
                {if dashboard.builtin { "Edit a copy" } else { "Edit" }}
            </button>
            <a class="button" href=export download=format!("dashboard-{}.json", dashboard.id) rel="external">"Export JSON"</a>
        </div>
        <div class="variables">
            {dashboard.variables.iter().cloned().map(|v| view! { <VariablePicker var=v/> }).collect_view()}
        </div>
        <div class="dashboard-grid">
            {dashboard.panels.iter().cloned().map(|p| view! { <PanelView panel=p vars/> }).collect_view()}
        </div>
    }
}

#[component]
fn VariablePicker(var: Variable) -> impl IntoView {
    let range = use_time_range();
    let set = use_set_params_owned();
    let key = format!("var-{}", var.name);
    let current = {
        let key = key.clone();
        let default = var.default.clone();
        let q = use_query_map();
        Memo::new(move |_| q.read().get(&key).unwrap_or_else(|| default.clone()))
    };
    let sql = var.query.clone();
    let options = Resource::new(
        move || range.get(),
        move |(r, _)| get_variable_choices(sql.clone(), r.from, r.to),
    );
    let name = var.name.clone();
    view! {
        <label class="variable">
            <span>{format!("${name} ")}</span>
            <Transition fallback=|| ()>
                {move || {
                    let set = set.clone();
                    let key = key.clone();
                    options.get().map(|res| {
                        let opts: Vec<String> = res.unwrap_or_default();
                        let cur = current.get_untracked();
                        if opts.is_empty() {
                            view! {
                                <input value=cur on:change=move |ev| set(vec![(key.clone(), Some(event_target_value(&ev)))])/>
                            }.into_any()
                        } else {
                            view! {
                                <select on:change=move |ev| set(vec![(key.clone(), Some(event_target_value(&ev)))])>
                                    {opts.into_iter().map(|o| { let sel = o == cur; let value = o.clone(); view! { <option value=value selected=sel>{o}</option> } }).collect_view()}
                                </select>
                            }.into_any()
                        }
                    })
                }}
            </Transition>
        </label>
    }
}

#[component]
fn PanelView(panel: Panel, vars: Memo<Vec<(String, String)>>) -> impl IntoView {
    let range = use_time_range();
    let title = panel.title.clone();
    let kind = panel.kind;
    let data = Resource::new(
        move || (vars.get(), range.get()),
        move |(vars, (r, _))| get_panel_data(panel.clone(), vars, r.from, r.to),
    );
    view! {
        <section class=format!("panel dash-panel kind-{}", kind.as_str())>
            <h2>{title}</h2>
            {section(data, move |d| match kind {
                _ if d.table.error.is_some() => view! { <ErrorBox message=d.table.error.unwrap_or_default()/> }.into_any(),
                PanelKind::TimeSeries => view! { <TimeChart series=d.series from_ms=d.window.from_ms to_ms=d.window.to_ms height=220 width=560/> }.into_any(),
                PanelKind::Bar => view! { <BarChart bars=table_bars(&d.table.columns, &d.table.rows)/> }.into_any(),
                PanelKind::Stat => {
                    let value = d.table.rows.first().and_then(|r| r.first()).map(cell_text).unwrap_or("–".into());
                    let label = d.table.columns.first().map(|c| c.0.clone()).unwrap_or_default();
                    view! { <Stat value label/> }.into_any()
                }
                PanelKind::Table => view! { <ResultTable result=d.table/> }.into_any(),
            })}
        </section>
    }
}
