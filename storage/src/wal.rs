//! Write-ahead log: every acknowledged write is here before it is acknowledged.
//!
//! # On-disk layout
//! `<data_dir>/wal/<id:020>.wal`, ids increasing. A segment starts with the 8-byte magic
//! [`MAGIC`] (which carries the format version), followed by records:
//!
//! ```text
//! | len: u32 LE | crc32(payload): u32 LE | payload: len bytes |
//! payload = | table wal id: u8 | Arrow IPC stream (schema + one record batch) |
//! ```
//!
//! # Invariants
//! - Records are appended by one writer thread; a group of records is written and (with
//!   `fsync = always`) `fdatasync`ed before any write in the group is acknowledged.
//! - A segment is deleted only after the catalog durably records that every segment up to
//!   and including it has been flushed to Parquet (`flushed_wal_segment`). Replay skips
//!   segments at or below that id, so a crash between flush and delete never duplicates rows.
//! - A torn or corrupt tail (the process died mid-write) ends replay of that segment: those
//!   bytes were never acknowledged. Corruption before the tail is reported and the rest of
//!   that segment skipped.

use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use arrow::array::RecordBatch;
use arrow::ipc::reader::StreamReader;
use arrow::ipc::writer::StreamWriter;
use tracing::warn;

use crate::error::{Error, Result};
use crate::schema::Table;

/// First bytes of every segment: "HRWAL", two zero bytes, format version 1.
pub(crate) const MAGIC: &[u8; 8] = b"HRWAL\0\0\x01";
const HEADER: usize = 8;

/// Appends one framed record for `batch` to `out`.
pub(crate) fn encode_record(table: Table, batch: &RecordBatch, out: &mut Vec<u8>) -> Result<()> {
    let start = out.len();
    out.extend_from_slice(&[0; HEADER]);
    out.push(table.wal_id());
    {
        let mut writer = StreamWriter::try_new(&mut *out, &batch.schema())
            .map_err(Error::arrow("encoding a WAL record"))?;
        writer
            .write(batch)
            .map_err(Error::arrow("encoding a WAL record"))?;
        writer
            .finish()
            .map_err(Error::arrow("encoding a WAL record"))?;
    }
    let payload_len = out.len() - start - HEADER;
    let len = u32::try_from(payload_len)
        .map_err(|_| Error::Config(format!("WAL record of {payload_len} bytes exceeds 4 GiB")))?;
    let crc = crc32fast::hash(&out[start + HEADER..]);
    out[start..start + 4].copy_from_slice(&len.to_le_bytes());
    out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
    Ok(())
}

/// The path of segment `id` under `dir`.
pub(crate) fn segment_path(dir: &Path, id: u64) -> PathBuf {
    dir.join(format!("{id:020}.wal"))
}

/// Segment ids present in `dir`, ascending.
pub(crate) fn list_segments(dir: &Path) -> Result<Vec<u64>> {
    let mut ids = Vec::new();
    for entry in fs::read_dir(dir).map_err(Error::io(dir))? {
        let entry = entry.map_err(Error::io(dir))?;
        let name = entry.file_name();
        let Some(id) = name
            .to_str()
            .and_then(|n| n.strip_suffix(".wal"))
            .and_then(|n| n.parse::<u64>().ok())
        else {
            continue;
        };
        ids.push(id);
    }
    ids.sort_unstable();
    Ok(ids)
}

/// An open segment being appended to.
pub(crate) struct SegmentWriter {
    id: u64,
    path: PathBuf,
    file: BufWriter<File>,
}

impl SegmentWriter {
    /// Creates segment `id` (it must not exist) and writes its header durably.
    pub(crate) fn create(dir: &Path, id: u64) -> Result<Self> {
        let path = segment_path(dir, id);
        let file = OpenOptions::new()
            .create_new(true)
            .write(true)
            .open(&path)
            .map_err(Error::io(&path))?;
        let mut file = BufWriter::with_capacity(1 << 20, file);
        file.write_all(MAGIC).map_err(Error::io(&path))?;
        file.flush().map_err(Error::io(&path))?;
        file.get_ref().sync_all().map_err(Error::io(&path))?;
        sync_dir(dir)?;
        Ok(Self { id, path, file })
    }

    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// Writes already-framed records; they are durable only after [`Self::sync`].
    pub(crate) fn append(&mut self, framed: &[u8]) -> Result<()> {
        self.file.write_all(framed).map_err(Error::io(&self.path))?;
        self.file.flush().map_err(Error::io(&self.path))
    }

    /// Makes everything appended so far durable.
    pub(crate) fn sync(&mut self) -> Result<()> {
        self.file
            .get_ref()
            .sync_data()
            .map_err(Error::io(&self.path))
    }
}

/// fsyncs a directory so that a created, renamed or deleted entry is durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(Error::io(dir))
}

/// Reads every intact record of a segment, calling `f` for each, and returns the byte
/// offset where intact data ends. A torn tail stops the scan without an error.
pub(crate) fn replay_segment(path: &Path, mut f: impl FnMut(Table, RecordBatch)) -> Result<u64> {
    let data = fs::read(path).map_err(Error::io(path))?;
    if data.len() < HEADER || &data[..HEADER] != MAGIC {
        return Err(Error::WalCorrupt {
            path: path.into(),
            offset: 0,
            reason: "missing or unknown segment header".into(),
        });
    }
    let mut pos = HEADER;
    while pos < data.len() {
        let torn = |reason: &str| {
            warn!(path = %path.display(), offset = pos, reason, "wal segment ends in an incomplete record; ignoring the tail");
        };
        if data.len() - pos < HEADER {
            torn("short frame header");
            break;
        }
        let len = u32::from_le_bytes(data[pos..pos + 4].try_into().unwrap_or_default()) as usize;
        let crc = u32::from_le_bytes(data[pos + 4..pos + 8].try_into().unwrap_or_default());
        let body_start = pos + HEADER;
        if len == 0 || data.len() - body_start < len {
            torn("short payload");
            break;
        }
        let payload = &data[body_start..body_start + len];
        if crc32fast::hash(payload) != crc {
            torn("checksum mismatch");
            break;
        }
        let table = Table::from_wal_id(payload[0]).ok_or_else(|| Error::WalCorrupt {
            path: path.into(),
            offset: pos as u64,
            reason: format!("unknown table id {}", payload[0]),
        })?;
        let reader = StreamReader::try_new(&payload[1..], None)
            .map_err(Error::arrow("reading a WAL record"))?;
        for batch in reader {
            f(table, batch.map_err(Error::arrow("reading a WAL record"))?);
        }
        pos = body_start + len;
    }
    Ok(pos as u64)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};

    use super::*;

    fn batch(n: i64) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("a", DataType::Int64, false),
            Field::new("s", DataType::Utf8, false),
        ]));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from_iter_values(0..n)),
                Arc::new(StringArray::from_iter_values(
                    (0..n).map(|i| format!("v{i}")),
                )),
            ],
        )
        .expect("valid batch")
    }

    #[test]
    fn append_and_replay_round_trip() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut w = SegmentWriter::create(dir.path(), 7).expect("create");
        for n in 1..=5 {
            let mut buf = Vec::new();
            encode_record(Table::Spans, &batch(n), &mut buf).expect("encode");
            w.append(&buf).expect("append");
        }
        w.sync().expect("sync");
        assert_eq!(list_segments(dir.path()).expect("list"), vec![7]);
        let mut rows = Vec::new();
        replay_segment(&segment_path(dir.path(), 7), |t, b| {
            assert_eq!(t, Table::Spans);
            rows.push(b.num_rows());
        })
        .expect("replay");
        assert_eq!(rows, vec![1, 2, 3, 4, 5]);
    }

    #[test]
    fn torn_tail_is_ignored_at_every_cut() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut full = MAGIC.to_vec();
        let mut ends = vec![];
        for n in 1..=3 {
            encode_record(Table::Spans, &batch(n), &mut full).expect("encode");
            ends.push(full.len());
        }
        let path = dir.path().join("1.wal");
        for cut in HEADER..=full.len() {
            fs::write(&path, &full[..cut]).expect("write");
            let mut seen = 0;
            let end = replay_segment(&path, |_, _| seen += 1).expect("replay");
            let complete = ends.iter().filter(|e| **e <= cut).count();
            assert_eq!(seen, complete, "cut at {cut}");
            assert_eq!(
                end as usize,
                ends.get(complete.wrapping_sub(1))
                    .copied()
                    .unwrap_or(HEADER)
                    .max(if complete == 0 { HEADER } else { 0 })
            );
        }
    }

    #[test]
    fn flipped_byte_stops_replay() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut full = MAGIC.to_vec();
        encode_record(Table::Spans, &batch(3), &mut full).expect("encode");
        let last = full.len() - 1;
        full[last] ^= 0xff;
        let path = dir.path().join("1.wal");
        fs::write(&path, &full).expect("write");
        let mut seen = 0;
        replay_segment(&path, |_, _| seen += 1).expect("replay");
        assert_eq!(seen, 0);
    }
}
