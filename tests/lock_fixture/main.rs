//! An MCP server whose offer changes, for the lock tests (`thoth lock`, `thoth diff`, `thoth run --lock`).
//!
//! `lock-fixture --doc FILE [--page-size N] [--list-delay-ms MS] [--record FILE] [--early-list-changed]
//! [--ask-on-initialized]`. FILE is JSON: `{"version"?, "tools"?, "prompts"?, "resources"?,
//! "resourceTemplates"?}`; a list whose key is absent answers `-32601`. Lists page by N with `nextCursor`.
//! The tool `change` `{doc, list_delay_ms?}` replaces the offer at run time, answers, then sends
//! `notifications/tools/list_changed`; tools/list answers then come after `list_delay_ms`. Every other tool
//! answers `called <name>`. `--record` appends every received line. std + serde_json only.

use std::fs::OpenOptions;
use std::io::{self, BufRead, Write};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use serde_json::{json, Value};

struct State {
    doc: Value,
    page_size: usize,
    list_delay_ms: u64,
}

fn write_line(value: &Value) {
    let mut out = io::stdout().lock();
    let _ = writeln!(out, "{value}");
    let _ = out.flush();
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut doc = json!({"tools": []});
    let mut page_size = 0;
    let mut list_delay_ms = 0;
    let mut record: Option<String> = None;
    let mut early = false;
    let mut ask = false;
    while let Some(arg) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| panic!("{arg} needs a value"));
        match arg.as_str() {
            "--doc" => {
                let path = value();
                let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
                doc = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
            }
            "--page-size" => page_size = value().parse().expect("--page-size N"),
            "--list-delay-ms" => list_delay_ms = value().parse().expect("--list-delay-ms MS"),
            "--record" => record = Some(value()),
            "--early-list-changed" => early = true,
            "--ask-on-initialized" => ask = true,
            other => panic!("unknown argument {other}"),
        }
    }
    let state = Arc::new(Mutex::new(State {
        doc,
        page_size,
        list_delay_ms,
    }));
    if early {
        write_line(&json!({"jsonrpc": "2.0", "method": "notifications/tools/list_changed"}));
    }
    let mut lines = io::stdin().lock();
    let mut line = String::new();
    loop {
        line.clear();
        match lines.read_line(&mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        if let Some(path) = &record {
            if let Ok(mut f) = OpenOptions::new().create(true).append(true).open(path) {
                let _ = f.write_all(line.as_bytes());
            }
        }
        let Ok(message) = serde_json::from_str::<Value>(line.trim()) else {
            continue;
        };
        let method = message
            .get("method")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let Some(id) = message.get("id").cloned() else {
            if method == "notifications/initialized" && ask {
                write_line(&json!({"jsonrpc": "2.0", "id": "srv-1", "method": "roots/list"}));
            }
            continue;
        };
        if message.get("method").is_none() {
            continue; // a response (to --ask-on-initialized): recorded above
        }
        let params = message.get("params").cloned().unwrap_or(Value::Null);
        handle(&state, method, id, &params);
    }
}

fn handle(state: &Arc<Mutex<State>>, method: &str, id: Value, params: &Value) {
    let reply = |result: Value| write_line(&json!({"jsonrpc": "2.0", "id": id, "result": result}));
    let key = match method {
        "initialize" => {
            let s = state.lock().unwrap();
            let version = s.doc.get("version").cloned().unwrap_or(json!("1.0.0"));
            return reply(json!({
                "protocolVersion": params.get("protocolVersion").cloned().unwrap_or(json!("2025-06-18")),
                "capabilities": {"tools": {"listChanged": true}, "prompts": {}, "resources": {}},
                "serverInfo": {"name": "lock-fixture", "version": version}
            }));
        }
        "ping" => return reply(json!({})),
        "tools/call" => return call(state, id, params),
        "tools/list" => "tools",
        "prompts/list" => "prompts",
        "resources/list" => "resources",
        "resources/templates/list" => "resourceTemplates",
        other => {
            return write_line(
                &json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32601, "message": format!("method not found: {other}")}}),
            )
        }
    };
    let s = state.lock().unwrap();
    let Some(Value::Array(items)) = s.doc.get(key) else {
        return write_line(
            &json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32601, "message": "not offered"}}),
        );
    };
    let start: usize = params
        .get("cursor")
        .and_then(Value::as_str)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let size = if s.page_size == 0 {
        items.len().max(1)
    } else {
        s.page_size
    };
    let page: Vec<Value> = items.iter().skip(start).take(size).cloned().collect();
    let mut result = json!({ key: page });
    if start + size < items.len() {
        result["nextCursor"] = json!((start + size).to_string());
    }
    let delay = if key == "tools" { s.list_delay_ms } else { 0 };
    drop(s);
    if delay == 0 {
        reply(result);
    } else {
        thread::spawn(move || {
            thread::sleep(Duration::from_millis(delay));
            write_line(&json!({"jsonrpc": "2.0", "id": id, "result": result}));
        });
    }
}

fn call(state: &Arc<Mutex<State>>, id: Value, params: &Value) {
    let name = params
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let text = |t: String| json!({"jsonrpc": "2.0", "id": id, "result": {"content": [{"type": "text", "text": t}]}});
    if name == "change" {
        let args = params.get("arguments").cloned().unwrap_or(Value::Null);
        {
            let mut s = state.lock().unwrap();
            if let Some(doc) = args.get("doc") {
                s.doc = doc.clone();
            }
            s.list_delay_ms = args
                .get("list_delay_ms")
                .and_then(Value::as_u64)
                .unwrap_or(0);
        }
        write_line(&text("changed".into()));
        write_line(&json!({"jsonrpc": "2.0", "method": "notifications/tools/list_changed"}));
        return;
    }
    write_line(&text(format!("called {name}")));
}
