//! Test helpers: minimal valid batches for storage tables. Not part of the stable API.

use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, new_empty_array};
use arrow::array::{
    Int64Array, ListArray, MapArray, StringArray, StructArray, TimestampNanosecondArray,
    UInt32Array,
};
use arrow::buffer::OffsetBuffer;
use arrow::datatypes::{DataType, Field};

use crate::schema::{Table, event_fields, link_fields, map_entries_field};

fn empty_maps(n: usize) -> ArrayRef {
    let entries = map_entries_field();
    let DataType::Struct(fields) = entries.data_type().clone() else {
        unreachable!("struct")
    };
    let children = fields
        .iter()
        .map(|f| new_empty_array(f.data_type()))
        .collect();
    Arc::new(MapArray::new(
        Arc::new(entries),
        OffsetBuffer::new_zeroed(n),
        StructArray::new(fields, children, None),
        None,
        false,
    ))
}

fn empty_lists(n: usize, fields: arrow::datatypes::Fields) -> ArrayRef {
    let children = fields
        .iter()
        .map(|f| new_empty_array(f.data_type()))
        .collect();
    let item = Field::new("item", DataType::Struct(fields.clone()), true);
    Arc::new(ListArray::new(
        Arc::new(item),
        OffsetBuffer::new_zeroed(n),
        Arc::new(StructArray::new(fields, children, None)),
        None,
    ))
}

/// `n` spans of `service` starting at `start_ns`, one per millisecond, ids from `first_id`.
pub fn spans(service: &str, start_ns: i64, n: usize, first_id: u64) -> RecordBatch {
    let text = |f: &dyn Fn(usize) -> String| {
        Arc::new(StringArray::from_iter_values((0..n).map(f))) as ArrayRef
    };
    let starts: Vec<i64> = (0..n).map(|i| start_ns + i as i64 * 1_000_000).collect();
    let ts =
        |v: Vec<i64>| Arc::new(TimestampNanosecondArray::from(v).with_timezone("UTC")) as ArrayRef;
    let columns = vec![
        text(&|i| format!("{:032x}", first_id + i as u64)),
        text(&|i| format!("{:016x}", first_id + i as u64)),
        text(&|_| String::new()),
        text(&|_| String::new()),
        text(&|_| service.to_string()),
        text(&|_| "op".to_string()),
        text(&|_| "SERVER".to_string()),
        ts(starts.clone()),
        ts(starts.iter().map(|s| s + 5_000_000).collect()),
        Arc::new(Int64Array::from(vec![5_000_000; n])) as ArrayRef,
        text(&|_| "UNSET".to_string()),
        text(&|_| String::new()),
        Arc::new(UInt32Array::from(vec![0; n])) as ArrayRef,
        text(&|_| String::new()),
        text(&|_| String::new()),
        empty_maps(n),
        empty_maps(n),
        empty_lists(n, event_fields()),
        empty_lists(n, link_fields()),
    ];
    RecordBatch::try_new(Table::Spans.schema(), columns).expect("valid spans batch")
}
