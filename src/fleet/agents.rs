//! The live `thoth run` processes of this user, in `~/.thoth/state/agents/`: each writes `<pid>.json` (its
//! agent id, start time, decision counts) and holds an OS lock on `<pid>.lock` while it lives. A lock that can
//! be taken belongs to a dead process: its files are stale and removed. Also the leader lock of the
//! heartbeat (`heartbeat.lock`). Blocking file I/O: call from `spawn_blocking` in async code.

use std::fs::File;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::govapi::Decisions;

/// What a live `thoth run` advertises.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentRecord {
    pub pid: u32,
    pub agent_id: String,
    /// Unix seconds.
    pub started_at: u64,
    #[serde(default)]
    pub decisions: Decisions,
    /// Lock drift this session saw (`thoth run --lock`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lock_drift: Vec<super::govapi::LockDrift>,
}

/// `~/.thoth/state/agents`.
pub fn agents_dir(thoth_dir: &Path) -> PathBuf {
    crate::platform::paths::agents_dir(thoth_dir)
}

/// This process's entry; its files are removed when it is dropped (the OS drops the lock if it dies).
#[derive(Debug)]
pub struct Presence {
    dir: PathBuf,
    record: AgentRecord,
    lock: Option<File>,
    written: Option<Decisions>,
}

fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Presence {
    /// Lock `<pid>.lock`, then write `<pid>.json` (in that order: a record without a held lock is stale).
    pub fn announce(dir: &Path, agent_id: &str) -> std::io::Result<Presence> {
        crate::home::create_private_dir(dir)?;
        let pid = std::process::id();
        let lock = File::create(dir.join(format!("{pid}.lock")))?;
        fs4::FileExt::try_lock(&lock).map_err(std::io::Error::from)?;
        let mut presence = Presence {
            dir: dir.to_owned(),
            record: AgentRecord {
                pid,
                agent_id: agent_id.to_owned(),
                started_at: now_unix(),
                decisions: Decisions::default(),
                lock_drift: Vec::new(),
            },
            lock: Some(lock),
            written: None,
        };
        presence.refresh(Decisions::default())?;
        Ok(presence)
    }

    /// Also report this drift (rewritten with the next `refresh` when it changed).
    pub fn set_drift(&mut self, drift: Vec<super::govapi::LockDrift>) {
        if drift != self.record.lock_drift {
            self.record.lock_drift = drift;
            self.written = None;
        }
    }

    /// Rewrite the record when the counts changed since the last write.
    pub fn refresh(&mut self, decisions: Decisions) -> std::io::Result<()> {
        if self.written == Some(decisions) {
            return Ok(());
        }
        self.record.decisions = decisions;
        let text = serde_json::to_vec(&self.record).unwrap_or_default();
        let path = self.dir.join(format!("{}.json", self.record.pid));
        crate::home::write_private(&path, &text).map_err(|e| match e {
            crate::home::Error::Io { error, .. } => error,
            other => std::io::Error::other(other.to_string()),
        })?;
        self.written = Some(decisions);
        Ok(())
    }
}

impl Drop for Presence {
    fn drop(&mut self) {
        let pid = self.record.pid;
        let _ = std::fs::remove_file(self.dir.join(format!("{pid}.json")));
        // Close (and so unlock) before removing: Windows cannot delete an open file.
        drop(self.lock.take());
        let _ = std::fs::remove_file(self.dir.join(format!("{pid}.lock")));
    }
}

/// The live processes' records, sorted by pid; stale files (their lock is free) are removed on the way.
pub fn live(dir: &Path) -> Vec<AgentRecord> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut pids: Vec<String> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let stem = name
                .strip_suffix(".json")
                .or_else(|| name.strip_suffix(".lock"))?;
            stem.parse::<u32>().is_ok().then(|| stem.to_owned())
        })
        .collect();
    pids.sort();
    pids.dedup();
    let mut live: Vec<AgentRecord> = pids
        .iter()
        .filter_map(|pid| {
            let json = dir.join(format!("{pid}.json"));
            let lock = dir.join(format!("{pid}.lock"));
            if !is_held(&lock) {
                tracing::debug!(pid, "removing a stale agent record");
                let _ = std::fs::remove_file(&json);
                let _ = std::fs::remove_file(&lock);
                return None;
            }
            let text = std::fs::read(&json).ok()?;
            serde_json::from_slice::<AgentRecord>(&text).ok()
        })
        .collect();
    live.sort_by_key(|r| r.pid);
    live
}

/// Is `lock` locked by a live process? A missing file is not; an error other than "would block" counts as
/// held (never delete what might be live).
fn is_held(lock: &Path) -> bool {
    let file = match std::fs::OpenOptions::new().write(true).open(lock) {
        Ok(file) => file,
        Err(err) => return err.kind() != std::io::ErrorKind::NotFound,
    };
    match fs4::FileExt::try_lock(&file) {
        Ok(()) => {
            let _ = fs4::FileExt::unlock(&file);
            false
        }
        Err(fs4::TryLockError::WouldBlock) => true,
        Err(fs4::TryLockError::Error(err)) => {
            tracing::debug!(error = %err, path = %lock.display(), "cannot test an agent lock");
            true
        }
    }
}

/// The heartbeat leader lock, held while the returned file is open. None when another process holds it.
pub fn try_lead(state_dir: &Path) -> std::io::Result<Option<File>> {
    crate::home::create_private_dir(state_dir)?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(crate::platform::paths::heartbeat_lock_in(state_dir))?;
    match fs4::FileExt::try_lock(&file) {
        Ok(()) => Ok(Some(file)),
        Err(fs4::TryLockError::WouldBlock) => Ok(None),
        Err(fs4::TryLockError::Error(err)) => Err(err),
    }
}

/// A drift with the server (agent id) it was seen on, for the check-in.
pub fn drift_on(agent_id: &str, drift: &super::govapi::LockDrift) -> super::govapi::LockDrift {
    super::govapi::LockDrift {
        server: agent_id.to_owned(),
        ..drift.clone()
    }
}

/// Unique agent ids of `records`, sorted.
pub fn agent_ids(records: &[AgentRecord]) -> Vec<String> {
    let mut ids: Vec<String> = records.iter().map(|r| r.agent_id.clone()).collect();
    ids.sort();
    ids.dedup();
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_records_are_listed_and_stale_ones_removed() {
        let home = tempfile::tempdir().unwrap();
        let dir = agents_dir(home.path());
        let mut me = Presence::announce(&dir, "fs-agent").unwrap();
        me.refresh(Decisions {
            allow: 3,
            block: 1,
            step_up: 0,
        })
        .unwrap();
        // A process that died: its record stays, its lock is free.
        std::fs::write(dir.join("999999.lock"), b"").unwrap();
        std::fs::write(
            dir.join("999999.json"),
            br#"{"pid":999999,"agent_id":"ghost","started_at":1}"#,
        )
        .unwrap();
        std::fs::write(dir.join("888888.json"), b"{}").unwrap();
        let live = live(&dir);
        assert_eq!(live.len(), 1, "{live:?}");
        assert_eq!(live[0].agent_id, "fs-agent");
        assert_eq!(live[0].decisions.allow, 3);
        assert!(!dir.join("999999.json").exists() && !dir.join("999999.lock").exists());
        assert!(!dir.join("888888.json").exists());
        drop(me);
        assert!(super::live(&dir).is_empty());
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
    }

    #[test]
    fn one_leader_at_a_time() {
        let home = tempfile::tempdir().unwrap();
        let first = try_lead(home.path()).unwrap();
        assert!(first.is_some());
        assert!(try_lead(home.path()).unwrap().is_none());
        drop(first);
        assert!(try_lead(home.path()).unwrap().is_some());
    }
}
