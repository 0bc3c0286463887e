//! OTLP traces → Arrow batches of the `spans` table.
//!
//! Spans that cannot be stored (bad ids, missing timestamps) are rejected one by one and
//! reported through OTLP `partial_success`; the rest of the request is kept.

use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Builder, RecordBatch, StringBuilder, UInt32Builder};
use headroom_storage::Table;
use headroom_storage::schema::{event_fields, link_fields};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::Span;

use crate::columns::{
    ListOffsets, Rejections, StringMapBuilder, attrs_into, hex_id, resource_service, time_ns,
    ts_builder,
};
use crate::error::{Error, Result};
use crate::ingest::{Converted, json_items};

const KINDS: [&str; 6] = [
    "UNSPECIFIED",
    "INTERNAL",
    "SERVER",
    "CLIENT",
    "PRODUCER",
    "CONSUMER",
];
const STATUS: [&str; 3] = ["UNSET", "OK", "ERROR"];

fn validate(span: &Span) -> std::result::Result<(String, String, String), String> {
    let trace_id = hex_id(&span.trace_id, 16, "trace_id")?;
    let span_id = hex_id(&span.span_id, 8, "span_id")?;
    let parent = if span.parent_span_id.is_empty() {
        String::new()
    } else {
        hex_id(&span.parent_span_id, 8, "parent_span_id")?
    };
    if span.start_time_unix_nano == 0 {
        return Err("start_time_unix_nano is missing".into());
    }
    if span.end_time_unix_nano < span.start_time_unix_nano {
        return Err("end_time_unix_nano is before start_time_unix_nano".into());
    }
    time_ns(span.end_time_unix_nano, "end_time_unix_nano")?;
    Ok((trace_id, span_id, parent))
}

/// Converts an export request into one batch of the `spans` table.
pub fn convert(request: &ExportTraceServiceRequest) -> Result<Converted> {
    let n: usize = request
        .resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .map(|s| s.spans.len())
        .sum();
    let mut trace_id = StringBuilder::with_capacity(n, n * 32);
    let mut span_id = StringBuilder::with_capacity(n, n * 16);
    let mut parent_span_id = StringBuilder::with_capacity(n, n * 16);
    let mut trace_state = StringBuilder::new();
    let mut service_name = StringBuilder::new();
    let mut span_name = StringBuilder::new();
    let mut span_kind = StringBuilder::new();
    let mut start_time = ts_builder(n);
    let mut end_time = ts_builder(n);
    let mut duration = Int64Builder::with_capacity(n);
    let mut status_code = StringBuilder::new();
    let mut status_message = StringBuilder::new();
    let mut flags = UInt32Builder::with_capacity(n);
    let mut scope_name = StringBuilder::new();
    let mut scope_version = StringBuilder::new();
    let mut attributes = StringMapBuilder::new();
    let mut resource_attributes = StringMapBuilder::new();
    let mut events = ListOffsets::new();
    let (mut ev_time, mut ev_name, mut ev_attrs) =
        (ts_builder(0), StringBuilder::new(), StringMapBuilder::new());
    let mut links = ListOffsets::new();
    let (mut ln_trace, mut ln_span, mut ln_state, mut ln_attrs) = (
        StringBuilder::new(),
        StringBuilder::new(),
        StringBuilder::new(),
        StringMapBuilder::new(),
    );

    let mut rejections = Rejections::default();
    let mut scratch = String::new();

    for rs in &request.resource_spans {
        let (res_attrs, service) = resource_service(rs.resource.as_ref());
        for ss in &rs.scope_spans {
            let (sname, sversion) = ss
                .scope
                .as_ref()
                .map_or(("", ""), |s| (s.name.as_str(), s.version.as_str()));
            for span in &ss.spans {
                let (tid, sid, pid) = match validate(span) {
                    Ok(ids) => ids,
                    Err(reason) => {
                        rejections.reject(|| format!("span {:?}: {reason}", span.name));
                        continue;
                    }
                };
                trace_id.append_value(tid);
                span_id.append_value(sid);
                parent_span_id.append_value(pid);
                trace_state.append_value(&span.trace_state);
                service_name.append_value(&service);
                span_name.append_value(&span.name);
                span_kind.append_value(
                    KINDS
                        .get(span.kind as usize)
                        .copied()
                        .unwrap_or("UNSPECIFIED"),
                );
                start_time.append_value(span.start_time_unix_nano as i64);
                end_time.append_value(span.end_time_unix_nano as i64);
                duration.append_value((span.end_time_unix_nano - span.start_time_unix_nano) as i64);
                let status = span.status.as_ref();
                status_code.append_value(
                    STATUS
                        .get(status.map_or(0, |s| s.code) as usize)
                        .copied()
                        .unwrap_or("UNSET"),
                );
                status_message.append_value(status.map_or("", |s| s.message.as_str()));
                flags.append_value(span.flags);
                scope_name.append_value(sname);
                scope_version.append_value(sversion);
                attrs_into(&mut attributes, &span.attributes, &mut scratch);
                attributes.finish_row();
                attrs_into(&mut resource_attributes, res_attrs, &mut scratch);
                resource_attributes.finish_row();
                for e in &span.events {
                    ev_time.append_value(e.time_unix_nano.min(i64::MAX as u64) as i64);
                    ev_name.append_value(&e.name);
                    attrs_into(&mut ev_attrs, &e.attributes, &mut scratch);
                    ev_attrs.finish_row();
                    events.push_element();
                }
                events.finish_row();
                for l in &span.links {
                    ln_trace.append_value(hex::encode(&l.trace_id));
                    ln_span.append_value(hex::encode(&l.span_id));
                    ln_state.append_value(&l.trace_state);
                    attrs_into(&mut ln_attrs, &l.attributes, &mut scratch);
                    ln_attrs.finish_row();
                    links.push_element();
                }
                links.finish_row();
            }
        }
    }

    let events = events.finish(
        event_fields(),
        vec![
            Arc::new(ev_time.finish()) as ArrayRef,
            Arc::new(ev_name.finish()),
            Arc::new(ev_attrs.finish()),
        ],
    );
    let links = links.finish(
        link_fields(),
        vec![
            Arc::new(ln_trace.finish()) as ArrayRef,
            Arc::new(ln_span.finish()),
            Arc::new(ln_state.finish()),
            Arc::new(ln_attrs.finish()),
        ],
    );
    let columns: Vec<ArrayRef> = vec![
        Arc::new(trace_id.finish()),
        Arc::new(span_id.finish()),
        Arc::new(parent_span_id.finish()),
        Arc::new(trace_state.finish()),
        Arc::new(service_name.finish()),
        Arc::new(span_name.finish()),
        Arc::new(span_kind.finish()),
        Arc::new(start_time.finish()),
        Arc::new(end_time.finish()),
        Arc::new(duration.finish()),
        Arc::new(status_code.finish()),
        Arc::new(status_message.finish()),
        Arc::new(flags.finish()),
        Arc::new(scope_name.finish()),
        Arc::new(scope_version.finish()),
        Arc::new(attributes.finish()),
        Arc::new(resource_attributes.finish()),
        Arc::new(events),
        Arc::new(links),
    ];
    let batch = RecordBatch::try_new(Table::Spans.schema(), columns)
        .map_err(|e| Error::Internal(format!("building span batch: {e}")))?;
    Ok(Converted {
        batch,
        rejected: rejections.count,
        error_message: rejections.message(),
    })
}

/// Rewrites enum names that OTLP/JSON senders may use (`"SPAN_KIND_SERVER"`,
/// `"STATUS_CODE_ERROR"`) into the integers the protobuf types expect.
pub(crate) fn normalize_json_enums(root: &mut serde_json::Value) {
    const KIND_NAMES: [&str; 6] = [
        "SPAN_KIND_UNSPECIFIED",
        "SPAN_KIND_INTERNAL",
        "SPAN_KIND_SERVER",
        "SPAN_KIND_CLIENT",
        "SPAN_KIND_PRODUCER",
        "SPAN_KIND_CONSUMER",
    ];
    const CODE_NAMES: [&str; 3] = ["STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"];
    let fix = |v: &mut serde_json::Value, names: &[&str]| {
        if let Some(i) = v.as_str().and_then(|s| names.iter().position(|n| *n == s)) {
            *v = serde_json::Value::from(i);
        }
    };
    for span in json_items(root, ["resourceSpans", "scopeSpans", "spans"]) {
        if let Some(kind) = span.get_mut("kind") {
            fix(kind, &KIND_NAMES);
        }
        if let Some(code) = span.get_mut("status").and_then(|s| s.get_mut("code")) {
            fix(code, &CODE_NAMES);
        }
    }
}
