//! In-memory state shared by the writer, the flusher and queries: the active memtable
//! (acknowledged writes not yet sealed), sealed memtables being flushed, and the current
//! catalog. One lock guards all three so a query snapshot never sees a row twice or misses
//! one while a flush moves it from memory into a file.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use arrow::array::RecordBatch;

use crate::catalog::{Catalog, FileMeta};
use crate::schema::Table;

/// An acknowledged batch held in memory.
#[derive(Debug)]
pub(crate) struct MemBatch {
    pub(crate) batch: RecordBatch,
    pub(crate) min_ns: i64,
    pub(crate) max_ns: i64,
    pub(crate) bytes: usize,
}

/// A memtable frozen for flushing: everything in WAL segments `<= through_segment`.
#[derive(Debug)]
pub(crate) struct Sealed {
    pub(crate) seal_id: u64,
    pub(crate) through_segment: u64,
    pub(crate) batches: BTreeMap<Table, Vec<Arc<MemBatch>>>,
    pub(crate) bytes: usize,
}

/// What a query reads: files from the catalog plus in-memory batches, for one table.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Parquet files that may overlap the requested time range.
    pub files: Vec<FileMeta>,
    /// In-memory batches that may overlap the requested time range.
    pub batches: Vec<RecordBatch>,
}

#[derive(Debug)]
pub(crate) struct State {
    pub(crate) active: BTreeMap<Table, Vec<Arc<MemBatch>>>,
    pub(crate) active_bytes: usize,
    pub(crate) active_since: Option<Instant>,
    pub(crate) sealed: Vec<Arc<Sealed>>,
    pub(crate) catalog: Arc<Catalog>,
    next_seal_id: u64,
}

impl State {
    pub(crate) fn new(catalog: Catalog) -> Self {
        Self {
            active: BTreeMap::new(),
            active_bytes: 0,
            active_since: None,
            sealed: Vec::new(),
            catalog: Arc::new(catalog),
            next_seal_id: 0,
        }
    }

    /// Bytes held in memory, active and sealed.
    pub(crate) fn buffered_bytes(&self) -> usize {
        self.active_bytes + self.sealed.iter().map(|s| s.bytes).sum::<usize>()
    }

    pub(crate) fn insert(&mut self, table: Table, batch: MemBatch) {
        self.active_bytes += batch.bytes;
        self.active_since.get_or_insert_with(Instant::now);
        self.active.entry(table).or_default().push(Arc::new(batch));
    }

    /// Freezes the active memtable as covering WAL segments `<= through_segment`.
    pub(crate) fn seal(&mut self, through_segment: u64) -> Option<Arc<Sealed>> {
        if self.active.is_empty() {
            return None;
        }
        let sealed = Arc::new(Sealed {
            seal_id: self.next_seal_id,
            through_segment,
            batches: std::mem::take(&mut self.active),
            bytes: std::mem::take(&mut self.active_bytes),
        });
        self.next_seal_id += 1;
        self.active_since = None;
        self.sealed.push(Arc::clone(&sealed));
        Some(sealed)
    }

    /// Installs a catalog that contains the given sealed memtables' rows, and forgets them.
    pub(crate) fn complete_flush(&mut self, catalog: Catalog, seal_ids: &[u64]) {
        self.catalog = Arc::new(catalog);
        self.sealed.retain(|s| !seal_ids.contains(&s.seal_id));
    }

    pub(crate) fn snapshot(&self, table: Table, from_ns: i64, to_ns: i64) -> Snapshot {
        let files = self
            .catalog
            .files(table)
            .iter()
            .filter(|f| f.overlaps(from_ns, to_ns))
            .cloned()
            .collect();
        let mem = self
            .sealed
            .iter()
            .filter_map(|s| s.batches.get(&table))
            .chain(self.active.get(&table))
            .flatten()
            .filter(|b| b.max_ns >= from_ns && b.min_ns < to_ns)
            .map(|b| b.batch.clone())
            .collect();
        Snapshot {
            files,
            batches: mem,
        }
    }
}
