//! Arrow column builders for the nested types of the storage schemas, and the helpers every
//! OTLP signal's conversion shares (ids, timestamps, resources, rejections).

use std::sync::Arc;

use arrow::array::{
    ArrayBuilder, ArrayRef, ListArray, MapArray, StringBuilder, StructArray,
    TimestampNanosecondBuilder,
};
use arrow::buffer::{NullBuffer, OffsetBuffer};
use arrow::datatypes::{DataType, Field, Fields};
use headroom_storage::schema::map_entries_field;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::resource::v1::Resource;

use crate::anyvalue::write_value;

/// Builds a `map<string, string>` column row by row.
pub(crate) struct StringMapBuilder {
    offsets: Vec<i32>,
    keys: StringBuilder,
    values: StringBuilder,
}

impl StringMapBuilder {
    pub(crate) fn new() -> Self {
        Self {
            offsets: vec![0],
            keys: StringBuilder::new(),
            values: StringBuilder::new(),
        }
    }

    pub(crate) fn insert(&mut self, key: &str, value: &str) {
        self.keys.append_value(key);
        self.values.append_value(value);
    }

    /// Ends the current row.
    pub(crate) fn finish_row(&mut self) {
        self.offsets.push(self.keys.len() as i32);
    }

    pub(crate) fn finish(mut self) -> MapArray {
        let entries_field = map_entries_field();
        let DataType::Struct(fields) = entries_field.data_type().clone() else {
            unreachable!("map entries are a struct")
        };
        let entries = StructArray::new(
            fields,
            vec![
                Arc::new(self.keys.finish()) as ArrayRef,
                Arc::new(self.values.finish()),
            ],
            None,
        );
        MapArray::new(
            Arc::new(entries_field),
            OffsetBuffer::new(self.offsets.into()),
            entries,
            None,
            false,
        )
    }
}

/// Builds a `list<struct<...>>` column from child columns built element by element.
pub(crate) struct ListOffsets {
    offsets: Vec<i32>,
    valid: Vec<bool>,
    len: i32,
}

impl ListOffsets {
    pub(crate) fn new() -> Self {
        Self {
            offsets: vec![0],
            valid: Vec::new(),
            len: 0,
        }
    }

    pub(crate) fn push_element(&mut self) {
        self.len += 1;
    }

    pub(crate) fn finish_row(&mut self) {
        self.offsets.push(self.len);
        self.valid.push(true);
    }

    /// Ends the current row as null (it must have no elements).
    pub(crate) fn null_row(&mut self) {
        self.offsets.push(self.len);
        self.valid.push(false);
    }

    pub(crate) fn finish(self, fields: Fields, children: Vec<ArrayRef>) -> ListArray {
        let item = Field::new("item", DataType::Struct(fields.clone()), true);
        let values = StructArray::new(fields, children, None);
        let nulls = self
            .valid
            .iter()
            .any(|v| !v)
            .then(|| NullBuffer::from(self.valid));
        ListArray::new(
            Arc::new(item),
            OffsetBuffer::new(self.offsets.into()),
            Arc::new(values),
            nulls,
        )
    }
}

/// A nanosecond timestamp builder in UTC, the type of every time column.
pub(crate) fn ts_builder(capacity: usize) -> TimestampNanosecondBuilder {
    TimestampNanosecondBuilder::with_capacity(capacity).with_timezone("UTC")
}

/// Appends `attrs` to the current row of `map` (values as in [`write_value`]).
pub(crate) fn attrs_into(map: &mut StringMapBuilder, attrs: &[KeyValue], scratch: &mut String) {
    for kv in attrs {
        scratch.clear();
        write_value(kv.value.as_ref(), scratch);
        map.insert(&kv.key, scratch);
    }
}

/// Service name used when a resource has no `service.name` (SDKs send
/// `unknown_service:<process>` themselves; this covers senders that send nothing).
pub(crate) const UNKNOWN_SERVICE: &str = "unknown_service";

/// The resource's attributes and its `service.name`.
pub(crate) fn resource_service(resource: Option<&Resource>) -> (&[KeyValue], String) {
    let attrs = resource
        .map(|r| r.attributes.as_slice())
        .unwrap_or_default();
    let mut service = String::new();
    if let Some(kv) = attrs.iter().find(|kv| kv.key == "service.name") {
        write_value(kv.value.as_ref(), &mut service);
    }
    if service.is_empty() {
        service = UNKNOWN_SERVICE.to_string();
    }
    (attrs, service)
}

/// Lowercase hex of an id of exactly `len` bytes that is not all zeros.
pub(crate) fn hex_id(bytes: &[u8], len: usize, what: &str) -> std::result::Result<String, String> {
    if bytes.len() != len {
        return Err(format!("{what} must be {len} bytes, got {}", bytes.len()));
    }
    if bytes.iter().all(|b| *b == 0) {
        return Err(format!("{what} is all zeros"));
    }
    Ok(hex::encode(bytes))
}

/// Hex of an optional id: empty stays empty (also all zeros, which OTLP uses for "none").
pub(crate) fn optional_hex_id(
    bytes: &[u8],
    len: usize,
    what: &str,
) -> std::result::Result<String, String> {
    if bytes.is_empty() || (bytes.len() == len && bytes.iter().all(|b| *b == 0)) {
        return Ok(String::new());
    }
    hex_id(bytes, len, what)
}

/// A nanosecond timestamp that fits the `i64` columns.
pub(crate) fn time_ns(t: u64, what: &str) -> std::result::Result<i64, String> {
    i64::try_from(t).map_err(|_| format!("{what} out of range"))
}

/// Items of a request rejected one by one, reported through OTLP `partial_success`.
#[derive(Debug, Default)]
pub(crate) struct Rejections {
    pub(crate) count: i64,
    reasons: Vec<String>,
}

impl Rejections {
    pub(crate) fn reject(&mut self, what: impl FnOnce() -> String) {
        self.count += 1;
        if self.reasons.len() < 3 {
            self.reasons.push(what());
        }
    }

    /// The first reasons, and how many more there were.
    pub(crate) fn message(&self) -> String {
        let mut message = self.reasons.join("; ");
        if self.count > self.reasons.len() as i64 {
            message.push_str(&format!(
                "; and {} more",
                self.count - self.reasons.len() as i64
            ));
        }
        message
    }
}
