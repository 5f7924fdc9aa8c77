//! Settings precedence through the real binary: every managed format (XML and binary plist, UTF-16 and UTF-8
//! `.reg` exports, managed.json) read into the same settings, managed values beating env and flags, and
//! broken managed settings failing closed.

use std::time::Duration;

use serde_json::{json, Value};

use crate::support::{fixture, fixture_server, init_params, Thoth};

fn doctor(t: &Thoth, managed: &std::path::Path, env: &[(&str, &str)]) -> (Option<i32>, Value) {
    let mut cmd = t.command();
    cmd.args(["doctor", "--json"])
        .env("THOTH_MANAGED_SETTINGS_FILE", managed)
        .envs(env.iter().copied())
        .stdin(std::process::Stdio::null());
    let out = cmd.output().unwrap();
    (
        out.status.code(),
        serde_json::from_slice(&out.stdout).expect("doctor --json"),
    )
}

fn setting(report: &Value, name: &str) -> (Value, Value) {
    let row = report["settings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap();
    (row["value"].clone(), row["source"].clone())
}

#[test]
fn every_managed_format_reads_into_the_same_settings() {
    let mut seen = Vec::new();
    for file in [
        "managed.plist",
        "managed-binary.plist",
        "thoth-utf16.reg",
        "thoth-utf8.reg",
        "managed.json",
    ] {
        let t = Thoth::new("dev");
        // The user's own environment says otherwise; managed wins for every lockable key.
        let (_, report) = doctor(
            &t,
            &fixture(&format!("managed/{file}")),
            &[
                ("THOTH_TENANT_ID", "mine"),
                ("THOTH_ENFORCEMENT_MODE", "observe"),
            ],
        );
        let values: Vec<(Value, Value)> = [
            "THOTH_TENANT_ID",
            "THOTH_ENFORCER_URL",
            "THOTH_ENV",
            "THOTH_REQUIRE_NON_ROOT",
            "THOTH_HEARTBEAT_INTERVAL_SECONDS",
            "THOTH_ENFORCEMENT_MODE",
            "THOTH_JAMF_COMPUTER_ID",
        ]
        .iter()
        .map(|k| setting(&report, k))
        .collect();
        assert_eq!(
            values[0],
            (json!("acme"), json!("managed")),
            "{file}: {report:#}"
        );
        assert_eq!(values[5], (json!("block"), json!("managed")), "{file}");
        assert_eq!(
            report["identity"],
            json!({"endpoint_id": "1234", "source": "jamf"}),
            "{file}"
        );
        assert_eq!(
            report["unknown_managed_keys"],
            json!(["THOTH_UNRELEASED_SETTING"]),
            "{file}"
        );
        seen.push((file, values));
    }
    for (file, values) in &seen[1..] {
        assert_eq!(values, &seen[0].1, "{file} differs from {}", seen[0].0);
    }
}

#[test]
fn managed_block_mode_beats_the_flag_and_env_in_a_real_session() {
    let t = Thoth::new("dev");
    let managed = t.home.path().join("managed.json");
    // On a managed machine only a managed THOTH_ENV=dev is dev (the tests run as root).
    std::fs::write(
        &managed,
        r#"{"THOTH_ENFORCEMENT_MODE": "block", "THOTH_ENV": "dev"}"#,
    )
    .unwrap();
    let mut cmd = t.command();
    cmd.env("THOTH_MANAGED_SETTINGS_FILE", &managed)
        .env("THOTH_ENFORCEMENT_MODE", "observe")
        .args([
            "run",
            "--enforcement-mode",
            "observe",
            "--approved-scope",
            "echo",
            "--agent-id",
            "fx",
            "--",
        ])
        .arg(fixture_server());
    let mut s = crate::support::Session::spawn(cmd);
    s.request(json!(1), "initialize", init_params());
    let ok = s.request(
        json!(2),
        "tools/call",
        json!({"name": "echo", "arguments": {"x": 1}}),
    );
    assert!(ok.get("result").is_some(), "{ok}");
    let blocked = s.request(
        json!(3),
        "tools/call",
        json!({"name": "big", "arguments": {"bytes": 10}}),
    );
    assert_eq!(
        blocked["error"]["code"], -32001,
        "managed block mode must win over --enforcement-mode observe: {blocked}"
    );
    s.close_stdin();
    s.wait_timeout(Duration::from_secs(10));
}

#[test]
fn broken_managed_settings_refuse_to_run_in_every_environment() {
    let t = Thoth::new("prod");
    let broken = fixture("managed/top-level-array.plist");
    let mut cmd = t.command();
    cmd.env("THOTH_MANAGED_SETTINGS_FILE", &broken)
        .env("THOTH_REQUIRE_NON_ROOT", "false")
        .args(["run", "--"])
        .arg(fixture_server());
    let mut s = crate::support::Session::spawn(cmd);
    let reply = s.request(json!(1), "initialize", init_params());
    assert_eq!(reply["error"]["code"], -32603);
    let message = reply["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("managed settings") && message.contains("top-level-array.plist"),
        "{message}"
    );
    s.close_stdin();
    assert_eq!(
        s.wait_timeout(Duration::from_secs(10))
            .and_then(|st| st.code()),
        Some(1)
    );
    // doctor shows the same as a problem.
    let (code, report) = doctor(&t, &broken, &[]);
    assert_eq!(code, Some(1));
    assert_eq!(report["problems"][0]["check"], "settings");
    // A user's THOTH_ENV=dev does not switch management off: refused the same way.
    let dev = Thoth::new("dev");
    let (code, report) = doctor(&dev, &broken, &[]);
    assert_eq!(code, Some(1));
    assert_eq!(report["environment"], Value::Null, "{report:#}");
    assert_eq!(report["problems"][0]["check"], "settings");
    assert!(report["problems"][0]["problem"]
        .as_str()
        .unwrap()
        .contains("top-level-array.plist"));
}

#[test]
fn the_profile_sits_below_env_and_flags() {
    let t = Thoth::new("dev");
    let dir = t.home.path().join(".thoth");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("config.json"),
        r#"{"THOTH_TENANT_ID": "from-profile", "THOTH_FLEET_ID": "fleet-1"}"#,
    )
    .unwrap();
    let none = t.home.path().join("no-managed.json");
    let (_, report) = doctor(&t, &none, &[("THOTH_TENANT_ID", "from-env")]);
    assert_eq!(
        setting(&report, "THOTH_TENANT_ID"),
        (json!("from-env"), json!("env"))
    );
    assert_eq!(
        setting(&report, "THOTH_FLEET_ID"),
        (json!("fleet-1"), json!("profile"))
    );
}

// ---- nothing widens a managed value; one bad value; the user's dev ----------------------------------------

fn problems_of(report: &Value, check: &str) -> Vec<String> {
    report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["check"] == check)
        .map(|p| p["problem"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn one_bad_managed_value_keeps_the_rest_and_fails_closed_for_itself() {
    let t = Thoth::new("dev");
    let managed = t.home.path().join("managed.json");
    std::fs::write(
        &managed,
        r#"{"THOTH_TENANT_ID": "corp", "THOTH_ENV": "dev", "THOTH_ENFORCEMENT_MODE": ["observe"]}"#,
    )
    .unwrap();
    let (code, report) = doctor(&t, &managed, &[("THOTH_ENFORCEMENT_MODE", "observe")]);
    assert_eq!(code, Some(1), "doctor reports the bad value: {report:#}");
    assert_eq!(
        setting(&report, "THOTH_TENANT_ID"),
        (json!("corp"), json!("managed"))
    );
    assert_eq!(
        setting(&report, "THOTH_ENFORCEMENT_MODE"),
        (json!("block"), json!("managed")),
        "the bad mode fails closed to block, whatever the user says"
    );
    let named = problems_of(&report, "managed_settings");
    assert!(
        named
            .iter()
            .any(|p| p.contains("THOTH_ENFORCEMENT_MODE") && p.contains("managed.json")),
        "{named:?}"
    );
    // health names it too.
    let out = t
        .command()
        .args(["health", "--json"])
        .env("THOTH_MANAGED_SETTINGS_FILE", &managed)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let health: Value = serde_json::from_slice(&out.stdout).expect("health --json");
    let check = health["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "managed_settings")
        .unwrap_or_else(|| panic!("{health:#}"));
    assert!(check["detail"]
        .as_str()
        .unwrap()
        .contains("THOTH_ENFORCEMENT_MODE"));

    // A bad value with no safe side (the tenant): refused, naming it, even with the user's own tenant.
    std::fs::write(
        &managed,
        r#"{"THOTH_TENANT_ID": {"id": "corp"}, "THOTH_ENV": "dev"}"#,
    )
    .unwrap();
    let (code, report) = doctor(&t, &managed, &[("THOTH_TENANT_ID", "mine")]);
    assert_eq!(code, Some(1));
    let problem = report["problems"][0]["problem"].as_str().unwrap();
    assert!(
        report["problems"][0]["check"] == "settings"
            && problem.contains("THOTH_TENANT_ID")
            && problem.contains("managed.json"),
        "{report:#}"
    );
}

#[test]
fn the_users_dev_is_prod_on_a_managed_machine() {
    let t = Thoth::new("dev");
    let managed = t.home.path().join("managed.json");
    std::fs::write(&managed, r#"{"THOTH_TENANT_ID": "corp"}"#).unwrap();
    let (_, report) = doctor(&t, &managed, &[]);
    assert_eq!(report["environment"], "prod", "{report:#}");
    assert_eq!(
        setting(&report, "THOTH_REQUIRE_NON_ROOT"),
        (json!(null), json!(null))
    );
    assert_eq!(report["runtime"]["require_non_root"], true);
    // And `thoth run` as root is refused, as prod refuses it.
    let mut cmd = t.command();
    cmd.env("THOTH_MANAGED_SETTINGS_FILE", &managed)
        .args(["run", "--"])
        .arg(fixture_server());
    let mut s = crate::support::Session::spawn(cmd);
    let reply = s.request(json!(1), "initialize", init_params());
    assert_eq!(reply["error"]["code"], -32603, "{reply}");
    s.close_stdin();
    s.wait_timeout(Duration::from_secs(10));
}

// ---- files thoth trusts ------------------------------------------------------------------------------------

#[cfg(unix)]
#[test]
fn trusted_files_other_users_can_write_are_refused_outside_dev() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |path: &std::path::Path, mode: u32| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap()
    };
    let policy = r#"{"version": 1, "agents": {"*": {"approved_tools": ["echo"]}}}"#;
    // (label, what to set, path) for: a policy file, a symlink to one, one in an open folder, a key file,
    // a managed stand-in.
    let t = Thoth::new("prod");
    let home = t.home.path();
    let open_dir = home.join("open");
    std::fs::create_dir(&open_dir).unwrap();
    mode(&open_dir, 0o777);
    let writable = home.join("policy-666.json");
    std::fs::write(&writable, policy).unwrap();
    mode(&writable, 0o666);
    let group = home.join("policy-620.json");
    std::fs::write(&group, policy).unwrap();
    mode(&group, 0o620);
    let link = home.join("policy-link.json");
    std::os::unix::fs::symlink(&writable, &link).unwrap();
    let in_open = open_dir.join("policy.json");
    std::fs::write(&in_open, policy).unwrap();
    let key = home.join("key.txt");
    std::fs::write(&key, "sk-file").unwrap();
    mode(&key, 0o646);
    let stand_in = home.join("managed-666.json");
    std::fs::write(&stand_in, r#"{"THOTH_FLEET_ID": "f"}"#).unwrap();
    mode(&stand_in, 0o666);
    let none = home.join("no-managed.json");
    let cases: Vec<(&str, &str, &std::path::Path)> = vec![
        ("policy 0666", "THOTH_POLICY_FILE", &writable),
        ("policy 0620", "THOTH_POLICY_FILE", &group),
        ("symlink", "THOTH_POLICY_FILE", &link),
        ("open folder", "THOTH_POLICY_FILE", &in_open),
        ("key file", "THOTH_API_KEY_FILE", &key),
        ("stand-in", "THOTH_MANAGED_SETTINGS_FILE", &stand_in),
    ];
    for (label, name, path) in cases {
        let managed = if name == "THOTH_MANAGED_SETTINGS_FILE" {
            path
        } else {
            none.as_path()
        };
        let env = [
            (name, path.to_str().unwrap()),
            ("THOTH_REQUIRE_NON_ROOT", "false"),
        ];
        let (code, report) = doctor(&t, managed, &env);
        assert_eq!(code, Some(1), "{label}");
        let problem = report["problems"][0]["problem"].as_str().unwrap();
        assert!(
            report["problems"][0]["check"] == "settings"
                && problem.contains("other users")
                && problem.contains(path.file_name().unwrap().to_str().unwrap()),
            "{label}: {report:#}"
        );
        // In dev: a warning doctor names, and thoth goes on.
        let dev = Thoth::new("dev");
        let (_, report) = doctor(&dev, managed, &env);
        let named = problems_of(&report, "file_permissions");
        assert!(
            report["environment"] == "dev" && named.len() == 1,
            "{label}: {report:#}"
        );
    }
    // The same files made private are fine.
    mode(&writable, 0o644);
    let (_, report) = doctor(
        &t,
        &none,
        &[
            ("THOTH_POLICY_FILE", writable.to_str().unwrap()),
            ("THOTH_REQUIRE_NON_ROOT", "false"),
        ],
    );
    assert_eq!(report["environment"], "prod", "{report:#}");
    assert!(problems_of(&report, "file_permissions").is_empty());
}

// ---- secrets the server cannot read ------------------------------------------------------------------------

/// The server runs as our user (here root): whatever it reads of thoth's environment block holds no secret.
#[cfg(target_os = "linux")]
#[test]
fn a_child_cannot_read_the_secrets_from_thoths_environment_block() {
    let t = Thoth::new("dev");
    let secrets = [
        ("THOTH_API_KEY", "sk-environ-sentinel-1"),
        ("THOTH_GOVAPI_API_KEY", "sk-environ-sentinel-2"),
        ("THOTH_RUNTIME_BEARER_TOKEN", "sk-environ-sentinel-3"),
        ("THOTH_SOMETHING_NEW_SECRET", "sk-environ-sentinel-4"),
    ];
    let mut cmd = t.command();
    cmd.envs(secrets)
        .env("THOTH_TENANT_ID", "acme")
        .args(["run", "--approved-scope", "echo", "--"])
        .arg(fixture_server());
    let mut s = crate::support::Session::spawn(cmd);
    let pid = s.child.id();
    // Before: the block holds them (the test would prove nothing otherwise). Read as soon as it exists.
    let reply = s.request(json!(1), "initialize", init_params());
    assert!(reply.get("result").is_some(), "{reply}");
    let environ = std::fs::read(format!("/proc/{pid}/environ")).expect("read thoth's environ");
    let text = String::from_utf8_lossy(&environ);
    for (name, value) in secrets {
        assert!(
            !text.contains(value),
            "{name}'s value is readable in /proc/{pid}/environ"
        );
        assert!(text.contains(&format!("{name}=")), "the names stay: {text}");
    }
    assert!(
        text.contains("THOTH_TENANT_ID=acme"),
        "only secrets are scrubbed"
    );
    // And the server's own environment never had them.
    let children =
        std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
    for child in children.split_whitespace() {
        let env = std::fs::read(format!("/proc/{child}/environ")).unwrap_or_default();
        let env = String::from_utf8_lossy(&env);
        for (name, value) in secrets {
            assert!(!env.contains(value), "the server inherited {name}");
        }
    }
    s.close_stdin();
    s.wait_timeout(Duration::from_secs(10));
}
