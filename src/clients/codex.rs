//! Codex's `config.toml`: `[mcp_servers.NAME]` tables (or inline / dotted ones), edited with `toml_edit` so
//! comments, other tables and spacing stay. A key twice is refused by the TOML parser itself (the error
//! names line and column). Unwrap gives the original bytes back: wrapping keeps the original `command` and
//! `args` values' text in the record, and each value's surrounding comments stay where they were.

use std::path::Path;

use toml_edit::{Array, DocumentMut, Item, TableLike, Value};

use super::{Client, ClientFormat, Found, Parsed};
use crate::wrap::edit::{self, wrap_fields, Outcome, Plan, ServerResult};
use crate::wrap::entry::{Entry, Fields};
use crate::wrap::record::Records;
use crate::wrap::Error;

pub const SERVERS_KEY: &str = "mcp_servers";

pub struct Codex;

impl ClientFormat for Codex {
    fn client(&self) -> Client {
        Client::Codex
    }

    fn new_config(&self) -> &'static str {
        ""
    }

    fn parse(&self, path: &Path, text: &str) -> Result<Parsed, Error> {
        let mut doc = parse_doc(path, text)?;
        let servers = match servers(path, &mut doc)? {
            None => Vec::new(),
            Some(table) => table
                .iter_mut()
                .map(|(name, item)| Found {
                    name: name.get().to_owned(),
                    scope: None,
                    entry: read(item),
                })
                .collect(),
        };
        Ok(Parsed {
            servers,
            risky_comments: false,
        })
    }

    fn apply(
        &self,
        path: &Path,
        text: &str,
        plan: &Plan,
        records: &mut Records,
    ) -> Result<(String, Vec<ServerResult>), Error> {
        let mut doc = parse_doc(path, text)?;
        let mut results = Vec::new();
        if let Some(table) = servers(path, &mut doc)? {
            for (name, item) in table.iter_mut() {
                results.push(apply_one(name.get(), item, plan, records));
            }
        }
        Ok((doc.to_string(), results))
    }
}

fn parse_doc(path: &Path, text: &str) -> Result<DocumentMut, Error> {
    text.parse::<DocumentMut>().map_err(|e| {
        let at = e.span().map_or(0, |span| span.start);
        let (line, column) = crate::wrap::document::line_column(text, at);
        Error::Toml {
            path: path.to_owned(),
            detail: format!("line {line} column {column}: {}", e.message().trim_end()),
        }
    })
}

fn servers<'a>(
    path: &Path,
    doc: &'a mut DocumentMut,
) -> Result<Option<&'a mut dyn TableLike>, Error> {
    match doc.as_table_mut().get_mut(SERVERS_KEY) {
        None => Ok(None),
        Some(item) => {
            if !item.is_table_like() {
                return Err(Error::Shape {
                    path: path.to_owned(),
                    client: "Codex",
                    detail: format!("\"{SERVERS_KEY}\" is {}, not a table", item.type_name()),
                });
            }
            Ok(item.as_table_like_mut())
        }
    }
}

/// One `[mcp_servers.NAME]` entry.
fn read(item: &Item) -> Entry {
    let Some(table) = item.as_table_like() else {
        return Entry::Invalid("the entry is not a table".into());
    };
    if table.contains_key("url") {
        return Entry::Remote;
    }
    let command = match table.get("command").map(|i| i.as_str()) {
        Some(Some(c)) if !c.is_empty() => c.to_owned(),
        Some(_) => return Entry::Invalid("\"command\" is not a non-empty string".into()),
        None => return Entry::Invalid("the entry has no \"command\"".into()),
    };
    let args = match table.get("args") {
        None => None,
        Some(item) => match item.as_array() {
            Some(array) => match array
                .iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect()
            {
                Some(args) => Some(args),
                None => {
                    return Entry::Invalid("\"args\" holds something other than strings".into())
                }
            },
            None => return Entry::Invalid("\"args\" is not an array".into()),
        },
    };
    let env = match table.get("env") {
        None => None,
        Some(item) => match item.as_table_like() {
            Some(env) => {
                let mut pairs = Vec::new();
                for (key, value) in env.iter() {
                    match value.as_str() {
                        Some(v) => {
                            pairs.push((key.to_owned(), serde_json::Value::String(v.into())))
                        }
                        None => return Entry::Invalid(format!("env \"{key}\" is not a string")),
                    }
                }
                Some(pairs)
            }
            None => return Entry::Invalid("\"env\" is not a table".into()),
        },
    };
    Entry::Stdio(Fields { command, args, env })
}

fn apply_one(name: &str, item: &mut Item, plan: &Plan, records: &mut Records) -> ServerResult {
    let mut result = ServerResult {
        name: name.to_owned(),
        scope: None,
        outcome: Outcome::Skipped,
        agent_id: None,
        session_intent: None,
        detail: None,
    };
    let current = match read(item) {
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
    let selected = edit::selects(plan, name);
    let Some(table) = item.as_table_like_mut().filter(|_| selected) else {
        return result;
    };
    let record = records.servers.get(name).cloned().unwrap_or_default();
    let (existing, original) = match edit::read_wrapped(&current, &record) {
        Ok(read) => read,
        Err(why) => {
            result.outcome = Outcome::Invalid;
            result.detail = Some(why);
            return result;
        }
    };
    let Some(wrap) = &plan.wrap else {
        result.outcome = if existing.is_some() {
            converge(table, &current, &original);
            if let Some(text) = &record.original_text {
                restore_text(table, &original, text);
            }
            records.servers.remove(name);
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
        None => Some(original_text(table)),
    };
    edit::report_flags(&mut result, &flags, &dropped);
    edit::keep_record(records, name, new_record);
    result.outcome = if desired == current {
        Outcome::Unchanged
    } else {
        converge(table, &current, &desired);
        if existing.is_some() {
            Outcome::Updated
        } else {
            Outcome::Wrapped
        }
    };
    result
}

/// The original `command` and `args` values' own text (without the spacing and comments around them,
/// which stay in the file), as a small TOML document.
fn original_text(table: &dyn TableLike) -> String {
    let mut text = String::new();
    for key in ["command", "args"] {
        if let Some(value) = table.get(key).and_then(Item::as_value) {
            let mut bare = value.clone();
            bare.decor_mut().clear();
            text.push_str(&format!("{key} = {bare}\n"));
        }
    }
    text
}

/// Put the recorded value texts back when they mean what the restored entry has (a record edited by hand
/// can change only layout).
fn restore_text(table: &mut dyn TableLike, restored: &Fields, text: &str) {
    let Ok(saved) = text.parse::<DocumentMut>() else {
        return;
    };
    let saved_fields = read(saved.as_item());
    let same = matches!(&saved_fields, Entry::Stdio(f)
        if f.command == restored.command && f.args == restored.args);
    if !same {
        return;
    }
    for key in ["command", "args"] {
        if let (Some(new), Some(Item::Value(old))) =
            (saved.get(key).and_then(Item::as_value), table.get_mut(key))
        {
            let decor = old.decor().clone();
            *old = new.clone();
            *old.decor_mut() = decor;
        }
    }
}

/// Change the entry from `current` to `desired`, touching only what differs and keeping each value's
/// surrounding spacing and comments.
fn converge(table: &mut dyn TableLike, current: &Fields, desired: &Fields) {
    if current.command != desired.command {
        set_value(table, "command", Value::from(desired.command.as_str()));
    }
    match (&current.args, &desired.args) {
        (Some(a), Some(b)) if a == b => {}
        (_, Some(b)) => {
            let array: Array = b.iter().map(String::as_str).collect();
            set_value(table, "args", Value::Array(array));
        }
        (Some(_), None) => {
            table.remove("args");
        }
        (None, None) => {}
    }
    match (&current.env, &desired.env) {
        (Some(a), Some(b)) if a == b => {}
        (_, Some(b)) => {
            if table.get("env").and_then(Item::as_table_like).is_none() {
                table.insert("env", Item::Value(Value::InlineTable(Default::default())));
            }
            if let Some(env) = table.get_mut("env").and_then(Item::as_table_like_mut) {
                let keys: Vec<String> = env.iter().map(|(k, _)| k.to_owned()).collect();
                for key in keys.iter().filter(|k| !b.iter().any(|(bk, _)| bk == *k)) {
                    env.remove(key);
                }
                for (key, value) in b {
                    let text = value
                        .as_str()
                        .map_or_else(|| value.to_string(), str::to_owned);
                    if env.get(key).and_then(Item::as_str) != Some(text.as_str()) {
                        set_value(env, key, Value::from(text));
                    }
                }
            }
        }
        (Some(_), None) => {
            table.remove("env");
        }
        (None, None) => {}
    }
}

fn set_value(table: &mut dyn TableLike, key: &str, mut value: Value) {
    match table.get_mut(key) {
        Some(Item::Value(old)) => {
            *value.decor_mut() = old.decor().clone();
            *old = value;
        }
        _ => {
            table.insert(key, Item::Value(value));
        }
    }
}

/// The text with every THOTH_* secret in a server's `env` replaced by `***` (the backup `--unwrap` keeps);
/// `None` when it is not TOML.
pub fn redact(text: &str) -> Option<String> {
    let mut doc = text.parse::<DocumentMut>().ok()?;
    if let Some(servers) = doc.get_mut(SERVERS_KEY).and_then(Item::as_table_like_mut) {
        for (_, server) in servers.iter_mut() {
            let env = server
                .as_table_like_mut()
                .and_then(|t| t.get_mut("env"))
                .and_then(Item::as_table_like_mut);
            let Some(env) = env else { continue };
            let secret: Vec<String> = env
                .iter()
                .filter(|(k, v)| crate::wrap::secrets::is_ours(k) && v.is_str())
                .map(|(k, _)| k.to_owned())
                .collect();
            for key in secret {
                set_value(env, &key, Value::from(crate::wrap::secrets::MASK));
            }
        }
    }
    Some(doc.to_string())
}
