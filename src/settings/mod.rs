//! One resolved `Settings` from defaults < environment < flags; every value remembers its source
//! (DESIGN.md §4). Only this module reads `std::env`. Profile files and MDM-managed layers come next (issue 3).

pub mod keys;

use std::fmt;

use crate::cli::GlobalArgs;

/// Where a value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Default,
    Env(&'static str),
    Flag(&'static str),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Default => f.write_str("default"),
            Source::Env(name) => write!(f, "env {name}"),
            Source::Flag(name) => write!(f, "flag {name}"),
        }
    }
}

/// A resolved value and its source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sourced<T> {
    pub value: T,
    pub source: Source,
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

/// Everything a command needs to know, resolved once.
#[derive(Debug, Clone)]
pub struct Settings {
    pub environment: Sourced<Environment>,
    pub log_filter: Sourced<String>,
    pub require_non_root: Sourced<bool>,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{name}={value:?} is not valid: expected {expected}")]
    Invalid {
        name: &'static str,
        value: String,
        expected: &'static str,
    },
}

impl crate::error::Hint for Error {
    fn hint(&self) -> Option<String> {
        match self {
            Error::Invalid { name, .. } => Some(format!("fix or unset {name}")),
        }
    }
}

/// Resolve settings from the process environment and the global flags.
pub fn resolve(global: &GlobalArgs) -> Result<Settings, Error> {
    resolve_from(global, |name| std::env::var(name).ok())
}

/// Resolve with an injectable environment (tests).
pub fn resolve_from(
    global: &GlobalArgs,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Settings, Error> {
    let environment = match env("THOTH_ENV") {
        None => Sourced {
            value: Environment::Prod,
            source: Source::Default,
        },
        Some(v) => Sourced {
            value: parse_environment(&v)?,
            source: Source::Env("THOTH_ENV"),
        },
    };
    let log_filter = match (&global.log_level, env("THOTH_LOG")) {
        (Some(flag), _) => Sourced {
            value: flag.clone(),
            source: Source::Flag("--log-level"),
        },
        (None, Some(v)) if !v.trim().is_empty() => Sourced {
            value: v,
            source: Source::Env("THOTH_LOG"),
        },
        _ => Sourced {
            value: "info".to_owned(),
            source: Source::Default,
        },
    };
    let require_non_root = match env("THOTH_REQUIRE_NON_ROOT") {
        Some(v) => Sourced {
            value: parse_bool("THOTH_REQUIRE_NON_ROOT", &v)?,
            source: Source::Env("THOTH_REQUIRE_NON_ROOT"),
        },
        None => Sourced {
            value: environment.value != Environment::Dev,
            source: Source::Default,
        },
    };
    Ok(Settings {
        environment,
        log_filter,
        require_non_root,
    })
}

fn parse_environment(v: &str) -> Result<Environment, Error> {
    match v.trim().to_ascii_lowercase().as_str() {
        "dev" | "development" => Ok(Environment::Dev),
        "staging" => Ok(Environment::Staging),
        "prod" | "production" => Ok(Environment::Prod),
        _ => Err(Error::Invalid {
            name: "THOTH_ENV",
            value: v.to_owned(),
            expected: "dev, staging or prod",
        }),
    }
}

pub(crate) fn parse_bool(name: &'static str, v: &str) -> Result<bool, Error> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(Error::Invalid {
            name,
            value: v.to_owned(),
            expected: "true or false",
        }),
    }
}

/// The names of the credentials in this process's environment that the upstream server must not inherit.
pub fn secret_env_names() -> Vec<std::ffi::OsString> {
    std::env::vars_os()
        .map(|(name, _)| name)
        .filter(|name| name.to_str().is_some_and(keys::is_secret_env))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn globals() -> GlobalArgs {
        GlobalArgs {
            log_level: None,
            log_file: None,
        }
    }

    #[test]
    fn defaults_are_prod_and_non_root() {
        let s = resolve_from(&globals(), |_| None).unwrap();
        assert_eq!(
            s.environment,
            Sourced {
                value: Environment::Prod,
                source: Source::Default
            }
        );
        assert!(s.require_non_root.value);
        assert_eq!(s.log_filter.value, "info");
    }

    #[test]
    fn dev_relaxes_root_and_env_overrides_default() {
        let s = resolve_from(&globals(), |n| (n == "THOTH_ENV").then(|| "dev".to_owned())).unwrap();
        assert_eq!(s.environment.source, Source::Env("THOTH_ENV"));
        assert!(!s.require_non_root.value);
    }

    #[test]
    fn flag_beats_env_for_log_level() {
        let g = GlobalArgs {
            log_level: Some("trace".into()),
            log_file: None,
        };
        let s = resolve_from(&g, |n| (n == "THOTH_LOG").then(|| "warn".to_owned())).unwrap();
        assert_eq!(
            s.log_filter,
            Sourced {
                value: "trace".into(),
                source: Source::Flag("--log-level")
            }
        );
    }

    #[test]
    fn bad_values_name_the_variable() {
        let err =
            resolve_from(&globals(), |n| (n == "THOTH_ENV").then(|| "qa".to_owned())).unwrap_err();
        assert!(err.to_string().contains("THOTH_ENV"), "{err}");
        let err = resolve_from(&globals(), |n| {
            (n == "THOTH_REQUIRE_NON_ROOT").then(|| "maybe".to_owned())
        })
        .unwrap_err();
        assert!(err.to_string().contains("THOTH_REQUIRE_NON_ROOT"), "{err}");
    }
}
