//! # headroom-ui
//!
//! Owns the web UI: a Leptos 0.8 app rendered on the server and hydrated in the browser.
//!
//! - Feature `ssr` (the `headroom` binary): [`server::router`] serves every page on the API
//!   port, the server functions the pages call ([`api`]), the wasm bundle under `/pkg`, and
//!   the dashboards store ([`server::dashboards`]: JSON files in the data directory).
//! - Feature `hydrate` (the wasm bundle, built by `headroom.sh`): [`hydrate`] attaches the same
//!   components to the server-rendered HTML, after which navigation, filters, the time range
//!   and auto-refresh run in the browser without full reloads.
//!
//! Data flow: page component → `Resource` keyed by the URL's query (time range, filters) →
//! server function → `headroom-query` → DataFusion. On the server the function runs in
//! process during rendering; in the browser it is a POST to `/ui/fn/…` with a JSON body.
//! Every page's resources are created together, so they load concurrently.
//!
//! The URL holds all view state (`from`, `to`, `refresh`, filters), so a link reproduces the
//! view. Charts are Leptos components drawing SVG ([`chart`]); there is no JavaScript chart
//! library. Server-only code (query engine, files) never reaches the wasm bundle: it sits
//! behind `#[cfg(feature = "ssr")]` or inside server function bodies.

pub mod api;
pub mod app;
pub mod chart;
pub mod dashboard;
pub mod format;
mod pages;
mod timerange;
mod widgets;

#[cfg(feature = "ssr")]
pub mod server;

/// Entry point of the wasm bundle: hydrates the server-rendered page.
#[cfg(feature = "hydrate")]
#[allow(unsafe_code)]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
