//! The time-series chart: lines over a time axis, a hover tooltip with exact values, drag
//! across the plot to zoom the global time range, and a legend whose entries toggle series.

use std::sync::Arc;

use leptos::prelude::*;
use wasm_bindgen::JsCast;

use super::{Series, color, nice_ticks, time_ticks};
use crate::format::{self, LocalTime};
use crate::timerange::use_set_params;

const X0: f64 = 64.0;
const Y0: f64 = 10.0;

/// How a value of a chart with this unit reads.
pub fn value_text(v: f64, unit: &str) -> String {
    match unit {
        "ms" => format::ms(Some(v)),
        "s" => format::ms(Some(v * 1000.0)),
        "By" => format::bytes(v),
        "%" => format::pct(v),
        "" => format::num(v),
        u => format!("{} {u}", format::num(v)),
    }
}

fn nearest(points: &[(i64, Option<f64>)], t: i64) -> Option<(i64, f64)> {
    let i = points.partition_point(|p| p.0 < t);
    [i.checked_sub(1), Some(i)]
        .into_iter()
        .flatten()
        .filter_map(|i| points.get(i))
        .min_by_key(|p| (p.0 - t).abs())
        .and_then(|p| Some((p.0, p.1?)))
}

/// Fraction of the element's width at the pointer, in [0, 1].
fn pointer_fraction(ev: &web_sys::PointerEvent) -> Option<f64> {
    let el = ev.current_target()?.dyn_into::<web_sys::Element>().ok()?;
    let r = el.get_bounding_client_rect();
    (r.width() > 0.0).then(|| ((f64::from(ev.client_x()) - r.left()) / r.width()).clamp(0.0, 1.0))
}

#[component]
pub fn TimeChart(
    series: Vec<Series>,
    from_ms: i64,
    to_ms: i64,
    /// `ms`, `%` (values are ratios), `/s`, or any unit text.
    #[prop(into, optional)]
    unit: String,
    #[prop(optional)] height: Option<u32>,
    /// Width in SVG units (the chart scales to its box): smaller for small panels, so
    /// labels stay readable.
    #[prop(optional)]
    width: Option<u32>,
) -> impl IntoView {
    let h = f64::from(height.unwrap_or(220));
    let w_units = f64::from(width.unwrap_or(800));
    let x1 = w_units - 14.0;
    let y1 = h - 24.0;
    let series = Arc::new(series);
    let has_data = series
        .iter()
        .any(|s| s.points.iter().any(|p| p.1.is_some()));
    if !has_data {
        return view! { <div class="chart-empty" style:height=format!("{h}px")>"No data in this range"</div> }
            .into_any();
    }
    let unit = Arc::new(unit);
    let span = (to_ms - from_ms).max(1) as f64;
    let x_of = move |t: i64| X0 + (t - from_ms) as f64 / span * (x1 - X0);
    let hidden = RwSignal::new(Vec::<usize>::new());
    let hover = RwSignal::new(None::<f64>);
    let drag = RwSignal::new(None::<(f64, f64)>);
    let local = use_context::<LocalTime>();
    let is_local = move || local.is_some_and(|l| l.0.get());
    let set_params = use_set_params();

    // Value axis from the visible series.
    let scale = {
        let series = Arc::clone(&series);
        Memo::new(move |_| {
            let hidden = hidden.get();
            let (mut lo, mut hi) = (0.0f64, f64::MIN);
            for (i, s) in series.iter().enumerate() {
                if hidden.contains(&i) {
                    continue;
                }
                for v in s.points.iter().filter_map(|p| p.1) {
                    lo = lo.min(v);
                    hi = hi.max(v);
                }
            }
            if hi == f64::MIN {
                hi = 1.0;
            }
            nice_ticks(lo, hi, 4)
        })
    };
    let y_of = move |v: f64, ticks: &[f64]| {
        let (lo, hi) = (ticks[0], *ticks.last().unwrap_or(&1.0));
        y1 - (v - lo) / (hi - lo).max(f64::MIN_POSITIVE) * (y1 - Y0)
    };

    let lines = {
        let series = Arc::clone(&series);
        move || {
            let ticks = scale.get();
            let hidden = hidden.get();
            series
                .iter()
                .enumerate()
                .filter(|(i, _)| !hidden.contains(i))
                .map(|(i, s)| {
                    let mut d = String::new();
                    let mut pen_down = false;
                    for (t, v) in &s.points {
                        match v {
                            Some(v) => {
                                let cmd = if pen_down { 'L' } else { 'M' };
                                d.push_str(&format!("{cmd}{:.1},{:.1}", x_of(*t), y_of(*v, &ticks)));
                                pen_down = true;
                            }
                            None => pen_down = false,
                        }
                    }
                    view! { <path d=d fill="none" stroke=color(i) stroke-width="1.6" stroke-linejoin="round"/> }
                })
                .collect_view()
        }
    };
    let y_axis = {
        let unit = Arc::clone(&unit);
        move || {
            let ticks = scale.get();
            ticks
                .iter()
                .map(|v| {
                    let y = y_of(*v, &ticks);
                    view! {
                        <line class="grid" x1=X0 x2=x1 y1=y y2=y/>
                        <text class="tick" x=X0 - 6.0 y=y + 4.0 text-anchor="end">{value_text(*v, &unit)}</text>
                    }
                })
                .collect_view()
        }
    };
    let x_axis = move || {
        time_ticks(from_ms, to_ms, 7, is_local())
            .into_iter()
            .map(|(t, label)| {
                let x = x_of(t);
                view! {
                    <line class="grid" x1=x x2=x y1=Y0 y2=y1/>
                    <text class="tick" x=x y=y1 + 16.0 text-anchor="middle">{label}</text>
                }
            })
            .collect_view()
    };
    let t_at = move |f: f64| from_ms + (f * span) as i64;
    let tooltip = {
        let series = Arc::clone(&series);
        let unit = Arc::clone(&unit);
        move || {
            let f = hover.get()?;
            if drag.get().is_some() {
                return None;
            }
            let t = t_at(f);
            let hidden = hidden.get();
            let rows: Vec<_> = series
                .iter()
                .enumerate()
                .filter(|(i, _)| !hidden.contains(i))
                .filter_map(|(i, s)| Some((i, s.name.clone(), nearest(&s.points, t)?)))
                .collect();
            let at = rows.first().map(|r| r.2.0).unwrap_or(t);
            let left = (X0 + f * (x1 - X0)) / w_units * 100.0;
            let flip = f > 0.6;
            Some(view! {
                <div class="tooltip" style:left=format!("{left:.2}%") class:flip=flip role="status">
                    <div class="tooltip-time">{format::datetime(at, is_local())}</div>
                    {rows.into_iter().map(|(i, name, (_, v))| view! {
                        <div class="tooltip-row">
                            <span class="swatch" style:background=color(i)></span>
                            <span class="tooltip-name">{name}</span>
                            <b>{value_text(v, &unit)}</b>
                        </div>
                    }).collect_view()}
                </div>
            })
        }
    };
    let cursor = move || {
        let f = hover.get()?;
        let x = X0 + f * (x1 - X0);
        Some(view! { <line class="cursor" x1=x x2=x y1=Y0 y2=y1/> })
    };
    let selection = move || {
        let (a, b) = drag.get()?;
        let (a, b) = (a.min(b), a.max(b));
        Some(
            view! { <rect class="selection" x=X0 + a * (x1 - X0) y=Y0 width=(b - a) * (x1 - X0) height=y1 - Y0/> },
        )
    };
    let on_down = move |ev: web_sys::PointerEvent| {
        if ev.button() != 0 {
            return;
        }
        if let Some(f) = pointer_fraction(&ev) {
            if let Some(el) = ev
                .current_target()
                .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            {
                let _ = el.set_pointer_capture(ev.pointer_id());
            }
            drag.set(Some((f, f)));
        }
    };
    let on_move = move |ev: web_sys::PointerEvent| {
        let Some(f) = pointer_fraction(&ev) else {
            return;
        };
        hover.set(Some(f));
        drag.update(|d| {
            if let Some(d) = d {
                d.1 = f;
            }
        });
    };
    let on_up = move |_ev: web_sys::PointerEvent| {
        if let Some((a, b)) = drag.get_untracked() {
            drag.set(None);
            let (a, b) = (a.min(b), a.max(b));
            if b - a > 0.01 {
                set_params(vec![
                    ("from", Some(t_at(a).to_string())),
                    ("to", Some(t_at(b).to_string())),
                ]);
            }
        }
    };
    let legend = series
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let off = move || hidden.get().contains(&i);
            view! {
                <button type="button" class="legend-item" class:off=off aria-pressed=move || (!off()).to_string()
                    title="Show or hide this series"
                    on:click=move |_| hidden.update(|h| if let Some(p) = h.iter().position(|x| *x == i) { h.remove(p); } else { h.push(i); })>
                    <span class="swatch" style:background=color(i)></span>
                    {s.name.clone()}
                </button>
            }
        })
        .collect_view();
    view! {
        <div class="chart">
            <svg viewBox=format!("0 0 {w_units} {h}") role="img" aria-label="time series chart">
                {y_axis}
                {x_axis}
                {lines}
                {cursor}
                {selection}
                <rect class="hit" x=X0 y=Y0 width=x1 - X0 height=y1 - Y0 fill="transparent"
                    on:pointerdown=on_down on:pointermove=on_move on:pointerup=on_up
                    on:pointerleave=move |_| hover.set(None)/>
            </svg>
            {tooltip}
            <div class="legend">{legend}</div>
        </div>
    }
    .into_any()
}
