//! `thoth doctor` against the built binary: every setting and its source, the managed source winning, the
//! JSON form against its schema, exit codes, and secrets never printed.

use serde_json::Value;

use crate::support::Thoth;

fn schema() -> jsonschema::Validator {
    crate::support::schema_validator("doctor.schema.json")
}

/// Run `thoth doctor --json` with extra env; returns (exit code, report, stderr).
fn doctor_json(t: &Thoth, env: &[(&str, &str)]) -> (i32, Value, String) {
    let mut cmd = t.command();
    cmd.args(["doctor", "--json"])
        .envs(env.iter().copied())
        .stdin(std::process::Stdio::null());
    let out = cmd.output().unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "doctor --json printed non-JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    let errors: Vec<String> = schema()
        .iter_errors(&report)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "doctor --json does not match its schema: {errors:?}\n{report:#}"
    );
    (
        out.status.code().unwrap(),
        report,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn setting<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["settings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("{name} not in the report"))
}

#[test]
fn doctor_reports_each_value_with_its_source() {
    let t = Thoth::new("dev");
    let (code, report, _) = doctor_json(
        &t,
        &[
            ("THOTH_TENANT_ID", "acme"),
            ("THOTH_APEX_DOMAIN", "example.com"),
            ("THOTH_USER_ID", "alice@example.com"),
        ],
    );
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["status"], "ok");
    assert_eq!(report["environment"], "dev");
    assert_eq!(setting(&report, "THOTH_TENANT_ID")["source"], "env");
    assert_eq!(setting(&report, "THOTH_ENV")["origin"], "env THOTH_ENV");
    assert_eq!(setting(&report, "THOTH_TLS_VERIFY")["source"], "default");
    assert_eq!(setting(&report, "THOTH_FLEET_ID")["value"], Value::Null);
    assert_eq!(report["identity"]["source"], "machine_id");
    assert_eq!(report["policy"]["kind"], "none");
    assert_eq!(report["policy"]["without_policy"], "allowed");
    let dir = report["thoth_dir"].as_str().unwrap();
    assert!(dir.starts_with(t.home.path().to_str().unwrap()), "{dir}");
}

#[test]
fn a_managed_value_beats_env_and_doctor_says_managed() {
    let t = Thoth::new("dev");
    let managed = t.home.path().join("managed.json");
    std::fs::write(&managed, r#"{"THOTH_ENFORCEMENT_MODE": "block", "THOTH_TENANT_ID": "corp", "THOTH_JAMF_COMPUTER_ID": "4242"}"#).unwrap();
    let (_, report, _) = doctor_json(
        &t,
        &[
            ("THOTH_MANAGED_SETTINGS_FILE", managed.to_str().unwrap()),
            ("THOTH_ENFORCEMENT_MODE", "observe"),
            ("THOTH_TENANT_ID", "mine"),
        ],
    );
    let mode = setting(&report, "THOTH_ENFORCEMENT_MODE");
    assert_eq!(
        (mode["value"].as_str(), mode["source"].as_str()),
        (Some("block"), Some("managed")),
        "{report:#}"
    );
    assert!(mode["origin"].as_str().unwrap().contains("managed.json"));
    assert_eq!(setting(&report, "THOTH_TENANT_ID")["value"], "corp");
    assert_eq!(report["policy"]["mode"], "block");
    assert_eq!(
        report["identity"],
        serde_json::json!({"endpoint_id": "4242", "source": "jamf"})
    );
}

#[test]
fn problems_are_named_with_a_fix_and_exit_1() {
    let t = Thoth::new("prod");
    let (code, report, _) = doctor_json(
        &t,
        &[
            ("THOTH_EXPECTED_PROXY_USER", "nobody-like-this"),
            ("THOTH_REQUIRE_NON_ROOT", "false"),
        ],
    );
    assert_eq!(code, 1);
    assert_eq!(report["status"], "problems");
    let problems = report["problems"].as_array().unwrap();
    let user = problems
        .iter()
        .find(|p| p["check"] == "runtime_user")
        .expect("the user check failed");
    assert!(user["problem"]
        .as_str()
        .unwrap()
        .contains("THOTH_EXPECTED_PROXY_USER"));
    let policy = problems
        .iter()
        .find(|p| p["check"] == "policy")
        .expect("no policy in prod is a problem");
    assert!(policy["fix"].as_str().unwrap().contains("policy"));
}

#[test]
fn broken_settings_are_a_problem_not_a_crash() {
    let t = Thoth::new("dev");
    let (code, report, _) = doctor_json(&t, &[("THOTH_USER_ID", "not-an-email")]);
    assert_eq!(code, 1);
    assert_eq!(report["problems"][0]["check"], "settings");
    assert!(report["problems"][0]["problem"]
        .as_str()
        .unwrap()
        .contains("THOTH_USER_ID"));
}

#[test]
fn secrets_never_appear_in_doctor_output_or_logs() {
    let t = Thoth::new("dev");
    let secrets = [
        ("THOTH_API_KEY", "sk-live-SECRET-1"),
        ("THOTH_GOVAPI_BEARER_TOKEN", "tok-SECRET-2"),
        ("THOTH_AUTH_TOKEN", "jwt-SECRET-3"),
    ];
    let (_, report, stderr) = doctor_json(&t, &secrets);
    let text = report.to_string();
    for (_, secret) in secrets {
        assert!(
            !text.contains(secret) && !stderr.contains(secret),
            "{secret} leaked"
        );
    }
    assert_eq!(setting(&report, "THOTH_API_KEY")["value"], "***");
    assert_eq!(report["credentials"]["enforcer"], "api_key");
    let mut cmd = t.command();
    cmd.args(["--log-level", "trace", "doctor"])
        .envs(secrets.iter().copied())
        .stdin(std::process::Stdio::null());
    let out = cmd.output().unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        all.contains("THOTH_API_KEY"),
        "the human report lists the key: {all}"
    );
    for (_, secret) in secrets {
        assert!(
            !all.contains(secret),
            "{secret} leaked in the human report or trace logs"
        );
    }
}

#[test]
fn set_api_key_from_stdin_is_saved_private_and_used() {
    let t = Thoth::new("dev");
    let mut cmd = t.command();
    cmd.args(["set-api-key", "--api-key", "-", "--key-id", "k1"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), b"sk-from-stdin\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty());
    let path = t.home.path().join(".thoth/proxy_api_key.json");
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(
        saved,
        serde_json::json!({"api_key": "sk-from-stdin", "key_id": "k1"})
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(
            std::fs::metadata(path.parent().unwrap())
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o700
        );
    }
    let (_, report, _) = doctor_json(&t, &[]);
    assert_eq!(report["credentials"]["enforcer"], "api_key");
    assert!(report["credentials"]["enforcer_source"]
        .as_str()
        .unwrap()
        .contains("proxy_api_key.json"));
    let out = t.output(&["set-api-key", "--api-key", ""]);
    assert_eq!(out.status.code(), Some(1));
}
