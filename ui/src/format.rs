//! Number, duration and time formatting.
//!
//! Times are shown in the viewer's time zone. The server cannot know it, so server-rendered
//! HTML shows UTC (marked as such); once the page hydrates, [`LocalTime`] turns on and every
//! time label re-renders through the browser's `Date` (which also gets DST right per label).

use leptos::prelude::*;

/// Whether time labels use the browser's local time zone (true after hydration).
#[derive(Clone, Copy)]
pub struct LocalTime(pub RwSignal<bool>);

/// Calendar fields of a timestamp: year, month, day, hour, minute, second, ms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Parts {
    pub year: i32,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    pub ms: u32,
}

fn utc_parts(ms: i64) -> Parts {
    use chrono::{Datelike, Timelike};
    let t = chrono::DateTime::<chrono::Utc>::from_timestamp_millis(ms).unwrap_or_default();
    Parts {
        year: t.year(),
        month: t.month(),
        day: t.day(),
        hour: t.hour(),
        minute: t.minute(),
        second: t.second(),
        ms: t.timestamp_subsec_millis(),
    }
}

#[cfg(feature = "hydrate")]
fn local_parts(ms: i64) -> Parts {
    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64));
    Parts {
        year: d.get_full_year() as i32,
        month: d.get_month() + 1,
        day: d.get_date(),
        hour: d.get_hours(),
        minute: d.get_minutes(),
        second: d.get_seconds(),
        ms: d.get_milliseconds(),
    }
}

#[cfg(not(feature = "hydrate"))]
fn local_parts(ms: i64) -> Parts {
    utc_parts(ms)
}

/// The calendar fields of `ms` in local time if `local`, else UTC.
pub fn parts(ms: i64, local: bool) -> Parts {
    if local {
        local_parts(ms)
    } else {
        utc_parts(ms)
    }
}

/// Whether labels should be local now (reactive).
pub fn use_local() -> bool {
    use_context::<LocalTime>().is_some_and(|l| l.0.get())
}

/// `2026-11-23 14:05:09.123` (local) or with a ` UTC` suffix before hydration.
pub fn datetime(ms: i64, local: bool) -> String {
    let p = parts(ms, local);
    format!(
        "{}-{:02}-{:02} {:02}:{:02}:{:02}.{:03}{}",
        p.year,
        p.month,
        p.day,
        p.hour,
        p.minute,
        p.second,
        p.ms,
        if local { "" } else { " UTC" }
    )
}

/// A compact number: 1234 → `1.23k`, 0.0123 → `0.0123`.
pub fn num(v: f64) -> String {
    if !v.is_finite() {
        return "–".into();
    }
    let a = v.abs();
    if a >= 1e9 {
        format!("{:.2}G", v / 1e9)
    } else if a >= 1e6 {
        format!("{:.2}M", v / 1e6)
    } else if a >= 1e4 {
        format!("{:.1}k", v / 1e3)
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else if a == 0.0 {
        "0".into()
    } else {
        format!("{v:.3}")
    }
}

/// Bytes with binary prefixes: `512 B`, `1.5 MiB`.
pub fn bytes(v: f64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = v;
    let mut i = 0;
    while v.abs() >= 1024.0 && i < units.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{v:.0} B")
    } else {
        format!("{v:.1} {}", units[i])
    }
}

/// Milliseconds as `850 µs`, `12.3 ms`, `1.52 s`.
pub fn ms(v: Option<f64>) -> String {
    match v {
        None => "–".into(),
        Some(v) if v < 1.0 => format!("{:.0} µs", v * 1000.0),
        Some(v) if v < 100.0 => format!("{v:.1} ms"),
        Some(v) if v < 1000.0 => format!("{v:.0} ms"),
        Some(v) => format!("{:.2} s", v / 1000.0),
    }
}

/// A ratio as a percentage.
pub fn pct(v: f64) -> String {
    if v == 0.0 {
        "0%".into()
    } else if v < 0.001 {
        format!("{:.3}%", v * 100.0)
    } else {
        format!("{:.2}%", v * 100.0)
    }
}

/// A severity number's level name.
pub fn severity(n: i32) -> &'static str {
    match n {
        1..=4 => "TRACE",
        5..=8 => "DEBUG",
        9..=12 => "INFO",
        13..=16 => "WARN",
        17..=20 => "ERROR",
        21..=24 => "FATAL",
        _ => "UNSET",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(num(1234.0), "1234");
        assert_eq!(num(12345.0), "12.3k");
        assert_eq!(ms(Some(0.5)), "500 µs");
        assert_eq!(ms(Some(1520.0)), "1.52 s");
        assert_eq!(pct(0.0123), "1.23%");
        assert_eq!(datetime(0, false), "1970-01-01 00:00:00.000 UTC");
        assert_eq!(severity(17), "ERROR");
    }
}
