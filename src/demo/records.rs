//! Plain records of simulated spans and logs; `otlp.rs` turns them into OTLP messages and
//! `meters.rs` aggregates them into metrics.

use std::sync::Arc;

use super::model::Svc;
use super::shop::{Db, Endpoint, External};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Server,
    Client,
    Internal,
}

/// What a span represents; `otlp.rs` derives its name and attributes from this.
#[derive(Debug, Clone)]
pub(crate) enum What {
    Server {
        ep: &'static Endpoint,
        status: u16,
        /// Set on entry spans.
        feature: Option<&'static str>,
    },
    Client {
        ep: &'static Endpoint,
        status: u16,
    },
    Db(&'static Db),
    Work(&'static str),
    External(&'static External, u16),
}

/// Why a span failed: the status message and, where the error was raised, its type.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Failure {
    pub message: &'static str,
    pub exception: Option<&'static str>,
}

#[derive(Debug, Clone)]
pub(crate) struct SpanRec {
    pub trace_id: u128,
    pub span_id: u64,
    /// 0 for a root span.
    pub parent: u64,
    pub svc: Svc,
    pub version: Arc<str>,
    pub kind: Kind,
    pub start: i64,
    pub end: i64,
    pub what: What,
    pub failure: Option<Failure>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Severity {
    Info = 9,
    Warn = 13,
    Error = 17,
}

/// A log attribute value.
#[derive(Debug, Clone)]
pub(crate) enum Val {
    Str(&'static str),
    String(String),
    Int(i64),
    Float(f64),
}

#[derive(Debug, Clone)]
pub(crate) struct LogRec {
    pub svc: Svc,
    pub version: Arc<str>,
    pub time: i64,
    pub trace_id: u128,
    pub span_id: u64,
    pub severity: Severity,
    pub body: String,
    pub attrs: Vec<(&'static str, Val)>,
}

/// Spans and logs of whole traces; `traces` indexes them per trace.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    pub spans: Vec<SpanRec>,
    pub logs: Vec<LogRec>,
    pub traces: Vec<TraceRange>,
}

/// One trace's spans and logs in a [`Batch`], and when its root span ends.
#[derive(Debug, Clone)]
pub(crate) struct TraceRange {
    pub spans: std::ops::Range<usize>,
    pub logs: std::ops::Range<usize>,
    pub start: i64,
    pub end: i64,
}
