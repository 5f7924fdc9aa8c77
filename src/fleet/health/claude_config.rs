//! A minimal, read-only view of Claude Desktop's `claude_desktop_config.json` for `thoth health`: which
//! servers it starts and which of them run behind `thoth run`. Kept private to health until the shared
//! reader of `wrap` (issue 5) lands; a governed server's command is a thoth binary whose first argument is
//! `run`. A server with a `url` (remote) is not stdio: it is neither governed nor ungoverned.

use std::path::{Path, PathBuf};

use serde::Serialize;

/// What the config says, for the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClaudeConfig {
    pub path: String,
    pub found: bool,
    /// Every server the config names.
    pub servers: usize,
    /// True when no stdio server runs outside thoth (also when there is no config, or it names none).
    pub governed: bool,
    pub governed_servers: Vec<String>,
    pub ungoverned: Vec<String>,
    /// Why the config could not be read, if it could not.
    pub error: Option<String>,
}

/// Claude Desktop's config for a user whose home folder is `home` (per OS; on Windows the default
/// `AppData\Roaming` of that profile).
pub fn default_path(home: &Path) -> PathBuf {
    match std::env::consts::OS {
        "macos" => home.join("Library/Application Support/Claude/claude_desktop_config.json"),
        "windows" => home
            .join("AppData")
            .join("Roaming")
            .join("Claude")
            .join("claude_desktop_config.json"),
        _ => home.join(".config/Claude/claude_desktop_config.json"),
    }
}

/// Read and classify the config at `path`.
pub fn inspect(path: &Path) -> ClaudeConfig {
    let mut config = ClaudeConfig {
        path: path.display().to_string(),
        found: false,
        servers: 0,
        governed: true,
        governed_servers: Vec::new(),
        ungoverned: Vec::new(),
        error: None,
    };
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return config,
        Err(err) => {
            config.governed = false;
            config.error = Some(format!("cannot read it: {err}"));
            return config;
        }
    };
    config.found = true;
    let value: serde_json::Value = match serde_json::from_str(&text) {
        Ok(value) => value,
        Err(err) => {
            config.governed = false;
            config.error = Some(format!("it is not valid JSON: {err}"));
            return config;
        }
    };
    let Some(servers) = value.get("mcpServers").and_then(|s| s.as_object()) else {
        return config;
    };
    config.servers = servers.len();
    for (name, server) in servers {
        let is_stdio = server.get("command").is_some_and(|c| c.is_string());
        if !is_stdio {
            continue;
        }
        if is_governed(server) {
            config.governed_servers.push(name.clone());
        } else {
            config.ungoverned.push(name.clone());
        }
    }
    config.governed = config.ungoverned.is_empty();
    config
}

/// The command is thoth (`thoth`, `thoth.exe`, any folder) and its first argument is `run`.
fn is_governed(server: &serde_json::Value) -> bool {
    let command = server.get("command").and_then(|c| c.as_str()).unwrap_or("");
    let file = command.rsplit(['/', '\\']).next().unwrap_or("");
    let stem = file.strip_suffix(".exe").unwrap_or(file);
    let first_arg = server
        .get("args")
        .and_then(|a| a.as_array())
        .and_then(|a| a.first())
        .and_then(|a| a.as_str());
    stem.eq_ignore_ascii_case("thoth") && first_arg == Some("run")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_governed_ungoverned_and_remote_servers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.json");
        assert!(!inspect(&path).found && inspect(&path).governed);
        std::fs::write(
            &path,
            r#"{"mcpServers":{
              "fs":{"command":"/usr/local/bin/thoth","args":["run","--agent-id","fs","--","npx","x"]},
              "win":{"command":"C:\\Program Files\\thoth\\thoth.exe","args":["run","--","x"]},
              "raw":{"command":"npx","args":["-y","server-everything"]},
              "fake":{"command":"/opt/thoth","args":["doctor"]},
              "remote":{"url":"https://mcp.example.com"}}}"#,
        )
        .unwrap();
        let c = inspect(&path);
        assert!(c.found && !c.governed);
        assert_eq!(c.servers, 5);
        assert_eq!(c.governed_servers, ["fs", "win"]);
        assert_eq!(c.ungoverned, ["fake", "raw"]);
        std::fs::write(&path, "{oops").unwrap();
        let c = inspect(&path);
        assert!(!c.governed && c.error.unwrap().contains("not valid JSON"));
    }
}
