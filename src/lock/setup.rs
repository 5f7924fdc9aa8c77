//! Which lock `thoth run` enforces, from `--lock` / `--lock-mode` / `--lock-pubkey` and the managed settings
//! THOTH_LOCK_DIR, THOTH_LOCK_PUBLIC_KEYS and THOTH_REQUIRE_LOCK. Runs before the server is started; any
//! failure is a refusal to start that names the file.

use std::path::{Path, PathBuf};

use super::guard::{Guard, LockMode};
use super::{load, signature, Error};
use crate::settings::{Settings, Source};

/// The lock flags of `thoth run`.
pub struct LockFlags<'a> {
    pub lock: Option<&'a Path>,
    pub mode: LockMode,
    pub pubkeys: &'a [String],
}

fn is_managed(settings: &Settings, name: &str) -> bool {
    settings
        .get(name)
        .is_some_and(|v| matches!(v.source, Source::Managed(_)))
}

/// The lockfile this server would use, the key specs it would be verified with, and THOTH_REQUIRE_LOCK.
fn lock_and_keys(
    flags: &LockFlags,
    settings: &Settings,
    agent_id: &str,
) -> (Option<PathBuf>, Vec<String>, bool) {
    let setting = |name: &str| {
        settings
            .get(name)
            .map(|v| v.value.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let require = setting("THOTH_REQUIRE_LOCK")
        .and_then(|v| crate::settings::validate::boolean(&v).ok())
        .unwrap_or(false);
    // Managed keys replace the user's: a user cannot trust a key of their own to pass a forged lock.
    let key_specs: Vec<String> = match setting("THOTH_LOCK_PUBLIC_KEYS") {
        Some(keys)
            if is_managed(settings, "THOTH_LOCK_PUBLIC_KEYS") || flags.pubkeys.is_empty() =>
        {
            keys.split(',')
                .map(|k| k.trim().to_owned())
                .filter(|k| !k.is_empty())
                .collect()
        }
        _ => flags.pubkeys.to_vec(),
    };
    let path: Option<PathBuf> = match (flags.lock, setting("THOTH_LOCK_DIR")) {
        (Some(lock), _) => Some(lock.to_owned()),
        (None, Some(dir)) => {
            let candidate = Path::new(&dir).join(format!("{agent_id}.lock.json"));
            (require || candidate.exists()).then_some(candidate)
        }
        (None, None) => None,
    };
    (path, key_specs, require)
}

/// How a governed server stands with its lock, for `thoth health`: `none`, `unsigned`, `verified` or
/// `refused` (thoth would refuse to start it), with the lockfile and the reason.
pub fn status(
    flags: &LockFlags,
    settings: &Settings,
    agent_id: &str,
) -> (Option<PathBuf>, &'static str, Option<String>) {
    let (path, keys, _) = lock_and_keys(flags, settings, agent_id);
    match resolve(flags, settings, agent_id) {
        Ok(None) => (path, "none", None),
        Ok(Some(_)) if keys.is_empty() => (path, "unsigned", None),
        Ok(Some(_)) => (path, "verified", None),
        Err(err) => (path, "refused", Some(err.to_string())),
    }
}

/// The guard for this session (None: no lock), or why thoth must refuse to start.
pub fn resolve(
    flags: &LockFlags,
    settings: &Settings,
    agent_id: &str,
) -> Result<Option<Guard>, Error> {
    let (path, key_specs, require) = lock_and_keys(flags, settings, agent_id);
    let Some(path) = path else {
        if require {
            return Err(Error::Required(
                "THOTH_REQUIRE_LOCK is set and this server has no lockfile (no --lock, and no THOTH_LOCK_DIR)".into(),
            ));
        }
        return Ok(None);
    };
    if require && key_specs.is_empty() {
        return Err(Error::Required(format!(
            "THOTH_REQUIRE_LOCK is set but no key to verify {} with (THOTH_LOCK_PUBLIC_KEYS or --lock-pubkey)",
            signature::signature_path(&path).display()
        )));
    }
    let keys = key_specs
        .iter()
        .map(|spec| signature::load_key(spec))
        .collect::<Result<Vec<_>, _>>()?;
    let lock = load(&path, &keys)?;
    if keys.is_empty() {
        tracing::warn!(lock = %path.display(), "the lockfile is used unsigned (no --lock-pubkey / THOTH_LOCK_PUBLIC_KEYS): its signature is not checked");
    }
    let mut mode = flags.mode;
    if require && mode != LockMode::Enforce {
        tracing::warn!(
            lock_mode = mode.as_str(),
            "THOTH_REQUIRE_LOCK is set: --lock-mode is ignored, the lock is enforced"
        );
        mode = LockMode::Enforce;
    }
    tracing::info!(lock = %path.display(), signed = !keys.is_empty(), lock_mode = mode.as_str(), tools = lock.tools.len(), "the server runs under a lock");
    Ok(Some(Guard::new(lock, mode)))
}
