//! # headroom-storage
//!
//! Owns everything Headroom persists: the Arrow schemas of its tables ([`schema`]), the
//! write-ahead log ([`wal`]), the in-memory buffer (memtable), Parquet data files, the
//! [`catalog`] of those files, compaction and retention. It knows nothing of OTLP, SQL or
//! HTTP: the collector hands it Arrow batches, the query engine asks it for [`Snapshot`]s.
//!
//! ## Data flow
//! ```text
//! write(table, batch) ──► bounded queue ──► WAL writer thread (group commit, fsync)
//!                                                │ then
//!                                                ▼
//!                         ack ◄── active memtable (queryable)
//!                                                │ flush: seal + rotate segment
//!                                                ▼
//!                 sealed memtable ──► sort, split by hour, zstd Parquet ──► object store
//!                                                │ catalog commit (atomic), WAL segments deleted
//!                                                ▼
//!                         compaction merges small files of an hour; retention drops old ones
//! ```
//!
//! ## Invariants
//! - A write is acknowledged only after its WAL record is durable (`fsync = always`).
//! - Every acknowledged row is in exactly one of: active memtable, a sealed memtable, a file
//!   listed in the catalog; a [`Snapshot`] is taken under one lock, so it sees each row once.
//! - Memory is bounded: writes are refused with [`Error::Busy`] when the queue or the
//!   buffered bytes are full; the caller turns that into "retry later".

pub mod catalog;
pub mod config;
mod error;
mod files;
mod maintenance;
mod memtable;
pub mod paths;
pub mod schema;
mod store;
#[doc(hidden)]
pub mod testing;
pub mod wal;
mod writer;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Instant;

use arrow::array::RecordBatch;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, warn};

pub use catalog::{Catalog, FileMeta};
pub use config::{FsyncPolicy, StorageConfig};
pub use error::{Error, ErrorKind, Result};
pub use memtable::Snapshot;
pub use schema::Table;
pub use store::DataStore;

use memtable::State;
use writer::Command;

/// State shared by the storage handle, the writer thread and background tasks.
pub(crate) struct Shared {
    pub(crate) config: StorageConfig,
    pub(crate) store: DataStore,
    pub(crate) wal_dir: PathBuf,
    state: RwLock<State>,
    /// Serializes catalog commits (flush, compaction, retention).
    pub(crate) catalog_lock: tokio::sync::Mutex<()>,
    /// One flush at a time: a sealed memtable must never be written twice.
    pub(crate) flush_lock: tokio::sync::Mutex<()>,
    /// Removed files waiting out the grace period before deletion.
    pub(crate) graveyard: Mutex<Vec<(Instant, object_store::path::Path)>>,
    ready: AtomicBool,
    closing: AtomicBool,
}

impl Shared {
    pub(crate) fn state(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn state_mut(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|p| p.into_inner())
    }
}

/// Handle to the storage engine. Cheap to clone.
#[derive(Clone)]
pub struct Storage {
    shared: Arc<Shared>,
    tx: mpsc::Sender<Command>,
    tasks: TaskTracker,
    cancel: CancellationToken,
    writer: Arc<Mutex<Option<std::thread::JoinHandle<()>>>>,
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Storage")
            .field("data_dir", &self.shared.config.data_dir)
            .finish()
    }
}

impl Storage {
    /// Opens the data directory: loads the catalog, replays the WAL, starts the writer
    /// thread and the background flush, compaction and retention tasks.
    pub async fn open(config: StorageConfig) -> Result<Storage> {
        config.validate()?;
        let wal_dir = config.data_dir.join("wal");
        std::fs::create_dir_all(&wal_dir).map_err(Error::io(&wal_dir))?;
        let store = DataStore::local(config.data_dir.join("objects"))?;
        let catalog = maintenance::load_catalog(&store).await?;
        maintenance::remove_orphans(&store, &catalog).await?;

        let shared = Arc::new(Shared {
            state: RwLock::new(State::new(catalog.clone())),
            catalog_lock: tokio::sync::Mutex::new(()),
            flush_lock: tokio::sync::Mutex::new(()),
            graveyard: Mutex::new(Vec::new()),
            ready: AtomicBool::new(false),
            closing: AtomicBool::new(false),
            config,
            store,
            wal_dir: wal_dir.clone(),
        });

        let started = Instant::now();
        let replay_shared = Arc::clone(&shared);
        let (segment, rows) = tokio::task::spawn_blocking(move || {
            maintenance::replay_wal(&replay_shared, catalog.flushed_wal_segment)
        })
        .await
        .map_err(|e| Error::Task(e.to_string()))??;
        info!(
            rows,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "wal replayed"
        );

        let (tx, rx) = mpsc::channel(shared.config.wal.queue_capacity);
        let writer = writer::Writer::new(Arc::clone(&shared), wal_dir, segment);
        let handle = std::thread::Builder::new()
            .name("headroom-wal".into())
            .spawn(move || writer.run(rx))
            .map_err(Error::io("wal writer thread"))?;

        let storage = Storage {
            shared: Arc::clone(&shared),
            tx,
            tasks: TaskTracker::new(),
            cancel: CancellationToken::new(),
            writer: Arc::new(Mutex::new(Some(handle))),
        };
        maintenance::spawn_background(&storage);
        shared.ready.store(true, Ordering::Release);
        Ok(storage)
    }

    /// Durably appends `batch` to `table`. Returns once the batch is in the WAL (fsynced
    /// under the default policy) and visible to queries. Fails fast with [`Error::Busy`]
    /// when the write queue or memory budget is full.
    pub async fn write(&self, table: Table, batch: RecordBatch) -> Result<()> {
        if self.shared.closing.load(Ordering::Acquire) {
            return Err(Error::ShuttingDown);
        }
        if batch.num_rows() == 0 {
            return Ok(());
        }
        if batch.schema().fields() != table.schema().fields() {
            return Err(Error::Config(format!(
                "batch schema does not match table {}",
                table.name()
            )));
        }
        if self.shared.state().buffered_bytes() >= self.shared.config.memtable.max_buffered_bytes {
            return Err(Error::Busy { what: "memtable" });
        }
        let (ack, rx) = oneshot::channel();
        self.tx
            .try_send(Command::Write { table, batch, ack })
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => Error::Busy { what: "wal queue" },
                mpsc::error::TrySendError::Closed(_) => Error::ShuttingDown,
            })?;
        rx.await.map_err(|_| Error::ShuttingDown)?
    }

    /// The files and in-memory batches of `table` that may hold rows in `[from_ns, to_ns)`.
    pub fn snapshot(&self, table: Table, from_ns: i64, to_ns: i64) -> Snapshot {
        self.shared.state().snapshot(table, from_ns, to_ns)
    }

    /// The current catalog.
    pub fn catalog(&self) -> Arc<Catalog> {
        Arc::clone(&self.shared.state().catalog)
    }

    /// Where Parquet files live.
    pub fn data_store(&self) -> &DataStore {
        &self.shared.store
    }

    /// True once the WAL is replayed and writes are accepted.
    pub fn is_ready(&self) -> bool {
        self.shared.ready.load(Ordering::Acquire) && !self.shared.closing.load(Ordering::Acquire)
    }

    /// Bytes of acknowledged data held in memory.
    pub fn buffered_bytes(&self) -> usize {
        self.shared.state().buffered_bytes()
    }

    /// Flushes everything in memory to Parquet now.
    pub async fn flush(&self) -> Result<()> {
        maintenance::flush(&self.shared, &self.tx, true)
            .await
            .map(|_| ())
    }

    /// Runs one compaction pass now; returns the number of files merged away.
    pub async fn compact(&self) -> Result<usize> {
        maintenance::compact(&self.shared).await
    }

    /// Stops accepting writes, flushes the memtable, stops background tasks and the writer.
    pub async fn shutdown(&self) {
        if self.shared.closing.swap(true, Ordering::AcqRel) {
            return;
        }
        if let Err(error) = self.flush().await {
            warn!(%error, "final flush failed; the WAL keeps the data for the next start");
        }
        self.cancel.cancel();
        self.tasks.close();
        self.tasks.wait().await;
        // Servers have drained: no query can still read files removed from the catalog.
        maintenance::sweep_graveyard(&self.shared, true).await;
        let handle = self.writer.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(handle) = handle {
            let _ = self.tx.send(Command::Stop).await;
            let _ = tokio::task::spawn_blocking(move || handle.join()).await;
        }
    }
}
