//! The offline spool for enforcer events (DESIGN.md §3 Events): `~/.thoth/spool/<20-digit seq>.json`, each
//! file one batch exactly as it would be POSTed to `/v1/events`, written atomically (temp file, fsync, rename
//! that never overwrites) and 0600 in a 0700 folder. Replay is in seq order and survives a restart; a batch
//! leaves only on `ack` (at-least-once: a crash between send and ack, or two processes replaying the same
//! spool, can deliver a batch twice). Bounded by bytes and count: when full, the oldest batches are shed,
//! counted, and logged. Blocking file I/O: async callers go through `spawn_blocking`. No network here.
//!
//! Several `thoth run` processes may share the folder: each knows the files present when it opened the spool
//! and those it wrote, so the bounds hold per process (and are enforced over everything at open).

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::error::{io, Error};
use super::events::EventBatch;

/// Files a crash left half-written are removed once they are this old (younger ones may be another
/// process's write in progress).
const STALE_TEMP: Duration = Duration::from_secs(600);
/// Digits in a batch file's name.
const NAME_DIGITS: usize = 20;

/// How much the spool may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpoolLimits {
    pub max_bytes: u64,
    pub max_batches: usize,
}

impl Default for SpoolLimits {
    fn default() -> Self {
        SpoolLimits {
            max_bytes: 16 * 1024 * 1024,
            max_batches: 10_000,
        }
    }
}

/// A spooled batch's place in the replay order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BatchId(u64);

impl BatchId {
    fn file_name(self) -> String {
        format!("{:0width$}.json", self.0, width = NAME_DIGITS)
    }

    fn parse(name: &str) -> Option<BatchId> {
        let digits = name.strip_suffix(".json")?;
        if digits.len() != NAME_DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok().map(BatchId)
    }
}

impl std::fmt::Display for BatchId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[derive(Debug)]
pub struct Spool {
    dir: PathBuf,
    limits: SpoolLimits,
    /// Batches in replay order, with their sizes.
    index: VecDeque<(BatchId, u64)>,
    bytes: u64,
    next: u64,
    shed_total: u64,
}

impl Spool {
    /// Open (creating it 0700 if needed) the spool in `dir`, index what is there, and shed down to `limits`.
    pub fn open(dir: &Path, limits: SpoolLimits) -> Result<Spool, Error> {
        crate::home::create_private_dir(dir).map_err(io(dir))?;
        let mut found = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(io(dir))? {
            let entry = entry.map_err(io(dir))?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if let Some(id) = BatchId::parse(&name) {
                let len = entry.metadata().map(|m| m.len()).unwrap_or(0);
                found.push((id, len));
            } else if crate::home::is_temp_name(&name) || name.starts_with(".tmp") {
                remove_if_stale(&entry.path());
            }
        }
        found.sort_unstable();
        let next = found.last().map_or(0, |(id, _)| id.0 + 1);
        let mut spool = Spool {
            dir: dir.to_owned(),
            limits,
            bytes: found.iter().map(|(_, len)| len).sum(),
            index: found.into(),
            next,
            shed_total: 0,
        };
        spool.shed();
        if !spool.is_empty() {
            tracing::info!(
                batches = spool.len(),
                bytes = spool.bytes,
                "the event spool holds batches from an earlier run; they are sent first"
            );
        }
        Ok(spool)
    }

    /// Store a batch after every other; sheds the oldest batches if the spool is then over its limits.
    pub fn push(&mut self, batch: &EventBatch) -> Result<BatchId, Error> {
        let body = serde_json::to_vec(batch).map_err(|e| Error::Corrupt {
            path: self.dir.clone(),
            message: e.to_string(),
        })?;
        let len = body.len() as u64;
        if len > self.limits.max_bytes {
            return Err(Error::TooLarge {
                bytes: len,
                max_bytes: self.limits.max_bytes,
            });
        }
        // The one atomic writer (0600, fsync, rename that never overwrites, folder fsync); a number another
        // process took is skipped.
        let taken =
            crate::home::write_new_private(&self.dir, &body, self.next, |n| BatchId(n).file_name())
                .map_err(|err| match err {
                    crate::home::Error::Io { path, error } => io(&path)(error),
                    other => io(&self.dir)(std::io::Error::other(other.to_string())),
                })?;
        let id = BatchId(taken);
        self.next = taken + 1;
        self.index.push_back((id, len));
        self.bytes += len;
        self.shed();
        Ok(id)
    }

    /// The spooled batches, oldest first.
    pub fn pending(&self) -> impl Iterator<Item = BatchId> + '_ {
        self.index.iter().map(|(id, _)| *id)
    }

    /// A spooled batch's events.
    pub fn load(&self, id: BatchId) -> Result<EventBatch, Error> {
        let path = self.dir.join(id.file_name());
        let body = std::fs::read(&path).map_err(io(&path))?;
        serde_json::from_slice(&body).map_err(|e| Error::Corrupt {
            path,
            message: e.to_string(),
        })
    }

    /// Remove a batch that was delivered (or that can never be). Already gone (another process sent it) is fine.
    pub fn ack(&mut self, id: BatchId) -> Result<(), Error> {
        if let Some(at) = self.index.iter().position(|(i, _)| *i == id) {
            if let Some((_, len)) = self.index.remove(at) {
                self.bytes -= len;
            }
        }
        let path = self.dir.join(id.file_name());
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(err) => Err(io(&path)(err)),
        }
    }

    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Bytes held.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Batches shed since this spool was opened.
    pub fn shed_total(&self) -> u64 {
        self.shed_total
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Drop the oldest batches until within the limits, and say so.
    fn shed(&mut self) {
        let mut shed = 0u64;
        while self.index.len() > self.limits.max_batches || self.bytes > self.limits.max_bytes {
            let Some((id, len)) = self.index.pop_front() else {
                break;
            };
            self.bytes -= len;
            let path = self.dir.join(id.file_name());
            if let Err(err) = std::fs::remove_file(&path) {
                if err.kind() != std::io::ErrorKind::NotFound {
                    tracing::warn!(path = %path.display(), error = %err, "cannot remove a shed spool batch");
                }
            }
            shed += 1;
        }
        if shed > 0 {
            self.shed_total += shed;
            tracing::warn!(
                shed,
                shed_total = self.shed_total,
                max_batches = self.limits.max_batches,
                max_bytes = self.limits.max_bytes,
                "spool full: shed {shed} batches (the oldest; {} since start)",
                self.shed_total
            );
        }
    }
}

fn remove_if_stale(path: &Path) {
    let stale = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|modified| SystemTime::now().duration_since(modified).ok())
        .is_some_and(|age| age > STALE_TEMP);
    if stale {
        let _ = std::fs::remove_file(path);
    }
}

#[cfg(test)]
mod tests;
