//! Decisions on governed calls (DESIGN.md §3): the `Decide` trait the proxy calls for every tools/call, the
//! `Decision` it returns, and the enforcement modes. Sources: `local` (scope flags, soon the policy file);
//! the remote enforcer implements the same trait.

pub mod local;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::value::RawValue;

/// What to do with a call outside the approved scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// Forward everything; log the decision that would have been made.
    Observe,
    /// Refuse out-of-scope calls (-32001). The default.
    Block,
    /// Out-of-scope calls need approval (-32002).
    #[value(name = "step_up", alias = "step-up")]
    StepUp,
    /// Per session: the first violation is allowed with a warning, the next ones need approval, then block.
    Progressive,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Observe => "observe",
            Mode::Block => "block",
            Mode::StepUp => "step_up",
            Mode::Progressive => "progressive",
        }
    }
}

/// A governed tools/call as the policy sees it.
#[derive(Debug)]
pub struct ToolCall {
    /// The proxy's id for the request (unique within the session).
    pub proxy_id: u64,
    pub name: String,
    /// `params.arguments` as raw JSON text: a slice of the received line, not a copy.
    pub arguments: Option<bytes::Bytes>,
}

/// The answer for one call.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    Allow,
    Block(Refusal),
    StepUp(Hold),
    /// Forward the call with these arguments instead.
    Modify(Arguments),
}

/// Raw JSON tool arguments (compared by text).
#[derive(Debug, Clone)]
pub struct Arguments(pub Box<RawValue>);

impl PartialEq for Arguments {
    fn eq(&self, other: &Self) -> bool {
        self.0.get() == other.0.get()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub reason: String,
    pub violation_id: String,
}

/// A step-up: the call waits for (or needs) an approval.
#[derive(Debug, Clone, PartialEq)]
pub struct Hold {
    pub reason: String,
    pub hold_token: String,
    pub approval_url: Option<String>,
    pub timeout_seconds: u64,
}

pub type DecisionFuture = Pin<Box<dyn Future<Output = Decision> + Send>>;

/// A decision now (local policy), or later (the enforcer): the proxy keeps forwarding other traffic meanwhile.
pub enum Verdict {
    Ready(Decision),
    Pending(DecisionFuture),
}

/// A source of decisions for one session.
pub trait Decide: Send {
    fn decide(&mut self, call: &ToolCall) -> Verdict;
}

/// A process-unique, readable id such as `v-1764-4242-3` (violation ids, local hold tokens). Not a secret.
pub fn new_id(prefix: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    format!("{prefix}-{millis:x}-{:x}-{n}", std::process::id())
}
