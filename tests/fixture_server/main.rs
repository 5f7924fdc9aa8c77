//! A small, hostile MCP-ish server for thoth's integration tests and the proxy benchmark.
//!
//! Speaks newline-delimited JSON-RPC 2.0 on stdin/stdout (split on `\n` only, bytes in, so invalid
//! UTF-8 is tolerated), echoes every request id back exactly as received (raw JSON text), and can
//! misbehave on demand through its tools:
//!
//! | tool       | arguments                         | behaviour                                                     |
//! |------------|-----------------------------------|---------------------------------------------------------------|
//! | `echo`     | anything                          | text content = the arguments serialised as JSON (fast path)   |
//! | `sleep`    | `{ms}`                            | answers after `ms` milliseconds from a background thread      |
//! | `big`      | `{bytes}`                         | a text content of `bytes` bytes                               |
//! | `crash`    | `{code}`                          | exits the process with `code` without answering               |
//! | `ask`      | `{server_id?, prompt?}`           | sends `sampling/createMessage` to the client, answers the call with the client's reply |
//! | `huge`     | `{bytes}`                         | one response line of exactly `bytes` bytes (id first)         |
//! | `garbage`  | `{with_id?}`                      | an invalid-JSON line and an invalid-UTF-8 line, then the answer |
//! | `spoof`    | `{kinds?}`                        | the answer, then a duplicate, an unknown id, an object id ... |
//!
//! Options: `--record FILE` (append every received line verbatim), `--ignore-eof` (keep running
//! after stdin EOF), `--exit-on-eof CODE` (exit code on stdin EOF, default 0), `--stderr-banner TEXT`,
//! `--lenient NAMES_FILE` (also run every line as leniently as possible and record the tools it would run:
//! see `lenient.rs`).
//!
//! Only std + serde + serde_json: it is built as a cargo example (`fixture-server`).

mod lenient;

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::thread;
use std::time::Duration;

use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;
use serde_json::{json, Value};

/// Only the envelope; `params`/`result`/`error` stay raw until a handler needs them.
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(default, borrow, deserialize_with = "present")]
    id: Option<&'a RawValue>,
    #[serde(default)]
    method: Option<String>,
    #[serde(default, borrow, deserialize_with = "present")]
    params: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "present")]
    result: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "present")]
    error: Option<&'a RawValue>,
}

/// A field that is present (even as `null`) is `Some`; absent is `None` via `#[serde(default)]`.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<&'de RawValue>, D::Error> {
    <&'de RawValue>::deserialize(d).map(Some)
}

#[derive(Default)]
struct Options {
    record: Option<String>,
    ignore_eof: bool,
    exit_on_eof: i32,
    stderr_banner: Option<String>,
    lenient: Option<String>,
}

fn parse_args() -> Options {
    let mut opts = Options::default();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--record" => {
                opts.record = Some(args.next().unwrap_or_else(|| usage("--record needs FILE")))
            }
            "--ignore-eof" => opts.ignore_eof = true,
            "--lenient" => {
                opts.lenient = Some(
                    args.next()
                        .unwrap_or_else(|| usage("--lenient needs NAMES_FILE")),
                )
            }
            "--exit-on-eof" => {
                let v = args
                    .next()
                    .unwrap_or_else(|| usage("--exit-on-eof needs CODE"));
                opts.exit_on_eof = v
                    .parse()
                    .unwrap_or_else(|_| usage("--exit-on-eof needs an integer"));
            }
            "--stderr-banner" => {
                opts.stderr_banner = Some(
                    args.next()
                        .unwrap_or_else(|| usage("--stderr-banner needs TEXT")),
                )
            }
            other => usage(&format!("unknown argument {other}")),
        }
    }
    opts
}

fn usage(msg: &str) -> ! {
    log(&format!(
        "{msg}\nusage: fixture-server [--record FILE] [--ignore-eof] [--exit-on-eof CODE] [--stderr-banner TEXT] [--lenient NAMES_FILE]"
    ));
    std::process::exit(2)
}

/// One line on stderr (never stdout: stdout carries only frames).
fn log(msg: &str) {
    let mut err = io::stderr().lock();
    let _ = writeln!(err, "fixture-server: {msg}");
    let _ = err.flush();
}

/// Write one frame (without its newline) to stdout as a single line, flushed. The stdout lock is the
/// mutex that keeps lines from background threads whole.
fn write_line(line: &[u8]) {
    let mut out = io::stdout().lock();
    let ok = out
        .write_all(line)
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush());
    if let Err(e) = ok {
        drop(out);
        log(&format!("stdout write failed ({e}); exiting"));
        std::process::exit(0);
    }
}

fn respond(id: &str, result: &str) {
    write_line(format!(r#"{{"jsonrpc":"2.0","id":{id},"result":{result}}}"#).as_bytes());
}

fn respond_error(id: &str, code: i64, message: &str) {
    let message = Value::from(message);
    write_line(
        format!(r#"{{"jsonrpc":"2.0","id":{id},"error":{{"code":{code},"message":{message}}}}}"#)
            .as_bytes(),
    );
}

fn text_result(text: &str) -> String {
    json!({"content": [{"type": "text", "text": text}]}).to_string()
}

struct Server {
    /// Our outstanding server -> client requests: normalised id -> raw id of the tools/call waiting on it.
    asks: Mutex<HashMap<String, AskWaiter>>,
    next_ask: AtomicU64,
}

struct AskWaiter {
    call_id: String,
    server_id: String,
}

fn main() {
    let opts = parse_args();
    if let Some(banner) = &opts.stderr_banner {
        let mut err = io::stderr().lock();
        let _ = writeln!(err, "{banner}");
        let _ = err.flush();
    }
    let mut record: Option<File> = opts.record.as_ref().map(|path| {
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap_or_else(|e| usage(&format!("cannot open record file {path}: {e}")))
    });
    let mut names: Option<File> = opts.lenient.as_ref().map(|path| {
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap_or_else(|e| usage(&format!("cannot open names file {path}: {e}")))
    });
    let server = Server {
        asks: Mutex::new(HashMap::new()),
        next_ask: AtomicU64::new(1),
    };

    let mut reader = BufReader::with_capacity(64 * 1024, io::stdin().lock());
    let mut buf = Vec::with_capacity(4096);
    loop {
        buf.clear();
        match reader.read_until(b'\n', &mut buf) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                log(&format!("stdin read failed: {e}"));
                break;
            }
        }
        if let Some(file) = record.as_mut() {
            let mut rec = buf.clone();
            if !rec.ends_with(b"\n") {
                rec.push(b'\n');
            }
            let _ = file.write_all(&rec).and_then(|()| file.flush());
        }
        if let Some(names) = names.as_mut() {
            lenient::execute(&buf, names);
        }
        let mut line = buf.as_slice();
        while let Some((last, rest)) = line.split_last() {
            if *last == b'\n' || *last == b'\r' {
                line = rest;
            } else {
                break;
            }
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        server.handle_line(line);
    }

    if opts.ignore_eof {
        log("stdin EOF; ignoring it (--ignore-eof)");
        loop {
            thread::sleep(Duration::from_secs(3600));
        }
    }
    log(&format!("stdin EOF; exiting with {}", opts.exit_on_eof));
    std::process::exit(opts.exit_on_eof);
}

impl Server {
    fn handle_line(&self, line: &[u8]) {
        let first = line.iter().find(|b| !b.is_ascii_whitespace()).copied();
        if first == Some(b'[') {
            match serde_json::from_slice::<Vec<&RawValue>>(line) {
                Ok(items) => items
                    .iter()
                    .for_each(|item| self.handle_message(item.get().as_bytes())),
                Err(e) => log(&format!("unparseable batch ({} bytes): {e}", line.len())),
            }
            return;
        }
        self.handle_message(line);
    }

    fn handle_message(&self, line: &[u8]) {
        let env: Envelope<'_> = match serde_json::from_slice(line) {
            Ok(env) => env,
            Err(e) => {
                log(&format!("unparseable line ({} bytes): {e}", line.len()));
                return;
            }
        };
        match (env.method.as_deref(), env.id) {
            (Some(method), Some(id)) => self.request(method, id.get(), env.params),
            (Some(method), None) => log(&format!("notification {method}")),
            (None, Some(id)) if env.result.is_some() || env.error.is_some() => {
                self.response(id, env.result, env.error)
            }
            _ => log(&format!(
                "ignoring message that is neither request, notification nor response: {}",
                String::from_utf8_lossy(line)
            )),
        }
    }

    fn request(&self, method: &str, id: &str, params: Option<&RawValue>) {
        match method {
            "initialize" => {
                let params: Value = params
                    .and_then(|p| serde_json::from_str(p.get()).ok())
                    .unwrap_or(Value::Null);
                let version = params
                    .get("protocolVersion")
                    .cloned()
                    .unwrap_or_else(|| json!("2025-06-18"));
                let result = json!({
                    "protocolVersion": version,
                    "capabilities": {"tools": {}},
                    "serverInfo": {"name": "fixture-server", "version": "0.1.0"}
                });
                respond(id, &result.to_string());
            }
            "tools/list" => respond(id, &tools_list().to_string()),
            "ping" => respond(id, "{}"),
            "tools/call" => self.tools_call(id, params),
            other => respond_error(id, -32601, &format!("method not found: {other}")),
        }
    }

    fn tools_call(&self, id: &str, params: Option<&RawValue>) {
        let params: Value = match params.map(|p| serde_json::from_str(p.get())) {
            Some(Ok(v)) => v,
            _ => return respond_error(id, -32602, "tools/call needs params"),
        };
        let name = params
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let args = params
            .get("arguments")
            .cloned()
            .unwrap_or_else(|| json!({}));
        let num = |key: &str| args.get(key).and_then(Value::as_u64).unwrap_or(0);
        match name {
            "echo" => respond(id, &text_result(&args.to_string())),
            "sleep" => {
                let ms = num("ms");
                let id = id.to_owned();
                thread::spawn(move || {
                    thread::sleep(Duration::from_millis(ms));
                    respond(&id, &text_result(&format!("slept {ms}")));
                    // Tests wait on this line for the answer to have been written.
                    log(&format!("slept {ms}, answered {id}"));
                });
            }
            "big" => respond(id, &text_result(&"x".repeat(num("bytes") as usize))),
            "crash" => {
                let code = args.get("code").and_then(Value::as_i64).unwrap_or(1);
                log(&format!("crashing with exit code {code}"));
                std::process::exit(code as i32);
            }
            "ask" => self.ask(id, &args),
            "huge" => {
                let bytes = num("bytes") as usize;
                let head = format!(
                    r#"{{"jsonrpc":"2.0","id":{id},"result":{{"content":[{{"type":"text","text":""#
                );
                let tail = r#""}]}}"#;
                let pad = bytes.saturating_sub(head.len() + tail.len());
                let mut line = Vec::with_capacity(head.len() + pad + tail.len());
                line.extend_from_slice(head.as_bytes());
                line.resize(line.len() + pad, b'x');
                line.extend_from_slice(tail.as_bytes());
                write_line(&line);
            }
            "garbage" => {
                let with_id = args
                    .get("with_id")
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                if with_id {
                    // The call's id is recoverable from both bad lines.
                    write_line(
                        format!(
                            r#"{{"jsonrpc":"2.0","id":{id},"result":{{"content":[{{"type":"text""#
                        )
                        .as_bytes(),
                    );
                    let mut bad = format!(r#"{{"jsonrpc":"2.0","id":{id},"result":{{"content":[{{"type":"text","text":""#).into_bytes();
                    bad.extend_from_slice(b"\xff\xfe\xc3(");
                    bad.extend_from_slice(br#""}]}}"#);
                    write_line(&bad);
                } else {
                    write_line(br#"{"jsonrpc":"2.0","this is not json"#);
                    write_line(b"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{\"data\":\"\xff\xfe\xc3(\"}}");
                }
                respond(id, &text_result("after garbage"));
            }
            "spoof" => {
                let all = ["duplicate", "unknown", "object"];
                let kinds: Vec<String> = match args.get("kinds").and_then(Value::as_array) {
                    Some(list) => list
                        .iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect(),
                    None => all.iter().map(|s| (*s).to_owned()).collect(),
                };
                let answer = text_result("spoof answer");
                respond(id, &answer);
                for kind in &kinds {
                    match kind.as_str() {
                        "duplicate" => respond(id, &text_result("spoof duplicate")),
                        "unknown" => {
                            respond("987654321", &text_result("spoof unknown number id"));
                            respond(r#""never-issued""#, &text_result("spoof unknown string id"));
                        }
                        "object" => {
                            respond(r#"{"spoof":1}"#, &text_result("spoof object id"));
                            respond("[1,2]", &text_result("spoof array id"));
                            write_line(br#"{"jsonrpc":"2.0","id":{"spoof":2},"method":"ping"}"#);
                        }
                        other => log(&format!("spoof: unknown kind {other}")),
                    }
                }
            }
            other => respond_error(id, -32602, &format!("unknown tool: {other}")),
        }
    }

    /// Send `sampling/createMessage` to the client; the tools/call `call_id` is answered when the
    /// client's response arrives (see `response`).
    fn ask(&self, call_id: &str, args: &Value) {
        let server_id = match args.get("server_id") {
            Some(v) => v.to_string(),
            None => {
                let n = self.next_ask.fetch_add(1, Ordering::Relaxed);
                if n % 2 == 1 {
                    format!("\"srv-{n}\"")
                } else {
                    n.to_string()
                }
            }
        };
        let prompt = args
            .get("prompt")
            .and_then(Value::as_str)
            .unwrap_or("hello from fixture-server");
        let params = json!({
            "messages": [{"role": "user", "content": {"type": "text", "text": prompt}}],
            "maxTokens": 16
        });
        self.asks.lock().expect("asks lock").insert(
            normalise(&server_id),
            AskWaiter {
                call_id: call_id.to_owned(),
                server_id: server_id.clone(),
            },
        );
        write_line(
            format!(r#"{{"jsonrpc":"2.0","id":{server_id},"method":"sampling/createMessage","params":{params}}}"#)
                .as_bytes(),
        );
    }

    fn response(&self, id: &RawValue, result: Option<&RawValue>, error: Option<&RawValue>) {
        let waiter = self
            .asks
            .lock()
            .expect("asks lock")
            .remove(&normalise(id.get()));
        let Some(waiter) = waiter else {
            log(&format!("response for unknown id {}", id.get()));
            return;
        };
        let parse =
            |raw: Option<&RawValue>| raw.and_then(|r| serde_json::from_str::<Value>(r.get()).ok());
        let client_response = match (parse(result), parse(error)) {
            (Some(result), _) => json!({"result": result}),
            (None, Some(error)) => json!({"error": error}),
            (None, None) => json!({"result": null}),
        };
        let server_request_id: Value =
            serde_json::from_str(&waiter.server_id).unwrap_or(Value::Null);
        let answer = json!({
            "content": [{"type": "text", "text": client_response.to_string()}],
            "structuredContent": {"server_request_id": server_request_id, "client_response": client_response}
        });
        respond(&waiter.call_id, &answer.to_string());
    }
}

/// Ids compare by JSON value, not by spelling (`"a"` and `"\u0061"` are the same id).
fn normalise(raw: &str) -> String {
    serde_json::from_str::<Value>(raw)
        .map(|v| v.to_string())
        .unwrap_or_else(|_| raw.to_owned())
}

fn tools_list() -> Value {
    let tool = |name: &str, description: &str, properties: Value| {
        json!({
            "name": name,
            "description": description,
            "inputSchema": {"type": "object", "properties": properties}
        })
    };
    json!({"tools": [
        tool("echo", "Returns its arguments as JSON text", json!({})),
        tool("sleep", "Answers after ms milliseconds", json!({"ms": {"type": "integer"}})),
        tool("big", "Returns a text of the given size", json!({"bytes": {"type": "integer"}})),
        tool("crash", "Exits the server with the given code", json!({"code": {"type": "integer"}})),
        tool("ask", "Asks the client for a sampling/createMessage first", json!({"server_id": {}, "prompt": {"type": "string"}})),
        tool("huge", "Answers with one line of the given size", json!({"bytes": {"type": "integer"}})),
        tool("garbage", "Writes invalid JSON and invalid UTF-8 before answering", json!({"with_id": {"type": "boolean"}})),
        tool("spoof", "Answers, then sends duplicate and unknown-id responses", json!({"kinds": {"type": "array"}}))
    ]})
}
