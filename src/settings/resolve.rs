//! Merge the layers into `Settings`: for each declared key, a managed value wins when the key is lockable
//! (a user may only narrow it: `narrow`); otherwise flags > env > profile > default. Every value is checked by its kind (the error names the key,
//! the value and its source), then the typed settings and derived URLs are built.

use std::collections::BTreeMap;
use std::path::PathBuf;

pub use super::check::{check, environment, failure_decision, mode};
use super::keys::{self, KeyDef, KEYS};
use super::{
    credentials, narrow, trust, validate, Environment, Error, FailureDecision, Inputs, Settings,
    Source, Sourced,
};
use crate::mode::Mode;

const DERIVED_FROM: &str = "THOTH_TENANT_ID + THOTH_APEX_DOMAIN";
pub const DEFAULT_HEARTBEAT_SECONDS: u64 = 60;

pub fn resolve(inputs: Inputs) -> Result<Settings, Error> {
    // Broken managed sources fail closed in every environment: what they would lock is unknown.
    if !inputs.managed_problems.is_empty() {
        return Err(Error::Managed {
            problems: inputs.managed_problems.clone(),
        });
    }
    let mut values = BTreeMap::new();
    let mut managed_problems = Vec::new();
    for key in KEYS {
        if let Some(value) = narrow::pick(key, &inputs, &mut managed_problems)? {
            values.insert(key.name, value);
        }
    }
    let unknown_managed_keys = inputs
        .managed
        .keys()
        .filter(|k| keys::get(k).is_none())
        .cloned()
        .collect();

    let environment = typed(&values, "THOTH_ENV", environment)?
        .unwrap_or(Sourced::new(Environment::Prod, Source::Default));
    let is_dev = environment.value == Environment::Dev;
    let require_non_root = typed(&values, "THOTH_REQUIRE_NON_ROOT", validate::boolean)?
        .unwrap_or(Sourced::new(!is_dev, Source::Default));
    let tls_verify = typed(&values, "THOTH_TLS_VERIFY", validate::boolean)?
        .unwrap_or(Sourced::new(true, Source::Default));
    if !tls_verify.value && !is_dev {
        return Err(Error::Refused {
            name: "THOTH_TLS_VERIFY",
            origin: tls_verify.source,
            environment: environment.value.as_str(),
            why: "turning off certificate checks is only allowed with THOTH_ENV=dev",
        });
    }
    let heartbeat_interval_seconds = typed(
        &values,
        "THOTH_HEARTBEAT_INTERVAL_SECONDS",
        validate::seconds,
    )?
    .or(typed(
        &values,
        "THOTH_ENDPOINT_CHECKIN_INTERVAL_SEC",
        validate::seconds,
    )?)
    .unwrap_or(Sourced::new(DEFAULT_HEARTBEAT_SECONDS, Source::Default));

    let tenant_id = values.get("THOTH_TENANT_ID").cloned();
    let apex = values.get("THOTH_APEX_DOMAIN").map(|v| v.value.clone());
    let derive = |explicit: &str, host: &dyn Fn(&str, &str) -> String| -> Option<Sourced<String>> {
        values.get(explicit).cloned().or_else(|| {
            let (tenant, apex) = (tenant_id.as_ref()?, apex.as_ref()?);
            Some(Sourced::new(
                host(&tenant.value, apex),
                Source::Derived(DERIVED_FROM),
            ))
        })
    };
    let enforcer_url = derive("THOTH_ENFORCER_URL", &|t, a| {
        format!("https://enforce.{t}.{a}")
    });
    let govapi_url = derive("THOTH_GOVAPI_URL", &|t, a| format!("https://grid.{t}.{a}"));
    let control_plane_url = derive("", &|t, a| format!("https://{t}.{a}"));

    let thoth_dir = inputs
        .home
        .as_deref()
        .map(crate::platform::paths::thoth_dir);
    let enforcer_credential = credentials::enforcer(
        &values,
        thoth_dir.as_deref(),
        tenant_id.as_ref().map(|t| t.value.as_str()),
        govapi_url.as_ref().map(|u| u.value.as_str()),
    )?;
    let govapi_credential = credentials::govapi(&values, enforcer_credential.as_ref());
    let mut untrusted_files = inputs.untrusted.clone();
    untrusted_files.extend(trust::problems(&trust::files(
        &values,
        thoth_dir.as_deref(),
    )));
    if !untrusted_files.is_empty() {
        if !is_dev {
            return Err(Error::Untrusted {
                environment: environment.value.as_str(),
                problems: untrusted_files,
            });
        }
        tracing::warn!(files = ?untrusted_files, "files other users can change (refused outside THOTH_ENV=dev)");
    }
    // From here on credentials live only in `Secret`s: the text table keeps a mask.
    for (name, value) in values.iter_mut() {
        if keys::get(name).is_some_and(KeyDef::is_secret) {
            value.value = "***".into();
        }
    }

    Ok(Settings {
        log_filter: values
            .get("THOTH_LOG")
            .cloned()
            .unwrap_or(Sourced::new("info".into(), Source::Default)),
        expected_user: values.get("THOTH_EXPECTED_PROXY_USER").cloned(),
        expected_uid: typed(&values, "THOTH_EXPECTED_PROXY_UID", validate::uid)?,
        enforcement_mode: typed(&values, "THOTH_ENFORCEMENT_MODE", mode)?
            .unwrap_or(Sourced::new(Mode::Block, Source::Default)),
        policy_file: values
            .get("THOTH_POLICY_FILE")
            .cloned()
            .map(|v| v.map(PathBuf::from)),
        tls_pins: typed(&values, "THOTH_TLS_PINNED_CERT_SHA256", validate::pins)?
            .map(|p| p.value)
            .unwrap_or_default(),
        failure_decision: typed(&values, "THOTH_ENFORCER_FAILURE_DECISION", failure_decision)?
            .unwrap_or(Sourced::new(FailureDecision::Block, Source::Default)),
        allow_fallback_override: typed(
            &values,
            "THOTH_ENFORCER_ALLOW_FALLBACK_OVERRIDE",
            validate::boolean,
        )?
        .unwrap_or(Sourced::new(false, Source::Default)),
        environment,
        require_non_root,
        tenant_id,
        enforcer_url,
        govapi_url,
        control_plane_url,
        heartbeat_interval_seconds,
        tls_verify,
        enforcer_credential,
        govapi_credential,
        thoth_dir,
        unknown_managed_keys,
        managed_problems,
        untrusted_files,
        values,
        inputs,
    })
}

/// A checked value parsed to its type (the text is already normalised by `check`).
fn typed<T>(
    values: &BTreeMap<&'static str, Sourced<String>>,
    name: &'static str,
    parse: impl Fn(&str) -> Result<T, &'static str>,
) -> Result<Option<Sourced<T>>, Error> {
    let Some(v) = values.get(name) else {
        return Ok(None);
    };
    parse(&v.value)
        .map(|t| Some(Sourced::new(t, v.source.clone())))
        .map_err(|expected| Error::Invalid {
            name,
            value: v.value.clone(),
            origin: v.source.clone(),
            expected: expected.into(),
        })
}
