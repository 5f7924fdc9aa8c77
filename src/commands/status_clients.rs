//! `thoth status --client NAME` and `status --all-clients`: every MCP client's servers in one table (Client,
//! Server, Governed, Agent ID, Session Intent, Enforcement) or JSON (`{schema_version, all_governed,
//! clients[]}`, schemas/status-clients.schema.json). Governed `✓`, ungoverned stdio `✗`, remote and
//! extension rows say they cannot be wrapped. An extension that may run counts as an ungoverned stdio server.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::clients::{self, Client, Env};
use crate::commands::wrap_config::cli_args::StatusArgs;
use crate::fleet::claude_desktop::{extensions, policy};
use crate::wrap::{locate, Trust};
use crate::Exit;

#[derive(Debug, Serialize)]
pub struct ClientsReport {
    pub schema_version: u32,
    pub all_governed: bool,
    pub clients: Vec<ClientEntry>,
}

#[derive(Debug, Serialize)]
pub struct ClientEntry {
    pub client: &'static str,
    pub config: PathBuf,
    pub found: bool,
    pub error: Option<String>,
    pub servers: Vec<ServerRow>,
    /// The client's own managed allowlist on this machine (`null`: it keeps none on the endpoint).
    pub managed_policy: Option<clients::managed::ManagedPolicy>,
    /// An extension that may run (enabled, and extensions allowed): counts as ungoverned.
    #[serde(skip)]
    runnable_extension: bool,
}

#[derive(Debug, Serialize)]
pub struct ServerRow {
    pub name: String,
    pub scope: String,
    pub stdio: bool,
    pub remote: bool,
    pub extension: bool,
    pub governed: bool,
    pub agent_id: Option<String>,
    pub tenant_id: Option<String>,
    pub session_intent: Option<String>,
    pub enforcement_mode: Option<String>,
}

impl ClientEntry {
    /// Not governed: unreadable or refused, a stdio server outside thoth, or an extension that may run.
    fn ungoverned(&self) -> bool {
        self.error.is_some() && self.found
            || self.runnable_extension
            || self
                .servers
                .iter()
                .any(|s| s.stdio && !s.extension && !s.governed)
    }
}

pub fn run(
    args: StatusArgs,
    settings: Option<&crate::settings::Settings>,
) -> Result<Exit, crate::Error> {
    let trust = Trust::current(settings);
    let (user, current) = locate::resolve_user(args.for_user.as_deref())?;
    let env = Env::current(&user.home, current);
    let desktop_policy = policy::load(Some(&user.name));
    let allowed = desktop_policy.extensions_allowed();
    let mut entries = Vec::new();
    let single = !args.all_clients;
    if let Some(client) = args.client.filter(|_| single) {
        let explicit = args.config_file.clone().or(args.config.clone());
        let path = match (&explicit, &args.project) {
            (Some(path), _) => path.clone(),
            (None, Some(dir)) => match clients::project_file(client, dir) {
                Some(path) => path,
                None => {
                    return Err(crate::Error::Input(format!(
                        "--project: {} has no project-scoped config file",
                        client.label()
                    )))
                }
            },
            (None, None) => clients::user_file(client, &env),
        };
        let scope = if explicit.is_none() && args.project.is_some() {
            "project"
        } else {
            "user"
        };
        entries.push(entry(client, &path, scope, &trust));
        if client == Client::ClaudeDesktop && explicit.is_none() && args.project.is_none() {
            entries.extend(extension_entries(&path, allowed));
        }
    } else {
        for client in Client::ALL {
            for path in clients::user_files(client, &env)
                .into_iter()
                .filter(|p| p.exists())
            {
                entries.push(entry(client, &path, "user", &trust));
            }
            if client == Client::ClaudeDesktop {
                entries.extend(extension_entries(
                    &clients::user_file(client, &env),
                    allowed,
                ));
            }
            if let Some(path) = args
                .project
                .as_deref()
                .and_then(|d| clients::project_file(client, d))
            {
                if path.exists() {
                    entries.push(entry(client, &path, "project", &trust));
                }
            }
        }
    }
    let report = ClientsReport {
        schema_version: 1,
        all_governed: !entries.iter().any(ClientEntry::ungoverned),
        clients: entries,
    };
    if args.json {
        crate::output::json(&report);
    } else {
        crate::output::text(&render(
            &report,
            args.all_clients,
            super::status_glyphs::current(),
        ));
    }
    for problem in report.clients.iter().filter_map(|c| c.error.as_ref()) {
        tracing::warn!("{problem}");
    }
    let unreadable = single && report.clients.first().is_some_and(|c| c.error.is_some());
    Ok(if unreadable {
        Exit::Unreadable
    } else if report.all_governed {
        Exit::Ok
    } else {
        Exit::Failure
    })
}

fn entry(client: Client, path: &Path, scope: &str, trust: &Trust) -> ClientEntry {
    let read = if scope == "project" {
        clients::read_project(client, path, trust)
    } else {
        clients::read(client, path, trust)
    };
    let mut entry = ClientEntry {
        client: client.name(),
        config: std::path::absolute(path).unwrap_or(path.to_owned()),
        found: path.exists(),
        error: None,
        servers: Vec::new(),
        managed_policy: clients::managed::read(client, trust),
        runnable_extension: false,
    };
    match read {
        Ok(config) => {
            entry.servers = config
                .servers
                .into_iter()
                .map(|row| ServerRow {
                    remote: row.remote || (!row.state.stdio && row.state.problem.is_none()),
                    name: row.state.name,
                    scope: row.scope,
                    stdio: row.state.stdio,
                    extension: false,
                    governed: row.state.governed,
                    agent_id: row.state.agent_id,
                    tenant_id: row.state.tenant_id,
                    session_intent: row.state.session_intent,
                    enforcement_mode: row.state.enforcement_mode,
                })
                .collect();
        }
        Err(err) => entry.error = Some(err.to_string()),
    }
    entry
}

fn extension_entries(config: &Path, allowed: bool) -> Vec<ClientEntry> {
    extensions::scan_beside(config)
        .into_iter()
        .map(|ext| ClientEntry {
            client: Client::ClaudeDesktop.name(),
            config: ext.manifest,
            found: true,
            error: ext.error,
            managed_policy: None,
            runnable_extension: ext.enabled && allowed,
            servers: vec![ServerRow {
                name: ext.id,
                scope: "user".into(),
                stdio: true,
                remote: false,
                extension: true,
                governed: false,
                agent_id: None,
                tenant_id: None,
                session_intent: None,
                enforcement_mode: None,
            }],
        })
        .collect()
}

pub fn render(
    report: &ClientsReport,
    with_client: bool,
    glyphs: super::status_glyphs::Glyphs,
) -> String {
    let mut rows: Vec<Vec<String>> = vec![[
        "Client",
        "Server",
        "Governed",
        "Agent ID",
        "Session Intent",
        "Enforcement",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()];
    let dash = |v: &Option<String>| v.clone().unwrap_or_else(|| glyphs.empty.into());
    for c in &report.clients {
        for s in &c.servers {
            let governed = match (s.extension, s.remote, s.stdio, s.governed) {
                (true, ..) => "extension (not wrappable)",
                (_, true, ..) => "remote (not wrappable)",
                (_, _, false, _) => "INVALID",
                (_, _, true, true) => glyphs.governed,
                (_, _, true, false) => glyphs.ungoverned,
            };
            let mut name = s.name.clone();
            if s.scope != "user" {
                name = format!("{name} ({})", s.scope);
            }
            rows.push(vec![
                c.client.to_owned(),
                name,
                governed.to_owned(),
                dash(&s.agent_id),
                dash(&s.session_intent),
                dash(&s.enforcement_mode),
            ]);
        }
    }
    if !with_client {
        for row in &mut rows {
            row.remove(0);
        }
    }
    let columns = rows[0].len();
    let widths: Vec<usize> = (0..columns)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let line = |row: &[String]| {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell}{}", " ".repeat(w - cell.chars().count())))
            .collect();
        format!("{}\n", cells.join("  ").trim_end())
    };
    let mut out = String::new();
    for c in report
        .clients
        .iter()
        .filter(|c| c.error.is_some() || !c.found)
    {
        out.push_str(&format!(
            "{} {}: {}\n",
            c.client,
            c.config.display(),
            c.error.as_deref().unwrap_or("not found")
        ));
    }
    out.push_str(&line(&rows[0]));
    let rule: usize = widths.iter().sum::<usize>() + 2 * (columns - 1);
    out.extend(std::iter::repeat_n(glyphs.rule, rule));
    out.push('\n');
    for row in &rows[1..] {
        out.push_str(&line(row));
    }
    if rows.len() == 1 {
        out.push_str("(no servers)\n");
    }
    let mut policies: Vec<(&str, &clients::managed::ManagedPolicy)> = Vec::new();
    for c in &report.clients {
        if let Some(p) = c.managed_policy.as_ref().filter(|p| p.found) {
            if !policies.iter().any(|(_, q)| q.path == p.path) {
                policies.push((c.client, p));
            }
        }
    }
    for (client, p) in policies {
        let verdict = match (&p.error, p.governed_only) {
            (Some(e), _) => format!("cannot be read ({e})"),
            (None, true) => "allows only servers thoth governs".into(),
            (None, false) => "allows servers thoth does not govern".into(),
        };
        out.push_str(&format!(
            "{client} managed policy {}: {verdict}\n",
            p.path.display()
        ));
    }
    if !report.all_governed {
        out.push_str("\nNot every stdio server is governed: run `thoth wrap-config --client NAME`; disable Desktop Extensions with Claude Desktop's managed isDesktopExtensionEnabled=false.\n");
    }
    out
}
