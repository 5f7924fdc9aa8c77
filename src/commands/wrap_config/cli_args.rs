//! `thoth wrap-config` and `thoth status` flags (clap derive), beside the code that runs them.

use std::path::PathBuf;

use clap::Args;

use crate::policy::Mode;

/// `thoth wrap-config`.
#[derive(Debug, Args)]
pub struct WrapConfigArgs {
    /// The claude_desktop_config.json to wrap (default: the console user's when run as root, else yours).
    #[arg(value_name = "INPUT")]
    pub input: Option<PathBuf>,
    /// Write the result here instead of changing INPUT in place.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Tenant id written into each wrapped server (default: THOTH_TENANT_ID and the managed settings).
    #[arg(long, value_name = "ID")]
    pub tenant_id: Option<String>,
    /// Enforcement mode written into each wrapped server (default: THOTH_ENFORCEMENT_MODE, else block).
    #[arg(long, value_enum, value_name = "MODE")]
    pub enforcement_mode: Option<Mode>,
    /// Server name -> session intent, a JSON object (default: ~/.thoth/intent_map.json when it exists).
    #[arg(long, value_name = "FILE")]
    pub intent_map: Option<PathBuf>,
    /// Add KEY=VALUE to each wrapped server's `env`; repeatable. Secrets (THOTH_*KEY*, *TOKEN*...) only
    /// with --embed-api-key.
    #[arg(long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// Write the enforcer API key into each wrapped server's `env` (off by default: anyone who can read the
    /// config can then read the key).
    #[arg(long)]
    pub embed_api_key: bool,
    /// Agent ids are PREFIX + the server's name.
    #[arg(long, value_name = "PREFIX")]
    pub agent_id_prefix: Option<String>,
    /// Only this server; repeatable.
    #[arg(long, value_name = "NAME")]
    pub only: Vec<String>,
    /// Not this server; repeatable.
    #[arg(long, value_name = "NAME")]
    pub exclude: Vec<String>,
    /// Show what would change (a diff) and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Restore every selected server exactly as it was before wrapping.
    #[arg(long)]
    pub unwrap: bool,
    /// The thoth binary wrapped servers start (default: this one's absolute path; Claude Desktop on macOS
    /// starts servers with a bare PATH, so a bare `thoth` would not be found).
    #[arg(long, value_name = "PATH")]
    pub thoth_path: Option<PathBuf>,
    /// Work on this user's config (as root).
    #[arg(long, value_name = "USER")]
    pub for_user: Option<String>,
    /// Create the config when it does not exist.
    #[arg(long)]
    pub create: bool,
    /// Print the report as JSON (schemas/wrap-report.schema.json).
    #[arg(long)]
    pub json: bool,
    /// Each wrapped server runs with `--lock <absolute DIR>/<name>.lock.json` (DIR need not exist yet).
    #[arg(long, value_name = "DIR")]
    pub lock_dir: Option<PathBuf>,
    /// With --lock-dir: also `--lock-pubkey KEY` (a minisign .pub file or its `RW...` line).
    #[arg(long, value_name = "KEY", requires = "lock_dir")]
    pub lock_pubkey: Option<String>,
    /// Move plain-text secrets of the servers' `env` (by name: TOKEN, KEY, SECRET, PASSWORD...; by shape:
    /// ghp_, xoxb-, a URL with a password) to the secret store; the config keeps `thoth-secret:<server>/<KEY>`.
    #[arg(long)]
    pub vault_secrets: bool,
    /// Also vault this env key (any value); repeatable. Implies --vault-secrets.
    #[arg(long, value_name = "KEY")]
    pub vault: Vec<String>,
    /// With --unwrap: leave thoth-secret: references in place (refused when a restored server would then
    /// start with references nothing resolves).
    #[arg(long)]
    pub keep_vaulted: bool,
    /// The client whose config to wrap (default: claude-desktop).
    #[arg(long, value_enum, value_name = "NAME")]
    pub client: Option<crate::clients::Client>,
    /// This file, read in the client's format (the same as INPUT).
    #[arg(long, value_name = "PATH", conflicts_with_all = ["input", "project"])]
    pub config: Option<PathBuf>,
    /// The client's project-scoped file in DIR (`.mcp.json`, `.cursor/mcp.json`, `.vscode/mcp.json`,
    /// `.zed/settings.json`, `.codex/config.toml`).
    #[arg(long, value_name = "DIR", conflicts_with = "input")]
    pub project: Option<PathBuf>,
}

/// `thoth status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The claude_desktop_config.json to read (default: the console user's when run as root, else yours).
    #[arg(value_name = "CONFIG")]
    pub config: Option<PathBuf>,
    /// Read this user's config (as root).
    #[arg(long, value_name = "USER")]
    pub for_user: Option<String>,
    /// Print the report as JSON (schemas/status.schema.json).
    #[arg(long)]
    pub json: bool,
    /// Report this client's file instead (claude-desktop, claude-code, cursor, vscode, windsurf, zed,
    /// codex); claude-desktop without a CONFIG also reads its Desktop Extensions.
    #[arg(long, value_enum, value_name = "NAME", conflicts_with = "all_clients")]
    pub client: Option<crate::clients::Client>,
    /// With --client: read this file in the client's format.
    #[arg(long = "config", value_name = "PATH", conflicts_with_all = ["config", "project"])]
    pub config_file: Option<PathBuf>,
    /// The client's project-scoped file in DIR (with --all-clients: every client's project file there).
    #[arg(long, value_name = "DIR")]
    pub project: Option<PathBuf>,
    /// Every client's user file that exists, Claude Desktop Extensions, and with --project the project
    /// files in DIR. Exit 1 when a stdio server of a found client is not governed.
    #[arg(long)]
    pub all_clients: bool,
}
