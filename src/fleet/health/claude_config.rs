//! The Claude Desktop config as `thoth health` reports it: `wrap::inspect` reads and classifies the servers
//! (a governed one runs behind `thoth run`; a remote one is not stdio, so neither governed nor ungoverned);
//! this folds the result, or why it could not be read, into the report's `claude_config` section.

use std::path::Path;

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
    match crate::wrap::inspect::inspect(path) {
        Ok(inspection) => {
            config.found = true;
            config.servers = inspection.servers.len();
            config.governed_servers = owned(inspection.governed_names());
            config.ungoverned = owned(inspection.ungoverned_names());
            config.governed = config.ungoverned.is_empty();
        }
        Err(crate::wrap::Error::Missing { .. }) => {}
        Err(err) => {
            config.found = path.exists();
            config.governed = false;
            config.error = Some(err.to_string());
        }
    }
    config
}

fn owned(names: Vec<&str>) -> Vec<String> {
    let mut names: Vec<String> = names.into_iter().map(str::to_owned).collect();
    names.sort();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_governed_ungoverned_and_remote_servers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.json");
        let missing = inspect(&path);
        assert!(!missing.found && missing.governed && missing.error.is_none());
        std::fs::write(
            &path,
            r#"{"mcpServers":{
              "fs":{"command":"/usr/local/bin/thoth","args":["run","--agent-id","fs","--","npx","x"]},
              "raw":{"command":"npx","args":["-y","server-everything"]},
              "remote":{"url":"https://mcp.example.com"}}}"#,
        )
        .unwrap();
        let c = inspect(&path);
        assert!(c.found && !c.governed, "{c:?}");
        assert_eq!(c.servers, 3);
        assert_eq!(c.governed_servers, ["fs"]);
        assert_eq!(c.ungoverned, ["raw"]);
        std::fs::write(&path, "{oops").unwrap();
        let c = inspect(&path);
        assert!(c.found && !c.governed && c.error.is_some(), "{c:?}");
    }
}
