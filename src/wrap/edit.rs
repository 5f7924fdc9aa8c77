//! Wrap and unwrap the servers of a parsed config. For each entry: find its original fields (itself, or what
//! an existing wrap and its record say it was), compute the fields wanted, and when they differ change only
//! `command`, `args` and `env` in the syntax tree. Entries already as wanted are not touched (idempotence).

use std::collections::BTreeMap;
use std::path::PathBuf;

use jsonc_parser::cst::{CstInputValue, CstObject, CstObjectProp};
use serde::Serialize;
use serde_json::Value;

use super::document::{Document, Layout};
use super::entry::{self, Entry, Fields};
use super::record::{Record, Records};
use super::wrapped::{self, RunFlags};

/// What to do to the selected servers.
#[derive(Debug, Clone)]
pub struct Plan {
    /// `None`: restore every selected server (`--unwrap`).
    pub wrap: Option<WrapPlan>,
    /// Only these servers (`--only`); empty means all.
    pub only: Vec<String>,
    pub exclude: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct WrapPlan {
    pub thoth_path: String,
    pub tenant_id: Option<String>,
    pub enforcement_mode: String,
    pub agent_id_prefix: Option<String>,
    /// `--env KEY=VALUE`, in the order given.
    pub env: Vec<(String, String)>,
    /// Server name -> session intent.
    pub intents: BTreeMap<String, String>,
    /// `--lock-dir` (absolute) and `--lock-pubkey`: each server gets `--lock <dir>/<name>.lock.json`.
    pub lock: Option<(PathBuf, Option<String>)>,
    /// Flags of an older wrap a managed setting contradicts (`--policy` when the policy is managed): dropped.
    pub drop_flags: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Was not governed; now runs behind thoth.
    Wrapped,
    /// Was governed with other values; now with the selected ones.
    Updated,
    /// Already as wanted: not a byte changed.
    Unchanged,
    /// Restored to its original command.
    Unwrapped,
    /// `--unwrap` on a server that was not wrapped.
    NotWrapped,
    /// Reached over HTTP/SSE: thoth cannot sit in front of it; left alone.
    Remote,
    /// Left out by `--only` / `--exclude`.
    Skipped,
    /// Not a valid entry; left alone.
    Invalid,
}

#[derive(Debug, Clone, Serialize)]
pub struct ServerResult {
    pub name: String,
    /// Where the entry sits when a file has several scopes (Claude Code's `local:<abs path>`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    pub outcome: Outcome,
    pub agent_id: Option<String>,
    pub session_intent: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// Apply the plan to every server of the document, updating the unwrap records to match.
pub fn apply(doc: &Document, plan: &Plan, records: &mut Records) -> Vec<ServerResult> {
    doc.server_refs()
        .into_iter()
        .map(|r| {
            let mut result = apply_one(&r.name, &r.record_key, &r.prop, plan, records, &doc.layout);
            result.scope = r.scope;
            result
        })
        .collect()
}

fn apply_one(
    name: &str,
    key: &str,
    prop: &CstObjectProp,
    plan: &Plan,
    records: &mut Records,
    layout: &Layout,
) -> ServerResult {
    let mut result = ServerResult {
        name: name.to_owned(),
        scope: None,
        outcome: Outcome::Skipped,
        agent_id: None,
        session_intent: None,
        detail: None,
    };
    let selected = selects(plan, name);
    if let Some(bridged) =
        super::remote::apply_one(name, key, prop, plan, records, selected, layout)
    {
        return bridged;
    }
    let current = match entry::read(prop) {
        Entry::Remote => {
            result.outcome = Outcome::Remote;
            return result;
        }
        Entry::Invalid(problem) => {
            result.outcome = Outcome::Invalid;
            result.detail = Some(problem);
            return result;
        }
        Entry::Stdio(fields) => fields,
    };
    if !selected {
        return result;
    }
    let Some(object) = prop.object_value() else {
        result.outcome = Outcome::Invalid;
        return result;
    };
    let record = records.servers.get(key).cloned().unwrap_or_default();
    let (existing, original) = match read_wrapped(&current, &record) {
        Ok(read) => read,
        Err(why) => {
            result.outcome = Outcome::Invalid;
            result.detail = Some(why);
            return result;
        }
    };
    let Some(wrap) = &plan.wrap else {
        result.outcome = if existing.is_some() {
            converge(&object, &current, &original);
            if let Some(text) = &record.original_text {
                restore_text(prop, &object, text, layout);
            }
            records.servers.remove(key);
            Outcome::Unwrapped
        } else {
            Outcome::NotWrapped
        };
        return result;
    };
    let old_flags = existing
        .as_ref()
        .map(|w| w.flags.clone())
        .unwrap_or_default();
    let (desired, mut new_record, flags, dropped) = wrap_fields(name, &original, &old_flags, wrap);
    new_record.original_text = match &existing {
        Some(_) => record.original_text.clone(),
        None => Some(object.to_string()),
    };
    report_flags(&mut result, &flags, &dropped);
    keep_record(records, key, new_record);
    result.outcome = if desired == current {
        Outcome::Unchanged
    } else {
        converge(&object, &current, &desired);
        if existing.is_some() {
            Outcome::Updated
        } else {
            Outcome::Wrapped
        }
    };
    result
}

/// The wrapped fields for an original entry, the record that undoes them, thoth's flags, and the flags of
/// the older wrap that were dropped.
pub(crate) fn wrap_fields(
    name: &str,
    original: &Fields,
    old: &RunFlags,
    plan: &WrapPlan,
) -> (Fields, Record, RunFlags, Vec<String>) {
    let (flags, dropped) = run_flags(name, old, plan);
    let args = wrapped::build_args(&flags, &original.command, original.args_or_empty());
    let (env, record) = wrap_env(original, plan);
    let fields = Fields {
        command: plan.thoth_path.clone(),
        args: Some(args),
        env,
    };
    (fields, record, flags, dropped)
}

/// thoth's flags for a server wrapped by `plan` (an older wrap's flags kept where the plan says nothing),
/// and the older flags a managed setting dropped.
pub(super) fn run_flags(name: &str, old: &RunFlags, plan: &WrapPlan) -> (RunFlags, Vec<String>) {
    let (other, dropped) = wrapped::drop_flags(&old.other, &plan.drop_flags);
    let flags = RunFlags {
        agent_id: Some(wrapped::agent_id_for(plan.agent_id_prefix.as_deref(), name)),
        tenant_id: plan.tenant_id.clone().or_else(|| old.tenant_id.clone()),
        enforcement_mode: Some(plan.enforcement_mode.clone()),
        session_intent: plan
            .intents
            .get(name)
            .cloned()
            .or_else(|| old.session_intent.clone()),
        other: wrapped::with_lock(&other, plan.lock.as_ref(), name),
    };
    (flags, dropped)
}

/// The `env` of a wrapped entry (`--env` applied) and the record that undoes it.
pub(super) fn wrap_env(
    original: &Fields,
    plan: &WrapPlan,
) -> (Option<Vec<(String, Value)>>, Record) {
    let mut record = Record {
        args_absent: original.args.is_none(),
        env_absent: original.env.is_none(),
        ..Record::default()
    };
    let env = if plan.env.is_empty() {
        original.env.clone()
    } else {
        let mut env = original.env.clone().unwrap_or_default();
        for (key, value) in &plan.env {
            let value = Value::String(value.clone());
            match env.iter_mut().find(|(k, _)| k == key) {
                Some((_, old)) if *old == value => {}
                Some((_, old)) => {
                    record.env_replaced.insert(key.clone(), old.clone());
                    *old = value;
                }
                None => {
                    record.env_added.push(key.clone());
                    env.push((key.clone(), value));
                }
            }
        }
        Some(env)
    };
    (env, record)
}

/// Put the original entry's text back when it has the same JSON value as the restored entry (nothing else
/// changed, and a record edited by hand can change only layout). The text goes in verbatim: a number node
/// prints its text as it is, and this entry is not read again in this run.
/// What a wrap decided, as the report says it: the flags a managed setting dropped, the agent and intent.
pub(crate) fn report_flags(result: &mut ServerResult, flags: &RunFlags, dropped: &[String]) {
    if !dropped.is_empty() {
        result.detail = Some(format!(
            "dropped {} (a managed setting decides)",
            dropped.join(" ")
        ));
    }
    result.agent_id = flags.agent_id.clone();
    result.session_intent = flags.session_intent.clone();
}

/// Keep a server's unwrap record, or forget it when nothing is left to restore.
pub(crate) fn keep_record(records: &mut Records, key: &str, record: Record) {
    if record.is_empty() {
        records.servers.remove(key);
    } else {
        records.servers.insert(key.to_owned(), record);
    }
}

/// Whether `--only` / `--exclude` select this server.
pub(crate) fn selects(plan: &Plan, name: &str) -> bool {
    (plan.only.is_empty() || plan.only.iter().any(|n| n == name))
        && !plan.exclude.iter().any(|n| n == name)
}

/// A stdio entry read for (un)wrapping: its wrapped form when it runs this thoth's `run`, and the entry as it
/// was before wrapping. Err: it runs `thoth run` without a server command (left for a human to fix).
pub(crate) fn read_wrapped(
    current: &Fields,
    record: &super::record::Record,
) -> Result<(Option<wrapped::Wrapped>, Fields), String> {
    let existing = wrapped::parse(&current.command, current.args_or_empty());
    if existing.is_none() && wrapped::runs_thoth(&current.command, current.args_or_empty()) {
        return Err("runs `thoth run` without `-- <server command>`: fix it by hand".into());
    }
    let original = match &existing {
        Some(w) => record.restore(w.command.clone(), w.args.clone(), current.env.as_deref()),
        None => current.clone(),
    };
    Ok((existing, original))
}

pub(super) fn restore_text(
    prop: &CstObjectProp,
    restored: &CstObject,
    text: &str,
    layout: &Layout,
) {
    let options = super::document::options_for(layout);
    let value = |t: &str| {
        jsonc_parser::cst::CstRootNode::parse(t, &options)
            .ok()?
            .value()?
            .to_serde_value()
    };
    let wanted = restored.to_string();
    if text == wanted {
        return;
    }
    let unique = match jsonc_parser::parse_to_ast(text, &Default::default(), &options) {
        Ok(ast) => match ast.value {
            Some(jsonc_parser::ast::Value::Object(o)) => super::duplicates::find(&o).is_none(),
            _ => false,
        },
        Err(_) => false,
    };
    match (value(text), value(&wanted)) {
        (Some(a), Some(b)) if unique && a == b => {
            prop.set_value(CstInputValue::Number(text.to_owned()))
        }
        _ => {}
    }
}

/// Change the entry from `current` to `desired`, touching only the keys that differ.
pub(super) fn converge(object: &CstObject, current: &Fields, desired: &Fields) {
    if current.command != desired.command {
        if let Some(prop) = object.get("command") {
            prop.set_value(desired.command.clone().into());
        }
    }
    // Keep the array's own layout; a new `args` follows the entry's.
    let multiline = match object.get("args") {
        Some(prop) => prop.to_string().contains('\n'),
        None => object.to_string().contains('\n'),
    };
    match (&current.args, &desired.args) {
        (Some(a), Some(b)) if a == b => {}
        (_, Some(b)) => {
            let value = string_array(b);
            let prop = match object.get("args") {
                Some(prop) => {
                    prop.set_value(value);
                    prop
                }
                None => object.insert(index_after(object, &["command"]), "args", value),
            };
            if multiline && !b.is_empty() {
                if let Some(array) = prop.array_value() {
                    array.ensure_multiline();
                }
            }
        }
        (Some(_), None) => {
            if let Some(prop) = object.get("args") {
                prop.remove();
            }
        }
        (None, None) => {}
    }
    match (&current.env, &desired.env) {
        (Some(a), Some(b)) if a == b => {}
        (Some(a), Some(b)) => {
            if let Some(env) = object.object_value("env") {
                converge_env(&env, a, b);
            }
        }
        (None, Some(b)) => {
            let value =
                CstInputValue::Object(b.iter().map(|(k, v)| (k.clone(), input(v))).collect());
            object.insert(index_after(object, &["args", "command"]), "env", value);
        }
        (Some(_), None) => {
            if let Some(prop) = object.get("env") {
                prop.remove();
            }
        }
        (None, None) => {}
    }
}

fn converge_env(env: &CstObject, current: &[(String, Value)], desired: &[(String, Value)]) {
    for prop in env.properties() {
        let Some(key) = prop.decoded_name() else {
            continue;
        };
        match desired.iter().find(|(k, _)| *k == key) {
            None => prop.remove(),
            Some((_, value)) => {
                if current.iter().any(|(k, v)| *k == key && v != value) {
                    prop.set_value(input(value));
                }
            }
        }
    }
    for (key, value) in desired {
        if !current.iter().any(|(k, _)| k == key) {
            env.append(key, input(value));
        }
    }
}

/// The position just after the first of these keys that exists (else the end).
pub(super) fn index_after(object: &CstObject, keys: &[&str]) -> usize {
    keys.iter()
        .find_map(|key| object.get(key))
        .map_or(object.properties().len(), |prop| prop.property_index() + 1)
}

fn string_array(items: &[String]) -> CstInputValue {
    CstInputValue::Array(items.iter().map(|s| s.clone().into()).collect())
}

pub(super) fn input(value: &Value) -> CstInputValue {
    match value {
        Value::Null => CstInputValue::Null,
        Value::Bool(b) => CstInputValue::Bool(*b),
        Value::Number(n) => CstInputValue::Number(n.to_string()),
        Value::String(s) => CstInputValue::String(s.clone()),
        Value::Array(items) => CstInputValue::Array(items.iter().map(input).collect()),
        Value::Object(map) => {
            CstInputValue::Object(map.iter().map(|(k, v)| (k.clone(), input(v))).collect())
        }
    }
}
