//! Decisions on governed calls (DESIGN.md §3): the `Decide` trait the proxy calls for every tools/call, the
//! `Decision` it returns, the enforcement modes, and the policy's error type. Sources: `local` (scope flags
//! and the policy file: `file`, with path constraints in `under`); the remote enforcer (`enforcer`) implements
//! the same trait, behind the local policy (`layered`, which also chooses between them: `layered::build`).

pub mod enforcer;
pub mod file;
pub mod layered;
pub mod local;
pub mod select;
pub mod under;

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::value::RawValue;

use crate::hint::Hint;

// `Mode` is a leaf (`crate::mode`) so `settings` can resolve it without importing the policy.
pub use crate::mode::Mode;

/// A policy that could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("could not read the policy file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the policy file {} is larger than {max_bytes} bytes", path.display())]
    TooLarge { path: PathBuf, max_bytes: u64 },
    /// Bad JSON, an unknown or duplicate key, or a value the format does not allow.
    #[error("invalid policy file {origin}:{line}:{column}: {message}")]
    Parse {
        origin: String,
        line: usize,
        column: usize,
        message: String,
    },
}

impl Hint for Error {
    fn hint(&self) -> Option<String> {
        const FORMAT: &str = "the format is in schemas/policy.schema.json, with an example in mdm/policy.example.json";
        match self {
            Error::Read { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                Some("check the path given by --policy, THOTH_POLICY_FILE or the managed setting: a named policy file must exist".into())
            }
            Error::Read { .. } => Some(
                "check that the file is readable by the user thoth runs as, and is UTF-8 text"
                    .into(),
            ),
            Error::TooLarge { .. } => Some(format!("a policy file is a few kilobytes: {FORMAT}")),
            Error::Parse {
                origin,
                line,
                column,
                message,
            } => Some(match unknown_name_hint(message) {
                Some(hint) => format!("{hint} ({FORMAT})"),
                None => format!("fix {origin} at line {line}, column {column}; {FORMAT}"),
            }),
        }
    }
}

/// For serde's "unknown field `x`, expected one of `a`, `b`" (or "unknown variant"), which already lists the
/// valid names: the closest one, if any is close.
fn unknown_name_hint(message: &str) -> Option<String> {
    if !(message.starts_with("unknown field") || message.starts_with("unknown variant")) {
        return None;
    }
    let mut names = message.split('`').skip(1).step_by(2);
    let unknown = names.next()?;
    let closest = names
        .map(|valid| (edit_distance(unknown, valid), valid))
        .min()
        .filter(|(distance, valid)| *distance <= 2.max(valid.chars().count() / 3));
    Some(match closest {
        Some((_, valid)) => format!("did you mean `{valid}` instead of `{unknown}`?"),
        None => {
            format!("`{unknown}` is not allowed there: use one of the names listed, or remove it")
        }
    })
}

/// Levenshtein distance over characters (names are short).
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
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

/// Work a policy wants done once the event loop runs (opening the enforcer connection ahead of the first
/// call). Dropping it cancels it.
pub type WarmUp = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A decision now (local policy), or later (the enforcer): the proxy keeps forwarding other traffic meanwhile.
pub enum Verdict {
    Ready(Decision),
    Pending(DecisionFuture),
}

/// Which tools a tools/list result may show (the policy's view, applied by `proxy::router`); absent, lists
/// pass untouched.
pub type ListFilter = Box<dyn Fn(&str) -> bool + Send>;

/// A source of decisions for one session.
pub trait Decide: Send {
    fn decide(&mut self, call: &ToolCall) -> Verdict;

    /// Which tools a tools/list result may show, when this policy hides some (None: lists pass untouched).
    fn list_filter(&self) -> Option<ListFilter> {
        None
    }

    /// Run alongside the session from its start (None: nothing to prepare).
    fn warm_up(&self) -> Option<WarmUp> {
        None
    }
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
