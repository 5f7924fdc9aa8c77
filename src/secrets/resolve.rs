//! `thoth run`: environment variables whose whole value is `thoth-secret:<name>` are resolved from the store,
//! for the server's environment only (`proxy::upstream::spawn_with`). Nothing here logs a value; the values
//! are wiped from memory when the spawn is done with them.

use std::ffi::OsString;
use std::path::Path;

use super::{referenced, Error, Store, Value};

/// One resolved variable: its name and the value the server gets.
pub type Resolved = Vec<(OsString, Value)>;

/// Resolve every reference in `vars` (thoth's own environment). No reference: no store is opened. A
/// missing secret or an unusable store is an error naming the reference and the command that sets it.
pub fn references(
    vars: impl IntoIterator<Item = (OsString, OsString)>,
    thoth_dir: Option<&Path>,
) -> Result<Resolved, Error> {
    let wanted: Vec<(OsString, String)> = vars
        .into_iter()
        .filter_map(|(key, value)| {
            let name = referenced(value.to_str()?)?.to_owned();
            Some((key, name))
        })
        .collect();
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let store = Store::open(thoth_dir)?;
    let mut resolved = Vec::with_capacity(wanted.len());
    for (key, name) in wanted {
        let env = key.to_string_lossy().into_owned();
        let wrap = |source: Error| Error::Reference {
            env: env.clone(),
            source: Box::new(source),
        };
        match store.get(&name) {
            Ok(Some(value)) => resolved.push((key, value)),
            Ok(None) => return Err(Error::MissingReference { name, env }),
            Err(err) => return Err(wrap(err)),
        }
    }
    tracing::debug!(
        count = resolved.len(),
        "resolved thoth-secret references for the server"
    );
    Ok(resolved)
}
