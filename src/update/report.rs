//! What `thoth update` did or would do, rendered once: JSON (`schemas/update-check.schema.json`) or a few
//! lines for a person.

use serde::Serialize;

use super::config::UpdateConfig;

pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// `--check`: nothing changed.
    Check,
    UpToDate,
    Updated,
    RolledBack,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Check => "check",
            Action::UpToDate => "up_to_date",
            Action::Updated => "updated",
            Action::RolledBack => "rolled_back",
        }
    }
}

#[derive(Debug, Serialize)]
pub struct UpdateReport {
    pub schema_version: u32,
    pub action: Action,
    pub channel: &'static str,
    /// The version that was running when the command started.
    pub current_version: &'static str,
    /// The newest release on the channel (null when not looked up).
    pub latest_version: Option<String>,
    /// What was (or, with --check, would be) installed.
    pub target_version: Option<String>,
    pub update_available: bool,
    /// upgrade | reinstall | downgrade
    pub install: Option<&'static str>,
    pub asset: Option<String>,
    pub pinned_version: Option<String>,
    pub installed_path: Option<String>,
    pub previous_path: Option<String>,
}

impl UpdateReport {
    pub fn new(config: &UpdateConfig, latest_version: Option<String>) -> UpdateReport {
        UpdateReport {
            schema_version: SCHEMA_VERSION,
            action: Action::Check,
            channel: config.channel.as_str(),
            current_version: super::CURRENT_VERSION,
            latest_version,
            target_version: None,
            update_available: false,
            install: None,
            asset: None,
            pinned_version: config.pinned.as_ref().map(ToString::to_string),
            installed_path: None,
            previous_path: None,
        }
    }
}

/// The human form.
pub fn render(r: &UpdateReport) -> String {
    let latest = r.latest_version.as_deref().unwrap_or("none");
    let target = r.target_version.as_deref().unwrap_or("?");
    let kept = r.previous_path.as_deref().unwrap_or("?");
    let path = r.installed_path.as_deref().unwrap_or("?");
    match r.action {
        Action::Check if r.update_available => format!(
            "thoth {} ({} channel): {target} can be installed ({}); run `thoth update`\n",
            r.current_version,
            r.channel,
            r.install.unwrap_or("upgrade")
        ),
        Action::Check | Action::UpToDate => format!(
            "thoth {} is up to date ({} channel; newest release: {latest})\n",
            r.current_version, r.channel
        ),
        Action::Updated => format!(
            "thoth updated {} -> {target} at {path}\nThe previous binary is kept at {kept}; `thoth update --rollback` puts it back.\n",
            r.current_version
        ),
        Action::RolledBack => format!(
            "thoth rolled back at {path} to the previous binary{}\nThe replaced one is kept at {kept}.\n",
            r.target_version
                .as_deref()
                .map_or(String::new(), |v| format!(" ({v})"))
        ),
    }
}
