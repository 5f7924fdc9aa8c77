//! `thoth mdm client-policy --client NAME [--json]`: the client's own managed allowlist, admitting exactly the
//! servers thoth governs in the user's config, so IT can stop users adding bare servers (built by
//! `clients::allowlist`): Claude Code's `managed-settings.json`, Codex's `requirements.toml`, Windsurf's
//! team whitelist entries. Other clients have no managed allowlist: exit 2, naming the ones that do.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde::Serialize;

use crate::clients::{self, allowlist, Client, Env};
use crate::wrap::{locate, Trust};
use crate::Exit;

/// `thoth mdm`.
#[derive(Debug, Args)]
pub struct MdmArgs {
    #[command(subcommand)]
    pub command: MdmCommand,
}

#[derive(Debug, Subcommand)]
pub enum MdmCommand {
    /// Print the client's managed allowlist that allows only the servers thoth governs (claude-code,
    /// codex, windsurf).
    ClientPolicy(ClientPolicyArgs),
}

#[derive(Debug, Args)]
pub struct ClientPolicyArgs {
    /// The client (claude-code, codex, windsurf).
    #[arg(long, value_enum, value_name = "NAME")]
    pub client: Client,
    /// Build it from this config instead of the user's.
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Read this user's config (as root).
    #[arg(long, value_name = "USER")]
    pub for_user: Option<String>,
    /// Print a report (schemas/client-policy.schema.json) instead of the file's content.
    #[arg(long)]
    pub json: bool,
}

/// schemas/client-policy.schema.json
#[derive(Debug, Serialize)]
pub struct ClientPolicy {
    pub schema_version: u32,
    pub client: &'static str,
    pub source: PathBuf,
    /// `null` for Windsurf (its whitelist is set in its admin dashboard).
    pub file_name: Option<&'static str>,
    pub locations: Vec<&'static str>,
    /// Governed servers allowed, by name.
    pub servers: Vec<String>,
    /// Ungoverned stdio servers left out (the client will refuse them once the policy is deployed).
    pub left_out: Vec<String>,
    pub policy: serde_json::Value,
    /// The exact text to deploy (what the command prints without `--json`).
    pub content: String,
}

pub fn run(
    args: MdmArgs,
    settings: Option<&crate::settings::Settings>,
) -> Result<Exit, crate::Error> {
    let MdmCommand::ClientPolicy(args) = args.command;
    if !allowlist::WITH_POLICY.contains(&args.client) {
        let with: Vec<&str> = allowlist::WITH_POLICY.iter().map(|c| c.name()).collect();
        crate::output::message(&format!(
            "error: --client {}: {} has no managed allowlist of its own; thoth builds one for {}",
            args.client.name(),
            args.client.label(),
            with.join(", ")
        ));
        return Ok(Exit::Usage);
    }
    let trust = Trust::current(settings);
    let path = match &args.config {
        Some(path) => path.clone(),
        None => {
            let (user, current) = locate::resolve_user(args.for_user.as_deref())?;
            clients::user_file(args.client, &Env::current(&user.home, current))
        }
    };
    let text = crate::wrap::inspect::read_text(&path)?;
    let parsed = clients::format(args.client).parse(&path, &text)?;
    let Some(built) = allowlist::build(args.client, &parsed, &trust) else {
        return Ok(Exit::Usage);
    };
    let report = ClientPolicy {
        schema_version: 1,
        client: args.client.name(),
        source: path,
        file_name: built.file_name,
        locations: built.locations,
        servers: built.servers,
        left_out: built.left_out,
        policy: built.policy,
        content: built.content,
    };
    if args.json {
        crate::output::json(&report);
    } else {
        crate::output::text(&report.content);
        tracing::info!(
            "deploy{} in {}",
            report
                .file_name
                .map(|f| format!(" as {f}"))
                .unwrap_or_default(),
            report.locations.join(" | ")
        );
    }
    for name in &report.left_out {
        tracing::warn!(
            "{name}: not governed, so not allowed (run `thoth wrap-config --client {}`)",
            report.client
        );
    }
    Ok(Exit::Ok)
}
