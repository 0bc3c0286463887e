//! The catalog: which Parquet files make up each table, with their time ranges and row
//! counts, and how far the WAL has been flushed.
//!
//! # Format
//! One JSON object at `catalog/catalog.json` (see `paths`), replaced atomically on every
//! change (object stores and `LocalFileSystem` both write a new object and rename/commit it).
//! `version` is [`CATALOG_VERSION`]; readers refuse other versions.
//!
//! # Invariants
//! - A file is listed only after it has been written durably.
//! - `flushed_wal_segment` = N means every WAL record in segments `<= N` is in a listed file
//!   (or was deleted by retention), so replay skips those segments.
//! - A file removed from the catalog is deleted only after a grace period, so queries that
//!   took a snapshot just before can finish reading it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::schema::Table;

/// Version of the catalog format this build reads and writes.
pub const CATALOG_VERSION: u32 = 1;

/// One Parquet data file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileMeta {
    /// Object-store key.
    pub path: String,
    /// Smallest value of the table's time column, ns since the epoch.
    pub min_time_ns: i64,
    /// Largest value of the table's time column, ns since the epoch.
    pub max_time_ns: i64,
    /// Number of rows.
    pub rows: u64,
    /// Size of the file in bytes.
    pub bytes: u64,
    /// 0 for a file written by a flush, n + 1 for one merged from level-n files.
    pub level: u32,
}

impl FileMeta {
    /// Whether the file may hold rows with time in `[from, to)` (ns).
    pub fn overlaps(&self, from: i64, to: i64) -> bool {
        self.max_time_ns >= from && self.min_time_ns < to
    }
}

/// The catalog document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Catalog {
    /// Format version, [`CATALOG_VERSION`].
    pub version: u32,
    /// Every WAL segment with an id at or below this has been flushed.
    pub flushed_wal_segment: u64,
    /// Files per table name.
    pub tables: BTreeMap<String, Vec<FileMeta>>,
}

impl Default for Catalog {
    fn default() -> Self {
        Self {
            version: CATALOG_VERSION,
            flushed_wal_segment: 0,
            tables: BTreeMap::new(),
        }
    }
}

impl Catalog {
    /// Files of `table`.
    pub fn files(&self, table: Table) -> &[FileMeta] {
        self.tables
            .get(table.name())
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// A copy with `added` files and without the files whose paths are in `removed`.
    pub fn with_changes(&self, table: Table, added: &[FileMeta], removed: &[String]) -> Catalog {
        let mut next = self.clone();
        let files = next.tables.entry(table.name().to_string()).or_default();
        files.retain(|f| !removed.contains(&f.path));
        files.extend_from_slice(added);
        files.sort_by(|a, b| (a.min_time_ns, &a.path).cmp(&(b.min_time_ns, &b.path)));
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, min: i64, max: i64) -> FileMeta {
        FileMeta {
            path: path.into(),
            min_time_ns: min,
            max_time_ns: max,
            rows: 1,
            bytes: 1,
            level: 0,
        }
    }

    #[test]
    fn changes_add_remove_and_sort() {
        let c = Catalog::default()
            .with_changes(Table::Spans, &[file("b", 20, 30), file("a", 0, 10)], &[])
            .with_changes(Table::Spans, &[file("c", 5, 25)], &["a".into()]);
        let paths: Vec<_> = c
            .files(Table::Spans)
            .iter()
            .map(|f| f.path.as_str())
            .collect();
        assert_eq!(paths, ["c", "b"]);
    }

    #[test]
    fn overlap_is_half_open() {
        let f = file("x", 10, 20);
        assert!(f.overlaps(20, 30));
        assert!(!f.overlaps(21, 30));
        assert!(!f.overlaps(0, 10));
        assert!(f.overlaps(0, 11));
    }

    #[test]
    fn format_is_stable() {
        let c =
            Catalog::default().with_changes(Table::Spans, &[file("spans/x.parquet", 1, 2)], &[]);
        let json = serde_json::to_string(&c).expect("serialize");
        assert_eq!(
            json,
            r#"{"version":1,"flushed_wal_segment":0,"tables":{"spans":[{"path":"spans/x.parquet","min_time_ns":1,"max_time_ns":2,"rows":1,"bytes":1,"level":0}]}}"#
        );
    }
}
