//! End-to-end tests of the `headroom` binary: a real server process on loopback ports,
//! real OTLP clients (the Rust `opentelemetry-otlp` exporter and the OpenTelemetry Python
//! SDK), results read back through the HTTP API and compared with exact computations, and
//! the web UI driven in headless Chromium.

mod bad_input;
mod crash;
mod demo;
mod otlp_rust;
mod python_sdk;
mod python_signals;
mod server;
mod signals;
mod ui;
