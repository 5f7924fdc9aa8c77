//! Redaction of JSON for logs, the audit log and enforcer events (DESIGN.md §3 Events, §6): values under
//! secret-looking keys, strings that look like credentials (bearer/basic credentials, JWTs, long hex, well-known
//! API key prefixes), long strings cut to 256 characters, and the whole value capped at 4 KiB (past it, a
//! `$summary`). Pure functions: no I/O, no logging, no hashing of secrets.

use std::borrow::Cow;

use serde_json::{Map, Value};

/// What a secret is replaced with.
pub const REDACTED: &str = "[REDACTED]";
/// Longest string kept, in characters; longer ones end with `…(N bytes)` (N: the original size).
pub const MAX_STRING_CHARS: usize = 256;
/// Largest redacted value, as compact JSON; a larger one is replaced by its `$summary`.
pub const MAX_VALUE_BYTES: usize = 4096;
/// Deepest nesting kept; anything deeper becomes [`TOO_DEEP`].
pub const MAX_DEPTH: usize = 32;
pub const TOO_DEEP: &str = "[nested too deep]";
/// The one key of an object that stands for a value thoth did not record whole.
pub const SUMMARY_KEY: &str = "$summary";

/// Only this much of a long string is searched for secrets: more than is ever kept, so a secret that starts
/// in the kept part is still seen whole enough to match.
const MASK_WINDOW_BYTES: usize = MAX_STRING_CHARS * 4 + 4096;
/// A summary lists at most this many keys, each cut to this many characters.
const SUMMARY_KEYS: usize = 32;
const SUMMARY_KEY_CHARS: usize = 64;

mod keys;
#[cfg(test)]
mod props;
mod shapes;

pub use keys::is_secret_key;
pub use shapes::{looks_like_secret, mask_secrets};

/// A redacted copy of `value`: secrets replaced, strings cut, the whole at most [`MAX_VALUE_BYTES`] of compact
/// JSON (else its summary).
pub fn redact(value: &Value) -> Value {
    redact_sized(value, None)
}

/// [`redact`] for raw JSON text; text that is not JSON is summarized, never copied.
pub fn redact_json(raw: &[u8]) -> Value {
    match serde_json::from_slice::<Value>(raw) {
        Ok(value) => redact_sized(&value, Some(raw.len())),
        Err(_) => summary_of_size(raw.len(), "not_json", None),
    }
}

fn redact_sized(value: &Value, raw_bytes: Option<usize>) -> Value {
    let mut walk = Walk { used: 0 };
    match walk.value(value, 0) {
        Some(redacted) => redacted,
        None => summary(value, raw_bytes),
    }
}

/// Builds the redacted copy while counting its compact JSON size; gives up (None) past the cap, so a huge
/// value costs no more than the cap to reject.
struct Walk {
    used: usize,
}

impl Walk {
    fn add(&mut self, bytes: usize) -> Option<()> {
        self.used += bytes;
        (self.used <= MAX_VALUE_BYTES).then_some(())
    }

    fn value(&mut self, value: &Value, depth: usize) -> Option<Value> {
        Some(match value {
            Value::Null => {
                self.add(4)?;
                Value::Null
            }
            Value::Bool(b) => {
                self.add(if *b { 4 } else { 5 })?;
                Value::Bool(*b)
            }
            Value::Number(n) => {
                self.add(n.to_string().len())?;
                Value::Number(n.clone())
            }
            Value::String(s) => {
                let s = clip(s);
                self.add(json_str_len(&s))?;
                Value::String(s.into_owned())
            }
            Value::Array(_) | Value::Object(_) if depth >= MAX_DEPTH => {
                self.add(json_str_len(TOO_DEEP))?;
                Value::String(TOO_DEEP.into())
            }
            Value::Array(items) => {
                self.add(2 + items.len().saturating_sub(1))?;
                let mut out = Vec::with_capacity(items.len().min(256));
                for item in items {
                    out.push(self.value(item, depth + 1)?);
                }
                Value::Array(out)
            }
            Value::Object(map) => {
                self.add(2 + map.len().saturating_sub(1))?;
                let mut out = Map::new();
                for (key, item) in map {
                    let name = clip(key).into_owned();
                    self.add(json_str_len(&name) + 1)?;
                    let item = if is_secret_key(key) && !item.is_null() {
                        self.add(json_str_len(REDACTED))?;
                        Value::String(REDACTED.into())
                    } else {
                        self.value(item, depth + 1)?
                    };
                    out.insert(name, item);
                }
                Value::Object(out)
            }
        })
    }
}

/// `{"$summary": {"reason": "over_cap", "bytes": N, "type": ..., "keys"/"items": ...}}`: what a value too large
/// to record was, without its content. Listed keys are redacted and cut like strings.
fn summary(value: &Value, raw_bytes: Option<usize>) -> Value {
    let mut about = Map::new();
    about.insert("reason".into(), "over_cap".into());
    about.insert(
        "bytes".into(),
        raw_bytes.unwrap_or_else(|| json_len(value)).into(),
    );
    let kind = match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    about.insert("type".into(), kind.into());
    match value {
        Value::Object(map) => {
            let keys = map
                .keys()
                .take(SUMMARY_KEYS)
                .map(|k| Value::String(clip_to(k, SUMMARY_KEY_CHARS).into_owned()))
                .collect();
            about.insert("keys".into(), Value::Array(keys));
            about.insert("key_count".into(), map.len().into());
        }
        Value::Array(items) => {
            about.insert("items".into(), items.len().into());
        }
        _ => {}
    }
    wrap_summary(about)
}

/// `{"$summary": {"reason": R, "bytes": N, "sha256"?: H}}` for raw text recorded by size only.
pub fn summary_of_size(bytes: usize, reason: &str, sha256: Option<String>) -> Value {
    let mut about = Map::new();
    about.insert("reason".into(), reason.into());
    about.insert("bytes".into(), bytes.into());
    if let Some(hash) = sha256 {
        about.insert("sha256".into(), hash.into());
    }
    wrap_summary(about)
}

fn wrap_summary(about: Map<String, Value>) -> Value {
    let mut outer = Map::new();
    outer.insert(SUMMARY_KEY.into(), Value::Object(about));
    Value::Object(outer)
}

/// A string fit to record: secrets masked ([`mask_secrets`]), then cut to [`MAX_STRING_CHARS`] characters with
/// `…(N bytes)` appended, N being the original size in bytes.
pub fn clip(s: &str) -> Cow<'_, str> {
    clip_to(s, MAX_STRING_CHARS)
}

fn clip_to(s: &str, max_chars: usize) -> Cow<'_, str> {
    let window = floor_char_boundary(s, MASK_WINDOW_BYTES.max(max_chars * 4));
    let masked = mask_secrets(&s[..window]);
    match masked.char_indices().nth(max_chars) {
        Some((cut, _)) => Cow::Owned(format!("{}…({} bytes)", &masked[..cut], s.len())),
        None if window < s.len() => Cow::Owned(format!("{masked}…({} bytes)", s.len())),
        None => masked,
    }
}

fn floor_char_boundary(s: &str, max: usize) -> usize {
    if max >= s.len() {
        return s.len();
    }
    let mut i = max;
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The size of `s` as a JSON string literal (serde_json's escaping).
fn json_str_len(s: &str) -> usize {
    2 + s
        .chars()
        .map(|c| match c {
            '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
            c if (c as u32) < 0x20 => 6,
            c => c.len_utf8(),
        })
        .sum::<usize>()
}

/// The size of `value` as compact JSON.
pub fn json_len(value: &Value) -> usize {
    match value {
        Value::Null => 4,
        Value::Bool(true) => 4,
        Value::Bool(false) => 5,
        Value::Number(n) => n.to_string().len(),
        Value::String(s) => json_str_len(s),
        Value::Array(items) => {
            2 + items.len().saturating_sub(1) + items.iter().map(json_len).sum::<usize>()
        }
        Value::Object(map) => {
            2 + map.len().saturating_sub(1)
                + map
                    .iter()
                    .map(|(k, v)| json_str_len(k) + 1 + json_len(v))
                    .sum::<usize>()
        }
    }
}

#[cfg(test)]
mod tests;
