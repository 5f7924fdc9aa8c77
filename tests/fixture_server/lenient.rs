//! `--lenient NAMES_FILE`: the fixture also "executes" every line as leniently as a careless server could,
//! and appends the name of every tool it would run to NAMES_FILE (one JSON string per line). It reads keys
//! and methods case- and punctuation-insensitively (`Method`, `Tools/Call`, `tools.call`), keeps the last of
//! duplicate keys (as `JSON.parse` does), runs notifications and `id: null` as calls, reads arrays
//! positionally and batches inside batches, and parses strings that hold JSON. It never looks inside a
//! call's `arguments`. The tests assert that a denied tool's name never shows up here.

use std::fs::File;
use std::io::Write;

use serde_json::Value;

/// Letters and digits only, lowercased, fullwidth forms as ASCII.
fn fold(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

fn member<'a>(map: &'a serde_json::Map<String, Value>, key: &str) -> Option<&'a Value> {
    map.iter()
        .filter(|(k, _)| fold(k) == key)
        .map(|(_, v)| v)
        .next_back()
}

fn is_call(v: &Value) -> bool {
    v.as_str().is_some_and(|m| fold(m) == "toolscall")
}

/// A tool name from params in any shape: an object's `name`, an array's first string, a bare string.
fn name_in(params: &Value) -> Option<String> {
    match params {
        Value::Object(map) => member(map, "name").and_then(name_in),
        Value::Array(items) => items.iter().find_map(name_in),
        Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

/// Every tool `value` would run.
fn calls(value: &Value, depth: usize, out: &mut Vec<String>) {
    if depth > 16 {
        return;
    }
    match value {
        Value::Object(map) if member(map, "method").is_some_and(is_call) => {
            if let Some(name) = member(map, "params").and_then(name_in) {
                out.push(name);
            }
        }
        Value::Array(items) => {
            // Positionally: a call method, then the first name after it.
            if let Some(at) = items.iter().position(is_call) {
                if let Some(name) = items[at + 1..].iter().find_map(name_in) {
                    out.push(name);
                }
            }
            for item in items {
                calls(item, depth + 1, out);
            }
        }
        Value::String(s) => {
            if let Ok(inner) = serde_json::from_str::<Value>(s) {
                calls(&inner, depth + 1, out);
            }
        }
        _ => {}
    }
}

/// Record the tools `line` would run.
pub fn execute(line: &[u8], names: &mut File) {
    let text = String::from_utf8_lossy(line);
    let Ok(value) = serde_json::from_str::<Value>(&text) else {
        return;
    };
    let mut ran = Vec::new();
    calls(&value, 0, &mut ran);
    for name in ran {
        let _ = writeln!(names, "{}", Value::from(name)).and_then(|()| names.flush());
    }
}
