//! `~/.thoth` on disk (layout: `platform::paths`): the first-run bootstrap (folder 0700, `intent_map.json`,
//! `proxy_api_key.json` 0600, looser permissions tightened with a warning) and private atomic writes (temp
//! file in the same folder, fsync, rename). DESIGN.md §6.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::platform::paths;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot prepare {path}: {error}")]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("no home folder is known, so ~/.thoth cannot be used")]
    NoHome,
    #[error("refusing to write {path}: a symlink takes it out of {root} (to {target})")]
    Escapes {
        path: PathBuf,
        root: PathBuf,
        target: PathBuf,
    },
}

impl crate::hint::Hint for Error {
    fn hint(&self) -> Option<String> {
        match self {
            Error::Io { path, .. } => Some(format!(
                "check that {} is writable by the user thoth runs as",
                path.display()
            )),
            Error::NoHome => Some("set HOME (USERPROFILE on Windows)".into()),
            Error::Escapes { root, .. } => Some(format!(
                "remove the symlink under {} (thoth keeps its own files there)",
                root.display()
            )),
        }
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |error| Error::Io {
        path: path.to_owned(),
        error,
    }
}

/// Create what is missing in `~/.thoth` and tighten what is too open. Returns the warnings it logged.
pub fn bootstrap(dir: &Path) -> Result<Vec<String>, Error> {
    let mut warnings = Vec::new();
    if dir.is_dir() {
        tighten(dir, &mut warnings)?;
    } else {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        crate::platform::make_private(dir).map_err(io(dir))?;
    }
    create_if_missing(&paths::intent_map_file(dir), b"{}\n", false)?;
    create_if_missing(
        &paths::proxy_api_key_file(dir),
        b"{\"api_key\": null, \"key_id\": null}\n",
        true,
    )?;
    tighten(&paths::proxy_api_key_file(dir), &mut warnings)?;
    let sessions = paths::sessions_dir(dir);
    if sessions.is_dir() {
        tighten(&sessions, &mut warnings)?;
        for entry in std::fs::read_dir(&sessions)
            .map_err(io(&sessions))?
            .flatten()
        {
            tighten(&entry.path(), &mut warnings)?;
        }
    }
    Ok(warnings)
}

fn tighten(path: &Path, warnings: &mut Vec<String>) -> Result<(), Error> {
    // A symlink is not ours to chmod: that would change its target, wherever it is.
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        let warning = format!("{} is a symlink; left as it is", path.display());
        tracing::warn!("{warning}");
        warnings.push(warning);
        return Ok(());
    }
    if crate::platform::make_private(path).map_err(io(path))? {
        let warning = format!(
            "{} was readable by others; restricted it to its owner",
            path.display()
        );
        tracing::warn!("{warning}");
        warnings.push(warning);
    }
    Ok(())
}

fn create_if_missing(path: &Path, content: &[u8], private: bool) -> Result<(), Error> {
    if path.exists() {
        return Ok(());
    }
    if private {
        write_private(path, content)
    } else {
        write_atomic(path, content)
    }
}

/// Create a folder (and any missing parents) readable only by its owner (0700); an existing one is tightened
/// to 0700 with a warning. Parents that already exist are left as they are.
pub fn create_private_dir(path: &Path) -> std::io::Result<()> {
    if path.is_dir() {
        // A symlinked folder is left as it is: chmod would change its target, wherever it is.
        if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
            tracing::warn!("{} is a symlink; its mode is left as it is", path.display());
            return Ok(());
        }
        if crate::platform::make_private(path)? {
            tracing::warn!(
                "{} was readable by others; restricted it to its owner",
                path.display()
            );
        }
        return Ok(());
    }
    if let Some(parent) = path.parent() {
        if !parent.as_os_str().is_empty() && !parent.exists() {
            create_private_dir(parent)?;
        }
    }
    match std::fs::create_dir(path) {
        Ok(()) => {}
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists && path.is_dir() => {}
        Err(err) => return Err(err),
    }
    crate::platform::make_private(path)?;
    Ok(())
}

/// Write a file atomically, readable only by its owner (0600).
pub fn write_private(path: &Path, content: &[u8]) -> Result<(), Error> {
    write_file(path, content, Access::Private, || {})
}

/// Write a file atomically with default permissions.
pub fn write_atomic(path: &Path, content: &[u8]) -> Result<(), Error> {
    write_file(
        path,
        content,
        Access::Shared {
            uid: None,
            gid: None,
        },
        || {},
    )
}

/// Who may read a file `write_file` writes, and who owns it.
pub enum Access<'a> {
    /// Its owner only (0600).
    Private,
    /// Everyone may read it (0644); when root writes it for a user, owned by that user.
    Shared { uid: Option<u32>, gid: Option<u32> },
    /// As the file it replaces: owner, group (when root) and mode.
    Like(&'a std::fs::Metadata),
    /// Its owner only (0600), owned (when root writes it) by `uid`/`gid`: a user's file holding a secret.
    PrivateFor { uid: Option<u32>, gid: Option<u32> },
}

/// The one way thoth replaces a file: a temp file in the same folder with the wanted access, fsync, rename,
/// fsync of the folder. A reader sees the old content or the new, never a part. `before_rename` runs with
/// the new content on disk and the old still in place (a test hook simulates a crash there).
pub fn write_file(
    path: &Path,
    content: &[u8],
    access: Access,
    before_rename: impl FnOnce(),
) -> Result<(), Error> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    stays_in_thoth_dir(path, dir)?;
    let temp = staged(dir, path, content, access)?;
    before_rename();
    temp.persist(path).map_err(|e| Error::Io {
        path: path.to_owned(),
        error: e.error,
    })?;
    crate::platform::sync_dir(dir).map_err(io(dir))
}

/// `write_file` (private) for a queue whose entries are never replaced (the events spool): the content
/// lands in `dir` under `name(n)` for the first `n` from `first` that no file has yet (another process may
/// take a number first). Returns that `n`.
pub fn write_new_private(
    dir: &Path,
    content: &[u8],
    first: u64,
    name: impl Fn(u64) -> String,
) -> Result<u64, Error> {
    stays_in_thoth_dir(&dir.join(name(first)), dir)?;
    let mut temp = staged(dir, dir, content, Access::Private)?;
    let mut n = first;
    loop {
        let path = dir.join(name(n));
        match temp.persist_noclobber(&path) {
            Ok(_) => return crate::platform::sync_dir(dir).map(|()| n).map_err(io(dir)),
            Err(err) if err.error.kind() == std::io::ErrorKind::AlreadyExists => {
                temp = err.file;
                n += 1;
            }
            Err(err) => return Err(io(&path)(err.error)),
        }
    }
}

/// A temp file `write_file` leaves behind if it dies before the rename.
pub fn is_temp_name(name: &str) -> bool {
    name.starts_with(TEMP_PREFIX) && name.ends_with(TEMP_SUFFIX)
}

const TEMP_PREFIX: &str = ".thoth-";
const TEMP_SUFFIX: &str = ".tmp";

/// The content in a temp file in `dir` with `access`, synced: ready to be renamed over `path`.
fn staged(
    dir: &Path,
    path: &Path,
    content: &[u8],
    access: Access,
) -> Result<tempfile::NamedTempFile, Error> {
    // Created 0600, so a secret is never readable by others, not even for a moment.
    let mut temp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .suffix(TEMP_SUFFIX)
        .tempfile_in(dir)
        .map_err(io(dir))?;
    temp.write_all(content).map_err(io(path))?;
    match access {
        Access::Private => Ok(()),
        Access::Shared { uid, gid } => crate::platform::give_to(temp.as_file(), uid, gid),
        Access::Like(meta) => crate::platform::copy_owner_and_mode(temp.as_file(), meta),
        Access::PrivateFor { uid, gid } => {
            crate::platform::give_privately(temp.as_file(), uid, gid)
        }
    }
    .map_err(io(path))?;
    temp.as_file().sync_all().map_err(io(path))?;
    Ok(temp)
}

/// An `intent_map.json` (`{server name: session intent}`, each intent a non-empty string): the one reader,
/// behind `wrap-config --intent-map` (an error) and `thoth run`'s session intent (a warning). Err: a
/// sentence saying what is wrong.
pub fn read_intent_map(path: &Path) -> Result<std::collections::BTreeMap<String, String>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let map: std::collections::BTreeMap<String, serde_json::Value> =
        serde_json::from_str(&text).map_err(|e| e.to_string())?;
    map.into_iter()
        .map(|(name, intent)| match intent {
            serde_json::Value::String(s) if !s.trim().is_empty() => Ok((name, s)),
            _ => Err(format!(
                "the intent of \"{name}\" is not a non-empty string"
            )),
        })
        .collect()
}

/// A file under a `.thoth` folder must land inside it once symlinks are resolved: a symlinked subfolder
/// (`~/.thoth/state -> /etc`) could otherwise make thoth write anywhere. (`~/.thoth` itself may be a
/// symlink: it is the root. The file's own name is never followed: the rename replaces a symlink there.)
fn stays_in_thoth_dir(path: &Path, dir: &Path) -> Result<(), Error> {
    let Some(root) = dir
        .ancestors()
        .find(|a| a.file_name().is_some_and(|n| n == paths::THOTH_DIR_NAME))
    else {
        return Ok(());
    };
    let (Ok(real_root), Ok(real_dir)) = (std::fs::canonicalize(root), std::fs::canonicalize(dir))
    else {
        return Ok(()); // nothing there yet to escape through; the write reports what is missing
    };
    if real_dir.starts_with(&real_root) {
        return Ok(());
    }
    Err(Error::Escapes {
        path: path.to_owned(),
        root: root.to_owned(),
        target: real_dir,
    })
}

/// `~/.thoth/proxy_api_key.json` with this key (written 0600, atomically).
pub fn save_api_key(dir: &Path, api_key: &str, key_id: Option<&str>) -> Result<PathBuf, Error> {
    bootstrap(dir)?;
    let path = paths::proxy_api_key_file(dir);
    let body = serde_json::json!({"api_key": api_key, "key_id": key_id});
    let mut text = serde_json::to_vec_pretty(&body).unwrap_or_default();
    text.push(b'\n');
    write_private(&path, &text)?;
    Ok(path)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn bootstrap_creates_private_files_and_tightens_loose_ones() {
        let home = tempfile::tempdir().unwrap();
        let dir = home.path().join(".thoth");
        assert!(bootstrap(&dir).unwrap().is_empty());
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(
            std::fs::read_to_string(dir.join("intent_map.json"))
                .unwrap()
                .trim(),
            "{}"
        );
        assert_eq!(mode(&dir.join("proxy_api_key.json")), 0o600);
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(
            dir.join("proxy_api_key.json"),
            std::fs::Permissions::from_mode(0o644),
        )
        .unwrap();
        let warnings = bootstrap(&dir).unwrap();
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join("proxy_api_key.json")), 0o600);
        // A second run changes nothing and says nothing.
        assert!(bootstrap(&dir).unwrap().is_empty());
    }

    #[test]
    fn private_dirs_are_created_0700_with_their_missing_parents() {
        let home = tempfile::tempdir().unwrap();
        let dir = home.path().join(".thoth").join("audit");
        create_private_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&home.path().join(".thoth")), 0o700);
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        create_private_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
    }

    #[test]
    fn writes_never_follow_a_symlink_out_of_the_thoth_folder() {
        let home = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let dir = home.path().join(".thoth");
        bootstrap(&dir).unwrap();
        // A subfolder that is a symlink elsewhere: refused, nothing written there.
        std::os::unix::fs::symlink(outside.path(), dir.join("state")).unwrap();
        let err = write_private(&dir.join("state").join("update.json"), b"{}").unwrap_err();
        assert!(matches!(err, Error::Escapes { .. }), "{err}");
        assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
        // A file that is a symlink out: replaced by a file, its target untouched (and never chmod-ed).
        let target = outside.path().join("victim.json");
        std::fs::write(&target, "original").unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o644)).unwrap();
        std::fs::remove_file(dir.join("proxy_api_key.json")).unwrap();
        std::os::unix::fs::symlink(&target, dir.join("proxy_api_key.json")).unwrap();
        let warnings = bootstrap(&dir).unwrap();
        assert!(
            warnings.iter().any(|w| w.contains("symlink")),
            "{warnings:?}"
        );
        assert_eq!(mode(&target), 0o644);
        save_api_key(&dir, "sk-1", None).unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "original");
        assert!(!std::fs::symlink_metadata(dir.join("proxy_api_key.json"))
            .unwrap()
            .file_type()
            .is_symlink());
        // ~/.thoth itself may be a symlink (a dotfiles setup): it is the root.
        let real = outside.path().join("real-thoth");
        std::fs::create_dir(&real).unwrap();
        let linked_home = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(&real, linked_home.path().join(".thoth")).unwrap();
        write_private(&linked_home.path().join(".thoth").join("x.json"), b"{}").unwrap();
        assert!(real.join("x.json").exists());
    }

    #[test]
    fn saved_keys_are_private_and_existing_files_are_kept() {
        let home = tempfile::tempdir().unwrap();
        let dir = home.path().join(".thoth");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("intent_map.json"), r#"{"fs":"code-review"}"#).unwrap();
        let path = save_api_key(&dir, "sk-1", Some("kid")).unwrap();
        assert_eq!(mode(&path), 0o600);
        let saved: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(
            saved,
            serde_json::json!({"api_key": "sk-1", "key_id": "kid"})
        );
        assert_eq!(
            std::fs::read_to_string(dir.join("intent_map.json")).unwrap(),
            r#"{"fs":"code-review"}"#
        );
    }

    #[test]
    fn the_intent_map_reader_takes_only_names_to_non_empty_strings() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("intent_map.json");
        let read = |text: &str| {
            std::fs::write(&path, text).unwrap();
            read_intent_map(&path)
        };
        let map = read(r#"{"fs": "code-review", "gh": "triage"}"#).unwrap();
        assert_eq!(map.get("fs").map(String::as_str), Some("code-review"));
        assert_eq!(map.len(), 2);
        assert!(read("{}").unwrap().is_empty());
        for bad in [
            r#"{"fs": ""}"#,
            r#"{"fs": "  "}"#,
            r#"{"fs": 1}"#,
            r#"{"fs": null}"#,
            r#"{"fs": ["a"]}"#,
            r#"["fs"]"#,
            "",
            "{",
        ] {
            assert!(read(bad).is_err(), "{bad:?}");
        }
        assert!(read_intent_map(&dir.path().join("missing.json")).is_err());
    }

    #[test]
    fn write_new_never_replaces_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let name = |n: u64| format!("{n:04}.json");
        std::fs::write(dir.path().join("0001.json"), "taken").unwrap();
        assert_eq!(write_new_private(dir.path(), b"a", 0, name).unwrap(), 0);
        // 1 is another process's: skipped, not overwritten.
        assert_eq!(write_new_private(dir.path(), b"b", 1, name).unwrap(), 2);
        assert_eq!(
            std::fs::read(dir.path().join("0001.json")).unwrap(),
            b"taken"
        );
        assert_eq!(std::fs::read(dir.path().join("0002.json")).unwrap(), b"b");
        assert_eq!(mode(&dir.path().join("0002.json")), 0o600);
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(!names.iter().any(|n| is_temp_name(n)), "{names:?}");
        assert_eq!(names.len(), 3);
    }
}
