//! Signed lockfiles: `FILE.minisig` verified against trusted minisign keys (prehashed `ED` and legacy `Ed`,
//! with the trusted comment's global signature), and the comment bound to the file's name (`file:<basename>`,
//! as `minisign -Sm FILE` writes by default). Also `thoth lock --sign`. Pure apart from reading the key.

use std::path::{Path, PathBuf};

use minisign_verify::{PublicKey, Signature};

use crate::minisig::Unverified;

use super::Error;

/// `FILE.minisig`.
pub fn signature_path(lock: &Path) -> PathBuf {
    let mut name = lock.as_os_str().to_owned();
    name.push(".minisig");
    PathBuf::from(name)
}

/// A trusted key: the path of a minisign `.pub` file, or the base64 key line (`RW...`).
pub fn load_key(spec: &str) -> Result<PublicKey, Error> {
    let spec = spec.trim();
    let path = Path::new(spec);
    let bad = |reason: String| Error::PublicKey {
        key: spec.to_owned(),
        reason,
    };
    if !path.exists() && spec.starts_with("RW") {
        return PublicKey::from_base64(spec).map_err(|e| bad(e.to_string()));
    }
    let text = std::fs::read_to_string(path).map_err(|e| bad(format!("cannot read it: {e}")))?;
    PublicKey::decode(&text)
        .or_else(|_| {
            let line = text
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or_default();
            PublicKey::from_base64(line.trim())
        })
        .map_err(|e| bad(e.to_string()))
}

/// Check `bytes` (the lockfile at `lock`) against `signature_text` with any of `keys`, then the comment.
pub fn verify(
    lock: &Path,
    bytes: &[u8],
    signature_text: &str,
    keys: &[PublicKey],
) -> Result<(), Error> {
    let sig_path = signature_path(lock);
    let signature = Signature::decode(signature_text).map_err(|e| Error::SignatureMalformed {
        path: sig_path.clone(),
        reason: e.to_string(),
    })?;
    crate::minisig::verify_with_any(keys, bytes, &signature, true).map_err(|why| match why {
        Unverified::UnknownKey => Error::UnknownKey { path: sig_path },
        Unverified::BadSignature => Error::BadSignature {
            path: sig_path,
            lock: lock.to_owned(),
        },
        Unverified::Malformed(reason) => Error::SignatureMalformed {
            path: sig_path,
            reason,
        },
    })?;
    check_comment(lock, signature.trusted_comment())
}

/// The signed comment must hold the tab-separated field `file:<basename of FILE>`.
pub fn check_comment(lock: &Path, comment: &str) -> Result<(), Error> {
    let basename = lock
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if comment
        .split('\t')
        .any(|field| field.strip_prefix("file:") == Some(basename.as_str()))
    {
        return Ok(());
    }
    Err(Error::CommentFile {
        path: signature_path(lock),
        expected: basename,
        comment: comment.to_owned(),
    })
}

/// `thoth lock --sign KEY`: write `FILE.minisig` as `minisign -Sm FILE` would (default trusted comment).
pub fn sign(lock: &Path, bytes: &[u8], secret_key: &Path) -> Result<(), Error> {
    use minisign::{SecretKey, SecretKeyBox};
    let failed = |reason: String| Error::Sign {
        key: secret_key.to_owned(),
        reason,
    };
    let text = std::fs::read_to_string(secret_key).map_err(|e| failed(e.to_string()))?;
    let key_box = SecretKeyBox::from_string(&text).map_err(|e| failed(e.to_string()))?;
    let key = SecretKey::from_unencrypted_box(key_box.clone())
        .or_else(|_| SecretKey::from_box(key_box, None))
        .map_err(|e| failed(e.to_string()))?;
    let basename = lock
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let timestamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let comment = format!("timestamp:{timestamp}\tfile:{basename}\thashed");
    let signature = minisign::sign(None, &key, bytes, Some(&comment), None)
        .map_err(|e| failed(e.to_string()))?;
    let path = signature_path(lock);
    std::fs::write(&path, signature.into_string()).map_err(|source| Error::Write { path, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// minisign-verify's own legacy (`Ed`) vector: the bytes `test`, signed with `file:test`.
    const LEGACY_KEY: &str = "RWQf6LRCGA9i53mlYecO4IzT51TGPpvWucNSCh1CBM0QTaLn73Y7GFO3";
    const LEGACY_SIG: &str = "untrusted comment: signature from minisign secret key
RWQf6LRCGA9i59SLOFxz6NxvASXDJeRtuZykwQepbDEGt87ig1BNpWaVWuNrm73YiIiJbq71Wi+dP9eKL8OC351vwIasSSbXxwA=
trusted comment: timestamp:1555779966\tfile:test
QtKMXWyYcwdpZAlPF7tE2ENJkRd1ujvKjlj1m9RtHTBnZPa5WKU5uWRs5GoP5M/VqE81QFuMKI5k/SfNQUaOAA==";

    #[test]
    fn legacy_signatures_verify_and_bind_the_name() {
        let key = load_key(LEGACY_KEY).unwrap();
        verify(
            Path::new("/x/test"),
            b"test",
            LEGACY_SIG,
            std::slice::from_ref(&key),
        )
        .unwrap();
        assert!(matches!(
            verify(
                Path::new("/x/test"),
                b"Test",
                LEGACY_SIG,
                std::slice::from_ref(&key)
            ),
            Err(Error::BadSignature { .. })
        ));
        assert!(matches!(
            verify(
                Path::new("/x/other"),
                b"test",
                LEGACY_SIG,
                std::slice::from_ref(&key)
            ),
            Err(Error::CommentFile { .. })
        ));
        let changed = LEGACY_SIG.replace("timestamp:1555779966", "timestamp:1555779967");
        assert!(matches!(
            verify(Path::new("/x/test"), b"test", &changed, &[key]),
            Err(Error::BadSignature { .. })
        ));
    }

    #[test]
    fn comment_fields_are_tab_separated() {
        assert!(check_comment(
            Path::new("a.lock.json"),
            "timestamp:1\tfile:a.lock.json\thashed"
        )
        .is_ok());
        assert!(check_comment(Path::new("a.lock.json"), "file:a.lock.json").is_ok());
        assert!(check_comment(Path::new("a.lock.json"), "timestamp:1 file:a.lock.json").is_err());
        assert!(check_comment(Path::new("a.lock.json"), "file:b.lock.json").is_err());
        assert!(check_comment(Path::new("a.lock.json"), "file:a.lock.json.bak").is_err());
    }
}
