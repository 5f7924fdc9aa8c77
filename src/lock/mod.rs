//! Pinning what an MCP server offers (issue 14): the lockfile model and its RFC 8785 hashes (`model`, `jcs`),
//! drift (`drift`), signed lockfiles (`signature`), the run-time
//! view of the live tool set (`guard`). The `thoth lock` / `thoth diff` commands are `commands::lock`. Never
//! imports `cli` or a command.

pub mod cli_args;
pub mod drift;
pub mod guard;
pub mod jcs;
pub mod model;
pub mod setup;
pub mod signature;

use std::path::{Path, PathBuf};

use crate::hint::Hint;
use model::Lockfile;

/// Largest lockfile read (a few thousand tools fit in a megabyte).
const MAX_LOCKFILE_BYTES: u64 = 16 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("could not read the lockfile {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is not a thoth lockfile: {reason}", path.display())]
    NotALockfile { path: PathBuf, reason: String },
    #[error("the signature {} is missing", path.display())]
    SignatureMissing { path: PathBuf },
    #[error("the signature {} is malformed: {reason}", path.display())]
    SignatureMalformed { path: PathBuf, reason: String },
    #[error("the signature {} was made with a key that is not trusted (another key id)", path.display())]
    UnknownKey { path: PathBuf },
    #[error("the signature {} does not match {} (the file or the signed trusted comment was changed)", path.display(), lock.display())]
    BadSignature { path: PathBuf, lock: PathBuf },
    #[error("the trusted comment of {} does not name the file `file:{expected}`: {comment:?}", path.display())]
    CommentFile {
        path: PathBuf,
        expected: String,
        comment: String,
    },
    #[error("the lock public key {key:?} is not usable: {reason}")]
    PublicKey { key: String, reason: String },
    #[error("could not sign with {}: {reason}", key.display())]
    Sign { key: PathBuf, reason: String },
    #[error("could not write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the MCP server failed: {0}")]
    Server(String),
    #[error("{method} failed: {reason}")]
    List { method: String, reason: String },
    #[error("{0}")]
    Required(String),
}

impl Hint for Error {
    fn hint(&self) -> Option<String> {
        match self {
            Error::Read { .. } | Error::NotALockfile { .. } => Some("check --lock (or THOTH_LOCK_DIR): make the file with `thoth lock --output FILE -- <server...>`".into()),
            Error::SignatureMissing { .. } | Error::SignatureMalformed { .. } => Some("sign the lockfile with `minisign -Sm FILE` and deliver FILE.minisig beside it".into()),
            Error::UnknownKey { .. } => Some("sign with the key given by --lock-pubkey / THOTH_LOCK_PUBLIC_KEYS, or trust the signer's key".into()),
            Error::BadSignature { .. } | Error::CommentFile { .. } => Some("sign this very file again with `minisign -Sm FILE` (its default trusted comment names the file)".into()),
            Error::PublicKey { .. } => Some("--lock-pubkey takes a minisign .pub file or its `RW...` key line".into()),
            Error::Sign { .. } => Some("--sign takes a minisign secret key file (`minisign -G`)".into()),
            Error::Write { .. } => Some("check that the folder exists and is writable".into()),
            Error::Server(_) | Error::List { .. } => Some("check the server command after `--` (run it by hand to see its errors)".into()),
            Error::Required(_) => Some("deliver a signed <server>.lock.json (and .minisig) into THOTH_LOCK_DIR, or ask IT to lift THOTH_REQUIRE_LOCK".into()),
        }
    }
}

/// Read a lockfile; with keys, verify `FILE.minisig` first. Every failure names the file.
pub fn load(path: &Path, keys: &[minisign_verify::PublicKey]) -> Result<Lockfile, Error> {
    let read = |path: &Path| -> Result<Vec<u8>, std::io::Error> {
        use std::io::Read;
        let mut bytes = Vec::new();
        std::fs::File::open(path)?
            .take(MAX_LOCKFILE_BYTES + 1)
            .read_to_end(&mut bytes)?;
        Ok(bytes)
    };
    let bytes = read(path).map_err(|source| Error::Read {
        path: path.to_owned(),
        source,
    })?;
    if bytes.len() as u64 > MAX_LOCKFILE_BYTES {
        return Err(Error::NotALockfile {
            path: path.to_owned(),
            reason: format!("larger than {MAX_LOCKFILE_BYTES} bytes"),
        });
    }
    if !keys.is_empty() {
        let sig_path = signature::signature_path(path);
        let sig = match std::fs::read(&sig_path) {
            Ok(sig) => sig,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::SignatureMissing { path: sig_path })
            }
            Err(err) => {
                return Err(Error::SignatureMalformed {
                    path: sig_path,
                    reason: err.to_string(),
                })
            }
        };
        let sig = String::from_utf8(sig).map_err(|_| Error::SignatureMalformed {
            path: sig_path.clone(),
            reason: "not UTF-8 text".into(),
        })?;
        signature::verify(path, &bytes, &sig, keys)?;
    }
    Lockfile::parse(&bytes).map_err(|reason| Error::NotALockfile {
        path: path.to_owned(),
        reason,
    })
}
