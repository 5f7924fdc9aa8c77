//! Property tests: every spelling of a secret name, and every credential shape embedded anywhere in nested
//! JSON, is gone from the redacted copy.

use proptest::prelude::*;
use serde_json::{json, Value};

use super::*;

/// The secret names of issue 12 §5, as words.
const TERMS: &[&[&str]] = &[
    &["password"],
    &["passwd"],
    &["pwd"],
    &["pass"],
    &["passphrase"],
    &["secret"],
    &["secret", "key"],
    &["token"],
    &["api", "key"],
    &["auth"],
    &["authorization"],
    &["credential"],
    &["credentials"],
    &["private", "key"],
    &["access", "key"],
    &["client", "secret"],
    &["cookie"],
    &["session"],
];
const PREFIXES: &[&str] = &[
    "my", "db", "user", "x", "aws", "github", "service", "refresh", "root",
];
const SUFFIXES: &[&str] = &["value", "id", "hash", "b64", "data"];

#[derive(Debug, Clone, Copy)]
enum Case {
    Lower,
    Upper,
    Title,
}

fn cased(word: &str, case: Case) -> String {
    match case {
        Case::Lower => word.to_owned(),
        Case::Upper => word.to_uppercase(),
        Case::Title => {
            let mut c = word.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect())
                .unwrap_or_default()
        }
    }
}

/// A secret name in any case and with any separator, with or without words around it.
fn secret_key() -> impl Strategy<Value = String> {
    (
        prop::sample::select(TERMS),
        prop::option::of(prop::sample::select(PREFIXES)),
        prop::option::of(prop::sample::select(SUFFIXES)),
        prop::sample::select(&["_", "-", ".", " ", ""][..]),
        prop::sample::select(&[Case::Lower, Case::Upper, Case::Title][..]),
    )
        .prop_map(|(term, prefix, suffix, sep, case)| {
            let mut words: Vec<&str> = prefix.into_iter().collect();
            words.extend_from_slice(term);
            words.extend(suffix);
            if sep.is_empty() {
                // camelCase (or PascalCase): the separator is the capital letter.
                words
                    .iter()
                    .enumerate()
                    .map(|(i, w)| match (i, case) {
                        (0, Case::Lower) => w.to_string(),
                        _ => cased(w, Case::Title),
                    })
                    .collect()
            } else {
                words
                    .iter()
                    .map(|w| cased(w, case))
                    .collect::<Vec<_>>()
                    .join(sep)
            }
        })
}

fn alnum(len: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::sample::select(
            &b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"[..],
        ),
        len,
    )
    .prop_map(|b| String::from_utf8(b).unwrap())
}

fn upper_alnum(len: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::sample::select(&b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"[..]),
        len,
    )
    .prop_map(|b| String::from_utf8(b).unwrap())
}

/// (text holding a credential, the part that must never be recorded).
fn credential() -> impl Strategy<Value = (String, String)> {
    let same = |s: String| (s.clone(), s);
    prop_oneof![
        (
            prop::sample::select(&["ghp_", "gho_", "ghs_", "ghu_", "ghr_"][..]),
            alnum(36..=36)
        )
            .prop_map(move |(p, t)| same(format!("{p}{t}"))),
        (alnum(22..=22), alnum(59..=59))
            .prop_map(move |(a, b)| same(format!("github_pat_{a}_{b}"))),
        (
            prop::sample::select(&["xoxb", "xoxp", "xoxa", "xoxr", "xoxs"][..]),
            1_000_000_000u64..9_999_999_999,
            alnum(24..=24)
        )
            .prop_map(move |(p, n, t)| same(format!("{p}-{n}-{n}-{t}"))),
        (prop::sample::select(&["AKIA", "ASIA"][..]), upper_alnum(16))
            .prop_map(move |(p, t)| same(format!("{p}{t}"))),
        alnum(48..=48).prop_map(move |t| same(format!("sk-{t}"))),
        alnum(40..=60).prop_map(move |t| same(format!("sk-proj-{t}"))),
        alnum(40..=90).prop_map(move |t| same(format!("sk-ant-api03-{t}"))),
        (alnum(10..=30), alnum(10..=40), alnum(10..=40))
            .prop_map(move |(a, b, c)| same(format!("eyJ{a}.{b}.{c}"))),
        (
            alnum(16..=40),
            prop::sample::select(&["Bearer", "bearer", "BEARER"][..])
        )
            .prop_map(|(t, scheme)| (format!("{scheme} {t}9"), format!("{t}9"))),
        prop::collection::vec(alnum(64..=64), 1..6).prop_map(|lines| {
            let body = lines.join("\n");
            (
                format!("-----BEGIN RSA PRIVATE KEY-----\n{body}\n-----END RSA PRIVATE KEY-----"),
                body,
            )
        }),
        (
            prop::sample::select(
                &["postgres", "mysql", "redis", "https", "mongodb+srv", "amqp"][..]
            ),
            alnum(8..=24)
        )
            .prop_map(|(scheme, pw)| (
                format!("{scheme}://alice:{pw}@db.example.com:5432/app"),
                pw
            )),
        (
            secret_key(),
            alnum(8..=24),
            prop::sample::select(&["=", ": ", " = ", "=\"", "\": \""][..])
        )
            .prop_map(|(key, v, sep)| {
                let close = if sep.contains('"') { "\"" } else { "" };
                (format!("{key}{sep}{v}{close}"), v)
            }),
        (secret_key(), alnum(8..=24))
            .prop_map(|(key, v)| (format!("--{} {v}", key.replace([' ', '.'], "-")), v)),
    ]
}

/// `leaf` placed at a random depth in objects and arrays under keys that are not secret.
fn nest(leaf: Value, path: &[(bool, String)]) -> Value {
    path.iter().rev().fold(leaf, |inner, (in_array, key)| {
        if *in_array {
            json!(["before", inner, 7])
        } else {
            json!({ key.clone(): inner, "plain": "text" })
        }
    })
}

fn path() -> impl Strategy<Value = Vec<(bool, String)>> {
    prop::collection::vec(
        (
            any::<bool>(),
            prop::sample::select(&["args", "input", "q", "options", "body", "env"][..])
                .prop_map(str::to_owned),
        ),
        0..6,
    )
}

fn recorded(value: &Value) -> String {
    serde_json::to_string(&redact(value)).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn every_spelling_of_a_secret_name_is_secret(key in secret_key()) {
        prop_assert!(is_secret_key(&key), "{key:?} is not read as a secret name");
    }

    #[test]
    fn values_under_secret_names_never_reach_the_record(
        key in secret_key(),
        value in alnum(6..=30),
        path in path(),
        as_object in any::<bool>(),
    ) {
        let secret = format!("v{value}");
        let leaf = if as_object { json!({"inner": [secret.clone()]}) } else { json!(secret.clone()) };
        let doc = nest(json!({ key.clone(): leaf }), &path);
        let out = recorded(&doc);
        prop_assert!(!out.contains(&secret), "{key:?}: {out}");
    }

    #[test]
    fn credentials_embedded_in_text_never_reach_the_record(
        (text, secret) in credential(),
        before in "[a-z ]{0,20}",
        after in "[a-z ]{0,20}",
        sep in prop::sample::select(&[" ", "\n", "(", "'", "\"", ", "][..]),
        path in path(),
    ) {
        let embedded = format!("{before}{sep}{text}{sep}{after}");
        let out = recorded(&nest(json!({"note": embedded}), &path));
        prop_assert!(!out.contains(&secret), "{embedded:?} -> {out}");
        prop_assert!(looks_like_secret(&embedded), "{embedded:?}");
        // Alone, the whole string is the secret.
        prop_assert!(!recorded(&json!([text])).contains(&secret));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    /// Any text, with the characters the passes look for sprinkled in: no panic, and masking twice changes
    /// nothing more.
    #[test]
    fn masking_any_text_never_panics(parts in prop::collection::vec(prop_oneof![
        "\\PC{0,8}",
        prop::sample::select(&["://", "@", ":", "=", "--", "\"", "'", " ", "-----BEGIN ", "-----END ", "-----",
            "é", "password", "Bearer ", "sk-", "ghp_", "\n"][..]).prop_map(str::to_owned),
    ], 0..24)) {
        let text: String = parts.concat();
        let once = mask_secrets(&text).into_owned();
        prop_assert_eq!(mask_secrets(&once).into_owned(), once.clone());
        let _ = clip(&text);
    }
}

#[test]
fn ordinary_text_does_not_look_like_a_secret() {
    for text in [
        "hello world",
        "the session ended",
        "passport number unknown",
        "https://example.com/a?b=c",
        "ssh://git@github.com/org/repo",
        "max_tokens=100",
    ] {
        assert!(!looks_like_secret(text), "{text}");
    }
    assert!(looks_like_secret("DATABASE_URL=postgres://u:hunter22@h/db"));
}
