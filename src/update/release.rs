//! The GitHub releases API as thoth reads it (`GET {url}/repos/{owner}/{repo}/releases`), the asset for this
//! OS and architecture, and the choice of what to install: newest on the channel, never a downgrade unless a
//! version is named with --force, `--force` alone reinstalls the current one. Pure: no I/O, tested here.

use semver::Version;
use serde::Deserialize;

use super::cli_args::Channel;
use super::Error;

/// One release, as the API lists it (unknown fields ignored).
#[derive(Debug, Clone, Deserialize)]
pub struct Release {
    pub tag_name: String,
    #[serde(default)]
    pub prerelease: bool,
    #[serde(default)]
    pub draft: bool,
    #[serde(default)]
    pub assets: Vec<Asset>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Asset {
    pub name: String,
    pub browser_download_url: String,
    /// The size GitHub recorded at upload; a shorter download is truncated.
    #[serde(default)]
    pub size: Option<u64>,
}

/// A release whose tag is a semantic version.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub version: Version,
    pub release: Release,
}

impl Candidate {
    pub fn asset(&self, name: &str) -> Option<&Asset> {
        self.release.assets.iter().find(|a| a.name == name)
    }
}

/// The release asset built for `os` / `arch` (`std::env::consts` names), if releases carry one.
pub fn asset_name(os: &str, arch: &str) -> Option<&'static str> {
    Some(match (os, arch) {
        ("macos", "x86_64" | "aarch64") => "thoth-macos-universal",
        ("linux", "x86_64") => "thoth-linux-x86_64",
        ("linux", "aarch64") => "thoth-linux-arm64",
        ("windows", "x86_64") => "thoth-windows-x86_64.exe",
        _ => return None,
    })
}

/// The asset for the machine thoth runs on.
pub fn this_asset_name() -> Option<&'static str> {
    asset_name(std::env::consts::OS, std::env::consts::ARCH)
}

/// Releases with a semver tag (drafts dropped), and the tags that were not semver (reported, never used).
pub fn candidates(releases: Vec<Release>) -> (Vec<Candidate>, Vec<String>) {
    let mut good = Vec::new();
    let mut skipped = Vec::new();
    for release in releases.into_iter().filter(|r| !r.draft) {
        match super::config::parse_version("tag", &release.tag_name) {
            Ok(version) => good.push(Candidate { version, release }),
            Err(_) => skipped.push(release.tag_name),
        }
    }
    (good, skipped)
}

/// Is this candidate on the channel? Stable takes neither GitHub prereleases nor semver pre-release versions.
pub fn on_channel(candidate: &Candidate, channel: Channel) -> bool {
    match channel {
        Channel::Beta => true,
        Channel::Stable => !candidate.release.prerelease && candidate.version.pre.is_empty(),
    }
}

/// The newest candidate on the channel.
pub fn newest(candidates: &[Candidate], channel: Channel) -> Option<&Candidate> {
    candidates
        .iter()
        .filter(|c| on_channel(c, channel))
        .max_by(|a, b| a.version.cmp(&b.version))
}

/// What to do.
#[derive(Debug, Clone)]
pub enum Plan {
    /// Nothing newer: the running version stays.
    UpToDate,
    Install {
        candidate: Candidate,
        kind: InstallKind,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstallKind {
    Upgrade,
    Reinstall,
    Downgrade,
}

impl InstallKind {
    pub fn as_str(self) -> &'static str {
        match self {
            InstallKind::Upgrade => "upgrade",
            InstallKind::Reinstall => "reinstall",
            InstallKind::Downgrade => "downgrade",
        }
    }
}

/// Choose what to install. `wanted`: a version named by --version or pinned by the administrator (looked up
/// on every channel: naming it is the choice). Never a downgrade without `force`.
pub fn plan(
    current: &Version,
    candidates: &[Candidate],
    skipped: &[String],
    channel: Channel,
    wanted: Option<&Version>,
    force: bool,
) -> Result<Plan, Error> {
    let find = |version: &Version| {
        candidates
            .iter()
            .find(|c| &c.version == version)
            .cloned()
            .ok_or_else(|| Error::VersionNotFound {
                version: version.to_string(),
                channel: channel.as_str(),
            })
    };
    let install = |candidate: Candidate, kind| Ok(Plan::Install { candidate, kind });
    if let Some(version) = wanted {
        return match version.cmp(current) {
            std::cmp::Ordering::Greater => install(find(version)?, InstallKind::Upgrade),
            std::cmp::Ordering::Equal if force => install(find(version)?, InstallKind::Reinstall),
            std::cmp::Ordering::Equal => Ok(Plan::UpToDate),
            std::cmp::Ordering::Less if force => install(find(version)?, InstallKind::Downgrade),
            std::cmp::Ordering::Less => Err(Error::Downgrade {
                from: current.to_string(),
                to: version.to_string(),
            }),
        };
    }
    let newest = newest(candidates, channel).ok_or_else(|| Error::NoRelease {
        channel: channel.as_str(),
        skipped: skipped.to_vec(),
    })?;
    if &newest.version > current {
        install(newest.clone(), InstallKind::Upgrade)
    } else if force {
        install(find(current)?, InstallKind::Reinstall)
    } else {
        Ok(Plan::UpToDate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn release(tag: &str, prerelease: bool) -> Release {
        Release {
            tag_name: tag.into(),
            prerelease,
            draft: false,
            assets: vec![],
        }
    }

    fn v(text: &str) -> Version {
        Version::parse(text).unwrap()
    }

    fn picked(plan: Plan) -> (String, InstallKind) {
        match plan {
            Plan::Install { candidate, kind } => (candidate.version.to_string(), kind),
            Plan::UpToDate => ("up to date".into(), InstallKind::Reinstall),
        }
    }

    fn list() -> (Vec<Candidate>, Vec<String>) {
        let mut draft = release("v9.9.9", false);
        draft.draft = true;
        candidates(vec![
            release("nightly", false),
            release("v1.3.0-beta.1", true),
            release("v1.2.0", false),
            release("1.1.0", false),
            draft,
        ])
    }

    #[test]
    fn non_semver_tags_and_drafts_are_never_candidates() {
        let (good, skipped) = list();
        assert_eq!(skipped, vec!["nightly".to_string()]);
        let versions: Vec<String> = good.iter().map(|c| c.version.to_string()).collect();
        assert_eq!(versions, ["1.3.0-beta.1", "1.2.0", "1.1.0"]);
    }

    #[test]
    fn the_channel_decides_the_newest() {
        let (good, skipped) = list();
        let current = v("1.1.0");
        let stable = plan(&current, &good, &skipped, Channel::Stable, None, false).unwrap();
        assert_eq!(picked(stable), ("1.2.0".into(), InstallKind::Upgrade));
        let beta = plan(&current, &good, &skipped, Channel::Beta, None, false).unwrap();
        assert_eq!(picked(beta), ("1.3.0-beta.1".into(), InstallKind::Upgrade));
    }

    #[test]
    fn never_downgrade_unless_named_with_force() {
        let (good, skipped) = list();
        let current = v("1.2.0");
        let older = v("1.1.0");
        assert!(matches!(
            plan(&current, &good, &skipped, Channel::Stable, None, false).unwrap(),
            Plan::UpToDate
        ));
        assert!(matches!(
            plan(
                &current,
                &good,
                &skipped,
                Channel::Stable,
                Some(&older),
                false
            ),
            Err(Error::Downgrade { .. })
        ));
        let forced = plan(
            &current,
            &good,
            &skipped,
            Channel::Stable,
            Some(&older),
            true,
        )
        .unwrap();
        assert_eq!(picked(forced), ("1.1.0".into(), InstallKind::Downgrade));
        // --force alone reinstalls the running version; it never picks an older one.
        let again = plan(&v("1.2.0"), &good, &skipped, Channel::Stable, None, true).unwrap();
        assert_eq!(picked(again), ("1.2.0".into(), InstallKind::Reinstall));
        // Running a beta newer than stable: stable is no downgrade target.
        let beta = v("1.3.0-beta.1");
        assert!(matches!(
            plan(&beta, &good, &skipped, Channel::Stable, None, false).unwrap(),
            Plan::UpToDate
        ));
    }

    #[test]
    fn nothing_usable_names_what_was_skipped() {
        let (good, skipped) = candidates(vec![release("latest", false)]);
        let err = plan(&v("1.0.0"), &good, &skipped, Channel::Stable, None, false).unwrap_err();
        assert!(err.to_string().contains("latest"), "{err}");
        let (good, skipped) = list();
        assert!(matches!(
            plan(
                &v("1.0.0"),
                &good,
                &skipped,
                Channel::Stable,
                Some(&v("5.0.0")),
                false
            ),
            Err(Error::VersionNotFound { .. })
        ));
    }

    #[test]
    fn every_supported_platform_has_an_asset() {
        assert_eq!(
            asset_name("macos", "aarch64"),
            Some("thoth-macos-universal")
        );
        assert_eq!(asset_name("macos", "x86_64"), Some("thoth-macos-universal"));
        assert_eq!(asset_name("linux", "x86_64"), Some("thoth-linux-x86_64"));
        assert_eq!(asset_name("linux", "aarch64"), Some("thoth-linux-arm64"));
        assert_eq!(
            asset_name("windows", "x86_64"),
            Some("thoth-windows-x86_64.exe")
        );
        assert_eq!(asset_name("freebsd", "x86_64"), None);
    }
}
