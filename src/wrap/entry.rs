//! One server entry of `mcpServers`, read into the fields wrapping touches (`command`, `args`, `env`) or
//! classified as remote (`url` / `type: http|sse`, which thoth cannot sit in front of) or invalid.

use jsonc_parser::cst::{CstObject, CstObjectProp};
use serde_json::Value;

/// The fields of a stdio entry that wrapping reads and writes. Every other key is left alone.
#[derive(Debug, Clone, PartialEq)]
pub struct Fields {
    pub command: String,
    /// `None`: the entry has no `args` key (kept absent on unwrap).
    pub args: Option<Vec<String>>,
    /// `None`: no `env` key. Entries in file order.
    pub env: Option<Vec<(String, Value)>>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Entry {
    Stdio(Fields),
    /// Reached over HTTP / SSE: not started by the client, so not wrapped.
    Remote,
    /// Not an entry Claude Desktop could start (the reason, in words).
    Invalid(String),
}

const REMOTE_TYPES: &[&str] = &["http", "sse", "streamable-http", "streamableHttp", "ws"];
/// Keys that name a remote endpoint (Windsurf spells it `serverUrl`).
const REMOTE_KEYS: &[&str] = &["url", "serverUrl", "transport"];

pub fn read(prop: &CstObjectProp) -> Entry {
    let Some(object) = prop.object_value() else {
        return Entry::Invalid("the entry is not a JSON object".into());
    };
    read_object(&object)
}

pub fn read_object(object: &CstObject) -> Entry {
    let value = |key: &str| object.get(key).and_then(|p| p.value()?.to_serde_value());
    let remote_type =
        matches!(value("type"), Some(Value::String(t)) if REMOTE_TYPES.contains(&t.as_str()));
    if REMOTE_KEYS.iter().any(|k| object.get(k).is_some()) || remote_type {
        return Entry::Remote;
    }
    let command = match value("command") {
        Some(Value::String(c)) if !c.is_empty() => c,
        Some(_) => return Entry::Invalid("\"command\" is not a non-empty string".into()),
        None => return Entry::Invalid("the entry has no \"command\"".into()),
    };
    let args = match object.get("args") {
        None => None,
        Some(_) => match value("args") {
            Some(Value::Array(items)) => {
                let strings: Option<Vec<String>> = items
                    .into_iter()
                    .map(|v| match v {
                        Value::String(s) => Some(s),
                        _ => None,
                    })
                    .collect();
                match strings {
                    Some(s) => Some(s),
                    None => {
                        return Entry::Invalid("\"args\" holds something other than strings".into())
                    }
                }
            }
            _ => return Entry::Invalid("\"args\" is not an array".into()),
        },
    };
    let env = match object.get("env") {
        None => None,
        Some(prop) => match prop.object_value() {
            Some(env) => Some(
                env.properties()
                    .into_iter()
                    .filter_map(|p| Some((p.decoded_name()?, p.value()?.to_serde_value()?)))
                    .collect(),
            ),
            None => return Entry::Invalid("\"env\" is not an object".into()),
        },
    };
    Entry::Stdio(Fields { command, args, env })
}

impl Fields {
    pub fn args_or_empty(&self) -> &[String] {
        self.args.as_deref().unwrap_or(&[])
    }
}
