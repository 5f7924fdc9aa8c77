//! Check one raw value by its key's kind and normalise it (the error names the key, the value and its
//! source). A leaf of `settings`: `resolve` and `narrow` both check with it.

use super::keys::{KeyDef, Kind};
use super::{validate, Environment, Error, FailureDecision, Sourced};
use crate::mode::Mode;

/// Check a raw value by its key's kind; returns the normalised text.
pub fn check(key: &KeyDef, raw: &Sourced<String>) -> Result<String, Error> {
    let v = raw.value.trim();
    let result: Result<String, String> = match key.kind {
        Kind::Text | Kind::Path | Kind::Secret => (!v.is_empty())
            .then(|| v.to_owned())
            .ok_or_else(|| "a value".into()),
        Kind::Bool => validate::boolean(v)
            .map(|b| b.to_string())
            .map_err(Into::into),
        Kind::Seconds => validate::seconds(v)
            .map(|n| n.to_string())
            .map_err(Into::into),
        Kind::Uid => validate::uid(v).map(|n| n.to_string()).map_err(Into::into),
        Kind::Url => validate::url(v).map_err(Into::into),
        Kind::Email => validate::email(v).map_err(Into::into),
        Kind::Id => validate::id(v).map_err(Into::into),
        Kind::Domain => validate::domain(v).map_err(Into::into),
        Kind::Environment => environment(v)
            .map(|e| e.as_str().to_owned())
            .map_err(Into::into),
        Kind::Mode => mode(v).map(|m| m.as_str().to_owned()).map_err(Into::into),
        Kind::FailureDecision => failure_decision(v)
            .map(|_| v.to_ascii_lowercase().replace('-', "_"))
            .map_err(Into::into),
        Kind::Pins => validate::pins(v).map(|p| p.join(",")).map_err(Into::into),
    };
    result.map_err(|expected| Error::Invalid {
        name: key.name,
        value: if key.is_secret() {
            "***".into()
        } else {
            raw.value.clone()
        },
        origin: raw.source.clone(),
        expected,
    })
}

pub fn environment(v: &str) -> Result<Environment, &'static str> {
    match v.trim().to_ascii_lowercase().as_str() {
        "dev" | "development" => Ok(Environment::Dev),
        "staging" => Ok(Environment::Staging),
        "prod" | "production" => Ok(Environment::Prod),
        _ => Err("dev, staging or prod"),
    }
}

pub fn mode(v: &str) -> Result<Mode, &'static str> {
    match v.trim().to_ascii_lowercase().as_str() {
        "observe" => Ok(Mode::Observe),
        "block" => Ok(Mode::Block),
        "step_up" | "step-up" => Ok(Mode::StepUp),
        "progressive" => Ok(Mode::Progressive),
        _ => Err("observe, block, step_up or progressive"),
    }
}

pub fn failure_decision(v: &str) -> Result<FailureDecision, &'static str> {
    match v.trim().to_ascii_lowercase().as_str() {
        "block" => Ok(FailureDecision::Block),
        "step_up" | "step-up" => Ok(FailureDecision::StepUp),
        "allow" => Ok(FailureDecision::Allow),
        _ => Err("block, step_up or allow"),
    }
}
