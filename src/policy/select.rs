//! Which local policy governs a session (DESIGN.md §3): THOTH_POLICY_FILE (`--policy`, env, or managed — a
//! managed one wins), else `~/.thoth/policy.json` when it exists; plus `--approved-scope` names; else no policy,
//! where THOTH_ENV decides. A managed policy is never widened by the user: `--approved-scope` narrows it, an
//! agent's entry narrows `*` (`FileScope::managed`), and the mode may only be stricter than its default_mode. The mode is the settings' (managed > flag > env), else the file's `default_mode`,
//! else block. The session intent is `--session-intent`, else `intent_map.json`'s entry for the agent.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::file::{self, PolicyFile};
use super::local::{LocalPolicy, Scope};
use super::{Error, Mode};
use crate::settings::{narrow, Environment, Settings, Source, Sourced};

/// Where the session's policy came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicySource {
    /// A policy file, and the setting (or default) that named it.
    File { path: PathBuf, named_by: Source },
    /// Only `--approved-scope` flags.
    Flags,
    /// Nothing: dev approves everything, staging and prod refuse everything.
    Unconfigured(Environment),
}

pub struct Selected {
    pub policy: LocalPolicy,
    pub source: PolicySource,
    pub mode: Sourced<Mode>,
    pub session_intent: Option<Sourced<String>>,
}

/// Choose the policy for `agent_id`.
pub fn select(
    settings: &Settings,
    agent_id: &str,
    session_intent: Option<&str>,
    scope_flags: &[String],
) -> Result<Selected, Error> {
    let file = policy_file(settings)?;
    let session_intent = match session_intent {
        Some(intent) => Some(Sourced::new(
            intent.to_owned(),
            Source::Flag("--session-intent"),
        )),
        None => intent_from_map(settings.thoth_dir.as_deref(), agent_id),
    };
    let managed = matches!(
        &file,
        Some((
            _,
            PolicySource::File {
                named_by: Source::Managed(_),
                ..
            }
        ))
    );
    let mode = match (&file, &settings.enforcement_mode.source) {
        (_, Source::Managed(_)) => settings.enforcement_mode.clone(),
        // A managed policy's mode (its default_mode, else block) is a floor the user may only narrow.
        (Some((f, _)), user) if managed => {
            let floor = Sourced::new(
                f.default_mode.unwrap_or(Mode::Block),
                Source::Managed("the managed policy file's default_mode (else block)".into()),
            );
            let wanted = &settings.enforcement_mode;
            let rank = |m: Mode| narrow::rank("THOTH_ENFORCEMENT_MODE", m.as_str());
            if *user != Source::Default && rank(wanted.value) < rank(floor.value) {
                wanted.clone()
            } else {
                if *user != Source::Default && wanted.value != floor.value {
                    tracing::warn!(mode = wanted.value.as_str(), source = %wanted.source, floor = floor.value.as_str(), "ignored: it would widen the managed policy's mode");
                }
                floor
            }
        }
        (Some((f, _)), Source::Default) if f.default_mode.is_some() => Sourced::new(
            f.default_mode.unwrap_or(Mode::Block),
            Source::Profile("policy file default_mode".into()),
        ),
        _ => settings.enforcement_mode.clone(),
    };
    let scope: Vec<String> = scope_flags
        .iter()
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
        .collect();
    let intent = session_intent.as_ref().map(|i| i.value.as_str());
    let (policy, source) = match file {
        Some((f, source)) if managed => (
            LocalPolicy::from_managed_file(&f, agent_id, intent, mode.value, &scope),
            source,
        ),
        Some((f, source)) => (
            LocalPolicy::from_file(&f, agent_id, intent, mode.value, &scope),
            source,
        ),
        None if !scope.is_empty() => (
            LocalPolicy::new(
                Scope::Tools(scope.into_iter().collect::<HashSet<_>>()),
                mode.value,
            ),
            PolicySource::Flags,
        ),
        None => {
            let env = settings.environment.value;
            (
                LocalPolicy::new(Scope::Unconfigured(env), mode.value),
                PolicySource::Unconfigured(env),
            )
        }
    };
    Ok(Selected {
        policy,
        source,
        mode,
        session_intent,
    })
}

fn policy_file(settings: &Settings) -> Result<Option<(PolicyFile, PolicySource)>, Error> {
    if let Some(named) = &settings.policy_file {
        let f = file::load(&named.value)?;
        return Ok(Some((
            f,
            PolicySource::File {
                path: named.value.clone(),
                named_by: named.source.clone(),
            },
        )));
    }
    let Some(dir) = &settings.thoth_dir else {
        return Ok(None);
    };
    let path = crate::platform::paths::policy_file(dir);
    Ok(file::load_optional(&path)?.map(|f| {
        (
            f,
            PolicySource::File {
                path,
                named_by: Source::Default,
            },
        )
    }))
}

/// `~/.thoth/intent_map.json`: `{server name: intent}`. Unreadable or malformed: a warning, no intent.
fn intent_from_map(thoth_dir: Option<&Path>, agent_id: &str) -> Option<Sourced<String>> {
    let path = crate::platform::paths::intent_map_file(thoth_dir?);
    if !path.exists() {
        return None;
    }
    match crate::home::read_intent_map(&path) {
        Ok(mut map) => map
            .remove(agent_id)
            .map(|intent| Sourced::new(intent, Source::Profile(path.display().to_string()))),
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "ignoring intent_map.json: expected {{\"server name\": \"intent\"}}");
            None
        }
    }
}
