//! One module per page. Each page reads its view state from the URL, creates all of its
//! resources at once (they load concurrently), and renders them as they arrive.

pub(crate) mod dashboards;
pub(crate) mod logs;
pub(crate) mod metrics;
pub(crate) mod service;
pub(crate) mod services;
pub(crate) mod sql;
pub(crate) mod trace;
pub(crate) mod traces;

use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub(crate) fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(resp) = use_context::<leptos_axum::ResponseOptions>() {
        resp.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Not found · Headroom"/>
        <h1>"Page not found"</h1>
        <p><a href="/">"Back to services"</a></p>
    }
}

/// Navigation slot: filled by the alerts issue.
#[component]
pub(crate) fn AlertsPage() -> impl IntoView {
    view! {
        <Title text="Alerts · Headroom"/>
        <h1>"Alerts"</h1>
        <p class="muted">"Symptom-based alerts (SLO burn rates) are not built yet: this page is reserved for them."</p>
    }
}

/// Navigation slot: filled by the capacity issue.
#[component]
pub(crate) fn CapacityPage() -> impl IntoView {
    view! {
        <Title text="Capacity · Headroom"/>
        <h1>"Capacity"</h1>
        <p class="muted">"Growth forecasts are not built yet: this page is reserved for them."</p>
    }
}
