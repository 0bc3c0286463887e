//! The dashboard editor: title, variables and panels (kind, SQL or built-in query) of a
//! draft copy; Save stores it (the built-in dashboard is saved as a new copy), Delete
//! removes it. Rows re-render only when their count changes, so typing never loses focus.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_navigate;

use crate::api::{delete_dashboard, error_text, save_dashboard};
use crate::dashboard::{BUILTINS, Dashboard, Panel, PanelKind, PanelQuery, Variable};
use crate::timerange::{use_link, use_set_params};
use crate::widgets::ErrorBox;

#[component]
pub(super) fn Editor(dashboard: Dashboard, version: RwSignal<u32>) -> impl IntoView {
    let builtin = dashboard.builtin;
    let draft = RwSignal::new(if builtin {
        Dashboard {
            title: format!("{} (copy)", dashboard.title),
            ..dashboard.clone()
        }
    } else {
        dashboard.clone()
    });
    let error = RwSignal::new(None::<String>);
    let saving = RwSignal::new(false);
    let navigate = use_navigate();
    let link = use_link();
    let set = use_set_params();
    let panels = Memo::new(move |_| draft.with(|d| d.panels.len()));
    let variables = Memo::new(move |_| draft.with(|d| d.variables.len()));

    let save = {
        let navigate = navigate.clone();
        let set = set.clone();
        move |_| {
            let d = draft.get_untracked();
            let old_id = d.id.clone();
            let navigate = navigate.clone();
            let set = set.clone();
            saving.set(true);
            spawn_local(async move {
                match save_dashboard(d).await {
                    Ok(id) if id == old_id => {
                        version.update(|v| *v += 1);
                        set(vec![("edit", None)]);
                    }
                    Ok(id) => {
                        navigate(&link(&format!("/dashboards/{id}"), &[]), Default::default())
                    }
                    Err(e) => error.set(Some(error_text(&e))),
                }
                saving.set(false);
            });
        }
    };
    let delete = {
        let navigate = navigate.clone();
        let id = dashboard.id.clone();
        move |_| {
            let confirmed = window()
                .confirm_with_message("Delete this dashboard?")
                .unwrap_or(false);
            if !confirmed {
                return;
            }
            let navigate = navigate.clone();
            let id = id.clone();
            spawn_local(async move {
                match delete_dashboard(id).await {
                    Ok(()) => navigate(&link("/dashboards", &[]), Default::default()),
                    Err(e) => error.set(Some(error_text(&e))),
                }
            });
        }
    };
    let cancel = move |_| set(vec![("edit", None)]);

    view! {
        <div class="editor">
            <div class="row">
                <label class="grow">"Title "
                    <input name="title" class="title-input" prop:value=move || draft.with(|d| d.title.clone())
                        on:input=move |ev| draft.update(|d| d.title = event_target_value(&ev))/>
                </label>
                <button type="button" class="primary" on:click=save disabled=move || saving.get()>
                    {if builtin { "Save as new dashboard" } else { "Save" }}
                </button>
                <button type="button" on:click=cancel>"Cancel"</button>
                {(!builtin).then(|| view! { <button type="button" class="danger" on:click=delete>"Delete"</button> })}
            </div>
            {move || error.get().map(|m| view! { <ErrorBox message=m/> })}
            <h2>"Variables"</h2>
            <p class="muted small">"Use them in SQL as $name. The time range is $__from, $__to; $__interval suits date_bin."</p>
            {move || (0..variables.get()).map(|i| view! { <VariableRow draft i/> }).collect_view()}
            <button type="button" on:click=move |_| draft.update(|d| d.variables.push(Variable { name: format!("var{}", d.variables.len() + 1), ..Variable::default() }))>"Add variable"</button>
            <h2>"Panels"</h2>
            {move || (0..panels.get()).map(|i| view! { <PanelRow draft i/> }).collect_view()}
            <button type="button" data-testid="add-panel" on:click=move |_| draft.update(|d| d.panels.push(Panel::default()))>"Add panel"</button>
        </div>
    }
}

#[component]
fn VariableRow(draft: RwSignal<Dashboard>, i: usize) -> impl IntoView {
    let get = move |f: fn(&Variable) -> String| {
        move || draft.with(|d| d.variables.get(i).map(f).unwrap_or_default())
    };
    view! {
        <div class="edit-row">
            <label>"Name "<input prop:value=get(|v| v.name.clone()) on:input=move |ev| draft.update(|d| if let Some(v) = d.variables.get_mut(i) { v.name = event_target_value(&ev) })/></label>
            <label>"Default "<input prop:value=get(|v| v.default.clone()) on:input=move |ev| draft.update(|d| if let Some(v) = d.variables.get_mut(i) { v.default = event_target_value(&ev) })/></label>
            <label class="grow">"Choices (SQL, optional) "<input class="mono" prop:value=get(|v| v.query.clone()) on:input=move |ev| draft.update(|d| if let Some(v) = d.variables.get_mut(i) { v.query = event_target_value(&ev) })/></label>
            <button type="button" aria-label="Remove variable" on:click=move |_| draft.update(|d| { if i < d.variables.len() { d.variables.remove(i); } })>"✕"</button>
        </div>
    }
}

#[component]
fn PanelRow(draft: RwSignal<Dashboard>, i: usize) -> impl IntoView {
    let with_panel = move |f: &dyn Fn(&mut Panel)| {
        draft.update(|d| {
            if let Some(p) = d.panels.get_mut(i) {
                f(p)
            }
        })
    };
    let is_sql = Memo::new(move |_| {
        draft.with(|d| {
            matches!(
                d.panels.get(i).map(|p| &p.query),
                Some(PanelQuery::Sql { .. })
            )
        })
    });
    let kind = move || draft.with(|d| d.panels.get(i).map(|p| p.kind.as_str()).unwrap_or("table"));
    let query_fields = move || {
        if is_sql.get() {
            view! {
                <label class="grow">"SQL "
                    <textarea class="mono panel-sql" rows="4" spellcheck="false"
                        prop:value=move || draft.with(|d| match d.panels.get(i).map(|p| &p.query) { Some(PanelQuery::Sql { sql }) => sql.clone(), _ => String::new() })
                        on:input=move |ev| { let v = event_target_value(&ev); with_panel(&|p| p.query = PanelQuery::Sql { sql: v.clone() }) }></textarea>
                </label>
            }
            .into_any()
        } else {
            let field = move |which: bool| {
                move || {
                    draft.with(|d| match d.panels.get(i).map(|p| &p.query) {
                        Some(PanelQuery::Builtin { name, service }) => {
                            if which {
                                name.clone()
                            } else {
                                service.clone()
                            }
                        }
                        _ => String::new(),
                    })
                }
            };
            view! {
                <label>"Query "
                    <select prop:value=field(true) on:change=move |ev| { let v = event_target_value(&ev); with_panel(&|p| if let PanelQuery::Builtin { name, .. } = &mut p.query { *name = v.clone() }) }>
                        {BUILTINS.iter().map(|b| view! { <option value=*b>{*b}</option> }).collect_view()}
                    </select>
                </label>
                <label>"Service "
                    <input prop:value=field(false) placeholder="$service" on:input=move |ev| { let v = event_target_value(&ev); with_panel(&|p| if let PanelQuery::Builtin { service, .. } = &mut p.query { *service = v.clone() }) }/>
                </label>
            }
            .into_any()
        }
    };
    view! {
        <div class="edit-panel">
            <div class="edit-row">
                <label class="grow">"Title "<input class="panel-title" prop:value=move || draft.with(|d| d.panels.get(i).map(|p| p.title.clone()).unwrap_or_default())
                    on:input=move |ev| { let v = event_target_value(&ev); with_panel(&|p| p.title = v.clone()) }/></label>
                <label>"Kind "
                    <select class="panel-kind" prop:value=kind on:change=move |ev| { let v = PanelKind::parse(&event_target_value(&ev)); with_panel(&|p| p.kind = v) }>
                        <option value="time_series">"Time series"</option>
                        <option value="bar">"Bar"</option>
                        <option value="stat">"Stat"</option>
                        <option value="table">"Table"</option>
                    </select>
                </label>
                <label>"Source "
                    <select prop:value=move || if is_sql.get() { "sql" } else { "builtin" } on:change=move |ev| {
                        let sql = event_target_value(&ev) == "sql";
                        with_panel(&|p| p.query = if sql { Panel::default().query } else { PanelQuery::Builtin { name: "rate".into(), service: "$service".into() } })
                    }>
                        <option value="sql">"SQL"</option>
                        <option value="builtin">"Built-in"</option>
                    </select>
                </label>
                <button type="button" aria-label="Move panel up" disabled=i == 0 on:click=move |_| draft.update(|d| if i > 0 && i < d.panels.len() { d.panels.swap(i - 1, i) })>"↑"</button>
                <button type="button" aria-label="Remove panel" on:click=move |_| draft.update(|d| { if i < d.panels.len() { d.panels.remove(i); } })>"✕"</button>
            </div>
            <div class="edit-row">{query_fields}</div>
        </div>
    }
}
