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

/// Keys whose value is a secret, after [`normalized_key`].
const SECRET_KEYS: &[&str] = &[
    "token",
    "password",
    "passwd",
    "secret",
    "api_key",
    "apikey",
    "authorization",
    "cookie",
];
const SECRET_KEY_SUFFIXES: &[&str] = &["_token", "_key", "_secret", "_password", "_authorization"];

/// Prefixes of well-known API keys (GitHub, GitLab, Slack, OpenAI/Anthropic, Stripe, AWS, Google, npm, PyPI).
const KEY_PREFIXES: &[&str] = &[
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "github_pat_",
    "glpat-",
    "xoxa-",
    "xoxb-",
    "xoxp-",
    "xoxr-",
    "xapp-",
    "sk-",
    "sk_live_",
    "sk_test_",
    "rk_live_",
    "AKIA",
    "ASIA",
    "AIza",
    "npm_",
    "pypi-",
];
/// A prefixed key is at least this long (and holds a digit), so words like `sk-learn` stay.
const KEY_MIN_CHARS: usize = 20;
const HEX_MIN_CHARS: usize = 32;

/// Whether an object key names a secret: `token`, `password`, `secret`, `api_key`, `apikey`, `authorization`,
/// `cookie`, or a name ending in `_token`, `_key`, `_secret`, `_password` — any case, with `-` and camelCase
/// read as `_` (`X-Api-Key`, `accessToken`).
pub fn is_secret_key(key: &str) -> bool {
    let key = normalized_key(key);
    SECRET_KEYS.contains(&key.as_str()) || SECRET_KEY_SUFFIXES.iter().any(|s| key.ends_with(s))
}

/// `accessToken` -> `access_token`, `X-Api-Key` -> `x_api_key`.
fn normalized_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 4);
    let mut after_lower = false;
    for c in key.chars() {
        if c.is_uppercase() {
            if after_lower {
                out.push('_');
            }
            out.extend(c.to_lowercase());
            after_lower = false;
        } else if matches!(c, '-' | ' ' | '.') {
            out.push('_');
            after_lower = false;
        } else {
            out.push(c);
            after_lower = c.is_lowercase() || c.is_ascii_digit();
        }
    }
    out
}

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

/// `s` with every credential-looking part replaced by [`REDACTED`]: `Bearer <token>` / `Basic <base64>`, JWTs
/// (`eyJ….….…`), 32+ hex digits (with or without `0x`), and keys with a well-known prefix (`ghp_`, `sk-`,
/// `AKIA`, …). A string that is only a secret becomes exactly `[REDACTED]`; around an embedded one the rest
/// of the text stays. Heuristic by nature: it looks for shapes, so a git commit hash is masked too.
pub fn mask_secrets(s: &str) -> Cow<'_, str> {
    if s.len() < 8 {
        return Cow::Borrowed(s);
    }
    let mut out = Cow::Borrowed(s);
    if let Some(masked) = mask_auth_schemes(&out) {
        out = Cow::Owned(masked);
    }
    if let Some(masked) = mask_runs(&out, is_jwt_byte, jwt) {
        out = Cow::Owned(masked);
    }
    if let Some(masked) = mask_runs(&out, is_key_byte, prefixed_key) {
        out = Cow::Owned(masked);
    }
    if let Some(masked) = mask_runs(&out, |b| b.is_ascii_alphanumeric(), long_hex) {
        out = Cow::Owned(masked);
    }
    out
}

/// Replace each maximal run of `in_run` bytes (all ASCII, so runs sit on char boundaries) for which
/// `replace` has an answer. None: nothing replaced.
fn mask_runs(
    s: &str,
    in_run: fn(u8) -> bool,
    replace: fn(&str) -> Option<String>,
) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        if !in_run(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && in_run(bytes[i]) {
            i += 1;
        }
        if i - start < 8 {
            continue;
        }
        if let Some(replacement) = replace(&s[start..i]) {
            let o = out.get_or_insert_with(|| String::with_capacity(s.len()));
            o.push_str(&s[copied..start]);
            o.push_str(&replacement);
            copied = i;
        }
    }
    out.map(|mut o| {
        o.push_str(&s[copied..]);
        o
    })
}

fn is_jwt_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.')
}

fn is_key_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-')
}

/// Three (JWS) or five (JWE) base64url segments, the first a JSON header (`eyJ`). A sentence's full stop
/// after the token stays.
fn jwt(run: &str) -> Option<String> {
    let token = run.trim_end_matches('.');
    let parts: Vec<&str> = token.split('.').collect();
    let signed_or_encrypted = parts.len() == 3 || parts.len() == 5;
    if !signed_or_encrypted
        || parts[0].len() < 10
        || !parts[0].starts_with("eyJ")
        || parts[1].is_empty()
    {
        return None;
    }
    Some(format!("{REDACTED}{}", &run[token.len()..]))
}

fn prefixed_key(run: &str) -> Option<String> {
    let prefixed = run.len() >= KEY_MIN_CHARS
        && KEY_PREFIXES.iter().any(|p| run.starts_with(p))
        && run.bytes().any(|b| b.is_ascii_digit());
    prefixed.then(|| REDACTED.to_owned())
}

fn long_hex(run: &str) -> Option<String> {
    let digits = run
        .strip_prefix("0x")
        .or_else(|| run.strip_prefix("0X"))
        .unwrap_or(run);
    let hex = digits.len() >= HEX_MIN_CHARS && digits.bytes().all(|b| b.is_ascii_hexdigit());
    hex.then(|| REDACTED.to_owned())
}

#[derive(Clone, Copy)]
enum Scheme {
    Bearer,
    Basic,
}

/// `Bearer <token>` and `Basic <base64>` (the scheme word at a word start, any case): the scheme and its
/// credential become one [`REDACTED`].
fn mask_auth_schemes(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut i = 0;
    while i < b.len() {
        let at_word_start = i == 0 || !b[i - 1].is_ascii_alphanumeric();
        let scheme = if !at_word_start {
            None
        } else if starts_with_ignore_case(&b[i..], b"bearer") {
            Some((6, Scheme::Bearer))
        } else if starts_with_ignore_case(&b[i..], b"basic") {
            Some((5, Scheme::Basic))
        } else {
            None
        };
        if let Some((len, scheme)) = scheme {
            let mut j = i + len;
            let gap = j;
            while j < b.len() && matches!(b[j], b' ' | b'\t') {
                j += 1;
            }
            let token_start = j;
            while j < b.len() && is_token68_byte(b[j]) {
                j += 1;
            }
            if j > gap && token_start > gap && is_credential(&s[token_start..j], scheme) {
                let o = out.get_or_insert_with(|| String::with_capacity(s.len()));
                o.push_str(&s[copied..i]);
                o.push_str(REDACTED);
                copied = j;
                i = j;
                continue;
            }
        }
        i += 1;
    }
    out.map(|mut o| {
        o.push_str(&s[copied..]);
        o
    })
}

fn starts_with_ignore_case(haystack: &[u8], word: &[u8]) -> bool {
    haystack.len() >= word.len() && haystack[..word.len()].eq_ignore_ascii_case(word)
}

/// RFC 7235's token68 characters.
fn is_token68_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/' | b'=')
}

/// Whether the word after `Bearer`/`Basic` looks like a credential rather than prose ("Bearer of bad news",
/// "basic introduction"): long enough, and with a digit or mixed case; Basic's is padded base64.
fn is_credential(token: &str, scheme: Scheme) -> bool {
    let digit = token.bytes().any(|b| b.is_ascii_digit());
    let mixed = token.bytes().any(|b| b.is_ascii_uppercase())
        && token.bytes().any(|b| b.is_ascii_lowercase());
    match scheme {
        Scheme::Bearer => token.len() >= 16 && (digit || (mixed && token.len() >= 24)),
        Scheme::Basic => {
            token.len() >= 8
                && token.len().is_multiple_of(4)
                && token
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
                && (digit || mixed)
        }
    }
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
