//! Can someone other than this user (or root) change a file thoth trusts? Unix: the file (a symlink is
//! followed: its target counts), or its folder, writable by group or others, or owned by another user.
//! Windows: not checked here (the profile and ProgramData ACLs decide; see README "Managed settings").

use std::path::Path;

/// Why another user could change `path`, or `None` when only its owner (this user or root) can. A missing
/// file is `None`: whoever reads it reports that.
pub fn foreign_writer(path: &Path) -> Option<String> {
    os::foreign_writer(path)
}

#[cfg(unix)]
mod os {
    use std::os::unix::fs::MetadataExt;
    use std::path::Path;

    pub fn foreign_writer(path: &Path) -> Option<String> {
        let link = std::fs::symlink_metadata(path).ok()?;
        let target = std::fs::canonicalize(path).ok()?;
        let meta = std::fs::metadata(&target).ok()?;
        let via = if link.file_type().is_symlink() {
            format!(" (the symlink's target {})", target.display())
        } else {
            String::new()
        };
        if let Some(why) = loose(&meta, false) {
            return Some(format!("{why}{via}"));
        }
        let dir = target.parent()?;
        let dir_meta = std::fs::metadata(dir).ok()?;
        loose(&dir_meta, true).map(|why| format!("its folder {} is {why}", dir.display()))
    }

    /// Group/other write (a folder with the sticky bit only protects others' files: fine), or an owner
    /// that is neither this user nor root.
    fn loose(meta: &std::fs::Metadata, is_dir: bool) -> Option<String> {
        let me = crate::platform::uid();
        let owner = meta.uid();
        if owner != 0 && Some(owner) != me {
            return Some(format!("owned by another user (uid {owner})"));
        }
        let mode = meta.mode() & 0o7777;
        let sticky = is_dir && mode & 0o1000 != 0;
        (mode & 0o022 != 0 && !sticky)
            .then(|| format!("writable by its group or by others (mode {:04o})", mode))
    }
}

#[cfg(windows)]
mod os {
    pub fn foreign_writer(_path: &std::path::Path) -> Option<String> {
        None
    }
}
