//! TOOL_CALL_PRE/POST events for the enforcer's `POST /v1/events` (DESIGN.md §3 Events): the wire model, the
//! `Transport` trait the HTTP client implements, and `EventSink`, which batches events off the proxy's hot
//! path (every `flush_interval` or `max_batch_events`), sends them, spools batches while the enforcer cannot
//! be reached and replays the spool in order, oldest first, before anything newer. Redaction and spool I/O
//! run on the blocking pool; only sending runs on the runtime. No HTTP here.

use std::future::Future;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::spool::{BatchId, Spool};
use super::DecisionKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventType {
    /// The call as decided, before the server sees it (content: the redacted arguments).
    #[serde(rename = "TOOL_CALL_PRE")]
    ToolCallPre,
    /// The call's result (content: the redacted result).
    #[serde(rename = "TOOL_CALL_POST")]
    ToolCallPost,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SourceType {
    #[serde(rename = "agent_tool_call")]
    AgentToolCall,
}

/// One event as POSTed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub event_type: EventType,
    pub source_type: SourceType,
    pub agent_id: String,
    pub session_id: String,
    pub tool_name: String,
    /// Redacted and capped (`audit::recorded_json`).
    pub content: serde_json::Value,
    /// Tool calls in this session so far, this one included.
    pub session_tool_calls: u64,
    pub decision: DecisionKind,
    /// RFC 3339 UTC.
    pub occurred_at: String,
    pub endpoint_id: String,
}

/// The body of `POST /v1/events`, and a spool file's content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventBatch {
    pub events: Vec<Event>,
}

/// Why a batch was not delivered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Worth trying again later: no connection, a timeout, 429, 5xx. The batch is spooled.
    #[error("the enforcer could not take the events now: {0}")]
    Retryable(String),
    /// 429 / 503 with a `Retry-After`: retryable, and not before the server asked (capped at
    /// `MAX_RETRY_AFTER`).
    #[error("the enforcer asked for a pause of {retry_after:?}: {why}")]
    Throttled { why: String, retry_after: Duration },
    /// Trying again cannot help (a 4xx other than 429): the batch is dropped and counted.
    #[error("the enforcer refused the events: {0}")]
    Permanent(String),
}

impl SendError {
    /// Classify an HTTP status that is not a success: 429 and 5xx are retryable, as is anything outside 4xx
    /// (a redirect the client did not follow); other 4xx are permanent.
    pub fn from_status(status: u16, detail: &str) -> SendError {
        let what = format!("HTTP {status}: {detail}");
        if status == 429 || !(400..500).contains(&status) {
            SendError::Retryable(what)
        } else {
            SendError::Permanent(what)
        }
    }
}

/// Delivers one batch (the HTTP client implements it).
pub trait Transport: Send + Sync + 'static {
    fn send(&self, batch: &EventBatch) -> impl Future<Output = Result<(), SendError>> + Send;
}

/// The ids every event of a session carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventContext {
    pub agent_id: String,
    pub session_id: String,
    pub endpoint_id: String,
}

#[derive(Debug, Clone, Copy)]
pub struct SinkConfig {
    /// A batch is sent when it holds this many events...
    pub max_batch_events: usize,
    /// ...or this long after the last send, whichever comes first.
    pub flush_interval: Duration,
    /// Events waiting for the sink; past it, events are dropped and counted.
    pub queue_events: usize,
    /// The raw arguments and results those events hold, in bytes; past it, events are dropped and counted
    /// (each event can carry up to the line cap, so a count alone does not bound memory).
    pub queue_bytes: usize,
    /// After a retryable failure, wait this long (±10%) before trying again, doubling up to `retry_max`
    /// (`backoff.rs`); a `Retry-After` is honoured up to `MAX_RETRY_AFTER`, spread over `retry_initial`.
    pub retry_initial: Duration,
    pub retry_max: Duration,
}

impl Default for SinkConfig {
    fn default() -> Self {
        SinkConfig {
            max_batch_events: 50,
            flush_interval: Duration::from_secs(1),
            queue_events: 10_000,
            queue_bytes: 8 << 20,
            retry_initial: Duration::from_secs(1),
            retry_max: Duration::from_secs(60),
        }
    }
}

/// What the sink did, so far or in all.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SinkStats {
    /// Events delivered (from new batches and from the spool).
    pub sent_events: u64,
    /// Batches written to the spool.
    pub spooled_batches: u64,
    /// Spooled batches delivered.
    pub replayed_batches: u64,
    /// Batches the enforcer refused for good (dropped).
    pub rejected_batches: u64,
    /// Events lost: queue full, or the spool could not take their batch.
    pub dropped_events: u64,
    /// Spooled batches shed because the spool was full.
    pub shed_batches: u64,
    /// Spooled batches that could not be read back (dropped).
    pub corrupt_batches: u64,
    /// Batches in the spool now.
    pub spool_batches: u64,
}

#[derive(Debug, Default)]
struct Counters {
    sent_events: AtomicU64,
    spooled_batches: AtomicU64,
    replayed_batches: AtomicU64,
    rejected_batches: AtomicU64,
    dropped_events: AtomicU64,
    shed_batches: AtomicU64,
    corrupt_batches: AtomicU64,
    spool_batches: AtomicU64,
    /// Content bytes of the events in the queue now (added by `push`, taken off by the worker).
    queued_bytes: AtomicUsize,
}

impl Counters {
    fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    fn snapshot(&self) -> SinkStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        SinkStats {
            sent_events: get(&self.sent_events),
            spooled_batches: get(&self.spooled_batches),
            replayed_batches: get(&self.replayed_batches),
            rejected_batches: get(&self.rejected_batches),
            dropped_events: get(&self.dropped_events),
            shed_batches: get(&self.shed_batches),
            corrupt_batches: get(&self.corrupt_batches),
            spool_batches: get(&self.spool_batches),
        }
    }
}

/// An event as the session hands it over: raw, not yet redacted.
#[derive(Debug)]
struct Pending {
    event_type: EventType,
    tool: String,
    content: Option<Bytes>,
    decision: DecisionKind,
    session_tool_calls: u64,
    at: SystemTime,
}

impl Pending {
    fn into_event(self, ctx: &EventContext) -> Event {
        Event {
            event_type: self.event_type,
            source_type: SourceType::AgentToolCall,
            agent_id: ctx.agent_id.clone(),
            session_id: ctx.session_id.clone(),
            tool_name: super::redact::clip(&self.tool).into_owned(),
            content: match &self.content {
                Some(raw) => super::recorded_json(raw, self.decision),
                None => serde_json::Value::Null,
            },
            session_tool_calls: self.session_tool_calls,
            decision: self.decision,
            occurred_at: super::rfc3339(self.at),
            endpoint_id: ctx.endpoint_id.clone(),
        }
    }
}

/// The session's handle: `pre`/`post` never wait; `finish` sends or spools what is left. Dropping the handle
/// without `finish` stops the task at once, and events still queued are lost.
pub struct EventSink {
    tx: Option<mpsc::Sender<Pending>>,
    config_queue_bytes: usize,
    counters: Arc<Counters>,
    task: JoinSet<()>,
}

impl EventSink {
    /// Start the sink's task on the current runtime. Batches already in `spool` are sent first.
    pub fn start<T: Transport>(
        transport: T,
        spool: Spool,
        ctx: EventContext,
        config: SinkConfig,
    ) -> EventSink {
        let (tx, rx) = mpsc::channel(config.queue_events.max(1));
        let counters = Arc::new(Counters::default());
        counters
            .spool_batches
            .store(spool.len() as u64, Ordering::Relaxed);
        let worker = Worker {
            transport,
            spool: Arc::new(Mutex::new(spool)),
            spool_len: counters.spool_batches.load(Ordering::Relaxed) as usize,
            ctx: Arc::new(ctx),
            config,
            counters: counters.clone(),
            failures: 0,
            rng: fastrand::Rng::new(),
            next_try: Instant::now(),
            down: false,
        };
        let mut task = JoinSet::new();
        task.spawn(worker.run(rx));
        EventSink {
            tx: Some(tx),
            config_queue_bytes: config.queue_bytes,
            counters,
            task,
        }
    }

    /// A call as decided, with its raw arguments.
    pub fn pre(
        &self,
        tool: &str,
        arguments: Option<Bytes>,
        decision: DecisionKind,
        session_tool_calls: u64,
    ) {
        self.push(
            EventType::ToolCallPre,
            tool,
            arguments,
            decision,
            session_tool_calls,
        );
    }

    /// A call's raw result.
    pub fn post(
        &self,
        tool: &str,
        result: Option<Bytes>,
        decision: DecisionKind,
        session_tool_calls: u64,
    ) {
        self.push(
            EventType::ToolCallPost,
            tool,
            result,
            decision,
            session_tool_calls,
        );
    }

    fn push(
        &self,
        event_type: EventType,
        tool: &str,
        content: Option<Bytes>,
        decision: DecisionKind,
        session_tool_calls: u64,
    ) {
        let len = content.as_ref().map_or(0, Bytes::len);
        let queued = self.counters.queued_bytes.fetch_add(len, Ordering::Relaxed);
        let pending = Pending {
            event_type,
            tool: tool.to_owned(),
            content,
            decision,
            session_tool_calls,
            at: SystemTime::now(),
        };
        // An event is always let in when the queue holds no bytes, so one large call is never lost alone.
        let sent = (queued == 0 || queued.saturating_add(len) <= self.config_queue_bytes)
            && self
                .tx
                .as_ref()
                .is_some_and(|tx| tx.try_send(pending).is_ok());
        if !sent {
            self.counters.queued_bytes.fetch_sub(len, Ordering::Relaxed);
            let before = self.counters.dropped_events.fetch_add(1, Ordering::Relaxed);
            if (before + 1).is_power_of_two() {
                tracing::warn!(
                    dropped = before + 1,
                    "the event sink is behind; events are dropped"
                );
            }
        }
    }

    pub fn stats(&self) -> SinkStats {
        self.counters.snapshot()
    }

    /// Send (or spool) what is queued and stop. A spool that is not empty is left for the next run: exit is
    /// not held up by a long replay.
    pub async fn finish(mut self) -> SinkStats {
        self.tx.take();
        while let Some(joined) = self.task.join_next().await {
            if let Err(err) = joined {
                tracing::warn!(error = %err, "the event sink stopped abnormally");
            }
        }
        self.counters.snapshot()
    }
}

struct Worker<T> {
    transport: T,
    spool: Arc<Mutex<Spool>>,
    /// The spool's length as of the last operation on it (only this task changes it).
    spool_len: usize,
    ctx: Arc<EventContext>,
    config: SinkConfig,
    counters: Arc<Counters>,
    /// Retryable failures in a row (0 after a delivery): the backoff's doublings.
    failures: u32,
    rng: fastrand::Rng,
    /// No send before this (backoff after a retryable failure).
    next_try: Instant,
    down: bool,
}

impl<T: Transport> Worker<T> {
    async fn run(mut self, mut rx: mpsc::Receiver<Pending>) {
        let mut buf = Vec::with_capacity(self.config.max_batch_events);
        let mut tick = tokio::time::interval(self.config.flush_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            // Queued events first: a tick flushes only what trickled in since the last batch.
            tokio::select! {
                biased;
                pending = rx.recv() => match pending {
                    Some(pending) => {
                        buf.push(pending);
                        if buf.len() >= self.config.max_batch_events.max(1) {
                            self.flush(std::mem::take(&mut buf), false).await;
                        }
                    }
                    None => {
                        self.flush(std::mem::take(&mut buf), true).await;
                        return;
                    }
                },
                _ = tick.tick() => self.flush(std::mem::take(&mut buf), false).await,
            }
        }
    }

    /// Deliver the spool's backlog (when it is time to try), then this batch; or spool it, keeping order.
    async fn flush(&mut self, pending: Vec<Pending>, last: bool) {
        if self.spool_len > 0 && !last && Instant::now() >= self.next_try {
            self.replay().await;
        }
        if pending.is_empty() {
            return;
        }
        let ctx = self.ctx.clone();
        let events = pending.len() as u64;
        let raw_bytes: usize = pending
            .iter()
            .map(|p| p.content.as_ref().map_or(0, Bytes::len))
            .sum();
        let converted = tokio::task::spawn_blocking(move || EventBatch {
            events: pending.into_iter().map(|p| p.into_event(&ctx)).collect(),
        })
        .await;
        // The raw contents are gone now (events hold redacted, capped copies): they leave the byte budget.
        self.counters
            .queued_bytes
            .fetch_sub(raw_bytes, Ordering::Relaxed);
        let Ok(batch) = converted else {
            Counters::add(&self.counters.dropped_events, events);
            return;
        };
        if self.spool_len > 0 || Instant::now() < self.next_try {
            self.spool(batch).await;
            return;
        }
        match self.transport.send(&batch).await {
            Ok(()) => {
                self.delivered();
                Counters::add(&self.counters.sent_events, batch.events.len() as u64);
            }
            Err(failure @ (SendError::Retryable(_) | SendError::Throttled { .. })) => {
                self.undelivered(&failure);
                self.spool(batch).await;
            }
            Err(SendError::Permanent(why)) => self.rejected(&batch, &why),
        }
    }

    /// Send spooled batches oldest first until the spool is empty or a send fails for now.
    async fn replay(&mut self) {
        loop {
            let next = self
                .with_spool(|spool| {
                    let id = spool.pending().next()?;
                    Some((id, spool.load(id)))
                })
                .await
                .flatten();
            let Some((id, loaded)) = next else {
                return;
            };
            let batch = match loaded {
                Ok(batch) => batch,
                Err(err) => {
                    tracing::warn!(error = %err, "dropping a spooled batch that cannot be read");
                    Counters::add(&self.counters.corrupt_batches, 1);
                    self.ack(id).await;
                    continue;
                }
            };
            match self.transport.send(&batch).await {
                Ok(()) => {
                    self.delivered();
                    Counters::add(&self.counters.sent_events, batch.events.len() as u64);
                    Counters::add(&self.counters.replayed_batches, 1);
                    self.ack(id).await;
                }
                Err(failure @ (SendError::Retryable(_) | SendError::Throttled { .. })) => {
                    self.undelivered(&failure);
                    return;
                }
                Err(SendError::Permanent(why)) => {
                    self.rejected(&batch, &why);
                    self.ack(id).await;
                }
            }
        }
    }

    async fn spool(&mut self, batch: EventBatch) {
        let events = batch.events.len() as u64;
        let pushed = self
            .with_spool(move |spool| {
                let shed_before = spool.shed_total();
                let result = spool.push(&batch);
                (result, spool.shed_total() - shed_before)
            })
            .await;
        match pushed {
            Some((Ok(_), shed)) => {
                Counters::add(&self.counters.spooled_batches, 1);
                Counters::add(&self.counters.shed_batches, shed);
            }
            Some((Err(err), _)) => {
                tracing::warn!(error = %err, events, "cannot spool a batch of events; they are lost");
                Counters::add(&self.counters.dropped_events, events);
            }
            None => Counters::add(&self.counters.dropped_events, events),
        }
    }

    async fn ack(&mut self, id: BatchId) {
        if let Some(Err(err)) = self.with_spool(move |spool| spool.ack(id)).await {
            tracing::warn!(error = %err, "cannot remove a delivered batch from the spool; it may be sent again");
        }
    }

    /// Run `f` on the spool on the blocking pool; None if that task could not run.
    async fn with_spool<R: Send + 'static>(
        &mut self,
        f: impl FnOnce(&mut Spool) -> R + Send + 'static,
    ) -> Option<R> {
        let spool = self.spool.clone();
        let done = tokio::task::spawn_blocking(move || {
            let mut spool = spool.lock().unwrap_or_else(PoisonError::into_inner);
            let result = f(&mut spool);
            (result, spool.len())
        })
        .await;
        match done {
            Ok((result, len)) => {
                self.spool_len = len;
                self.counters
                    .spool_batches
                    .store(len as u64, Ordering::Relaxed);
                Some(result)
            }
            Err(err) => {
                tracing::warn!(error = %err, "a spool operation did not complete");
                None
            }
        }
    }

    fn delivered(&mut self) {
        if self.down {
            tracing::info!(
                spooled = self.spool_len,
                "the enforcer takes events again; sending the spool, oldest first"
            );
        }
        self.down = false;
        self.failures = 0;
        self.next_try = Instant::now();
    }

    fn undelivered(&mut self, failure: &SendError) {
        if self.down {
            tracing::debug!(reason = %failure, "events still cannot be sent");
        } else {
            tracing::warn!(
                reason = %failure,
                "events cannot be sent to the enforcer; spooling them until it answers"
            );
        }
        self.down = true;
        self.next_try =
            Instant::now() + retry_wait(&self.config, self.failures, failure, &mut self.rng);
        self.failures = self.failures.saturating_add(1);
    }

    fn rejected(&mut self, batch: &EventBatch, why: &str) {
        tracing::warn!(
            reason = why,
            events = batch.events.len(),
            "the enforcer refused a batch of events; dropped"
        );
        Counters::add(&self.counters.rejected_batches, 1);
    }
}

/// The longest `Retry-After` the sink honours (a hostile or broken enforcer cannot silence it for longer).
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// The wait after the `failures`+1-th retryable failure in a row: the capped, ±10% jittered backoff, or
/// at least what a `Retry-After` asked (`backoff::honour`).
fn retry_wait(
    config: &SinkConfig,
    failures: u32,
    failure: &SendError,
    rng: &mut fastrand::Rng,
) -> Duration {
    use crate::backoff;
    let policy = backoff::Backoff::new(config.retry_initial, config.retry_max);
    let wait = backoff::spread(policy.delay(failures), 0.1, rng);
    let asked = match failure {
        SendError::Throttled { retry_after, .. } => Some(*retry_after),
        _ => None,
    };
    backoff::honour(wait, asked, MAX_RETRY_AFTER, config.retry_initial, rng)
}

#[cfg(test)]
mod tests;
