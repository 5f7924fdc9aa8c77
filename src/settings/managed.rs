//! MDM-managed settings (DESIGN.md §4): the macOS managed-preferences plist, the Windows policy key (live, or
//! as a `regedit /e` export) and Linux's `/etc/thoth/managed.json`, each read into one map of setting name ->
//! value as text + where it came from. The parsers are pure and tested on every OS; finding and reading the
//! sources is `platform::managed_paths`. Which keys exist and which win is `settings::resolve`'s job: unknown
//! keys are kept for the caller to warn about.

mod reg_export;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::io::Cursor;

use crate::platform::managed_paths::{
    self, RawContent, RawSource, RegistryValue, REG_BINARY, REG_DWORD, REG_DWORD_BIG_ENDIAN,
    REG_EXPAND_SZ, REG_MULTI_SZ, REG_NONE, REG_QWORD, REG_SZ,
};

pub use reg_export::{
    from_reg_export, from_reg_export_at, from_reg_export_bytes, from_reg_export_bytes_at,
    machine_key_values, reg_export_entries,
};

/// What errors and origins name when the caller does not say which file the bytes came from.
pub const UNNAMED_PLIST: &str = "managed preferences plist";
pub const UNNAMED_JSON: &str = "managed.json";
pub const UNNAMED_REG_EXPORT: &str = "registry export";

/// One managed value, as text, and where it was set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagedValue {
    /// Booleans are `true`/`false`, numbers decimal, strings as written.
    pub value: String,
    /// The file, or the registry value (`HKLM\SOFTWARE\Policies\AtenSecurity\Thoth\THOTH_TENANT_ID`).
    pub origin: String,
}

/// Managed values by setting name (the environment variable's name, e.g. `THOTH_TENANT_ID`), sorted.
pub type ManagedValues = BTreeMap<String, ManagedValue>;

/// Every key one source sets: its value, or why that one value cannot be used. A bad value spoils only its
/// own key (which then fails closed in `settings::resolve`); the source's other values still apply.
pub type ManagedEntries = BTreeMap<String, Result<ManagedValue, ManagedError>>;

/// A managed-settings source that cannot be used. Each message names the file (or key) and, where it can,
/// the setting or line.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ManagedError {
    #[error("{origin}: cannot be read: {cause}")]
    Unreadable { origin: String, cause: String },
    #[error("{origin}: not a readable property list (XML or binary): {cause}")]
    Plist { origin: String, cause: String },
    #[error("{origin}: not valid JSON: {cause}")]
    Json { origin: String, cause: String },
    #[error("{origin}: the top level must be a dictionary of settings, not {found}")]
    NotADictionary { origin: String, found: &'static str },
    #[error("{origin}: {key}: {problem}")]
    BadValue {
        origin: String,
        key: String,
        problem: ValueProblem,
    },
    #[error(
        "{origin}: not a registry export: the first line must be `Windows Registry Editor Version 5.00`"
    )]
    NotARegExport { origin: String },
    #[error("{origin}: line {line}: {reason}")]
    RegExportLine {
        origin: String,
        line: usize,
        reason: String,
    },
    #[error("{origin}: not {expected} text")]
    Encoding {
        origin: String,
        expected: &'static str,
    },
}

/// Why one value cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValueProblem {
    /// A type with no single-text meaning (array, dictionary, data, date, multi-string, ...).
    #[error("{0} values are not supported; use a string, an integer or a boolean")]
    Unsupported(&'static str),
    /// The right type, but broken data.
    #[error("{0}")]
    Malformed(String),
}

impl ManagedError {
    /// The file or registry key the error is about.
    pub fn origin(&self) -> &str {
        match self {
            ManagedError::Unreadable { origin, .. }
            | ManagedError::Plist { origin, .. }
            | ManagedError::Json { origin, .. }
            | ManagedError::NotADictionary { origin, .. }
            | ManagedError::BadValue { origin, .. }
            | ManagedError::NotARegExport { origin }
            | ManagedError::RegExportLine { origin, .. }
            | ManagedError::Encoding { origin, .. } => origin,
        }
    }
}

impl crate::hint::Hint for ManagedError {
    fn hint(&self) -> Option<String> {
        Some(match self {
            ManagedError::Unreadable { origin, .. } => {
                format!("check that {origin} is readable by the user thoth runs as")
            }
            ManagedError::NotARegExport { .. } => {
                r"export the key with `regedit /e thoth.reg HKEY_LOCAL_MACHINE\SOFTWARE\Policies\AtenSecurity\Thoth`".to_owned()
            }
            _ => "managed settings come from your organisation's device management (MDM profile, Group \
                  Policy or /etc/thoth): ask whoever deploys them to fix the value"
                .to_owned(),
        })
    }
}

/// This machine's managed settings (see `platform::managed_paths::system_sources` for where they live, in
/// which order). A missing source is empty; an unreadable or malformed one is logged and counts as empty.
/// Blocks on file and registry reads.
pub fn load_system(user: Option<&str>) -> ManagedValues {
    load_system_checked(user).values
}

/// `load_system`, also returning the sources that exist but could not be used, for `doctor` and `health`:
/// a broken profile unlocks every key it was meant to lock.
pub fn load_system_checked(user: Option<&str>) -> Loaded {
    merge_sources(managed_paths::system_sources(user))
}

/// Managed values, the keys whose managed value is unusable, and the sources that were there but unusable
/// as a whole (each error names its file or key).
#[derive(Debug, Default)]
pub struct Loaded {
    pub values: ManagedValues,
    /// Keys a source sets to a value that cannot be used: locked, failing closed (never filled from a
    /// lower source, never left to the user).
    pub bad: BTreeMap<String, ManagedError>,
    pub problems: Vec<ManagedError>,
    /// Some source exists (even empty or broken): this machine is managed.
    pub present: bool,
}

impl Loaded {
    /// Add one source's entries below the ones already there.
    pub fn add(&mut self, entries: ManagedEntries) {
        self.present = true;
        for (key, entry) in entries {
            if self.values.contains_key(&key) || self.bad.contains_key(&key) {
                continue;
            }
            match entry {
                Ok(value) => {
                    self.values.insert(key, value);
                }
                Err(error) => {
                    tracing::warn!(%error, "managed value unusable: it fails closed");
                    self.bad.insert(key, error);
                }
            }
        }
    }

    /// A source that exists but cannot be used at all.
    pub fn add_problem(&mut self, error: ManagedError) {
        tracing::warn!(%error, "managed settings source unusable");
        self.present = true;
        self.problems.push(error);
    }
}

/// Parse each source and merge them: a later source only fills keys the earlier ones lack.
fn merge_sources(sources: Vec<RawSource>) -> Loaded {
    let mut loaded = Loaded::default();
    for source in sources {
        match parse_source(source) {
            Ok(None) => {}
            Ok(Some(entries)) => loaded.add(entries),
            Err(error) => loaded.add_problem(error),
        }
    }
    loaded
}

/// A source's entries; `None` when nothing is deployed there.
fn parse_source(source: RawSource) -> Result<Option<ManagedEntries>, ManagedError> {
    let origin = source.origin;
    match source.content {
        RawContent::Missing => {
            tracing::debug!(origin, "no managed settings here");
            Ok(None)
        }
        RawContent::Unreadable(error) => Err(ManagedError::Unreadable {
            origin,
            cause: error.to_string(),
        }),
        RawContent::Plist(bytes) => plist_entries(&bytes, &origin).map(Some),
        RawContent::Json(bytes) => match std::str::from_utf8(&bytes) {
            Ok(text) => json_entries(text, &origin).map(Some),
            Err(_) => Err(ManagedError::Encoding {
                origin,
                expected: "UTF-8",
            }),
        },
        RawContent::Registry(values) => Ok(Some(registry_entries(&origin, &values))),
    }
}

/// Entries as plain values, or the first bad one (the strict parsers).
fn strict(entries: ManagedEntries) -> Result<ManagedValues, ManagedError> {
    entries.into_iter().map(|(k, v)| Ok((k, v?))).collect()
}

/// macOS managed preferences, an XML or binary plist whose top level is a dictionary. Values and errors name
/// `UNNAMED_PLIST`; `from_plist_at` names the file.
pub fn from_plist(bytes: &[u8]) -> Result<ManagedValues, ManagedError> {
    from_plist_at(bytes, UNNAMED_PLIST)
}

/// `from_plist` for the file at `origin` (its path).
pub fn from_plist_at(bytes: &[u8], origin: &str) -> Result<ManagedValues, ManagedError> {
    strict(plist_entries(bytes, origin)?)
}

/// The plist's entries; only a file that is not a dictionary plist fails as a whole.
pub fn plist_entries(bytes: &[u8], origin: &str) -> Result<ManagedEntries, ManagedError> {
    let root = plist::Value::from_reader(Cursor::new(bytes)).map_err(|e| ManagedError::Plist {
        origin: origin.to_owned(),
        cause: e.to_string(),
    })?;
    let plist::Value::Dictionary(dictionary) = root else {
        return Err(ManagedError::NotADictionary {
            origin: origin.to_owned(),
            found: plist_type_name(&root),
        });
    };
    Ok(dictionary
        .iter()
        .map(|(key, value)| {
            let entry = plist_scalar(value)
                .map(|text| managed(text, origin))
                .map_err(|problem| bad_value(origin, key, problem));
            (key.clone(), entry)
        })
        .collect())
}

fn plist_scalar(value: &plist::Value) -> Result<String, ValueProblem> {
    match value {
        plist::Value::String(text) => Ok(text.clone()),
        plist::Value::Boolean(flag) => Ok(flag.to_string()),
        plist::Value::Integer(number) => Ok(number.to_string()),
        plist::Value::Real(number) => real_text(*number),
        other => Err(ValueProblem::Unsupported(plist_type_name(other))),
    }
}

fn plist_type_name(value: &plist::Value) -> &'static str {
    match value {
        plist::Value::Array(_) => "array",
        plist::Value::Dictionary(_) => "dictionary",
        plist::Value::Boolean(_) => "boolean",
        plist::Value::Data(_) => "data",
        plist::Value::Date(_) => "date",
        plist::Value::Real(_) => "real",
        plist::Value::Integer(_) => "integer",
        plist::Value::String(_) => "string",
        plist::Value::Uid(_) => "UID",
        _ => "unknown",
    }
}

/// Linux `/etc/thoth/managed.json`: a flat JSON object. Values and errors name `UNNAMED_JSON`; `from_json_at`
/// names the file.
pub fn from_json(text: &str) -> Result<ManagedValues, ManagedError> {
    from_json_at(text, UNNAMED_JSON)
}

/// `from_json` for the file at `origin` (its path).
pub fn from_json_at(text: &str, origin: &str) -> Result<ManagedValues, ManagedError> {
    strict(json_entries(text, origin)?)
}

/// The JSON object's entries; only a file that is not a JSON object fails as a whole.
pub fn json_entries(text: &str, origin: &str) -> Result<ManagedEntries, ManagedError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let root: serde_json::Value = serde_json::from_str(text).map_err(|e| ManagedError::Json {
        origin: origin.to_owned(),
        cause: e.to_string(),
    })?;
    let serde_json::Value::Object(object) = root else {
        return Err(ManagedError::NotADictionary {
            origin: origin.to_owned(),
            found: json_type_name(&root),
        });
    };
    Ok(object
        .iter()
        .map(|(key, value)| {
            let entry = json_scalar(value)
                .map(|text| managed(text, origin))
                .map_err(|problem| bad_value(origin, key, problem));
            (key.clone(), entry)
        })
        .collect())
}

fn json_scalar(value: &serde_json::Value) -> Result<String, ValueProblem> {
    match value {
        serde_json::Value::String(text) => Ok(text.clone()),
        serde_json::Value::Bool(flag) => Ok(flag.to_string()),
        serde_json::Value::Number(number) if number.is_i64() || number.is_u64() => {
            Ok(number.to_string())
        }
        serde_json::Value::Number(number) => match number.as_f64() {
            Some(real) => real_text(real),
            None => Ok(number.to_string()),
        },
        other => Err(ValueProblem::Unsupported(json_type_name(other))),
    }
}

fn json_type_name(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "boolean",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
}

/// A real as the shortest decimal that reads back the same (`60.0` -> `60`, `0.5` -> `0.5`).
fn real_text(number: f64) -> Result<String, ValueProblem> {
    if number.is_finite() {
        Ok(number.to_string())
    } else {
        Err(ValueProblem::Malformed(format!("{number} is not a number")))
    }
}

/// The values of a registry policy key (`key` as `doctor` names it, e.g. `HKLM\SOFTWARE\Policies\...\Thoth`).
/// Value names are case-insensitive in the registry, so they are upper-cased here; each origin keeps the name
/// as written. The default value (empty name) is not a setting and is skipped.
pub fn from_registry(key: &str, values: &[RegistryValue]) -> Result<ManagedValues, ManagedError> {
    strict(registry_entries(key, values))
}

/// `from_registry`, keeping each value's own problem.
pub fn registry_entries(key: &str, values: &[RegistryValue]) -> ManagedEntries {
    values
        .iter()
        .filter(|value| !value.name.is_empty())
        .map(|value| {
            let origin = format!(r"{key}\{}", value.name);
            let entry = registry_scalar(value)
                .map(|text| ManagedValue {
                    value: text,
                    origin,
                })
                .map_err(|problem| bad_value(key, &value.name, problem));
            (value.name.to_ascii_uppercase(), entry)
        })
        .collect()
}

/// A registry value as text: strings decoded from UTF-16LE (environment references in REG_EXPAND_SZ are
/// left unexpanded), DWORD and QWORD in decimal.
fn registry_scalar(value: &RegistryValue) -> Result<String, ValueProblem> {
    match value.kind {
        REG_SZ | REG_EXPAND_SZ => utf16le_text(&value.data),
        REG_DWORD => {
            fixed_bytes::<4>(&value.data, "DWORD").map(|b| u32::from_le_bytes(b).to_string())
        }
        REG_DWORD_BIG_ENDIAN => {
            fixed_bytes::<4>(&value.data, "DWORD").map(|b| u32::from_be_bytes(b).to_string())
        }
        REG_QWORD => {
            fixed_bytes::<8>(&value.data, "QWORD").map(|b| u64::from_le_bytes(b).to_string())
        }
        REG_MULTI_SZ => Err(ValueProblem::Unsupported("multi-string (REG_MULTI_SZ)")),
        REG_BINARY => Err(ValueProblem::Unsupported("binary (REG_BINARY)")),
        REG_NONE => Err(ValueProblem::Unsupported("untyped (REG_NONE)")),
        other => Err(ValueProblem::Malformed(format!(
            "registry type {other} is not supported; use REG_SZ or REG_DWORD"
        ))),
    }
}

fn fixed_bytes<const N: usize>(data: &[u8], kind: &str) -> Result<[u8; N], ValueProblem> {
    data.try_into().map_err(|_| {
        ValueProblem::Malformed(format!("a {kind} is {N} bytes, this one is {}", data.len()))
    })
}

/// UTF-16LE text up to its first NUL (registry strings usually end with one; a stray odd zero byte is
/// tolerated).
fn utf16le_text(data: &[u8]) -> Result<String, ValueProblem> {
    let chunks = data.chunks_exact(2);
    if chunks.remainder().iter().any(|&byte| byte != 0) {
        return Err(ValueProblem::Malformed(format!(
            "{} bytes cannot be UTF-16 text",
            data.len()
        )));
    }
    let units: Vec<u16> = chunks
        .map(|pair| u16::from_le_bytes([pair[0], pair[1]]))
        .take_while(|&unit| unit != 0)
        .collect();
    String::from_utf16(&units).map_err(|_| ValueProblem::Malformed("not valid UTF-16 text".into()))
}

fn managed(value: String, origin: &str) -> ManagedValue {
    ManagedValue {
        value,
        origin: origin.to_owned(),
    }
}

fn bad_value(origin: &str, key: &str, problem: ValueProblem) -> ManagedError {
    ManagedError::BadValue {
        origin: origin.to_owned(),
        key: key.to_owned(),
        problem,
    }
}
