//! `thoth update` / `thoth self-update` flags (clap). Parsing only: the update policy (channel, pin, disabled)
//! is resolved with its sources in `settings`, where an MDM-managed value wins.

use clap::{ArgGroup, Args, ValueEnum};

/// `thoth update [--check] [--force] [--version V] [--channel stable|beta] [--json]`, or `--rollback`.
/// `--version` here names the release to install, so the version flag clap adds everywhere is off for this
/// command (`thoth --version` still prints thoth's own).
#[derive(Debug, Args)]
#[command(disable_version_flag = true)]
#[command(group(ArgGroup::new("rollback_alone").args(["check", "force", "version", "channel"]).multiple(true).conflicts_with("rollback")))]
pub struct UpdateArgs {
    /// Only look up the newest release and say whether it would be installed; change nothing.
    #[arg(long)]
    pub check: bool,
    /// Reinstall the current version; with --version, allow an older one (a downgrade).
    #[arg(long)]
    pub force: bool,
    /// Install exactly this release (semver, e.g. 1.4.2); older than the running one needs --force.
    #[arg(long, value_name = "VERSION")]
    pub version: Option<String>,
    /// The release channel (THOTH_UPDATE_CHANNEL; a managed value wins).
    #[arg(long, value_enum, value_name = "CHANNEL")]
    pub channel: Option<Channel>,
    /// Put back the binary the last update replaced.
    #[arg(long)]
    pub rollback: bool,
    /// Print the result as JSON (schemas/update-check.schema.json); no progress bar.
    #[arg(long)]
    pub json: bool,
}

/// Which releases count: `stable` skips GitHub prereleases, `beta` includes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Stable,
    Beta,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Stable => "stable",
            Channel::Beta => "beta",
        }
    }

    pub fn parse(text: &str) -> Option<Channel> {
        match text.trim().to_ascii_lowercase().as_str() {
            "stable" => Some(Channel::Stable),
            "beta" => Some(Channel::Beta),
            _ => None,
        }
    }
}
