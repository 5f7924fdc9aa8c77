//! Client configs for `thoth wrap-config` (the command: `commands::wrap_config`) and what `status` / `health`
//! read: Claude Desktop's `claude_desktop_config.json`, edited in place without losing a byte outside the
//! servers it governs (DESIGN.md §1, issue 5). Reading and editing go through a concrete syntax tree
//! (`document`), so key order, formatting and comments survive.

pub mod document;
pub mod duplicates;
pub mod edit;
pub mod entry;
pub mod inspect;
pub mod locate;
pub mod lock;
pub mod managed;
pub mod record;
pub mod remote;
pub mod save;
pub mod secrets;
pub mod trust;
pub mod wrapped;

#[cfg(test)]
mod tests;

use std::path::PathBuf;

pub use inspect::{inspect, Inspection, ServerState};
pub use trust::Trust;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{} does not exist", path.display())]
    Missing { path: PathBuf },
    #[error("could not read {}: {error}", path.display())]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{} is not valid JSON: {detail}", path.display())]
    Syntax { path: PathBuf, detail: String },
    /// A Codex `config.toml` the TOML parser refuses (a key twice included: the parser names it).
    #[error("{} is not valid TOML: {detail}", path.display())]
    Toml { path: PathBuf, detail: String },
    #[error(
        "{} has the key \"{key}\" twice (line {first_line} column {first_column}, and line {line} column {column}): \
         {client} would use the last one, so thoth will not read or change this file",
        path.display()
    )]
    DuplicateKey {
        path: PathBuf,
        client: &'static str,
        /// JSON Pointer of the repeated key (`/mcpServers/fs`).
        key: String,
        line: usize,
        column: usize,
        first_line: usize,
        first_column: usize,
    },
    #[error("{} is not a {client} config: {detail}", path.display())]
    Shape {
        path: PathBuf,
        client: &'static str,
        detail: String,
    },
    #[error("could not write {}: {error}", path.display())]
    Write {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("another thoth wrap-config has held {} for more than {seconds} s", lock.display())]
    Busy { lock: PathBuf, seconds: u64 },
    #[error("no user named {name}")]
    UnknownUser { name: String },
    #[error("could not tell whose Claude Desktop config to use: {detail}")]
    NoUser { detail: String },
    #[error("{0}")]
    Usage(String),
    #[error("intent map {}: {detail}", path.display())]
    IntentMap { path: PathBuf, detail: String },
}

impl crate::hint::Hint for Error {
    fn hint(&self) -> Option<String> {
        Some(match self {
            Error::Missing { .. } => {
                "pass the config's path, or add --create to start a new one".into()
            }
            Error::Read { .. } | Error::Write { .. } => {
                "check the file and folder permissions (run as the user, or as root for another user)".into()
            }
            Error::Syntax { .. } | Error::Shape { .. } => {
                "fix the file by hand (Claude Desktop cannot read it either); thoth left it untouched".into()
            }
            Error::Toml { detail, .. } if detail.contains("duplicate key") => {
                "remove one of the two (keep the one you mean), then run the command again; Codex refuses \
                 such a file too, and thoth left it untouched"
                    .into()
            }
            Error::Toml { .. } => {
                "fix the file by hand (Codex cannot read it either); thoth left it untouched".into()
            }
            Error::DuplicateKey { .. } => {
                "remove one of the two (keep the one you mean), then run the command again; a config with \
                 a key twice is how an ungoverned server hides behind a governed one"
                    .into()
            }
            Error::Busy { .. } => {
                "wait for the other run to finish; if none is running, remove the lock file".into()
            }
            Error::UnknownUser { .. } => "check the name given to --for-user".into(),
            Error::NoUser { .. } => "pass --for-user USER or the config's path".into(),
            Error::Usage(_) => return None,
            Error::IntentMap { .. } => {
                "the intent map is a JSON object of server name to intent (schemas/intent-map.schema.json)"
                    .into()
            }
        })
    }
}
