//! Managed values nothing widens (DESIGN.md §4). For a lockable key MDM sets, a flag, the environment or the
//! `~/.thoth` profile may only pick a STRICTER value where the key has an order (an enforcement mode, an
//! environment, a yes/no safety switch); for every other key the managed value is final. A managed value that
//! cannot be used fails closed for its key alone: the strictest value where there is an order, otherwise the
//! key is refused (thoth will not guess a tenant or a policy). On a managed machine THOTH_ENV from the user
//! may only narrow the default, prod: dev applies only where no managed source exists at all.

use super::check::check;
use super::inputs::Inputs;
use super::keys::KeyDef;
use super::{Error, Source, Sourced};

/// The values of an ordered key, strictest first (normalised as `check::check` returns them).
pub fn order(name: &str) -> Option<&'static [&'static str]> {
    Some(match name {
        "THOTH_ENV" => &["prod", "staging", "dev"],
        "THOTH_ENFORCEMENT_MODE" => &["block", "step_up", "progressive", "observe"],
        "THOTH_ENFORCER_FAILURE_DECISION" => &["block", "step_up", "allow"],
        "THOTH_REQUIRE_NON_ROOT"
        | "THOTH_TLS_VERIFY"
        | "THOTH_TLS_REQUIRE_AWS_BACKED_CERTS"
        | "THOTH_UPDATE_DISABLED" => &["true", "false"],
        "THOTH_ENFORCER_ALLOW_FALLBACK_OVERRIDE" => &["false", "true"],
        _ => return None,
    })
}

/// How strict a normalised value is (0 = strictest); unknown values count as the least strict.
pub fn rank(name: &str, value: &str) -> usize {
    order(name)
        .and_then(|o| o.iter().position(|v| *v == value))
        .unwrap_or(usize::MAX)
}

/// The value the user asked for: flag > env > profile.
fn user_value(key: &KeyDef, inputs: &Inputs) -> Option<Sourced<String>> {
    if let Some(v) = inputs.flags.get(key.name) {
        return Some(Sourced::new(
            v.clone(),
            Source::Flag(key.flag.unwrap_or(key.name)),
        ));
    }
    if let Some(v) = inputs.env.get(key.name) {
        return Some(Sourced::new(v.clone(), Source::Env(key.name)));
    }
    inputs
        .profile
        .get(key.name)
        .map(|v| Sourced::new(v.value.clone(), Source::Profile(v.origin.clone())))
}

/// The checked, winning value of one key. `notes` collects what doctor and health should say: managed
/// values that failed closed. (A user value that would widen is only logged: doctor shows the managed one.)
pub fn pick(
    key: &KeyDef,
    inputs: &Inputs,
    notes: &mut Vec<String>,
) -> Result<Option<Sourced<String>>, Error> {
    let user = user_value(key, inputs);
    let managed = inputs
        .managed
        .get(key.name)
        .map(|v| Sourced::new(v.value.clone(), Source::Managed(v.origin.clone())));
    if !key.lockable {
        return user
            .or(managed)
            .or_else(|| default(key))
            .map(|raw| checked(key, raw))
            .transpose();
    }
    if let Some(bad) = inputs.managed_bad.get(key.name) {
        return fail_closed(key, &bad.origin, bad.value.clone(), notes).map(Some);
    }
    let floor = match managed {
        Some(m) => match check(key, &m) {
            Ok(value) => Sourced::new(value, m.source),
            Err(err) => {
                let Source::Managed(origin) = &m.source else {
                    unreachable!("a managed value has a managed source")
                };
                return fail_closed(key, origin, err.to_string(), notes).map(Some);
            }
        },
        // A managed machine that does not set THOTH_ENV is prod to the user (never dev).
        None if key.name == "THOTH_ENV" && inputs.managed_present => {
            Sourced::new("prod".into(), Source::Default)
        }
        None => {
            return user
                .or_else(|| default(key))
                .map(|raw| checked(key, raw))
                .transpose()
        }
    };
    let Some(user) = user else {
        return Ok(Some(floor));
    };
    // A user value the key cannot order, or one that does not check, never replaces the managed one.
    match check(key, &user) {
        Ok(value) if rank(key.name, &value) < rank(key.name, &floor.value) => {
            Ok(Some(Sourced::new(value, user.source)))
        }
        Ok(value) if value != floor.value => {
            tracing::warn!(key = key.name, value, source = %user.source, managed = %floor.value, managed_source = %floor.source, "ignored: it would widen a managed value");
            Ok(Some(floor))
        }
        _ => Ok(Some(floor)),
    }
}

fn default(key: &KeyDef) -> Option<Sourced<String>> {
    key.default
        .map(|d| Sourced::new(d.to_owned(), Source::Default))
}

fn checked(key: &KeyDef, raw: Sourced<String>) -> Result<Sourced<String>, Error> {
    check(key, &raw).map(|value| Sourced::new(value, raw.source))
}

/// An unusable managed value: the strictest value of an ordered key, else a refusal naming it.
fn fail_closed(
    key: &KeyDef,
    origin: &str,
    problem: String,
    notes: &mut Vec<String>,
) -> Result<Sourced<String>, Error> {
    match order(key.name) {
        Some(order) => {
            let strictest = order[0];
            tracing::warn!(key = key.name, %problem, strictest, "unusable managed value: failing closed");
            notes.push(format!(
                "{problem}; {} fails closed to {strictest}",
                key.name
            ));
            Ok(Sourced::new(
                strictest.to_owned(),
                Source::Managed(format!("{origin} (unusable, failing closed)")),
            ))
        }
        None => Err(Error::ManagedValue {
            name: key.name,
            origin: origin.to_owned(),
            problem,
        }),
    }
}

#[cfg(test)]
mod tests;
