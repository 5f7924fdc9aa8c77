//! Nothing the user sets widens a managed value: every lockable key, every layer (flag, env, profile), valid
//! and invalid values on both sides, on a managed machine or not (exhaustive), then many keys at once
//! (proptest). And a bad managed value fails closed for its key alone.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::{order, rank};
use crate::settings::inputs::FileValue;
use crate::settings::keys::{KeyDef, Kind, KEYS};
use crate::settings::{managed, resolve, Environment, Error, Inputs, Source};

const ORIGIN: &str = "/etc/thoth/managed.json";

/// Values to try for a kind: valid ones in several spellings, and some that do not check.
fn pool(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Text => &["corp", "mine", ""],
        Kind::Bool => &["true", "false", "yes", "0", "maybe"],
        Kind::Seconds => &["1", "60", "0", "x"],
        Kind::Uid => &["0", "501", "-1"],
        Kind::Url => &[
            "https://a.example.com",
            "http://127.0.0.1:9",
            "http://evil.com",
        ],
        Kind::Email => &["a@example.com", "b@example.org", "nope"],
        Kind::Id => &["acme", "corp", "../x"],
        Kind::Domain => &["example.com", "example.org", "localhost"],
        Kind::Environment => &["dev", "staging", "prod", "production", "nope"],
        Kind::Mode => &[
            "observe",
            "block",
            "step_up",
            "step-up",
            "progressive",
            "nope",
        ],
        Kind::FailureDecision => &["block", "step_up", "allow", "nope"],
        Kind::Pins => &[
            "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
            "bad",
        ],
        Kind::Path => &["/nonexistent/thoth-a", "/nonexistent/thoth-b"],
        Kind::Secret => &["sk-managed", "sk-user"],
    }
}

/// Lockable keys whose value resolve can judge alone (the token files would be read).
fn keys() -> impl Iterator<Item = &'static KeyDef> {
    KEYS.iter()
        .filter(|k| k.lockable && !k.name.ends_with("_FILE"))
}

fn managed_values(pairs: &[(&str, &str)]) -> BTreeMap<String, FileValue> {
    pairs
        .iter()
        .map(|(k, v)| {
            let value = FileValue {
                value: (*v).into(),
                origin: ORIGIN.into(),
            };
            ((*k).to_owned(), value)
        })
        .collect()
}

/// Put a user value in one of the three user layers.
fn set_user(inputs: &mut Inputs, layer: usize, key: &'static KeyDef, value: &str) {
    match layer % 3 {
        0 => {
            inputs.flags.insert(key.name, value.into());
        }
        1 => {
            inputs.env.insert(key.name.into(), value.into());
        }
        _ => {
            inputs.profile.insert(
                key.name.into(),
                FileValue {
                    value: value.into(),
                    origin: "/h/.thoth/config.json".into(),
                },
            );
        }
    }
}

/// The managed value as `check` normalises it, or None when it does not check.
fn normalised(key: &KeyDef, raw: &str) -> Option<String> {
    let raw = crate::settings::Sourced::new(raw.to_owned(), Source::Managed(ORIGIN.into()));
    resolve::check(key, &raw).ok()
}

/// The rule: what a key resolves to is the managed value, a stricter one the user picked (ordered keys),
/// or, for a managed value that does not check, the strictest value (ordered keys) or a refusal.
fn assert_never_widened(inputs: &Inputs, key: &KeyDef, managed_raw: &str) -> Result<(), String> {
    let resolved = resolve::resolve(inputs.clone());
    let expected = normalised(key, managed_raw);
    let settings = match (resolved, &expected) {
        // Refusing is never a widening; but a valid managed value of an unordered key must not make
        // resolution fail on account of the user.
        (Err(Error::ManagedValue { name, .. }), None) if name == key.name => return Ok(()),
        (Err(_), _) => return Ok(()),
        (Ok(s), _) => s,
    };
    let got = settings
        .values
        .get(key.name)
        .ok_or(format!("{} lost its managed value", key.name))?;
    let managed_source = matches!(got.source, Source::Managed(_));
    match (expected, order(key.name)) {
        (None, Some(order)) => {
            if !(managed_source && got.value == order[0]) {
                return Err(format!(
                    "{} = {managed_raw:?} (bad) must fail closed to {}, got {got:?}",
                    key.name, order[0]
                ));
            }
        }
        (None, None) => return Err(format!("{} = {managed_raw:?} (bad) resolved", key.name)),
        (Some(m), _) if managed_source => {
            if !key.is_secret() && got.value != m {
                return Err(format!("{}: {got:?} is not the managed {m}", key.name));
            }
        }
        (Some(m), Some(_)) if rank(key.name, &got.value) < rank(key.name, &m) => {}
        (Some(m), _) => {
            return Err(format!(
                "{}: the user's {got:?} replaced the managed {m}",
                key.name
            ))
        }
    }
    Ok(())
}

#[test]
fn no_user_layer_widens_any_lockable_key() {
    let mut checked = 0;
    for key in keys() {
        for managed_raw in pool(key.kind) {
            for user in pool(key.kind) {
                for layer in 0..3 {
                    for present in [false, true] {
                        let mut inputs = Inputs {
                            managed: managed_values(&[(key.name, managed_raw)]),
                            managed_present: present,
                            ..Inputs::default()
                        };
                        set_user(&mut inputs, layer, key, user);
                        assert_never_widened(&inputs, key, managed_raw).unwrap();
                        checked += 1;
                    }
                }
            }
        }
    }
    assert!(checked > 1000, "{checked}");
}

#[test]
fn a_stricter_user_value_narrows_a_managed_one() {
    let mut i = Inputs {
        managed: managed_values(&[("THOTH_ENFORCEMENT_MODE", "observe"), ("THOTH_ENV", "dev")]),
        managed_present: true,
        ..Inputs::default()
    };
    i.flags.insert("THOTH_ENFORCEMENT_MODE", "step_up".into());
    i.env.insert("THOTH_ENV".into(), "staging".into());
    let s = resolve::resolve(i).unwrap();
    assert_eq!(s.enforcement_mode.value.as_str(), "step_up");
    assert_eq!(s.environment.value, Environment::Staging);
}

#[test]
fn the_users_dev_never_switches_management_off() {
    for layer in 0..3 {
        let mut i = Inputs {
            managed: managed_values(&[("THOTH_TENANT_ID", "corp")]),
            managed_present: true,
            ..Inputs::default()
        };
        set_user(
            &mut i,
            layer,
            crate::settings::keys::get("THOTH_ENV").unwrap(),
            "dev",
        );
        let s = resolve::resolve(i.clone()).unwrap();
        assert_eq!(s.environment.value, Environment::Prod, "layer {layer}");
        assert!(s.require_non_root.value);
        // No managed source at all: dev is the user's to pick.
        i.managed.clear();
        i.managed_present = false;
        let s = resolve::resolve(i).unwrap();
        assert_eq!(s.environment.value, Environment::Dev, "layer {layer}");
    }
}

#[test]
fn one_bad_managed_value_keeps_the_others_and_fails_closed_for_itself() {
    let text = r#"{"THOTH_TENANT_ID": "corp", "THOTH_ENFORCEMENT_MODE": ["observe"],
                   "THOTH_TLS_VERIFY": {"x": 1}, "THOTH_FLEET_ID": "f1"}"#;
    let mut loaded = managed::Loaded::default();
    loaded.add(managed::json_entries(text, ORIGIN).unwrap());
    assert_eq!(loaded.values.len(), 2);
    assert_eq!(
        loaded.bad.keys().collect::<Vec<_>>(),
        ["THOTH_ENFORCEMENT_MODE", "THOTH_TLS_VERIFY"]
    );
    let mut i = Inputs {
        managed: managed_values(&[("THOTH_TENANT_ID", "corp"), ("THOTH_FLEET_ID", "f1")]),
        managed_present: true,
        ..Inputs::default()
    };
    for (key, error) in &loaded.bad {
        i.managed_bad.insert(
            key.clone(),
            FileValue {
                value: error.to_string(),
                origin: error.origin().into(),
            },
        );
    }
    i.flags.insert("THOTH_ENFORCEMENT_MODE", "observe".into());
    i.env.insert("THOTH_TLS_VERIFY".into(), "false".into());
    i.env.insert("THOTH_ENV".into(), "dev".into());
    let s = resolve::resolve(i.clone()).unwrap();
    assert_eq!(s.tenant_id.as_ref().unwrap().value, "corp");
    assert_eq!(s.get("THOTH_FLEET_ID").unwrap().value, "f1");
    assert_eq!(s.enforcement_mode.value.as_str(), "block");
    assert!(s.tls_verify.value);
    assert_eq!(s.managed_problems.len(), 2, "{:?}", s.managed_problems);
    assert!(s.managed_problems[0].contains("THOTH_ENFORCEMENT_MODE"));
    // A bad value with no safe side (a tenant) is refused, naming it: thoth will not guess it.
    i.managed.remove("THOTH_TENANT_ID");
    i.managed_bad.insert(
        "THOTH_TENANT_ID".into(),
        FileValue {
            value: "THOTH_TENANT_ID: array values are not supported".into(),
            origin: ORIGIN.into(),
        },
    );
    i.flags.insert("THOTH_TENANT_ID", "mine".into());
    let err = resolve::resolve(i).unwrap_err().to_string();
    assert!(
        err.contains("THOTH_TENANT_ID") && err.contains(ORIGIN),
        "{err}"
    );
}

/// A random managed source (some keys, some with values that do not check) against random user values in
/// every layer at once.
fn scenario() -> impl Strategy<Value = Vec<(usize, Option<usize>, usize, usize)>> {
    let n = keys().count();
    prop::collection::vec(
        (0..n, prop::option::of(0..8usize), 0..8usize, 0..3usize),
        1..12,
    )
}

proptest! {
    #[test]
    fn many_keys_at_once_never_widen(picks in scenario(), present in any::<bool>(), bad in 0..4usize) {
        let keys: Vec<&KeyDef> = keys().collect();
        let mut inputs = Inputs { managed_present: present, ..Inputs::default() };
        let mut managed = Vec::new();
        for (index, managed_pick, user_pick, layer) in picks {
            let key = keys[index];
            let values = pool(key.kind);
            if let Some(m) = managed_pick {
                if inputs.managed.contains_key(key.name) {
                    continue;
                }
                let raw = values[m % values.len()];
                inputs.managed.extend(managed_values(&[(key.name, raw)]));
                managed.push((key, raw));
            }
            set_user(&mut inputs, layer, key, values[user_pick % values.len()]);
        }
        // One managed key (if any) made unusable at parse time.
        if let Some((key, _)) = managed.get(bad).copied() {
            inputs.managed.remove(key.name);
            inputs.managed_bad.insert(key.name.into(), FileValue { value: format!("{}: bad", key.name), origin: ORIGIN.into() });
            managed.retain(|(k, _)| k.name != key.name);
            if let Ok(s) = resolve::resolve(inputs.clone()) {
                match order(key.name) {
                    Some(order) => prop_assert_eq!(&s.values[key.name].value, order[0]),
                    None => prop_assert!(false, "{} is bad and unordered: must refuse", key.name),
                }
            }
        }
        for (key, raw) in managed {
            prop_assert!(assert_never_widened(&inputs, key, raw).is_ok(), "{:?}", assert_never_widened(&inputs, key, raw));
        }
        if present && !inputs.managed.contains_key("THOTH_ENV") && !inputs.managed_bad.contains_key("THOTH_ENV") {
            if let Ok(s) = resolve::resolve(inputs.clone()) {
                prop_assert_ne!(s.environment.value, Environment::Dev);
            }
        }
    }
}
