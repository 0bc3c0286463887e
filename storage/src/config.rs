//! Storage configuration: typed, with documented defaults. Loaded by the binary from
//! `[storage]` in `headroom.toml`; library code never reads the environment.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// When the WAL is fsynced relative to acknowledging a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum FsyncPolicy {
    /// fsync every group commit before any of its writes is acknowledged (default).
    #[default]
    Always,
    /// Write to the OS page cache and acknowledge; survives a process crash, not a power loss.
    Never,
}

/// `[storage]`: where data lives and how it is buffered.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageConfig {
    /// Local data directory: the WAL (`wal/`), and Parquet files and the catalog
    /// (`objects/`, an object-store root). Default `./data`.
    pub data_dir: PathBuf,
    /// WAL settings.
    pub wal: WalConfig,
    /// In-memory buffer settings.
    pub memtable: MemtableConfig,
    /// Background compaction of small Parquet files.
    pub compaction: CompactionConfig,
    /// Deletion of old data.
    pub retention: RetentionConfig,
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./data"),
            wal: WalConfig::default(),
            memtable: MemtableConfig::default(),
            compaction: CompactionConfig::default(),
            retention: RetentionConfig::default(),
        }
    }
}

/// `[storage.wal]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WalConfig {
    /// `always` (fsync before acknowledging, default) or `never`.
    pub fsync: FsyncPolicy,
    /// Writes waiting for the WAL writer; when full, ingest answers "retry later". Default 256.
    pub queue_capacity: usize,
    /// Upper bound of one group commit in bytes. Default 16 MiB.
    pub max_group_bytes: usize,
}

impl Default for WalConfig {
    fn default() -> Self {
        Self {
            fsync: FsyncPolicy::Always,
            queue_capacity: 256,
            max_group_bytes: 16 << 20,
        }
    }
}

/// `[storage.memtable]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MemtableConfig {
    /// Flush the buffer to Parquet once it holds this many bytes (Arrow memory). Default 128 MiB.
    pub flush_bytes: usize,
    /// Flush the buffer at least this often, e.g. `"60s"`. Default 60 s.
    #[serde(with = "humantime_serde")]
    pub flush_interval: Duration,
    /// Refuse writes ("retry later") once buffered, unflushed data exceeds this. Default 512 MiB.
    pub max_buffered_bytes: usize,
}

impl Default for MemtableConfig {
    fn default() -> Self {
        Self {
            flush_bytes: 128 << 20,
            flush_interval: Duration::from_secs(60),
            max_buffered_bytes: 512 << 20,
        }
    }
}

/// `[storage.compaction]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CompactionConfig {
    /// Whether compaction runs. Default true.
    pub enabled: bool,
    /// How often to look for work. Default `"30s"`.
    #[serde(with = "humantime_serde")]
    pub interval: Duration,
    /// Merge an hour partition once it has at least this many files. Default 4.
    pub min_files: usize,
    /// Largest merged file, in rows. Default 4 000 000.
    pub max_rows: usize,
}

impl Default for CompactionConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            interval: Duration::from_secs(30),
            min_files: 4,
            max_rows: 4_000_000,
        }
    }
}

/// `[storage.retention]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetentionConfig {
    /// Delete files whose newest row is older than this, e.g. `"30d"`. Default 30 days.
    #[serde(with = "humantime_serde")]
    pub max_age: Duration,
    /// How often retention runs. Default `"5m"`.
    #[serde(with = "humantime_serde")]
    pub interval: Duration,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self {
            max_age: Duration::from_secs(30 * 86_400),
            interval: Duration::from_secs(300),
        }
    }
}

impl StorageConfig {
    /// Checks values that serde cannot.
    pub fn validate(&self) -> crate::Result<()> {
        let bad = |m: &str| Err(crate::Error::Config(m.to_string()));
        if self.wal.queue_capacity == 0 {
            return bad("storage.wal.queue_capacity must be at least 1");
        }
        if self.memtable.flush_bytes == 0
            || self.memtable.max_buffered_bytes < self.memtable.flush_bytes
        {
            return bad("storage.memtable.max_buffered_bytes must be >= flush_bytes > 0");
        }
        if self.compaction.min_files < 2 {
            return bad("storage.compaction.min_files must be at least 2");
        }
        if self.memtable.flush_interval.is_zero()
            || self.compaction.interval.is_zero()
            || self.retention.interval.is_zero()
        {
            return bad("storage intervals must be greater than zero");
        }
        Ok(())
    }
}
