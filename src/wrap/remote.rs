//! Remote servers bridged by `thoth run --url` (issue 18): a `url` entry (`type` absent, `http`, `sse` or
//! `streamable-http`; optional `headers`) becomes a stdio entry `command: <thoth>, args: ["run", <flags>...,
//! "--url", URL, "--header", "Name: value"..., ("--transport", "sse")]`, header values byte for byte (a
//! `${env:X}` placeholder stays one: `thoth run` resolves it at start). The record keeps the original text,
//! so `--unwrap` gives the entry back byte for byte; without a record it is rebuilt from the args.

use jsonc_parser::cst::{CstInputValue, CstObject, CstObjectProp};
use serde_json::Value;

use super::edit::{self, Outcome, Plan, ServerResult};
use super::entry::Fields;
use super::record::Records;
use super::wrapped::{self, RunFlags};

/// `type` values a url entry may have and still be bridged (clients spell Streamable HTTP several ways).
const BRIDGED_TYPES: &[&str] = &["http", "sse", "streamable-http", "streamableHttp"];
/// Keys of a url entry that the stdio entry replaces (Windsurf spells the URL `serverUrl`).
const URL_KEYS: &[&str] = &["type", "url", "serverUrl", "headers"];

/// The key holding the URL: `url`, or Windsurf's `serverUrl`.
fn url_key(has: impl Fn(&str) -> bool) -> Option<&'static str> {
    ["url", "serverUrl"].into_iter().find(|k| has(k))
}

/// What a bridged server is reached at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remote {
    pub url: String,
    /// `Some("sse")` for a legacy HTTP+SSE server; `None`: `thoth run`'s default (`auto`).
    pub transport: Option<String>,
    /// In file order, values as written.
    pub headers: Vec<(String, String)>,
}

/// The url entry in `object`: `None` when it has no `url`; `Some(Err(why))` when it cannot be bridged.
pub fn read(object: &CstObject) -> Option<Result<Remote, String>> {
    let value = |key: &str| object.get(key).and_then(|p| p.value()?.to_serde_value());
    let key = url_key(|k| object.get(k).is_some())?;
    if object.get("url").is_some() && object.get("serverUrl").is_some() {
        return Some(Err(
            "has both \"url\" and \"serverUrl\": fix it by hand".into()
        ));
    }
    Some(read_value(
        value(key),
        value("type"),
        object.get("headers").map(|_| value("headers")),
        object.get("command").is_some() || object.get("transport").is_some(),
    ))
}

fn read_value(
    url: Option<Value>,
    kind: Option<Value>,
    headers: Option<Option<Value>>,
    mixed: bool,
) -> Result<Remote, String> {
    if mixed {
        return Err("has both \"url\" and \"command\" (or \"transport\"): fix it by hand".into());
    }
    let url = match url {
        Some(Value::String(u)) if bridgeable_url(&u) => u,
        _ => return Err("\"url\" is not an http(s) URL".into()),
    };
    let transport = match &kind {
        None => None,
        Some(Value::String(t)) if t == "sse" => Some("sse".to_owned()),
        Some(Value::String(t)) if BRIDGED_TYPES.contains(&t.as_str()) => None,
        Some(other) => return Err(format!("type {other} cannot be bridged to stdio")),
    };
    let headers = match headers {
        None => Vec::new(),
        Some(Some(Value::Object(map))) => {
            let mut out = Vec::with_capacity(map.len());
            for (name, value) in map {
                let Value::String(value) = value else {
                    return Err(format!("header {name:?} is not a string"));
                };
                check_header(&name, &value)?;
                out.push((name, value));
            }
            out
        }
        Some(_) => return Err("\"headers\" is not an object".into()),
    };
    Ok(Remote {
        url,
        transport,
        headers,
    })
}

fn bridgeable_url(text: &str) -> bool {
    url::Url::parse(text).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
        && !text.starts_with('-')
}

/// A header `thoth run --header 'Name: value'` carries unchanged: a token name, a value without CR/LF/NUL.
fn check_header(name: &str, value: &str) -> Result<(), String> {
    let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if name.is_empty() || !name.chars().all(token) {
        return Err(format!("header name {name:?} is not an HTTP header name"));
    }
    if value.contains(['\r', '\n', '\0']) {
        return Err(format!("header {name:?} has a line break in its value"));
    }
    Ok(())
}

/// `Name: value` as one `--header` argument; `header_of` reads it back exactly.
pub fn header_arg(name: &str, value: &str) -> String {
    format!("{name}: {value}")
}

pub fn header_of(arg: &str) -> Option<(String, String)> {
    let (name, value) = arg.split_once(':')?;
    Some((
        name.to_owned(),
        value.strip_prefix(' ').unwrap_or(value).to_owned(),
    ))
}

/// The args of a bridged entry.
pub fn build_args(flags: &RunFlags, remote: &Remote) -> Vec<String> {
    // The stdio form ends with `-- <command>`; take thoth's part of it and put the bridge after.
    let mut out = wrapped::build_args(flags, "-", &[]);
    out.truncate(out.len() - 2);
    out.push("--url".into());
    out.push(remote.url.clone());
    for (name, value) in &remote.headers {
        out.push("--header".into());
        out.push(header_arg(name, value));
    }
    if let Some(transport) = &remote.transport {
        out.push("--transport".into());
        out.push(transport.clone());
    }
    out
}

/// Take a bridged entry apart: `thoth run <flags>... --url URL ...` with no `-- <command>`.
pub fn parse_wrapped(command: &str, args: &[String]) -> Option<(RunFlags, Remote)> {
    if !wrapped::runs_thoth(command, args) || args.iter().any(|a| a == "--") {
        return None;
    }
    let mut flags = RunFlags::default();
    let mut remote = Remote {
        url: String::new(),
        transport: None,
        headers: Vec::new(),
    };
    let mut rest = args[1..].iter();
    while let Some(arg) = rest.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((name, value)) if name.starts_with("--") => (name, Some(value.to_owned())),
            _ => (arg.as_str(), None),
        };
        let mut value = || inline.clone().or_else(|| rest.next().cloned());
        match name {
            "--url" => remote.url = value()?,
            "--header" => remote.headers.push(header_of(&value()?)?),
            "--transport" => {
                remote.transport = Some(value()?).filter(|t| t != "auto" && t != "streamable-http")
            }
            "--agent-id" => flags.agent_id = Some(value()?),
            "--tenant-id" => flags.tenant_id = Some(value()?),
            "--enforcement-mode" => flags.enforcement_mode = Some(value()?),
            "--session-intent" => flags.session_intent = Some(value()?),
            _ => {
                flags.other.push(arg.clone());
                if inline.is_none() && wrapped::takes_value(name) {
                    flags.other.push(rest.next()?.clone());
                }
            }
        }
    }
    (!remote.url.is_empty()).then_some((flags, remote))
}

/// Wrap or unwrap one entry when it is a url entry or a bridged one; `None`: not ours, the stdio path goes on.
pub fn apply_one(
    name: &str,
    key: &str,
    prop: &CstObjectProp,
    plan: &Plan,
    records: &mut Records,
    selected: bool,
    layout: &super::document::Layout,
) -> Option<ServerResult> {
    let object = prop.object_value()?;
    let mut result = ServerResult {
        name: name.to_owned(),
        scope: None,
        outcome: Outcome::Skipped,
        agent_id: None,
        session_intent: None,
        detail: None,
    };
    let current = stdio_fields(&object);
    let (existing, remote) = match read(&object) {
        Some(Err(why)) => {
            result.outcome = Outcome::Remote;
            result.detail = Some(why);
            return Some(result);
        }
        Some(Ok(remote)) => (None, remote),
        None => {
            let fields = current.as_ref()?;
            let (flags, remote) = parse_wrapped(&fields.command, fields.args_or_empty())?;
            (Some(flags), remote)
        }
    };
    if !selected {
        return Some(result);
    }
    let record = records.servers.get(key).cloned().unwrap_or_default();
    let Some(wrap) = &plan.wrap else {
        result.outcome = match (&existing, &current) {
            (Some(_), Some(fields)) => {
                restore(&object, fields, &remote, &record, layout);
                if let Some(text) = &record.original_text {
                    edit::restore_text(prop, &object, text, layout);
                }
                records.servers.remove(key);
                Outcome::Unwrapped
            }
            _ => Outcome::NotWrapped,
        };
        return Some(result);
    };
    let (flags, dropped) = edit::run_flags(
        name,
        existing.as_ref().unwrap_or(&RunFlags::default()),
        wrap,
    );
    // The env as it was before wrapping: --env is applied to that, like a stdio server's.
    let env_now = current
        .as_ref()
        .and_then(|f| f.env.clone())
        .or_else(|| env_of(&object));
    let original_env = match &existing {
        Some(_) => {
            record
                .restore(String::new(), Vec::new(), env_now.as_deref())
                .env
        }
        None => env_now.clone(),
    };
    let original = Fields {
        command: String::new(),
        args: None,
        env: original_env,
    };
    let (env, mut new_record) = edit::wrap_env(&original, wrap);
    new_record.original_text = match &existing {
        Some(_) => record.original_text.clone(),
        None => Some(object.to_string()),
    };
    let desired = Fields {
        command: wrap.thoth_path.clone(),
        args: Some(build_args(&flags, &remote)),
        env,
    };
    edit::report_flags(&mut result, &flags, &dropped);
    records.servers.insert(key.to_owned(), new_record);
    result.outcome = match current {
        Some(current) if current == desired => Outcome::Unchanged,
        Some(current) => {
            edit::converge(&object, &current, &desired);
            Outcome::Updated
        }
        None => {
            // Swap the url keys for `command` where the first of them was; `converge` adds args and env.
            let at = URL_KEYS
                .iter()
                .filter_map(|k| object.get(k))
                .map(|p| p.property_index())
                .min()
                .unwrap_or(0);
            for key in URL_KEYS {
                if let Some(p) = object.get(key) {
                    p.remove();
                }
            }
            object.insert(at, "command", desired.command.clone().into());
            let before = Fields {
                command: desired.command.clone(),
                args: None,
                env: env_now,
            };
            edit::converge(&object, &before, &desired);
            Outcome::Wrapped
        }
    };
    Some(result)
}

/// The entry's command, args and env when it has a string `command` (a bridged entry has).
fn stdio_fields(object: &CstObject) -> Option<Fields> {
    match super::entry::read_object(object) {
        super::entry::Entry::Stdio(fields) => Some(fields),
        _ => None,
    }
}

fn env_of(object: &CstObject) -> Option<Vec<(String, Value)>> {
    let env = object.object_value("env")?;
    Some(
        env.properties()
            .into_iter()
            .filter_map(|p| Some((p.decoded_name()?, p.value()?.to_serde_value()?)))
            .collect(),
    )
}

/// Turn a bridged entry back into its url entry: `type` and an empty `headers` as the recorded original
/// had them (when it is the same server), else `type` from the transport.
fn restore(
    object: &CstObject,
    current: &Fields,
    remote: &Remote,
    record: &super::record::Record,
    layout: &super::document::Layout,
) {
    let original = record
        .original_text
        .as_deref()
        .and_then(|t| original_of(t, layout));
    let same = original.as_ref().and_then(|(r, _, _, _)| r.as_ref().ok()) == Some(remote);
    let (kind, empty_headers, url_key) = match (same, original) {
        (true, Some((_, kind, had_headers, key))) => (kind, had_headers, key),
        _ => (
            Some(Value::String(
                remote.transport.clone().unwrap_or_else(|| "http".into()),
            )),
            false,
            "url",
        ),
    };
    let env = record
        .restore(String::new(), Vec::new(), current.env.as_deref())
        .env;
    let at = object.get("command").map_or(0, |p| p.property_index());
    for key in ["command", "args"] {
        if let Some(p) = object.get(key) {
            p.remove();
        }
    }
    let mut at = at;
    let mut put = |key: &str, value: CstInputValue| {
        object.insert(at, key, value);
        at += 1;
    };
    if let Some(kind) = &kind {
        put("type", edit::input(kind));
    }
    put(url_key, remote.url.clone().into());
    if !remote.headers.is_empty() || empty_headers {
        put(
            "headers",
            CstInputValue::Object(
                remote
                    .headers
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone().into()))
                    .collect(),
            ),
        );
    }
    let now = Fields {
        command: String::new(),
        args: None,
        env: current.env.clone(),
    };
    let wanted = Fields {
        command: String::new(),
        args: None,
        env,
    };
    edit::converge(object, &now, &wanted);
}

/// A recorded original entry: what it bridges to, its `type` value, whether it had a `headers` key, and the
/// key its URL was under.
#[allow(clippy::type_complexity)]
/// The recorded entry, read as its file is read (JSONC for VS Code and Zed: trailing commas, comments).
fn original_of(
    text: &str,
    layout: &super::document::Layout,
) -> Option<(Result<Remote, String>, Option<Value>, bool, &'static str)> {
    let options = super::document::options_for(layout);
    let root = jsonc_parser::cst::CstRootNode::parse(text, &options).ok()?;
    let Some(Value::Object(map)) = root.value()?.to_serde_value() else {
        return None;
    };
    let key = url_key(|k| map.contains_key(k)).unwrap_or("url");
    let remote = read_value(
        map.get(key).cloned(),
        map.get("type").cloned(),
        map.get("headers").map(|h| Some(h.clone())),
        map.contains_key("command") || map.contains_key("transport"),
    );
    Some((
        remote,
        map.get("type").cloned(),
        map.contains_key("headers"),
        key,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn builds_and_parses_back() {
        let flags = RunFlags {
            agent_id: Some("bars".into()),
            tenant_id: Some("t1".into()),
            enforcement_mode: Some("block".into()),
            session_intent: None,
            other: strings(&["--policy", "/p.json"]),
        };
        let remote = Remote {
            url: "https://mcp.example.com/mcp".into(),
            transport: Some("sse".into()),
            headers: vec![
                ("Authorization".into(), "Bearer ${env:BARS_TOKEN}".into()),
                ("X-Empty".into(), "".into()),
                ("X-Colon".into(), " a: b ".into()),
            ],
        };
        let args = build_args(&flags, &remote);
        assert_eq!(
            args,
            strings(&[
                "run",
                "--agent-id",
                "bars",
                "--tenant-id",
                "t1",
                "--enforcement-mode",
                "block",
                "--policy",
                "/p.json",
                "--url",
                "https://mcp.example.com/mcp",
                "--header",
                "Authorization: Bearer ${env:BARS_TOKEN}",
                "--header",
                "X-Empty: ",
                "--header",
                "X-Colon:  a: b ",
                "--transport",
                "sse"
            ])
        );
        assert_eq!(parse_wrapped("/opt/thoth", &args), Some((flags, remote)));
        // Inline forms, as a person may write them.
        let inline = strings(&["run", "--url=https://a.example/", "--header=K: v"]);
        let (_, r) = parse_wrapped("thoth", &inline).unwrap();
        assert_eq!(r.url, "https://a.example/");
        assert_eq!(r.headers, [("K".to_owned(), "v".to_owned())]);
        assert!(parse_wrapped("thoth", &strings(&["run", "--", "npx"])).is_none());
        assert!(parse_wrapped("thoth", &strings(&["run", "--agent-id", "a"])).is_none());
    }

    #[test]
    fn what_cannot_be_bridged_says_why() {
        let s = |v: &str| Some(Value::String(v.into()));
        assert!(read_value(s("https://a.example"), s("ws"), None, false).is_err());
        assert!(read_value(s("ftp://a.example"), None, None, false).is_err());
        assert!(read_value(s("https://a.example"), None, None, true).is_err());
        let bad = Some(Some(serde_json::json!({"A B": "x"})));
        assert!(read_value(s("https://a.example"), None, bad, false).is_err());
        let bad = Some(Some(serde_json::json!({"A": "x\r\nB: y"})));
        assert!(read_value(s("https://a.example"), None, bad, false).is_err());
        let ok = read_value(s("http://127.0.0.1:9/m"), s("streamable-http"), None, false);
        assert_eq!(ok.unwrap().transport, None);
    }
}

#[cfg(test)]
#[path = "remote_tests.rs"]
mod generated;
