//! `health` over every MCP client found: the `mcp_clients[]` rows, the `claude_desktop` section (its
//! Desktop Extensions and managed keys) and their checks. Endpoint governed = every found client governed:
//! one bare stdio server or one extension that may run makes it false. Remote servers are named in an `ok`
//! check (never `fail`). Other clients' rows come from `src/clients/` once it reads their files.

use serde::Serialize;

use super::check::{Check, CheckStatus};
use super::claude_config::ClaudeConfig;
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
    /// The client's own managed allowlist on this machine (`null`: the client keeps none on the endpoint).
    pub managed_policy: Option<crate::clients::managed::ManagedPolicy>,
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
        managed_policy: None,
    }
}

/// The row of a client other than Claude Desktop: every user-level file of it that exists (missing ones
/// skipped; none found: `found: false`, governed). A file that cannot be read or is refused is not governed.
pub fn client_row(
    client: crate::clients::Client,
    files: &[std::path::PathBuf],
    trust: &crate::wrap::Trust,
) -> McpClient {
    let mut row = McpClient {
        client: client.name(),
        paths: Vec::new(),
        found: false,
        servers: 0,
        governed: true,
        governed_servers: Vec::new(),
        ungoverned: Vec::new(),
        remote: Vec::new(),
        error: None,
        managed_policy: crate::clients::managed::read(client, trust),
    };
    for path in files.iter().filter(|p| p.exists()) {
        row.found = true;
        row.paths.push(path.display().to_string());
        match crate::clients::read(client, path, trust) {
            Ok(config) => {
                for server in config.servers {
                    row.servers += 1;
                    let name = match server.scope.as_str() {
                        "user" => server.state.name.clone(),
                        scope => format!("{} ({scope})", server.state.name),
                    };
                    if server.remote || (!server.state.stdio && server.state.problem.is_none()) {
                        row.remote.push(name);
                    } else if server.state.governed {
                        row.governed_servers.push(name);
                    } else {
                        row.ungoverned.push(name);
                    }
                }
            }
            Err(err) => {
                row.governed = false;
                row.error = Some(err.to_string());
            }
        }
    }
    row.governed &= row.ungoverned.is_empty();
    for list in [
        &mut row.governed_servers,
        &mut row.ungoverned,
        &mut row.remote,
    ] {
        list.sort();
    }
    row
}

/// The checks these add: the extensions, Claude Desktop's managed keys, remote servers.
pub fn checks(clients: &[McpClient], desktop: &ClaudeDesktop) -> Vec<Check> {
    let mut checks = Vec::new();
    for c in clients
        .iter()
        .filter(|c| c.client != "claude-desktop" && c.found)
    {
        let (status, detail) = match (&c.error, c.ungoverned.is_empty()) {
            (Some(error), _) => (CheckStatus::Warn, error.clone()),
            (None, false) => (
                CheckStatus::Warn,
                format!(
                    "ungoverned stdio server(s): {} (run `thoth wrap-config --client {}`)",
                    c.ungoverned.join(", "),
                    c.client
                ),
            ),
            (None, true) => (
                CheckStatus::Ok,
                format!("{} governed server(s)", c.governed_servers.len()),
            ),
        };
        checks.push(Check {
            name: "mcp_client",
            status,
            detail: format!("{}: {detail}", c.client),
        });
    }
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
