//! The update policy for one command: channel, pinned version, disabled flag, where releases live, the
//! timeout and the trusted keys, from resolved settings (a managed value wins) and the command's flags. A flag
//! that contradicts a managed value is refused with a message naming it, rather than silently ignored.

use std::time::Duration;

use super::cli_args::{Channel, UpdateArgs};
use super::keys::TrustedKeys;
use super::Error;
use crate::settings::{validate, Environment, Settings, Source};

/// THOTH_UPDATE_URL when unset.
pub const DEFAULT_URL: &str = "https://api.github.com";
/// THOTH_UPDATE_REPO when unset.
pub const DEFAULT_REPO: &str = "atensecurity/thoth";
/// THOTH_UPDATE_TIMEOUT_SECONDS when unset.
pub const DEFAULT_TIMEOUT_SECONDS: u64 = 300;
/// THOTH_UPDATE_STALL_SECONDS when unset: a server silent this long has stalled.
pub const DEFAULT_STALL_SECONDS: u64 = 30;

#[derive(Debug)]
pub struct UpdateConfig {
    pub disabled: Option<String>,
    pub channel: Channel,
    pub pinned: Option<semver::Version>,
    /// The explicit version asked for (`--version`, or the pin).
    pub wanted: Option<semver::Version>,
    pub api_url: String,
    pub repo: String,
    pub timeout: Duration,
    /// Longest wait for the next byte (THOTH_UPDATE_STALL_SECONDS).
    pub stall: Duration,
    pub keys: TrustedKeys,
    /// A managed setting is in force: no progress bar (nobody is watching an MDM-run update).
    pub managed: bool,
}

/// The policy as far as settings alone say (for `doctor` and the state file): never fails.
pub fn channel_of(settings: &Settings) -> Channel {
    settings
        .get("THOTH_UPDATE_CHANNEL")
        .and_then(|v| Channel::parse(&v.value))
        .unwrap_or(Channel::Stable)
}

pub fn resolve(settings: &Settings, args: &UpdateArgs) -> Result<UpdateConfig, Error> {
    let disabled = match settings.get("THOTH_UPDATE_DISABLED") {
        Some(v) if parse_bool("THOTH_UPDATE_DISABLED", &v.value)? => Some(v.source.to_string()),
        _ => None,
    };
    let channel_setting = settings.get("THOTH_UPDATE_CHANNEL");
    let channel = match channel_setting {
        Some(v) => Channel::parse(&v.value).ok_or_else(|| Error::Setting {
            name: "THOTH_UPDATE_CHANNEL",
            value: v.value.clone(),
            expected: "stable or beta",
        })?,
        None => Channel::Stable,
    };
    if let (Some(asked), Some(set)) = (args.channel, channel_setting) {
        if matches!(set.source, Source::Managed(_)) && asked != channel {
            return Err(Error::Locked {
                flag: "--channel",
                name: "THOTH_UPDATE_CHANNEL",
                asked: asked.as_str().into(),
                locked: set.value.clone(),
                origin: set.source.to_string(),
            });
        }
    }
    let channel = match (args.channel, channel_setting) {
        (Some(_), Some(set)) if matches!(set.source, Source::Managed(_)) => channel,
        (Some(asked), _) => asked,
        _ => channel,
    };
    let pinned = match settings.get("THOTH_UPDATE_PINNED_VERSION") {
        Some(v) => Some(parse_version("THOTH_UPDATE_PINNED_VERSION", &v.value)?),
        None => None,
    };
    let asked = match &args.version {
        Some(text) => Some(parse_version("--version", text)?),
        None => None,
    };
    if let (Some(asked), Some(pin)) = (&asked, &pinned) {
        if asked != pin {
            let origin = settings
                .get("THOTH_UPDATE_PINNED_VERSION")
                .map(|v| v.source.to_string())
                .unwrap_or_default();
            return Err(Error::Locked {
                flag: "--version",
                name: "THOTH_UPDATE_PINNED_VERSION",
                asked: asked.to_string(),
                locked: pin.to_string(),
                origin,
            });
        }
    }
    let timeout_seconds = match settings.get("THOTH_UPDATE_TIMEOUT_SECONDS") {
        Some(v) => validate::seconds(&v.value).map_err(|expected| Error::Setting {
            name: "THOTH_UPDATE_TIMEOUT_SECONDS",
            value: v.value.clone(),
            expected,
        })?,
        None => DEFAULT_TIMEOUT_SECONDS,
    };
    let stall_seconds = match settings.get("THOTH_UPDATE_STALL_SECONDS") {
        Some(v) => validate::seconds(&v.value).map_err(|expected| Error::Setting {
            name: "THOTH_UPDATE_STALL_SECONDS",
            value: v.value.clone(),
            expected,
        })?,
        None => DEFAULT_STALL_SECONDS,
    };
    let extra = settings.get("THOTH_UPDATE_PUBKEY");
    if extra.is_some() && settings.environment.value != Environment::Dev {
        return Err(Error::PubkeyRefused {
            environment: settings.environment.value.as_str(),
        });
    }
    let keys = TrustedKeys::load(extra.map(|v| v.value.as_str()))?;
    Ok(UpdateConfig {
        disabled,
        channel,
        wanted: asked.or_else(|| pinned.clone()),
        pinned,
        api_url: settings
            .get("THOTH_UPDATE_URL")
            .map_or(DEFAULT_URL.into(), |v| {
                v.value.trim_end_matches('/').to_owned()
            }),
        repo: settings
            .get("THOTH_UPDATE_REPO")
            .map_or(DEFAULT_REPO.into(), |v| v.value.clone()),
        timeout: Duration::from_secs(timeout_seconds.max(1)),
        stall: Duration::from_secs(stall_seconds.max(1)),
        keys,
        managed: settings
            .values
            .values()
            .any(|v| matches!(v.source, Source::Managed(_))),
    })
}

fn parse_bool(name: &'static str, value: &str) -> Result<bool, Error> {
    validate::boolean(value).map_err(|expected| Error::Setting {
        name,
        value: value.into(),
        expected,
    })
}

/// A version as a person or a tag writes it: `1.4.2` or `v1.4.2`; anything else is refused.
pub fn parse_version(what: &'static str, text: &str) -> Result<semver::Version, Error> {
    let trimmed = text.trim();
    let bare = trimmed.strip_prefix('v').unwrap_or(trimmed);
    semver::Version::parse(bare).map_err(|_| Error::NotSemver {
        what,
        value: text.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_semver_with_an_optional_v() {
        assert_eq!(
            parse_version("--version", "v1.2.3").unwrap().to_string(),
            "1.2.3"
        );
        assert_eq!(
            parse_version("--version", "1.3.0-beta.2")
                .unwrap()
                .to_string(),
            "1.3.0-beta.2"
        );
        for bad in ["latest", "1.2", "v1", "2024-05-01", "", "1.2.3.4"] {
            assert!(
                matches!(parse_version("tag", bad), Err(Error::NotSemver { .. })),
                "{bad}"
            );
        }
    }
}
