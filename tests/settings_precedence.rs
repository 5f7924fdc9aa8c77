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
    std::fs::write(&managed, r#"{"THOTH_ENFORCEMENT_MODE": "block"}"#).unwrap();
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
fn broken_managed_settings_refuse_to_run_outside_dev() {
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
    // In dev the session goes on (with a warning).
    let dev = Thoth::new("dev");
    let (_, report) = doctor(&dev, &broken, &[]);
    assert_eq!(report["environment"], "dev");
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
