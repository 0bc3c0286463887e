//! Arrow schemas of the tables Headroom stores, following the OpenTelemetry data model.
//!
//! A schema here is a persisted format: Parquet files and WAL records carry it. Adding a
//! nullable column at the end is compatible; anything else needs a format version bump.

use std::sync::{Arc, LazyLock};

use arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};

/// A table Headroom stores. One WAL, one memtable and one set of Parquet files each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Table {
    Spans,
    Logs,
    Metrics,
}

impl Table {
    /// Every table, in WAL id order.
    pub const ALL: [Table; 3] = [Table::Spans, Table::Logs, Table::Metrics];

    /// The SQL and object-store name of the table.
    pub fn name(self) -> &'static str {
        match self {
            Table::Spans => "spans",
            Table::Logs => "logs",
            Table::Metrics => "metrics",
        }
    }

    /// The id written in WAL records. Never reuse or renumber.
    pub fn wal_id(self) -> u8 {
        match self {
            Table::Spans => 1,
            Table::Logs => 2,
            Table::Metrics => 3,
        }
    }

    /// Inverse of [`Table::wal_id`].
    pub fn from_wal_id(id: u8) -> Option<Table> {
        Table::ALL.into_iter().find(|t| t.wal_id() == id)
    }

    /// The table's Arrow schema.
    pub fn schema(self) -> SchemaRef {
        match self {
            Table::Spans => Arc::clone(&SPANS_SCHEMA),
            Table::Logs => Arc::clone(&LOGS_SCHEMA),
            Table::Metrics => Arc::clone(&METRICS_SCHEMA),
        }
    }

    /// The column that orders rows in time; files are pruned and partitioned by it.
    pub fn time_column(self) -> &'static str {
        match self {
            Table::Spans => "start_time",
            Table::Logs | Table::Metrics => "timestamp",
        }
    }

    /// The columns rows are sorted by inside a Parquet file (after the hour partition).
    pub fn sort_columns(self) -> &'static [&'static str] {
        match self {
            Table::Spans => &["service_name", "start_time"],
            Table::Logs => &["service_name", "timestamp"],
            // Series queries select one metric: keep its points together.
            Table::Metrics => &["metric_name", "service_name", "timestamp"],
        }
    }
}

/// Timestamp type used for every time column: nanoseconds, UTC.
pub fn timestamp_type() -> DataType {
    DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into()))
}

/// The `map<string, string>` type used for attributes.
pub fn string_map_type() -> DataType {
    DataType::Map(Arc::new(map_entries_field()), false)
}

/// The entries field of [`string_map_type`].
pub fn map_entries_field() -> Field {
    Field::new(
        "entries",
        DataType::Struct(Fields::from(vec![
            Field::new("key", DataType::Utf8, false),
            Field::new("value", DataType::Utf8, true),
        ])),
        false,
    )
}

/// Fields of one element of the `events` list.
pub fn event_fields() -> Fields {
    Fields::from(vec![
        Field::new("time", timestamp_type(), false),
        Field::new("name", DataType::Utf8, false),
        Field::new("attributes", string_map_type(), false),
    ])
}

/// Fields of one element of the `links` list.
pub fn link_fields() -> Fields {
    Fields::from(vec![
        Field::new("trace_id", DataType::Utf8, false),
        Field::new("span_id", DataType::Utf8, false),
        Field::new("trace_state", DataType::Utf8, false),
        Field::new("attributes", string_map_type(), false),
    ])
}

fn list_of(fields: Fields) -> DataType {
    DataType::List(Arc::new(Field::new("item", DataType::Struct(fields), true)))
}

/// `list<item>` of a primitive type, as arrow's `ListBuilder` makes it.
pub fn list_of_primitive(item: DataType) -> DataType {
    DataType::List(Arc::new(Field::new("item", item, true)))
}

/// Fields of one element of the `quantiles` list (summary points).
pub fn quantile_fields() -> Fields {
    Fields::from(vec![
        Field::new("quantile", DataType::Float64, false),
        Field::new("value", DataType::Float64, false),
    ])
}

/// Fields of one element of the `exemplars` list (metric points).
pub fn exemplar_fields() -> Fields {
    Fields::from(vec![
        Field::new("time", timestamp_type(), false),
        Field::new("value", DataType::Float64, false),
        Field::new("trace_id", DataType::Utf8, false),
        Field::new("span_id", DataType::Utf8, false),
        Field::new("attributes", string_map_type(), false),
    ])
}

static SPANS_SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    let utf8 = |name: &str| Field::new(name, DataType::Utf8, false);
    Arc::new(Schema::new(vec![
        utf8("trace_id"),
        utf8("span_id"),
        utf8("parent_span_id"),
        utf8("trace_state"),
        utf8("service_name"),
        utf8("span_name"),
        utf8("span_kind"),
        Field::new("start_time", timestamp_type(), false),
        Field::new("end_time", timestamp_type(), false),
        Field::new("duration_ns", DataType::Int64, false),
        utf8("status_code"),
        utf8("status_message"),
        Field::new("flags", DataType::UInt32, false),
        utf8("scope_name"),
        utf8("scope_version"),
        Field::new("attributes", string_map_type(), false),
        Field::new("resource_attributes", string_map_type(), false),
        Field::new("events", list_of(event_fields()), false),
        Field::new("links", list_of(link_fields()), false),
    ]))
});

static LOGS_SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    let utf8 = |name: &str| Field::new(name, DataType::Utf8, false);
    Arc::new(Schema::new(vec![
        // `time_unix_nano`, or the observed time when the sender left it unset.
        Field::new("timestamp", timestamp_type(), false),
        Field::new("observed_timestamp", timestamp_type(), false),
        utf8("service_name"),
        Field::new("severity_number", DataType::Int32, false),
        utf8("severity_text"),
        // Strings as they are; any other body as OTLP/JSON-style JSON text.
        utf8("body"),
        // Hex, or empty when the record is not tied to a span.
        utf8("trace_id"),
        utf8("span_id"),
        Field::new("flags", DataType::UInt32, false),
        utf8("event_name"),
        utf8("scope_name"),
        utf8("scope_version"),
        Field::new("attributes", string_map_type(), false),
        Field::new("resource_attributes", string_map_type(), false),
    ]))
});

static METRICS_SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    let utf8 = |name: &str| Field::new(name, DataType::Utf8, false);
    let f64_null = |name: &str| Field::new(name, DataType::Float64, true);
    let u64_list = |name: &str| Field::new(name, list_of_primitive(DataType::UInt64), true);
    Arc::new(Schema::new(vec![
        Field::new("timestamp", timestamp_type(), false),
        // Null when the sender left it unset (gauges usually do).
        Field::new("start_timestamp", timestamp_type(), true),
        utf8("service_name"),
        utf8("metric_name"),
        // gauge | sum | histogram | exponential_histogram | summary
        utf8("metric_type"),
        utf8("unit"),
        utf8("description"),
        // cumulative | delta; null for gauges and summaries.
        Field::new("temporality", DataType::Utf8, true),
        Field::new("is_monotonic", DataType::Boolean, true),
        // Gauge and sum points (integers as float64).
        f64_null("value"),
        // Histogram, exponential histogram and summary points.
        Field::new("count", DataType::UInt64, true),
        f64_null("sum"),
        f64_null("min"),
        f64_null("max"),
        // Explicit-bucket histograms: n bounds, n + 1 counts.
        Field::new("bucket_bounds", list_of_primitive(DataType::Float64), true),
        u64_list("bucket_counts"),
        // Exponential histograms.
        Field::new("exp_scale", DataType::Int32, true),
        Field::new("exp_zero_count", DataType::UInt64, true),
        f64_null("exp_zero_threshold"),
        Field::new("exp_positive_offset", DataType::Int32, true),
        u64_list("exp_positive_counts"),
        Field::new("exp_negative_offset", DataType::Int32, true),
        u64_list("exp_negative_counts"),
        // Summaries.
        Field::new("quantiles", list_of(quantile_fields()), true),
        Field::new("exemplars", list_of(exemplar_fields()), false),
        Field::new("flags", DataType::UInt32, false),
        utf8("scope_name"),
        Field::new("attributes", string_map_type(), false),
        Field::new("resource_attributes", string_map_type(), false),
    ]))
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wal_ids_round_trip() {
        for t in Table::ALL {
            assert_eq!(Table::from_wal_id(t.wal_id()), Some(t));
        }
        assert_eq!(Table::from_wal_id(0), None);
    }

    #[test]
    fn sort_and_time_columns_exist() {
        for t in Table::ALL {
            let schema = t.schema();
            assert!(schema.field_with_name(t.time_column()).is_ok());
            for c in t.sort_columns() {
                assert!(schema.field_with_name(c).is_ok(), "{c}");
            }
        }
    }
}
