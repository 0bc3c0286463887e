//! Storage engine lifecycle on a real data directory: write, flush, compaction, retention,
//! reopen. (One integration-test binary for this crate.)

use std::time::Duration;

use headroom_storage::testing::spans;
use headroom_storage::{Storage, StorageConfig, Table};

const HOUR: i64 = 3_600_000_000_000;

fn config(dir: &std::path::Path) -> StorageConfig {
    let mut c = StorageConfig {
        data_dir: dir.to_path_buf(),
        ..Default::default()
    };
    c.memtable.flush_interval = Duration::from_secs(3600);
    c.compaction.enabled = false;
    c.compaction.min_files = 3;
    c
}

fn rows(storage: &Storage) -> (usize, u64) {
    let snap = storage.snapshot(Table::Spans, i64::MIN, i64::MAX);
    let mem: usize = snap.batches.iter().map(|b| b.num_rows()).sum();
    (mem, snap.files.iter().map(|f| f.rows).sum())
}

#[tokio::test]
async fn flush_compact_retain_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("epoch")
        .as_nanos() as i64;
    let recent = now / HOUR * HOUR - 2 * HOUR; // a closed hour
    let ancient = recent - 90 * 24 * HOUR;

    let storage = Storage::open(config(dir.path())).await.expect("open");
    for i in 0..3u64 {
        storage
            .write(
                Table::Spans,
                spans("svc", recent + i as i64 * 60_000_000_000, 100, i * 1000),
            )
            .await
            .expect("write");
        assert_eq!(
            rows(&storage),
            (100, i * 100),
            "acknowledged rows are visible before flush"
        );
        storage.flush().await.expect("flush");
        assert_eq!(rows(&storage), (0, (i + 1) * 100));
    }
    storage
        .write(Table::Spans, spans("old", ancient, 50, 99_000))
        .await
        .expect("write");
    storage.flush().await.expect("flush");
    let catalog = storage.catalog();
    assert_eq!(catalog.files(Table::Spans).len(), 4);
    assert!(catalog.flushed_wal_segment > 0);

    // Three files of one closed hour merge into one sorted file; the old hour is alone.
    assert_eq!(storage.compact().await.expect("compact"), 2);
    let files = storage.catalog().files(Table::Spans).to_vec();
    assert_eq!(files.len(), 2);
    assert_eq!(files.iter().map(|f| f.rows).sum::<u64>(), 350);
    assert!(files.iter().any(|f| f.level == 1 && f.rows == 300));
    storage.shutdown().await;

    // Reopen with 30-day retention and a fast interval: the 90-day-old file goes.
    let mut c = config(dir.path());
    c.retention.interval = Duration::from_millis(100);
    let storage = Storage::open(c).await.expect("reopen");
    assert_eq!(rows(&storage), (0, 350), "catalog survives a restart");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while rows(&storage).1 != 300 {
        assert!(
            std::time::Instant::now() < deadline,
            "retention did not run"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    storage.shutdown().await;
}

#[tokio::test]
async fn full_buffer_pushes_back_instead_of_growing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut c = config(dir.path());
    c.memtable.flush_bytes = 1;
    c.memtable.max_buffered_bytes = 1;
    c.memtable.flush_interval = Duration::from_secs(3600);
    let storage = Storage::open(c).await.expect("open");
    // The first write fits (the budget is checked before admission); the flusher may not
    // have run yet, so a burst of further writes must see Busy rather than grow memory.
    let mut busy = 0;
    for i in 0..50u64 {
        match storage
            .write(Table::Spans, spans("svc", 1_000 * HOUR, 1000, i * 1000))
            .await
        {
            Ok(()) => {}
            Err(e) => {
                assert_eq!(e.kind(), headroom_storage::ErrorKind::Exhausted, "{e}");
                busy += 1;
            }
        }
    }
    assert!(busy > 0, "a 1-byte budget must refuse some writes");
    storage.shutdown().await;
}
