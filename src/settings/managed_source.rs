//! Which MDM-managed values apply on this machine: the OS sources (`settings::managed::load_system`: the
//! macOS managed-preferences plists, the Windows policy registry key, /etc/thoth/managed.json). Where none
//! exist, THOTH_MANAGED_SETTINGS_FILE may name a `.plist`, `.reg` or `.json` file to stand in for them (tests,
//! evaluations). It never applies on a managed machine, so a user cannot use it to escape real MDM values.

use std::collections::BTreeMap;
use std::path::Path;

use super::inputs::FileValue;
use super::managed;

pub const OVERRIDE_ENV: &str = "THOTH_MANAGED_SETTINGS_FILE";

/// The MDM-managed values of this machine (empty where none are deployed).
pub fn load() -> BTreeMap<String, FileValue> {
    let user = crate::platform::user_name();
    let system = convert(managed::load_system(user.as_deref()));
    if !system.is_empty() {
        return system;
    }
    match std::env::var_os(OVERRIDE_ENV) {
        Some(path) => read_file(Path::new(&path)),
        None => system,
    }
}

/// A managed-settings file by its extension; a broken one is a warning and no values.
pub fn read_file(path: &Path) -> BTreeMap<String, FileValue> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "cannot read the managed settings file");
            return BTreeMap::new();
        }
    };
    let origin = path.display().to_string();
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let parsed = match extension.as_str() {
        "plist" => managed::from_plist(&bytes),
        "reg" => managed::from_reg_export_bytes(&bytes),
        _ => managed::from_json(&String::from_utf8_lossy(&bytes)),
    };
    match parsed {
        Ok(values) => convert(values)
            .into_iter()
            .map(|(k, v)| {
                (
                    k,
                    FileValue {
                        value: v.value,
                        origin: format!("{origin} ({})", v.origin),
                    },
                )
            })
            .collect(),
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "ignoring a malformed managed settings file");
            BTreeMap::new()
        }
    }
}

fn convert(values: managed::ManagedValues) -> BTreeMap<String, FileValue> {
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
