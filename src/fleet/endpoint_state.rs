//! `~/.thoth/state/endpoint.json`: the last GovAPI results (registration, check-in, error, the interval the
//! server asked for) that the heartbeat leader and `thoth checkin` write, atomically, and `thoth health` and
//! `thoth doctor` read. Schema: schemas/endpoint-state.schema.json (DESIGN.md §5, §6). No network here.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

pub const SCHEMA_VERSION: u32 = 1;

/// What thoth last heard from GovAPI. Timestamps are RFC 3339 UTC.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct EndpointState {
    pub schema_version: u32,
    /// The endpoint id the registration was made for.
    pub endpoint_id: Option<String>,
    /// The GovAPI base URL the results came from.
    pub govapi_url: Option<String>,
    /// When GovAPI last accepted a registration.
    pub registered_at: Option<String>,
    /// SHA-256 over what was registered (identity, version, settings): a change means register again.
    pub registration_fingerprint: Option<String>,
    pub last_checkin_at: Option<String>,
    pub last_attempt_at: Option<String>,
    /// The last failure in one line, cleared by the next success.
    pub last_error: Option<String>,
    pub last_error_at: Option<String>,
    /// GovAPI refused the credential (401/403): heartbeats stopped until the credential changes.
    pub auth_refused: bool,
    pub consecutive_failures: u32,
    /// The interval GovAPI asked for in its last reply (`checkin_interval_seconds`), if any.
    pub checkin_interval_seconds: Option<u64>,
    /// The thoth version that wrote this.
    pub proxy_version: Option<String>,
}

/// `~/.thoth/state/endpoint.json`.
pub fn path(thoth_dir: &Path) -> PathBuf {
    crate::platform::paths::endpoint_state_file(thoth_dir)
}

/// The saved state: `Ok(None)` when there is none yet, `Err` (a sentence) when it cannot be read.
pub fn load(path: &Path) -> Result<Option<EndpointState>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(format!("cannot read {}: {err}", path.display())),
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|err| format!("{} is not valid: {err}", path.display()))
}

/// Write the state atomically (the state folder is created 0700).
pub fn save(path: &Path, state: &EndpointState) -> Result<(), crate::home::Error> {
    if let Some(dir) = path.parent() {
        crate::home::create_private_dir(dir).map_err(|error| crate::home::Error::Io {
            path: dir.to_owned(),
            error,
        })?;
    }
    let mut state = state.clone();
    state.schema_version = SCHEMA_VERSION;
    state.proxy_version = Some(env!("CARGO_PKG_VERSION").to_owned());
    let mut text = serde_json::to_vec_pretty(&state).unwrap_or_default();
    text.push(b'\n');
    crate::home::write_private(path, &text)
}

/// Hand `~/.thoth`, its `state` folder and the state file to the user they belong to, when root wrote them
/// for that user (`thoth checkin` from a Jamf policy); they stay private (0700 / 0600). No-op without a uid
/// (Windows, where the profile's ACL applies).
pub fn give_to_user(
    thoth_dir: &Path,
    path: &Path,
    uid: Option<u32>,
    gid: Option<u32>,
) -> std::io::Result<()> {
    if uid.is_none() {
        return Ok(());
    }
    for p in [
        thoth_dir.to_path_buf(),
        crate::platform::paths::state_dir(thoth_dir),
        path.to_path_buf(),
    ] {
        let file = std::fs::File::open(&p)?;
        crate::platform::give_to(&file, uid, gid)?;
        crate::platform::make_private(&p)?;
    }
    Ok(())
}

/// Now, as RFC 3339 UTC (`2026-11-22T03:04:05Z`).
pub fn now() -> String {
    format_time(OffsetDateTime::now_utc())
}

pub fn format_time(t: OffsetDateTime) -> String {
    crate::time::rfc3339(t, crate::time::Precision::Seconds)
}

pub fn parse_time(text: &str) -> Option<OffsetDateTime> {
    crate::time::parse_rfc3339(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saves_atomically_and_loads_back() {
        let home = tempfile::tempdir().unwrap();
        let p = path(home.path());
        assert_eq!(load(&p), Ok(None));
        let state = EndpointState {
            endpoint_id: Some("e1".into()),
            last_checkin_at: Some(now()),
            consecutive_failures: 2,
            ..EndpointState::default()
        };
        save(&p, &state).unwrap();
        let back = load(&p).unwrap().unwrap();
        assert_eq!(back.endpoint_id.as_deref(), Some("e1"));
        assert_eq!(back.consecutive_failures, 2);
        assert_eq!(back.schema_version, SCHEMA_VERSION);
        assert!(parse_time(back.last_checkin_at.as_deref().unwrap()).is_some());
        std::fs::write(&p, "{not json").unwrap();
        assert!(load(&p).unwrap_err().contains("not valid"));
    }

    #[test]
    fn times_are_whole_seconds_utc() {
        let t = parse_time("2026-01-02T03:04:05.678Z").unwrap();
        assert_eq!(format_time(t), "2026-01-02T03:04:05Z");
        assert!(parse_time("yesterday").is_none());
    }
}
