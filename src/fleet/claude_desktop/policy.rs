//! Claude Desktop's own managed preferences, the four keys that decide what MCP servers it may run outside
//! its config file: `isDesktopExtensionEnabled`, `isDesktopExtensionDirectoryEnabled`,
//! `isDesktopExtensionSignatureRequired`, `isLocalDevMcpEnabled`. Claude Desktop reads booleans as plist or
//! registry booleans, DWORDs, or the strings "true"/"false"/"1"/"0"; an unset key keeps its default
//! (extensions and the directory allowed, signatures not required, local MCP allowed). Parsing only: the raw
//! sources come from `platform::client_policy_paths`.

use std::collections::BTreeMap;
use std::io::Cursor;
use std::path::Path;

use serde::Serialize;

use crate::platform::client_policy_paths::{self as paths, CLAUDE_DESKTOP_POLICY_SUBKEY};
use crate::platform::managed_paths::{RawContent, RawSource, REG_DWORD, REG_SZ};

/// The keys reported, with Claude Desktop's default when unset.
pub const KEYS: [(&str, bool); 4] = [
    ("isDesktopExtensionEnabled", true),
    ("isDesktopExtensionDirectoryEnabled", true),
    ("isDesktopExtensionSignatureRequired", false),
    ("isLocalDevMcpEnabled", true),
];

/// What the managed preferences say (JSON form in `health --json` `claude_desktop.policy`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DesktopPolicy {
    /// Where the values came from (the first source that exists), or null when none does.
    pub source: Option<String>,
    /// Each key's managed value; null when unset (the default then applies).
    pub keys: BTreeMap<&'static str, Option<bool>>,
    /// Sources or values that could not be read (a bad value counts as unset and is named here).
    pub problems: Vec<String>,
}

impl DesktopPolicy {
    /// The key's value in force: the managed one, else Claude Desktop's default.
    pub fn effective(&self, key: &str) -> bool {
        let default = KEYS
            .iter()
            .find(|(k, _)| *k == key)
            .is_some_and(|(_, d)| *d);
        self.keys.get(key).copied().flatten().unwrap_or(default)
    }

    /// Desktop Extensions may run here.
    pub fn extensions_allowed(&self) -> bool {
        self.effective("isDesktopExtensionEnabled")
    }
}

/// This machine's policy; where the OS has none, the THOTH_CLAUDE_DESKTOP_POLICY_FILE stand-in.
pub fn load(user: Option<&str>) -> DesktopPolicy {
    let mut sources = paths::claude_desktop_sources(user);
    if sources
        .iter()
        .all(|s| matches!(s.content, RawContent::Missing))
    {
        if let Some(path) = crate::settings::client_policy::claude_desktop_policy_override() {
            sources = vec![stand_in(&path)];
        }
    }
    from_sources(sources)
}

/// A stand-in file by its extension: `.plist`, `.reg` (the HKLM section), else JSON.
pub fn stand_in(path: &Path) -> RawSource {
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let origin = path.display().to_string();
    match extension.as_str() {
        "plist" => paths::read_file(path, RawContent::Plist),
        "reg" => match std::fs::read(path) {
            Ok(bytes) => match crate::settings::managed::machine_key_values(
                &bytes,
                &origin,
                CLAUDE_DESKTOP_POLICY_SUBKEY,
            ) {
                Ok(values) => RawSource {
                    origin,
                    content: RawContent::Registry(values),
                },
                Err(e) => RawSource {
                    origin,
                    content: RawContent::Unreadable(std::io::Error::other(e.to_string())),
                },
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => RawSource {
                origin,
                content: RawContent::Missing,
            },
            Err(e) => RawSource {
                origin,
                content: RawContent::Unreadable(e),
            },
        },
        _ => paths::read_file(path, RawContent::Json),
    }
}

/// Fold sources in priority order: a later source fills only keys an earlier one left unset.
pub fn from_sources(sources: Vec<RawSource>) -> DesktopPolicy {
    let mut policy = DesktopPolicy {
        source: None,
        keys: KEYS.iter().map(|(k, _)| (*k, None)).collect(),
        problems: Vec::new(),
    };
    for source in sources {
        let raw = match raw_values(&source) {
            Ok(Some(raw)) => raw,
            Ok(None) => continue,
            Err(problem) => {
                policy.problems.push(problem);
                continue;
            }
        };
        policy.source.get_or_insert_with(|| source.origin.clone());
        for (key, _) in KEYS {
            if policy.keys[key].is_some() {
                continue;
            }
            if let Some(value) = raw.get(key) {
                match value {
                    Raw::Bool(b) => {
                        policy.keys.insert(key, Some(*b));
                    }
                    Raw::Other(what) => policy.problems.push(format!(
                        "{}: {key} is {what}, not a boolean (treated as unset)",
                        source.origin
                    )),
                }
            }
        }
    }
    policy
}

enum Raw {
    Bool(bool),
    Other(String),
}

fn from_text(text: &str) -> Raw {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" => Raw::Bool(true),
        "false" | "0" => Raw::Bool(false),
        _ => Raw::Other(format!("{text:?}")),
    }
}

/// The source's values by name; `None` when it does not exist.
fn raw_values(source: &RawSource) -> Result<Option<BTreeMap<String, Raw>>, String> {
    let origin = &source.origin;
    Ok(Some(match &source.content {
        RawContent::Missing => return Ok(None),
        RawContent::Unreadable(e) => return Err(format!("{origin}: cannot be read: {e}")),
        RawContent::Plist(bytes) => {
            let root = plist::Value::from_reader(Cursor::new(bytes))
                .map_err(|e| format!("{origin}: not a property list: {e}"))?;
            let plist::Value::Dictionary(dict) = root else {
                return Err(format!("{origin}: the property list is not a dictionary"));
            };
            dict.into_iter()
                .map(|(k, v)| {
                    let raw = match v {
                        plist::Value::Boolean(b) => Raw::Bool(b),
                        plist::Value::String(s) => from_text(&s),
                        plist::Value::Integer(i) => match i.as_signed() {
                            Some(0) => Raw::Bool(false),
                            Some(1) => Raw::Bool(true),
                            _ => Raw::Other(format!("the integer {i}")),
                        },
                        _ => Raw::Other("not a scalar".into()),
                    };
                    (k, raw)
                })
                .collect()
        }
        RawContent::Json(bytes) => {
            let value: serde_json::Value =
                serde_json::from_slice(bytes).map_err(|e| format!("{origin}: not JSON: {e}"))?;
            let serde_json::Value::Object(map) = value else {
                return Err(format!("{origin}: not a JSON object"));
            };
            map.into_iter()
                .map(|(k, v)| {
                    let raw = match v {
                        serde_json::Value::Bool(b) => Raw::Bool(b),
                        serde_json::Value::String(s) => from_text(&s),
                        serde_json::Value::Number(n) if n.as_u64() == Some(0) => Raw::Bool(false),
                        serde_json::Value::Number(n) if n.as_u64() == Some(1) => Raw::Bool(true),
                        other => Raw::Other(other.to_string()),
                    };
                    (k, raw)
                })
                .collect()
        }
        RawContent::Registry(values) => values
            .iter()
            .map(|v| {
                let raw = match v.kind {
                    REG_DWORD if v.data.len() == 4 => {
                        match u32::from_le_bytes([v.data[0], v.data[1], v.data[2], v.data[3]]) {
                            0 => Raw::Bool(false),
                            1 => Raw::Bool(true),
                            n => Raw::Other(format!("dword {n}")),
                        }
                    }
                    REG_SZ => {
                        let units: Vec<u16> = v
                            .data
                            .chunks_exact(2)
                            .map(|p| u16::from_le_bytes([p[0], p[1]]))
                            .take_while(|u| *u != 0)
                            .collect();
                        from_text(&String::from_utf16_lossy(&units))
                    }
                    kind => Raw::Other(format!("a registry value of type {kind}")),
                };
                (v.name.clone(), raw)
            })
            .collect(),
    }))
}

#[cfg(test)]
mod tests;
