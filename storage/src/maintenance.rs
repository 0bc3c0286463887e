//! Background work: WAL replay at start-up, flushing sealed memtables to Parquet,
//! compaction of small files, retention, and deferred deletion of removed files.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use object_store::path::Path;
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, error, info, warn};

use crate::catalog::{CATALOG_VERSION, Catalog, FileMeta};
use crate::error::{Error, Result};
use crate::files::{decode, encode, sort_and_split, time_range};
use crate::memtable::{MemBatch, Sealed};
use crate::schema::Table;
use crate::store::DataStore;
use crate::wal::{SegmentWriter, list_segments, replay_segment, segment_path, sync_dir};
use crate::writer::Command;
use crate::{Shared, Storage, paths};

/// How long a file removed from the catalog stays readable for in-flight queries.
const DELETE_GRACE: Duration = Duration::from_secs(120);

pub(crate) fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or_default()
}

pub(crate) async fn load_catalog(store: &DataStore) -> Result<Catalog> {
    let path = paths::catalog();
    let Some(bytes) = store.get_opt(&path).await? else {
        return Ok(Catalog::default());
    };
    let catalog: Catalog = serde_json::from_slice(&bytes).map_err(|source| Error::Catalog {
        path: path.to_string(),
        source,
    })?;
    if catalog.version != CATALOG_VERSION {
        return Err(Error::CatalogVersion {
            path: path.to_string(),
            found: catalog.version,
            expected: CATALOG_VERSION,
        });
    }
    Ok(catalog)
}

async fn persist_catalog(store: &DataStore, catalog: &Catalog) -> Result<()> {
    let path = paths::catalog();
    let json = serde_json::to_vec_pretty(catalog).map_err(|source| Error::Catalog {
        path: path.to_string(),
        source,
    })?;
    store.put_durable(&path, Bytes::from(json)).await
}

/// Deletes data files that no catalog lists: left by a crash between writing a file and
/// committing it, or between committing a removal and deleting.
pub(crate) async fn remove_orphans(store: &DataStore, catalog: &Catalog) -> Result<()> {
    for table in Table::ALL {
        let listed: std::collections::HashSet<&str> = catalog
            .files(table)
            .iter()
            .map(|f| f.path.as_str())
            .collect();
        for path in store.list(&paths::table_prefix(table)).await? {
            if !listed.contains(path.as_ref()) {
                info!(path = %path, "removing unlisted data file");
                store.delete(&path).await?;
            }
        }
    }
    Ok(())
}

/// Replays WAL segments newer than `flushed` into the active memtable, deletes older ones,
/// and opens a fresh segment for new writes. Returns it and the number of rows replayed.
pub(crate) fn replay_wal(shared: &Shared, flushed: u64) -> Result<(SegmentWriter, u64)> {
    let dir = &shared.wal_dir;
    let ids = list_segments(dir)?;
    let mut rows = 0u64;
    for &id in &ids {
        let path = segment_path(dir, id);
        if id <= flushed {
            std::fs::remove_file(&path).map_err(Error::io(&path))?;
            continue;
        }
        let mut state = shared.state_mut();
        let result = replay_segment(&path, |table, batch| {
            let range = time_range(table, &batch).ok().flatten().unwrap_or((0, 0));
            rows += batch.num_rows() as u64;
            let bytes = batch.get_array_memory_size();
            state.insert(
                table,
                MemBatch {
                    batch,
                    min_ns: range.0,
                    max_ns: range.1,
                    bytes,
                },
            );
        });
        if let Err(e) = result {
            error!(error = %e, path = %path.display(), "wal segment unreadable; its rows are lost");
        }
    }
    sync_dir(dir)?;
    let next = ids.last().copied().unwrap_or(flushed).max(flushed) + 1;
    Ok((SegmentWriter::create(dir, next)?, rows))
}

pub(crate) fn spawn_background(storage: &Storage) {
    let cfg = &storage.shared.config;
    let (flush_tick, compaction, retention) = (
        Duration::from_millis(100),
        cfg.compaction.clone(),
        cfg.retention.clone(),
    );

    let (shared, tx, cancel) = (
        Arc::clone(&storage.shared),
        storage.tx.clone(),
        storage.cancel.clone(),
    );
    storage.tasks.spawn(async move {
        let mut backoff = flush_tick;
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(backoff) => {}
            }
            match flush(&shared, &tx, false).await {
                Ok(_) => backoff = flush_tick,
                Err(error) => {
                    error!(%error, "flush to parquet failed; data stays in memory and the WAL, retrying");
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                }
            }
        }
    });

    let (shared, cancel) = (Arc::clone(&storage.shared), storage.cancel.clone());
    storage.tasks.spawn(async move {
        let mut tick = tokio::time::interval(compaction.interval.min(retention.interval));
        let (mut last_compaction, mut last_retention) = (Instant::now(), Instant::now());
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tick.tick() => {}
            }
            if compaction.enabled && last_compaction.elapsed() >= compaction.interval {
                last_compaction = Instant::now();
                if let Err(error) = compact(&shared).await {
                    warn!(%error, "compaction failed");
                }
            }
            if last_retention.elapsed() >= retention.interval {
                last_retention = Instant::now();
                if let Err(error) = apply_retention(&shared).await {
                    warn!(%error, "retention failed");
                }
            }
            sweep_graveyard(&shared, false).await;
        }
    });
}

fn flush_due(shared: &Shared) -> bool {
    let state = shared.state();
    let cfg = &shared.config.memtable;
    state.active_bytes >= cfg.flush_bytes
        || state
            .active_since
            .is_some_and(|t| t.elapsed() >= cfg.flush_interval)
}

/// Flushes sealed memtables (left from a failed attempt) or, when due or `force`d, seals
/// the active one and flushes it. Returns the number of rows written.
pub(crate) async fn flush(shared: &Shared, tx: &mpsc::Sender<Command>, force: bool) -> Result<u64> {
    let _flushing = shared.flush_lock.lock().await;
    let mut sealed = shared.state().sealed.clone();
    if sealed.is_empty() {
        if !(force || flush_due(shared)) {
            return Ok(0);
        }
        let (ack, rx) = oneshot::channel();
        tx.send(Command::Rotate { ack })
            .await
            .map_err(|_| Error::ShuttingDown)?;
        match rx.await.map_err(|_| Error::ShuttingDown)?? {
            Some(s) => sealed.push(s),
            None => return Ok(0),
        }
    }
    flush_sealed(shared, sealed).await
}

async fn flush_sealed(shared: &Shared, sealed: Vec<Arc<Sealed>>) -> Result<u64> {
    let started = Instant::now();
    let through = sealed
        .iter()
        .map(|s| s.through_segment)
        .max()
        .unwrap_or_default();
    let mut by_table: BTreeMap<Table, Vec<_>> = BTreeMap::new();
    for s in &sealed {
        for (table, batches) in &s.batches {
            by_table
                .entry(*table)
                .or_default()
                .extend(batches.iter().map(|b| b.batch.clone()));
        }
    }
    let mut added = Vec::new();
    let mut rows = 0;
    for (table, batches) in by_table {
        for meta in write_files(&shared.store, table, batches, 0).await? {
            rows += meta.rows;
            added.push((table, meta));
        }
    }
    let _guard = shared.catalog_lock.lock().await;
    let mut next = (*shared.state().catalog).clone();
    for table in Table::ALL {
        let files: Vec<FileMeta> = added
            .iter()
            .filter(|(t, _)| *t == table)
            .map(|(_, f)| f.clone())
            .collect();
        next = next.with_changes(table, &files, &[]);
    }
    next.flushed_wal_segment = next.flushed_wal_segment.max(through);
    persist_catalog(&shared.store, &next).await?;
    let ids: Vec<u64> = sealed.iter().map(|s| s.seal_id).collect();
    shared.state_mut().complete_flush(next, &ids);
    drop(_guard);

    for id in list_segments(&shared.wal_dir)? {
        if id <= through {
            let path = segment_path(&shared.wal_dir, id);
            std::fs::remove_file(&path).map_err(Error::io(&path))?;
        }
    }
    sync_dir(&shared.wal_dir)?;
    debug!(
        rows,
        files = added.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "flushed memtable"
    );
    Ok(rows)
}

/// Sorts, splits by hour, encodes (on the blocking pool) and durably writes Parquet files.
async fn write_files(
    store: &DataStore,
    table: Table,
    batches: Vec<arrow::array::RecordBatch>,
    level: u32,
) -> Result<Vec<FileMeta>> {
    let encoded = tokio::task::spawn_blocking(move || -> Result<Vec<(Path, Bytes, FileMeta)>> {
        let mut out = Vec::new();
        for (hour, batch) in sort_and_split(table, &batches)? {
            let path = paths::data_file(table, hour);
            let bytes = encode(table, &batch, path.as_ref())?;
            let (min_time_ns, max_time_ns) = time_range(table, &batch)?.unwrap_or((hour, hour));
            let meta = FileMeta {
                path: path.to_string(),
                min_time_ns,
                max_time_ns,
                rows: batch.num_rows() as u64,
                bytes: bytes.len() as u64,
                level,
            };
            out.push((path, bytes, meta));
        }
        Ok(out)
    })
    .await
    .map_err(|e| Error::Task(e.to_string()))??;
    let mut metas = Vec::with_capacity(encoded.len());
    for (path, bytes, meta) in encoded {
        store.put_durable(&path, bytes).await?;
        metas.push(meta);
    }
    Ok(metas)
}

/// Merges small files of the same hour. Returns how many files were merged away.
pub(crate) async fn compact(shared: &Shared) -> Result<usize> {
    let cfg = &shared.config.compaction;
    let catalog = Arc::clone(&shared.state().catalog);
    let mut merged_away = 0;
    for table in Table::ALL {
        let mut hours: BTreeMap<i64, Vec<&FileMeta>> = BTreeMap::new();
        for f in catalog.files(table) {
            hours
                .entry(paths::hour_of(f.min_time_ns))
                .or_default()
                .push(f);
        }
        let closed_before = paths::hour_of(now_ns()) - paths::HOUR_NS;
        for (hour, mut files) in hours {
            let closed = hour < closed_before;
            if files.len() < cfg.min_files && !(closed && files.len() >= 2) {
                continue;
            }
            files.sort_by_key(|f| f.rows);
            let mut pick = Vec::new();
            let mut rows = 0;
            for f in files {
                if rows + f.rows > cfg.max_rows as u64 && pick.len() >= 2 {
                    break;
                }
                if f.rows > cfg.max_rows as u64 {
                    continue;
                }
                rows += f.rows;
                pick.push(f.clone());
            }
            if pick.len() < 2 {
                continue;
            }
            merged_away += merge(shared, table, pick).await?;
        }
    }
    Ok(merged_away)
}

async fn merge(shared: &Shared, table: Table, inputs: Vec<FileMeta>) -> Result<usize> {
    let mut batches = Vec::new();
    for f in &inputs {
        let path = Path::from(f.path.as_str());
        let Some(bytes) = shared.store.get_opt(&path).await? else {
            return Ok(0);
        };
        let p = f.path.clone();
        batches.extend(
            tokio::task::spawn_blocking(move || decode(bytes, &p))
                .await
                .map_err(|e| Error::Task(e.to_string()))??,
        );
    }
    let level = inputs.iter().map(|f| f.level).max().unwrap_or_default() + 1;
    let outputs = write_files(&shared.store, table, batches, level).await?;
    let removed: Vec<String> = inputs.iter().map(|f| f.path.clone()).collect();

    let _guard = shared.catalog_lock.lock().await;
    let current = Arc::clone(&shared.state().catalog);
    let still_listed = removed
        .iter()
        .all(|p| current.files(table).iter().any(|f| &f.path == p));
    if !still_listed {
        // Retention removed an input meanwhile: drop our output instead.
        for f in &outputs {
            shared.store.delete(&Path::from(f.path.as_str())).await?;
        }
        return Ok(0);
    }
    let next = current.with_changes(table, &outputs, &removed);
    persist_catalog(&shared.store, &next).await?;
    shared.state_mut().complete_flush(next, &[]);
    drop(_guard);
    bury(shared, &removed);
    info!(
        table = table.name(),
        inputs = inputs.len(),
        outputs = outputs.len(),
        "compacted files"
    );
    Ok(inputs.len().saturating_sub(outputs.len()))
}

async fn apply_retention(shared: &Shared) -> Result<()> {
    let cutoff = now_ns() - shared.config.retention.max_age.as_nanos() as i64;
    let _guard = shared.catalog_lock.lock().await;
    let current = Arc::clone(&shared.state().catalog);
    let mut next = (*current).clone();
    let mut removed_all = Vec::new();
    for table in Table::ALL {
        let removed: Vec<String> = current
            .files(table)
            .iter()
            .filter(|f| f.max_time_ns < cutoff)
            .map(|f| f.path.clone())
            .collect();
        if !removed.is_empty() {
            next = next.with_changes(table, &[], &removed);
            removed_all.extend(removed);
        }
    }
    if removed_all.is_empty() {
        return Ok(());
    }
    persist_catalog(&shared.store, &next).await?;
    shared.state_mut().complete_flush(next, &[]);
    info!(files = removed_all.len(), "retention removed expired files");
    bury(shared, &removed_all);
    Ok(())
}

fn bury(shared: &Shared, paths: &[String]) {
    let mut g = shared.graveyard.lock().unwrap_or_else(|p| p.into_inner());
    g.extend(
        paths
            .iter()
            .map(|p| (Instant::now(), Path::from(p.as_str()))),
    );
}

pub(crate) async fn sweep_graveyard(shared: &Shared, all: bool) {
    let due: Vec<Path> = {
        let mut g = shared.graveyard.lock().unwrap_or_else(|p| p.into_inner());
        let (due, keep) = g
            .drain(..)
            .partition(|(t, _)| all || t.elapsed() >= DELETE_GRACE);
        *g = keep;
        due.into_iter().map(|(_, p)| p).collect()
    };
    for path in due {
        if let Err(error) = shared.store.delete(&path).await {
            warn!(%error, "could not delete a removed data file; it is removed at next start");
        }
    }
}
