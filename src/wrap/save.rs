//! Writing a config without ever leaving a partial one: a temp file in the same folder with the original's
//! owner, group and mode, fsync, rename, fsync of the folder. The previous content is kept beside it as
//! `<name>.thoth-backup-<UTC time>` (only when the content changes).

use std::path::{Path, PathBuf};

use crate::home::Access;
use crate::platform::users::TargetUser;

use super::Error;

/// How to save.
pub struct SaveOptions<'a> {
    /// Owner of a file that does not exist yet (running as root for another user).
    pub new_owner: Option<&'a TargetUser>,
    /// Keep a timestamped copy of the previous content.
    pub backup: bool,
    /// Test hook (dev only): stop dead after the temp file is written, before the rename.
    pub crash_before_rename: bool,
}

/// Write `content` to `path` unless it already holds exactly that. Returns the backup's path, if one was made.
/// `Ok(None)` with no write at all when nothing changes.
pub fn save(path: &Path, content: &[u8], options: &SaveOptions) -> Result<Option<PathBuf>, Error> {
    let previous = match std::fs::read(path) {
        Ok(bytes) => Some(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(error) => {
            return Err(Error::Read {
                path: path.to_owned(),
                error,
            })
        }
    };
    if previous.as_deref() == Some(content) {
        return Ok(None);
    }
    let like = std::fs::metadata(path).ok();
    let backup = match (&previous, options.backup) {
        (Some(bytes), true) => {
            let backup = backup_path(path);
            write_new(&backup, bytes, like.as_ref(), options.new_owner, false)?;
            Some(backup)
        }
        _ => None,
    };
    write_new(
        path,
        content,
        like.as_ref(),
        options.new_owner,
        options.crash_before_rename,
    )?;
    Ok(backup)
}

/// Replace (or create) a file through `home::write_file`: as the file it replaces, or (a new one) readable
/// by all and owned by `new_owner`.
pub fn write_new(
    path: &Path,
    content: &[u8],
    like: Option<&std::fs::Metadata>,
    new_owner: Option<&TargetUser>,
    crash_before_rename: bool,
) -> Result<(), Error> {
    let access = match like {
        Some(meta) => Access::Like(meta),
        None => Access::Shared {
            uid: new_owner.and_then(|u| u.uid),
            gid: new_owner.and_then(|u| u.gid),
        },
    };
    let crash = || {
        if crash_before_rename {
            // Simulates power loss between write and rename: no destructors, no cleanup.
            std::process::abort();
        }
    };
    crate::home::write_file(path, content, access, crash).map_err(|e| match e {
        crate::home::Error::Io { path, error } => Error::Write { path, error },
        other => Error::Write {
            path: path.to_owned(),
            error: std::io::Error::other(other.to_string()),
        },
    })
}

/// `<name>.thoth-backup-<YYYYmmddTHHMMSSZ>` beside the file; `-2`, `-3`... when that exists already.
fn backup_path(path: &Path) -> PathBuf {
    let format = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    let stamp = time::OffsetDateTime::now_utc()
        .format(&format)
        .unwrap_or_default();
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let mut candidate = path.with_file_name(format!("{name}.thoth-backup-{stamp}"));
    let mut n = 2;
    while candidate.exists() {
        candidate = path.with_file_name(format!("{name}.thoth-backup-{stamp}-{n}"));
        n += 1;
    }
    candidate
}
