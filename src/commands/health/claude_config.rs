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
    /// Remote (url) servers, for `mcp_clients[]` (not in `claude_config`, whose shape is fixed).
    #[serde(skip)]
    pub remote: Vec<String>,
    /// Why the config could not be read, if it could not.
    pub error: Option<String>,
    /// The config was refused, not merely unreadable (a key twice): the check fails.
    #[serde(skip)]
    pub refused: bool,
    /// Per governed server: whether it runs under a lock and whether the lock's signature verified.
    pub locks: Vec<ServerLock>,
}

/// A governed server's lock (`thoth run --lock`, or the managed THOTH_LOCK_DIR).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServerLock {
    pub server: String,
    /// The lockfile it uses (none: runs without a lock).
    pub lock: Option<String>,
    /// `none`, `unsigned` (used without a key), `verified`, or `refused` (thoth would not start it).
    pub status: &'static str,
    pub error: Option<String>,
    #[serde(skip)]
    agent_id: String,
    #[serde(skip)]
    flag: Option<String>,
    #[serde(skip)]
    pubkeys: Vec<String>,
}

impl ClaudeConfig {
    /// Judge each governed server's lock with the settings (keys, lock dir, THOTH_REQUIRE_LOCK).
    pub fn check_locks(&mut self, settings: &crate::settings::Settings) {
        for lock in &mut self.locks {
            let flags = crate::lock::setup::LockFlags {
                lock: lock.flag.as_deref().map(Path::new),
                mode: crate::lock::guard::LockMode::Enforce,
                pubkeys: &lock.pubkeys,
            };
            let (path, status, error) =
                crate::lock::setup::status(&flags, settings, &lock.agent_id);
            lock.lock = path.map(|p| p.display().to_string());
            lock.status = status;
            lock.error = error;
        }
    }
}

/// Read and classify the config at `path`; governed means run by the binary `trust` accepts.
pub fn inspect(path: &Path, trust: &crate::wrap::Trust) -> ClaudeConfig {
    let mut config = ClaudeConfig {
        path: path.display().to_string(),
        found: false,
        servers: 0,
        governed: true,
        governed_servers: Vec::new(),
        ungoverned: Vec::new(),
        remote: Vec::new(),
        error: None,
        locks: Vec::new(),
        refused: false,
    };
    match crate::wrap::inspect::inspect(path, trust) {
        Ok(inspection) => {
            config.found = true;
            config.servers = inspection.servers.len();
            config.governed_servers = owned(inspection.governed_names());
            config.ungoverned = owned(inspection.ungoverned_names());
            config.governed = config.ungoverned.is_empty();
            config.remote = inspection
                .servers
                .iter()
                .filter(|s| !s.stdio && s.problem.is_none())
                .map(|s| s.name.clone())
                .collect();
            config.remote.sort();
            config.locks = inspection
                .servers
                .iter()
                .filter(|s| s.governed)
                .map(|s| ServerLock {
                    server: s.name.clone(),
                    lock: s.lock.clone(),
                    status: if s.lock.is_some() {
                        "unchecked"
                    } else {
                        "none"
                    },
                    error: None,
                    agent_id: s
                        .agent_id
                        .clone()
                        .unwrap_or_else(|| crate::wrap::wrapped::agent_id_for(None, &s.name)),
                    flag: s.lock.clone(),
                    pubkeys: s.lock_pubkeys.clone(),
                })
                .collect();
            config.locks.sort_by(|a, b| a.server.cmp(&b.server));
        }
        Err(crate::wrap::Error::Missing { .. }) => {}
        Err(err) => {
            config.refused = matches!(err, crate::wrap::Error::DuplicateKey { .. });
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
        let thoth = dir.path().join("thoth");
        std::fs::write(&thoth, "the running thoth").unwrap();
        let trust = crate::wrap::Trust::new(Some(thoth.clone()), vec![]);
        let path = dir.path().join("c.json");
        let missing = inspect(&path, &trust);
        assert!(!missing.found && missing.governed && missing.error.is_none());
        let config = serde_json::json!({"mcpServers": {
            "fs": {"command": thoth, "args": ["run", "--agent-id", "fs", "--", "npx", "x"]},
            "shim": {"command": "/usr/local/bin/thoth", "args": ["run", "--", "npx", "x"]},
            "raw": {"command": "npx", "args": ["-y", "server-everything"]},
            "remote": {"url": "https://mcp.example.com"}}});
        std::fs::write(&path, config.to_string()).unwrap();
        let c = inspect(&path, &trust);
        assert!(c.found && !c.governed, "{c:?}");
        assert_eq!(c.servers, 4);
        assert_eq!(c.governed_servers, ["fs"]);
        assert_eq!(c.ungoverned, ["raw", "shim"]);
        std::fs::write(&path, "{oops").unwrap();
        let c = inspect(&path, &trust);
        assert!(
            c.found && !c.governed && c.error.is_some() && !c.refused,
            "{c:?}"
        );
        std::fs::write(
            &path,
            r#"{"mcpServers":{"a":{"command":"x"},"a":{"command":"y"}}}"#,
        )
        .unwrap();
        let c = inspect(&path, &trust);
        assert!(c.found && !c.governed && c.refused, "{c:?}");
        assert!(c.error.unwrap().contains("\"/mcpServers/a\" twice"));
    }
}
