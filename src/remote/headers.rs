//! `--header 'Name: value'`: parsed and checked at start, `${env:X}` replaced from the environment and a
//! `thoth-secret:NAME` (the whole value, or its end: `Bearer thoth-secret:github/TOKEN`) from the secret
//! store. Values are secrets (tokens): they are never logged, and errors name the header, not its value.

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("--header {0:?} is not `Name: value`")]
    Shape(String),
    #[error("--header {name}: {problem}")]
    Value { name: String, problem: String },
}

/// `thoth run --url`: `${env:X}` from thoth's environment, `thoth-secret:` references from the store under
/// `thoth_dir` (opened only when a header refers to it).
pub fn parse_for_run(
    headers: &[String],
    thoth_dir: Option<&std::path::Path>,
) -> Result<HeaderMap, Error> {
    let mut store = None;
    parse_with(
        headers,
        |name| std::env::var(name).ok(),
        |reference| {
            if store.is_none() {
                store = Some(crate::secrets::Store::open(thoth_dir).map_err(|e| e.to_string())?);
            }
            let store = store.as_ref().ok_or_else(String::new)?;
            match store.get(reference) {
            Ok(Some(value)) => Ok(value),
            Ok(None) => Err(format!(
                "the secret {}{reference} is not in the store; set it with: thoth secrets set {reference} --from-stdin",
                crate::secrets::REFERENCE_PREFIX
            )),
            Err(err) => Err(err.to_string()),
        }
        },
    )
}

/// Parse every `--header`, `lookup` giving environment variables (`std::env::var` in `thoth run`).
pub fn parse(
    headers: &[String],
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<HeaderMap, Error> {
    parse_with(headers, lookup, |_| {
        Err("thoth-secret: references need the secret store".into())
    })
}

/// `parse`, with `secret` giving the value of a `thoth-secret:` reference (wiped when dropped).
pub fn parse_with(
    headers: &[String],
    lookup: impl Fn(&str) -> Option<String>,
    mut secret: impl FnMut(&str) -> Result<crate::secrets::Value, String>,
) -> Result<HeaderMap, Error> {
    let mut map = HeaderMap::new();
    for header in headers {
        let (name, value) = header
            .split_once(':')
            .ok_or_else(|| Error::Shape(shape_of(header)))?;
        let name = name.trim();
        let header_name =
            HeaderName::from_bytes(name.as_bytes()).map_err(|_| Error::Shape(shape_of(header)))?;
        let problem = |problem| Error::Value {
            name: name.to_owned(),
            problem,
        };
        let mut value: zeroize::Zeroizing<String> =
            substitute(value.trim(), &lookup).map_err(problem)?.into();
        if let Some(at) = value.find(crate::secrets::REFERENCE_PREFIX) {
            let reference = value[at + crate::secrets::REFERENCE_PREFIX.len()..].trim();
            let resolved = secret(reference).map_err(problem)?;
            let mut whole = zeroize::Zeroizing::new(value[..at].to_string());
            whole.push_str(&resolved);
            value = whole;
        }
        let mut value = HeaderValue::from_str(&value).map_err(|_| Error::Value {
            name: name.to_owned(),
            problem:
                "the value holds a character a header may not (a newline, a control character)"
                    .into(),
        })?;
        value.set_sensitive(true);
        map.append(header_name, value);
    }
    Ok(map)
}

/// The name part only: the value may be a token.
fn shape_of(header: &str) -> String {
    match header.split_once(':') {
        Some((name, _)) => format!("{name}: ..."),
        None if header.len() > 40 => format!("{}...", header.chars().take(12).collect::<String>()),
        None => header.to_owned(),
    }
}

/// Replace every `${env:X}` with X's value; an unset X is an error (sending the placeholder would leak intent
/// and fail confusingly at the server).
fn substitute(value: &str, lookup: &impl Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(start) = rest.find("${env:") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 6..];
        let end = after
            .find('}')
            .ok_or_else(|| "`${env:` without its closing `}`".to_string())?;
        let var = &after[..end];
        let found = lookup(var).ok_or_else(|| {
            format!(
                "the environment variable {var} is not set (the value refers to ${{env:{var}}})"
            )
        })?;
        out.push_str(&found);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn env(name: &str) -> Option<String> {
        (name == "TOK").then(|| "s3cret".to_string())
    }

    #[test]
    fn env_placeholders_are_replaced() {
        let map = parse(
            &["Authorization: Bearer ${env:TOK}".into(), "X-A:b".into()],
            env,
        )
        .unwrap();
        assert_eq!(map["authorization"], "Bearer s3cret");
        assert_eq!(map["x-a"], "b");
    }

    #[test]
    fn errors_name_the_header_never_the_value() {
        let err = parse(&["X-Key: ${env:NOPE}".into()], env)
            .unwrap_err()
            .to_string();
        assert!(err.contains("X-Key") && err.contains("NOPE"), "{err}");
        let err = parse(
            &["Bearer-without-colon-and-a-long-token-value-here".into()],
            env,
        )
        .unwrap_err()
        .to_string();
        assert!(!err.contains("token-value-here"), "{err}");
    }

    #[test]
    fn secret_references_are_resolved_whole_or_at_the_end() {
        let store = |name: &str| match name {
            "srv/TOKEN" => Ok(crate::secrets::Value::new("abc".into())),
            other => Err(format!("no {other}")),
        };
        let map = parse_with(
            &[
                "Authorization: Bearer thoth-secret:srv/TOKEN".into(),
                "X-Key: thoth-secret:srv/TOKEN".into(),
            ],
            env,
            store,
        )
        .unwrap();
        assert_eq!(map["authorization"], "Bearer abc");
        assert_eq!(map["x-key"], "abc");
        let err = parse_with(&["X-Key: thoth-secret:srv/NOPE".into()], env, store)
            .unwrap_err()
            .to_string();
        assert!(err.contains("X-Key") && err.contains("srv/NOPE"), "{err}");
        assert!(parse(&["X: thoth-secret:srv/TOKEN".into()], env).is_err());
    }

    proptest! {
        // Whatever the value holds, either a valid header comes out or an error: no panic, no newline sent.
        #[test]
        fn any_value_parses_or_is_refused(value in "\\PC*", raw in proptest::collection::vec(any::<u8>(), 0..40)) {
            let _ = parse(&[format!("X-T: {value}")], env);
            let raw = String::from_utf8_lossy(&raw).into_owned();
            if let Ok(map) = parse(&[format!("X-T: {raw}")], env) {
                for v in map.values() {
                    prop_assert!(!v.as_bytes().contains(&b'\n'));
                }
            }
        }
    }
}
