//! Which MDM-managed values apply on this machine: the OS sources (`settings::managed::load_system_checked`:
//! the macOS managed-preferences plists, the Windows policy registry keys, /etc/thoth/managed.json). Where
//! none exist, THOTH_MANAGED_SETTINGS_FILE may name a `.plist`, `.reg` or `.json` file to stand in for them
//! (tests, evaluations); it never applies on a managed machine, so a user cannot use it to escape MDM values.
//! A broken source is reported, never silently empty: `resolve` refuses it outside dev (fail closed).

use std::collections::BTreeMap;
use std::path::Path;

use super::inputs::FileValue;
use super::managed::{self, ManagedError, ManagedValues};

pub const OVERRIDE_ENV: &str = "THOTH_MANAGED_SETTINGS_FILE";

/// The managed values of this machine, and what could not be read.
pub struct Managed {
    pub values: BTreeMap<String, FileValue>,
    pub problems: Vec<String>,
}

pub fn load() -> Managed {
    let user = crate::platform::user_name();
    let system = managed::load_system_checked(user.as_deref());
    if !system.values.is_empty() || !system.problems.is_empty() {
        return Managed {
            values: convert(system.values),
            problems: describe(system.problems),
        };
    }
    match std::env::var_os(OVERRIDE_ENV) {
        Some(path) => read_file(Path::new(&path)),
        None => Managed {
            values: BTreeMap::new(),
            problems: Vec::new(),
        },
    }
}

/// A managed-settings file, by its extension (`.plist`, `.reg`, else JSON).
pub fn read_file(path: &Path) -> Managed {
    let origin = path.display().to_string();
    let parsed = std::fs::read(path)
        .map_err(|e| format!("cannot read {origin} ({OVERRIDE_ENV}): {e}"))
        .and_then(|bytes| {
            let extension = path
                .extension()
                .and_then(|e| e.to_str())
                .unwrap_or_default()
                .to_ascii_lowercase();
            let parsed = match extension.as_str() {
                "plist" => managed::from_plist_at(&bytes, &origin),
                "reg" => managed::from_reg_export_bytes_at(&bytes, &origin),
                _ => managed::from_json_at(&String::from_utf8_lossy(&bytes), &origin),
            };
            parsed.map_err(|e| e.to_string())
        });
    match parsed {
        Ok(values) => Managed {
            values: convert(values),
            problems: Vec::new(),
        },
        Err(problem) => Managed {
            values: BTreeMap::new(),
            problems: vec![problem],
        },
    }
}

fn convert(values: ManagedValues) -> BTreeMap<String, FileValue> {
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

fn describe(problems: Vec<ManagedError>) -> Vec<String> {
    problems.into_iter().map(|e| e.to_string()).collect()
}
