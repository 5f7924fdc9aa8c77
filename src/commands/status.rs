//! `thoth status`: which servers of a Claude Desktop config run behind thoth. Exit 0 when every stdio server
//! is governed, 1 when one is not, 3 when the config cannot be read or is refused (a key twice: Claude
//! Desktop would read it otherwise than thoth), so scripts branch on it. Governed means run by this thoth.

use std::path::PathBuf;

use serde::Serialize;

use crate::commands::wrap_config::cli_args::StatusArgs;
use crate::settings::Settings;
use crate::wrap::{locate, Inspection, ServerState, Trust};
use crate::Exit;

/// schemas/status.schema.json
#[derive(Debug, Serialize)]
pub struct StatusReport {
    pub schema_version: u32,
    pub config: PathBuf,
    pub all_governed: bool,
    pub governed: Vec<String>,
    pub ungoverned: Vec<String>,
    pub remote: Vec<String>,
    pub invalid: Vec<String>,
    pub has_comments: bool,
    pub servers: Vec<ServerState>,
    /// THOTH_REQUIRE_VAULTED_SECRETS: plain-text secrets of governed servers (keys only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub plaintext_secrets: Vec<crate::secrets::findings::Finding>,
}

impl StatusReport {
    pub fn new(inspection: Inspection) -> StatusReport {
        let owned = |names: Vec<&str>| names.into_iter().map(str::to_owned).collect::<Vec<_>>();
        let names = |pick: fn(&ServerState) -> bool| {
            owned(
                inspection
                    .servers
                    .iter()
                    .filter(|s| pick(s))
                    .map(|s| s.name.as_str())
                    .collect(),
            )
        };
        let ungoverned = owned(inspection.ungoverned_names());
        StatusReport {
            schema_version: 1,
            config: inspection.path.clone(),
            all_governed: ungoverned.is_empty(),
            governed: owned(inspection.governed_names()),
            remote: names(|s| !s.stdio && s.problem.is_none()),
            invalid: names(|s| s.problem.is_some()),
            ungoverned,
            has_comments: inspection.has_comments,
            servers: inspection.servers,
            plaintext_secrets: Vec::new(),
        }
    }
}

pub fn run(args: StatusArgs, settings: Option<&Settings>) -> Result<Exit, crate::Error> {
    if args.client.is_some()
        || args.all_clients
        || args.config_file.is_some()
        || args.project.is_some()
    {
        return super::status_clients::run(args, settings);
    }
    let trust = Trust::current(settings);
    let inspected = match &args.config {
        Some(path) => crate::wrap::inspect(path, &trust),
        None => locate::resolve_user(args.for_user.as_deref()).and_then(|(user, current)| {
            crate::wrap::inspect(&locate::config_path(&user, current), &trust)
        }),
    };
    let inspection = match inspected {
        Ok(inspection) => inspection,
        Err(err) => {
            crate::output::report(&err);
            return Ok(Exit::Unreadable);
        }
    };
    let mut report = StatusReport::new(inspection);
    report.plaintext_secrets =
        crate::secrets::findings::required_findings(settings, &report.config, &report.governed);
    if args.json {
        crate::output::json(&report);
    } else {
        crate::output::text(&render(&report, super::status_glyphs::current()));
    }
    if !report.plaintext_secrets.is_empty() {
        crate::output::message(&crate::secrets::findings::describe(
            &report.plaintext_secrets,
        ));
    }
    Ok(
        if report.all_governed && report.plaintext_secrets.is_empty() {
            Exit::Ok
        } else {
            Exit::Failure
        },
    )
}

/// The documented stable table: `Server  Governed  Agent ID  Session Intent  Enforcement`, a rule under the
/// header, governed `✓`, empty values `—` (ASCII marks where the console cannot print those:
/// `status_glyphs`).
pub fn render(report: &StatusReport, glyphs: super::status_glyphs::Glyphs) -> String {
    let mut rows = vec![[
        "Server".to_owned(),
        "Governed".to_owned(),
        "Agent ID".to_owned(),
        "Session Intent".to_owned(),
        "Enforcement".to_owned(),
    ]];
    for s in &report.servers {
        let governed = match (s.stdio, s.governed, &s.problem) {
            (_, _, Some(_)) => "INVALID".to_owned(),
            (false, _, None) => "remote (not wrappable)".to_owned(),
            (true, true, None) => glyphs.governed.to_owned(),
            (true, false, None) if s.ungoverned_reason.is_some() => {
                format!("{} (not this thoth)", glyphs.ungoverned)
            }
            (true, false, None) => glyphs.ungoverned.to_owned(),
        };
        let dash = |v: &Option<String>| v.clone().unwrap_or_else(|| glyphs.empty.into());
        rows.push([
            s.name.clone(),
            governed,
            dash(&s.agent_id),
            dash(&s.session_intent),
            dash(&s.enforcement_mode),
        ]);
    }
    let widths: Vec<usize> = (0..5)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = format!("{}\n", report.config.display());
    for (i, row) in rows.iter().enumerate() {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}", w = *w))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
        if i == 0 {
            // The documented stable format: a rule under the header.
            let rule = widths.iter().sum::<usize>() + 2 * (widths.len() - 1);
            out.extend(std::iter::repeat_n(glyphs.rule, rule));
            out.push('\n');
        }
    }
    if report.servers.is_empty() {
        out.push_str("(no servers)\n");
    }
    for s in &report.servers {
        if let Some(why) = &s.ungoverned_reason {
            out.push_str(&format!("{}: {why}\n", s.name));
        }
    }
    if !report.ungoverned.is_empty() {
        out.push_str(&format!(
            "\n{} stdio server(s) not governed: {}. Run `thoth wrap-config` to govern them.\n",
            report.ungoverned.len(),
            report.ungoverned.join(", ")
        ));
    }
    out
}
