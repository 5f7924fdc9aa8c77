//! Every OS's client file locations, computed on any OS: the table of issue 15, the variables the clients
//! honour, the Windows Store (MSIX) build of Claude Desktop, VS Code Insiders and profiles.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::paths::{claude_msix_config, Env, Os};
use super::*;

fn env(os: Os, home: &str, vars: &[(&str, &str)]) -> Env {
    Env {
        os,
        home: PathBuf::from(home),
        vars: vars
            .iter()
            .map(|(k, v)| (k.to_string(), PathBuf::from(v)))
            .collect::<HashMap<_, _>>(),
    }
}

fn rel(path: &Path, home: &str) -> String {
    path.strip_prefix(home)
        .unwrap_or(path)
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

#[test]
fn user_files_on_every_os() {
    let h = "/h";
    let expect: &[(Client, &str, &str, &str)] = &[
        (
            Client::ClaudeDesktop,
            ".config/Claude/claude_desktop_config.json",
            "Library/Application Support/Claude/claude_desktop_config.json",
            "AppData/Roaming/Claude/claude_desktop_config.json",
        ),
        (
            Client::ClaudeCode,
            ".claude.json",
            ".claude.json",
            ".claude.json",
        ),
        (
            Client::Cursor,
            ".cursor/mcp.json",
            ".cursor/mcp.json",
            ".cursor/mcp.json",
        ),
        (
            Client::Vscode,
            ".config/Code/User/mcp.json",
            "Library/Application Support/Code/User/mcp.json",
            "AppData/Roaming/Code/User/mcp.json",
        ),
        (
            Client::Windsurf,
            ".codeium/windsurf/mcp_config.json",
            ".codeium/windsurf/mcp_config.json",
            ".codeium/windsurf/mcp_config.json",
        ),
        (
            Client::Zed,
            ".config/zed/settings.json",
            ".config/zed/settings.json",
            "AppData/Roaming/Zed/settings.json",
        ),
        (
            Client::Codex,
            ".codex/config.toml",
            ".codex/config.toml",
            ".codex/config.toml",
        ),
    ];
    for (client, linux, mac, windows) in expect {
        assert_eq!(rel(&user_file(*client, &env(Os::Linux, h, &[])), h), *linux);
        assert_eq!(rel(&user_file(*client, &env(Os::MacOs, h, &[])), h), *mac);
        assert_eq!(
            rel(&user_file(*client, &env(Os::Windows, h, &[])), h),
            *windows
        );
    }
    let vars = [
        ("XDG_CONFIG_HOME", "/x"),
        ("CLAUDE_CONFIG_DIR", "/cc"),
        ("CODEX_HOME", "/cx"),
        ("APPDATA", "relative"),
    ];
    let linux = env(Os::Linux, h, &vars);
    assert_eq!(
        user_file(Client::ClaudeDesktop, &linux),
        Path::new("/x/Claude/claude_desktop_config.json")
    );
    assert_eq!(
        user_file(Client::Zed, &linux),
        Path::new("/x/zed/settings.json")
    );
    assert_eq!(
        user_file(Client::Vscode, &linux),
        Path::new("/x/Code/User/mcp.json")
    );
    assert_eq!(
        user_file(Client::ClaudeCode, &linux),
        Path::new("/cc/.claude.json")
    );
    assert_eq!(
        user_file(Client::Codex, &linux),
        Path::new("/cx/config.toml")
    );
    // A relative variable is ignored, as the clients ignore it.
    let win = env(Os::Windows, h, &vars);
    assert_eq!(
        rel(&user_file(Client::Vscode, &win), h),
        "AppData/Roaming/Code/User/mcp.json"
    );
    assert_eq!(project_file(Client::Windsurf, Path::new("/p")), None);
    assert_eq!(project_file(Client::ClaudeDesktop, Path::new("/p")), None);
    assert_eq!(
        project_file(Client::ClaudeCode, Path::new("/p")),
        Some("/p/.mcp.json".into())
    );
    assert_eq!(
        project_file(Client::Vscode, Path::new("/p")),
        Some("/p/.vscode/mcp.json".into())
    );
    assert_eq!(
        project_file(Client::Cursor, Path::new("/p")),
        Some("/p/.cursor/mcp.json".into())
    );
    assert_eq!(
        project_file(Client::Zed, Path::new("/p")),
        Some("/p/.zed/settings.json".into())
    );
    assert_eq!(
        project_file(Client::Codex, Path::new("/p")),
        Some("/p/.codex/config.toml".into())
    );
}

#[test]
fn claude_desktop_msix_path_is_used_on_windows_when_its_file_exists() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path().to_str().unwrap().to_owned();
    let win = env(Os::Windows, &h, &[]);
    let msix = claude_msix_config(&win);
    assert_eq!(
        rel(&msix, &h),
        "AppData/Local/Packages/Claude_pzs8sxrjxfjjc/LocalCache/Roaming/Claude/claude_desktop_config.json"
    );
    let classic = home
        .path()
        .join("AppData/Roaming/Claude/claude_desktop_config.json");
    assert_eq!(user_file(Client::ClaudeDesktop, &win), classic);
    std::fs::create_dir_all(msix.parent().unwrap()).unwrap();
    std::fs::write(&msix, "{}").unwrap();
    assert_eq!(user_file(Client::ClaudeDesktop, &win), msix);
    assert_eq!(
        user_files(Client::ClaudeDesktop, &win),
        std::slice::from_ref(&msix)
    );
    std::fs::create_dir_all(classic.parent().unwrap()).unwrap();
    std::fs::write(&classic, "{}").unwrap();
    assert_eq!(user_files(Client::ClaudeDesktop, &win), [msix, classic]);
    // %LOCALAPPDATA% when set.
    let local = env(Os::Windows, &h, &[("LOCALAPPDATA", "/L")]);
    assert!(claude_msix_config(&local).starts_with("/L/Packages/Claude_pzs8sxrjxfjjc"));
    // Elsewhere the MSIX folder means nothing.
    assert!(
        !user_file(Client::ClaudeDesktop, &env(Os::Linux, &h, &[])).starts_with(msix_parent(&h))
    );
}

fn msix_parent(home: &str) -> PathBuf {
    Path::new(home).join("AppData/Local/Packages")
}

#[test]
fn vscode_insiders_and_profiles_are_found() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path().to_str().unwrap().to_owned();
    let linux = env(Os::Linux, &h, &[]);
    let stable = home.path().join(".config/Code/User/mcp.json");
    let insiders = home.path().join(".config/Code - Insiders/User/mcp.json");
    let profile = home
        .path()
        .join(".config/Code/User/profiles/-5a1b/mcp.json");
    for f in [&insiders, &profile] {
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(f, "{}").unwrap();
    }
    assert_eq!(
        user_files(Client::Vscode, &linux),
        [stable, profile, insiders]
    );
}
