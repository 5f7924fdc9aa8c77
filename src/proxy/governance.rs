//! Decisions for the session: asks the policy about each governed call, runs pending (enforcer) decisions as
//! tasks it owns, and logs and audits every decision in one place. A decision task that fails is a refusal,
//! never a silent pass. No I/O of its own beyond handing records to the audit writer.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::task::{AbortHandle, Id, JoinError, JoinSet};

use super::router::Finished;
use crate::audit::events::EventSink;
use crate::audit::{Audit, DecisionKind, DecisionSource, Outcome};
use crate::fleet::govapi::DecisionCounter;
use crate::policy::{new_id, Decide, Decision, Mode, Refusal, ToolCall, Verdict};

pub struct Governance {
    policy: Box<dyn Decide>,
    mode: Mode,
    audit: Option<Audit>,
    /// TOOL_CALL_PRE / POST events for the enforcer (when one is configured).
    events: Option<EventSink>,
    /// Governed calls so far in this session (`session_tool_calls`).
    tool_calls: u64,
    /// Forwarded calls waiting for their answer: how they were decided.
    forwarded: HashMap<u64, DecisionKind>,
    /// Decisions still being made (by the enforcer), with the call each is for.
    pending: JoinSet<(u64, Decision)>,
    calls: HashMap<Id, ToolCall>,
    /// The same tasks by call, so a cancelled call's decision (say, a hold being polled) can be stopped.
    deciding: HashMap<u64, AbortHandle>,
    /// Decision counts the GovAPI heartbeat reports (when one runs).
    counter: Option<Arc<DecisionCounter>>,
}

impl Governance {
    /// The audit writer's queue, for the session's backpressure (`audit::Gate`).
    pub fn audit_gate(&self) -> crate::audit::Gate {
        self.audit.as_ref().map(Audit::gate).unwrap_or_default()
    }

    pub fn new(
        policy: Box<dyn Decide>,
        mode: Mode,
        audit: Option<Audit>,
        events: Option<EventSink>,
    ) -> Governance {
        Governance {
            policy,
            mode,
            audit,
            events,
            tool_calls: 0,
            forwarded: HashMap::new(),
            pending: JoinSet::new(),
            calls: HashMap::new(),
            deciding: HashMap::new(),
            counter: None,
        }
    }

    /// Also count every decision in `counter` (for the GovAPI check-in).
    pub fn with_counter(mut self, counter: Option<Arc<DecisionCounter>>) -> Governance {
        self.counter = counter;
        self
    }

    pub fn policy(&self) -> &dyn Decide {
        self.policy.as_ref()
    }

    /// Ask about a call: its decision now, or None while the enforcer decides (see `next_decided`).
    pub fn govern(&mut self, call: ToolCall) -> Option<(u64, Decision)> {
        match self.policy.decide(&call) {
            Verdict::Ready(decision) => {
                self.record(&call, &decision, DecisionSource::Local);
                Some((call.proxy_id, decision))
            }
            Verdict::Pending(decision) => {
                let proxy = call.proxy_id;
                let handle = self.pending.spawn(async move { (proxy, decision.await) });
                self.calls.insert(handle.id(), call);
                self.deciding.insert(proxy, handle);
                None
            }
        }
    }

    /// A call the lock refused before the policy was asked: counted and audited like any decision.
    pub fn refused_by_lock(&mut self, call: &ToolCall, decision: &Decision) {
        self.record(call, decision, DecisionSource::Local);
    }

    /// A drift the lock let through (audit-only, filter-only): audited.
    pub fn lock_drift(&self, drift: &crate::lock::drift::Drift) {
        if let Some(counter) = &self.counter {
            counter.record_drift(&drift.name, drift.kind.as_str(), drift.severity.as_str());
        }
        if let Some(audit) = &self.audit {
            audit.lock_drift(&drift.name, drift.kind.as_str(), drift.severity.as_str());
        }
    }

    pub fn is_deciding(&self) -> bool {
        !self.pending.is_empty()
    }

    /// The next decision the enforcer made (cancel-safe; pending forever when none is being made).
    pub async fn next_decided(&mut self) -> Option<Result<(Id, (u64, Decision)), JoinError>> {
        self.pending.join_next_with_id().await
    }

    /// Record a finished decision task; a failed task becomes a BLOCK.
    pub fn decided(
        &mut self,
        joined: Result<(Id, (u64, Decision)), JoinError>,
    ) -> Option<(u64, Decision)> {
        match joined {
            Ok((task, (proxy, decision))) => {
                self.deciding.remove(&proxy);
                if let Some(call) = self.calls.remove(&task) {
                    self.record(&call, &decision, DecisionSource::Enforcer);
                }
                Some((proxy, decision))
            }
            Err(err) if err.is_cancelled() => {
                // Aborted because the client cancelled the call: nothing to answer.
                if let Some(call) = self.calls.remove(&err.id()) {
                    self.deciding.remove(&call.proxy_id);
                    if let Some(audit) = &self.audit {
                        audit.cancelled(call.proxy_id, &call.name);
                    }
                }
                None
            }
            Err(err) => {
                tracing::error!(error = %err, "a policy decision failed; blocking the call");
                let call = self.calls.remove(&err.id())?;
                self.deciding.remove(&call.proxy_id);
                let decision = Decision::Block(Refusal {
                    reason: "the policy decision failed".into(),
                    violation_id: new_id("v"),
                });
                self.record(&call, &decision, DecisionSource::Local);
                Some((call.proxy_id, decision))
            }
        }
    }

    fn record(&mut self, call: &ToolCall, decision: &Decision, source: DecisionSource) {
        log_decision(call, decision);
        self.tool_calls += 1;
        let kind = DecisionKind::of(decision);
        if let Some(counter) = &self.counter {
            counter.record(kind);
        }
        if matches!(decision, Decision::Allow | Decision::Modify(_)) {
            self.forwarded.insert(call.proxy_id, kind);
        }
        if let Some(audit) = &self.audit {
            audit.decision(call, decision, self.mode, source);
        }
        if let Some(events) = &self.events {
            events.pre(&call.name, call.arguments.clone(), kind, self.tool_calls);
        }
    }

    /// A governed call the router refused without forwarding it (a notification, an id of `null`, a
    /// lookalike method or broken params): audited as a BLOCK by thoth itself; the policy is not asked.
    pub fn refused(&mut self, call: ToolCall, reason: String) {
        let decision = Decision::Block(Refusal {
            reason,
            violation_id: new_id("v"),
        });
        self.record(&call, &decision, DecisionSource::Local);
        self.forwarded.remove(&call.proxy_id);
    }

    /// The client cancelled a call before its decision: stop deciding (polling a hold, say).
    pub fn abandoned(&mut self, proxy_id: u64) {
        if let Some(task) = self.deciding.remove(&proxy_id) {
            tracing::debug!(proxy_id, "stopping the decision of a cancelled call");
            task.abort();
        }
    }

    /// A forwarded call got its answer: audit it and send TOOL_CALL_POST.
    pub fn finished(&mut self, done: Finished) {
        let kind = self
            .forwarded
            .remove(&done.proxy_id)
            .unwrap_or(DecisionKind::Allow);
        if let Some(audit) = &self.audit {
            // The router read `isError` from the parsed result (any spacing, escapes, the last duplicate).
            let outcome = match (done.is_error, done.tool_error) {
                (true, _) => Outcome::RpcError,
                (false, true) => Outcome::ToolError,
                (false, false) => Outcome::Ok,
            };
            audit.tool_result(done.proxy_id, &done.tool, outcome);
        }
        if let Some(events) = &self.events {
            events.post(&done.tool, done.outcome, kind, self.tool_calls);
        }
    }

    /// Flush the event sink and the audit log (at the end of the session).
    pub async fn finish(self) {
        if let Some(events) = self.events {
            let stats = events.finish().await;
            tracing::debug!(?stats, "event sink closed");
        }
        if let Some(audit) = self.audit {
            let summary = audit.finish().await;
            tracing::debug!(?summary, "audit log closed");
        }
    }
}

fn log_decision(call: &ToolCall, decision: &Decision) {
    match decision {
        Decision::Allow => tracing::debug!(tool = %call.name, decision = "ALLOW", "tools/call"),
        Decision::Modify(_) => tracing::info!(tool = %call.name, decision = "MODIFY", "tools/call"),
        Decision::Block(r) => {
            tracing::warn!(tool = %call.name, decision = "BLOCK", reason = %r.reason, violation_id = %r.violation_id, "tools/call")
        }
        Decision::StepUp(h) => {
            tracing::warn!(tool = %call.name, decision = "STEP_UP", reason = %h.reason, "tools/call")
        }
    }
}
