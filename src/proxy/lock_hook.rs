//! `thoth run --lock` inside the session: lists the server's tools under thoth's own ids after the client's
//! `notifications/initialized` and on every `notifications/tools/list_changed` (every page; the answers never
//! reach the client), holds calls while a listing is pending (at most `HOLD_MAX`), and says which calls the
//! lock refuses. The verdicts themselves are `lock::guard`'s; this file only does the bookkeeping.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};
use tokio::time::Instant;

use super::envelope::Outbound;
use super::router::{Lifecycle, Router, ToolFilter};
use crate::lock::drift::Drift;
use crate::lock::guard::{list_entry_drift, Check, Guard, LockMode};
use crate::policy::ToolCall;

/// The longest a call waits for the live tool list.
pub const HOLD_MAX: Duration = Duration::from_secs(10);
/// Past this many pages, the server is paging forever: the listing ends with what it has.
const MAX_PAGES: usize = 10_000;

/// What to do with a call.
pub enum Admit {
    /// Held until the listing ends (or `HOLD_MAX` passes).
    Held,
    /// The lock lets it through: ask the policy (a drift it let through is to be audited).
    Pass(ToolCall, Option<Drift>),
    /// The lock refuses it.
    Block(ToolCall, Refused),
}

pub struct Refused {
    pub reason: String,
    pub drift: Option<Drift>,
}

/// Where a listing is.
struct Listing {
    proxy: u64,
    tools: Vec<Value>,
    cursors: HashSet<String>,
    pages: usize,
}

pub struct LockHook {
    guard: Guard,
    /// Drift seen in tools/list answers (by the router's filter), waiting to be audited.
    seen: Arc<Mutex<Vec<Drift>>>,
    initialized: bool,
    listing: Option<Listing>,
    held: VecDeque<(ToolCall, Instant)>,
}

#[derive(Deserialize)]
struct Page<'a> {
    #[serde(borrow)]
    result: Option<&'a RawValue>,
    #[serde(borrow)]
    error: Option<&'a RawValue>,
}

impl LockHook {
    pub fn new(guard: Guard) -> LockHook {
        LockHook {
            guard,
            seen: Arc::default(),
            initialized: false,
            listing: None,
            held: VecDeque::new(),
        }
    }

    /// The filter for the client's tools/list answers: only pinned, unchanged definitions (enforce and
    /// filter-only); audit-only keeps everything and logs each drift.
    pub fn tool_filter(&self) -> ToolFilter {
        let lock = self.guard.lock();
        let mode = self.guard.mode();
        let seen = self.seen.clone();
        Box::new(move |raw: &RawValue| {
            let Ok(tool) = serde_json::from_str::<Value>(raw.get()) else {
                return !mode.filters();
            };
            match list_entry_drift(&lock, &tool) {
                None => true,
                Some(drift) => {
                    tracing::warn!(tool = %drift.name, kind = drift.kind.as_str(), severity = drift.severity.as_str(), lock_mode = mode.as_str(), "lock drift in a tools/list answer");
                    if let Ok(mut seen) = seen.lock() {
                        // Bounded: a hostile server cannot grow it past one list's worth between turns.
                        if seen.len() < 10_000 {
                            seen.push(drift);
                        }
                    }
                    !mode.filters()
                }
            }
        })
    }

    /// A session event: start (or restart) listing. Returns the request to send to the server.
    pub fn on_lifecycle(&mut self, event: Lifecycle, router: &mut Router) -> Option<Outbound> {
        match event {
            Lifecycle::ClientInitialized if !self.initialized => self.initialized = true,
            Lifecycle::ToolsChanged if self.initialized => {
                tracing::info!("the server's tools changed: listing them again");
            }
            _ => return None,
        }
        if let Some(previous) = self.listing.take() {
            router.forget_own(previous.proxy);
        }
        self.guard.listing_started();
        let (proxy, frame) = router.request_own("tools/list", json!({}));
        self.listing = Some(Listing {
            proxy,
            tools: Vec::new(),
            cursors: HashSet::new(),
            pages: 0,
        });
        Some(frame)
    }

    /// The answer to an own request. Returns the next page's request, if any, and the calls released.
    pub fn on_own(
        &mut self,
        proxy: u64,
        line: &[u8],
        router: &mut Router,
    ) -> (Option<Outbound>, Vec<ToolCall>) {
        let Some(listing) = self.listing.as_mut().filter(|l| l.proxy == proxy) else {
            return (None, Vec::new());
        };
        listing.pages += 1;
        let page = serde_json::from_slice::<Page>(line).ok();
        let result = page
            .as_ref()
            .and_then(|p| p.result)
            .and_then(|r| serde_json::from_str::<Value>(r.get()).ok());
        if result.is_none() {
            // An error (or a broken answer) is an empty list: every call is then drift (fail closed).
            let error = page.and_then(|p| p.error).map(|e| e.get().to_owned());
            tracing::warn!(
                ?error,
                "tools/list failed for the lock; treating the rest as empty"
            );
        }
        if let Some(Value::Array(tools)) = result.as_ref().and_then(|r| r.get("tools")) {
            listing.tools.extend(tools.iter().cloned());
        }
        let next = result
            .as_ref()
            .and_then(|r| r.get("nextCursor"))
            .and_then(Value::as_str)
            .filter(|c| listing.pages < MAX_PAGES && listing.cursors.insert((*c).to_owned()));
        if let Some(cursor) = next {
            let (proxy, frame) = router.request_own("tools/list", json!({"cursor": cursor}));
            listing.proxy = proxy;
            return (Some(frame), Vec::new());
        }
        let Some(done) = self.listing.take() else {
            return (None, Vec::new());
        };
        tracing::debug!(
            tools = done.tools.len(),
            pages = done.pages,
            "listed the live tools for the lock"
        );
        self.guard.listed(&done.tools);
        (None, self.held.drain(..).map(|(call, _)| call).collect())
    }

    /// The lock's verdict on a call (enforce holds it while the list is pending).
    pub fn admit(&mut self, call: ToolCall) -> Admit {
        let mode = self.guard.mode();
        match self.guard.check(&call.name) {
            Check::Wait if mode.blocks() => {
                self.held.push_back((call, Instant::now() + HOLD_MAX));
                Admit::Held
            }
            Check::Wait | Check::Pinned => Admit::Pass(call, None),
            Check::Drifted(drift) if mode.blocks() => {
                tracing::warn!(tool = %call.name, kind = drift.kind.as_str(), severity = drift.severity.as_str(), "lock drift: tools/call blocked");
                let reason = format!(
                    "the tool is not pinned by the lockfile unchanged ({})",
                    drift.kind.as_str()
                );
                Admit::Block(
                    call,
                    Refused {
                        reason,
                        drift: Some(drift),
                    },
                )
            }
            Check::Drifted(drift) => {
                tracing::warn!(tool = %call.name, kind = drift.kind.as_str(), severity = drift.severity.as_str(), lock_mode = mode.as_str(), "lock drift in a tools/call (not blocked by the lock)");
                Admit::Pass(call, Some(drift))
            }
        }
    }

    /// When the oldest held call times out.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.held.front().map(|(_, at)| *at)
    }

    /// Held calls whose hold ran out: blocked, the list never came in time.
    pub fn expire(&mut self, now: Instant) -> Vec<(ToolCall, Refused)> {
        let mut out = Vec::new();
        while self.held.front().is_some_and(|(_, at)| *at <= now) {
            if let Some((call, _)) = self.held.pop_front() {
                tracing::warn!(tool = %call.name, "the live tool list did not come within 10 s: tools/call blocked");
                let reason = format!(
                    "the server's live tool list was not available within {} s",
                    HOLD_MAX.as_secs()
                );
                out.push((
                    call,
                    Refused {
                        reason,
                        drift: None,
                    },
                ));
            }
        }
        out
    }

    /// A held call the client cancelled.
    pub fn abandoned(&mut self, proxy: u64) {
        self.held.retain(|(call, _)| call.proxy_id != proxy);
    }

    /// Drift the list filter saw since the last call (to audit).
    pub fn take_list_drift(&self) -> Vec<Drift> {
        self.seen
            .lock()
            .map(|mut seen| std::mem::take(&mut *seen))
            .unwrap_or_default()
    }

    pub fn mode(&self) -> LockMode {
        self.guard.mode()
    }
}
