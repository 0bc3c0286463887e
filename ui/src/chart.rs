//! Charts as Leptos components drawing SVG: [`TimeChart`] (time series with hover
//! tooltip, drag-to-zoom and toggling legend), [`Sparkline`], [`BarChart`] and [`Stat`].
//!
//! Why hand-written: no Rust chart crate renders to Leptos views on both the server and in
//! wasm, and a JavaScript library would add its weight to every page plus a second
//! rendering model that does not take part in SSR. What is hand-written is small and
//! standard: "nice" 1-2-5 value ticks (Heckbert, Graphics Gems 1990) and time ticks at
//! calendar-aligned steps in the viewer's zone, both unit-tested below.

mod axis;
mod small;
mod time;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use axis::{nice_ticks, time_ticks};
pub use small::{BarChart, Sparkline, Stat};
pub use time::TimeChart;

/// One named series: `(epoch ms, value)` points, `None` for a gap.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Series {
    pub name: String,
    pub points: Vec<(i64, Option<f64>)>,
}

/// Series colours, chosen to stay distinct on light and dark backgrounds.
pub const PALETTE: [&str; 10] = [
    "#3b82f6", "#f59e0b", "#10b981", "#ef4444", "#8b5cf6", "#06b6d4", "#ec4899", "#84cc16",
    "#f97316", "#64748b",
];

pub fn color(i: usize) -> &'static str {
    PALETTE[i % PALETTE.len()]
}

/// Epoch ms of a JSON cell: RFC 3339 text or a number of ms.
pub fn cell_ms(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => chrono::DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| t.timestamp_millis())
            .or_else(|| {
                chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
                    .ok()
                    .map(|t| t.and_utc().timestamp_millis())
            }),
        _ => None,
    }
}

/// A JSON cell as a number (numbers, or text holding one).
pub fn cell_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse().ok(),
        Value::Bool(b) => Some(f64::from(u8::from(*b))),
        _ => None,
    }
}

/// A JSON cell as display text.
pub fn cell_text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn is_time_type(ty: &str) -> bool {
    ty.starts_with("Timestamp") || ty.starts_with("Date")
}

fn is_numeric_type(ty: &str) -> bool {
    ty.starts_with("Int")
        || ty.starts_with("UInt")
        || ty.starts_with("Float")
        || ty.starts_with("Decimal")
}

/// Reads a table as time series: the first time column is x; each numeric column is a
/// series, split by the values of the text columns if there are any (so `time, service,
/// count` gives one series per service). `None` if there is no time or numeric column.
pub fn table_series(columns: &[(String, String)], rows: &[Vec<Value>]) -> Option<Vec<Series>> {
    let t = columns.iter().position(|(_, ty)| is_time_type(ty))?;
    let values: Vec<usize> = (0..columns.len())
        .filter(|&i| i != t && is_numeric_type(&columns[i].1))
        .collect();
    if values.is_empty() {
        return None;
    }
    let labels: Vec<usize> = (0..columns.len())
        .filter(|&i| i != t && !values.contains(&i))
        .collect();
    let mut out: Vec<Series> = Vec::new();
    for row in rows {
        let Some(x) = row.get(t).and_then(cell_ms) else {
            continue;
        };
        let label: Vec<String> = labels
            .iter()
            .map(|&i| row.get(i).map(cell_text).unwrap_or_default())
            .collect();
        for &v in &values {
            let mut name = label.join(" ");
            if values.len() > 1 || name.is_empty() {
                if !name.is_empty() {
                    name.push(' ');
                }
                name.push_str(&columns[v].0);
            }
            let y = row.get(v).and_then(cell_f64);
            match out.iter_mut().find(|s| s.name == name) {
                Some(s) => s.points.push((x, y)),
                None => out.push(Series {
                    name,
                    points: vec![(x, y)],
                }),
            }
        }
    }
    for s in &mut out {
        s.points.sort_by_key(|p| p.0);
    }
    Some(out)
}

/// Reads a table as bars: the first text column labels, the first numeric column values.
pub fn table_bars(columns: &[(String, String)], rows: &[Vec<Value>]) -> Vec<(String, f64)> {
    let Some(v) = columns.iter().position(|(_, ty)| is_numeric_type(ty)) else {
        return vec![];
    };
    let l = columns
        .iter()
        .position(|(_, ty)| ty.contains("Utf8"))
        .or_else(|| (0..columns.len()).find(|&i| i != v));
    rows.iter()
        .filter_map(|r| {
            let label = l.and_then(|l| r.get(l)).map(cell_text).unwrap_or_default();
            Some((label, r.get(v).and_then(cell_f64)?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_table_with_a_label_column_pivots_into_one_series_per_label() {
        let columns = vec![
            ("t".to_string(), "Timestamp(ns, \"UTC\")".to_string()),
            ("service".to_string(), "Utf8".to_string()),
            ("n".to_string(), "Int64".to_string()),
        ];
        let rows = vec![
            vec![json!("2026-01-01T00:01:00Z"), json!("b"), json!(2)],
            vec![json!("2026-01-01T00:00:00Z"), json!("a"), json!(1)],
            vec![json!("2026-01-01T00:01:00Z"), json!("a"), json!(3)],
        ];
        let s = table_series(&columns, &rows).expect("series");
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].name, "b");
        assert_eq!(s[1].name, "a");
        assert_eq!(
            s[1].points,
            vec![
                (1_767_225_600_000, Some(1.0)),
                (1_767_225_660_000, Some(3.0))
            ]
        );
        assert_eq!(table_bars(&columns, &rows)[0], ("b".to_string(), 2.0));
    }
}
