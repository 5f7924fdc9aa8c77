//! `thoth lock` and `thoth diff`: list a server as a client, then pin it in a lockfile (and sign it) or
//! compare it with one (`lock::drift`), rendered as text or JSON.

pub mod listing;

use std::path::Path;

use crate::lock::cli_args::{DiffArgs, LockArgs};
use crate::lock::model::Lockfile;
use crate::lock::{drift, load, signature, Error};
use crate::Exit;

/// `thoth lock`: pin the server, write FILE (and FILE.minisig with --sign).
pub fn run_lock(args: LockArgs) -> Result<Exit, crate::Error> {
    let listing = listing::list_command(&args.server)?;
    let text = Lockfile::from_listing(&listing).render();
    let write = |path: &Path, bytes: &[u8]| {
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
        std::io::Write::write_all(&mut tmp, bytes)?;
        tmp.as_file().sync_all()?;
        tmp.persist(path).map(|_| ()).map_err(|e| e.error)
    };
    write(&args.output, text.as_bytes()).map_err(|source| Error::Write {
        path: args.output.clone(),
        source,
    })?;
    if let Some(key) = &args.sign {
        signature::sign(&args.output, text.as_bytes(), key)?;
    }
    crate::output::message(&format!("wrote {}", args.output.display()));
    Ok(Exit::Ok)
}

/// `thoth diff`: 0 no drift at or above --fail-on, 1 some, 2 no comparison was possible.
pub fn run_diff(args: DiffArgs) -> Result<Exit, crate::Error> {
    let compared = load(&args.lock, &[]).and_then(|pinned| {
        let live = Lockfile::from_listing(&listing::list_command(&args.server)?);
        Ok(drift::compare(&pinned, &live))
    });
    let drifts = match compared {
        Ok(drifts) => drifts,
        Err(err) => {
            crate::output::report(&err);
            return Ok(Exit::NoComparison);
        }
    };
    let failing = drifts.iter().any(|d| d.severity >= args.fail_on);
    if args.json {
        crate::output::json(&serde_json::json!({
            "lock": args.lock.display().to_string(),
            "fail_on": args.fail_on.as_str(),
            "drift": drifts,
        }));
    } else {
        let text: String = drifts
            .iter()
            .map(|d| format!("{} {} {}\n", d.severity.as_str(), d.kind.as_str(), d.name))
            .collect();
        crate::output::text(&text);
        if drifts.is_empty() {
            crate::output::message(&format!("no drift from {}", args.lock.display()));
        }
    }
    Ok(if failing { Exit::Failure } else { Exit::Ok })
}
