//! Small charts: sparklines for tables, horizontal bars, and a single stat.

use leptos::prelude::*;

use super::time::value_text;
use super::{color, nice_ticks};

/// A tiny line of `values` (gaps allowed), scaled to its own maximum. The title carries the
/// latest and peak values for hover and screen readers.
#[component]
pub fn Sparkline(
    values: Vec<Option<f64>>,
    #[prop(into, optional)] unit: String,
    #[prop(optional)] alert: bool,
) -> impl IntoView {
    let (w, h) = (120.0, 28.0);
    let max = values.iter().flatten().fold(0.0f64, |a, b| a.max(*b));
    let n = values.len().max(2) - 1;
    let mut d = String::new();
    let mut pen = false;
    for (i, v) in values.iter().enumerate() {
        match v {
            Some(v) => {
                let x = i as f64 / n as f64 * w;
                let y = h - 2.0 - if max > 0.0 { v / max * (h - 4.0) } else { 0.0 };
                d.push_str(&format!("{}{x:.1},{y:.1}", if pen { 'L' } else { 'M' }));
                pen = true;
            }
            None => pen = false,
        }
    }
    let last = values.iter().rev().flatten().next().copied();
    let title = format!(
        "latest {}, peak {}",
        last.map(|v| value_text(v, &unit)).unwrap_or("–".into()),
        value_text(max, &unit)
    );
    let title_text = title.clone();
    view! {
        <svg class="spark" class:spark-alert=alert viewBox=format!("0 0 {w} {h}") width="120" height="28" role="img" aria-label=title.clone()>
            <title>{title_text}</title>
            <path d=d fill="none" stroke-width="1.4"/>
        </svg>
    }
}

/// Horizontal bars, one per label, longest first as given.
#[component]
pub fn BarChart(bars: Vec<(String, f64)>, #[prop(into, optional)] unit: String) -> impl IntoView {
    if bars.is_empty() {
        return view! { <div class="chart-empty">"No data in this range"</div> }.into_any();
    }
    let max = bars.iter().fold(0.0f64, |a, b| a.max(b.1));
    let top = *nice_ticks(0.0, max, 4).last().unwrap_or(&1.0);
    view! {
        <div class="bars" role="list">
            {bars
                .into_iter()
                .enumerate()
                .map(|(i, (label, v))| {
                    let w = if top > 0.0 { (v / top * 100.0).max(0.0) } else { 0.0 };
                    let tip = label.clone();
                    view! {
                        <div class="bar-row" role="listitem">
                            <span class="bar-label" title=tip>{label}</span>
                            <span class="bar-track">
                                <span class="bar" style:width=format!("{w:.2}%") style:background=color(i)></span>
                            </span>
                            <span class="bar-value">{value_text(v, &unit)}</span>
                        </div>
                    }
                })
                .collect_view()}
        </div>
    }
    .into_any()
}

/// One big number with its label.
#[component]
pub fn Stat(#[prop(into)] value: String, #[prop(into)] label: String) -> impl IntoView {
    view! {
        <div class="stat">
            <div class="stat-value">{value}</div>
            <div class="stat-label">{label}</div>
        </div>
    }
}
