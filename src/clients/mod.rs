//! Every MCP client's config that thoth wraps and reports (issue 15): one `Client` per product, one format
//! module per file format behind `ClientFormat` (the JSON family through the lossless syntax tree of
//! `wrap::document`, Codex's TOML through `toml_edit`), and where each keeps its files (`paths`).

pub mod allowlist;
pub mod codex;
pub mod json;
pub mod managed;
pub mod paths;
pub mod private;

use std::path::{Path, PathBuf};

use crate::wrap::edit::{Plan, ServerResult};
use crate::wrap::entry::Entry;
use crate::wrap::record::Records;
use crate::wrap::{inspect, Error, ServerState, Trust};

pub use paths::{project_file, user_file, user_files, Env, Os};

/// The clients `--client NAME` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Client {
    ClaudeDesktop,
    ClaudeCode,
    Cursor,
    Vscode,
    Windsurf,
    Zed,
    Codex,
}

impl Client {
    pub const ALL: [Client; 7] = [
        Client::ClaudeDesktop,
        Client::ClaudeCode,
        Client::Cursor,
        Client::Vscode,
        Client::Windsurf,
        Client::Zed,
        Client::Codex,
    ];

    /// The name `--client` takes.
    pub fn name(self) -> &'static str {
        match self {
            Client::ClaudeDesktop => "claude-desktop",
            Client::ClaudeCode => "claude-code",
            Client::Cursor => "cursor",
            Client::Vscode => "vscode",
            Client::Windsurf => "windsurf",
            Client::Zed => "zed",
            Client::Codex => "codex",
        }
    }

    /// The product's name, in messages.
    pub fn label(self) -> &'static str {
        match self {
            Client::ClaudeDesktop => "Claude Desktop",
            Client::ClaudeCode => "Claude Code",
            Client::Cursor => "Cursor",
            Client::Vscode => "VS Code",
            Client::Windsurf => "Windsurf",
            Client::Zed => "Zed",
            Client::Codex => "Codex",
        }
    }
}

/// One server entry of a config, as the client would read it.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    pub name: String,
    /// `None`: the file's own servers; `Some("local:<abs path>")`: a Claude Code project's in `~/.claude.json`.
    pub scope: Option<String>,
    pub entry: Entry,
}

/// A config read: its servers, and whether it has comments the client's own parser may reject.
#[derive(Debug, Clone)]
pub struct Parsed {
    pub servers: Vec<Found>,
    pub risky_comments: bool,
}

/// One client file format. Every method refuses (file untouched) what the client could read differently
/// from thoth: bad syntax, the servers container not an object/table, a key twice anywhere.
pub trait ClientFormat {
    fn client(&self) -> Client;
    /// What `--create` starts a missing file with.
    fn new_config(&self) -> &'static str;
    fn parse(&self, path: &Path, text: &str) -> Result<Parsed, Error>;
    /// The text after applying the plan (only `command`, `args` and, with `--env`, `env` of selected
    /// stdio servers change), and what happened to each server. The records are updated to match.
    fn apply(
        &self,
        path: &Path,
        text: &str,
        plan: &Plan,
        records: &mut Records,
    ) -> Result<(String, Vec<ServerResult>), Error>;
}

/// The format of a client's files.
pub fn format(client: Client) -> Box<dyn ClientFormat> {
    match client {
        Client::Codex => Box::new(codex::Codex),
        json => Box::new(json::Json(json)),
    }
}

/// thoth's own secrets (THOTH_* credentials) in the servers' `env`, to mask in a dry run's diff.
pub fn secret_values(parsed: &Parsed) -> Vec<String> {
    let mut found = Vec::new();
    for server in &parsed.servers {
        if let Entry::Stdio(fields) = &server.entry {
            for (key, value) in fields.env.iter().flatten() {
                match value {
                    serde_json::Value::String(s)
                        if key.starts_with("THOTH_")
                            && crate::settings::keys::is_secret_env(key)
                            && !s.is_empty() =>
                    {
                        found.push(s.clone())
                    }
                    _ => {}
                }
            }
        }
    }
    found
}

/// One server as `status` / `health` report it.
#[derive(Debug, Clone)]
pub struct Row {
    /// `user`, `project` or `local:<abs path>`.
    pub scope: String,
    /// Reached over HTTP/SSE (not wrappable; never governed).
    pub remote: bool,
    /// Name, stdio, governed (by `wrap::trust`), agent id, tenant, intent, mode, problem.
    pub state: ServerState,
}

/// A client's file read for reporting.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub client: Client,
    pub path: PathBuf,
    pub servers: Vec<Row>,
    pub risky_comments: bool,
}

/// Read a client's user-level file (rows of the file's own servers have scope `user`).
pub fn read(client: Client, path: &Path, trust: &Trust) -> Result<ClientConfig, Error> {
    read_scoped(client, path, "user", trust)
}

/// Read a client's project file (`--project DIR`: rows have scope `project`).
pub fn read_project(client: Client, path: &Path, trust: &Trust) -> Result<ClientConfig, Error> {
    read_scoped(client, path, "project", trust)
}

fn read_scoped(
    client: Client,
    path: &Path,
    scope: &str,
    trust: &Trust,
) -> Result<ClientConfig, Error> {
    let text = inspect::read_text(path)?;
    let path = std::path::absolute(path).unwrap_or(path.to_owned());
    let parsed = format(client).parse(&path, &text)?;
    let servers = parsed
        .servers
        .into_iter()
        .map(|found| Row {
            scope: found.scope.unwrap_or_else(|| scope.to_owned()),
            remote: matches!(found.entry, Entry::Remote),
            state: inspect::state(&found.name, found.entry, trust),
        })
        .collect();
    Ok(ClientConfig {
        client,
        path,
        servers,
        risky_comments: parsed.risky_comments,
    })
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_managed;
#[cfg(test)]
mod tests_paths;
