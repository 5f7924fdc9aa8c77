//! Precedence, validation, derivation and credential-chain tests over synthetic layers.

use std::collections::BTreeMap;

use super::inputs::FileValue;
use super::*;

fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn files(pairs: &[(&str, &str)], origin: &str) -> BTreeMap<String, FileValue> {
    pairs
        .iter()
        .map(|(k, v)| {
            (
                k.to_string(),
                FileValue {
                    value: v.to_string(),
                    origin: origin.into(),
                },
            )
        })
        .collect()
}

fn inputs() -> Inputs {
    Inputs::default()
}

#[test]
fn defaults_are_prod_block_and_non_root() {
    let s = resolve::resolve(inputs()).unwrap();
    assert_eq!(
        s.environment,
        Sourced::new(Environment::Prod, Source::Default)
    );
    assert_eq!(
        s.enforcement_mode,
        Sourced::new(Mode::Block, Source::Default)
    );
    assert!(s.require_non_root.value);
    assert_eq!(s.heartbeat_interval_seconds.value, 60);
    assert!(s.tls_verify.value);
    assert_eq!(s.failure_decision.value, FailureDecision::Block);
    assert!(s.enforcer_url.is_none() && s.enforcer_credential.is_none());
}

#[test]
fn profile_then_env_then_flag_each_override_the_one_before() {
    let mut i = inputs();
    i.profile = files(
        &[("THOTH_TENANT_ID", "from-profile")],
        "/h/.thoth/config.json",
    );
    let s = resolve::resolve(i.clone()).unwrap();
    assert_eq!(
        s.tenant_id.unwrap(),
        Sourced::new(
            "from-profile".into(),
            Source::Profile("/h/.thoth/config.json".into())
        )
    );
    i.env = env(&[("THOTH_TENANT_ID", "from-env")]);
    let s = resolve::resolve(i.clone()).unwrap();
    assert_eq!(
        s.tenant_id.unwrap(),
        Sourced::new("from-env".into(), Source::Env("THOTH_TENANT_ID"))
    );
    i.flags.insert("THOTH_TENANT_ID", "from-flag".into());
    let s = resolve::resolve(i).unwrap();
    assert_eq!(
        s.tenant_id.unwrap(),
        Sourced::new("from-flag".into(), Source::Flag("--tenant-id"))
    );
}

#[test]
fn a_managed_value_beats_conflicting_env_and_flag() {
    let mut i = inputs();
    i.managed = files(
        &[
            ("THOTH_ENFORCEMENT_MODE", "block"),
            ("THOTH_ENFORCER_URL", "https://enforce.corp.example.com"),
        ],
        "/Library/Managed Preferences/com.atensecurity.thoth.plist",
    );
    i.env = env(&[
        ("THOTH_ENFORCEMENT_MODE", "observe"),
        ("THOTH_ENFORCER_URL", "https://evil.example.com"),
    ]);
    i.flags.insert("THOTH_ENFORCEMENT_MODE", "observe".into());
    let s = resolve::resolve(i).unwrap();
    assert_eq!(s.enforcement_mode.value, Mode::Block);
    assert_eq!(
        s.enforcement_mode.source,
        Source::Managed("/Library/Managed Preferences/com.atensecurity.thoth.plist".into())
    );
    assert_eq!(
        s.enforcer_url.unwrap().value,
        "https://enforce.corp.example.com"
    );
}

#[test]
fn an_unlockable_managed_value_is_only_a_default() {
    let mut i = inputs();
    i.managed = files(&[("THOTH_LOG", "warn")], "/etc/thoth/managed.json");
    assert_eq!(
        resolve::resolve(i.clone()).unwrap().log_filter.value,
        "warn"
    );
    i.flags.insert("THOTH_LOG", "debug".into());
    assert_eq!(
        resolve::resolve(i).unwrap().log_filter,
        Sourced::new("debug".into(), Source::Flag("--log-level"))
    );
}

#[test]
fn dev_relaxes_root_and_the_explicit_variable_wins() {
    let mut i = inputs();
    i.env = env(&[("THOTH_ENV", "dev")]);
    assert!(!resolve::resolve(i.clone()).unwrap().require_non_root.value);
    i.env = env(&[("THOTH_ENV", "prod"), ("THOTH_REQUIRE_NON_ROOT", "false")]);
    let s = resolve::resolve(i).unwrap();
    assert_eq!(
        s.require_non_root,
        Sourced::new(false, Source::Env("THOTH_REQUIRE_NON_ROOT"))
    );
}

#[test]
fn urls_derive_from_tenant_and_apex_unless_explicit() {
    let mut i = inputs();
    i.env = env(&[
        ("THOTH_TENANT_ID", "acme"),
        ("THOTH_APEX_DOMAIN", "Thoth.Example.com"),
    ]);
    let s = resolve::resolve(i.clone()).unwrap();
    assert_eq!(
        s.enforcer_url.as_ref().unwrap().value,
        "https://enforce.acme.thoth.example.com"
    );
    assert!(matches!(s.enforcer_url.unwrap().source, Source::Derived(_)));
    assert_eq!(
        s.govapi_url.unwrap().value,
        "https://grid.acme.thoth.example.com"
    );
    assert_eq!(
        s.control_plane_url.unwrap().value,
        "https://acme.thoth.example.com"
    );
    i.env
        .insert("THOTH_ENFORCER_URL".into(), "http://127.0.0.1:9443/".into());
    let s = resolve::resolve(i).unwrap();
    assert_eq!(
        s.enforcer_url.unwrap(),
        Sourced::new(
            "http://127.0.0.1:9443".into(),
            Source::Env("THOTH_ENFORCER_URL")
        )
    );
}

#[test]
fn invalid_values_name_the_variable_and_where_it_came_from() {
    for (name, value, expected) in [
        ("THOTH_USER_ID", "bob", "email"),
        ("THOTH_TENANT_ID", "../x", "letters"),
        ("THOTH_FLEET_ID", "a b", "letters"),
        (
            "THOTH_ENFORCER_URL",
            "http://enforce.example.com",
            "https://",
        ),
        ("THOTH_ENV", "qa", "dev, staging or prod"),
        (
            "THOTH_ENFORCER_FAILURE_DECISION",
            "maybe",
            "block, step_up or allow",
        ),
        ("THOTH_TLS_PINNED_CERT_SHA256", "sha256:abc", "64 hex"),
        ("THOTH_HEARTBEAT_INTERVAL_SECONDS", "soon", "whole number"),
    ] {
        let mut i = inputs();
        i.env = env(&[(name, value)]);
        let err = resolve::resolve(i).unwrap_err().to_string();
        assert!(
            err.contains(name) && err.contains("env") && err.contains(expected),
            "{name}: {err}"
        );
    }
}

#[test]
fn a_bad_managed_value_points_at_the_administrator() {
    let mut i = inputs();
    i.managed = files(
        &[("THOTH_USER_ID", "not-an-email")],
        "HKLM\\SOFTWARE\\Policies\\AtenSecurity\\Thoth",
    );
    let err = resolve::resolve(i).unwrap_err();
    assert!(err.to_string().contains("managed HKLM"), "{err}");
    assert!(crate::hint::Hint::hint(&err)
        .unwrap()
        .contains("administrator"));
}

#[test]
fn secrets_are_masked_in_errors_and_display() {
    let mut i = inputs();
    i.env = env(&[("THOTH_API_KEY", "sk-live-123")]);
    let s = resolve::resolve(i).unwrap();
    assert_eq!(s.display("THOTH_API_KEY").unwrap(), "***");
    assert!(
        !format!("{s:?}").contains("sk-live-123"),
        "Debug of Settings leaks the key: {s:?}"
    );
    assert_eq!(
        format!("{:?}", s.enforcer_credential.unwrap().value),
        "ApiKey(***)"
    );
}

#[test]
fn tls_verify_off_is_refused_outside_dev() {
    let mut i = inputs();
    i.env = env(&[("THOTH_TLS_VERIFY", "false")]);
    assert!(resolve::resolve(i.clone())
        .unwrap_err()
        .to_string()
        .contains("THOTH_TLS_VERIFY"));
    i.env.insert("THOTH_ENV".into(), "dev".into());
    assert!(!resolve::resolve(i).unwrap().tls_verify.value);
}

#[test]
fn both_heartbeat_spellings_work_and_the_new_one_wins() {
    let mut i = inputs();
    i.env = env(&[("THOTH_ENDPOINT_CHECKIN_INTERVAL_SEC", "30")]);
    assert_eq!(
        resolve::resolve(i.clone())
            .unwrap()
            .heartbeat_interval_seconds,
        Sourced::new(30, Source::Env("THOTH_ENDPOINT_CHECKIN_INTERVAL_SEC"))
    );
    i.env
        .insert("THOTH_HEARTBEAT_INTERVAL_SECONDS".into(), "90".into());
    assert_eq!(
        resolve::resolve(i)
            .unwrap()
            .heartbeat_interval_seconds
            .value,
        90
    );
}

#[test]
fn the_credential_chain_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().to_path_buf();
    let thoth = home.join(".thoth");
    std::fs::create_dir_all(thoth.join("sessions")).unwrap();
    let key_file = home.join("key.json");
    std::fs::write(&key_file, r#"{"api_key":"k-file","key_id":"id"}"#).unwrap();
    let token_file = home.join("token.jwt");
    std::fs::write(&token_file, "eyJ.token.file\n").unwrap();
    std::fs::write(
        thoth.join("sessions/acme--grid.acme.example.com--admin-token.jwt"),
        r#"{"access_token":"t-session"}"#,
    )
    .unwrap();

    let mut i = inputs();
    i.home = Some(home.clone());
    i.env = env(&[
        ("THOTH_TENANT_ID", "acme"),
        ("THOTH_APEX_DOMAIN", "example.com"),
    ]);
    i.profile = files(
        &[("THOTH_API_KEY", "k-saved")],
        "/h/.thoth/proxy_api_key.json",
    );
    let cred = |i: &Inputs| {
        resolve::resolve(i.clone())
            .unwrap()
            .enforcer_credential
            .unwrap()
            .value
    };
    assert_eq!(
        cred(&i),
        Credential::Bearer(Secret::new("t-session")),
        "the admin session beats the saved key"
    );
    i.env.insert(
        "THOTH_AUTH_TOKEN_FILE".into(),
        token_file.display().to_string(),
    );
    assert_eq!(cred(&i), Credential::Bearer(Secret::new("eyJ.token.file")));
    i.env.insert("THOTH_AUTH_TOKEN".into(), "t-env".into());
    assert_eq!(cred(&i), Credential::Bearer(Secret::new("t-env")));
    i.env
        .insert("THOTH_API_KEY_FILE".into(), key_file.display().to_string());
    assert_eq!(cred(&i), Credential::ApiKey(Secret::new("k-file")));
    i.env.insert("THOTH_API_KEY".into(), "k-env".into());
    assert_eq!(cred(&i), Credential::ApiKey(Secret::new("k-env")));
    i.env
        .insert("THOTH_RUNTIME_BEARER_TOKEN".into(), "t-runtime".into());
    assert_eq!(cred(&i), Credential::Bearer(Secret::new("t-runtime")));
    // GovAPI has its own, else the enforcer's.
    let s = resolve::resolve(i.clone()).unwrap();
    assert_eq!(
        s.govapi_credential.unwrap().value,
        Credential::Bearer(Secret::new("t-runtime"))
    );
    i.env.insert("THOTH_GOVAPI_API_KEY".into(), "g-key".into());
    assert_eq!(
        resolve::resolve(i)
            .unwrap()
            .govapi_credential
            .unwrap()
            .value,
        Credential::ApiKey(Secret::new("g-key"))
    );
}

#[test]
fn a_missing_token_file_names_the_variable() {
    let mut i = inputs();
    i.env = env(&[("THOTH_AUTH_TOKEN_FILE", "/nonexistent/token")]);
    let err = resolve::resolve(i).unwrap_err().to_string();
    assert!(
        err.contains("THOTH_AUTH_TOKEN_FILE") && err.contains("/nonexistent/token"),
        "{err}"
    );
}

#[test]
fn unknown_managed_keys_are_reported_not_applied() {
    let mut i = inputs();
    i.managed = files(&[("THOTH_TENANTID", "typo")], "/etc/thoth/managed.json");
    let s = resolve::resolve(i).unwrap();
    assert_eq!(s.unknown_managed_keys, vec!["THOTH_TENANTID".to_string()]);
    assert!(s.tenant_id.is_none());
}

#[test]
fn with_flags_resolves_again_and_managed_still_wins() {
    let mut i = inputs();
    i.managed = files(&[("THOTH_TENANT_ID", "corp")], "/etc/thoth/managed.json");
    let s = resolve::resolve(i).unwrap();
    let s = s
        .with_flags(&[
            ("THOTH_TENANT_ID", "mine".into()),
            ("THOTH_ENFORCEMENT_MODE", "observe".into()),
        ])
        .unwrap();
    assert_eq!(s.tenant_id.unwrap().value, "corp");
    assert_eq!(
        s.enforcement_mode,
        Sourced::new(Mode::Observe, Source::Flag("--enforcement-mode"))
    );
}

#[test]
fn the_profile_rejects_unknown_settings_and_reads_the_saved_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("config.json"),
        r#"{"THOTH_TENANT_ID":"acme","THOTH_HEARTBEAT_INTERVAL_SECONDS":30}"#,
    )
    .unwrap();
    std::fs::write(
        dir.path().join("proxy_api_key.json"),
        r#"{"api_key":"k1","key_id":null}"#,
    )
    .unwrap();
    let p = inputs::read_profile(dir.path()).unwrap();
    assert_eq!(p["THOTH_TENANT_ID"].value, "acme");
    assert_eq!(p["THOTH_HEARTBEAT_INTERVAL_SECONDS"].value, "30");
    assert_eq!(p["THOTH_API_KEY"].value, "k1");
    std::fs::write(
        dir.path().join("config.json"),
        r#"{"THOTH_TENANTID":"acme"}"#,
    )
    .unwrap();
    let err = inputs::read_profile(dir.path()).unwrap_err().to_string();
    assert!(
        err.contains("THOTH_TENANTID") && err.contains("config.json"),
        "{err}"
    );
}

#[test]
fn unreadable_managed_settings_fail_closed_in_every_environment() {
    let mut i = inputs();
    i.managed_problems = vec!["/etc/thoth/managed.json: expected a JSON object".into()];
    let err = resolve::resolve(i.clone()).unwrap_err();
    assert!(err.to_string().contains("managed.json"), "{err}");
    // A user's THOTH_ENV=dev does not switch management off.
    i.env = env(&[("THOTH_ENV", "dev")]);
    let err = resolve::resolve(i).unwrap_err();
    assert!(err.to_string().contains("managed.json"), "{err}");
}
