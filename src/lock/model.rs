//! The lockfile (`thoth-lock.json`, `schemas/lockfile.schema.json`): what a server offered when it was pinned,
//! built from a live listing, rendered deterministically (sorted keys and arrays, 2-space indent, a trailing
//! newline, no timestamps or paths) and read back strictly.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::jcs;

pub const LOCKFILE_VERSION: u64 = 1;

/// Extra keys are ignored when reading (a newer writer may add deterministic ones). Struct fields are declared in sorted key order, so the rendered JSON has sorted keys whatever map type
/// serde_json was built with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lockfile {
    pub lockfile_version: u64,
    pub prompts: Vec<PromptPin>,
    pub resource_templates: Vec<TemplatePin>,
    pub resources: Vec<ResourcePin>,
    pub server: ServerPin,
    pub tools: Vec<ToolPin>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerPin {
    pub name: Option<String>,
    pub version: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ToolPin {
    pub name: String,
    pub description_sha256: String,
    pub input_schema_sha256: String,
}

// Field order = sorted key order (`description_sha256` < `input_schema_sha256` < `name`) for rendering.
#[derive(Serialize)]
struct ToolOut<'a> {
    description_sha256: &'a str,
    input_schema_sha256: &'a str,
    name: &'a str,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PromptPin {
    pub arguments: Vec<ArgumentPin>,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ArgumentPin {
    pub name: String,
    #[serde(default)]
    pub required: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ResourcePin {
    pub name: Option<String>,
    pub uri: String,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TemplatePin {
    pub name: Option<String>,
    #[serde(rename = "uriTemplate")]
    pub uri_template: String,
}

/// What a live server offers, as its list answers gave it (every page).
#[derive(Debug, Default, Clone)]
pub struct Listing {
    pub server_name: Option<String>,
    pub server_version: Option<String>,
    pub tools: Vec<Value>,
    pub prompts: Vec<Value>,
    pub resources: Vec<Value>,
    pub resource_templates: Vec<Value>,
}

fn text(value: &Value, key: &str) -> Option<String> {
    value.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// The pin of one live tool definition (None: it has no string name, so it can never be pinned).
pub fn tool_pin(tool: &Value) -> Option<ToolPin> {
    Some(ToolPin {
        name: text(tool, "name")?,
        description_sha256: jcs::sha256(tool.get("description")),
        input_schema_sha256: jcs::sha256(tool.get("inputSchema")),
    })
}

impl Lockfile {
    /// Pin a listing. Entries without a usable name / uri are left out (and cannot match at run time).
    pub fn from_listing(listing: &Listing) -> Lockfile {
        let mut tools: Vec<ToolPin> = listing.tools.iter().filter_map(tool_pin).collect();
        tools.sort();
        let mut prompts: Vec<PromptPin> = listing
            .prompts
            .iter()
            .filter_map(|p| {
                let arguments = p
                    .get("arguments")
                    .and_then(Value::as_array)
                    .map(|args| {
                        args.iter()
                            .filter_map(|a| {
                                Some(ArgumentPin {
                                    name: text(a, "name")?,
                                    required: a
                                        .get("required")
                                        .and_then(Value::as_bool)
                                        .unwrap_or(false),
                                })
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                Some(PromptPin {
                    name: text(p, "name")?,
                    arguments,
                })
            })
            .collect();
        prompts.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.cmp(b)));
        let mut resources: Vec<ResourcePin> = listing
            .resources
            .iter()
            .filter_map(|r| {
                Some(ResourcePin {
                    uri: text(r, "uri")?,
                    name: text(r, "name"),
                })
            })
            .collect();
        resources.sort_by(|a, b| a.uri.cmp(&b.uri).then_with(|| a.cmp(b)));
        let mut resource_templates: Vec<TemplatePin> = listing
            .resource_templates
            .iter()
            .filter_map(|t| {
                Some(TemplatePin {
                    uri_template: text(t, "uriTemplate")?,
                    name: text(t, "name"),
                })
            })
            .collect();
        resource_templates
            .sort_by(|a, b| a.uri_template.cmp(&b.uri_template).then_with(|| a.cmp(b)));
        Lockfile {
            lockfile_version: LOCKFILE_VERSION,
            server: ServerPin {
                name: listing.server_name.clone(),
                version: listing.server_version.clone(),
            },
            tools,
            prompts,
            resources,
            resource_templates,
        }
    }

    /// The file's bytes: UTF-8, 2-space indent, sorted keys, a trailing newline.
    pub fn render(&self) -> String {
        #[derive(Serialize)]
        struct Out<'a> {
            lockfile_version: u64,
            prompts: &'a [PromptPin],
            resource_templates: &'a [TemplatePin],
            resources: &'a [ResourcePin],
            server: &'a ServerPin,
            tools: Vec<ToolOut<'a>>,
        }
        let out = Out {
            lockfile_version: self.lockfile_version,
            prompts: &self.prompts,
            resource_templates: &self.resource_templates,
            resources: &self.resources,
            server: &self.server,
            tools: self
                .tools
                .iter()
                .map(|t| ToolOut {
                    description_sha256: &t.description_sha256,
                    input_schema_sha256: &t.input_schema_sha256,
                    name: &t.name,
                })
                .collect(),
        };
        let mut text = serde_json::to_string_pretty(&out).unwrap_or_default();
        text.push('\n');
        text
    }

    /// Read a lockfile's bytes: JSON of this shape, version 1, hashes of 64 lowercase hex.
    pub fn parse(bytes: &[u8]) -> Result<Lockfile, String> {
        let lock: Lockfile = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        if lock.lockfile_version != LOCKFILE_VERSION {
            return Err(format!(
                "lockfile_version {} is not supported (this thoth reads version {LOCKFILE_VERSION})",
                lock.lockfile_version
            ));
        }
        let is_hash = |h: &str| {
            h.len() == 64
                && h.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        };
        if let Some(bad) = lock
            .tools
            .iter()
            .find(|t| !is_hash(&t.description_sha256) || !is_hash(&t.input_schema_sha256))
        {
            return Err(format!(
                "tool `{}` has a hash that is not 64 lowercase hex characters",
                bad.name
            ));
        }
        Ok(lock)
    }

    pub fn tool(&self, name: &str) -> Option<&ToolPin> {
        self.tools.iter().find(|t| t.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn listing() -> Listing {
        Listing {
            server_name: Some("demo".into()),
            server_version: Some("1.0".into()),
            tools: vec![
                json!({"name": "zeta", "description": "z", "inputSchema": {"type": "object"}}),
                json!({"name": "echo", "inputSchema": {"type": "object", "properties": {"x": {"type": "number", "maximum": 10.0}}}}),
            ],
            prompts: vec![
                json!({"name": "greet", "arguments": [{"name": "who", "required": true}, {"name": "tone"}]}),
            ],
            resources: vec![
                json!({"uri": "note://b", "name": "b"}),
                json!({"uri": "note://a", "name": "a"}),
            ],
            resource_templates: vec![json!({"uriTemplate": "note://{title}", "name": "note"})],
        }
    }

    #[test]
    fn renders_sorted_and_deterministic() {
        let lock = Lockfile::from_listing(&listing());
        let text = lock.render();
        assert!(text.ends_with("}\n"));
        assert_eq!(text, Lockfile::from_listing(&listing()).render());
        let names: Vec<&str> = lock.tools.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["echo", "zeta"]);
        assert_eq!(lock.resources[0].uri, "note://a");
        assert_eq!(
            lock.prompts[0].arguments[1],
            ArgumentPin {
                name: "tone".into(),
                required: false
            }
        );
        // Keys in sorted order at every level.
        let top = [
            "lockfile_version",
            "prompts",
            "resource_templates",
            "resources",
            "server",
            "tools",
        ];
        let at: Vec<usize> = top
            .iter()
            .map(|k| text.find(&format!("\"{k}\"")).unwrap())
            .collect();
        assert!(at.windows(2).all(|w| w[0] < w[1]), "{text}");
        assert!(
            text.find("description_sha256").unwrap() < text.find("input_schema_sha256").unwrap()
        );
        assert!(text.contains("\n  \"lockfile_version\": 1,\n"), "{text}");
        assert_eq!(Lockfile::parse(text.as_bytes()).unwrap(), lock);
    }

    #[test]
    fn absent_description_hashes_as_null() {
        let lock = Lockfile::from_listing(&listing());
        assert_eq!(
            lock.tools[0].description_sha256,
            jcs::sha256(Some(&Value::Null))
        );
    }

    #[test]
    fn rejects_what_is_not_a_lockfile() {
        assert!(Lockfile::parse(b"{}").is_err());
        assert!(Lockfile::parse(b"not json").is_err());
        let mut lock = Lockfile::from_listing(&listing());
        lock.lockfile_version = 2;
        assert!(Lockfile::parse(lock.render().as_bytes()).is_err());
        let mut lock = Lockfile::from_listing(&listing());
        lock.tools[0].description_sha256 = "ABC".into();
        assert!(Lockfile::parse(lock.render().as_bytes()).is_err());
    }
}
