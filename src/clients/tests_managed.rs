//! The managed allowlists: where each client reads them on every OS, re-rooting for tests, the verdicts on
//! deployed files, and the Windsurf escaping over generated text.

use std::path::{Path, PathBuf};

use proptest::prelude::*;

use super::allowlist::regex_escape;
use super::managed::{judge, locations, read_from};
use super::{Client, Os};
use crate::wrap::Trust;

/// A file named `thoth` standing for the running binary (kept for the test process's life).
fn thoth() -> PathBuf {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("thoth"), b"thoth").unwrap();
        dir
    });
    dir.path().join("thoth")
}

fn trust() -> Trust {
    Trust::new(Some(thoth()), Vec::new())
}

#[test]
fn every_os_has_its_system_folder() {
    let claude = |os| locations(Client::ClaudeCode, os);
    assert_eq!(
        claude(Os::MacOs),
        [
            Path::new("/Library/Application Support/ClaudeCode/managed-mcp.json"),
            Path::new("/Library/Application Support/ClaudeCode/managed-settings.json")
        ]
    );
    assert_eq!(
        claude(Os::Linux),
        [
            Path::new("/etc/claude-code/managed-mcp.json"),
            Path::new("/etc/claude-code/managed-settings.json")
        ]
    );
    let windows: Vec<String> = claude(Os::Windows)
        .iter()
        .map(|p| p.to_string_lossy().replace('/', "\\"))
        .collect();
    assert_eq!(
        windows,
        [
            r"C:\Program Files\ClaudeCode\managed-mcp.json",
            r"C:\Program Files\ClaudeCode\managed-settings.json"
        ]
    );
    assert_eq!(
        locations(Client::Codex, Os::Linux),
        [Path::new("/etc/codex/requirements.toml")]
    );
    assert_eq!(
        locations(Client::Codex, Os::MacOs),
        [Path::new("/etc/codex/requirements.toml")]
    );
    let codex_windows = locations(Client::Codex, Os::Windows)[0]
        .to_string_lossy()
        .replace('/', "\\");
    assert_eq!(
        codex_windows,
        r"C:\ProgramData\OpenAI\Codex\requirements.toml"
    );
    for client in [
        Client::ClaudeDesktop,
        Client::Cursor,
        Client::Vscode,
        Client::Windsurf,
        Client::Zed,
    ] {
        assert!(locations(client, Os::Linux).is_empty(), "{client:?}");
    }
}

#[test]
fn the_first_file_present_is_judged_and_none_present_is_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let files = [
        dir.path().join("managed-mcp.json"),
        dir.path().join("managed-settings.json"),
    ];
    let policy = read_from(Client::ClaudeCode, &files, &trust()).unwrap();
    assert_eq!(
        (policy.path.clone(), policy.found),
        (files[1].clone(), false)
    );
    let thoth = thoth().display().to_string();
    std::fs::write(
        &files[1],
        serde_json::json!({"allowManagedMcpServersOnly": true,
            "allowedMcpServers": [{"serverCommand": [thoth, "run", "--", "npx", "x"]}]})
        .to_string(),
    )
    .unwrap();
    let policy = read_from(Client::ClaudeCode, &files, &trust()).unwrap();
    assert!(policy.found && policy.governed_only, "{policy:?}");
    std::fs::write(&files[0], "{\"mcpServers\": {}}").unwrap();
    let policy = read_from(Client::ClaudeCode, &files, &trust()).unwrap();
    assert_eq!(policy.path, files[0]);
    assert!(policy.governed_only, "an empty exclusive set runs nothing");
    std::fs::write(
        &files[0],
        "{\"mcpServers\": {\"a\": {\"command\": \"x\"}, \"a\": {}}}",
    )
    .unwrap();
    let policy = read_from(Client::ClaudeCode, &files, &trust()).unwrap();
    assert!(policy.error.unwrap().contains("twice"));
}

#[test]
fn codex_requirements_allow_only_thoth_identities() {
    let thoth = thoth().display().to_string();
    let path = Path::new("/etc/codex/requirements.toml");
    let judge = |text: &str| judge(Client::Codex, path, text, &trust());
    let ok = format!("[mcp_servers.docs]\nidentity = {{ command = {thoth:?} }}\n");
    assert_eq!(judge(&ok), Ok(true));
    assert_eq!(
        judge("allowed_approval_policies = [\"never\"]\n"),
        Ok(false)
    );
    assert_eq!(
        judge("[mcp_servers.docs]\nidentity = { url = \"https://x\" }\n"),
        Ok(false)
    );
    assert_eq!(judge("[mcp_servers.docs]\n"), Ok(false));
    assert_eq!(
        judge("[mcp_servers]\n"),
        Ok(true),
        "an empty allowlist admits nothing"
    );
    assert!(judge("[mcp_servers.docs\n").is_err());
}

const SYNTAX: &str = "\\.+*?()|[]{}^$";

fn unescape(pattern: &str) -> String {
    let mut out = String::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        out.push(if c == '\\' { chars.next().unwrap() } else { c });
    }
    out
}

proptest! {
    /// Every syntax character is escaped, nothing else is, and removing the escapes gives the text back.
    #[test]
    fn windsurf_patterns_match_only_their_own_text(text in "[ -~é✓]{0,40}") {
        let pattern = regex_escape(&text);
        prop_assert_eq!(unescape(&pattern), text);
        let mut chars = pattern.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                let next = chars.next().unwrap();
                prop_assert!(SYNTAX.contains(next));
            } else {
                prop_assert!(!SYNTAX.contains(c));
            }
        }
    }
}
