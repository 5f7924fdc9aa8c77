//! The client's own managed allowlist that admits exactly the servers thoth governs in a config (`thoth mdm
//! client-policy`), in the form each client reads:
//! - Claude Code: `managed-settings.json` with `allowManagedMcpServersOnly: true` and `allowedMcpServers` of
//!   `serverCommand` entries (command and every argument, matched exactly). With only `serverCommand`
//!   entries Claude Code also refuses every remote server (they need a `serverUrl` entry).
//! - Codex: `requirements.toml` `[mcp_servers.NAME] identity = { command = "..." }` (Codex matches the name
//!   and the command, not the arguments; every other server is disabled).
//! - Windsurf: entries for the team admin's MCP whitelist (server ID + server config), whose command and
//!   arguments are regular expressions anchored as `^(?:…)$`: each value is escaped to match only itself.

use serde_json::{json, Value};

use super::{Client, Parsed};
use crate::wrap::entry::Entry;
use crate::wrap::{inspect, Trust};

/// The clients that have a managed allowlist thoth can build.
pub const WITH_POLICY: [Client; 3] = [Client::ClaudeCode, Client::Codex, Client::Windsurf];

pub const CLAUDE_CODE_LOCATIONS: [&str; 3] = [
    "/Library/Application Support/ClaudeCode/managed-settings.json",
    "/etc/claude-code/managed-settings.json",
    r"C:\Program Files\ClaudeCode\managed-settings.json",
];

pub const CODEX_LOCATIONS: [&str; 3] = [
    "/etc/codex/requirements.toml",
    r"%ProgramData%\OpenAI\Codex\requirements.toml",
    "macOS MDM: domain com.openai.codex, key requirements_toml_base64 (this file, base64)",
];

pub const WINDSURF_LOCATIONS: [&str; 1] = [
    "Windsurf team settings (admin dashboard): MCP Servers, whitelist; one entry per server: Server ID and Server Config (JSON). Not a file on the endpoint.",
];

/// A built allowlist.
#[derive(Debug, Clone, PartialEq)]
pub struct Allowlist {
    /// The file to deploy (`None`: Windsurf's lives in its admin dashboard).
    pub file_name: Option<&'static str>,
    pub locations: Vec<&'static str>,
    /// Governed servers allowed, by name.
    pub servers: Vec<String>,
    /// Ungoverned stdio servers left out (the client refuses them once the policy is in place).
    pub left_out: Vec<String>,
    /// The policy as JSON (Codex: the TOML's tables as JSON).
    pub policy: Value,
    /// The exact text to deploy (JSON, or TOML for Codex).
    pub content: String,
}

/// The allowlist of `parsed` (a config of `client`), or `None` when the client has no managed allowlist.
pub fn build(client: Client, parsed: &Parsed, trust: &Trust) -> Option<Allowlist> {
    let mut governed: Vec<(String, Vec<String>)> = Vec::new();
    let mut left_out = Vec::new();
    for found in &parsed.servers {
        let Entry::Stdio(fields) = &found.entry else {
            continue;
        };
        let mut command = vec![fields.command.clone()];
        command.extend(fields.args_or_empty().iter().cloned());
        if inspect::state(&found.name, found.entry.clone(), trust).governed {
            governed.push((found.name.clone(), command));
        } else {
            left_out.push(found.name.clone());
        }
    }
    let servers = governed.iter().map(|(n, _)| n.clone()).collect();
    let (file_name, locations, policy, content) = match client {
        Client::ClaudeCode => {
            let policy = claude_code(&governed);
            let content = pretty(&policy);
            (
                Some("managed-settings.json"),
                CLAUDE_CODE_LOCATIONS.to_vec(),
                policy,
                content,
            )
        }
        Client::Codex => {
            let (policy, content) = codex(&governed);
            (
                Some("requirements.toml"),
                CODEX_LOCATIONS.to_vec(),
                policy,
                content,
            )
        }
        Client::Windsurf => {
            let policy = windsurf(&governed);
            let content = pretty(&policy);
            (None, WINDSURF_LOCATIONS.to_vec(), policy, content)
        }
        _ => return None,
    };
    Some(Allowlist {
        file_name,
        locations,
        servers,
        left_out,
        policy,
        content,
    })
}

fn pretty(value: &Value) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}

fn claude_code(governed: &[(String, Vec<String>)]) -> Value {
    let mut commands: Vec<&Vec<String>> = Vec::new();
    for (_, command) in governed {
        if !commands.contains(&command) {
            commands.push(command);
        }
    }
    json!({
        "allowManagedMcpServersOnly": true,
        "allowedMcpServers": commands
            .into_iter()
            .map(|c| json!({"serverCommand": c}))
            .collect::<Vec<_>>()
    })
}

/// `requirements.toml`: one `[mcp_servers.NAME]` table per governed server, its identity the command.
fn codex(governed: &[(String, Vec<String>)]) -> (Value, String) {
    let mut doc = toml_edit::DocumentMut::new();
    doc.decor_mut().set_prefix(
        "# Codex requirements.toml from `thoth mdm client-policy --client codex`: only these MCP servers,\n\
         # each started by thoth, may run (Codex matches the name and the command).\n",
    );
    let mut servers = toml_edit::Table::new();
    servers.set_implicit(true);
    let mut policy = serde_json::Map::new();
    for (name, command) in governed {
        let mut identity = toml_edit::InlineTable::new();
        identity.insert("command", command[0].as_str().into());
        let mut table = toml_edit::Table::new();
        table.insert("identity", toml_edit::value(identity));
        servers.insert(name, toml_edit::Item::Table(table));
        policy.insert(
            name.clone(),
            json!({"identity": {"command": command[0].clone()}}),
        );
    }
    doc.insert("mcp_servers", toml_edit::Item::Table(servers));
    (json!({"mcp_servers": policy}), doc.to_string())
}

fn windsurf(governed: &[(String, Vec<String>)]) -> Value {
    json!({
        "whitelist": governed
            .iter()
            .map(|(name, command)| json!({
                "server_id": name,
                "server_config": {
                    "command": regex_escape(&command[0]),
                    "args": command[1..].iter().map(|a| regex_escape(a)).collect::<Vec<_>>(),
                }
            }))
            .collect::<Vec<_>>()
    })
}

/// `text` as a regular expression matching only itself: the syntax characters every regex dialect shares
/// (`\ . + * ? ( ) | [ ] { } ^ $`) are backslash-escaped, nothing else (a needless escape such as `\-` is an
/// error in some dialects).
pub fn regex_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
