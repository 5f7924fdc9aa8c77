//! Drift (issue 15): stdio servers of the user's client configs that are not governed (a user added one, or
//! unwrapped one). The heartbeat leader checks every client file `clients::` finds before each heartbeat and
//! sends what it found as the check-in's `drift`; with the managed THOTH_AUTO_WRAP=true it also wraps those
//! servers again, with the wrap-config machinery (the lossless format editors, under the config's lock,
//! atomic, a backup of the old bytes, the unwrap records kept), using the tenant, mode and agent-id prefix
//! the file's other wrapped entries use, else the managed / settings defaults. A user's own THOTH_AUTO_WRAP
//! (env, `~/.thoth` profile) is ignored: only IT turns it on. Blocking file I/O: call off the event loop.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::clients::{self, Client, ClientConfig, Env};
use crate::platform::users::TargetUser;
use crate::settings::{Settings, Source};
use crate::wrap::edit::{Outcome, Plan, ServerResult, WrapPlan};
use crate::wrap::save::{self, SaveOptions};
use crate::wrap::{inspect, lock, managed, record, Trust};

/// The managed key that turns re-wrapping on.
pub const AUTO_WRAP_KEY: &str = "THOTH_AUTO_WRAP";
/// How long drift waits for a wrap-config that holds a config's lock (then reports it and tries next time).
const LOCK_WAIT: Duration = Duration::from_secs(5);
/// Bounds of one report (it travels in every heartbeat): files, names per list, characters per text.
const MAX_FILES: usize = 32;
const MAX_NAMES: usize = 64;
const MAX_TEXT: usize = 256;

/// What one drift check found and did (the check-in's `drift` member).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// The managed THOTH_AUTO_WRAP in force.
    pub auto_wrap: bool,
    /// The files with something not governed (files where every stdio server is governed are left out).
    pub files: Vec<FileDrift>,
    /// More files drifted than a report carries.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

impl Report {
    /// Nothing found and auto-wrap off: the check-in leaves `drift` out.
    pub fn is_quiet(&self) -> bool {
        !self.auto_wrap && self.files.is_empty()
    }
}

/// One client file with drift.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileDrift {
    pub client: String,
    pub config: String,
    /// Stdio servers that were not governed (`name`, or `name (local:<dir>)` for a Claude Code project).
    pub found: Vec<String>,
    /// `wrapped`: every one found is governed again; `failed`: some or all could not be (see `failed` and
    /// `error`); `left`: auto-wrap is off, nothing was changed.
    pub action: Action,
    pub wrapped: Vec<String>,
    pub failed: Vec<Failed>,
    /// Why the file as a whole could not be read or written (nothing was changed).
    pub error: Option<String>,
    /// The copy of the previous bytes, when the file was written.
    pub backup: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Wrapped,
    Failed,
    Left,
}

/// A server that stays not governed, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failed {
    pub server: String,
    pub reason: String,
}

/// Whose files, and with which settings: made once by the heartbeat's owner, used before each heartbeat.
#[derive(Debug, Clone)]
pub struct Setup {
    settings: Settings,
    user: TargetUser,
    is_current: bool,
}

/// Is THOTH_AUTO_WRAP true in the managed settings (any other source does not count)?
pub fn auto_wrap(settings: &Settings) -> bool {
    settings
        .get(AUTO_WRAP_KEY)
        .is_some_and(|v| matches!(v.source, Source::Managed(_)) && v.value == "true")
}

impl Setup {
    /// The files of `user` (`is_current`: the user thoth runs as, whose XDG_CONFIG_HOME & co. count).
    pub fn new(settings: &Settings, user: TargetUser, is_current: bool) -> Setup {
        Setup {
            settings: settings.clone(),
            user,
            is_current,
        }
    }

    /// The user thoth runs as (`thoth run`'s leader); None when there is no home to look in.
    pub fn current(settings: &Settings) -> Option<Setup> {
        let user = crate::platform::users::current_user()?;
        Some(Setup::new(settings, user, true))
    }

    /// Every user-level file of every client that exists, in `Client::ALL` order.
    pub fn files(&self) -> Vec<(Client, PathBuf)> {
        let env = Env::current(&self.user.home, self.is_current);
        Client::ALL
            .into_iter()
            .flat_map(|client| {
                clients::user_files(client, &env)
                    .into_iter()
                    .filter(|p| p.is_file())
                    .map(move |p| (client, p))
            })
            .collect()
    }

    /// Check every file (and, with auto-wrap, wrap what drifted).
    pub fn check(&self) -> Report {
        let auto = auto_wrap(&self.settings);
        let trust = Trust::current(Some(&self.settings));
        let mut report = Report {
            auto_wrap: auto,
            files: Vec::new(),
            truncated: false,
        };
        for (client, path) in self.files() {
            let Some(file) = self.check_file(client, &path, auto, &trust) else {
                continue;
            };
            if report.files.len() == MAX_FILES {
                report.truncated = true;
                break;
            }
            report.files.push(file);
        }
        report
    }

    fn check_file(
        &self,
        client: Client,
        path: &Path,
        auto: bool,
        trust: &Trust,
    ) -> Option<FileDrift> {
        let mut file = FileDrift {
            client: client.name().to_owned(),
            config: bounded(&path.display().to_string()),
            found: Vec::new(),
            action: if auto { Action::Failed } else { Action::Left },
            wrapped: Vec::new(),
            failed: Vec::new(),
            error: None,
            backup: None,
        };
        let config = match clients::read(client, path, trust) {
            Ok(config) => config,
            Err(err) => {
                file.error = Some(bounded(&err.to_string()));
                return Some(file);
            }
        };
        let drifted = not_governed(&config);
        if drifted.is_empty() {
            return None;
        }
        file.found = names(drifted.iter().map(|(label, _)| label.clone()));
        if !auto {
            return Some(file);
        }
        match self.rewrap(client, path, trust) {
            Ok((results, backup)) => {
                file.backup = backup.map(|b| bounded(&b.display().to_string()));
                let (wrapped, failed) = outcomes(&drifted, &results);
                file.action = if failed.is_empty() {
                    Action::Wrapped
                } else {
                    Action::Failed
                };
                file.wrapped = names(wrapped.into_iter());
                file.failed = failed.into_iter().take(MAX_NAMES).collect();
            }
            Err(error) => file.error = Some(bounded(&error)),
        }
        Some(file)
    }

    /// Wrap the servers that are not governed, under the file's lock (read again there: a wrap-config that
    /// ran in between wins). The results of the edit and the backup written, if any.
    fn rewrap(
        &self,
        client: Client,
        path: &Path,
        trust: &Trust,
    ) -> Result<(Vec<ServerResult>, Option<PathBuf>), String> {
        let _lock = lock::acquire(path, LOCK_WAIT).map_err(|e| e.to_string())?;
        let text = inspect::read_text(path).map_err(|e| e.to_string())?;
        let now = clients::read(client, path, trust).map_err(|e| e.to_string())?;
        let drifted = not_governed(&now);
        if drifted.is_empty() {
            return Ok((Vec::new(), None));
        }
        let plan = Plan {
            wrap: Some(self.wrap_plan(&now)?),
            only: drifted.iter().map(|(_, name)| name.clone()).collect(),
            exclude: Vec::new(),
        };
        let mut records = record::load(path).map_err(|e| e.to_string())?;
        let before = records.clone();
        let (new_text, results) = clients::format(client)
            .apply(path, &text, &plan, &mut records)
            .map_err(|e| e.to_string())?;
        // `--only` selects by name: a governed entry of the same name in another scope must not change.
        let governed: Vec<(&str, &str)> = now
            .servers
            .iter()
            .filter(|r| r.state.governed)
            .map(|r| (r.state.name.as_str(), r.scope.as_str()))
            .collect();
        if results.iter().any(|r| {
            matches!(r.outcome, Outcome::Updated | Outcome::Wrapped)
                && governed.contains(&(r.name.as_str(), scope_of(r)))
        }) {
            return Err(
                "a governed server has the same name as one that is not (in another scope): \
                 run `thoth wrap-config` by hand"
                    .into(),
            );
        }
        let options = SaveOptions {
            new_owner: (!self.is_current).then_some(&self.user),
            backup: true,
            crash_before_rename: false,
            redact_backup: None,
            holds_secret: crate::clients::private::holds_secret,
        };
        let backup = save::save(path, new_text.as_bytes(), &options).map_err(|e| e.to_string())?;
        if records != before {
            crate::clients::private::save_records(path, &records, options.new_owner)
                .map_err(|e| e.to_string())?;
        }
        Ok((results, backup))
    }

    /// How the file's other wrapped entries are wrapped (the managed tenant and mode win), else the defaults.
    fn wrap_plan(&self, config: &ClientConfig) -> Result<WrapPlan, String> {
        let settings = &self.settings;
        let thoth_path = std::env::current_exe()
            .and_then(|p| p.canonicalize())
            .map_err(|e| format!("cannot tell where this thoth binary is ({e})"))?;
        let governed: Vec<&inspect::ServerState> = config
            .servers
            .iter()
            .filter(|r| r.state.governed)
            .map(|r| &r.state)
            .collect();
        let managed = managed::Managed::of(settings);
        let mut ignored = Vec::new();
        let tenant_id = managed
            .tenant_id(None, &mut ignored)
            .or_else(|| most_common(governed.iter().filter_map(|s| s.tenant_id.clone())))
            .or_else(|| settings.tenant_id.as_ref().map(|t| t.value.clone()));
        let enforcement_mode = match managed.enforcement_mode(None, &mut ignored) {
            Some(mode) => mode.as_str().to_owned(),
            None => most_common(governed.iter().filter_map(|s| s.enforcement_mode.clone()))
                .unwrap_or_else(|| settings.enforcement_mode.value.as_str().to_owned()),
        };
        let agent_id_prefix = most_common(governed.iter().filter_map(|s| {
            let base = crate::wrap::wrapped::agent_id_for(None, &s.name);
            s.agent_id
                .as_deref()?
                .strip_suffix(&base)
                .map(str::to_owned)
        }))
        .filter(|p| !p.is_empty());
        Ok(WrapPlan {
            thoth_path: thoth_path.to_string_lossy().into_owned(),
            tenant_id,
            enforcement_mode,
            agent_id_prefix,
            env: Vec::new(),
            intents: BTreeMap::new(),
            lock: None,
            drop_flags: managed.drop_flags(),
        })
    }
}

/// The stdio servers of a config that are not governed: (label for the report, name in the file).
fn not_governed(config: &ClientConfig) -> Vec<(String, String)> {
    config
        .servers
        .iter()
        .filter(|r| !r.remote && !r.state.governed && (r.state.stdio || r.state.problem.is_some()))
        .map(|r| (label(&r.state.name, &r.scope), r.state.name.clone()))
        .collect()
}

fn label(name: &str, scope: &str) -> String {
    match scope {
        "user" | "project" => name.to_owned(),
        scope => format!("{name} ({scope})"),
    }
}

fn scope_of(result: &ServerResult) -> &str {
    result.scope.as_deref().unwrap_or("user")
}

/// Split what drifted into wrapped again and still not governed (with why).
fn outcomes(drifted: &[(String, String)], results: &[ServerResult]) -> (Vec<String>, Vec<Failed>) {
    let mut wrapped = Vec::new();
    let mut failed = Vec::new();
    for (label_text, name) in drifted {
        let result = results
            .iter()
            .find(|r| label(&r.name, scope_of(r)) == *label_text && r.name == *name);
        match result.map(|r| (r.outcome, r.detail.clone())) {
            Some((Outcome::Wrapped | Outcome::Updated, _)) => wrapped.push(label_text.clone()),
            // Governed by the time the lock was held (a wrap-config ran in between): nothing to do.
            None if results.is_empty() => {}
            Some((outcome, detail)) => failed.push(Failed {
                server: bounded(label_text),
                reason: bounded(&detail.unwrap_or_else(|| {
                    format!(
                        "left {}",
                        serde_json::to_value(outcome)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_owned))
                            .unwrap_or_default()
                    )
                })),
            }),
            None => failed.push(Failed {
                server: bounded(label_text),
                reason: "not in the file when it was locked".into(),
            }),
        }
    }
    (wrapped, failed)
}

/// The value most entries share (ties: the smallest, so the choice is stable).
fn most_common(values: impl Iterator<Item = String>) -> Option<String> {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for value in values {
        *counts.entry(value).or_default() += 1;
    }
    let best = counts.values().copied().max()?;
    counts.into_iter().find(|(_, n)| *n == best).map(|(v, _)| v)
}

fn names(items: impl Iterator<Item = String>) -> Vec<String> {
    items.take(MAX_NAMES).map(|n| bounded(&n)).collect()
}

/// A text from a user's file, cut to `MAX_TEXT` characters.
fn bounded(text: &str) -> String {
    if text.chars().count() <= MAX_TEXT {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(MAX_TEXT - 1).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_most_common_value_wins_and_ties_are_stable() {
        let v = |items: &[&str]| most_common(items.iter().map(|s| s.to_string()));
        assert_eq!(v(&["b", "a", "b"]), Some("b".into()));
        assert_eq!(v(&["b", "a"]), Some("a".into()));
        assert_eq!(v(&[]), None);
    }

    #[test]
    fn texts_from_files_are_bounded() {
        let long = "x".repeat(10_000);
        assert_eq!(bounded(&long).chars().count(), MAX_TEXT);
        assert_eq!(bounded("fs"), "fs");
        let many = names((0..1000).map(|i| i.to_string()));
        assert_eq!(many.len(), MAX_NAMES);
    }

    #[test]
    fn a_project_scope_is_named_in_the_label() {
        assert_eq!(label("fs", "user"), "fs");
        assert_eq!(label("fs", "local:/p"), "fs (local:/p)");
    }
}
