//! The WAL writer thread: group commit.
//!
//! Writes arrive on a bounded channel. The thread takes every write waiting (up to
//! `max_group_bytes`), appends them to the current segment, fsyncs once, inserts the batches
//! into the active memtable and only then acknowledges them. Rotation (for a flush) happens on
//! the same thread, so the memtable sealed at rotation holds exactly the rows of the segments
//! it claims to cover.

use std::path::PathBuf;
use std::sync::Arc;

use arrow::array::RecordBatch;
use tokio::sync::{mpsc, oneshot};
use tracing::{error, warn};

use crate::Shared;
use crate::config::FsyncPolicy;
use crate::error::{Error, Result};
use crate::files::time_range;
use crate::memtable::{MemBatch, Sealed};
use crate::schema::Table;
use crate::wal::{SegmentWriter, encode_record};

/// Messages to the writer thread.
pub(crate) enum Command {
    Write {
        table: Table,
        batch: RecordBatch,
        ack: oneshot::Sender<Result<()>>,
    },
    /// Seal the active memtable and start a new segment; answers the sealed memtable, if any.
    Rotate {
        ack: oneshot::Sender<Result<Option<Arc<Sealed>>>>,
    },
    /// Commit what is staged and exit.
    Stop,
}

struct Pending {
    table: Table,
    batch: RecordBatch,
    range: (i64, i64),
    ack: oneshot::Sender<Result<()>>,
}

pub(crate) struct Writer {
    shared: Arc<Shared>,
    wal_dir: PathBuf,
    segment: SegmentWriter,
    buf: Vec<u8>,
    pending: Vec<Pending>,
    /// Set when a write failed and no fresh segment could be started: appending to the
    /// current one would put records after a partial one, where replay never reaches them.
    broken: bool,
}

impl Writer {
    pub(crate) fn new(shared: Arc<Shared>, wal_dir: PathBuf, segment: SegmentWriter) -> Self {
        Self {
            shared,
            wal_dir,
            segment,
            buf: Vec::with_capacity(1 << 20),
            pending: Vec::new(),
            broken: false,
        }
    }

    /// Runs until every sender is dropped.
    pub(crate) fn run(mut self, mut rx: mpsc::Receiver<Command>) {
        let max_group = self.shared.config.wal.max_group_bytes;
        while let Some(first) = rx.blocking_recv() {
            let mut next = Some(first);
            while let Some(cmd) = next.take() {
                match cmd {
                    Command::Write { table, batch, ack } => self.stage(table, batch, ack),
                    Command::Rotate { ack } => {
                        self.commit();
                        let _ = ack.send(self.rotate());
                    }
                    Command::Stop => {
                        self.commit();
                        let _ = self.segment.sync();
                        return;
                    }
                }
                if self.buf.len() < max_group {
                    next = rx.try_recv().ok();
                }
            }
            self.commit();
        }
    }

    fn stage(&mut self, table: Table, batch: RecordBatch, ack: oneshot::Sender<Result<()>>) {
        let mark = self.buf.len();
        let staged = time_range(table, &batch).and_then(|range| {
            encode_record(table, &batch, &mut self.buf)?;
            Ok(range.unwrap_or((0, 0)))
        });
        match staged {
            Ok(range) => self.pending.push(Pending {
                table,
                batch,
                range,
                ack,
            }),
            Err(e) => {
                self.buf.truncate(mark);
                let _ = ack.send(Err(e));
            }
        }
    }

    /// Makes the staged group durable, publishes it to the memtable, acknowledges it.
    fn commit(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        if self.broken
            && let Err(e) = self.next_segment()
        {
            self.buf.clear();
            self.fail_pending(&format!("wal unavailable: {e}"));
            return;
        }
        let written =
            self.segment
                .append(&self.buf)
                .and_then(|()| match self.shared.config.wal.fsync {
                    FsyncPolicy::Always => self.segment.sync(),
                    FsyncPolicy::Never => Ok(()),
                });
        self.buf.clear();
        if let Err(e) = written {
            error!(error = %e, writes = self.pending.len(), "wal write failed; the writes were not acknowledged");
            self.fail_pending(&e.to_string());
            // The segment may end in a partial record: continue in a fresh one.
            if let Err(e) = self.next_segment() {
                warn!(error = %e, "could not start a new wal segment; refusing writes until one can be");
                self.broken = true;
            }
            return;
        }
        let pending = std::mem::take(&mut self.pending);
        let mut acks = Vec::with_capacity(pending.len());
        {
            let mut state = self.shared.state_mut();
            for p in pending {
                let bytes = p.batch.get_array_memory_size();
                state.insert(
                    p.table,
                    MemBatch {
                        batch: p.batch,
                        min_ns: p.range.0,
                        max_ns: p.range.1,
                        bytes,
                    },
                );
                acks.push(p.ack);
            }
        }
        for ack in acks {
            let _ = ack.send(Ok(()));
        }
    }

    /// Answers every staged write with an error.
    fn fail_pending(&mut self, message: &str) {
        for p in std::mem::take(&mut self.pending) {
            let _ = p.ack.send(Err(Error::WalWrite {
                message: message.to_string(),
            }));
        }
    }

    /// Continues in a new, empty segment after the current one.
    fn next_segment(&mut self) -> Result<()> {
        self.segment = SegmentWriter::create(&self.wal_dir, self.segment.id() + 1)?;
        self.broken = false;
        Ok(())
    }

    fn rotate(&mut self) -> Result<Option<Arc<Sealed>>> {
        let through = self.segment.id();
        self.segment.sync()?;
        self.next_segment()?;
        Ok(self.shared.state_mut().seal(through))
    }
}
