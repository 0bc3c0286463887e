//! OTLP export requests from simulated records: one resource per (service, version), one
//! instrumentation scope, `headroom.demo`, for every signal.

use std::collections::BTreeMap;
use std::sync::Arc;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{Metric, ResourceMetrics, ScopeMetrics};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::{Event, SpanKind};
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};

use super::model::Svc;
use super::records::{Kind, LogRec, Severity, SpanRec, Val, What};

/// The instrumentation scope of everything the demo sends; used to find existing history.
pub const SCOPE: &str = "headroom.demo";

pub(crate) fn text(s: &str) -> AnyValue {
    AnyValue {
        value: Some(any_value::Value::StringValue(s.to_string())),
    }
}

pub(crate) fn int(i: i64) -> AnyValue {
    AnyValue {
        value: Some(any_value::Value::IntValue(i)),
    }
}

pub(crate) fn kv(key: &str, value: AnyValue) -> KeyValue {
    KeyValue {
        key: key.to_string(),
        value: Some(value),
        ..Default::default()
    }
}

fn resource(svc: Svc, version: &str) -> Option<Resource> {
    Some(Resource {
        attributes: vec![
            kv("service.name", text(svc.name())),
            kv("service.version", text(version)),
            kv("service.namespace", text("shop")),
            kv("deployment.environment", text("demo")),
        ],
        ..Default::default()
    })
}

fn scope() -> Option<InstrumentationScope> {
    Some(InstrumentationScope {
        name: SCOPE.into(),
        version: env!("CARGO_PKG_VERSION").into(),
        ..Default::default()
    })
}

/// Groups items by (service, version), keeping their order within a group.
fn by_resource<'a, T>(
    items: impl IntoIterator<Item = &'a T>,
    key: impl Fn(&T) -> (Svc, &Arc<str>),
) -> BTreeMap<(Svc, Arc<str>), Vec<&'a T>>
where
    T: 'a,
{
    let mut groups: BTreeMap<(Svc, Arc<str>), Vec<&T>> = BTreeMap::new();
    for item in items {
        let (svc, version) = key(item);
        groups
            .entry((svc, Arc::clone(version)))
            .or_default()
            .push(item);
    }
    groups
}

pub(crate) fn traces<'a>(
    spans: impl IntoIterator<Item = &'a SpanRec>,
) -> ExportTraceServiceRequest {
    let resource_spans = by_resource(spans, |s| (s.svc, &s.version))
        .into_iter()
        .map(|((svc, version), spans)| ResourceSpans {
            resource: resource(svc, &version),
            scope_spans: vec![ScopeSpans {
                scope: scope(),
                spans: spans.into_iter().map(span).collect(),
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        })
        .collect();
    ExportTraceServiceRequest { resource_spans }
}

fn span(s: &SpanRec) -> Span {
    let (name, attributes) = match &s.what {
        What::Server {
            ep,
            status,
            feature,
        } => {
            let mut attrs = vec![
                kv("http.request.method", text(ep.method)),
                kv("http.route", text(ep.route)),
                kv("http.response.status_code", int((*status).into())),
            ];
            if let Some(f) = feature {
                attrs.push(kv("feature", text(f)));
            }
            (format!("{} {}", ep.method, ep.route), attrs)
        }
        What::Client { ep, status } => (
            format!("{} {}", ep.method, ep.route),
            vec![
                kv("http.request.method", text(ep.method)),
                kv("server.address", text(ep.svc.name())),
                kv("server.port", int(8080)),
                kv("http.response.status_code", int((*status).into())),
            ],
        ),
        What::Db(db) => (
            format!("{} {}", db.operation, db.collection),
            vec![
                kv("db.system", text(db.system)),
                kv("db.operation.name", text(db.operation)),
                kv("db.collection.name", text(db.collection)),
            ],
        ),
        What::Work(name) => ((*name).to_string(), Vec::new()),
        What::External(ext, status) => (
            ext.name.to_string(),
            vec![
                kv("http.request.method", text("POST")),
                kv("server.address", text(ext.host)),
                kv("http.response.status_code", int((*status).into())),
            ],
        ),
    };
    let kind = match s.kind {
        Kind::Server => SpanKind::Server,
        Kind::Client => SpanKind::Client,
        Kind::Internal => SpanKind::Internal,
    };
    let events = match s.failure.and_then(|f| f.exception.map(|e| (e, f.message))) {
        Some((ty, message)) => vec![Event {
            time_unix_nano: s.end as u64,
            name: "exception".into(),
            attributes: vec![
                kv("exception.type", text(ty)),
                kv("exception.message", text(message)),
            ],
            dropped_attributes_count: 0,
        }],
        None => Vec::new(),
    };
    // W3C sampled; bit 8: "is remote" known; bit 9: the parent is in another process.
    let remote_parent = s.kind == Kind::Server && s.parent != 0;
    Span {
        trace_id: s.trace_id.to_be_bytes().to_vec(),
        span_id: s.span_id.to_be_bytes().to_vec(),
        parent_span_id: if s.parent == 0 {
            Vec::new()
        } else {
            s.parent.to_be_bytes().to_vec()
        },
        flags: 0x101 | if remote_parent { 0x200 } else { 0 },
        name,
        kind: kind as i32,
        start_time_unix_nano: s.start as u64,
        end_time_unix_nano: s.end as u64,
        attributes,
        events,
        status: s.failure.map(|f| Status {
            message: f.message.into(),
            code: StatusCode::Error as i32,
        }),
        ..Default::default()
    }
}

pub(crate) fn logs<'a>(logs: impl IntoIterator<Item = &'a LogRec>) -> ExportLogsServiceRequest {
    let resource_logs = by_resource(logs, |l| (l.svc, &l.version))
        .into_iter()
        .map(|((svc, version), logs)| ResourceLogs {
            resource: resource(svc, &version),
            scope_logs: vec![ScopeLogs {
                scope: scope(),
                log_records: logs.into_iter().map(log).collect(),
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        })
        .collect();
    ExportLogsServiceRequest { resource_logs }
}

fn log(l: &LogRec) -> LogRecord {
    let value = |v: &Val| match v {
        Val::Str(s) => text(s),
        Val::String(s) => text(s),
        Val::Int(i) => int(*i),
        Val::Float(f) => AnyValue {
            value: Some(any_value::Value::DoubleValue(*f)),
        },
    };
    LogRecord {
        time_unix_nano: l.time as u64,
        observed_time_unix_nano: l.time as u64,
        severity_number: l.severity as i32,
        severity_text: match l.severity {
            Severity::Info => "INFO",
            Severity::Warn => "WARN",
            Severity::Error => "ERROR",
        }
        .into(),
        body: Some(text(&l.body)),
        attributes: l.attrs.iter().map(|(k, v)| kv(k, value(v))).collect(),
        flags: 1,
        trace_id: l.trace_id.to_be_bytes().to_vec(),
        span_id: l.span_id.to_be_bytes().to_vec(),
        ..Default::default()
    }
}

/// One request from per-service metrics (several intervals may name the same resource).
pub(crate) fn metrics(groups: Vec<(Svc, Arc<str>, Vec<Metric>)>) -> ExportMetricsServiceRequest {
    let mut by: BTreeMap<(Svc, Arc<str>), Vec<Metric>> = BTreeMap::new();
    for (svc, version, metrics) in groups {
        by.entry((svc, version)).or_default().extend(metrics);
    }
    let resource_metrics = by
        .into_iter()
        .map(|((svc, version), metrics)| ResourceMetrics {
            resource: resource(svc, &version),
            scope_metrics: vec![ScopeMetrics {
                scope: scope(),
                metrics,
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        })
        .collect();
    ExportMetricsServiceRequest { resource_metrics }
}
