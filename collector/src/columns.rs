//! Arrow column builders for the nested types of the storage schemas.

use std::sync::Arc;

use arrow::array::{ArrayBuilder, ArrayRef, ListArray, MapArray, StringBuilder, StructArray};
use arrow::buffer::OffsetBuffer;
use arrow::datatypes::{DataType, Field, Fields};
use headroom_storage::schema::map_entries_field;

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
    len: i32,
}

impl ListOffsets {
    pub(crate) fn new() -> Self {
        Self {
            offsets: vec![0],
            len: 0,
        }
    }

    pub(crate) fn push_element(&mut self) {
        self.len += 1;
    }

    pub(crate) fn finish_row(&mut self) {
        self.offsets.push(self.len);
    }

    pub(crate) fn finish(self, fields: Fields, children: Vec<ArrayRef>) -> ListArray {
        let item = Field::new("item", DataType::Struct(fields.clone()), true);
        let values = StructArray::new(fields, children, None);
        ListArray::new(
            Arc::new(item),
            OffsetBuffer::new(self.offsets.into()),
            Arc::new(values),
            None,
        )
    }
}
