//! Drift: how a live server differs from its lockfile, by kind and severity (the table of issue 14). Used by
//! `thoth diff` for whole listings and by `thoth run --lock` for single tools. Pure.

use serde::Serialize;

use super::model::{Lockfile, ToolPin};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Moderate,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Moderate => "moderate",
            Severity::Critical => "critical",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    ToolAdded,
    ToolRemoved,
    ToolSchemaChanged,
    ToolDescriptionChanged,
    PromptAdded,
    PromptRemoved,
    PromptArgumentsChanged,
    ResourceTemplateAdded,
    ResourceTemplateRemoved,
    ResourceAdded,
    ResourceRemoved,
    ServerNameChanged,
    ServerVersionChanged,
}

impl Kind {
    pub fn severity(self) -> Severity {
        match self {
            Kind::ToolDescriptionChanged => Severity::Moderate,
            Kind::ResourceAdded
            | Kind::ResourceRemoved
            | Kind::ServerNameChanged
            | Kind::ServerVersionChanged => Severity::Info,
            _ => Severity::Critical,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::ToolAdded => "tool_added",
            Kind::ToolRemoved => "tool_removed",
            Kind::ToolSchemaChanged => "tool_schema_changed",
            Kind::ToolDescriptionChanged => "tool_description_changed",
            Kind::PromptAdded => "prompt_added",
            Kind::PromptRemoved => "prompt_removed",
            Kind::PromptArgumentsChanged => "prompt_arguments_changed",
            Kind::ResourceTemplateAdded => "resource_template_added",
            Kind::ResourceTemplateRemoved => "resource_template_removed",
            Kind::ResourceAdded => "resource_added",
            Kind::ResourceRemoved => "resource_removed",
            Kind::ServerNameChanged => "server_name_changed",
            Kind::ServerVersionChanged => "server_version_changed",
        }
    }
}

/// One difference. `pinned` / `live` carry the values compared where there are values (hashes, names).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Drift {
    pub kind: Kind,
    pub name: String,
    pub severity: Severity,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pinned: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub live: Option<String>,
}

impl Drift {
    fn new(kind: Kind, name: &str) -> Drift {
        Drift {
            kind,
            name: name.to_owned(),
            severity: kind.severity(),
            pinned: None,
            live: None,
        }
    }

    fn values(mut self, pinned: Option<&str>, live: Option<&str>) -> Drift {
        self.pinned = pinned.map(str::to_owned);
        self.live = live.map(str::to_owned);
        self
    }

    /// `{kind, name, severity}` for `error.data.thoth.drift`.
    pub fn wire(&self) -> serde_json::Value {
        serde_json::json!({"kind": self.kind.as_str(), "name": self.name, "severity": self.severity.as_str()})
    }
}

/// How one live tool (None: not offered) stands against its pin (None: not pinned). None: pinned and unchanged.
pub fn tool_drift(name: &str, pinned: Option<&ToolPin>, live: Option<&ToolPin>) -> Option<Drift> {
    match (pinned, live) {
        (None, _) => Some(Drift::new(Kind::ToolAdded, name)),
        (Some(_), None) => Some(Drift::new(Kind::ToolRemoved, name)),
        (Some(p), Some(l)) if p.input_schema_sha256 != l.input_schema_sha256 => Some(
            Drift::new(Kind::ToolSchemaChanged, name)
                .values(Some(&p.input_schema_sha256), Some(&l.input_schema_sha256)),
        ),
        (Some(p), Some(l)) if p.description_sha256 != l.description_sha256 => Some(
            Drift::new(Kind::ToolDescriptionChanged, name)
                .values(Some(&p.description_sha256), Some(&l.description_sha256)),
        ),
        _ => None,
    }
}

/// Every difference between the pin and the live server, in a stable order (kind, then name).
pub fn compare(pinned: &Lockfile, live: &Lockfile) -> Vec<Drift> {
    let mut out = Vec::new();
    if pinned.server.name != live.server.name {
        out.push(
            Drift::new(
                Kind::ServerNameChanged,
                live.server.name.as_deref().unwrap_or_default(),
            )
            .values(pinned.server.name.as_deref(), live.server.name.as_deref()),
        );
    }
    if pinned.server.version != live.server.version {
        out.push(
            Drift::new(
                Kind::ServerVersionChanged,
                live.server.name.as_deref().unwrap_or_default(),
            )
            .values(
                pinned.server.version.as_deref(),
                live.server.version.as_deref(),
            ),
        );
    }
    for tool in &live.tools {
        out.extend(tool_drift(&tool.name, pinned.tool(&tool.name), Some(tool)));
    }
    for tool in &pinned.tools {
        if live.tool(&tool.name).is_none() {
            out.extend(tool_drift(&tool.name, Some(tool), None));
        }
    }
    for prompt in &live.prompts {
        match pinned.prompts.iter().find(|p| p.name == prompt.name) {
            None => out.push(Drift::new(Kind::PromptAdded, &prompt.name)),
            Some(p) if p.arguments != prompt.arguments => {
                out.push(Drift::new(Kind::PromptArgumentsChanged, &prompt.name))
            }
            Some(_) => {}
        }
    }
    for prompt in &pinned.prompts {
        if !live.prompts.iter().any(|p| p.name == prompt.name) {
            out.push(Drift::new(Kind::PromptRemoved, &prompt.name));
        }
    }
    let added_removed =
        |out: &mut Vec<Drift>, pinned: Vec<&str>, live: Vec<&str>, added, removed| {
            for name in &live {
                if !pinned.contains(name) {
                    out.push(Drift::new(added, name));
                }
            }
            for name in &pinned {
                if !live.contains(name) {
                    out.push(Drift::new(removed, name));
                }
            }
        };
    added_removed(
        &mut out,
        pinned
            .resource_templates
            .iter()
            .map(|t| t.uri_template.as_str())
            .collect(),
        live.resource_templates
            .iter()
            .map(|t| t.uri_template.as_str())
            .collect(),
        Kind::ResourceTemplateAdded,
        Kind::ResourceTemplateRemoved,
    );
    added_removed(
        &mut out,
        pinned.resources.iter().map(|r| r.uri.as_str()).collect(),
        live.resources.iter().map(|r| r.uri.as_str()).collect(),
        Kind::ResourceAdded,
        Kind::ResourceRemoved,
    );
    out.sort_by(|a, b| (a.kind, &a.name).cmp(&(b.kind, &b.name)));
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lock::model::{Listing, Lockfile};
    use serde_json::json;

    fn lock(tools: Vec<serde_json::Value>) -> Lockfile {
        Lockfile::from_listing(&Listing {
            server_name: Some("s".into()),
            server_version: Some("1".into()),
            tools,
            ..Listing::default()
        })
    }

    #[test]
    fn kinds_and_severities() {
        let pinned = lock(vec![
            json!({"name": "a", "description": "x", "inputSchema": {"type": "object"}}),
            json!({"name": "b", "description": "x", "inputSchema": {"type": "object"}}),
            json!({"name": "c", "description": "x", "inputSchema": {"type": "object"}}),
        ]);
        let live = lock(vec![
            json!({"name": "a", "description": "y", "inputSchema": {"type": "object"}}),
            json!({"name": "b", "description": "x", "inputSchema": {"type": "string"}}),
            json!({"name": "d"}),
        ]);
        let drifts = compare(&pinned, &live);
        let got: Vec<(&str, &str, &str)> = drifts
            .iter()
            .map(|d| (d.kind.as_str(), d.name.as_str(), d.severity.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("tool_added", "d", "critical"),
                ("tool_removed", "c", "critical"),
                ("tool_schema_changed", "b", "critical"),
                ("tool_description_changed", "a", "moderate"),
            ]
        );
        assert!(compare(&pinned, &pinned).is_empty());
    }

    #[test]
    fn respelled_schema_is_no_drift() {
        let pinned = lock(vec![
            json!({"name": "a", "inputSchema": {"type": "object", "maximum": 10.0}}),
        ]);
        let live = lock(vec![
            json!({"inputSchema": {"maximum": 1e1, "type": "object"}, "name": "a"}),
        ]);
        assert!(compare(&pinned, &live).is_empty());
    }
}
