//! The gate: a download is installed only if its SHA-256 matches `checksums.sha256`, its `<asset>.minisig`
//! verifies against one of the trusted release keys, and the signed trusted comment names the same version
//! and asset (so a valid signature cannot be replayed for another release). Pure: bytes in, verdict out.

use minisign_verify::Signature;
use sha2::{Digest, Sha256};

use super::keys::TrustedKeys;
use super::Error;
use crate::minisig::Unverified;

/// The trusted comment the release helper signs: `thoth-release version:<v> asset:<name> timestamp:<unix>`.
pub fn trusted_comment(version: &str, asset: &str, timestamp: u64) -> String {
    format!("thoth-release version:{version} asset:{asset} timestamp:{timestamp}")
}

/// Lowercase hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The expected SHA-256 of `asset` in a `sha256sum`-style file (`<hex>  <name>` or `<hex> *<name>`).
pub fn checksum_for(checksums: &str, asset: &str) -> Option<String> {
    checksums.lines().find_map(|line| {
        let (hex, name) = line.trim().split_once(char::is_whitespace)?;
        let name = name.trim_start().trim_start_matches('*');
        (name == asset && hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| hex.to_ascii_lowercase())
    })
}

/// Check `bytes` against the checksum list.
pub fn check_checksum(checksums: &str, asset: &str, bytes: &[u8]) -> Result<(), Error> {
    let expected = checksum_for(checksums, asset).ok_or_else(|| Error::ChecksumMissing {
        asset: asset.into(),
    })?;
    let actual = sha256_hex(bytes);
    if actual != expected {
        return Err(Error::ChecksumMismatch {
            asset: asset.into(),
            expected,
            actual,
        });
    }
    Ok(())
}

/// Verify the minisign signature of `bytes` with the trusted keys, then its trusted comment.
pub fn check_signature(
    keys: &TrustedKeys,
    signature: &str,
    bytes: &[u8],
    asset: &str,
    version: &semver::Version,
) -> Result<(), Error> {
    if keys.is_empty() {
        return Err(Error::NoKeys);
    }
    let signature = Signature::decode(signature).map_err(|e| Error::SignatureMalformed {
        asset: asset.into(),
        reason: e.to_string(),
    })?;
    crate::minisig::verify_with_any(keys.keys(), bytes, &signature, false).map_err(
        |why| match why {
            Unverified::UnknownKey => Error::UnknownKey {
                asset: asset.into(),
            },
            Unverified::BadSignature => Error::BadSignature {
                asset: asset.into(),
            },
            Unverified::Malformed(reason) => Error::SignatureMalformed {
                asset: asset.into(),
                reason,
            },
        },
    )?;
    check_comment(signature.trusted_comment(), asset, version)
}

/// The signed comment must say `version:<version>` and `asset:<asset>`.
pub fn check_comment(comment: &str, asset: &str, version: &semver::Version) -> Result<(), Error> {
    let field = |name: &str| {
        comment
            .split_whitespace()
            .find_map(|token| token.strip_prefix(name)?.strip_prefix(':'))
    };
    let version_ok = field("version")
        .and_then(|v| super::config::parse_version("version", v).ok())
        .is_some_and(|v| &v == version);
    if !version_ok || field("asset") != Some(asset) {
        return Err(Error::TrustedComment {
            asset: asset.into(),
            version: version.to_string(),
            comment: comment.into(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ASSET: &str = "thoth-linux-x86_64";

    struct Signer {
        pk: minisign::PublicKey,
        sk: minisign::SecretKey,
    }

    impl Signer {
        fn new() -> Signer {
            let minisign::KeyPair { pk, sk } =
                minisign::KeyPair::generate_unencrypted_keypair().unwrap();
            Signer { pk, sk }
        }

        fn keys(&self) -> TrustedKeys {
            TrustedKeys::load(Some(&self.pk.to_base64())).unwrap()
        }

        fn sign(&self, bytes: &[u8], comment: &str) -> String {
            minisign::sign(Some(&self.pk), &self.sk, bytes, Some(comment), None)
                .unwrap()
                .into_string()
        }
    }

    fn v(text: &str) -> semver::Version {
        semver::Version::parse(text).unwrap()
    }

    #[test]
    fn a_good_signature_with_the_right_comment_passes() {
        let s = Signer::new();
        let sig = s.sign(b"binary", &trusted_comment("1.2.3", ASSET, 1));
        check_signature(&s.keys(), &sig, b"binary", ASSET, &v("1.2.3")).unwrap();
    }

    #[test]
    fn every_forgery_is_refused_for_its_own_reason() {
        let s = Signer::new();
        let other = Signer::new();
        let comment = trusted_comment("1.2.3", ASSET, 1);
        let keys = s.keys();
        let good = s.sign(b"binary", &comment);
        // Another file.
        let err = check_signature(&keys, &good, b"binarz", ASSET, &v("1.2.3")).unwrap_err();
        assert!(matches!(err, Error::BadSignature { .. }), "{err}");
        // Another key.
        let theirs = other.sign(b"binary", &comment);
        let err = check_signature(&keys, &theirs, b"binary", ASSET, &v("1.2.3")).unwrap_err();
        assert!(matches!(err, Error::UnknownKey { .. }), "{err}");
        // Another version, another asset.
        for wrong in [
            trusted_comment("1.2.2", ASSET, 1),
            trusted_comment("1.2.3", "thoth-linux-arm64", 1),
            "timestamp:1 file:thoth-linux-x86_64".into(),
        ] {
            let sig = s.sign(b"binary", &wrong);
            let err = check_signature(&keys, &sig, b"binary", ASSET, &v("1.2.3")).unwrap_err();
            assert!(matches!(err, Error::TrustedComment { .. }), "{err}");
        }
        // Garbage.
        let err =
            check_signature(&keys, "not a signature", b"binary", ASSET, &v("1.2.3")).unwrap_err();
        assert!(matches!(err, Error::SignatureMalformed { .. }), "{err}");
        // No keys at all.
        let none = TrustedKeys::load(None).unwrap();
        if none.is_empty() {
            assert!(matches!(
                check_signature(&none, &good, b"binary", ASSET, &v("1.2.3")),
                Err(Error::NoKeys)
            ));
        }
    }

    #[test]
    fn checksums_are_read_in_sha256sum_format() {
        let hex = sha256_hex(b"binary");
        let list = format!("{}  other\n{hex} *{ASSET}\n", "0".repeat(64));
        assert_eq!(checksum_for(&list, ASSET), Some(hex.clone()));
        check_checksum(&list, ASSET, b"binary").unwrap();
        assert!(matches!(
            check_checksum(&list, ASSET, b"binarz"),
            Err(Error::ChecksumMismatch { .. })
        ));
        assert!(matches!(
            check_checksum(&list, "thoth-linux-arm64", b"binary"),
            Err(Error::ChecksumMissing { .. })
        ));
    }
}
