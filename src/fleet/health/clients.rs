//! `health` over every MCP client found: the `mcp_clients[]` rows, the `claude_desktop` section (its
//! Desktop Extensions and managed keys) and their checks. Endpoint governed = every found client governed:
//! one bare stdio server or one extension that may run makes it false. Remote servers are named in an `ok`
//! check (never `fail`). Other clients' rows come from `src/clients/` once it reads their files.

use serde::Serialize;

use super::claude_config::ClaudeConfig;
use super::model::{Check, CheckStatus};
use crate::fleet::claude_desktop::extensions::Extension;
use crate::fleet::claude_desktop::policy::DesktopPolicy;

/// One client, as `health --json` `mcp_clients[]` reports it (schemas/health.schema.json).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct McpClient {
    pub client: &'static str,
    pub paths: Vec<String>,
    pub found: bool,
    /// Every entry of its user-level files, remote ones and (Claude Desktop) extensions included.
    pub servers: usize,
    pub governed: bool,
    pub governed_servers: Vec<String>,
    pub ungoverned: Vec<String>,
    pub remote: Vec<String>,
    pub error: Option<String>,
}

/// Claude Desktop beyond its config: `health --json` `claude_desktop`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClaudeDesktop {
    pub policy: DesktopPolicy,
    /// The extensions may run (isDesktopExtensionEnabled not managed to false).
    pub extensions_allowed: bool,
    pub extensions: Vec<Extension>,
}

/// The Claude Desktop row: its config's servers plus every extension; an enabled extension that may run is
/// an ungoverned stdio server.
pub fn claude_desktop_row(config: &ClaudeConfig, desktop: &ClaudeDesktop) -> McpClient {
    let mut ungoverned = config.ungoverned.clone();
    let running: Vec<String> = desktop
        .extensions
        .iter()
        .filter(|e| e.enabled && desktop.extensions_allowed)
        .map(|e| e.id.clone())
        .collect();
    ungoverned.extend(running);
    ungoverned.sort();
    let mut paths = vec![config.path.clone()];
    paths.extend(
        desktop
            .extensions
            .iter()
            .map(|e| e.manifest.display().to_string()),
    );
    McpClient {
        client: "claude-desktop",
        paths,
        found: config.found || !desktop.extensions.is_empty(),
        servers: config.servers + desktop.extensions.len(),
        governed: config.governed && ungoverned.is_empty(),
        governed_servers: config.governed_servers.clone(),
        ungoverned,
        remote: config.remote.clone(),
        error: config.error.clone(),
    }
}

/// The checks these add: the extensions, Claude Desktop's managed keys, remote servers.
pub fn checks(clients: &[McpClient], desktop: &ClaudeDesktop) -> Vec<Check> {
    let mut checks = Vec::new();
    let running: Vec<&str> = desktop
        .extensions
        .iter()
        .filter(|e| e.enabled && desktop.extensions_allowed)
        .map(|e| e.id.as_str())
        .collect();
    if !desktop.extensions.is_empty() {
        checks.push(if running.is_empty() {
            Check {
                name: "claude_desktop_extensions",
                status: CheckStatus::Ok,
                detail: format!(
                    "{} Desktop Extension(s) installed, none can run (disabled, or isDesktopExtensionEnabled=false)",
                    desktop.extensions.len()
                ),
            }
        } else {
            Check {
                name: "claude_desktop_extensions",
                status: CheckStatus::Warn,
                detail: format!(
                    "Desktop Extension(s) run outside thoth: {} (set Claude Desktop's managed isDesktopExtensionEnabled=false; see mdm/README.md)",
                    running.join(", ")
                ),
            }
        });
    }
    let keys: Vec<String> = desktop
        .policy
        .keys
        .iter()
        .map(|(k, v)| match v {
            Some(v) => format!("{k}={v}"),
            None => format!("{k} unset"),
        })
        .collect();
    checks.push(Check {
        name: "claude_desktop_policy",
        status: if desktop.policy.problems.is_empty() {
            CheckStatus::Ok
        } else {
            CheckStatus::Warn
        },
        detail: match (&desktop.policy.source, desktop.policy.problems.is_empty()) {
            (_, false) => desktop.policy.problems.join("; "),
            (Some(source), true) => format!("{source}: {}", keys.join(", ")),
            (None, true) => {
                "no Claude Desktop managed preferences (extensions allowed by default)".into()
            }
        },
    });
    let remote: Vec<String> = clients
        .iter()
        .flat_map(|c| {
            c.remote
                .iter()
                .map(move |r| format!("{} ({})", r, c.client))
        })
        .collect();
    if !remote.is_empty() {
        checks.push(Check {
            name: "remote_servers",
            status: CheckStatus::Ok,
            detail: format!("remote server(s), not wrappable: {}", remote.join(", ")),
        });
    }
    checks
}

/// Every found client governed.
pub fn endpoint_governed(clients: &[McpClient]) -> bool {
    clients.iter().all(|c| c.governed)
}
