//! Backpressure for the session loop (budget.rs): whether a side may be read now, and why not (`Paused`),
//! with the pause / resume transitions logged once each, never per frame.

use super::budget::{self, HeldCalls};
use super::dispatch::Side;
use super::outlet::Outlet;

/// Why a side is not being read right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Paused {
    /// The other side is not reading what this side sends it (ordinary flow control).
    OtherSideFull(usize),
    /// This side is not reading thoth's own answers to it (errors, refusals).
    AnswersUnread(usize),
    /// Its tools/calls wait for decisions (the enforcer is slow).
    CallsHeld(usize),
    /// The audit writer is behind: reading waits rather than records being dropped.
    AuditBehind,
}

/// Records one frame can cause at most (a batch of `MAX_BATCH_ELEMENTS` calls or results, and one more):
/// reading a side waits until the audit queue has this much room.
pub(super) const AUDIT_ROOM: usize = budget::MAX_BATCH_ELEMENTS + 1;

impl Paused {
    pub(super) fn client(
        to_server: &Outlet,
        to_client: &Outlet,
        held: &HeldCalls,
        audit_room: bool,
    ) -> Option<Paused> {
        if !audit_room {
            Some(Paused::AuditBehind)
        } else if !to_server.has_room() {
            Some(Paused::OtherSideFull(to_server.backlog()))
        } else if !to_client.has_echo_room() {
            Some(Paused::AnswersUnread(to_client.echo_backlog()))
        } else if !held.has_room() {
            Some(Paused::CallsHeld(held.bytes()))
        } else {
            None
        }
    }

    pub(super) fn server(
        to_server: &Outlet,
        to_client: &Outlet,
        audit_room: bool,
    ) -> Option<Paused> {
        if !audit_room {
            Some(Paused::AuditBehind)
        } else if !to_client.has_room() {
            Some(Paused::OtherSideFull(to_client.backlog()))
        } else if !to_server.has_echo_room() {
            Some(Paused::AnswersUnread(to_server.echo_backlog()))
        } else {
            None
        }
    }
}

/// The pause events keep the session's log target, which log filters name (`thoth::proxy::session=debug`).
const SESSION: &str = "thoth::proxy::session";

/// Say when reading a side stops and starts again (transitions only, never per frame).
pub(super) fn log_pause(side: Side, state: &mut Option<Paused>, now: Option<Paused>) {
    let name = match side {
        Side::Client => "client",
        Side::Server => "server",
    };
    let kind = |p: &Option<Paused>| p.as_ref().map(std::mem::discriminant);
    let changed = kind(state) != kind(&now);
    *state = now;
    if !changed {
        return;
    }
    match now {
        None => tracing::debug!(target: SESSION, "resuming reads from the {name}"),
        Some(Paused::OtherSideFull(bytes)) => {
            tracing::debug!(
                target: SESSION,
                bytes,
                "pausing reads from the {name}: the other side is not reading what it sent"
            )
        }
        Some(Paused::AnswersUnread(bytes)) => {
            tracing::info!(
                target: SESSION,
                bytes,
                "pausing reads from the {name}: it is not reading thoth's answers to it"
            )
        }
        Some(Paused::CallsHeld(bytes)) => {
            tracing::info!(
                target: SESSION,
                bytes,
                "pausing reads from the {name}: its tools/calls wait for decisions"
            )
        }
        Some(Paused::AuditBehind) => {
            tracing::debug!(target: SESSION, "pausing reads from the {name}: the audit writer is catching up")
        }
    }
}
