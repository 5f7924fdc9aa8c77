//! Is a wrapped entry's command this thoth? A server counts as governed only when its command is an existing
//! file that is the running binary (the same file, or the same bytes by SHA-256), or one of the paths the
//! managed setting THOTH_TRUSTED_INSTALL_PATHS lists. A file merely named `thoth` (a missing path, a shell
//! shim) is not (issue 12 §2). Verdicts are cached per command, so a config of many servers hashes once.

use std::cell::{OnceCell, RefCell};
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::settings::{Settings, Source};

/// The managed key listing more thoth binaries that count as governing.
pub const TRUSTED_PATHS_KEY: &str = "THOTH_TRUSTED_INSTALL_PATHS";

/// What governs: the running binary, and the managed trusted paths.
pub struct Trust {
    this: Option<PathBuf>,
    /// The running binary's length and SHA-256, computed when first needed.
    this_digest: OnceCell<Option<(u64, [u8; 32])>>,
    trusted: Vec<PathBuf>,
    verdicts: RefCell<HashMap<String, Result<(), String>>>,
}

impl Trust {
    /// The running binary, plus the trusted paths of the managed settings (a value from anywhere else, the
    /// user's env or profile, does not widen what counts).
    pub fn current(settings: Option<&Settings>) -> Trust {
        let this = std::env::current_exe().ok();
        let trusted = settings
            .and_then(|s| s.get(TRUSTED_PATHS_KEY))
            .filter(|v| matches!(v.source, Source::Managed(_)))
            .map(|v| parse_paths(&v.value))
            .unwrap_or_default();
        Trust::new(this, trusted)
    }

    /// `this` stands for the running binary (tests name another file).
    pub fn new(this: Option<PathBuf>, trusted: Vec<PathBuf>) -> Trust {
        Trust {
            this,
            this_digest: OnceCell::new(),
            trusted,
            verdicts: RefCell::new(HashMap::new()),
        }
    }

    /// `Ok` when `command` is this thoth; else why not, in words.
    pub fn judge(&self, command: &str) -> Result<(), String> {
        if let Some(verdict) = self.verdicts.borrow().get(command) {
            return verdict.clone();
        }
        let verdict = self.judge_uncached(Path::new(command));
        self.verdicts
            .borrow_mut()
            .insert(command.to_owned(), verdict.clone());
        verdict
    }

    fn judge_uncached(&self, command: &Path) -> Result<(), String> {
        if !command.is_absolute() {
            return Err(format!(
                "{} is not an absolute path: which file runs depends on the client's PATH",
                command.display()
            ));
        }
        let meta = std::fs::metadata(command)
            .map_err(|e| format!("{} cannot be read ({e})", command.display()))?;
        if !meta.is_file() {
            return Err(format!("{} is not a file", command.display()));
        }
        if self.trusted.iter().any(|t| t == command) {
            return Ok(());
        }
        let Some(this) = &self.this else {
            return Err("the running thoth binary cannot be found to compare with".into());
        };
        if same_file::is_same_file(command, this).unwrap_or(false) {
            return Ok(());
        }
        let Some((len, digest)) = self.this_digest() else {
            return Err("the running thoth binary cannot be read to compare with".into());
        };
        // Only a file of the same length can hold the same bytes: no need to hash a large stranger.
        if meta.len() == len && sha256(command).is_some_and(|d| d == digest) {
            return Ok(());
        }
        Err(format!(
            "{} is not this thoth binary ({}) nor a trusted install path ({TRUSTED_PATHS_KEY})",
            command.display(),
            this.display()
        ))
    }

    fn this_digest(&self) -> Option<(u64, [u8; 32])> {
        *self.this_digest.get_or_init(|| {
            let this = self.this.as_deref()?;
            let len = std::fs::metadata(this).ok()?.len();
            Some((len, sha256(this)?))
        })
    }
}

/// Absolute paths, separated as PATH is on this OS (newlines too); relative ones are ignored.
pub fn parse_paths(value: &str) -> Vec<PathBuf> {
    value
        .lines()
        .flat_map(|line| std::env::split_paths(line).collect::<Vec<_>>())
        .filter(|p| p.is_absolute())
        .collect()
}

fn sha256(path: &Path) -> Option<[u8; 32]> {
    let mut file = std::fs::File::open(path).ok()?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match file.read(&mut buf) {
            Ok(0) => return Some(hasher.finalize().into()),
            Ok(n) => hasher.update(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_this_binary_its_copies_and_trusted_paths_govern() {
        let dir = tempfile::tempdir().unwrap();
        let this = dir.path().join("thoth");
        std::fs::write(&this, b"\x7fELF the real thoth").unwrap();
        let copy = dir.path().join("copy/thoth");
        std::fs::create_dir_all(copy.parent().unwrap()).unwrap();
        std::fs::copy(&this, &copy).unwrap();
        let shim = dir.path().join("shim/thoth");
        std::fs::create_dir_all(shim.parent().unwrap()).unwrap();
        std::fs::write(&shim, "#!/bin/sh\nexec \"$@\"\n").unwrap();
        let same_len = dir.path().join("same-len/thoth");
        std::fs::create_dir_all(same_len.parent().unwrap()).unwrap();
        std::fs::write(&same_len, b"\x7fELF the fake thoth").unwrap();
        let trust = Trust::new(Some(this.clone()), vec![shim.clone()]);
        let s = |p: &Path| p.to_str().unwrap().to_owned();
        assert_eq!(trust.judge(&s(&this)), Ok(()));
        assert_eq!(trust.judge(&s(&copy)), Ok(()), "same SHA-256");
        assert_eq!(trust.judge(&s(&shim)), Ok(()), "a trusted path");
        assert!(
            trust.judge(&s(&same_len)).is_err(),
            "same length, other bytes"
        );
        assert!(trust
            .judge("thoth")
            .unwrap_err()
            .contains("not an absolute path"));
        let missing = dir.path().join("missing/thoth");
        assert!(trust
            .judge(&s(&missing))
            .unwrap_err()
            .contains("cannot be read"));
        assert!(trust
            .judge(&s(dir.path()))
            .unwrap_err()
            .contains("not a file"));
        let untrusted = Trust::new(Some(this.clone()), vec![]);
        assert!(untrusted
            .judge(&s(&shim))
            .unwrap_err()
            .contains("not this thoth"));
    }

    #[test]
    fn trusted_paths_are_absolute_and_split_like_path() {
        let sep = if cfg!(windows) { ";" } else { ":" };
        let abs = if cfg!(windows) {
            "C:\\t\\thoth.exe"
        } else {
            "/opt/t/thoth"
        };
        let abs2 = if cfg!(windows) {
            "D:\\thoth.exe"
        } else {
            "/usr/bin/thoth"
        };
        let paths = parse_paths(&format!("{abs}{sep}relative/thoth\n{abs2}"));
        assert_eq!(paths, [PathBuf::from(abs), PathBuf::from(abs2)]);
    }
}
