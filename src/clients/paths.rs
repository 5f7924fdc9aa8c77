//! Where each client keeps its MCP config, per OS (issue 15's table). Computed from a given OS, home and
//! environment, not from the running platform, so every OS's paths are checked by tests on any OS; the
//! running one is `Env::current`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::Client;

/// Claude Desktop's Windows Store (MSIX) package: its files are redirected under the package's folder.
pub const MSIX_PACKAGE: &str = "Claude_pzs8sxrjxfjjc";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Os {
    Linux,
    MacOs,
    Windows,
}

impl Os {
    pub fn current() -> Os {
        if cfg!(windows) {
            Os::Windows
        } else if cfg!(target_os = "macos") {
            Os::MacOs
        } else {
            Os::Linux
        }
    }
}

/// A user's home and the variables the clients honour (`XDG_CONFIG_HOME`, `APPDATA`, `LOCALAPPDATA`,
/// `CLAUDE_CONFIG_DIR`, `CODEX_HOME`). Another user's files (root working for the console user) are found
/// from the home alone: this process's variables are not theirs.
#[derive(Debug, Clone)]
pub struct Env {
    pub os: Os,
    pub home: PathBuf,
    pub vars: HashMap<String, PathBuf>,
}

const VARS: &[&str] = &[
    "XDG_CONFIG_HOME",
    "APPDATA",
    "LOCALAPPDATA",
    "CLAUDE_CONFIG_DIR",
    "CODEX_HOME",
];

impl Env {
    /// This OS; with `is_current`, the variables of this process.
    pub fn current(home: &Path, is_current: bool) -> Env {
        let vars = if is_current {
            VARS.iter()
                .filter_map(|v| Some((v.to_string(), PathBuf::from(std::env::var_os(v)?))))
                .collect()
        } else {
            HashMap::new()
        };
        Env {
            os: Os::current(),
            home: home.to_owned(),
            vars,
        }
    }

    /// A variable naming an absolute folder (a relative or empty one is ignored, as the clients do).
    fn var(&self, name: &str) -> Option<PathBuf> {
        self.vars
            .get(name)
            .filter(|p| p.is_absolute() || (self.os == Os::Windows && p.has_root()))
            .cloned()
    }

    /// `%APPDATA%` (Roaming) on Windows, `~/Library/Application Support` on macOS, `$XDG_CONFIG_HOME` or
    /// `~/.config` on Linux: where Electron apps keep their settings.
    fn app_data(&self) -> PathBuf {
        match self.os {
            Os::Windows => self
                .var("APPDATA")
                .unwrap_or_else(|| self.home.join("AppData").join("Roaming")),
            Os::MacOs => self.home.join("Library").join("Application Support"),
            Os::Linux => self.xdg_config(),
        }
    }

    fn xdg_config(&self) -> PathBuf {
        self.var("XDG_CONFIG_HOME")
            .unwrap_or_else(|| self.home.join(".config"))
    }

    fn local_app_data(&self) -> PathBuf {
        self.var("LOCALAPPDATA")
            .unwrap_or_else(|| self.home.join("AppData").join("Local"))
    }
}

/// The Windows Store build's `claude_desktop_config.json`.
pub fn claude_msix_config(env: &Env) -> PathBuf {
    env.local_app_data()
        .join("Packages")
        .join(MSIX_PACKAGE)
        .join("LocalCache")
        .join("Roaming")
        .join("Claude")
        .join("claude_desktop_config.json")
}

/// The client's user-level file: the one `wrap-config --client NAME` edits without `--config`. On Windows
/// Claude Desktop's is the MSIX one when that file exists (the Store build reads only that).
pub fn user_file(client: Client, env: &Env) -> PathBuf {
    let home = &env.home;
    match client {
        Client::ClaudeDesktop => {
            let msix = claude_msix_config(env);
            if env.os == Os::Windows && msix.is_file() {
                return msix;
            }
            env.app_data()
                .join("Claude")
                .join("claude_desktop_config.json")
        }
        Client::ClaudeCode => env
            .var("CLAUDE_CONFIG_DIR")
            .unwrap_or_else(|| home.clone())
            .join(".claude.json"),
        Client::Cursor => home.join(".cursor").join("mcp.json"),
        Client::Vscode => vscode_user(env, "Code").join("mcp.json"),
        Client::Windsurf => home
            .join(".codeium")
            .join("windsurf")
            .join("mcp_config.json"),
        Client::Zed => match env.os {
            Os::Windows => env.app_data().join("Zed").join("settings.json"),
            _ => env.xdg_config().join("zed").join("settings.json"),
        },
        Client::Codex => env
            .var("CODEX_HOME")
            .unwrap_or_else(|| home.join(".codex"))
            .join("config.toml"),
    }
}

fn vscode_user(env: &Env, product: &str) -> PathBuf {
    env.app_data().join(product).join("User")
}

/// Every user-level file of the client: `user_file` first (whether or not it exists), then the others that
/// exist (VS Code Insiders and profiles, Claude Desktop's other build on Windows).
pub fn user_files(client: Client, env: &Env) -> Vec<PathBuf> {
    let first = user_file(client, env);
    let mut more = Vec::new();
    match client {
        Client::ClaudeDesktop if env.os == Os::Windows => {
            more.push(claude_msix_config(env));
            more.push(
                env.app_data()
                    .join("Claude")
                    .join("claude_desktop_config.json"),
            );
        }
        Client::Vscode => {
            for product in ["Code", "Code - Insiders"] {
                let user = vscode_user(env, product);
                more.push(user.join("mcp.json"));
                let mut profiles: Vec<PathBuf> = std::fs::read_dir(user.join("profiles"))
                    .into_iter()
                    .flatten()
                    .flatten()
                    .map(|e| e.path().join("mcp.json"))
                    .collect();
                profiles.sort();
                more.extend(profiles);
            }
        }
        _ => {}
    }
    let mut files = vec![first];
    for path in more {
        if path.is_file() && !files.contains(&path) {
            files.push(path);
        }
    }
    files
}

/// The client's project-scoped file in DIR (`--project DIR`); `None` for clients without one.
pub fn project_file(client: Client, dir: &Path) -> Option<PathBuf> {
    Some(match client {
        Client::ClaudeDesktop | Client::Windsurf => return None,
        Client::ClaudeCode => dir.join(".mcp.json"),
        Client::Cursor => dir.join(".cursor").join("mcp.json"),
        Client::Vscode => dir.join(".vscode").join("mcp.json"),
        Client::Zed => dir.join(".zed").join("settings.json"),
        Client::Codex => dir.join(".codex").join("config.toml"),
    })
}
