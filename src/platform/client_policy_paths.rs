//! Where Claude Desktop's own managed preferences live (read raw, parsed in `fleet::claude_desktop::policy`):
//! macOS domain `com.anthropic.claudefordesktop` under /Library/Managed Preferences (system, then the
//! user's), Windows `HKLM\SOFTWARE\Policies\Claude` then HKCU, Linux `/etc/claude-desktop/managed-settings.json`.

use std::path::Path;

use super::managed_paths::{RawContent, RawSource};

pub const CLAUDE_DESKTOP_MACOS_PLIST: &str =
    "/Library/Managed Preferences/com.anthropic.claudefordesktop.plist";
pub const CLAUDE_DESKTOP_PLIST_FILE_NAME: &str = "com.anthropic.claudefordesktop.plist";
pub const CLAUDE_DESKTOP_POLICY_SUBKEY: &str = r"SOFTWARE\Policies\Claude";
pub const CLAUDE_DESKTOP_MACHINE_KEY: &str = r"HKLM\SOFTWARE\Policies\Claude";
pub const CLAUDE_DESKTOP_USER_KEY: &str = r"HKCU\SOFTWARE\Policies\Claude";
pub const CLAUDE_DESKTOP_LINUX_JSON: &str = "/etc/claude-desktop/managed-settings.json";

/// Claude Desktop's managed sources on this OS, in priority order (a later one only fills keys).
pub fn claude_desktop_sources(user: Option<&str>) -> Vec<RawSource> {
    os_sources(user)
}

#[cfg(target_os = "macos")]
fn os_sources(user: Option<&str>) -> Vec<RawSource> {
    let mut sources = vec![read_file(
        Path::new(CLAUDE_DESKTOP_MACOS_PLIST),
        RawContent::Plist,
    )];
    if let Some(dir) = user.and_then(super::managed_paths::user_plist_path) {
        if let Some(folder) = dir.parent() {
            sources.push(read_file(
                &folder.join(CLAUDE_DESKTOP_PLIST_FILE_NAME),
                RawContent::Plist,
            ));
        }
    }
    sources
}

#[cfg(windows)]
fn os_sources(_user: Option<&str>) -> Vec<RawSource> {
    super::managed_paths::registry_sources(
        CLAUDE_DESKTOP_MACHINE_KEY,
        CLAUDE_DESKTOP_USER_KEY,
        CLAUDE_DESKTOP_POLICY_SUBKEY,
    )
}

#[cfg(not(any(target_os = "macos", windows)))]
fn os_sources(_user: Option<&str>) -> Vec<RawSource> {
    vec![read_file(
        Path::new(CLAUDE_DESKTOP_LINUX_JSON),
        RawContent::Json,
    )]
}

/// A file source; missing is `Missing`, never an error.
pub fn read_file(path: &Path, content: fn(Vec<u8>) -> RawContent) -> RawSource {
    RawSource {
        origin: path.display().to_string(),
        content: match std::fs::read(path) {
            Ok(bytes) => content(bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => RawContent::Missing,
            Err(e) => RawContent::Unreadable(e),
        },
    }
}
