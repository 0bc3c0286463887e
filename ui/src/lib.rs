//! # headroom-ui
//!
//! Will own the web UI: a Leptos 0.8 app rendered on the server (feature `ssr`, served by
//! leptos_axum on the API port) and hydrated in the browser (feature `hydrate`, wasm).
//! It reads through `headroom-query` and `headroom-alerts` only.
//!
//! Not implemented yet: this crate is a placeholder so the workspace layout is fixed. It
//! deliberately has no Leptos dependency until the UI lands, because Leptos changes the
//! feature resolution of shared dependencies (see the toolchain notes).
