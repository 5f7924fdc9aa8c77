//! The clients' own managed allowlists as deployed on this machine, for `status` / `health`
//! (`managed_policy`): where each client reads its file, whether it is there, and whether it admits only
//! servers thoth governs.
//! - Claude Code: `managed-mcp.json` (exclusive control: only its servers run) when present, else
//!   `managed-settings.json` (`allowManagedMcpServersOnly` + `allowedMcpServers`), in
//!   `/Library/Application Support/ClaudeCode/`, `/etc/claude-code/`, `C:\Program Files\ClaudeCode\`.
//! - Codex: `requirements.toml` `[mcp_servers]` in `/etc/codex/` or `%ProgramData%\OpenAI\Codex\`.
//! - Windsurf keeps its whitelist in its admin dashboard, not on the endpoint: nothing to read.
//!
//! MDM-delivered forms (Claude Code's and Codex's macOS preference domains) are not read here.
//! THOTH_CLIENT_MANAGED_ROOT (tests, evaluations) re-roots the system paths under a folder.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use super::{Client, Os};
use crate::wrap::entry::{Entry, Fields};
use crate::wrap::{inspect, Trust};

/// Re-roots the system paths of this OS under a folder (tests): `/etc/codex/requirements.toml` is read as
/// `$THOTH_CLIENT_MANAGED_ROOT/etc/codex/requirements.toml`.
pub const MANAGED_ROOT_ENV: &str = "THOTH_CLIENT_MANAGED_ROOT";

/// schemas/status-clients.schema.json and health.schema.json `managed_policy`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ManagedPolicy {
    pub path: PathBuf,
    pub found: bool,
    /// The file admits only servers started by this thoth (nothing else can run, remote ones included).
    pub governed_only: bool,
    /// Unreadable or not the client's format.
    pub error: Option<String>,
}

/// The candidate files of `client` on `os`, most authoritative first (before re-rooting).
pub fn locations(client: Client, os: Os) -> Vec<PathBuf> {
    let (dir, names): (PathBuf, &[&str]) = match (client, os) {
        (Client::ClaudeCode, Os::MacOs) => (
            "/Library/Application Support/ClaudeCode".into(),
            &["managed-mcp.json", "managed-settings.json"],
        ),
        (Client::ClaudeCode, Os::Linux) => (
            "/etc/claude-code".into(),
            &["managed-mcp.json", "managed-settings.json"],
        ),
        (Client::ClaudeCode, Os::Windows) => (
            windows_dir("ProgramFiles", r"C:\Program Files").join("ClaudeCode"),
            &["managed-mcp.json", "managed-settings.json"],
        ),
        (Client::Codex, Os::Windows) => (
            windows_dir("ProgramData", r"C:\ProgramData")
                .join("OpenAI")
                .join("Codex"),
            &["requirements.toml"],
        ),
        (Client::Codex, _) => ("/etc/codex".into(), &["requirements.toml"]),
        _ => return Vec::new(),
    };
    names.iter().map(|n| dir.join(n)).collect()
}

fn windows_dir(var: &str, default: &str) -> PathBuf {
    if cfg!(windows) {
        if let Some(v) = std::env::var_os(var).filter(|v| !v.is_empty()) {
            return v.into();
        }
    }
    PathBuf::from(default)
}

/// `path` under `root` (its root and prefix dropped).
fn reroot(root: &Path, path: &Path) -> PathBuf {
    let relative: PathBuf = path
        .components()
        .filter(|c| matches!(c, std::path::Component::Normal(_)))
        .collect();
    root.join(relative)
}

/// This machine's managed allowlist of `client`; `None` for clients that keep none on the endpoint.
pub fn read(client: Client, trust: &Trust) -> Option<ManagedPolicy> {
    let root = std::env::var_os(MANAGED_ROOT_ENV)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from);
    let files: Vec<PathBuf> = locations(client, Os::current())
        .into_iter()
        .map(|p| match &root {
            Some(root) => reroot(root, &p),
            None => p,
        })
        .collect();
    read_from(client, &files, trust)
}

/// The first of `files` that exists, judged; the last one (not found) when none does.
pub fn read_from(client: Client, files: &[PathBuf], trust: &Trust) -> Option<ManagedPolicy> {
    let path = files.iter().find(|p| p.exists()).or(files.last())?.clone();
    let mut policy = ManagedPolicy {
        found: path.exists(),
        path,
        governed_only: false,
        error: None,
    };
    if !policy.found {
        return Some(policy);
    }
    let judged = inspect::read_text(&policy.path)
        .map_err(|e| e.to_string())
        .and_then(|text| judge(client, &policy.path, &text, trust));
    match judged {
        Ok(only) => policy.governed_only = only,
        Err(e) => policy.error = Some(e),
    }
    Some(policy)
}

fn governed(command: &str, args: &[String], trust: &Trust) -> bool {
    let fields = Fields {
        command: command.to_owned(),
        args: Some(args.to_vec()),
        env: None,
    };
    inspect::state("", Entry::Stdio(fields), trust).governed
}

/// Whether the file's text admits only governed servers.
pub fn judge(client: Client, path: &Path, text: &str, trust: &Trust) -> Result<bool, String> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    match (client, name) {
        (Client::Codex, _) => codex(text, trust),
        (Client::ClaudeCode, "managed-mcp.json") => {
            let parsed = super::format(Client::ClaudeCode)
                .parse(path, text)
                .map_err(|e| e.to_string())?;
            Ok(parsed.servers.iter().all(|s| match &s.entry {
                Entry::Stdio(f) => governed(&f.command, f.args_or_empty(), trust),
                _ => false,
            }))
        }
        (Client::ClaudeCode, _) => claude_code_settings(text, trust),
        _ => Ok(false),
    }
}

/// `managed-settings.json`: the allowlist is managed-only and every entry is a `serverCommand` of thoth
/// (a `serverName` entry admits any server so named, a `serverUrl` one a bare remote server).
fn claude_code_settings(text: &str, trust: &Trust) -> Result<bool, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    if value.get("allowManagedMcpServersOnly") != Some(&Value::Bool(true)) {
        return Ok(false);
    }
    let Some(entries) = value.get("allowedMcpServers").and_then(Value::as_array) else {
        return Ok(false);
    };
    Ok(entries.iter().all(|entry| {
        let Some(object) = entry.as_object().filter(|o| o.len() == 1) else {
            return false;
        };
        let Some(command) = object.get("serverCommand").and_then(Value::as_array) else {
            return false;
        };
        let words: Option<Vec<String>> = command
            .iter()
            .map(|w| w.as_str().map(str::to_owned))
            .collect();
        match words.as_deref() {
            Some([command, args @ ..]) => governed(command, args, trust),
            _ => false,
        }
    }))
}

/// `requirements.toml`: an `[mcp_servers]` allowlist whose every identity is a thoth command.
fn codex(text: &str, trust: &Trust) -> Result<bool, String> {
    let doc: toml_edit::DocumentMut = text.parse().map_err(|e| format!("not TOML: {e}"))?;
    let Some(servers) = doc.get("mcp_servers").and_then(|i| i.as_table_like()) else {
        return Ok(false);
    };
    let only = servers.iter().all(|(_, item)| {
        let command = item
            .as_table_like()
            .and_then(|t| t.get("identity"))
            .and_then(|i| i.as_table_like())
            .filter(|t| !t.contains_key("url"))
            .and_then(|t| t.get("command"))
            .and_then(|c| c.as_str());
        // Codex matches the command only, so any arguments pass: thoth's own `run` is what governs.
        command.is_some_and(|c| governed(c, &["run".into()], trust))
    });
    Ok(only)
}
