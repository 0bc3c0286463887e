//! Collector configuration (`[collector]` in `headroom.toml`).

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

/// `[collector]`: OTLP receivers.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CollectorConfig {
    /// OTLP/gRPC listen address. Default `127.0.0.1:4317`; port 0 picks a free port.
    pub grpc_addr: SocketAddr,
    /// OTLP/HTTP listen address. Default `127.0.0.1:4318`; port 0 picks a free port.
    pub http_addr: SocketAddr,
    /// Largest accepted request body, in bytes, after decompression. Default 16 MiB.
    pub max_request_bytes: usize,
    /// Export requests decoded and written at once; more are refused with 429 /
    /// `UNAVAILABLE` so clients retry. Bounds memory under any offered load. Default 32.
    pub max_in_flight_requests: usize,
}

impl Default for CollectorConfig {
    fn default() -> Self {
        Self {
            grpc_addr: SocketAddr::from(([127, 0, 0, 1], 4317)),
            http_addr: SocketAddr::from(([127, 0, 0, 1], 4318)),
            max_request_bytes: 16 << 20,
            max_in_flight_requests: 32,
        }
    }
}
