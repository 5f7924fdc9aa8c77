//! One writer at a time per config: `wrap-config` holds an exclusive OS lock on `.<name>.thoth-lock` beside
//! the file it writes for its whole read-modify-write, so parallel runs (an MDM policy, a login item, a
//! person) each see the previous one's result and none is lost (issue 12 §7). The lock file is removed on
//! release; a waiter that then locked the removed file sees it is no longer the one at the path and retries.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::Error;

/// How long a run waits for another one to finish before giving up, naming the lock.
pub const WAIT: Duration = Duration::from_secs(60);
const POLL: Duration = Duration::from_millis(5);

/// Held until dropped.
pub struct ConfigLock {
    path: PathBuf,
    file: Option<File>,
}

/// `.<name>.thoth-lock` beside the config.
pub fn path_for(config: &Path) -> PathBuf {
    let name = config.file_name().unwrap_or_default().to_string_lossy();
    config.with_file_name(format!(".{name}.thoth-lock"))
}

/// Wait (up to `wait`) for the exclusive lock of `config`.
pub fn acquire(config: &Path, wait: Duration) -> Result<ConfigLock, Error> {
    let path = path_for(config);
    let dir = path.parent().unwrap_or(Path::new(".")).to_owned();
    let deadline = Instant::now() + wait;
    let write_error = |error: std::io::Error| Error::Write {
        path: dir.clone(),
        error,
    };
    loop {
        let file = match open(&path) {
            Ok(file) => Some(file),
            // Windows: the previous holder's file may still be pending deletion.
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied && path.exists() => None,
            Err(e) => return Err(write_error(e)),
        };
        if let Some(file) = file {
            match fs4::FileExt::try_lock(&file) {
                Ok(()) if is_at(&file, &path) => {
                    return Ok(ConfigLock {
                        path,
                        file: Some(file),
                    })
                }
                // Locked the file the previous holder just removed: try the one at the path now.
                Ok(()) => continue,
                Err(fs4::TryLockError::WouldBlock) => {}
                Err(fs4::TryLockError::Error(e)) => return Err(write_error(e)),
            }
        }
        if Instant::now() >= deadline {
            return Err(Error::Busy {
                lock: path,
                seconds: wait.as_secs(),
            });
        }
        std::thread::sleep(POLL);
    }
}

/// Created when missing; a stale one another user left behind opens read-only (enough to lock).
fn open(path: &Path) -> std::io::Result<File> {
    match OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
    {
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => File::open(path),
        other => other,
    }
}

fn is_at(file: &File, path: &Path) -> bool {
    let (Ok(ours), Ok(there)) = (
        file.try_clone().and_then(same_file::Handle::from_file),
        same_file::Handle::from_path(path),
    ) else {
        return false;
    };
    ours == there
}

impl Drop for ConfigLock {
    fn drop(&mut self) {
        // Removed while still held, so no one can lock it after and believe they hold the current lock.
        if let Err(e) = std::fs::remove_file(&self.path) {
            tracing::debug!(path = %self.path.display(), error = %e, "could not remove the lock file");
        }
        drop(self.file.take());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_waits_and_the_lock_file_goes_away() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("c.json");
        let first = acquire(&config, WAIT).unwrap();
        assert!(path_for(&config).exists());
        match acquire(&config, Duration::from_millis(30)) {
            Err(Error::Busy { lock, .. }) => assert_eq!(lock, path_for(&config)),
            other => panic!("not busy: {:?}", other.err()),
        }
        drop(first);
        assert!(!path_for(&config).exists());
        let again = acquire(&config, WAIT).unwrap();
        drop(again);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
