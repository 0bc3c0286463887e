//! Object-store keys. Every key Headroom writes is built here and nowhere else.
//!
//! ```text
//! catalog/catalog.json                                   the catalog (see `catalog`)
//! <table>/dt=<YYYY-MM-DD>/hr=<HH>/<ulid>.parquet         data files, one hour each (UTC)
//! ```

use chrono::{DateTime, Utc};
use object_store::path::Path;

use crate::schema::Table;

/// Nanoseconds in one hour: the time partition of data files.
pub const HOUR_NS: i64 = 3_600 * 1_000_000_000;

/// The catalog object.
pub fn catalog() -> Path {
    Path::from("catalog/catalog.json")
}

/// The prefix under which all files of `table` live.
pub fn table_prefix(table: Table) -> Path {
    Path::from(table.name())
}

/// A new, unique data file key for `table` in the hour starting at `hour_start_ns`.
pub fn data_file(table: Table, hour_start_ns: i64) -> Path {
    let when = DateTime::<Utc>::from_timestamp_nanos(hour_start_ns);
    Path::from(format!(
        "{}/dt={}/hr={}/{}.parquet",
        table.name(),
        when.format("%Y-%m-%d"),
        when.format("%H"),
        ulid::Ulid::new()
    ))
}

/// The hour partition (start in ns) a timestamp falls in.
pub fn hour_of(ts_ns: i64) -> i64 {
    ts_ns.div_euclid(HOUR_NS) * HOUR_NS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_file_is_partitioned_by_hour() {
        let ts = 1_732_320_000_000_000_000 + 5 * HOUR_NS + 17;
        let p = data_file(Table::Spans, hour_of(ts)).to_string();
        assert!(p.starts_with("spans/dt=2024-11-23/hr=05/"), "{p}");
        assert!(p.ends_with(".parquet"));
        assert_eq!(hour_of(-1), -HOUR_NS);
    }
}
