//! Claude Desktop Extensions (`.mcpb`/`.dxt` bundles): `<Claude dir>/Claude Extensions/<id>/manifest.json`,
//! whose `server.mcp_config` {command, args, env} Claude Desktop starts itself, and the enabled state in
//! `<Claude dir>/Claude Extensions Settings/<id>.json` (`isEnabled`). Read only: an extension is always a
//! stdio server thoth cannot wrap, so it is never governed. The Claude dir is the config file's folder.

use std::path::{Path, PathBuf};

use serde::Serialize;

pub const EXTENSIONS_DIR: &str = "Claude Extensions";
pub const SETTINGS_DIR: &str = "Claude Extensions Settings";
/// More folders than this are not read (a hostile home cannot make health walk forever).
const MAX_EXTENSIONS: usize = 1024;
/// A manifest larger than this is not parsed.
const MAX_MANIFEST_BYTES: u64 = 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Extension {
    /// The extension's folder name (Claude Desktop's id).
    pub id: String,
    pub manifest: PathBuf,
    /// `isEnabled` of its settings file; an extension without one is taken as enabled (Claude Desktop
    /// enables what it installs).
    pub enabled: bool,
    /// `server.mcp_config.command`, placeholders (`${__dirname}`) kept as written.
    pub command: Option<String>,
    /// Why the manifest could not be read, if it could not (the extension still counts).
    pub error: Option<String>,
}

/// The extensions installed beside `config` (a `claude_desktop_config.json` path), sorted by id.
pub fn scan_beside(config: &Path) -> Vec<Extension> {
    match config.parent() {
        Some(dir) => scan(dir),
        None => Vec::new(),
    }
}

/// The extensions under the Claude dir `claude_dir`, sorted by id; none when the folder does not exist.
pub fn scan(claude_dir: &Path) -> Vec<Extension> {
    let Ok(entries) = std::fs::read_dir(claude_dir.join(EXTENSIONS_DIR)) else {
        return Vec::new();
    };
    let mut found: Vec<Extension> = entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .take(MAX_EXTENSIONS)
        .filter_map(|e| {
            let id = e.file_name().to_str()?.to_owned();
            Some(read_one(claude_dir, &id, &e.path()))
        })
        .collect();
    found.sort_by(|a, b| a.id.cmp(&b.id));
    found
}

fn read_one(claude_dir: &Path, id: &str, folder: &Path) -> Extension {
    let manifest = folder.join("manifest.json");
    let (command, error) = match read_json(&manifest) {
        Ok(value) => {
            let command = value
                .pointer("/server/mcp_config/command")
                .and_then(|c| c.as_str())
                .map(str::to_owned);
            let error = command
                .is_none()
                .then(|| "the manifest has no server.mcp_config.command".to_owned());
            (command, error)
        }
        Err(e) => (None, Some(e)),
    };
    let settings = claude_dir.join(SETTINGS_DIR).join(format!("{id}.json"));
    let enabled = match read_json(&settings) {
        Ok(value) => value
            .get("isEnabled")
            .and_then(|v| v.as_bool())
            .unwrap_or(true),
        Err(_) => true,
    };
    Extension {
        id: id.to_owned(),
        manifest,
        enabled,
        command,
        error,
    }
}

fn read_json(path: &Path) -> Result<serde_json::Value, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if meta.len() > MAX_MANIFEST_BYTES {
        return Err(format!(
            "{}: larger than {MAX_MANIFEST_BYTES} bytes",
            path.display()
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_slice(&bytes).map_err(|e| format!("{}: not JSON: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn extensions_are_found_with_their_enabled_state() {
        let dir = tempfile::tempdir().unwrap();
        let claude = dir.path();
        assert!(scan(claude).is_empty());
        let ext = claude.join(EXTENSIONS_DIR);
        write(
            &ext.join("ant.dir.filesystem/manifest.json"),
            r#"{"name":"fs","server":{"type":"node","entry_point":"server/index.js",
               "mcp_config":{"command":"node","args":["${__dirname}/server/index.js"],"env":{}}}}"#,
        );
        write(
            &ext.join("off/manifest.json"),
            r#"{"server":{"mcp_config":{"command":"python3"}}}"#,
        );
        write(
            &claude.join(SETTINGS_DIR).join("off.json"),
            r#"{"isEnabled":false,"userConfig":{}}"#,
        );
        write(&ext.join("broken/manifest.json"), "{nope");
        std::fs::write(ext.join("stray-file"), "x").unwrap();
        let found = scan_beside(&claude.join("claude_desktop_config.json"));
        let ids: Vec<_> = found.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["ant.dir.filesystem", "broken", "off"]);
        assert!(found[0].enabled && found[0].command.as_deref() == Some("node"));
        assert!(found[0].error.is_none());
        assert!(found[1].enabled && found[1].error.as_deref().unwrap().contains("not JSON"));
        assert!(!found[2].enabled && found[2].command.as_deref() == Some("python3"));
    }
}
