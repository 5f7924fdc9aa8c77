//! Credential shapes inside strings ([`mask_secrets`]): what a secret looks like when it is not under a
//! secret-named key. Pure functions over text; every pass returns None when it changed nothing.

use std::borrow::Cow;

use super::keys::is_secret_key;
use super::REDACTED;

/// A well-known key format: its prefix and how much must follow it.
struct KeyShape {
    prefix: &'static str,
    min_tail: usize,
    /// Shorter tails (under 32) need a digit, so words like `sk-learn-pipeline` stay.
    digit_if_short: bool,
    /// AWS access key ids: exactly 20 characters, capitals and digits.
    upper_20: bool,
}

const fn shape(prefix: &'static str, min_tail: usize) -> KeyShape {
    KeyShape {
        prefix,
        min_tail,
        digit_if_short: false,
        upper_20: false,
    }
}

const fn generic(prefix: &'static str, min_tail: usize) -> KeyShape {
    KeyShape {
        digit_if_short: true,
        ..shape(prefix, min_tail)
    }
}

const fn aws(prefix: &'static str) -> KeyShape {
    KeyShape {
        upper_20: true,
        ..shape(prefix, 16)
    }
}

/// GitHub, GitLab, Slack, OpenAI/Anthropic, Stripe, AWS, Google, npm, PyPI.
const KEY_SHAPES: &[KeyShape] = &[
    shape("ghp_", 20),
    shape("gho_", 20),
    shape("ghu_", 20),
    shape("ghs_", 20),
    shape("ghr_", 20),
    shape("github_pat_", 20),
    shape("glpat-", 16),
    shape("xoxa-", 10),
    shape("xoxb-", 10),
    shape("xoxp-", 10),
    shape("xoxr-", 10),
    shape("xoxs-", 10),
    shape("xoxo-", 10),
    shape("xoxe-", 10),
    shape("xapp-", 10),
    shape("sk-ant-", 16),
    shape("sk-proj-", 16),
    generic("sk-", 17),
    generic("sk_live_", 12),
    generic("sk_test_", 12),
    generic("rk_live_", 12),
    aws("AKIA"),
    aws("ASIA"),
    aws("AGPA"),
    aws("AIDA"),
    aws("AROA"),
    shape("AIza", 30),
    shape("npm_", 30),
    shape("pypi-", 16),
];
const HEX_MIN_CHARS: usize = 32;

/// `s` with every credential-looking part replaced by [`REDACTED`]: `Bearer <token>` / `Basic <base64>`, PEM
/// blocks, the password of a URL or DSN (`postgres://u:[REDACTED]@h/db`), JWTs (`eyJ….….…`), 32+ hex digits
/// (with or without `0x`), keys with a well-known shape (GitHub `ghp_`/`gho_`/`ghs_`/`github_pat_`, Slack
/// `xox?-`, AWS `AKIA`/`ASIA`, OpenAI `sk-`/`sk-proj-`, Anthropic `sk-ant-`, …), and the value after a secret
/// name (`password=…`, `"api_key": "…"`, `--token …`, `Cookie: …`). A string that is only a secret becomes
/// exactly `[REDACTED]`; around an embedded one the rest of the text stays. Heuristic by nature: it looks for
/// shapes, so a git commit hash is masked too.
pub fn mask_secrets(s: &str) -> Cow<'_, str> {
    if s.len() < 5 {
        return Cow::Borrowed(s);
    }
    let passes: [fn(&str) -> Option<String>; 7] = [
        mask_pem,
        mask_auth_schemes,
        mask_url_passwords,
        |s| mask_runs(s, is_jwt_byte, jwt),
        |s| mask_runs(s, is_key_byte, prefixed_key),
        |s| mask_runs(s, |b| b.is_ascii_alphanumeric(), long_hex),
        mask_named_values,
    ];
    let mut out = Cow::Borrowed(s);
    for pass in passes {
        if let Some(masked) = pass(&out) {
            out = Cow::Owned(masked);
        }
    }
    out
}

/// Whether `value` holds anything [`mask_secrets`] would mask.
pub fn looks_like_secret(value: &str) -> bool {
    matches!(mask_secrets(value), Cow::Owned(ref masked) if masked != value)
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
    let shaped = KEY_SHAPES.iter().any(|shape| {
        run.strip_prefix(shape.prefix).is_some_and(|tail| {
            tail.len() >= shape.min_tail
                && (!shape.upper_20
                    || (run.len() == 20
                        && tail
                            .bytes()
                            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())))
                && (tail.len() >= 32
                    || !shape.digit_if_short
                    || tail.bytes().any(|b| b.is_ascii_digit()))
        })
    });
    shaped.then(|| REDACTED.to_owned())
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

/// PEM blocks (`-----BEGIN <label>-----` … `-----END <label>-----`), whatever the label; a block whose end
/// is missing (cut) is masked to the end of the text.
fn mask_pem(s: &str) -> Option<String> {
    const BEGIN: &str = "-----BEGIN ";
    const END: &str = "-----END ";
    if !s.contains(BEGIN) {
        return None;
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find(BEGIN) {
        out.push_str(&rest[..at]);
        out.push_str(REDACTED);
        let block = &rest[at + BEGIN.len()..];
        rest = match block.find(END) {
            Some(end) => {
                let after = &block[end + END.len()..];
                // Past the end label's closing dashes.
                match after.find("-----") {
                    Some(close) => &after[close + 5..],
                    None => "",
                }
            }
            None => "",
        };
    }
    out.push_str(rest);
    Some(out)
}

/// The password in a URL's user info: `scheme://user:PASSWORD@host` (a DSN too); a user part alone that is a
/// credential (`https://<token>@github.com`) is masked whole.
fn mask_url_passwords(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut from = 0;
    while let Some(found) = s[from..].find("://") {
        let sep = from + found;
        let authority_start = sep + 3;
        from = authority_start;
        let scheme_ok = sep > 0 && b[sep - 1].is_ascii_alphanumeric();
        let authority_len = s[authority_start..]
            .find(|c: char| {
                matches!(c, '/' | '?' | '#' | '"' | '\'' | '<' | '>') || c.is_whitespace()
            })
            .unwrap_or(s.len() - authority_start);
        let authority = &s[authority_start..authority_start + authority_len];
        let Some(at) = authority.rfind('@') else {
            continue;
        };
        if !scheme_ok || at == 0 {
            continue;
        }
        let userinfo = &authority[..at];
        let (start, end) = match userinfo.find(':') {
            Some(colon) if colon + 1 < userinfo.len() => {
                (authority_start + colon + 1, authority_start + at)
            }
            Some(_) => continue,
            None if userinfo.len() >= 16 && userinfo.bytes().any(|b| b.is_ascii_digit()) => {
                (authority_start, authority_start + at)
            }
            None => continue,
        };
        if s[start..end].starts_with(REDACTED) {
            continue;
        }
        let o = out.get_or_insert_with(|| String::with_capacity(s.len()));
        o.push_str(&s[copied..start]);
        o.push_str(REDACTED);
        copied = end;
        from = authority_start + authority_len;
    }
    out.map(|mut o| {
        o.push_str(&s[copied..]);
        o
    })
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.')
}

/// The value after a secret name: `password=…` / `DB_PASSWORD=…` (to a space, `;`, `&`, `,` or quote),
/// `"client_secret": "…"` and `'token': '…'` (the quoted text), `Cookie: …` / `Authorization: …` (to the line's
/// end), `--api-key …` / `--password=…` (one word).
fn mask_named_values(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut i = 0;
    while i < b.len() {
        if !is_name_byte(b[i]) || (i > 0 && is_name_byte(b[i - 1])) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && is_name_byte(b[i]) {
            i += 1;
        }
        let name = &s[start..i];
        let flag = name.starts_with("--");
        let mut j = i;
        if j < b.len() && matches!(b[j], b'"' | b'\'') {
            j += 1;
        }
        while j < b.len() && matches!(b[j], b' ' | b'\t') {
            j += 1;
        }
        let sep = match b.get(j) {
            Some(b'=') => Some(b'='),
            Some(b':') if !s[j..].starts_with("://") => Some(b':'),
            _ if flag && j > i => Some(b' '),
            _ => None,
        };
        let Some(sep) = sep else {
            continue;
        };
        if sep != b' ' {
            j += 1;
        }
        while j < b.len() && matches!(b[j], b' ' | b'\t') {
            j += 1;
        }
        let quote = b.get(j).copied().filter(|q| matches!(q, b'"' | b'\''));
        let value_start = j + usize::from(quote.is_some());
        let rest = &s[value_start..];
        let value_len = match (quote, sep) {
            (Some(q), _) => rest.find(q as char).unwrap_or(rest.len()),
            (None, b':') => rest
                .find(['\n', '\r', '"', '\'', ',', '}'])
                .unwrap_or(rest.len()),
            (None, _) => rest
                .find(|c: char| {
                    c.is_whitespace() || matches!(c, ';' | '&' | ',' | '"' | '\'' | ')' | '}')
                })
                .unwrap_or(rest.len()),
        };
        let value = rest[..value_len].trim_end();
        let value = if quote.is_none() {
            value.trim_end_matches('.')
        } else {
            value
        };
        if value.is_empty() || value.starts_with(REDACTED) || !names_a_secret(s, start, i) {
            continue;
        }
        let o = out.get_or_insert_with(|| String::with_capacity(s.len()));
        o.push_str(&s[copied..value_start]);
        o.push_str(REDACTED);
        copied = value_start + value.len();
        i = copied;
    }
    out.map(|mut o| {
        o.push_str(&s[copied..]);
        o
    })
}

/// Whether the name at `s[start..end]` is a secret name, alone or with the one or two words before it
/// (`client secret=…`, `private key value: …`).
fn names_a_secret(s: &str, start: usize, end: usize) -> bool {
    if is_secret_key(s[start..end].trim_start_matches('-')) {
        return true;
    }
    let mut from = start;
    for _ in 0..2 {
        let before = &s[..from];
        let Some(gap) = before.strip_suffix(' ') else {
            return false;
        };
        let word_start = gap
            .rfind(|c: char| !c.is_ascii_alphanumeric() && !matches!(c, '_' | '-' | '.'))
            .map_or(0, |i| i + gap[i..].chars().next().map_or(1, char::len_utf8));
        if word_start == gap.len() {
            return false;
        }
        from = word_start;
        if is_secret_key(&s[from..end]) {
            return true;
        }
    }
    false
}
