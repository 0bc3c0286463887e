//! View state in the URL: the global time range (`from`, `to`), auto-refresh (`refresh`)
//! and each page's filters. Reading goes through [`use_query_map`]; writing navigates to
//! the same path with the changed parameters, so the browser's history and a copied link
//! both reproduce the view.

use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::hooks::{use_location, use_navigate, use_query_map};
use leptos_router::params::ParamsMap;

/// The quick ranges of the picker: `from` value and label.
pub const QUICK_RANGES: [(&str, &str); 6] = [
    ("now-15m", "Last 15 minutes"),
    ("now-1h", "Last hour"),
    ("now-6h", "Last 6 hours"),
    ("now-24h", "Last 24 hours"),
    ("now-7d", "Last 7 days"),
    ("now-30d", "Last 30 days"),
];

/// Auto-refresh choices: URL value, label, period in ms (0 = off).
pub const REFRESH: [(&str, &str, u64); 4] = [
    ("off", "Off", 0),
    ("10s", "10s", 10_000),
    ("30s", "30s", 30_000),
    ("1m", "1m", 60_000),
];

pub const DEFAULT_FROM: &str = "now-1h";
pub const DEFAULT_TO: &str = "now";

/// The global time range as the URL states it (unresolved: `now-1h`, epoch ms, RFC 3339).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimeRange {
    pub from: String,
    pub to: String,
}

impl TimeRange {
    pub fn from_query(q: &ParamsMap) -> Self {
        let get = |k: &str, d: &str| q.get(k).filter(|v| !v.is_empty()).unwrap_or(d.into());
        Self {
            from: get("from", DEFAULT_FROM),
            to: get("to", DEFAULT_TO),
        }
    }
}

/// Bumped by auto-refresh; resources include it in their keys to refetch.
#[derive(Clone, Copy)]
pub struct RefreshTick(pub RwSignal<u64>);

/// The time range of the current URL, plus the refresh tick so that keys built from it
/// change on every auto-refresh.
pub fn use_time_range() -> Memo<(TimeRange, u64)> {
    let query = use_query_map();
    let tick = use_context::<RefreshTick>().map(|t| t.0);
    Memo::new(move |_| {
        (
            TimeRange::from_query(&query.read()),
            tick.map(|t| t.get()).unwrap_or_default(),
        )
    })
}

/// One URL parameter, `""` when absent.
pub fn use_param(name: &'static str) -> Memo<String> {
    let query = use_query_map();
    Memo::new(move |_| query.read().get(name).unwrap_or_default())
}

/// `map` with `changes` applied (`None` or `""` removes a parameter), as `?a=b&…`.
pub fn with_params(map: &ParamsMap, changes: &[(&str, Option<String>)]) -> String {
    let mut map = map.clone();
    for (k, v) in changes {
        map.remove(k);
        if let Some(v) = v.as_ref().filter(|v| !v.is_empty()) {
            map.insert(k.to_string(), v.clone());
        }
    }
    map.to_query_string()
}

/// A function that navigates to the current path with some parameters changed.
pub fn use_set_params() -> impl Fn(Vec<(&'static str, Option<String>)>) + Clone + 'static {
    let set = use_set_params_owned();
    move |changes: Vec<(&'static str, Option<String>)>| {
        set(changes
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect())
    }
}

/// [`use_set_params`] for parameter names built at run time.
pub fn use_set_params_owned() -> impl Fn(Vec<(String, Option<String>)>) + Clone + 'static {
    let navigate = use_navigate();
    let location = use_location();
    let query = use_query_map();
    move |changes: Vec<(String, Option<String>)>| {
        let path = location.pathname.get_untracked();
        let changes: Vec<(&str, Option<String>)> = changes
            .iter()
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        let q = with_params(&query.get_untracked(), &changes);
        navigate(
            &format!("{path}{q}"),
            NavigateOptions {
                scroll: false,
                ..Default::default()
            },
        );
    }
}

/// A link to `path` that keeps the global time range and refresh setting of the current
/// URL and sets `extra` parameters.
pub fn use_link() -> impl Fn(&str, &[(&str, &str)]) -> String + Copy + 'static {
    let query = use_query_map();
    move |path, extra| {
        let q = query.read();
        let mut map = ParamsMap::new();
        for k in ["from", "to", "refresh"] {
            if let Some(v) = q.get(k) {
                map.insert(k.to_string(), v);
            }
        }
        for (k, v) in extra {
            if !v.is_empty() {
                map.insert(k.to_string(), v.to_string());
            }
        }
        format!("{path}{}", map.to_query_string())
    }
}
