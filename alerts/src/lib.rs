//! # headroom-alerts
//!
//! Will own alerting: rule definitions (symptom-based: SLO burn rates, error rate, latency),
//! scheduled evaluation through `headroom-query`, alert state (pending → firing →
//! resolved, persisted), and notifiers (webhook, Slack, PagerDuty, email).
//!
//! Not implemented yet: this crate is a placeholder so the workspace layout and the
//! dependency direction (`alerts → query → storage`) are fixed from the start.
