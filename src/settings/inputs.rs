//! The raw layers settings are resolved from: the environment (only declared keys), the `~/.thoth` profile
//! (`config.json`, `proxy_api_key.json`), MDM-managed values and flags. Gathering only; `resolve` decides.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{keys, Error};

pub use super::file_value::FileValue;

#[derive(Clone, Default)]
pub struct Inputs {
    /// Declared keys found in the environment.
    pub env: BTreeMap<String, String>,
    /// `~/.thoth/config.json` and the key in `~/.thoth/proxy_api_key.json`.
    pub profile: BTreeMap<String, FileValue>,
    /// MDM-managed values (plist, registry, /etc/thoth/managed.json).
    pub managed: BTreeMap<String, FileValue>,
    /// Managed sources that exist but could not be read.
    pub managed_problems: Vec<String>,
    /// Keys whose managed value cannot be used (`value` is the problem): they fail closed.
    pub managed_bad: BTreeMap<String, FileValue>,
    /// Some managed source exists (even empty or broken): the user's THOTH_ENV cannot make it dev.
    pub managed_present: bool,
    /// Trusted files found writable by other users before settings were resolved (the managed stand-in).
    pub untrusted: Vec<String>,
    /// Values given by command-line flags, by key name.
    pub flags: BTreeMap<&'static str, String>,
    /// The user's home folder.
    pub home: Option<PathBuf>,
}

/// Names only: the layers hold secrets in plain text.
impl std::fmt::Debug for Inputs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inputs")
            .field("env", &self.env.keys().collect::<Vec<_>>())
            .field("profile", &self.profile.keys().collect::<Vec<_>>())
            .field("managed", &self.managed.keys().collect::<Vec<_>>())
            .field("managed_problems", &self.managed_problems)
            .field("managed_bad", &self.managed_bad)
            .field("managed_present", &self.managed_present)
            .field("untrusted", &self.untrusted)
            .field("flags", &self.flags.keys().collect::<Vec<_>>())
            .field("home", &self.home)
            .finish()
    }
}

impl Inputs {
    /// Read this process's environment, home, profile and managed settings.
    pub fn from_process() -> Result<Inputs, Error> {
        let env: BTreeMap<String, String> = keys::KEYS
            .iter()
            .filter_map(|k| std::env::var(k.name).ok().map(|v| (k.name.to_owned(), v)))
            .filter(|(_, v)| !v.trim().is_empty())
            .collect();
        let home = std::env::home_dir();
        let profile = match &home {
            Some(home) => read_profile(&crate::platform::paths::thoth_dir(home))?,
            None => BTreeMap::new(),
        };
        let managed = crate::settings::managed_source::load();
        Ok(Inputs {
            env,
            profile,
            managed: managed.values,
            managed_problems: managed.problems,
            managed_bad: managed.bad,
            managed_present: managed.present,
            untrusted: managed.untrusted,
            flags: BTreeMap::new(),
            home,
        })
    }
}

/// `~/.thoth/config.json` (a flat object of setting names) and the API key saved by `thoth set-api-key`.
pub fn read_profile(dir: &Path) -> Result<BTreeMap<String, FileValue>, Error> {
    let mut values = BTreeMap::new();
    let config = crate::platform::paths::config_file(dir);
    if let Some(text) = read_optional(&config)? {
        let object: BTreeMap<String, serde_json::Value> =
            serde_json::from_str(&text).map_err(|e| Error::Profile {
                path: config.display().to_string(),
                error: e.to_string(),
            })?;
        for (name, value) in object {
            if keys::get(&name).is_none() {
                return Err(Error::Profile {
                    path: config.display().to_string(),
                    error: format!("unknown setting `{name}`"),
                });
            }
            let value = scalar_text(&value).ok_or_else(|| Error::Profile {
                path: config.display().to_string(),
                error: format!("`{name}` must be a string, number or boolean"),
            })?;
            values.insert(
                name,
                FileValue {
                    value,
                    origin: config.display().to_string(),
                },
            );
        }
    }
    let key_file = crate::platform::paths::proxy_api_key_file(dir);
    if let Some(text) = read_optional(&key_file)? {
        #[derive(serde::Deserialize)]
        struct KeyFile {
            api_key: Option<String>,
        }
        let parsed: KeyFile = serde_json::from_str(&text).map_err(|e| Error::Profile {
            path: key_file.display().to_string(),
            error: e.to_string(),
        })?;
        if let Some(key) = parsed.api_key.filter(|k| !k.trim().is_empty()) {
            values.insert(
                "THOTH_API_KEY".into(),
                FileValue {
                    value: key,
                    origin: key_file.display().to_string(),
                },
            );
        }
    }
    Ok(values)
}

/// A JSON scalar as settings text (`true`, `60`, `acme`).
pub fn scalar_text(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn read_optional(path: &Path) -> Result<Option<String>, Error> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::Profile {
            path: path.display().to_string(),
            error: e.to_string(),
        }),
    }
}
