//! Replacing the running binary: the verified bytes are staged beside it (temp file in the same folder,
//! fsync, the owner and mode of the installed file), run once (`--version`) to prove they start here, then
//! renamed over it after the installed one is kept as `<name>.previous[.exe]` for `thoth update --rollback`.
//! Anything that fails before the final rename leaves the installed binary untouched.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::Error;

/// How long the staged binary may take to answer `--version`.
const RUN_CHECK_TIMEOUT: Duration = Duration::from_secs(30);

/// `thoth` -> `thoth.previous`, `thoth.exe` -> `thoth.previous.exe`, in the same folder.
pub fn previous_path(exe: &Path) -> PathBuf {
    let stem = exe
        .file_stem()
        .map_or("thoth".into(), |s| s.to_string_lossy().into_owned());
    let name = match exe.extension() {
        Some(ext) => format!("{stem}.previous.{}", ext.to_string_lossy()),
        None => format!("{stem}.previous"),
    };
    exe.with_file_name(name)
}

fn folder(exe: &Path) -> &Path {
    exe.parent().unwrap_or(Path::new("."))
}

fn io<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> Error + 'a {
    move |error| Error::Install {
        action,
        path: path.to_owned(),
        error,
    }
}

/// Install `bytes` over `exe`, keeping the old binary. Returns where the old one was kept.
pub fn replace(exe: &Path, bytes: &[u8]) -> Result<PathBuf, Error> {
    let dir = folder(exe);
    // Same extension as the installed file: Windows runs only `.exe` files by that name.
    let suffix = exe
        .extension()
        .map_or(String::new(), |ext| format!(".{}", ext.to_string_lossy()));
    let mut staged = tempfile::Builder::new()
        .prefix(".thoth-update-")
        .suffix(&suffix)
        .tempfile_in(dir)
        .map_err(io("stage the new binary in", dir))?;
    staged
        .write_all(bytes)
        .map_err(io("write", staged.path()))?;
    staged
        .as_file()
        .sync_all()
        .map_err(io("write", staged.path()))?;
    std::fs::metadata(exe)
        .and_then(|meta| crate::platform::copy_owner_and_mode(staged.as_file(), &meta))
        .map_err(io("copy the owner and mode of", exe))?;
    // Close the file before running it (Linux refuses to exec a file open for writing).
    let staged = staged.into_temp_path();
    check_runs(&staged)?;
    let previous = previous_path(exe);
    crate::platform::binary::keep_copy(exe, &previous).map_err(io("keep a copy of", exe))?;
    if let Err(failed) = staged.persist(exe) {
        // Windows moved the installed binary away to keep it: put it back.
        if !exe.exists() {
            let _ = std::fs::rename(&previous, exe);
        }
        return Err(Error::Install {
            action: "replace",
            path: exe.to_owned(),
            error: failed.error,
        });
    }
    sync_folder(dir);
    Ok(previous)
}

/// Swap the kept previous binary back in; the replaced one becomes the new previous (so a rollback can be
/// undone the same way).
pub fn rollback(exe: &Path) -> Result<PathBuf, Error> {
    let previous = previous_path(exe);
    if !previous.is_file() {
        return Err(Error::NoPrevious { path: previous });
    }
    let swap = exe.with_file_name(format!(".thoth-rollback-{}", std::process::id()));
    crate::platform::binary::keep_copy(exe, &swap).map_err(io("keep a copy of", exe))?;
    if let Err(error) = std::fs::rename(&previous, exe) {
        if !exe.exists() {
            let _ = std::fs::rename(&swap, exe);
        } else {
            let _ = std::fs::remove_file(&swap);
        }
        return Err(Error::Install {
            action: "restore",
            path: exe.to_owned(),
            error,
        });
    }
    std::fs::rename(&swap, &previous).map_err(io("keep", &previous))?;
    sync_folder(folder(exe));
    Ok(previous)
}

/// Run the staged binary's `--version`: it must start and exit 0 on this machine.
fn check_runs(path: &Path) -> Result<(), Error> {
    let fails = |reason: String| Error::NewBinaryFails { reason };
    let mut child = Command::new(path)
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| fails(format!("cannot start it: {e}")))?;
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => return Err(fails(format!("`--version` ended with {status}"))),
            Ok(None) if start.elapsed() > RUN_CHECK_TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(fails("`--version` did not finish".into()));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(fails(e.to_string())),
        }
    }
}

/// Make the renames durable where the OS allows syncing a folder (a failure only costs durability).
/// Flush the renames to disk; the swap is already done, so a failure here is not worth failing it for.
fn sync_folder(dir: &Path) {
    let _ = crate::platform::sync_dir(dir);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_previous_binary_sits_beside_the_installed_one() {
        assert_eq!(
            previous_path(Path::new("/opt/bin/thoth")),
            Path::new("/opt/bin/thoth.previous")
        );
        assert_eq!(
            previous_path(Path::new("C:/Tools/thoth.exe")),
            Path::new("C:/Tools/thoth.previous.exe")
        );
    }
}
