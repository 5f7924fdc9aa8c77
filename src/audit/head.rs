//! The chain head, kept apart from the log (DESIGN.md §6): `~/.thoth/state/audit-head.json` names the file,
//! `seq` and line hash of the last record every `thoth run` of this user has made durable, what was pruned
//! before the oldest file, and an HMAC-SHA256 over all of it with a key in `state/audit.key` (0600). Writers
//! hold `state/audit.lock` (an OS file lock) while they read the head, append and write it, so several
//! processes grow one chain. Written with `home::write_file` (atomic, synced).
//!
//! What each anchor proves, against the laptop's own user (who can read and write every file here):
//! - the line hashes prove a file was not edited in the middle (a changed, removed, inserted or reordered line);
//! - the head proves the end: a truncated tail, an emptied, deleted or replaced file, or a log rewritten with
//!   recomputed line hashes, no longer ends where the head says. Its MAC stops a head rewritten by hand or by
//!   a script that only knows the log format; it does not stop someone who reads `audit.key` and recomputes it
//!   (the key is readable by the same user, as it must be for thoth to write);
//! - the heartbeat sends the head to GovAPI, off this machine: a chain whose `chain_id` changes, whose `seq`
//!   goes back, or whose hash at a reported `seq` changes was rewritten, whatever was done locally. Only that
//!   copy holds against a user who rewrites both the log and the head.

use std::io::Read;
use std::path::{Path, PathBuf};

use ring::hmac;
use serde::{Deserialize, Serialize};

pub const SCHEMA_VERSION: u32 = 1;
const KEY_BYTES: usize = 32;
/// A head is a few hundred bytes; a larger file is not one thoth wrote.
const MAX_HEAD_BYTES: u64 = 64 * 1024;

/// Where a log folder's chain state lives: `~/.thoth/audit` keeps it in `~/.thoth/state`; any other folder
/// (tests, a copy) in its own `state/` subfolder.
#[derive(Debug, Clone)]
pub struct ChainPaths {
    pub dir: PathBuf,
    pub state: PathBuf,
}

impl ChainPaths {
    pub fn of(audit_dir: &Path) -> ChainPaths {
        use crate::platform::paths;
        let state = match (audit_dir.file_name(), audit_dir.parent()) {
            (Some(name), Some(parent)) if name == paths::AUDIT_DIR_NAME => paths::state_dir(parent),
            _ => paths::state_dir(audit_dir),
        };
        ChainPaths {
            dir: audit_dir.to_owned(),
            state,
        }
    }

    pub fn head(&self) -> PathBuf {
        crate::platform::paths::audit_head_in(&self.state)
    }

    pub fn key(&self) -> PathBuf {
        crate::platform::paths::audit_key_in(&self.state)
    }

    pub fn lock(&self) -> PathBuf {
        crate::platform::paths::audit_lock_in(&self.state)
    }
}

/// The head of the pruned prefix: the last record of the newest file removed by retention.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pruned {
    pub seq: u64,
    pub sha256: String,
    /// Files and bytes removed so far.
    pub files: u64,
    pub bytes: u64,
    pub at: String,
}

/// `state/audit-head.json` (schemas/audit-head.schema.json).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    pub schema_version: u32,
    /// Made when the chain starts (or restarts after its head was lost): a new one means a new chain.
    pub chain_id: String,
    /// The file holding the last record (a name in the audit folder).
    pub file: String,
    /// The last durable record's `seq` and the SHA-256 of its line.
    pub seq: u64,
    pub sha256: String,
    /// The file's length through that record.
    pub file_bytes: u64,
    pub updated_at: String,
    pub pruned: Option<Pruned>,
    /// `hmac-sha256:<hex>` over the fields above.
    #[serde(default)]
    pub mac: String,
}

impl Head {
    fn signed_text(&self) -> String {
        let (pruned_seq, pruned_sha) = match &self.pruned {
            Some(p) => (p.seq.to_string(), p.sha256.as_str()),
            None => (String::new(), ""),
        };
        format!(
            "thoth-audit-head/{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}",
            self.schema_version,
            self.chain_id,
            self.file,
            self.seq,
            self.sha256,
            self.file_bytes,
            pruned_seq,
            pruned_sha
        )
    }

    pub fn sign(&mut self, key: &Key) {
        let tag = hmac::sign(&key.0, self.signed_text().as_bytes());
        self.mac = format!("hmac-sha256:{}", hex(tag.as_ref()));
    }

    pub fn verify(&self, key: &Key) -> bool {
        let Some(tag) = self.mac.strip_prefix("hmac-sha256:").and_then(unhex) else {
            return false;
        };
        hmac::verify(&key.0, self.signed_text().as_bytes(), &tag).is_ok()
    }
}

/// Why a head could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeadError {
    Missing,
    /// Not a head thoth wrote (not JSON, wrong fields, too large), or unreadable.
    Invalid(String),
    /// The MAC does not match: edited, or the key changed.
    BadMac,
    /// The key file is missing or not a key.
    NoKey(String),
}

impl std::fmt::Display for HeadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HeadError::Missing => f.write_str("it is missing"),
            HeadError::Invalid(why) => write!(f, "it is not a chain head thoth wrote ({why})"),
            HeadError::BadMac => {
                f.write_str("its MAC does not match: it was edited, or audit.key was replaced")
            }
            HeadError::NoKey(why) => write!(f, "its key cannot be read ({why})"),
        }
    }
}

/// The HMAC key of a folder's head.
pub struct Key(hmac::Key);

/// Read the key, if there is one.
pub fn read_key(paths: &ChainPaths) -> Result<Key, HeadError> {
    let path = paths.key();
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            return Err(HeadError::NoKey(format!("{} is missing", path.display())))
        }
        Err(err) => return Err(HeadError::NoKey(format!("{}: {err}", path.display()))),
    };
    match unhex(text.trim()) {
        Some(bytes) if bytes.len() == KEY_BYTES => {
            Ok(Key(hmac::Key::new(hmac::HMAC_SHA256, &bytes)))
        }
        _ => Err(HeadError::NoKey(format!(
            "{} is not {KEY_BYTES} bytes of hex",
            path.display()
        ))),
    }
}

/// Read the key, or make one (0600) when there is none. Call under the chain lock.
pub fn read_or_create_key(paths: &ChainPaths) -> std::io::Result<Key> {
    match read_key(paths) {
        Ok(key) => return Ok(key),
        Err(HeadError::NoKey(why)) if paths.key().exists() => {
            tracing::warn!("{why}; making a new audit key (the chain head restarts)");
        }
        Err(_) => {}
    }
    let mut bytes = [0u8; KEY_BYTES];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
        .map_err(|_| std::io::Error::other("the system random source failed"))?;
    crate::home::write_file(
        &paths.key(),
        format!("{}\n", hex(&bytes)).as_bytes(),
        crate::home::Access::Private,
        || {},
    )
    .map_err(std::io::Error::other)?;
    Ok(Key(hmac::Key::new(hmac::HMAC_SHA256, &bytes)))
}

/// Read and check the head.
pub fn read_head(paths: &ChainPaths, key: Option<&Key>) -> Result<Head, HeadError> {
    let path = paths.head();
    let mut text = Vec::new();
    match std::fs::File::open(&path) {
        Ok(file) => file
            .take(MAX_HEAD_BYTES + 1)
            .read_to_end(&mut text)
            .map_err(|e| HeadError::Invalid(e.to_string()))?,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Err(HeadError::Missing),
        Err(err) => return Err(HeadError::Invalid(err.to_string())),
    };
    if text.len() as u64 > MAX_HEAD_BYTES {
        return Err(HeadError::Invalid(format!(
            "larger than {MAX_HEAD_BYTES} bytes"
        )));
    }
    let head: Head =
        serde_json::from_slice(&text).map_err(|e| HeadError::Invalid(e.to_string()))?;
    if head.schema_version != SCHEMA_VERSION {
        return Err(HeadError::Invalid(format!(
            "schema_version {}",
            head.schema_version
        )));
    }
    let owned;
    let key = match key {
        Some(key) => key,
        None => {
            owned = read_key(paths)?;
            &owned
        }
    };
    if !head.verify(key) {
        return Err(HeadError::BadMac);
    }
    Ok(head)
}

/// Sign and write the head (atomic, synced, 0600).
pub fn write_head(paths: &ChainPaths, key: &Key, head: &mut Head) -> std::io::Result<()> {
    head.sign(key);
    let mut text = serde_json::to_vec_pretty(head).map_err(std::io::Error::other)?;
    text.push(b'\n');
    crate::home::write_file(&paths.head(), &text, crate::home::Access::Private, || {})
        .map_err(std::io::Error::other)
}

/// Holds the chain lock until dropped.
pub struct ChainLock(std::fs::File);

impl ChainLock {
    /// Wait for the lock (other writers hold it for one append).
    pub fn acquire(paths: &ChainPaths) -> std::io::Result<ChainLock> {
        crate::home::create_private_dir(&paths.state)?;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(paths.lock())?;
        fs4::FileExt::lock(&file)?;
        Ok(ChainLock(file))
    }
}

impl Drop for ChainLock {
    fn drop(&mut self) {
        let _ = fs4::FileExt::unlock(&self.0);
    }
}

/// What GovAPI receives with each heartbeat: the head without its MAC (the key stays on the machine).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Anchor {
    pub chain_id: String,
    pub file: String,
    pub seq: u64,
    pub sha256: String,
    pub updated_at: String,
    pub pruned_through_seq: Option<u64>,
}

impl From<&Head> for Anchor {
    fn from(head: &Head) -> Anchor {
        Anchor {
            chain_id: head.chain_id.clone(),
            file: head.file.clone(),
            seq: head.seq,
            sha256: head.sha256.clone(),
            updated_at: head.updated_at.clone(),
            pruned_through_seq: head.pruned.as_ref().map(|p| p.seq),
        }
    }
}

/// The anchor of `~/.thoth`'s audit chain, if it has a valid head.
pub fn anchor(thoth_dir: &Path) -> Option<Anchor> {
    let paths = ChainPaths::of(&crate::platform::paths::audit_dir(thoth_dir));
    read_head(&paths, None).ok().map(|h| Anchor::from(&h))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head() -> Head {
        Head {
            schema_version: SCHEMA_VERSION,
            chain_id: "c".into(),
            file: "audit-x.jsonl".into(),
            seq: 4,
            sha256: "ab".repeat(32),
            file_bytes: 900,
            updated_at: "2026-01-01T00:00:00.000Z".into(),
            pruned: None,
            mac: String::new(),
        }
    }

    #[test]
    fn a_written_head_reads_back_and_any_edit_breaks_its_mac() {
        let dir = tempfile::tempdir().unwrap();
        let paths = ChainPaths::of(&dir.path().join("audit"));
        assert_eq!(paths.state, dir.path().join("state"));
        assert_eq!(read_head(&paths, None), Err(HeadError::Missing));
        std::fs::create_dir_all(&paths.state).unwrap();
        let key = read_or_create_key(&paths).unwrap();
        let mut h = head();
        write_head(&paths, &key, &mut h).unwrap();
        assert_eq!(read_head(&paths, None).unwrap(), h);
        for edit in [
            |h: &mut Head| h.seq += 1,
            |h: &mut Head| h.sha256 = "cd".repeat(32),
            |h: &mut Head| h.file = "other.jsonl".into(),
            |h: &mut Head| h.file_bytes = 10,
            |h: &mut Head| h.chain_id = "d".into(),
        ] {
            let mut edited = h.clone();
            edit(&mut edited);
            std::fs::write(paths.head(), serde_json::to_vec(&edited).unwrap()).unwrap();
            assert_eq!(
                read_head(&paths, None),
                Err(HeadError::BadMac),
                "{edited:?}"
            );
        }
        // A new key (the old one deleted) does not verify the old head either.
        std::fs::write(paths.head(), serde_json::to_vec(&h).unwrap()).unwrap();
        std::fs::remove_file(paths.key()).unwrap();
        assert!(matches!(read_head(&paths, None), Err(HeadError::NoKey(_))));
        let _ = read_or_create_key(&paths).unwrap();
        assert_eq!(read_head(&paths, None), Err(HeadError::BadMac));
    }
}
