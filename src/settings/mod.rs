//! One resolved `Settings`: defaults < `~/.thoth` profile < environment < flags, then MDM-managed values on
//! top for every lockable key (a user cannot override them). Every value remembers its source (DESIGN.md §4).
//! Only this module reads `std::env`. `inputs` gathers the raw layers, `resolve` merges and validates them.

pub mod check;
pub mod client_policy;
pub mod credentials;
pub mod file_value;
pub mod inputs;
pub mod keys;
pub mod managed;
pub mod managed_source;
pub mod narrow;
pub mod resolve;
pub mod trust;
pub mod validate;

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

pub use credentials::{Credential, Secret};
pub use inputs::Inputs;

use crate::mode::Mode;

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Default,
    /// Computed from other settings (a URL from tenant + apex domain).
    Derived(&'static str),
    /// A file under `~/.thoth` (its path).
    Profile(String),
    Env(&'static str),
    Flag(&'static str),
    /// MDM-managed: the plist, registry value or managed.json it came from.
    Managed(String),
}

impl Source {
    /// The kind of source, as `doctor --json` reports it.
    pub fn kind(&self) -> &'static str {
        match self {
            Source::Default => "default",
            Source::Derived(_) => "derived",
            Source::Profile(_) => "profile",
            Source::Env(_) => "env",
            Source::Flag(_) => "flag",
            Source::Managed(_) => "managed",
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Default => f.write_str("default"),
            Source::Derived(from) => write!(f, "derived from {from}"),
            Source::Profile(path) => write!(f, "profile {path}"),
            Source::Env(name) => write!(f, "env {name}"),
            Source::Flag(name) => write!(f, "flag {name}"),
            Source::Managed(origin) => write!(f, "managed {origin}"),
        }
    }
}

/// A resolved value and its source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sourced<T> {
    pub value: T,
    pub source: Source,
}

impl<T> Sourced<T> {
    pub fn new(value: T, source: Source) -> Sourced<T> {
        Sourced { value, source }
    }

    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Sourced<U> {
        Sourced {
            value: f(self.value),
            source: self.source,
        }
    }
}

/// How strict thoth is where nothing else says (DESIGN.md §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Dev,
    Staging,
    Prod,
}

impl Environment {
    pub fn as_str(self) -> &'static str {
        match self {
            Environment::Dev => "dev",
            Environment::Staging => "staging",
            Environment::Prod => "prod",
        }
    }
}

/// What a tools/call gets while the enforcer cannot be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureDecision {
    Block,
    StepUp,
    Allow,
}

/// Everything a command needs to know, resolved once.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The layers this was resolved from (a command adds its flags and resolves again).
    pub inputs: Inputs,
    /// Every key that has a value, as resolved text with its source (secrets as `***`: their values live
    /// only in the credentials).
    pub values: BTreeMap<&'static str, Sourced<String>>,
    pub environment: Sourced<Environment>,
    pub log_filter: Sourced<String>,
    pub require_non_root: Sourced<bool>,
    pub expected_user: Option<Sourced<String>>,
    pub expected_uid: Option<Sourced<u32>>,
    pub enforcement_mode: Sourced<Mode>,
    pub policy_file: Option<Sourced<PathBuf>>,
    pub tenant_id: Option<Sourced<String>>,
    pub enforcer_url: Option<Sourced<String>>,
    pub govapi_url: Option<Sourced<String>>,
    pub control_plane_url: Option<Sourced<String>>,
    pub heartbeat_interval_seconds: Sourced<u64>,
    pub tls_verify: Sourced<bool>,
    pub tls_pins: Vec<String>,
    pub failure_decision: Sourced<FailureDecision>,
    pub allow_fallback_override: Sourced<bool>,
    /// The enforcer's credential, from the chain in `credentials`.
    pub enforcer_credential: Option<Sourced<Credential>>,
    /// GovAPI's credential: its own variables, else the enforcer's.
    pub govapi_credential: Option<Sourced<Credential>>,
    /// `~/.thoth`, when a home folder is known.
    pub thoth_dir: Option<PathBuf>,
    /// Keys in managed settings that thoth does not know (reported by doctor, otherwise ignored).
    pub unknown_managed_keys: Vec<String>,
    /// Managed values that could not be used and failed closed to their strictest value (doctor, health).
    pub managed_problems: Vec<String>,
    /// Trusted files other users can write (only in dev, where they are warned about, not refused).
    pub untrusted_files: Vec<String>,
}

impl Settings {
    /// The resolved value of a key, as text.
    pub fn get(&self, name: &str) -> Option<&Sourced<String>> {
        self.values.get(name)
    }

    /// A key's value fit to print (secrets are already masked).
    pub fn display(&self, name: &str) -> Option<String> {
        self.values.get(name).map(|v| v.value.clone())
    }

    /// These settings with command-line flags added (`(key name, value)`), resolved again.
    pub fn with_flags(&self, flags: &[(&'static str, String)]) -> Result<Settings, Error> {
        let mut inputs = self.inputs.clone();
        for (name, value) in flags {
            inputs.flags.insert(name, value.clone());
        }
        resolve::resolve(inputs)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{name} = {value:?} ({origin}) is not valid: expected {expected}")]
    Invalid {
        name: &'static str,
        value: String,
        origin: Source,
        expected: String,
    },
    #[error("{name} ({origin}) is refused when THOTH_ENV is {environment}: {why}")]
    Refused {
        name: &'static str,
        origin: Source,
        environment: &'static str,
        why: &'static str,
    },
    #[error("cannot read {path} (named by {name}): {error}")]
    File {
        name: &'static str,
        path: String,
        error: String,
    },
    #[error("{path} is not valid: {error}")]
    Profile { path: String, error: String },
    #[error("the MDM-managed settings cannot be read: {}", .problems.join("; "))]
    Managed { problems: Vec<String> },
    #[error("{name} is set by managed settings ({origin}) to a value that cannot be used, so thoth refuses to guess it: {problem}")]
    ManagedValue {
        name: &'static str,
        origin: String,
        problem: String,
    },
    #[error("refusing files other users can change (THOTH_ENV is {environment}): {}", .problems.join("; "))]
    Untrusted {
        environment: &'static str,
        problems: Vec<String>,
    },
}

impl crate::hint::Hint for Error {
    fn hint(&self) -> Option<String> {
        Some(match self {
            Error::Invalid {
                name,
                origin: Source::Managed(file),
                ..
            }
            | Error::Refused {
                name,
                origin: Source::Managed(file),
                ..
            } => {
                format!("{name} is set by your administrator in {file}; ask them to fix it")
            }
            Error::Invalid { name, origin, .. } | Error::Refused { name, origin, .. } => {
                format!("fix or remove {name} (it comes from {origin})")
            }
            Error::File { name, .. } => format!("point {name} at a readable file, or unset it"),
            Error::Profile { path, .. } => format!("fix {path} (or move it aside)"),
            Error::Managed { .. } => {
                "ask your administrator to fix the managed settings profile; until then thoth refuses to run (THOTH_ENV=dev included), since it cannot tell what they lock".into()
            }
            Error::ManagedValue { name, origin, .. } => {
                format!("{name} is set by your administrator in {origin}; ask them to fix it")
            }
            Error::Untrusted { .. } => {
                "make each file writable by its owner only (chmod go-w FILE; chown it to yourself or root), or point the setting at one that is".into()
            }
        })
    }
}

/// The command-line flags that are settings, as plain values (`lib::setting_flags` fills it from the parsed
/// command line; settings never import the CLI). Settings are resolved once, with them.
#[derive(Debug, Default, Clone)]
pub struct GlobalFlags {
    /// `--log-level`: THOTH_LOG from a flag.
    pub log_level: Option<String>,
    /// The command's own flags that are settings, by key (`thoth run --tenant-id` is THOTH_TENANT_ID).
    pub command: Vec<(&'static str, String)>,
}

/// Resolve settings from this process: its environment, `~/.thoth`, managed settings and the global flags.
pub fn resolve(global: &GlobalFlags) -> Result<Settings, Error> {
    let mut inputs = Inputs::from_process()?;
    if let Some(level) = &global.log_level {
        inputs.flags.insert("THOTH_LOG", level.clone());
    }
    for (name, value) in &global.command {
        inputs.flags.insert(name, value.clone());
    }
    resolve::resolve(inputs)
}

/// Overwrite the values of this process's secret variables (`keys::is_secret_env`) in its environment
/// block, where a child of the same user could read them (`/proc/<pid>/environ`, `KERN_PROCARGS2`). Call
/// once settings are resolved and before other threads start: the variables read as empty afterwards.
pub fn scrub_process_secrets() {
    let scrubbed = crate::platform::environ::scrub(&keys::is_secret_env);
    tracing::debug!(
        scrubbed,
        "secret values overwritten in the process environment"
    );
}

/// The names of the credentials in this process's environment that the upstream server must not inherit.
pub fn secret_env_names() -> Vec<std::ffi::OsString> {
    std::env::vars_os()
        .map(|(name, _)| name)
        .filter(|name| name.to_str().is_some_and(keys::is_secret_env))
        .collect()
}

#[cfg(test)]
mod tests;
