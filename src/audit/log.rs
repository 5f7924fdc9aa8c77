//! The local tamper-evident audit log (DESIGN.md §6): one hash chain per user in `~/.thoth/audit`, which every
//! `thoth run` of that user appends to under a lock (`store`), rotated by size into
//! `audit-<UTC start, YYYY-MM-DDTHHMMSSZ>-<pid>.jsonl` files (0600, folder 0700) and pruned by age and total
//! size, its head kept apart (`head`). Each line is one record carrying `seq` (0, 1, …, continuing across
//! files) and `prev_sha256`: the SHA-256 of the previous record's line (without its `\n`), 64 zeros on the
//! chain's first record. A thread per session builds, redacts and links its records and hands each batch to
//! the store; a batch the disk refuses is rolled back and counted, and a `records_dropped` record says so next.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::sync::{mpsc, oneshot};

use super::{redact, DecisionKind, DecisionSource, Outcome};
use crate::policy::Mode;

/// `prev_sha256` of a chain's first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
/// Records the writer takes from its queue per append.
const MAX_BATCH: usize = 256;

/// The lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// What a record is about (`event`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// The first record of a file: the process, its pid and thoth's version.
    SessionStart,
    Decision,
    ToolResult,
    Cancelled,
    /// `thoth run --lock` saw a tool differ from its lockfile: `tool`, and `reason` = `<kind> <severity>`.
    LockDrift,
    /// Records were lost before this one (queue full, disk full): `dropped` says how many.
    RecordsDropped,
    /// The last record of a session closed cleanly: `records` it wrote before it, `dropped` in all.
    SessionEnd,
    /// The chain head (`state/audit-head.json`) was missing or invalid when this record was written, and the
    /// chain went on from the newest record in the folder (`reason` says what was wrong).
    HeadLost,
}

/// What the session handed over for one record's arguments.
#[derive(Debug)]
pub(crate) enum Payload {
    None,
    /// The raw JSON text, shared with the frame it came from.
    Raw(Bytes),
    /// Too many argument bytes were already waiting for the writer: only the size is kept.
    Backlog(usize),
}

/// One record as handed over, before redaction and hashing (which happen on the writer's thread).
#[derive(Debug)]
pub(crate) struct Entry {
    pub at: SystemTime,
    pub event: EventKind,
    pub call_id: Option<u64>,
    pub tool: Option<String>,
    pub decision: Option<DecisionKind>,
    pub reason: Option<String>,
    pub violation_id: Option<String>,
    pub arguments: Payload,
    pub modified: Option<Box<RawValue>>,
    pub mode: Option<Mode>,
    pub source: Option<DecisionSource>,
    pub outcome: Option<Outcome>,
}

impl Entry {
    pub fn new(event: EventKind) -> Entry {
        Entry {
            at: SystemTime::now(),
            event,
            call_id: None,
            tool: None,
            decision: None,
            reason: None,
            violation_id: None,
            arguments: Payload::None,
            modified: None,
            mode: None,
            source: None,
            outcome: None,
        }
    }
}

/// One line of the log, in its field order. Optional fields past `source` appear only on the events that
/// carry them (schemas/audit-record.schema.json).
#[derive(Debug, Serialize)]
pub(crate) struct Record<'a> {
    pub seq: u64,
    pub ts: String,
    pub event: EventKind,
    pub agent_id: &'a str,
    pub session_id: &'a str,
    pub call_id: Option<u64>,
    pub tool: Option<String>,
    pub decision: Option<DecisionKind>,
    pub reason: Option<String>,
    pub violation_id: Option<String>,
    pub arguments: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arguments_bytes: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub modified_arguments: Option<Value>,
    pub mode: Option<&'static str>,
    pub source: Option<DecisionSource>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dropped: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub records: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thoth_version: Option<&'static str>,
    pub prev_sha256: String,
}

/// The link state: the next `seq` and the hash the next line must carry.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Chain {
    pub seq: u64,
    pub prev: String,
}

impl Chain {
    pub fn genesis() -> Chain {
        Chain {
            seq: 0,
            prev: GENESIS.to_owned(),
        }
    }

    /// Link `record` into the chain and append its line (with `\n`) to `buf`.
    pub fn push(&mut self, buf: &mut Vec<u8>, record: &mut Record<'_>) -> serde_json::Result<()> {
        record.seq = self.seq;
        record.prev_sha256 = std::mem::take(&mut self.prev);
        let line = match serde_json::to_vec(record) {
            Ok(line) => line,
            Err(err) => {
                self.prev = std::mem::take(&mut record.prev_sha256);
                return Err(err);
            }
        };
        self.prev = sha256_hex(&line);
        self.seq += 1;
        buf.extend_from_slice(&line);
        buf.push(b'\n');
        Ok(())
    }
}

/// Counters shared by the handle and the writer.
#[derive(Debug)]
pub(crate) struct Shared {
    dropped: AtomicU64,
    queued_bytes: AtomicUsize,
    max_queued_bytes: usize,
}

impl Shared {
    pub fn new(max_queued_bytes: usize) -> Shared {
        Shared {
            dropped: AtomicU64::new(0),
            queued_bytes: AtomicUsize::new(0),
            max_queued_bytes,
        }
    }

    /// Take `bytes` of the queue's argument budget; false when it would go over.
    pub fn reserve(&self, bytes: usize) -> bool {
        self.queued_bytes
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |queued| {
                queued
                    .checked_add(bytes)
                    .filter(|total| *total <= self.max_queued_bytes)
            })
            .is_ok()
    }

    /// Give back what an entry took of the budget.
    pub fn release(&self, entry: &Entry) {
        if let Payload::Raw(raw) = &entry.arguments {
            self.queued_bytes.fetch_sub(raw.len(), Ordering::AcqRel);
        }
    }

    /// Count `n` lost records; returns the total so far.
    pub fn drop_records(&self, n: u64) -> u64 {
        self.dropped.fetch_add(n, Ordering::AcqRel) + n
    }

    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Acquire)
    }
}

/// What a finished audit log wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditSummary {
    /// The file written (the last one, if the first had to be abandoned), or None if none could be opened.
    pub path: Option<PathBuf>,
    /// Records written, the opening and closing ones included.
    pub records: u64,
    /// Records lost (queue full, disk full, no file).
    pub dropped: u64,
}

/// What [`Store::begin`] found: where the next record links, and (once) why the chain's head was not usable.
#[derive(Debug)]
pub(crate) struct Begin {
    pub chain: Chain,
    /// The head was lost or invalid and the chain goes on from the files: said in a `head_lost` record.
    pub notice: Option<String>,
}

/// Where the writer appends: the shared chain in `~/.thoth/audit` (`store::FileStore`), or a fake in tests.
/// `begin` takes the chain (for the real store: its lock); `commit` appends the lines linked from it and
/// gives the chain back, whether or not it succeeded.
pub(crate) trait Store: Send {
    fn begin(&mut self) -> std::io::Result<Begin>;
    /// Append `bytes` (whole lines, ending at `end`). `durable`: sync them and record the chain's new head.
    /// On an error nothing of `bytes` stays in the chain.
    fn commit(&mut self, bytes: &[u8], end: &Chain, durable: bool) -> std::io::Result<()>;
    /// The file the last records went to.
    fn path(&self) -> Option<PathBuf>;
}

/// The session's ids, as every record carries them.
#[derive(Debug, Clone)]
pub(crate) struct Ids {
    pub session_id: String,
    pub agent_id: String,
}

/// Builds and links the records; runs on its own thread.
pub(crate) struct Writer<S: Store> {
    ids: Ids,
    shared: Arc<Shared>,
    store: S,
    /// Drops already told in a `records_dropped` record.
    reported_dropped: u64,
    records: u64,
    /// Inside a run of failures (warn once per run).
    failing: bool,
    /// Writing the closing record: make it durable.
    closing: bool,
    /// When the records were last made durable (None: not yet).
    synced_at: Option<std::time::Instant>,
}

/// Records reach the disk (fdatasync, then the chain head) at most this long after they are written, and
/// at the end of the session. Syncing every record cost ~200 µs of disk I/O per tools/call on the proxy's
/// machine; a crash of the whole machine can lose at most this much of the log (the hash chain still
/// verifies up to there, and the head never claims more than reached the disk).
pub(crate) const SYNC_EVERY: std::time::Duration = std::time::Duration::from_secs(1);
/// How long the writer gathers records after the first one of a batch.
const GATHER_FOR: std::time::Duration = std::time::Duration::from_millis(20);

impl<S: Store> Writer<S> {
    pub fn new(ids: Ids, shared: Arc<Shared>, store: S) -> Writer<S> {
        Writer {
            ids: Ids {
                session_id: redact::clip(&ids.session_id).into_owned(),
                agent_id: redact::clip(&ids.agent_id).into_owned(),
            },
            shared,
            store,
            reported_dropped: 0,
            records: 0,
            failing: false,
            closing: false,
            synced_at: None,
        }
    }

    /// Write the opening record (dated `started`), then every batch the queue delivers until it closes, then
    /// the closing record.
    pub fn run(&mut self, started: SystemTime, rx: &mut mpsc::Receiver<Entry>) {
        self.write(vec![Entry {
            at: started,
            ..Entry::new(EventKind::SessionStart)
        }]);
        let mut batch = Vec::with_capacity(MAX_BATCH);
        while let Some(entry) = rx.blocking_recv() {
            batch.push(entry);
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(entry) => batch.push(entry),
                    Err(_) => break,
                }
            }
            let keeping_up = batch.len() < MAX_BATCH;
            self.write(std::mem::take(&mut batch));
            if keeping_up {
                // Gather for a moment: while this thread sleeps, records queue without waking it, so a busy
                // session costs one wake-up per window instead of one per tools/call. (A full batch means
                // more are waiting: no pause then.)
                std::thread::sleep(GATHER_FOR);
            }
        }
        self.closing = true;
        self.write(vec![Entry::new(EventKind::SessionEnd)]);
    }

    pub fn summary(&self) -> AuditSummary {
        AuditSummary {
            path: self.store.path(),
            records: self.records,
            dropped: self.shared.dropped(),
        }
    }

    /// Append one batch; on any failure, count its records as dropped and keep going.
    pub fn write(&mut self, entries: Vec<Entry>) {
        let begin = match self.store.begin() {
            Ok(begin) => begin,
            Err(err) => {
                for entry in &entries {
                    self.shared.release(entry);
                }
                self.failed(entries.len() as u64, &err);
                return;
            }
        };
        let dropped_before = self.shared.dropped();
        let start = begin.chain.seq;
        let mut chain = begin.chain;
        let mut buf = Vec::with_capacity(512 * (entries.len() + 1));
        // Serializing our own records cannot fail; if it did, the next batch would say so again.
        if let Some(notice) = begin.notice {
            let mut record = self.record(&Entry::new(EventKind::HeadLost));
            record.reason = Some(redact::clip(&notice).into_owned());
            let _ = chain.push(&mut buf, &mut record);
        }
        if dropped_before > self.reported_dropped {
            let mut record = self.record(&Entry::new(EventKind::RecordsDropped));
            record.dropped = Some(dropped_before - self.reported_dropped);
            let _ = chain.push(&mut buf, &mut record);
        }
        let mut lines = 0u64;
        for entry in &entries {
            let mut record = self.record(entry);
            self.shared.release(entry);
            match chain.push(&mut buf, &mut record) {
                Ok(()) => lines += 1,
                Err(err) => {
                    tracing::warn!(error = %err, "an audit record could not be serialized; dropped");
                    self.shared.drop_records(1);
                }
            }
        }
        let durable = self.closing || self.synced_at.is_none_or(|at| at.elapsed() >= SYNC_EVERY);
        match self.store.commit(&buf, &chain, durable) {
            Ok(()) => {
                if durable {
                    self.synced_at = Some(std::time::Instant::now());
                }
                self.reported_dropped = dropped_before;
                self.records += chain.seq - start;
                if self.failing {
                    self.failing = false;
                    tracing::warn!(
                        dropped = self.shared.dropped(),
                        "the audit log is writable again"
                    );
                }
            }
            Err(err) => self.failed(lines, &err),
        }
    }

    fn failed(&mut self, records: u64, err: &std::io::Error) {
        let dropped = self.shared.drop_records(records);
        if !self.failing {
            self.failing = true;
            tracing::warn!(
                path = ?self.store.path(),
                error = %err,
                dropped,
                "cannot write the audit log; records are dropped and counted until it can"
            );
        }
    }

    fn record(&self, entry: &Entry) -> Record<'_> {
        let (arguments, arguments_bytes) = match &entry.arguments {
            Payload::None => (None, None),
            Payload::Raw(raw) => (
                Some(super::recorded_json(
                    raw,
                    entry.decision.unwrap_or(DecisionKind::Block),
                )),
                Some(raw.len()),
            ),
            Payload::Backlog(bytes) => (
                Some(redact::summary_of_size(*bytes, "backlog", None)),
                Some(*bytes),
            ),
        };
        let clip = |s: &Option<String>| s.as_deref().map(|s| redact::clip(s).into_owned());
        let (pid, thoth_version) = match entry.event {
            EventKind::SessionStart => (Some(std::process::id()), Some(env!("CARGO_PKG_VERSION"))),
            _ => (None, None),
        };
        let (records, dropped) = match entry.event {
            EventKind::SessionEnd => (Some(self.records), Some(self.shared.dropped())),
            _ => (None, None),
        };
        Record {
            seq: 0,
            ts: super::rfc3339(entry.at),
            event: entry.event,
            agent_id: &self.ids.agent_id,
            session_id: &self.ids.session_id,
            call_id: entry.call_id,
            tool: clip(&entry.tool),
            decision: entry.decision,
            reason: clip(&entry.reason),
            violation_id: clip(&entry.violation_id),
            arguments,
            arguments_bytes,
            modified_arguments: entry
                .modified
                .as_ref()
                .map(|m| redact::redact_json(m.get().as_bytes())),
            mode: entry.mode.map(Mode::as_str),
            source: entry.source,
            outcome: entry.outcome,
            dropped,
            records,
            pid,
            thoth_version,
            prev_sha256: String::new(),
        }
    }
}

/// `audit-2025-01-31T101530Z-4242` (no `:`, which Windows file names cannot hold).
pub fn file_stem(started: SystemTime, pid: u32) -> String {
    let t = time::OffsetDateTime::from(started);
    format!(
        "audit-{:04}-{:02}-{:02}T{:02}{:02}{:02}Z-{pid}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Start the writer thread for a session's log; `open` makes its store (the real one: `store::FileStore` over
/// `~/.thoth/audit`) from the session's start and pid. It sends its summary on `done` when the queue closes.
pub(crate) fn spawn<S, F>(
    open: F,
    ids: Ids,
    shared: Arc<Shared>,
    mut rx: mpsc::Receiver<Entry>,
    done: oneshot::Sender<AuditSummary>,
) -> std::io::Result<std::thread::JoinHandle<()>>
where
    S: Store + 'static,
    F: FnOnce(SystemTime, u32) -> S + Send + 'static,
{
    let started = SystemTime::now();
    let pid = std::process::id();
    std::thread::Builder::new()
        .name("thoth-audit".into())
        .spawn(move || {
            let mut writer = Writer::new(ids, shared, open(started, pid));
            writer.run(started, &mut rx);
            let _ = done.send(writer.summary());
        })
}

#[cfg(test)]
mod tests;
