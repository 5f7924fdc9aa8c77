//! Why an update (or a rollback) was refused or failed, each with what to do about it. Every refusal leaves
//! the installed binary as it was: errors are raised before anything is swapped.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("self-update is disabled by THOTH_UPDATE_DISABLED ({origin})")]
    Disabled { origin: String },
    #[error(
        "{flag} {asked} conflicts with {name} = {locked:?}, set by your administrator ({origin})"
    )]
    Locked {
        flag: &'static str,
        name: &'static str,
        asked: String,
        locked: String,
        origin: String,
    },
    #[error("{name} = {value:?} is not valid: expected {expected}")]
    Setting {
        name: &'static str,
        value: String,
        expected: &'static str,
    },
    #[error("THOTH_UPDATE_PUBKEY is refused when THOTH_ENV is {environment}: only a dev build may trust an extra release key")]
    PubkeyRefused { environment: &'static str },
    #[error("THOTH_UPDATE_PUBKEY is not a minisign public key: {reason}")]
    BadPubkey { reason: String },
    #[error("this build of thoth has no release public keys compiled in (installers/release-keys.pub was empty when it was built), so no update can be verified")]
    NoKeys,
    #[error("{what} {value:?} is not a semantic version (like 1.4.2)")]
    NotSemver { what: &'static str, value: String },
    #[error("the release lookup {url} failed: {reason}")]
    Lookup { url: String, reason: String },
    #[error("no {channel} release with a semantic-version tag was found{}", skipped_note(.skipped))]
    NoRelease {
        channel: &'static str,
        skipped: Vec<String>,
    },
    #[error("no {channel} release {version} was found")]
    VersionNotFound {
        version: String,
        channel: &'static str,
    },
    #[error("refusing to downgrade from {from} to {to}")]
    Downgrade { from: String, to: String },
    #[error("release {version} has no asset {asset} (this OS and architecture) or no {missing}")]
    NoAsset {
        version: String,
        asset: String,
        missing: String,
    },
    #[error("downloading {url} failed: {reason}")]
    Download { url: String, reason: String },
    #[error("the download of {asset} was truncated: got {got} of {expected} bytes")]
    Truncated {
        asset: String,
        got: u64,
        expected: u64,
    },
    #[error("{asset} is not listed in checksums.sha256")]
    ChecksumMissing { asset: String },
    #[error("the checksum of {asset} does not match checksums.sha256 (expected {expected}, got {actual})")]
    ChecksumMismatch {
        asset: String,
        expected: String,
        actual: String,
    },
    #[error("{asset}.minisig is not a minisign signature: {reason}")]
    SignatureMalformed { asset: String, reason: String },
    #[error("{asset}.minisig was made by a key this build does not trust")]
    UnknownKey { asset: String },
    #[error("the signature in {asset}.minisig does not verify: the file or its signature was altered, or the signature belongs to another file")]
    BadSignature { asset: String },
    #[error(
        "the signed trusted comment {comment:?} does not name version {version} and asset {asset}"
    )]
    TrustedComment {
        asset: String,
        version: String,
        comment: String,
    },
    #[error("{} was installed by {how}; thoth will not replace it itself", path.display())]
    PackageManaged { path: PathBuf, how: String },
    #[error("the verified archive {asset} cannot be unpacked: {reason}")]
    Archive { asset: String, reason: String },
    #[error("the downloaded binary does not run on this machine: {reason}")]
    NewBinaryFails { reason: String },
    #[error("cannot {action} {}: {error}", path.display())]
    Install {
        action: &'static str,
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("there is no previous binary to roll back to ({} does not exist)", path.display())]
    NoPrevious { path: PathBuf },
}

fn skipped_note(skipped: &[String]) -> String {
    if skipped.is_empty() {
        String::new()
    } else {
        format!(
            " (ignored tags that are not semver: {})",
            skipped.join(", ")
        )
    }
}

impl crate::hint::Hint for Error {
    fn hint(&self) -> Option<String> {
        Some(match self {
            Error::Disabled { .. } | Error::PackageManaged { .. } => {
                "updates for this machine come through your MDM (Jamf Pro / Intune): ask your administrator to push the new version".into()
            }
            Error::Locked { flag, name, .. } => format!("drop {flag}: {name} is managed and cannot be overridden"),
            Error::Setting { name, .. } => format!("fix or remove {name}"),
            Error::PubkeyRefused { .. } => "unset THOTH_UPDATE_PUBKEY (or use THOTH_ENV=dev on a development machine)".into(),
            Error::BadPubkey { .. } => "set THOTH_UPDATE_PUBKEY to the base64 line of a minisign .pub file (it starts with RW)".into(),
            Error::NoKeys => "install thoth from a release build, or add the release public key to installers/release-keys.pub and rebuild (see installers/README.md)".into(),
            Error::NotSemver { what: "--version", .. } => "give --version as MAJOR.MINOR.PATCH, e.g. --version 1.4.2".into(),
            Error::NotSemver { .. } => "ask the release maintainers to tag releases vMAJOR.MINOR.PATCH".into(),
            Error::Lookup { .. } | Error::Download { .. } => "check the network, THOTH_UPDATE_URL and THOTH_UPDATE_TIMEOUT_SECONDS, then run `thoth update` again".into(),
            Error::NoRelease { .. } | Error::VersionNotFound { .. } => "check THOTH_UPDATE_REPO, the channel (--channel beta includes prereleases) and the version".into(),
            Error::Downgrade { .. } => "to install an older version on purpose, name it with --version and add --force".into(),
            Error::NoAsset { .. } => "this release was not built for this machine: wait for the next one or install it through your MDM".into(),
            Error::Truncated { .. } => "the connection was cut: run `thoth update` again".into(),
            Error::ChecksumMissing { .. } | Error::ChecksumMismatch { .. } | Error::SignatureMalformed { .. }
            | Error::UnknownKey { .. } | Error::BadSignature { .. } | Error::TrustedComment { .. } => {
                "nothing was installed; this release cannot be trusted as served: report it to your security team".into()
            }
            Error::NewBinaryFails { .. } | Error::Archive { .. } => "nothing was installed: report this release to the thoth maintainers".into(),
            Error::Install { path, .. } => format!("check that {} and its folder are writable by the user running `thoth update`", path.display()),
            Error::NoPrevious { .. } => "a rollback is possible only after `thoth update` replaced this binary".into(),
        })
    }
}
