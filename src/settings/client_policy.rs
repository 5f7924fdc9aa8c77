//! The stand-in for Claude Desktop's managed preferences: THOTH_CLAUDE_DESKTOP_POLICY_FILE may name a
//! `.plist`, `.reg` or `.json` file read in their place where the OS has none (tests, evaluations), as
//! THOTH_MANAGED_SETTINGS_FILE is for thoth's own. It never hides a real managed source.

use std::path::PathBuf;

pub const CLAUDE_DESKTOP_POLICY_ENV: &str = "THOTH_CLAUDE_DESKTOP_POLICY_FILE";

/// The stand-in file, when set.
pub fn claude_desktop_policy_override() -> Option<PathBuf> {
    std::env::var_os(CLAUDE_DESKTOP_POLICY_ENV)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}
