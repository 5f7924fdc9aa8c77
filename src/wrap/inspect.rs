//! What a Claude Desktop config governs, read only: each server, whether it is stdio, whether it runs behind
//! `thoth run` of this very thoth (`trust`), and with which agent id, intent and mode. `thoth status` and
//! `thoth health` report this.

use std::path::{Path, PathBuf};

use super::document::Document;
use super::entry::{self, Entry};
use super::trust::Trust;
use super::{wrapped, Error};

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ServerState {
    pub name: String,
    /// Started by the client over stdio (the only kind thoth can govern).
    pub stdio: bool,
    pub governed: bool,
    pub agent_id: Option<String>,
    pub tenant_id: Option<String>,
    pub session_intent: Option<String>,
    pub enforcement_mode: Option<String>,
    /// Why the entry cannot be started, when it is invalid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    /// `--lock FILE` and `--lock-pubkey KEY`s among its run flags (`thoth health` checks them).
    #[serde(skip)]
    pub lock: Option<String>,
    #[serde(skip)]
    pub lock_pubkeys: Vec<String>,
    /// The remote server a `thoth run --url` entry bridges (issue 18).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bridged_url: Option<String>,
    /// Why an entry that runs `thoth run` still does not count as governed (its command is not this thoth).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ungoverned_reason: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Inspection {
    pub path: PathBuf,
    pub servers: Vec<ServerState>,
    pub has_comments: bool,
}

impl Inspection {
    pub fn governed_names(&self) -> Vec<&str> {
        self.servers
            .iter()
            .filter(|s| s.governed)
            .map(|s| s.name.as_str())
            .collect()
    }

    /// Stdio servers not behind thoth (remote ones cannot be, so they are not counted).
    pub fn ungoverned_names(&self) -> Vec<&str> {
        self.servers
            .iter()
            .filter(|s| s.stdio && !s.governed)
            .map(|s| s.name.as_str())
            .collect()
    }
}

/// Read the file and classify every server.
pub fn inspect(path: &Path, trust: &Trust) -> Result<Inspection, Error> {
    let text = read_text(path)?;
    let path = std::path::absolute(path).unwrap_or(path.to_owned());
    let doc = Document::parse(&path, &text)?;
    Ok(classify(&doc, trust))
}

pub fn read_text(path: &Path) -> Result<String, Error> {
    match std::fs::read(path) {
        Ok(bytes) => String::from_utf8(bytes).map_err(|e| Error::Syntax {
            path: path.to_owned(),
            detail: format!("not UTF-8 (byte {})", e.utf8_error().valid_up_to()),
        }),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Err(Error::Missing {
            path: path.to_owned(),
        }),
        Err(error) => Err(Error::Read {
            path: path.to_owned(),
            error,
        }),
    }
}

pub fn classify(doc: &Document, trust: &Trust) -> Inspection {
    let servers = doc
        .server_props()
        .iter()
        .map(|(name, prop)| state(name, entry::read(prop), trust))
        .collect();
    Inspection {
        path: doc.path.clone(),
        servers,
        has_comments: doc.has_comments,
    }
}

pub fn state(name: &str, entry: Entry, trust: &Trust) -> ServerState {
    let mut state = ServerState {
        name: name.to_owned(),
        stdio: false,
        governed: false,
        agent_id: None,
        tenant_id: None,
        session_intent: None,
        enforcement_mode: None,
        problem: None,
        lock: None,
        lock_pubkeys: Vec::new(),
        ungoverned_reason: None,
        bridged_url: None,
    };
    match entry {
        Entry::Remote => {}
        Entry::Invalid(problem) => state.problem = Some(problem),
        Entry::Stdio(fields) => {
            state.stdio = true;
            if wrapped::runs_thoth(&fields.command, fields.args_or_empty()) {
                match trust.judge(&fields.command) {
                    Ok(()) => state.governed = true,
                    Err(why) => state.ungoverned_reason = Some(why),
                }
            }
            if let Some((flags, remote)) =
                super::remote::parse_wrapped(&fields.command, fields.args_or_empty())
            {
                state.bridged_url = Some(remote.url);
                state.agent_id = flags.agent_id;
                state.tenant_id = flags.tenant_id;
                state.session_intent = flags.session_intent;
                state.enforcement_mode = flags.enforcement_mode;
            }
            if let Some(w) = wrapped::parse(&fields.command, fields.args_or_empty()) {
                state.agent_id = w.flags.agent_id;
                state.tenant_id = w.flags.tenant_id;
                state.session_intent = w.flags.session_intent;
                state.enforcement_mode = w.flags.enforcement_mode;
                let mut other = w.flags.other.iter();
                while let Some(flag) = other.next() {
                    match flag.split_once('=') {
                        Some(("--lock", v)) => state.lock = Some(v.to_owned()),
                        Some(("--lock-pubkey", v)) => state.lock_pubkeys.push(v.to_owned()),
                        _ if flag == "--lock" => state.lock = other.next().cloned(),
                        _ if flag == "--lock-pubkey" => {
                            state.lock_pubkeys.extend(other.next().cloned())
                        }
                        _ => {}
                    }
                }
            }
        }
    }
    state
}
