//! The server half (feature `ssr`): the axum router that renders pages, answers server
//! functions and serves the wasm bundle, plus the dashboards store and JSON routes.

pub mod dashboards;
mod error;
pub mod fns;
mod routes;

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderValue, header};
use headroom_query::QueryEngine;
use leptos::prelude::*;
use leptos_axum::{LeptosRoutes, generate_route_list};
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

pub use dashboards::DashboardStore;
pub use error::{Error, Result};

use crate::app::{App, shell};

/// The name of the wasm bundle's files: `pkg/headroom_ui.js`, `pkg/headroom_ui_bg.wasm`.
pub const OUTPUT_NAME: &str = "headroom_ui";

/// What the UI needs from the binary's wiring.
#[derive(Debug, Clone)]
pub struct UiConfig {
    /// Directory holding `pkg/` (the wasm bundle built by `headroom.sh`). Without it pages
    /// still render on the server, but nothing is interactive.
    pub site_dir: PathBuf,
    /// Where saved dashboards live (one JSON file each).
    pub dashboards_dir: PathBuf,
}

/// Shared with every page render and server function through Leptos context.
#[derive(Clone)]
pub struct UiState {
    pub engine: Arc<QueryEngine>,
    pub dashboards: DashboardStore,
}

/// Every UI route: pages, `/ui/fn/*` server functions, `/pkg/*` assets and
/// `/api/v1/dashboards` (export/import as JSON).
pub fn router(engine: Arc<QueryEngine>, config: &UiConfig) -> Router {
    let bundle = config
        .site_dir
        .join("pkg")
        .join(format!("{OUTPUT_NAME}_bg.wasm"));
    if !bundle.exists() {
        tracing::warn!(path = %bundle.display(), "wasm bundle not found: pages render but do not hydrate (build it with ./headroom.sh setup)");
    }
    let options = LeptosOptions::builder()
        .output_name(OUTPUT_NAME)
        .site_root(config.site_dir.to_string_lossy().to_string())
        .site_pkg_dir("pkg")
        .env(leptos::config::Env::PROD)
        .build();
    let state = UiState {
        engine,
        dashboards: DashboardStore::new(config.dashboards_dir.clone()),
    };
    let routes = generate_route_list(App);
    let context = {
        let state = state.clone();
        move || provide_context(state.clone())
    };
    // Assets are revalidated on every load: the bundle changes with each build.
    let pkg = Router::new()
        .fallback_service(ServeDir::new(config.site_dir.join("pkg")).precompressed_gzip())
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache"),
        ));
    Router::new()
        .leptos_routes_with_context(&options, routes, context, {
            let options = options.clone();
            move || shell(options.clone())
        })
        .with_state(options)
        .nest("/pkg", pkg)
        .merge(routes::router(state))
}
