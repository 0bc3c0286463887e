//! The app: HTML shell, top bar (navigation, time range, refresh, theme) and routes.

use std::time::Duration;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Title, provide_meta_context};
use leptos_router::components::{A, Route, Router, Routes};
use leptos_router::path;

use crate::format::LocalTime;
use crate::pages;
use crate::timerange::{REFRESH, RefreshTick, use_link, use_param};
use crate::widgets::{RefreshPicker, ThemeToggle, TimePicker};

/// The stylesheet, inlined in every page: one round trip fewer, and small (≈ 10 KB).
const CSS: &str = include_str!("style.css");

/// A small inline icon (saves the browser a request that would 404).
const FAVICON: &str = "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E%3Cpath d='M1 13 6 7l3 3 6-7' fill='none' stroke='%232563eb' stroke-width='2'/%3E%3C/svg%3E";

/// Applies the saved theme before first paint (no flash of the wrong theme).
const THEME_SCRIPT: &str = "try{var t=localStorage.getItem('headroom-theme');if(t)document.documentElement.setAttribute('data-theme',t)}catch(e){}";

/// The whole HTML document around [`App`].
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <link rel="icon" href=FAVICON/>
                <script>{THEME_SCRIPT}</script>
                <style>{CSS}</style>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let local = RwSignal::new(false);
    provide_context(LocalTime(local));
    // Effects run only in the browser, after hydration: from now on, local time.
    // It also marks the document as hydrated, for tests and for CSS.
    Effect::new(move |_| {
        local.set(true);
        if let Some(root) = document().document_element() {
            let _ = root.set_attribute("data-hydrated", "1");
        }
    });
    let tick = RwSignal::new(0u64);
    provide_context(RefreshTick(tick));

    view! {
        <Title text="Headroom"/>
        <Router>
            <AutoRefresh tick/>
            <TopBar/>
            <main id="main">
                <Routes fallback=|| view! { <pages::NotFound/> }>
                    <Route path=path!("/") view=pages::services::ServicesPage/>
                    <Route path=path!("/services/:name") view=pages::service::ServicePage/>
                    <Route path=path!("/traces") view=pages::traces::TracesPage/>
                    <Route path=path!("/traces/:id") view=pages::trace::TracePage/>
                    <Route path=path!("/logs") view=pages::logs::LogsPage/>
                    <Route path=path!("/explore/metrics") view=pages::metrics::MetricsPage/>
                    <Route path=path!("/sql") view=pages::sql::SqlPage/>
                    <Route path=path!("/dashboards") view=pages::dashboards::DashboardsPage/>
                    <Route path=path!("/dashboards/:id") view=pages::dashboards::DashboardPage/>
                    <Route path=path!("/alerts") view=pages::AlertsPage/>
                    <Route path=path!("/capacity") view=pages::CapacityPage/>
                </Routes>
            </main>
        </Router>
    }
}

/// Bumps `tick` every refresh period while the URL asks for auto-refresh.
#[component]
fn AutoRefresh(tick: RwSignal<u64>) -> impl IntoView {
    let refresh = use_param("refresh");
    Effect::new(move |prev: Option<Option<IntervalHandle>>| {
        if let Some(Some(handle)) = prev {
            handle.clear();
        }
        let period = REFRESH
            .iter()
            .find(|(v, _, _)| *v == refresh.get())
            .map(|r| r.2)
            .unwrap_or(0);
        (period > 0)
            .then(|| {
                set_interval_with_handle(
                    move || tick.update(|t| *t += 1),
                    Duration::from_millis(period),
                )
                .ok()
            })
            .flatten()
    });
}

#[component]
fn TopBar() -> impl IntoView {
    let link = use_link();
    let nav = [
        ("/", "Services"),
        ("/traces", "Traces"),
        ("/logs", "Logs"),
        ("/explore/metrics", "Metrics"),
        ("/sql", "SQL"),
        ("/dashboards", "Dashboards"),
        ("/alerts", "Alerts"),
        ("/capacity", "Capacity"),
    ];
    view! {
        <a class="skip" href="#main">"Skip to content"</a>
        <header class="topbar">
            <A href=move || link("/", &[]) attr:class="brand">"Headroom"</A>
            <nav aria-label="Main">
                {nav
                    .into_iter()
                    .map(|(path, label)| view! { <A href=move || link(path, &[]) exact=true>{label}</A> })
                    .collect_view()}
            </nav>
            <div class="topbar-right">
                <TimePicker/>
                <RefreshPicker/>
                <ThemeToggle/>
            </div>
        </header>
    }
}
