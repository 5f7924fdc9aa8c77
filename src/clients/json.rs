//! The JSON family: Claude Desktop, Claude Code, Cursor, VS Code, Windsurf, Zed. One syntax-tree editor
//! (`wrap::document`) with a layout per client: which object holds the servers, Claude Code's per-project
//! servers, and JSONC (comments and trailing commas) for VS Code and Zed.

use std::path::Path;

use super::{Client, ClientFormat, Found, Parsed};
use crate::wrap::document::{Document, Layout, CLAUDE_DESKTOP};
use crate::wrap::edit::{self, Plan, ServerResult};
use crate::wrap::entry;
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
                entry: entry::read(&r.prop),
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
        let results = edit::apply(&doc, plan, records);
        Ok((doc.to_text(), results))
    }
}
