//! Whose Claude Desktop config, and where: `--for-user`, else the console user when run as root (a Jamf
//! policy or an Intune script), else the current user; then the per-OS default path under their home.

use std::path::{Path, PathBuf};

use crate::platform::users::{self, TargetUser};

use super::Error;

const FILE_NAME: &str = "claude_desktop_config.json";

/// Claude Desktop's config under a home folder: macOS `~/Library/Application Support/Claude`, Windows
/// `%APPDATA%\Claude` (`AppData\Roaming`), Linux `~/.config/Claude`.
pub fn default_config_path(home: &Path) -> PathBuf {
    config_dir(home).join("Claude").join(FILE_NAME)
}

#[cfg(target_os = "macos")]
fn config_dir(home: &Path) -> PathBuf {
    home.join("Library").join("Application Support")
}

#[cfg(windows)]
fn config_dir(home: &Path) -> PathBuf {
    home.join("AppData").join("Roaming")
}

#[cfg(not(any(target_os = "macos", windows)))]
fn config_dir(home: &Path) -> PathBuf {
    home.join(".config")
}

/// The config of a user: for the user thoth runs as, `$XDG_CONFIG_HOME` (Linux) and `%APPDATA%` (Windows)
/// are honoured as Claude Desktop honours them.
pub fn config_path(user: &TargetUser, is_current: bool) -> PathBuf {
    if is_current {
        let var = if cfg!(windows) {
            "APPDATA"
        } else if cfg!(target_os = "macos") {
            ""
        } else {
            "XDG_CONFIG_HOME"
        };
        if let Some(dir) = (!var.is_empty())
            .then(|| std::env::var_os(var))
            .flatten()
            .map(PathBuf::from)
            .filter(|d| d.is_absolute())
        {
            return dir.join("Claude").join(FILE_NAME);
        }
    }
    default_config_path(&user.home)
}

/// The user a command works for, and whether that is the user thoth runs as.
pub fn resolve_user(for_user: Option<&str>) -> Result<(TargetUser, bool), Error> {
    if let Some(name) = for_user {
        let user = users::lookup_user(name).ok_or_else(|| Error::UnknownUser {
            name: name.to_owned(),
        })?;
        let is_current = crate::platform::user_name().as_deref() == Some(name);
        // The current user's home honours $HOME, as every other thoth path does.
        return Ok(if is_current {
            (users::current_user().unwrap_or(user), true)
        } else {
            (user, false)
        });
    }
    if crate::platform::is_root() {
        if let Some(user) = users::console_user() {
            tracing::info!(user = %user.name, "running as root: using the console user's files");
            return Ok((user, false));
        }
    }
    let user = users::current_user().ok_or_else(|| Error::NoUser {
        detail: "no console user, and no home folder for the current user".into(),
    })?;
    Ok((user, true))
}

/// The user a command works for (see `resolve_user`).
pub fn target_user(for_user: Option<&str>) -> Result<TargetUser, Error> {
    resolve_user(for_user).map(|(user, _)| user)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_path_is_under_the_home() {
        let path = default_config_path(Path::new("/home/ana"));
        assert!(path.starts_with("/home/ana"));
        assert!(path.ends_with("Claude/claude_desktop_config.json"));
    }
}
