//! Writing a config without ever leaving a partial one: a temp file in the same folder with the original's
//! owner, group and mode, fsync, rename, fsync of the folder. The previous content is kept beside it as
//! `<name>.thoth-backup-<UTC time>` (only when the content changes). A file holding one of thoth's secrets
//! (`--embed-api-key`) is written 0600, its backup too; an unwrap's backup has them masked (the caller says how: `SaveOptions`).

use std::path::{Path, PathBuf};

use crate::home::Access;
use crate::platform::users::TargetUser;

use super::Error;

/// Masks thoth's secrets in a config text; `None` when it cannot be read.
pub type Redact = fn(&[u8]) -> Option<Vec<u8>>;

/// How to save.
pub struct SaveOptions<'a> {
    /// Owner of a file that does not exist yet (running as root for another user).
    pub new_owner: Option<&'a TargetUser>,
    /// Keep a timestamped copy of the previous content.
    pub backup: bool,
    /// Test hook (dev only): stop dead after the temp file is written, before the rename.
    pub crash_before_rename: bool,
    /// Mask thoth's secrets in the backup (`--unwrap`: no copy of the key is left behind): the masked text,
    /// or `None` when it cannot be read (then no backup is kept).
    pub redact_backup: Option<Redact>,
    /// Does this content hold one of thoth's secrets? (Then it is written readable by its owner only.)
    pub holds_secret: fn(&[u8]) -> bool,
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
    let kept = match (previous, options.backup) {
        (Some(bytes), true) => match options.redact_backup {
            Some(redact) => redact(&bytes),
            None => Some(bytes),
        },
        _ => None,
    };
    let backup = match kept {
        Some(bytes) => {
            let backup = backup_path(path);
            let private = (options.holds_secret)(&bytes);
            write_as(
                &backup,
                &bytes,
                like.as_ref(),
                options.new_owner,
                private,
                false,
            )?;
            Some(backup)
        }
        None => None,
    };
    write_as(
        path,
        content,
        like.as_ref(),
        options.new_owner,
        (options.holds_secret)(content),
        options.crash_before_rename,
    )?;
    Ok(backup)
}

/// `write_new`, readable by its owner only when `private` (the owner stays the one it would have been).
pub fn write_as(
    path: &Path,
    content: &[u8],
    like: Option<&std::fs::Metadata>,
    new_owner: Option<&TargetUser>,
    private: bool,
    crash_before_rename: bool,
) -> Result<(), Error> {
    if !private {
        return write_new(path, content, like, new_owner, crash_before_rename);
    }
    let (uid, gid) = match like {
        Some(meta) => crate::platform::owner_of(meta),
        None => (new_owner.and_then(|u| u.uid), new_owner.and_then(|u| u.gid)),
    };
    write_with(
        path,
        content,
        Access::PrivateFor { uid, gid },
        crash_before_rename,
    )
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
    write_with(path, content, access, crash_before_rename)
}

fn write_with(
    path: &Path,
    content: &[u8],
    access: Access,
    crash_before_rename: bool,
) -> Result<(), Error> {
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
