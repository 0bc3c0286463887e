//! OTLP logs → Arrow batches of the `logs` table.
//!
//! A record's time is `time_unix_nano`, or `observed_time_unix_nano` when the sender left
//! it unset (the OTLP data model allows either); a record with neither is rejected, as are
//! records whose ids are malformed. String bodies are stored as they are, other bodies as
//! JSON text.

use arrow::array::{ArrayRef, Int32Builder, RecordBatch, StringBuilder, UInt32Builder};
use headroom_storage::Table;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use std::sync::Arc;

use crate::anyvalue::write_value;
use crate::columns::{
    Rejections, StringMapBuilder, attrs_into, optional_hex_id, resource_service, time_ns,
    ts_builder,
};
use crate::error::{Error, Result};
use crate::ingest::{Converted, json_items};

struct Valid {
    time: i64,
    observed: i64,
    trace_id: String,
    span_id: String,
}

fn validate(r: &LogRecord) -> std::result::Result<Valid, String> {
    let observed = time_ns(r.observed_time_unix_nano, "observed_time_unix_nano")?;
    let time = match time_ns(r.time_unix_nano, "time_unix_nano")? {
        0 if observed == 0 => {
            return Err("neither time_unix_nano nor observed_time_unix_nano is set".into());
        }
        0 => observed,
        t => t,
    };
    Ok(Valid {
        time,
        observed: if observed == 0 { time } else { observed },
        trace_id: optional_hex_id(&r.trace_id, 16, "trace_id")?,
        span_id: optional_hex_id(&r.span_id, 8, "span_id")?,
    })
}

/// Converts an export request into one batch of the `logs` table.
pub fn convert(request: &ExportLogsServiceRequest) -> Result<Converted> {
    let n: usize = request
        .resource_logs
        .iter()
        .flat_map(|r| &r.scope_logs)
        .map(|s| s.log_records.len())
        .sum();
    let mut timestamp = ts_builder(n);
    let mut observed = ts_builder(n);
    let mut service_name = StringBuilder::new();
    let mut severity_number = Int32Builder::with_capacity(n);
    let mut severity_text = StringBuilder::new();
    let mut body = StringBuilder::new();
    let mut trace_id = StringBuilder::new();
    let mut span_id = StringBuilder::new();
    let mut flags = UInt32Builder::with_capacity(n);
    let mut event_name = StringBuilder::new();
    let mut scope_name = StringBuilder::new();
    let mut scope_version = StringBuilder::new();
    let mut attributes = StringMapBuilder::new();
    let mut resource_attributes = StringMapBuilder::new();

    let mut rejections = Rejections::default();
    let mut scratch = String::new();
    for rl in &request.resource_logs {
        let (res_attrs, service) = resource_service(rl.resource.as_ref());
        for sl in &rl.scope_logs {
            let (sname, sversion) = sl
                .scope
                .as_ref()
                .map_or(("", ""), |s| (s.name.as_str(), s.version.as_str()));
            for record in &sl.log_records {
                let valid = match validate(record) {
                    Ok(v) => v,
                    Err(reason) => {
                        rejections.reject(|| format!("log record: {reason}"));
                        continue;
                    }
                };
                timestamp.append_value(valid.time);
                observed.append_value(valid.observed);
                service_name.append_value(&service);
                severity_number.append_value(record.severity_number);
                severity_text.append_value(&record.severity_text);
                scratch.clear();
                write_value(record.body.as_ref(), &mut scratch);
                body.append_value(&scratch);
                trace_id.append_value(valid.trace_id);
                span_id.append_value(valid.span_id);
                flags.append_value(record.flags);
                event_name.append_value(&record.event_name);
                scope_name.append_value(sname);
                scope_version.append_value(sversion);
                attrs_into(&mut attributes, &record.attributes, &mut scratch);
                attributes.finish_row();
                attrs_into(&mut resource_attributes, res_attrs, &mut scratch);
                resource_attributes.finish_row();
            }
        }
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(timestamp.finish()),
        Arc::new(observed.finish()),
        Arc::new(service_name.finish()),
        Arc::new(severity_number.finish()),
        Arc::new(severity_text.finish()),
        Arc::new(body.finish()),
        Arc::new(trace_id.finish()),
        Arc::new(span_id.finish()),
        Arc::new(flags.finish()),
        Arc::new(event_name.finish()),
        Arc::new(scope_name.finish()),
        Arc::new(scope_version.finish()),
        Arc::new(attributes.finish()),
        Arc::new(resource_attributes.finish()),
    ];
    let batch = RecordBatch::try_new(Table::Logs.schema(), columns)
        .map_err(|e| Error::Internal(format!("building log batch: {e}")))?;
    Ok(Converted {
        batch,
        rejected: rejections.count,
        error_message: rejections.message(),
    })
}

/// Rewrites `"SEVERITY_NUMBER_INFO"`-style names, which OTLP/JSON senders may use, into
/// the integers the protobuf types expect.
pub(crate) fn normalize_json_enums(root: &mut serde_json::Value) {
    const LEVELS: [&str; 6] = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"];
    let severity = |name: &str| -> Option<i64> {
        let rest = name.strip_prefix("SEVERITY_NUMBER_")?;
        if rest == "UNSPECIFIED" {
            return Some(0);
        }
        let (level, step) = match rest.find(|c: char| c.is_ascii_digit()) {
            Some(i) => (&rest[..i], rest[i..].parse::<i64>().ok()?),
            None => (rest, 1),
        };
        let base = LEVELS.iter().position(|l| *l == level)? as i64;
        (1..=4).contains(&step).then_some(base * 4 + step)
    };
    for record in json_items(root, ["resourceLogs", "scopeLogs", "logRecords"]) {
        if let Some(v) = record.get_mut("severityNumber")
            && let Some(n) = v.as_str().and_then(severity)
        {
            *v = serde_json::Value::from(n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::{Format, decode};

    #[test]
    fn json_logs_with_enum_names_and_bodies() {
        let body = br#"{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}}]},
          "scopeLogs":[{"scope":{"name":"s"},"logRecords":[
            {"timeUnixNano":"1544712660300000000","severityNumber":"SEVERITY_NUMBER_WARN2","severityText":"W",
             "body":{"stringValue":"disk almost full"},"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174",
             "attributes":[{"key":"n","value":{"intValue":"7"}}]},
            {"observedTimeUnixNano":1544712660000000001,"severityNumber":9,
             "body":{"kvlistValue":{"values":[{"key":"a","value":{"intValue":"1"}}]}}},
            {"severityNumber":9,"body":{"stringValue":"no time"}},
            {"timeUnixNano":"1","traceId":"00ff","body":{"stringValue":"bad id"}}
          ]}]}]}"#;
        let req = decode::<ExportLogsServiceRequest>(Format::Json, body).expect("decodes");
        let c = convert(&req).expect("converts");
        assert_eq!(c.batch.num_rows(), 2);
        assert_eq!(c.rejected, 2);
        assert!(c.error_message.contains("trace_id"), "{}", c.error_message);
        let pretty = arrow::util::pretty::pretty_format_batches(&[c.batch]).expect("format");
        let pretty = pretty.to_string();
        assert!(
            pretty.contains("| 2018-12-13T14:51:00.300Z       | 2018-12-13T14:51:00.300Z       | svc          | 14              | W             | disk almost full | 5b8efff798038103d269b633813fc60c | eee19b7ec3c1b174 |"),
            "{pretty}"
        );
        assert!(pretty.contains(r#"{"a":1}"#), "{pretty}");
    }
}
