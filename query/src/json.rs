//! Record batches → JSON, via arrow-json.

use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{Field, Schema};
use arrow::json::writer::{JsonArray, WriterBuilder};
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// Rows as JSON objects keyed by column name.
pub fn objects(batches: &[RecordBatch]) -> Result<Vec<Map<String, Value>>> {
    let mut buf = Vec::new();
    {
        let mut w = WriterBuilder::new()
            .with_explicit_nulls(true)
            .build::<_, JsonArray>(&mut buf);
        let refs: Vec<&RecordBatch> = batches.iter().collect();
        w.write_batches(&refs)
            .map_err(|e| Error::Internal(format!("encoding json: {e}")))?;
        w.finish()
            .map_err(|e| Error::Internal(format!("encoding json: {e}")))?;
    }
    if buf.is_empty() {
        return Ok(vec![]);
    }
    serde_json::from_slice(&buf).map_err(|e| Error::Internal(format!("re-reading json: {e}")))
}

/// Rows as JSON arrays in column order (duplicate column names are fine).
pub fn rows(batches: &[RecordBatch]) -> Result<Vec<Vec<Value>>> {
    let Some(first) = batches.first() else {
        return Ok(vec![]);
    };
    let n = first.num_columns();
    // Rename columns to their positions so that objects have unique keys.
    let fields: Vec<Field> = first
        .schema()
        .fields()
        .iter()
        .enumerate()
        .map(|(i, f)| f.as_ref().clone().with_name(i.to_string()))
        .collect();
    let schema = Arc::new(Schema::new(fields));
    let renamed = batches
        .iter()
        .map(|b| RecordBatch::try_new(Arc::clone(&schema), b.columns().to_vec()))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::Internal(format!("renaming columns: {e}")))?;
    Ok(objects(&renamed)?
        .into_iter()
        .map(|mut o| {
            (0..n)
                .map(|i| o.remove(&i.to_string()).unwrap_or(Value::Null))
                .collect()
        })
        .collect())
}
