//! # headroom-query
//!
//! Owns reading: a DataFusion session whose tables (`spans`, `logs`, `metrics`) are
//! [`table::StorageTable`]s
//! over storage snapshots (Parquet files from the catalog plus the memtable), Headroom's SQL
//! functions ([`sketch`]: `dd_sketch`, `sketch_quantile`), the figures SREs ask for first
//! ([`red`]: rate, errors, p50/p95/p99 per service, operation and time bucket), trace lookup
//! and search ([`traces`]), log search with cursors ([`logs`]), metric series with counter
//! resets and histogram quantiles ([`metrics`]), and the HTTP routes that serve them
//! ([`http`]).
//!
//! Queries run on a dedicated runtime ([`engine`]). User SQL is read-only. This crate
//! reads storage; it never writes it and knows nothing of OTLP.

pub mod engine;
mod error;
pub mod http;
pub mod json;
pub mod logs;
pub mod metrics;
pub mod red;
pub mod sketch;
pub mod table;
pub mod time;
pub mod traces;

pub use engine::{QueryConfig, QueryEngine};
pub use error::{Error, Result};
