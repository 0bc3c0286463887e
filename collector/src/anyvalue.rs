//! OTLP `AnyValue` → string, the representation of attribute values in Headroom tables.
//!
//! Strings stay as they are; booleans, integers and doubles are written as in JSON; bytes
//! as lowercase hex; arrays and key-value lists as JSON text.

use std::fmt::Write;

use opentelemetry_proto::tonic::common::v1::{AnyValue, any_value::Value};

/// Appends the string form of `value` to `out`.
pub(crate) fn write_value(value: Option<&AnyValue>, out: &mut String) {
    match value.and_then(|v| v.value.as_ref()) {
        None => {}
        Some(Value::StringValue(s)) => out.push_str(s),
        Some(Value::BoolValue(b)) => out.push_str(if *b { "true" } else { "false" }),
        Some(Value::IntValue(i)) => {
            let _ = write!(out, "{i}");
        }
        Some(Value::DoubleValue(d)) => out.push_str(
            &serde_json::Number::from_f64(*d).map_or_else(|| d.to_string(), |n| n.to_string()),
        ),
        Some(Value::BytesValue(b)) => out.push_str(&hex::encode(b)),
        Some(other) => out.push_str(&to_json(other).to_string()),
    }
}

fn to_json(value: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match value {
        Value::StringValue(s) => J::String(s.clone()),
        Value::BoolValue(b) => J::Bool(*b),
        Value::IntValue(i) => J::from(*i),
        Value::DoubleValue(d) => serde_json::Number::from_f64(*d).map_or(J::Null, J::Number),
        Value::BytesValue(b) => J::String(hex::encode(b)),
        Value::StringValueStrindex(i) => J::from(*i),
        Value::ArrayValue(a) => J::Array(
            a.values
                .iter()
                .map(|v| v.value.as_ref().map_or(J::Null, to_json))
                .collect(),
        ),
        Value::KvlistValue(kv) => J::Object(
            kv.values
                .iter()
                .map(|kv| {
                    (
                        kv.key.clone(),
                        kv.value
                            .as_ref()
                            .and_then(|v| v.value.as_ref())
                            .map_or(J::Null, to_json),
                    )
                })
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry_proto::tonic::common::v1::{ArrayValue, KeyValue, KeyValueList};

    use super::*;

    fn s(v: Value) -> String {
        let mut out = String::new();
        write_value(Some(&AnyValue { value: Some(v) }), &mut out);
        out
    }

    #[test]
    fn scalars_and_nested_values() {
        assert_eq!(s(Value::StringValue("a b".into())), "a b");
        assert_eq!(s(Value::BoolValue(true)), "true");
        assert_eq!(s(Value::IntValue(-42)), "-42");
        assert_eq!(s(Value::DoubleValue(0.25)), "0.25");
        assert_eq!(s(Value::BytesValue(vec![0xab, 1])), "ab01");
        let arr = Value::ArrayValue(ArrayValue {
            values: vec![
                AnyValue {
                    value: Some(Value::IntValue(1)),
                },
                AnyValue {
                    value: Some(Value::StringValue("x".into())),
                },
            ],
        });
        assert_eq!(s(arr), r#"[1,"x"]"#);
        let kv = Value::KvlistValue(KeyValueList {
            values: vec![KeyValue {
                key: "k".into(),
                value: Some(AnyValue {
                    value: Some(Value::BoolValue(false)),
                }),
                ..Default::default()
            }],
        });
        assert_eq!(s(kv), r#"{"k":false}"#);
    }
}
