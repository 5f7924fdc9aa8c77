//! Audit (DESIGN.md §3 Events, §6): the local hash-chained decision log (`log`, checked by `verify` and
//! `thoth audit verify`), the TOOL_CALL_PRE/POST events for the enforcer (`events`) with their offline
//! `spool`, and `redact`, which every recorded value passes through. The proxy hands records over and goes on:
//! nothing here blocks its event loop, parses arguments on its thread, or ends a session because a disk is full.
//! This file holds the handle the session calls, [`Audit`].

mod error;
pub mod events;
pub mod head;
mod line;
pub mod log;
pub mod redact;
pub mod spool;
mod store;
pub mod verify;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};

pub use error::Error;
pub use log::AuditSummary;

use crate::policy::{Decision, Mode, ToolCall};
use log::{Entry, EventKind, Payload, Shared};

/// Arguments of an allowed call are recorded (redacted) only below this size; larger ones by size and SHA-256,
/// without being parsed. Refused or modified calls are always recorded redacted, whatever their size.
pub const ALLOW_INLINE_MAX_BYTES: usize = 16 * 1024;

/// A decision as the audit log and the enforcer spell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DecisionKind {
    Allow,
    Block,
    StepUp,
    Modify,
}

impl DecisionKind {
    pub fn of(decision: &Decision) -> DecisionKind {
        match decision {
            Decision::Allow => DecisionKind::Allow,
            Decision::Block(_) => DecisionKind::Block,
            Decision::StepUp(_) => DecisionKind::StepUp,
            Decision::Modify(_) => DecisionKind::Modify,
        }
    }
}

/// Who made a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionSource {
    /// The local policy (policy file, scope flags, or THOTH_ENV's default without one).
    Local,
    /// The remote enforcer's answer.
    Enforcer,
    /// THOTH_ENFORCER_FAILURE_DECISION, while the enforcer could not be reached.
    Fallback,
}

/// How a forwarded call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// A result without `isError`.
    Ok,
    /// A result with `isError: true`.
    ToolError,
    /// A JSON-RPC error from the server.
    RpcError,
    /// No answer: the server exited first (thoth answered the client with -32603).
    NoResponse,
}

/// Sizes of the hand-over between the session and the writer.
#[derive(Debug, Clone, Copy)]
pub struct AuditConfig {
    /// Records waiting for the writer; past it, records are dropped (and counted, and the log says so).
    pub queue_records: usize,
    /// Raw argument bytes waiting for the writer; past it, a record keeps only the arguments' size.
    pub queue_argument_bytes: usize,
    pub retention: Retention,
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig {
            queue_records: 8192,
            queue_argument_bytes: 32 * 1024 * 1024,
            retention: Retention::default(),
        }
    }
}

/// How large the audit files grow and how long they are kept (settings `THOTH_AUDIT_MAX_FILE_BYTES`,
/// `THOTH_AUDIT_MAX_TOTAL_BYTES`, `THOTH_AUDIT_RETENTION_DAYS`; 0 = no limit for the last two).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// A file past this size is closed and the chain goes on in a new one.
    pub max_file_bytes: u64,
    /// On rotation, the oldest files go while all of them together are larger than this.
    pub max_total_bytes: u64,
    /// On rotation, files last written longer ago than this many days go.
    pub max_age_days: u64,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            max_file_bytes: 16 * 1024 * 1024,
            max_total_bytes: 256 * 1024 * 1024,
            max_age_days: 90,
        }
    }
}

impl Retention {
    /// The limits `settings` resolved (validated there as whole numbers); defaults for what is unset.
    pub fn from_settings(settings: &crate::settings::Settings) -> Retention {
        let default = Retention::default();
        let get = |name: &str, fallback: u64| {
            settings
                .get(name)
                .and_then(|v| v.value.trim().parse::<u64>().ok())
                .unwrap_or(fallback)
        };
        Retention {
            // A file holds at least one batch, whatever the setting says.
            max_file_bytes: get("THOTH_AUDIT_MAX_FILE_BYTES", default.max_file_bytes).max(4096),
            max_total_bytes: get("THOTH_AUDIT_MAX_TOTAL_BYTES", default.max_total_bytes),
            max_age_days: get("THOTH_AUDIT_RETENTION_DAYS", default.max_age_days),
        }
    }
}

/// The session's handle on the user's audit chain under `~/.thoth/audit` (see [`log`], [`store`]), written
/// by a thread of its own. Recording costs the caller a few small copies and a channel send: the raw
/// arguments are passed as `Bytes` (a reference count, not a copy) and parsed, redacted and hashed on the
/// writer's thread, which also keeps them off a single-threaded runtime's only thread. Arguments of an ALLOW
/// at or over [`ALLOW_INLINE_MAX_BYTES`] are never parsed: the record holds their size and SHA-256. Call
/// [`Audit::finish`] before exit: it writes the closing record and waits for the file to be synced.
pub struct Audit {
    tx: Option<mpsc::Sender<Entry>>,
    shared: Arc<Shared>,
    done: Option<oneshot::Receiver<AuditSummary>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Room in the audit writer's queue (`Audit::gate`). Weak: it never keeps the writer's channel open.
#[derive(Clone, Default)]
pub struct Gate(Option<mpsc::WeakSender<Entry>>);

impl Gate {
    /// Room for `records` more records (true when there is no writer at all: nothing to wait for).
    pub fn has_room(&self, records: usize) -> bool {
        self.0
            .as_ref()
            .and_then(mpsc::WeakSender::upgrade)
            .is_none_or(|tx| tx.capacity() >= records)
    }

    /// Resolves once there is room for `records` more records (or the writer is gone).
    pub async fn room(&self, records: usize) {
        if let Some(tx) = self.0.as_ref().and_then(mpsc::WeakSender::upgrade) {
            let records = records.min(tx.max_capacity());
            let _ = tx.reserve_many(records).await;
        }
    }
}

impl Audit {
    /// Start the audit log of one session in `dir` (`platform::paths::audit_dir`, created 0700 when missing).
    /// Never fails: a log that cannot be written is reported with a warning and its records are counted as
    /// dropped.
    pub fn start(dir: PathBuf, session_id: &str, agent_id: &str) -> Audit {
        Audit::start_with(dir, session_id, agent_id, AuditConfig::default())
    }

    pub fn start_with(
        dir: PathBuf,
        session_id: &str,
        agent_id: &str,
        config: AuditConfig,
    ) -> Audit {
        let shared = Arc::new(Shared::new(config.queue_argument_bytes));
        let (tx, rx) = mpsc::channel(config.queue_records.max(1));
        let (done_tx, done) = oneshot::channel();
        let ids = log::Ids {
            session_id: session_id.to_owned(),
            agent_id: agent_id.to_owned(),
        };
        let retention = config.retention;
        let open = move |started, pid| store::FileStore::new(&dir, retention, started, pid);
        match log::spawn(open, ids, shared.clone(), rx, done_tx) {
            Ok(thread) => Audit {
                tx: Some(tx),
                shared,
                done: Some(done),
                thread: Some(thread),
            },
            Err(err) => {
                tracing::warn!(error = %err, "cannot start the audit log writer; decisions are not recorded locally");
                Audit {
                    tx: None,
                    shared,
                    done: None,
                    thread: None,
                }
            }
        }
    }

    /// A handle the session reads by: while the writer's queue lacks room for a whole frame's records, the
    /// session stops reading, so a fast peer slows down instead of records being dropped.
    pub fn gate(&self) -> Gate {
        Gate(self.tx.as_ref().map(mpsc::Sender::downgrade))
    }

    /// Record a decision on a tools/call (in observe mode: the decision that would have been made).
    pub fn decision(
        &self,
        call: &ToolCall,
        decision: &Decision,
        mode: Mode,
        source: DecisionSource,
    ) {
        let kind = DecisionKind::of(decision);
        let (reason, violation_id, modified) = match decision {
            Decision::Allow => (None, None, None),
            Decision::Block(refusal) => (
                Some(refusal.reason.clone()),
                Some(refusal.violation_id.clone()),
                None,
            ),
            Decision::StepUp(hold) => (Some(hold.reason.clone()), None, None),
            Decision::Modify(args) => (None, None, Some(args.0.clone())),
        };
        let arguments = match &call.arguments {
            None => Payload::None,
            Some(raw) if self.shared.reserve(raw.len()) => Payload::Raw(raw.clone()),
            Some(raw) => Payload::Backlog(raw.len()),
        };
        self.send(Entry {
            call_id: Some(call.proxy_id),
            tool: Some(call.name.clone()),
            decision: Some(kind),
            reason,
            violation_id,
            arguments,
            modified,
            mode: Some(mode),
            source: Some(source),
            ..Entry::new(EventKind::Decision)
        });
    }

    /// Record how a forwarded call ended.
    pub fn tool_result(&self, call_id: u64, tool: &str, outcome: Outcome) {
        self.send(Entry {
            call_id: Some(call_id),
            tool: Some(tool.to_owned()),
            outcome: Some(outcome),
            ..Entry::new(EventKind::ToolResult)
        });
    }

    /// Record that the client cancelled a call (it gets no response).
    pub fn cancelled(&self, call_id: u64, tool: &str) {
        self.send(Entry {
            call_id: Some(call_id),
            tool: Some(tool.to_owned()),
            ..Entry::new(EventKind::Cancelled)
        });
    }

    /// Record a lock drift (`thoth run --lock`): the tool, and `<kind> <severity>` as the reason.
    pub fn lock_drift(&self, tool: &str, kind: &str, severity: &str) {
        self.send(Entry {
            tool: Some(tool.to_owned()),
            reason: Some(format!("{kind} {severity}")),
            ..Entry::new(EventKind::LockDrift)
        });
    }

    /// Records dropped so far (queue full, or the disk refused them).
    pub fn dropped(&self) -> u64 {
        self.shared.dropped()
    }

    fn send(&self, entry: Entry) {
        let Some(tx) = &self.tx else {
            self.shared.drop_records(1);
            return;
        };
        if let Err(err) = tx.try_send(entry) {
            let entry = match err {
                mpsc::error::TrySendError::Full(entry)
                | mpsc::error::TrySendError::Closed(entry) => entry,
            };
            self.shared.release(&entry);
            let dropped = self.shared.drop_records(1);
            if dropped.is_power_of_two() {
                tracing::warn!(
                    dropped,
                    "the audit log writer is behind; records are dropped (the log will say how many)"
                );
            }
        }
    }

    /// Write the closing record, sync the file and return what was written. Waits for the writer (off the
    /// runtime's threads).
    pub async fn finish(mut self) -> AuditSummary {
        self.tx.take();
        let summary = match self.done.take() {
            Some(done) => done.await.ok(),
            None => None,
        };
        if let Some(thread) = self.thread.take() {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
        summary.unwrap_or_else(|| AuditSummary {
            path: None,
            records: 0,
            dropped: self.shared.dropped(),
        })
    }
}

/// `SystemTime` as RFC 3339 UTC with milliseconds: `2025-01-31T10:15:30.123Z`.
pub fn rfc3339(at: SystemTime) -> String {
    crate::time::rfc3339_at(at, crate::time::Precision::Millis)
}

/// How raw JSON (tool arguments, a result) is recorded: redacted and capped, or, for an allowed call at or
/// over [`ALLOW_INLINE_MAX_BYTES`], `{"$summary": {"reason": "large_allowed", "bytes", "sha256"}}` without
/// parsing it. The hash is only ever of large text: a hash of a small one could give a short secret away.
pub fn recorded_json(raw: &[u8], decision: DecisionKind) -> serde_json::Value {
    if decision == DecisionKind::Allow && raw.len() >= ALLOW_INLINE_MAX_BYTES {
        redact::summary_of_size(raw.len(), "large_allowed", Some(log::sha256_hex(raw)))
    } else {
        redact::redact_json(raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The session's backpressure on the audit writer: no room until the writer takes records, a wake-up
    /// once it has, and a gate that never keeps the channel open (else `finish` would wait forever).
    #[tokio::test]
    async fn the_gate_says_when_the_writer_is_behind_and_wakes_once_it_catches_up() {
        let (tx, mut rx) = mpsc::channel::<Entry>(4);
        let gate = Gate(Some(tx.downgrade()));
        assert!(gate.has_room(4));
        for _ in 0..3 {
            tx.try_send(Entry::new(EventKind::ToolResult)).unwrap();
        }
        assert!(gate.has_room(1));
        assert!(!gate.has_room(2));
        use std::future::Future;
        let mut waiting = Box::pin(gate.room(2));
        let pending = std::future::poll_fn(|cx| {
            std::task::Poll::Ready(waiting.as_mut().poll(cx).is_pending())
        })
        .await;
        assert!(pending, "no room for 2 yet");
        rx.recv().await.unwrap();
        tokio::time::timeout(std::time::Duration::from_secs(5), waiting)
            .await
            .expect("room for 2 once the writer took one");
        assert!(gate.has_room(2));
        drop(tx);
        while rx.recv().await.is_some() {}
        assert!(
            gate.has_room(1_000_000),
            "no writer left: nothing to wait for"
        );
        gate.room(10).await;
        assert!(Gate::default().has_room(usize::MAX));
    }

    #[test]
    fn timestamps_are_rfc3339_utc_with_milliseconds() {
        let at = SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(1_738_318_530_123);
        assert_eq!(rfc3339(at), "2025-01-31T10:15:30.123Z");
        assert_eq!(rfc3339(SystemTime::UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn large_allowed_json_is_hashed_not_parsed_and_the_rest_is_redacted() {
        let big = vec![b'{'; ALLOW_INLINE_MAX_BYTES];
        let recorded = recorded_json(&big, DecisionKind::Allow);
        let about = &recorded[redact::SUMMARY_KEY];
        assert_eq!(about["reason"], "large_allowed");
        assert_eq!(about["bytes"], ALLOW_INLINE_MAX_BYTES);
        assert_eq!(about["sha256"].as_str().map(str::len), Some(64));
        // Not allowed: parsed (and here it is not JSON).
        let recorded = recorded_json(&big, DecisionKind::Block);
        assert_eq!(recorded[redact::SUMMARY_KEY]["reason"], "not_json");
        assert_eq!(
            recorded_json(br#"{"api_key":"k"}"#, DecisionKind::Allow),
            serde_json::json!({"api_key": "[REDACTED]"})
        );
    }

    /// The session keeps these across `.await`s and may share the audit handle.
    #[test]
    fn the_handles_can_live_in_the_session() {
        fn send_sync<T: Send + Sync>() {}
        fn send<T: Send>() {}
        send_sync::<Audit>();
        send::<events::EventSink>();
    }

    #[test]
    fn decisions_are_spelled_as_on_the_wire() {
        let spelled: Vec<String> = [
            DecisionKind::Allow,
            DecisionKind::Block,
            DecisionKind::StepUp,
            DecisionKind::Modify,
        ]
        .iter()
        .map(|d| serde_json::to_string(d).unwrap())
        .collect();
        assert_eq!(
            spelled,
            [r#""ALLOW""#, r#""BLOCK""#, r#""STEP_UP""#, r#""MODIFY""#]
        );
    }
}
