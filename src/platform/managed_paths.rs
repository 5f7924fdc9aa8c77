//! Where each OS keeps MDM-managed settings (DESIGN.md §4), read raw: the macOS managed-preferences plists,
//! the Windows policy key under HKLM then HKCU, Linux's `/etc/thoth/managed.json`. This module only finds and
//! reads; it parses nothing (`settings::managed` does, on every OS). Reads block: call from `spawn_blocking`.

use std::io;
use std::path::{Path, PathBuf};

/// The system-wide macOS managed preferences, written by the MDM (Jamf, Intune) from a configuration profile.
pub const MACOS_SYSTEM_PLIST: &str = "/Library/Managed Preferences/com.atensecurity.thoth.plist";
/// The folder holding the per-user managed preferences, one subfolder per user name.
pub const MACOS_MANAGED_PREFERENCES_DIR: &str = "/Library/Managed Preferences";
/// The file name of thoth's managed preferences, system-wide and in each user's subfolder.
pub const MACOS_PLIST_FILE_NAME: &str = "com.atensecurity.thoth.plist";
/// The Linux (and other Unix) managed settings: a flat JSON object, deployed by configuration management.
pub const LINUX_MANAGED_JSON: &str = "/etc/thoth/managed.json";
/// The Windows policy key, under HKLM (machine policy) and HKCU (user policy; only admins can write it).
pub const WINDOWS_POLICY_SUBKEY: &str = r"SOFTWARE\Policies\AtenSecurity\Thoth";
/// The machine policy key, as `doctor` names it.
pub const WINDOWS_MACHINE_KEY: &str = r"HKLM\SOFTWARE\Policies\AtenSecurity\Thoth";
/// The user policy key, as `doctor` names it.
pub const WINDOWS_USER_KEY: &str = r"HKCU\SOFTWARE\Policies\AtenSecurity\Thoth";

// The registry's value shape lives in its own leaf (`registry_value`) so `registry` (the Windows reads)
// and this module do not import each other.
pub use super::registry_value::{
    RegistryValue, REG_BINARY, REG_DWORD, REG_DWORD_BIG_ENDIAN, REG_EXPAND_SZ, REG_MULTI_SZ,
    REG_NONE, REG_QWORD, REG_SZ,
};

/// One place managed settings may live, and what was found there.
#[derive(Debug)]
pub struct RawSource {
    /// The file path or registry key, for messages and for `Source::Managed`.
    pub origin: String,
    pub content: RawContent,
}

/// The raw content of a managed-settings source.
#[derive(Debug)]
pub enum RawContent {
    /// Nothing deployed here (no such file or key): an empty set, not an error.
    Missing,
    /// It exists but could not be read.
    Unreadable(io::Error),
    /// A property list (XML or binary), as bytes.
    Plist(Vec<u8>),
    /// A JSON document, as bytes.
    Json(Vec<u8>),
    /// Every value of a registry key.
    Registry(Vec<RegistryValue>),
}

/// This machine's managed-settings sources in priority order: a later source only fills keys an earlier one
/// lacks. macOS: the system plist, then `user`'s; Windows: HKLM, then HKCU; elsewhere `/etc/thoth/managed.json`.
pub fn system_sources(user: Option<&str>) -> Vec<RawSource> {
    os_sources(user)
}

/// The per-user managed preferences of `user`, or `None` for a name that is not a plain folder name (it could
/// otherwise point outside `/Library/Managed Preferences`).
pub fn user_plist_path(user: &str) -> Option<PathBuf> {
    let plain =
        !user.is_empty() && user != "." && user != ".." && !user.contains(['/', '\\', '\0']);
    plain.then(|| {
        Path::new(MACOS_MANAGED_PREFERENCES_DIR)
            .join(user)
            .join(MACOS_PLIST_FILE_NAME)
    })
}

#[cfg(target_os = "macos")]
fn os_sources(user: Option<&str>) -> Vec<RawSource> {
    let mut sources = vec![read_file(Path::new(MACOS_SYSTEM_PLIST), RawContent::Plist)];
    if let Some(name) = user {
        match user_plist_path(name) {
            Some(path) => sources.push(read_file(&path, RawContent::Plist)),
            None => tracing::warn!(
                user = name,
                "not a plain user name; per-user managed preferences skipped"
            ),
        }
    }
    sources
}

#[cfg(windows)]
fn os_sources(_user: Option<&str>) -> Vec<RawSource> {
    registry_sources(WINDOWS_MACHINE_KEY, WINDOWS_USER_KEY, WINDOWS_POLICY_SUBKEY)
}

/// A policy key's values under HKLM then HKCU (`machine` / `user` name them in reports), each source
/// missing or unreadable on its own.
#[cfg(windows)]
pub(crate) fn registry_sources(machine: &str, user: &str, subkey: &str) -> Vec<RawSource> {
    use super::registry::{read_values, Hive};
    [(Hive::LocalMachine, machine), (Hive::CurrentUser, user)]
        .into_iter()
        .map(|(hive, origin)| RawSource {
            origin: origin.to_owned(),
            content: match read_values(hive, subkey) {
                Ok(Some(values)) => RawContent::Registry(values),
                Ok(None) => RawContent::Missing,
                Err(e) => RawContent::Unreadable(e),
            },
        })
        .collect()
}

#[cfg(not(any(target_os = "macos", windows)))]
fn os_sources(_user: Option<&str>) -> Vec<RawSource> {
    vec![read_file(Path::new(LINUX_MANAGED_JSON), RawContent::Json)]
}

#[cfg(not(windows))]
fn read_file(path: &Path, content: fn(Vec<u8>) -> RawContent) -> RawSource {
    RawSource {
        origin: path.display().to_string(),
        content: match std::fs::read(path) {
            Ok(bytes) => content(bytes),
            Err(e) if e.kind() == io::ErrorKind::NotFound => RawContent::Missing,
            Err(e) => RawContent::Unreadable(e),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_plist_sits_in_the_users_folder() {
        assert_eq!(
            user_plist_path("alice"),
            Some(PathBuf::from(
                "/Library/Managed Preferences/alice/com.atensecurity.thoth.plist"
            ))
        );
    }

    #[test]
    fn user_names_that_leave_the_folder_are_refused() {
        for name in ["", ".", "..", "../root", "a/b", r"a\b", "a\0b"] {
            assert_eq!(user_plist_path(name), None, "{name:?}");
        }
    }

    #[test]
    fn the_system_plist_is_the_first_source() {
        assert_eq!(
            Path::new(MACOS_MANAGED_PREFERENCES_DIR).join(MACOS_PLIST_FILE_NAME),
            Path::new(MACOS_SYSTEM_PLIST)
        );
    }
}
