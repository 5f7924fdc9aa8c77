//! The JSON family: Claude Desktop, Claude Code, Cursor, VS Code, Windsurf, Zed. One syntax-tree editor
//! (`wrap::document`) with a layout per client: which object holds the servers, Claude Code's per-project
//! servers, and JSONC (comments and trailing commas) for VS Code and Zed.

use std::path::Path;

use super::{Client, ClientFormat, Found, Parsed};
use crate::wrap::document::{Document, Layout, CLAUDE_DESKTOP};
use jsonc_parser::cst::CstObjectProp;
use serde_json::Value;

use crate::wrap::edit::{self, Outcome, Plan, ServerResult};
use crate::wrap::entry::{self, Entry, Fields};
use crate::wrap::record::Records;
use crate::wrap::Error;

pub struct Json(pub Client);

pub fn layout(client: Client) -> Layout {
    let plain = |client, key| Layout {
        client,
        key,
        projects: false,
        jsonc: false,
    };
    match client {
        Client::ClaudeDesktop | Client::Codex => CLAUDE_DESKTOP,
        Client::ClaudeCode => Layout {
            projects: true,
            ..plain("Claude Code", "mcpServers")
        },
        Client::Cursor => plain("Cursor", "mcpServers"),
        Client::Windsurf => plain("Windsurf", "mcpServers"),
        Client::Vscode => Layout {
            jsonc: true,
            ..plain("VS Code", "servers")
        },
        Client::Zed => Layout {
            jsonc: true,
            ..plain("Zed", "context_servers")
        },
    }
}

impl ClientFormat for Json {
    fn client(&self) -> Client {
        self.0
    }

    fn new_config(&self) -> &'static str {
        match self.0 {
            Client::Vscode => "{\n  \"servers\": {}\n}\n",
            Client::Zed => "{\n  \"context_servers\": {}\n}\n",
            _ => "{\n  \"mcpServers\": {}\n}\n",
        }
    }

    fn parse(&self, path: &Path, text: &str) -> Result<Parsed, Error> {
        let doc = Document::parse_as(path, text, layout(self.0))?;
        let servers = doc
            .server_refs()
            .into_iter()
            .map(|r| Found {
                entry: match self.0 {
                    Client::Zed => zed_legacy(&r.prop).map(Entry::Stdio),
                    _ => None,
                }
                .unwrap_or_else(|| entry::read(&r.prop)),
                name: r.name,
                scope: r.scope,
            })
            .collect();
        Ok(Parsed {
            servers,
            risky_comments: doc.has_comments && !doc.layout.jsonc,
        })
    }

    fn apply(
        &self,
        path: &Path,
        text: &str,
        plan: &Plan,
        records: &mut Records,
    ) -> Result<(String, Vec<ServerResult>), Error> {
        let doc = Document::parse_as(path, text, layout(self.0))?;
        let legacy: Vec<String> = match self.0 {
            Client::Zed => doc
                .server_refs()
                .into_iter()
                .filter(|r| zed_legacy(&r.prop).is_some())
                .map(|r| r.name)
                .collect(),
            _ => Vec::new(),
        };
        let mut results = edit::apply(&doc, plan, records);
        for result in results
            .iter_mut()
            .filter(|r| r.outcome == Outcome::Invalid && legacy.contains(&r.name))
        {
            result.detail = Some(ZED_LEGACY.into());
        }
        Ok((doc.to_text(), results))
    }
}

/// Why a Zed entry in the older form is left alone by wrap-config.
pub const ZED_LEGACY: &str = "Zed's older form \"command\": {\"path\", \"args\", \"env\"}: thoth reports it \
     but does not rewrite it; write it as \"command\" (a string), \"args\" and \"env\" and run wrap-config again";

/// Zed's older entry form, `"command": {"path": ..., "args": [...], "env": {...}}`, read as the fields Zed
/// starts (for status, health and client-policy); `None` for any other shape.
pub fn zed_legacy(prop: &CstObjectProp) -> Option<Fields> {
    let command = prop.object_value()?.get("command")?.object_value()?;
    let value = |key: &str| command.get(key).and_then(|p| p.value()?.to_serde_value());
    let path = match value("path")? {
        Value::String(p) if !p.is_empty() => p,
        _ => return None,
    };
    let args = match command.get("args") {
        None => None,
        Some(_) => match value("args")? {
            Value::Array(items) => Some(
                items
                    .into_iter()
                    .map(|v| match v {
                        Value::String(s) => Some(s),
                        _ => None,
                    })
                    .collect::<Option<Vec<_>>>()?,
            ),
            _ => return None,
        },
    };
    let env = match command.get("env") {
        None => None,
        Some(_) => match value("env")? {
            Value::Object(map) => Some(map.into_iter().collect()),
            _ => return None,
        },
    };
    Some(Fields {
        command: path,
        args,
        env,
    })
}
