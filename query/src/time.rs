//! Time parameters of the HTTP API: `now`, `now-15m`, RFC 3339, or epoch milliseconds.

use chrono::DateTime;

use crate::error::{Error, Result};

/// Parses a time parameter into ns since the epoch, relative to `now_ns`.
pub fn parse_time(value: &str, now_ns: i64) -> Result<i64> {
    let v = value.trim();
    if let Some(rest) = v.strip_prefix("now") {
        if rest.is_empty() {
            return Ok(now_ns);
        }
        let (sign, dur) = match rest.split_at(1) {
            ("-", d) => (-1, d),
            ("+", d) => (1, d),
            _ => return Err(bad(value)),
        };
        let d = humantime::parse_duration(dur.trim()).map_err(|_| bad(value))?;
        let ns = i64::try_from(d.as_nanos()).map_err(|_| bad(value))?;
        return Ok(now_ns.saturating_add(sign * ns));
    }
    if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
        let ms: i64 = v.parse().map_err(|_| bad(value))?;
        return ms.checked_mul(1_000_000).ok_or_else(|| bad(value));
    }
    DateTime::parse_from_rfc3339(v)
        .ok()
        .and_then(|t| t.timestamp_nanos_opt())
        .ok_or_else(|| bad(value))
}

/// Parses a step such as `1m` or `30s` into ns.
pub fn parse_step(value: &str) -> Result<i64> {
    let d = humantime::parse_duration(value.trim()).map_err(|_| {
        Error::BadRequest(format!(
            "invalid step {value:?}: use a duration like 30s, 1m, 1h"
        ))
    })?;
    let ns = i64::try_from(d.as_nanos()).unwrap_or(i64::MAX);
    if ns < 1_000_000_000 {
        return Err(Error::BadRequest(format!(
            "step {value:?} is below the minimum of 1s"
        )));
    }
    Ok(ns)
}

fn bad(value: &str) -> Error {
    Error::BadRequest(format!(
        "invalid time {value:?}: use RFC 3339 (2026-11-23T10:00:00Z), epoch milliseconds, or now-15m style"
    ))
}

/// Resolves an optional `from`/`to` pair; defaults are the last hour.
pub fn range(from: Option<&str>, to: Option<&str>, now_ns: i64) -> Result<(i64, i64)> {
    let to = to
        .map(|t| parse_time(t, now_ns))
        .transpose()?
        .unwrap_or(now_ns);
    let from = from
        .map(|f| parse_time(f, now_ns))
        .transpose()?
        .unwrap_or(to - 3_600_000_000_000);
    if from >= to {
        return Err(Error::BadRequest("`from` must be before `to`".into()));
    }
    Ok((from, to))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_763_856_000_000_000_000;

    #[test]
    fn formats() {
        assert_eq!(parse_time("now", NOW).ok(), Some(NOW));
        assert_eq!(parse_time("now-15m", NOW).ok(), Some(NOW - 900_000_000_000));
        assert_eq!(
            parse_time("now-1h", NOW).ok(),
            Some(NOW - 3_600_000_000_000)
        );
        assert_eq!(parse_time("1763856000000", NOW).ok(), Some(NOW));
        assert_eq!(parse_time("2025-11-23T00:00:00Z", NOW).ok(), Some(NOW));
        assert_eq!(parse_time("2025-11-23T01:00:00+01:00", NOW).ok(), Some(NOW));
        for bad in ["", "yesterday", "now-", "now*5m", "2025-13-01"] {
            assert!(parse_time(bad, NOW).is_err(), "{bad}");
        }
        assert!(range(Some("now"), Some("now-1h"), NOW).is_err());
        assert_eq!(parse_step("1m").ok(), Some(60_000_000_000));
        assert!(parse_step("10ms").is_err());
    }
}
