//! `thoth mdm client-policy --client NAME [--json]`: the client's own managed allowlist, allowing exactly the
//! servers thoth governs in the user's config, so IT can stop users adding bare servers. Claude Code:
//! `managed-settings.json` `allowedMcpServers` with `serverCommand` exact matches (command + args), deployed
//! to `/Library/Application Support/ClaudeCode/`, `/etc/claude-code/`, `C:\Program Files\ClaudeCode\`.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde::Serialize;

use crate::clients::{self, Client, Env};
use crate::wrap::entry::Entry;
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
    /// Print the client's managed allowlist that allows only the servers thoth governs (Claude Code).
    ClientPolicy(ClientPolicyArgs),
}

#[derive(Debug, Args)]
pub struct ClientPolicyArgs {
    /// The client (claude-code).
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
    pub file_name: &'static str,
    pub locations: Vec<&'static str>,
    /// Governed servers allowed, by name.
    pub servers: Vec<String>,
    /// Ungoverned stdio servers left out (the client will refuse them once the policy is deployed).
    pub left_out: Vec<String>,
    pub policy: serde_json::Value,
}

pub const CLAUDE_CODE_LOCATIONS: [&str; 3] = [
    "/Library/Application Support/ClaudeCode/managed-settings.json",
    "/etc/claude-code/managed-settings.json",
    r"C:\Program Files\ClaudeCode\managed-settings.json",
];

pub fn run(
    args: MdmArgs,
    settings: Option<&crate::settings::Settings>,
) -> Result<Exit, crate::Error> {
    let MdmCommand::ClientPolicy(args) = args.command;
    if args.client != Client::ClaudeCode {
        return Err(crate::Error::Input(format!(
            "--client {}: thoth builds a managed allowlist only for claude-code so far",
            args.client.name()
        )));
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
    let mut allowed = Vec::new();
    let mut servers = Vec::new();
    let mut left_out = Vec::new();
    for found in parsed.servers {
        let Entry::Stdio(fields) = &found.entry else {
            continue;
        };
        let mut command = vec![fields.command.clone()];
        command.extend(fields.args_or_empty().iter().cloned());
        let state = crate::wrap::inspect::state(&found.name, found.entry.clone(), &trust);
        if state.governed {
            if !allowed.contains(&command) {
                allowed.push(command);
            }
            servers.push(found.name);
        } else {
            left_out.push(found.name);
        }
    }
    let policy = serde_json::json!({
        "allowedMcpServers": allowed
            .into_iter()
            .map(|c| serde_json::json!({"serverCommand": c}))
            .collect::<Vec<_>>()
    });
    let report = ClientPolicy {
        schema_version: 1,
        client: args.client.name(),
        source: path,
        file_name: "managed-settings.json",
        locations: CLAUDE_CODE_LOCATIONS.to_vec(),
        servers,
        left_out,
        policy,
    };
    if args.json {
        crate::output::json(&report);
    } else {
        crate::output::json(&report.policy);
        tracing::info!(
            "deploy as managed-settings.json in {}",
            CLAUDE_CODE_LOCATIONS.join(", ")
        );
    }
    for name in &report.left_out {
        tracing::warn!(
            "{name}: not governed, so not allowed (run `thoth wrap-config --client claude-code`)"
        );
    }
    Ok(Exit::Ok)
}
