//! The update policy and last attempt as `thoth doctor` shows them (from settings and the state file; no
//! network). `thoth health` reads the state file itself.

use serde::Serialize;

use crate::settings::Settings;

#[derive(Debug, Serialize)]
pub struct UpdateStatus {
    /// false when THOTH_UPDATE_DISABLED is true (updates come through MDM only).
    pub enabled: bool,
    pub channel: &'static str,
    pub pinned_version: Option<String>,
    pub current_version: &'static str,
    pub latest_seen: Option<String>,
    pub last_check_at: Option<String>,
    pub last_error: Option<String>,
}

pub fn status(settings: &Settings) -> UpdateStatus {
    let state = settings.thoth_dir.as_deref().and_then(super::state::load);
    let disabled = settings
        .get("THOTH_UPDATE_DISABLED")
        .is_some_and(|v| crate::settings::validate::boolean(&v.value).unwrap_or(true));
    UpdateStatus {
        enabled: !disabled,
        channel: super::config::channel_of(settings).as_str(),
        pinned_version: settings
            .get("THOTH_UPDATE_PINNED_VERSION")
            .map(|v| v.value.clone()),
        current_version: super::CURRENT_VERSION,
        latest_seen: state.as_ref().and_then(|s| s.latest_seen.clone()),
        last_check_at: state.as_ref().and_then(|s| s.last_check_at.clone()),
        last_error: state.and_then(|s| s.last_error),
    }
}

/// What is wrong with the update settings (a bad channel or pin, an extra key outside dev), with its fix.
pub fn problem(settings: &Settings) -> Option<(String, Option<String>)> {
    use crate::hint::Hint;
    let args = super::cli_args::UpdateArgs {
        check: true,
        force: false,
        version: None,
        channel: None,
        rollback: false,
        json: false,
    };
    super::config::resolve(settings, &args)
        .err()
        .map(|err| (err.to_string(), err.hint()))
}

/// The human form, one line plus the last error.
pub fn render(s: &UpdateStatus) -> String {
    let mut out = format!(
        "Updates: {} ({} channel{}); running {}, newest seen {}, last check {}\n",
        if s.enabled {
            "enabled"
        } else {
            "disabled by THOTH_UPDATE_DISABLED"
        },
        s.channel,
        s.pinned_version
            .as_deref()
            .map_or(String::new(), |v| format!(", pinned to {v}")),
        s.current_version,
        s.latest_seen.as_deref().unwrap_or("none"),
        s.last_check_at.as_deref().unwrap_or("never"),
    );
    if let Some(error) = &s.last_error {
        out += &format!("  last update error: {error}\n");
    }
    out
}
