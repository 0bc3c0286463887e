//! Dashboards: the saved model (also the export/import JSON format), variable
//! substitution in panel SQL, and the built-in "Service health" dashboard.
//!
//! A panel's SQL may use the dashboard's variables as `$name` (replaced by a quoted SQL
//! string literal, quotes doubled) and the global time range as `$__from` / `$__to`
//! (`TIMESTAMP '…'` literals) and `$__interval` (an `INTERVAL` of about 1/60 of the range,
//! for `date_bin`). Substitution is textual by design: it is what users of Grafana-style
//! dashboards expect, and the values are always quoted literals, never SQL fragments.

use serde::{Deserialize, Serialize};

use crate::api::{SqlResult, Window};
use crate::chart::Series;

/// The id of the built-in dashboard; it cannot be overwritten or deleted.
pub const SERVICE_HEALTH_ID: &str = "service-health";

/// Version of the dashboard JSON format (exports carry it; imports check it).
pub const FORMAT_VERSION: u32 = 1;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dashboard {
    /// Empty for a dashboard not saved yet.
    #[serde(default)]
    pub id: String,
    pub title: String,
    #[serde(default = "format_version")]
    pub version: u32,
    #[serde(default)]
    pub variables: Vec<Variable>,
    #[serde(default)]
    pub panels: Vec<Panel>,
    /// Shipped with Headroom: read-only (save a copy to change it).
    #[serde(default)]
    pub builtin: bool,
}

fn format_version() -> u32 {
    FORMAT_VERSION
}

impl Default for Dashboard {
    fn default() -> Self {
        Self {
            id: String::new(),
            title: "New dashboard".into(),
            version: FORMAT_VERSION,
            variables: vec![],
            panels: vec![],
            builtin: false,
        }
    }
}

/// A dashboard variable, used as `$name` in panel queries.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Variable {
    pub name: String,
    /// Value used when the URL does not set `var-<name>`.
    #[serde(default)]
    pub default: String,
    /// Optional SQL whose first column lists the choices (may use `$__from`/`$__to`).
    #[serde(default)]
    pub query: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Panel {
    pub title: String,
    pub kind: PanelKind,
    pub query: PanelQuery,
}

impl Default for Panel {
    fn default() -> Self {
        Self {
            title: "Requests by service".into(),
            kind: PanelKind::TimeSeries,
            query: PanelQuery::Sql {
                sql: "SELECT date_bin($__interval, start_time) AS time, service_name, count(*) AS spans\nFROM spans WHERE start_time >= $__from AND start_time < $__to\nGROUP BY 1, 2 ORDER BY 1".into(),
            },
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PanelKind {
    TimeSeries,
    Bar,
    Stat,
    Table,
}

impl PanelKind {
    pub const ALL: [PanelKind; 4] = [Self::TimeSeries, Self::Bar, Self::Stat, Self::Table];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::TimeSeries => "time_series",
            Self::Bar => "bar",
            Self::Stat => "stat",
            Self::Table => "table",
        }
    }

    pub fn parse(s: &str) -> Self {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .unwrap_or(Self::Table)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum PanelQuery {
    /// Any read-only SQL over `spans`, `logs` and `metrics`.
    Sql { sql: String },
    /// A built-in query: `rate`, `errors` or `latency` of `service` over time, or
    /// `services` (the RED table of every service). `service` may be `$var`.
    Builtin { name: String, service: String },
}

/// The built-in query names.
pub const BUILTINS: [&str; 4] = ["rate", "errors", "latency", "services"];

/// What a panel shows: a table (all kinds) and, for time series, the series.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PanelData {
    pub window: Window,
    pub table: SqlResult,
    pub series: Vec<Series>,
}

/// A row of the dashboards list.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DashboardSummary {
    pub id: String,
    pub title: String,
    pub panels: usize,
    pub builtin: bool,
}

/// A SQL string literal.
pub fn quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// Replaces `$__from`, `$__to`, `$__interval` and `$name` for each variable. Longer names
/// are replaced first so `$service_name` is not cut by `$service`.
pub fn substitute(
    sql: &str,
    vars: &[(String, String)],
    from: &str,
    to: &str,
    step_s: i64,
) -> String {
    let mut pairs: Vec<(String, String)> = vec![
        ("$__from".into(), format!("TIMESTAMP {}", quote(from))),
        ("$__to".into(), format!("TIMESTAMP {}", quote(to))),
        ("$__interval".into(), format!("INTERVAL '{step_s} seconds'")),
    ];
    pairs.extend(
        vars.iter()
            .filter(|(name, _)| !name.is_empty() && !name.starts_with("__"))
            .map(|(name, value)| (format!("${name}"), quote(value))),
    );
    pairs.sort_by_key(|(k, _)| std::cmp::Reverse(k.len()));
    // One left-to-right pass, so a substituted value is never substituted again.
    let mut out = String::with_capacity(sql.len());
    let mut rest = sql;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let tail = &rest[pos..];
        match pairs.iter().find(|(k, _)| {
            tail.starts_with(k.as_str())
                && !tail[k.len()..]
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_alphanumeric() || c == '_')
        }) {
            Some((k, v)) => {
                out.push_str(v);
                rest = &tail[k.len()..];
            }
            None => {
                out.push('$');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The built-in "Service health" dashboard.
pub fn service_health() -> Dashboard {
    let sql = |s: &str| PanelQuery::Sql { sql: s.into() };
    let builtin = |name: &str| PanelQuery::Builtin {
        name: name.into(),
        service: "$service".into(),
    };
    Dashboard {
        id: SERVICE_HEALTH_ID.into(),
        title: "Service health".into(),
        version: FORMAT_VERSION,
        builtin: true,
        variables: vec![Variable {
            name: "service".into(),
            default: "frontend".into(),
            query: "SELECT DISTINCT service_name FROM spans WHERE start_time >= $__from AND start_time < $__to ORDER BY 1".into(),
        }],
        panels: vec![
            Panel {
                title: "Requests in range".into(),
                kind: PanelKind::Stat,
                query: sql("SELECT count(*) AS requests FROM spans WHERE service_name = $service AND span_kind IN ('SERVER', 'CONSUMER') AND start_time >= $__from AND start_time < $__to"),
            },
            Panel {
                title: "Error rate in range".into(),
                kind: PanelKind::Stat,
                query: sql("SELECT round(100.0 * avg(CASE WHEN status_code = 'ERROR' THEN 1.0 ELSE 0.0 END), 2) AS error_pct FROM spans WHERE service_name = $service AND span_kind IN ('SERVER', 'CONSUMER') AND start_time >= $__from AND start_time < $__to"),
            },
            Panel {
                title: "Request rate (/s)".into(),
                kind: PanelKind::TimeSeries,
                query: builtin("rate"),
            },
            Panel {
                title: "Error rate".into(),
                kind: PanelKind::TimeSeries,
                query: builtin("errors"),
            },
            Panel {
                title: "Latency (ms)".into(),
                kind: PanelKind::TimeSeries,
                query: builtin("latency"),
            },
            Panel {
                title: "Slowest operations (p95 ms)".into(),
                kind: PanelKind::Bar,
                query: sql("SELECT span_name, round(approx_percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ns) / 1e6, 1) AS p95_ms FROM spans WHERE service_name = $service AND start_time >= $__from AND start_time < $__to GROUP BY span_name ORDER BY p95_ms DESC LIMIT 10"),
            },
            Panel {
                title: "Errors by operation".into(),
                kind: PanelKind::Table,
                query: sql("SELECT span_name, count(*) AS errors, max(status_message) AS example FROM spans WHERE service_name = $service AND status_code = 'ERROR' AND start_time >= $__from AND start_time < $__to GROUP BY span_name ORDER BY errors DESC LIMIT 20"),
            },
            Panel {
                title: "All services".into(),
                kind: PanelKind::Table,
                query: PanelQuery::Builtin {
                    name: "services".into(),
                    service: String::new(),
                },
            },
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substitution_quotes_values_and_prefers_longer_names() {
        let vars = vec![
            ("service".to_string(), "o'hara".to_string()),
            ("service_name".to_string(), "x".to_string()),
        ];
        let out = substitute(
            "a = $service AND b = $service_name AND t >= $__from AND c = $unknown AND d = $__interval",
            &vars,
            "2026-01-01T00:00:00Z",
            "2026-01-02T00:00:00Z",
            60,
        );
        assert_eq!(
            out,
            "a = 'o''hara' AND b = 'x' AND t >= TIMESTAMP '2026-01-01T00:00:00Z' AND c = $unknown AND d = INTERVAL '60 seconds'"
        );
    }

    #[test]
    fn substituted_values_are_not_substituted_again() {
        let vars = vec![
            ("a".to_string(), "$b".to_string()),
            ("b".to_string(), "boom".to_string()),
        ];
        assert_eq!(substitute("$a", &vars, "x", "y", 1), "'$b'");
    }

    #[test]
    fn the_builtin_dashboard_round_trips_as_json() {
        let d = service_health();
        let json = serde_json::to_string(&d).expect("serialize");
        let back: Dashboard = serde_json::from_str(&json).expect("parse");
        assert_eq!(back, d);
    }
}
