//! Parquet data files: sorting, splitting by hour, encoding and decoding.
//!
//! Files are zstd-compressed, sorted by the table's sort columns (service, then time), with
//! page statistics so DataFusion prunes row groups and pages by time and service.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Int64Array, RecordBatch, TimestampNanosecondArray};
use arrow::compute::{SortColumn, concat_batches, lexsort_to_indices, take_record_batch};
use bytes::Bytes;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

use crate::error::{Error, Result};
use crate::paths::HOUR_NS;
use crate::schema::Table;

/// Rows per Parquet row group.
const ROW_GROUP_ROWS: usize = 1 << 20;

/// Columns whose values are random ids: dictionary encoding only wastes time on them.
const HIGH_CARDINALITY: &[&str] = &["trace_id", "span_id", "parent_span_id"];

/// The time column of `batch` as nanoseconds.
pub(crate) fn time_column(table: Table, batch: &RecordBatch) -> Result<&TimestampNanosecondArray> {
    batch
        .column_by_name(table.time_column())
        .and_then(|c| c.as_any().downcast_ref::<TimestampNanosecondArray>())
        .ok_or(Error::Config(format!(
            "{} batch lacks its time column",
            table.name()
        )))
}

/// Min and max of the time column, or `None` for an empty batch.
pub(crate) fn time_range(table: Table, batch: &RecordBatch) -> Result<Option<(i64, i64)>> {
    let times = time_column(table, batch)?;
    Ok(arrow::compute::min(times).zip(arrow::compute::max(times)))
}

/// Concatenates `batches`, sorts by (hour, sort columns) and splits at hour boundaries.
/// Returns `(hour_start_ns, batch)` pairs in hour order.
pub(crate) fn sort_and_split(
    table: Table,
    batches: &[RecordBatch],
) -> Result<Vec<(i64, RecordBatch)>> {
    let schema = table.schema();
    let all = concat_batches(&schema, batches).map_err(Error::arrow("concatenating batches"))?;
    if all.num_rows() == 0 {
        return Ok(vec![]);
    }
    let hours: Int64Array = time_column(table, &all)?
        .iter()
        .map(|t| t.map(|t| t.div_euclid(HOUR_NS) * HOUR_NS))
        .collect();
    let hours: ArrayRef = Arc::new(hours);
    let mut keys = vec![SortColumn {
        values: Arc::clone(&hours),
        options: None,
    }];
    for name in table.sort_columns() {
        let values = all
            .column_by_name(name)
            .cloned()
            .ok_or(Error::Config(format!("missing sort column {name}")))?;
        keys.push(SortColumn {
            values,
            options: None,
        });
    }
    let indices = lexsort_to_indices(&keys, None).map_err(Error::arrow("sorting rows"))?;
    let sorted = take_record_batch(&all, &indices).map_err(Error::arrow("sorting rows"))?;
    let hours =
        arrow::compute::take(&hours, &indices, None).map_err(Error::arrow("sorting rows"))?;
    let hours = hours
        .as_any()
        .downcast_ref::<Int64Array>()
        .ok_or(Error::Config("hour column type".into()))?;

    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..=hours.len() {
        if i == hours.len() || hours.value(i) != hours.value(start) {
            out.push((hours.value(start), sorted.slice(start, i - start)));
            start = i;
        }
    }
    Ok(out)
}

fn writer_properties(table: Table) -> WriterProperties {
    let mut props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(3).unwrap_or_default()))
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_statistics_enabled(EnabledStatistics::Page);
    for col in HIGH_CARDINALITY {
        if table.schema().field_with_name(col).is_ok() {
            props = props.set_column_dictionary_enabled(ColumnPath::from(*col), false);
        }
    }
    if table.schema().field_with_name("trace_id").is_ok() {
        // Trace lookups by id read only the row groups whose bloom filter may hold it.
        props = props
            .set_column_bloom_filter_enabled(ColumnPath::from("trace_id"), true)
            .set_column_bloom_filter_fpp(ColumnPath::from("trace_id"), 0.01);
    }
    props.build()
}

/// Encodes a sorted batch as one Parquet file.
pub(crate) fn encode(table: Table, batch: &RecordBatch, path: &str) -> Result<Bytes> {
    let perr = |source| Error::Parquet {
        path: path.to_string(),
        source,
    };
    let mut buf = Vec::with_capacity(batch.get_array_memory_size() / 4);
    let mut writer = ArrowWriter::try_new(&mut buf, batch.schema(), Some(writer_properties(table)))
        .map_err(perr)?;
    writer.write(batch).map_err(perr)?;
    writer.close().map_err(perr)?;
    Ok(Bytes::from(buf))
}

/// Decodes a whole Parquet file.
pub(crate) fn decode(bytes: Bytes, path: &str) -> Result<Vec<RecordBatch>> {
    let perr = |source| Error::Parquet {
        path: path.to_string(),
        source,
    };
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)
        .map_err(perr)?
        .with_batch_size(64 * 1024)
        .build()
        .map_err(perr)?;
    reader
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(Error::arrow("decoding parquet"))
}
