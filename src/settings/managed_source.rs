//! Which MDM-managed values apply on this machine: the OS sources (`settings::managed::load_system_checked`:
//! the macOS managed-preferences plists, the Windows policy registry keys, /etc/thoth/managed.json). Where
//! none exist, THOTH_MANAGED_SETTINGS_FILE may name a `.plist`, `.reg` or `.json` file to stand in for them
//! (tests, evaluations); it never applies on a managed machine, so a user cannot use it to escape MDM values.
//! A bad value fails closed for its own key; a broken source is reported, never silently empty: `resolve`
//! refuses it in every environment (fail closed).

use std::collections::BTreeMap;
use std::path::Path;

use super::file_value::FileValue;
use super::managed::{self, Loaded, ManagedError, ManagedValues};

pub const OVERRIDE_ENV: &str = "THOTH_MANAGED_SETTINGS_FILE";

/// The managed values of this machine, and what could not be read.
#[derive(Debug, Default)]
pub struct Managed {
    pub values: BTreeMap<String, FileValue>,
    /// Keys whose managed value is unusable: the problem (naming the source and the key) and its origin.
    pub bad: BTreeMap<String, FileValue>,
    /// Sources that exist but cannot be used at all.
    pub problems: Vec<String>,
    /// Some managed source exists: dev defaults no longer apply to what the user sets.
    pub present: bool,
    /// The stand-in file, when other users can write it (it then counts as no managed source).
    pub untrusted: Vec<String>,
}

pub fn load() -> Managed {
    let user = crate::platform::user_name();
    let system = managed::load_system_checked(user.as_deref());
    if system.present {
        return convert(system);
    }
    match std::env::var_os(OVERRIDE_ENV) {
        Some(path) => read_file(Path::new(&path)),
        None => Managed::default(),
    }
}

/// A managed-settings file, by its extension (`.plist`, `.reg`, else JSON).
pub fn read_file(path: &Path) -> Managed {
    let origin = path.display().to_string();
    let mut loaded = Loaded::default();
    match std::fs::read(path) {
        Ok(bytes) => {
            let extension = path
                .extension()
                .and_then(|e| e.to_str())
                .unwrap_or_default()
                .to_ascii_lowercase();
            let parsed = match extension.as_str() {
                "plist" => managed::plist_entries(&bytes, &origin),
                "reg" => managed::reg_export_entries(&bytes, &origin),
                _ => managed::json_entries(&String::from_utf8_lossy(&bytes), &origin),
            };
            match parsed {
                Ok(entries) => loaded.add(entries),
                Err(error) => loaded.add_problem(error),
            }
        }
        // The stand-in is the user's own choice: naming a file that is not there manages nothing.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            tracing::warn!(path = %origin, "{OVERRIDE_ENV} names no file: no managed settings");
            return Managed::default();
        }
        Err(e) => loaded.add_problem(ManagedError::Unreadable {
            origin: format!("{origin} ({OVERRIDE_ENV})"),
            cause: e.to_string(),
        }),
    }
    let mut managed = convert(loaded);
    // A stand-in another user can write cannot vouch for itself: its THOTH_ENV does not count, nor does it
    // make this a managed machine; `resolve` refuses it outside dev.
    if let Some(problem) = super::trust::check_file(path, OVERRIDE_ENV) {
        managed.values.remove("THOTH_ENV");
        managed.bad.remove("THOTH_ENV");
        managed.present = false;
        managed.untrusted.push(problem);
    }
    managed
}

fn convert(loaded: Loaded) -> Managed {
    Managed {
        values: values(loaded.values),
        bad: loaded
            .bad
            .into_iter()
            .map(|(k, e)| {
                let bad = FileValue {
                    value: e.to_string(),
                    origin: e.origin().to_owned(),
                };
                (k, bad)
            })
            .collect(),
        problems: loaded.problems.iter().map(|e| e.to_string()).collect(),
        present: loaded.present,
        untrusted: Vec::new(),
    }
}

fn values(values: ManagedValues) -> BTreeMap<String, FileValue> {
    values
        .into_iter()
        .map(|(k, v)| {
            (
                k,
                FileValue {
                    value: v.value,
                    origin: v.origin,
                },
            )
        })
        .collect()
}
