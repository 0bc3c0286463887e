//! # headroom-collector
//!
//! Owns the OTLP receivers: OTLP/gRPC (tonic) and OTLP/HTTP (axum) for traces, logs and
//! metrics. A request is
//! decoded and converted to an Arrow batch off the I/O runtime, written to
//! [`headroom_storage::Storage`], and acknowledged only once storage reports it durable.
//! Spans, log records or data points that cannot be stored are reported through OTLP
//! `partial_success`; the rest of the request is kept.
//!
//! Back-pressure: at most `max_in_flight_requests` exports are processed at once and
//! storage refuses writes when its queue or memory budget is full; both answer "retry
//! later" (HTTP 429 + `Retry-After`, gRPC `UNAVAILABLE`), which OTLP exporters retry.
//!
//! It must not know about queries, the UI or how storage lays out files.

mod anyvalue;
mod columns;
pub mod config;
mod error;
pub mod grpc;
pub mod http;
pub mod ingest;
pub mod logs;
pub mod metrics;
pub mod traces;

use std::sync::Arc;

use headroom_storage::Storage;
use tokio::sync::Semaphore;

pub use config::CollectorConfig;
pub use error::{Error, Result};

/// The OTLP receivers' shared state. Cheap to clone.
#[derive(Clone)]
pub struct Collector {
    storage: Storage,
    config: Arc<CollectorConfig>,
    permits: Arc<Semaphore>,
}

impl Collector {
    pub fn new(storage: Storage, config: CollectorConfig) -> Self {
        let permits = Arc::new(Semaphore::new(config.max_in_flight_requests.max(1)));
        Self {
            storage,
            config: Arc::new(config),
            permits,
        }
    }

    pub fn config(&self) -> &CollectorConfig {
        &self.config
    }
}
