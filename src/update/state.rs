//! `~/.thoth/state/update.json`: the outcome of the last check or update (schemas/update-state.schema.json),
//! written atomically (0600) after every attempt, read by `doctor` and, as opaque JSON, by `thoth health`.
//! The first six fields are a contract with `health`: keep them.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct UpdateState {
    pub schema_version: u32,
    /// stable | beta
    pub channel: String,
    /// The version running when this was written (after a successful update: the installed one).
    pub current_version: String,
    /// The newest release seen on the channel at the last successful lookup.
    pub latest_seen: Option<String>,
    /// RFC 3339 UTC time of the last attempt.
    pub last_check_at: Option<String>,
    /// Why the last attempt failed, or null when it succeeded.
    pub last_error: Option<String>,
    /// check | up_to_date | updated | rolled_back | failed
    #[serde(default)]
    pub last_result: Option<String>,
    /// The binary kept for `thoth update --rollback`, and its version.
    #[serde(default)]
    pub previous_path: Option<String>,
    #[serde(default)]
    pub previous_version: Option<String>,
}

/// `~/.thoth/state/update.json`.
pub fn path(thoth_dir: &Path) -> PathBuf {
    crate::platform::paths::update_state_file(thoth_dir)
}

/// The file as it is: any JSON object, else None (the one reader of `update.json`; `thoth health` shows it
/// whole, so fields a newer or older thoth wrote survive).
pub fn load_object(thoth_dir: &Path) -> Option<serde_json::Value> {
    let text = std::fs::read_to_string(path(thoth_dir)).ok()?;
    serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .filter(serde_json::Value::is_object)
}

/// The last state, if there is a readable one (a damaged file is treated as none, with a warning).
pub fn load(thoth_dir: &Path) -> Option<UpdateState> {
    let file = path(thoth_dir);
    if !file.exists() {
        return None;
    }
    let Some(object) = load_object(thoth_dir) else {
        tracing::warn!(path = %file.display(), "ignoring an update state file that is not a JSON object");
        return None;
    };
    match serde_json::from_value(object) {
        Ok(state) => Some(state),
        Err(err) => {
            tracing::warn!(path = %file.display(), error = %err, "ignoring an unreadable update state file");
            None
        }
    }
}

/// Write the state atomically, readable only by its owner.
pub fn save(thoth_dir: &Path, state: &UpdateState) -> Result<(), crate::home::Error> {
    let file = path(thoth_dir);
    let dir = crate::platform::paths::state_dir(thoth_dir);
    crate::home::create_private_dir(&dir).map_err(|error| crate::home::Error::Io {
        path: dir.clone(),
        error,
    })?;
    let mut text = serde_json::to_vec_pretty(state).unwrap_or_default();
    text.push(b'\n');
    crate::home::write_private(&file, &text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_round_trips_and_damage_reads_as_none() {
        let home = tempfile::tempdir().unwrap();
        let dir = home.path().join(".thoth");
        assert_eq!(load(&dir), None);
        let state = UpdateState {
            schema_version: SCHEMA_VERSION,
            channel: "stable".into(),
            current_version: "1.0.0".into(),
            latest_seen: Some("1.1.0".into()),
            last_check_at: Some("2026-01-01T00:00:00Z".into()),
            last_error: None,
            last_result: Some("check".into()),
            previous_path: None,
            previous_version: None,
        };
        save(&dir, &state).unwrap();
        assert_eq!(load(&dir), Some(state));
        std::fs::write(path(&dir), "{").unwrap();
        assert_eq!(load(&dir), None);
    }
}
