//! Axis ticks: "nice" 1-2-5 value steps and calendar-aligned time steps.

use crate::format::{self, Parts};

/// About `target` ticks covering `[lo, hi]` at a 1, 2 or 5 × 10^k step: returns the tick
/// values (the first ≤ lo, the last ≥ hi).
pub fn nice_ticks(lo: f64, hi: f64, target: usize) -> Vec<f64> {
    let (lo, hi) = if hi > lo {
        (lo, hi)
    } else if hi == 0.0 && lo == 0.0 {
        (0.0, 1.0)
    } else {
        (lo - lo.abs() * 0.1, hi + hi.abs() * 0.1)
    };
    let raw = (hi - lo) / target.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    // Ticks are whole multiples of the step, rounded to the step's decimals so that float
    // noise (3 × 0.1 = 0.30000000000000004) never reaches a label.
    let decimals = (-step.log10().floor()).max(0.0) as i32;
    let scale = 10f64.powi(decimals);
    let snap = |k: f64| (k * step * scale).round() / scale;
    let first = (lo / step).floor();
    let mut out = Vec::new();
    let mut k = first;
    while snap(k) < hi + step * 0.5 && out.len() < 50 {
        out.push(snap(k));
        k += 1.0;
    }
    if out.last().is_some_and(|l| *l < hi) {
        out.push(snap(k));
    }
    out
}

const SECOND: i64 = 1000;
const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

/// Candidate time steps in ms.
const STEPS: [i64; 20] = [
    SECOND,
    2 * SECOND,
    5 * SECOND,
    10 * SECOND,
    15 * SECOND,
    30 * SECOND,
    MINUTE,
    2 * MINUTE,
    5 * MINUTE,
    10 * MINUTE,
    15 * MINUTE,
    30 * MINUTE,
    HOUR,
    2 * HOUR,
    3 * HOUR,
    6 * HOUR,
    12 * HOUR,
    DAY,
    2 * DAY,
    7 * DAY,
];

/// Ticks for `[from, to)` ms: at most about `max` of them, aligned to whole steps of the
/// wall clock (local if `local`), each with its label. A tick at a new day shows the date.
pub fn time_ticks(from: i64, to: i64, max: usize, local: bool) -> Vec<(i64, String)> {
    if to <= from {
        return vec![];
    }
    let span = to - from;
    let step = STEPS
        .into_iter()
        .find(|s| span / s <= max as i64)
        .unwrap_or(DAY * (span / DAY / max as i64 + 1));
    // Offset of the wall clock from UTC at `from`: aligning `t + offset` to the step aligns
    // local time.
    let offset = wall_offset(from, local);
    let mut t = (from + offset).div_euclid(step) * step - offset;
    if t < from {
        t += step;
    }
    let mut out = Vec::new();
    let mut last_day = None;
    while t < to && out.len() <= max * 2 {
        let p = format::parts(t, local);
        let day = (p.year, p.month, p.day);
        let label = if step >= DAY {
            format!("{} {}", month(p.month), p.day)
        } else if last_day.is_some_and(|d| d != day) || (last_day.is_none() && span > DAY) {
            format!("{} {} {:02}:{:02}", month(p.month), p.day, p.hour, p.minute)
        } else if step < MINUTE {
            format!("{:02}:{:02}:{:02}", p.hour, p.minute, p.second)
        } else {
            format!("{:02}:{:02}", p.hour, p.minute)
        };
        last_day = Some(day);
        out.push((t, label));
        t += step;
    }
    out
}

/// Wall-clock ms minus UTC ms at `t`.
fn wall_offset(t: i64, local: bool) -> i64 {
    let p: Parts = format::parts(t, local);
    let wall = chrono::NaiveDate::from_ymd_opt(p.year, p.month, p.day)
        .and_then(|d| d.and_hms_milli_opt(p.hour, p.minute, p.second, p.ms))
        .map(|d| d.and_utc().timestamp_millis())
        .unwrap_or(t);
    wall - t
}

fn month(m: u32) -> &'static str {
    [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .get(m.saturating_sub(1) as usize)
    .copied()
    .unwrap_or("?")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_ticks_are_1_2_5_steps_covering_the_range() {
        assert_eq!(
            nice_ticks(0.0, 97.0, 5),
            vec![0.0, 20.0, 40.0, 60.0, 80.0, 100.0]
        );
        assert_eq!(nice_ticks(0.0, 0.3, 3), vec![0.0, 0.1, 0.2, 0.3]);
        assert_eq!(nice_ticks(0.0, 0.0, 4), vec![0.0, 0.5, 1.0]);
        let t = nice_ticks(-3.0, 7.0, 5);
        assert!(t[0] <= -3.0 && *t.last().expect("ticks") >= 7.0);
    }

    #[test]
    fn time_ticks_align_to_the_clock() {
        // 10:07 to 11:07 UTC: 10-minute steps at :10, :20, …
        let from = 1_767_262_020_000; // 2026-01-01T10:07:00Z
        let ticks = time_ticks(from, from + HOUR, 8, false);
        assert_eq!(ticks[0].1, "10:10");
        assert_eq!(ticks[1].0 - ticks[0].0, 10 * MINUTE);
        assert_eq!(ticks.len(), 6);
        // A week: daily ticks with dates.
        let week = time_ticks(from, from + 7 * DAY, 8, false);
        assert_eq!(week[0].1, "Jan 2");
    }
}
