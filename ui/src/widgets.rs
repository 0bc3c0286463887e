//! Small shared pieces: loading and error states, the time range and refresh pickers, the
//! theme toggle, and the async section helper every page uses.

use leptos::prelude::*;
use leptos::server_fn::error::ServerFnError;
use wasm_bindgen::JsCast;

use crate::api::error_text;
use crate::format::{self, LocalTime};
use crate::timerange::{
    QUICK_RANGES, REFRESH, TimeRange, use_param, use_set_params, use_time_range,
};

#[component]
pub fn Loading() -> impl IntoView {
    view! { <div class="loading" role="status" aria-live="polite">"Loading…"</div> }
}

#[component]
pub fn ErrorBox(#[prop(into)] message: String) -> impl IntoView {
    view! { <div class="error" role="alert">{message}</div> }
}

/// Renders a resource inside a `Transition` (old content stays while a refresh loads):
/// `ok` for data, an error box for errors.
pub fn section<T, V>(
    res: Resource<Result<T, ServerFnError>>,
    ok: impl Fn(T) -> V + Send + Sync + Clone + 'static,
) -> impl IntoView
where
    T: Clone + Send + Sync + serde::Serialize + serde::de::DeserializeOwned + 'static,
    V: IntoView + 'static,
{
    view! {
        <Transition fallback=|| view! { <Loading/> }>
            {move || {
                let ok = ok.clone();
                Suspend::new(async move {
                    match res.await {
                        Ok(v) => ok(v).into_any(),
                        Err(e) => view! { <ErrorBox message=error_text(&e)/> }.into_any(),
                    }
                })
            }}
        </Transition>
    }
}

/// Epoch ms of a `datetime-local` input value, read as the viewer's local time.
fn local_input_ms(value: &str) -> Option<i64> {
    #[cfg(feature = "hydrate")]
    {
        let t = js_sys::Date::new(&wasm_bindgen::JsValue::from_str(value)).get_time();
        (!t.is_nan()).then_some(t as i64)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        chrono::NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M")
            .ok()
            .map(|t| t.and_utc().timestamp_millis())
    }
}

fn input_value(ev: &leptos::ev::Event) -> String {
    ev.target()
        .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        .map(|i| i.value())
        .unwrap_or_default()
}

/// The global time range picker: quick ranges and an absolute from/to.
#[component]
pub fn TimePicker() -> impl IntoView {
    let range = use_time_range();
    let set = use_set_params();
    let set2 = set.clone();
    let local = use_context::<LocalTime>();
    let is_local = move || local.is_some_and(|l| l.0.get());
    let custom_from = RwSignal::new(String::new());
    let custom_to = RwSignal::new(String::new());
    let open = RwSignal::new(false);
    let current = move || {
        let TimeRange { from, to } = range.get().0;
        let quick = QUICK_RANGES
            .iter()
            .find(|(v, _)| *v == from && to == "now")
            .map(|(_, l)| l.to_string());
        quick.unwrap_or_else(|| {
            let show = |v: &str| match v.parse::<i64>() {
                Ok(ms) => format::datetime(ms, is_local())
                    .trim_end_matches(".000")
                    .to_string(),
                Err(_) => v.to_string(),
            };
            format!("{} → {}", show(&from), show(&to))
        })
    };
    view! {
        <div class="picker">
            <label class="sr-only" for="range">"Time range"</label>
            <select id="range" aria-label="Time range"
                on:change=move |ev| {
                    let v = event_target_value(&ev);
                    if v == "custom" { open.set(true); } else { open.set(false); set(vec![("from", Some(v)), ("to", None)]); }
                }
                prop:value=move || {
                    let r = range.get().0;
                    if r.to == "now" && QUICK_RANGES.iter().any(|(v, _)| *v == r.from) { r.from } else { "custom".into() }
                }>
                {QUICK_RANGES.iter().map(|(v, l)| view! { <option value=*v>{*l}</option> }).collect_view()}
                <option value="custom">"Absolute…"</option>
            </select>
            <span class="range-label" data-testid="range-label">{current}</span>
            <Show when=move || open.get()>
                <span class="custom-range">
                    <label>"From "<input type="datetime-local" on:input=move |ev| custom_from.set(input_value(&ev))/></label>
                    <label>"To "<input type="datetime-local" on:input=move |ev| custom_to.set(input_value(&ev))/></label>
                    <button type="button" on:click={
                        let set = set2.clone();
                        move |_| {
                            if let (Some(a), Some(b)) = (local_input_ms(&custom_from.get()), local_input_ms(&custom_to.get()))
                                && b > a
                            {
                                set(vec![("from", Some(a.to_string())), ("to", Some(b.to_string()))]);
                                open.set(false);
                            }
                        }
                    }>"Apply"</button>
                </span>
            </Show>
        </div>
    }
}

/// Auto-refresh: off, 10 s, 30 s, 1 min.
#[component]
pub fn RefreshPicker() -> impl IntoView {
    let refresh = use_param("refresh");
    let set = use_set_params();
    view! {
        <label class="picker">
            <span class="muted">"Refresh"</span>
            <select aria-label="Auto-refresh" prop:value=move || { let r = refresh.get(); if r.is_empty() { "off".to_string() } else { r } }
                on:change=move |ev| {
                    let v = event_target_value(&ev);
                    set(vec![("refresh", (v != "off").then_some(v))]);
                }>
                {REFRESH.iter().map(|(v, l, _)| view! { <option value=*v>{*l}</option> }).collect_view()}
            </select>
        </label>
    }
}

/// Switches light/dark and remembers the choice in `localStorage`.
#[component]
pub fn ThemeToggle() -> impl IntoView {
    let toggle = move |_| {
        let Some(doc) = web_sys::window().and_then(|w| w.document()) else {
            return;
        };
        let Some(root) = doc.document_element() else {
            return;
        };
        let dark = match root.get_attribute("data-theme").as_deref() {
            Some("dark") => true,
            Some(_) => false,
            None => web_sys::window()
                .and_then(|w| w.match_media("(prefers-color-scheme: dark)").ok().flatten())
                .is_some_and(|m| m.matches()),
        };
        let next = if dark { "light" } else { "dark" };
        let _ = root.set_attribute("data-theme", next);
        if let Some(storage) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) {
            let _ = storage.set_item("headroom-theme", next);
        }
    };
    view! {
        <button type="button" class="icon-button" on:click=toggle title="Switch light/dark theme" aria-label="Switch light/dark theme">
            "◐"
        </button>
    }
}

/// Hidden inputs that carry the global time range and refresh setting through a GET form.
#[component]
pub fn KeepRange() -> impl IntoView {
    let q = leptos_router::hooks::use_query_map();
    move || {
        ["from", "to", "refresh"]
            .into_iter()
            .filter_map(|k| {
                q.read()
                    .get(k)
                    .map(|v| view! { <input type="hidden" name=k value=v/> })
            })
            .collect_view()
    }
}

/// The `service` field of a filter form: services with spans in the range, the URL's
/// choice selected.
#[component]
pub fn ServiceSelect() -> impl IntoView {
    let range = use_time_range();
    let current = use_param("service");
    let services = Resource::new(
        move || range.get(),
        |(r, _)| crate::api::service_names(r.from, r.to),
    );
    let options = move || {
        Suspend::new(async move {
            let current = current.get_untracked();
            let names = services.await.unwrap_or_default();
            names
                .into_iter()
                .map(|n| {
                    let selected = n == current;
                    let value = n.clone();
                    view! { <option value=value selected=selected>{n}</option> }
                })
                .collect_view()
        })
    };
    view! {
        <label>"Service "
            <select name="service">
                <option value="">"Any service"</option>
                <Suspense fallback=|| ()>{options}</Suspense>
            </select>
        </label>
    }
}
