//! The whole command surface (clap derive) and its help text. Parsing only: values are resolved with their
//! sources in `settings`, so no `env =` attributes here (they would hide where a value came from).

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::policy::Mode;

#[derive(Debug, Parser)]
#[command(
    name = "thoth",
    version,
    about = "Govern MCP servers: a stdio sidecar that decides every tools/call before the server sees it.",
    long_about = None,
    propagate_version = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Log level (error, warn, info, debug, trace) or a tracing filter; overrides THOTH_LOG. Logs go to
    /// stderr (never stdout).
    #[arg(long, global = true, value_name = "LEVEL")]
    pub log_level: Option<String>,
    /// Also append logs to this file.
    #[arg(long, global = true, value_name = "FILE")]
    pub log_file: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run an MCP server behind thoth: `thoth run [flags] -- <server command...>`.
    Run(RunArgs),
    /// Save the enforcer API key to ~/.thoth/proxy_api_key.json (readable only by you).
    SetApiKey(SetApiKeyArgs),
    /// Show every setting and its source, the endpoint identity, the runtime checks and the policy in force;
    /// say what is wrong and how to fix it. Exits 1 when something is wrong.
    Doctor(DoctorArgs),
    /// Check the local audit logs: `thoth audit verify [--json] [FILE...]`.
    Audit(crate::commands::audit::cli_args::AuditArgs),
    /// Govern every server of a Claude Desktop config: each stdio server is started through `thoth run`.
    /// Idempotent and lossless; `--unwrap` undoes it, `--dry-run` shows the diff.
    WrapConfig(crate::commands::wrap_config::cli_args::WrapConfigArgs),
    /// Show which servers of a Claude Desktop config are governed. Exits 0 when all stdio servers are, 1 when
    /// some are not, 3 when the config cannot be read.
    Status(crate::commands::wrap_config::cli_args::StatusArgs),
    /// Install the newest signed release of thoth (alias: self-update); `--check` only looks,
    /// `--rollback` puts the previous binary back.
    #[command(visible_alias = "self-update")]
    Update(crate::update::cli_args::UpdateArgs),
    /// Is thoth installed, governing and reporting? JSON, Jamf Extension Attribute and Intune detection
    /// forms (`--format`). Exit codes depend on the form (README "Exit codes").
    Health(crate::commands::health::HealthArgs),
    /// Register with GovAPI when needed and check in once now (a Jamf policy or scheduled task).
    Checkin(CheckinArgs),
    /// Pin what an MCP server offers (tools, prompts, resources) in a lockfile:
    /// `thoth lock [--output FILE] [--sign KEY] -- <server...>`.
    Lock(crate::lock::cli_args::LockArgs),
    /// Compare a live MCP server with its lockfile. Exits 0 without drift at or above --fail-on, 1 with,
    /// 2 when no comparison was possible.
    Diff(crate::lock::cli_args::DiffArgs),
    /// Sign in with SSO (`login`), show the saved session (`status`), sign out (`logout`). Also answers as
    /// `thothctl auth ...`.
    Auth(crate::auth::cli_args::AuthArgs),
    /// The secret store that keeps server credentials out of client configs: `set NAME --from-stdin`,
    /// `list [--json]`, `rm NAME`, `get NAME --reveal` (terminal only). Configs reference a secret as
    /// `thoth-secret:NAME`; `thoth run` resolves it when it starts the server.
    Secrets(crate::commands::secrets::SecretsArgs),
    /// MDM helpers: `thoth mdm client-policy --client claude-code [--json]` prints the client's managed
    /// allowlist allowing only the servers thoth governs.
    Mdm(crate::commands::client_policy::MdmArgs),
}

/// `thoth checkin`.
#[derive(Debug, Args)]
pub struct CheckinArgs {
    /// Register again even when nothing changed since the last registration.
    #[arg(long)]
    pub register: bool,
    /// Check in for this user's sessions and save to their ~/.thoth/state (default: the console user when
    /// run as root, as a Jamf policy is; else yourself).
    #[arg(long, value_name = "USER")]
    pub for_user: Option<String>,
}

/// `thoth set-api-key`.
#[derive(Debug, Args)]
pub struct SetApiKeyArgs {
    /// The key, or `-` to read it from stdin (keeps it out of shell history).
    #[arg(long, value_name = "KEY|-")]
    pub api_key: String,
    /// The key's id, if the console showed one.
    #[arg(long, value_name = "ID")]
    pub key_id: Option<String>,
}

/// `thoth doctor`.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Print the report as JSON (schemas/doctor.schema.json).
    #[arg(long)]
    pub json: bool,
}

/// `thoth run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The agent id this server is governed as (default: the server command's file name).
    #[arg(long, value_name = "ID")]
    pub agent_id: Option<String>,
    /// The Thoth tenant id (THOTH_TENANT_ID; a managed value wins).
    #[arg(long, value_name = "ID")]
    pub tenant_id: Option<String>,
    /// The local policy file (THOTH_POLICY_FILE; default ~/.thoth/policy.json when it exists).
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// What happens to a tools/call outside the approved scope (THOTH_ENFORCEMENT_MODE; a managed value wins).
    #[arg(long, value_enum, value_name = "MODE")]
    pub enforcement_mode: Option<Mode>,
    /// The declared intent of this session (sent to the enforcer, selects intent scopes).
    #[arg(long, value_name = "INTENT")]
    pub session_intent: Option<String>,
    /// Tools this session may call, comma separated; repeatable.
    #[arg(long, value_name = "TOOL[,TOOL...]", value_delimiter = ',')]
    pub approved_scope: Vec<String>,
    /// With an enforcer: hold a call that needs approval up to this many seconds, polling for the decision,
    /// instead of answering -32002 at once. A call still undecided then is blocked.
    #[arg(long, value_name = "SECONDS")]
    pub step_up_wait: Option<u64>,
    /// Longest accepted JSON-RPC line in bytes; longer lines are discarded (and answered when possible).
    #[arg(long, value_name = "BYTES", default_value_t = crate::proxy::MAX_LINE_BYTES)]
    pub max_line_bytes: usize,
    /// Most requests in flight per direction; past it a request is refused, not forwarded.
    #[arg(long, value_name = "N", default_value_t = crate::proxy::MAX_PENDING)]
    pub max_pending: usize,
    /// After the client closes stdin: wait this long for the server to exit, then SIGTERM, wait again, then kill.
    #[arg(long, value_name = "MS", default_value_t = crate::proxy::SHUTDOWN_GRACE_MS)]
    pub shutdown_grace_ms: u64,
    /// Pin the server's tools to this lockfile (`thoth lock`): unknown or changed tools are hidden and blocked.
    #[arg(long, value_name = "FILE")]
    pub lock: Option<PathBuf>,
    /// What the lock does to drifted tools.
    #[arg(long, value_enum, value_name = "MODE", default_value = "enforce")]
    pub lock_mode: crate::lock::guard::LockMode,
    /// Verify FILE.minisig with this minisign key (a .pub file or its `RW...` line); repeatable.
    #[arg(long, value_name = "KEY")]
    pub lock_pubkey: Vec<String>,
    /// The MCP server to run, after `--`.
    #[arg(
        last = true,
        required_unless_present = "url",
        value_name = "SERVER COMMAND"
    )]
    pub server: Vec<OsString>,
    /// Bridge to the remote MCP server at URL (Streamable HTTP, or legacy HTTP+SSE) instead of `-- <command>`.
    #[arg(long, value_name = "URL", conflicts_with = "server")]
    pub url: Option<String>,
    /// With --url: a header sent on every request, `Name: value` (`${env:X}` is replaced at start); repeatable.
    #[arg(long = "header", value_name = "NAME: VALUE", requires = "url")]
    pub headers: Vec<String>,
    /// With --url: `streamable-http`, `sse` (legacy 2024-11-05) or `auto` (Streamable HTTP, else legacy on a 4xx).
    #[arg(long, value_enum, value_name = "TRANSPORT", default_value = "auto")]
    pub transport: crate::remote::Transport,
    /// With --url: the OAuth client id registered for thoth at the server's authorization server (default:
    /// dynamic client registration, when the authorization server offers it).
    #[arg(long, value_name = "ID", requires = "url")]
    pub oauth_client_id: Option<String>,
}
