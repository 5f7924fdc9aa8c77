//! `thoth health` against the built binary: the JSON form against its schema in a fresh install, with a
//! governed and an ungoverned Claude config, a saved GovAPI state, an update state and a failed runtime check;
//! and the Jamf EA and Intune forms byte for byte, with their exit codes and the empty-stdout rule.

use std::path::PathBuf;

use serde_json::{json, Value};

use crate::support::{assert_valid, schema_validator, Thoth};

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// `thoth health <args>` with `env`: (exit code, stdout, stderr).
fn health(t: &Thoth, env: &[(&str, &str)], args: &[&str]) -> (i32, String, String) {
    let out = t
        .command()
        .envs(env.iter().copied())
        .arg("health")
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn health_json(t: &Thoth, env: &[(&str, &str)], args: &[&str]) -> (i32, Value) {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let (code, stdout, stderr) = health(t, env, &all);
    let report: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}\n{stderr}"));
    assert_valid(&schema_validator("health.schema.json"), &report);
    (code, report)
}

/// A Claude Desktop config with `servers` (name, command, first arg) in the temp HOME; returns its path.
fn claude_config(t: &Thoth, servers: &[(&str, &str, &str)]) -> PathBuf {
    let mut map = serde_json::Map::new();
    let this = crate::support::thoth_bin();
    for (name, command, arg) in servers {
        // Governed means run by this very thoth: the marker stands for the binary under test.
        let command = if *command == THIS_THOTH {
            this.to_str().unwrap()
        } else {
            command
        };
        map.insert(
            name.to_string(),
            json!({"command": command, "args": [arg, "--", "npx", "server"]}),
        );
    }
    let path = t.home.path().join("claude_desktop_config.json");
    std::fs::write(&path, json!({"mcpServers": map}).to_string()).unwrap();
    path
}

/// Stands for the thoth binary under test in `claude_config`'s servers.
const THIS_THOTH: &str = "<this thoth>";
const GOVERNED: (&str, &str, &str) = ("fs", THIS_THOTH, "run");
const RAW: (&str, &str, &str) = ("raw", "npx", "-y");

#[test]
fn a_fresh_install_is_healthy_and_reports_what_it_knows() {
    let t = Thoth::new("dev");
    let env = [("THOTH_ENDPOINT_ID", "ep-1"), ("THOTH_TENANT_ID", "acme")];
    let (code, r) = health_json(&t, &env, &[]);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(r["status"], "healthy");
    assert_eq!(r["version"], VERSION);
    assert_eq!(
        r["endpoint"],
        json!({"id": "ep-1", "source": "endpoint_id"})
    );
    assert_eq!(
        (&r["tenant_id"], &r["environment"], &r["enforcement_mode"]),
        (&json!("acme"), &json!("dev"), &json!("block"))
    );
    assert_eq!(r["claude_config"]["found"], false);
    assert_eq!(r["claude_config"]["governed"], true);
    assert_eq!(r["govapi"]["configured"], false);
    assert_eq!(r["govapi"]["registered"], false);
    assert_eq!(r["update"], Value::Null);
    assert_eq!(r["runtime"]["non_root_ok"], true);
    // The human form says the same.
    let (code, text, _) = health(&t, &env, &[]);
    assert_eq!(code, 0);
    assert!(
        text.starts_with(&format!("thoth {VERSION} health: healthy\n")),
        "{text}"
    );
}

#[test]
fn an_ungoverned_server_is_degraded_and_named() {
    let t = Thoth::new("dev");
    let path = claude_config(&t, &[GOVERNED, RAW]);
    let path = path.to_str().unwrap();
    let (code, r) = health_json(&t, &[], &["--config", path]);
    assert_eq!(code, 0);
    assert_eq!(r["status"], "degraded");
    assert_eq!(r["claude_config"]["found"], true);
    assert_eq!(r["claude_config"]["servers"], 2);
    assert_eq!(r["claude_config"]["governed"], false);
    assert_eq!(r["claude_config"]["governed_servers"], json!(["fs"]));
    assert_eq!(r["claude_config"]["ungoverned"], json!(["raw"]));

    // Jamf: the EA value, exit 0 whatever it says.
    let (code, out, _) = health(
        &t,
        &[],
        &[
            "--config", path, "--format", "jamf-ea", "--field", "governed",
        ],
    );
    assert_eq!((code, out.as_str()), (0, "<result>false</result>\n"));
    let (code, out, _) = health(&t, &[], &["--config", path, "--format", "jamf-ea"]);
    assert_eq!((code, out.as_str()), (0, "<result>degraded</result>\n"));
    // Intune detection: not detected means nothing on stdout and exit 1.
    let (code, out, _) = health(&t, &[], &["--config", path, "--format", "intune-detect"]);
    assert_eq!((code, out.as_str()), (1, ""));
    // Intune remediation detection: exit 1, one line naming the fix.
    let (code, out, _) = health(
        &t,
        &[],
        &["--config", path, "--format", "intune-remediation-detect"],
    );
    assert_eq!(code, 1);
    assert_eq!(
        out,
        "needs fixing (degraded): claude_config: ungoverned stdio server(s): raw (run `thoth wrap-config`)\n"
    );
}

#[test]
fn a_governed_config_is_detected_by_intune_from_the_minimum_version() {
    let t = Thoth::new("dev");
    let path = claude_config(&t, &[GOVERNED]);
    let path = path.to_str().unwrap();
    let detected = format!(
        "thoth {VERSION} installed; Claude Desktop config governed (1 server(s) behind thoth)\n"
    );
    let (code, out, _) = health(&t, &[], &["--config", path, "--format", "intune-detect"]);
    assert_eq!((code, out.as_str()), (0, detected.as_str()));
    let (code, out, _) = health(
        &t,
        &[],
        &[
            "--config",
            path,
            "--format",
            "intune-detect",
            "--min-version",
            VERSION,
        ],
    );
    assert_eq!((code, out.as_str()), (0, detected.as_str()));
    let (code, out, _) = health(
        &t,
        &[],
        &[
            "--config",
            path,
            "--format",
            "intune-detect",
            "--min-version",
            "99.0.0",
        ],
    );
    assert_eq!((code, out.as_str()), (1, ""));
    let (code, out, stderr) = health(
        &t,
        &[],
        &[
            "--config",
            path,
            "--format",
            "intune-detect",
            "--min-version",
            "one",
        ],
    );
    assert_eq!((code, out.as_str()), (1, ""));
    assert!(stderr.contains("--min-version"), "{stderr}");
    let (code, out, _) = health(
        &t,
        &[],
        &["--config", path, "--format", "intune-remediation-detect"],
    );
    assert_eq!((code, out), (0, format!("ok: thoth {VERSION} healthy\n")));
}

#[test]
fn jamf_fields_print_exact_values_and_empty_when_missing() {
    let t = Thoth::new("dev");
    let env = [
        ("THOTH_ENDPOINT_ID", "ep-1"),
        ("THOTH_GOVAPI_URL", "https://grid.acme.example.com"),
    ];
    let ea = |field: &str| health(&t, &env, &["--format", "jamf-ea", "--field", field]);
    assert_eq!(
        ea("version"),
        (0, format!("<result>{VERSION}</result>\n"), ea("version").2)
    );
    assert_eq!(ea("endpoint_id").1, "<result>ep-1</result>\n");
    assert_eq!(ea("last_checkin").1, "<result></result>\n");
    assert_eq!(ea("governed").1, "<result>true</result>\n");
    // GovAPI configured, never registered: degraded.
    assert_eq!(ea("status").1, "<result>degraded</result>\n");
    let state = t.home.path().join(".thoth/state");
    std::fs::create_dir_all(&state).unwrap();
    let now = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap();
    let at = now
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let saved = json!({"schema_version": 1, "endpoint_id": "ep-1", "govapi_url": "https://grid.acme.example.com",
        "registered_at": at, "registration_fingerprint": "a".repeat(64), "last_checkin_at": at, "last_attempt_at": at,
        "last_error": null, "last_error_at": null, "auth_refused": false, "consecutive_failures": 0,
        "checkin_interval_seconds": null, "proxy_version": VERSION});
    assert_valid(&schema_validator("endpoint-state.schema.json"), &saved);
    std::fs::write(state.join("endpoint.json"), saved.to_string()).unwrap();
    let jamf_date = format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    );
    assert_eq!(
        ea("last_checkin").1,
        format!("<result>{jamf_date}</result>\n")
    );
    assert_eq!(ea("status").1, "<result>healthy</result>\n");
    assert_eq!(
        ea("last-checkin").1,
        ea("last_checkin").1,
        "the kebab-case alias"
    );
    let (code, r) = health_json(&t, &env, &[]);
    assert_eq!(code, 0);
    assert_eq!(r["govapi"]["registered"], true);
    assert_eq!(r["govapi"]["last_checkin_at"], json!(at));
}

#[test]
fn the_update_state_is_reported_as_written() {
    let t = Thoth::new("dev");
    let state = t.home.path().join(".thoth/state");
    std::fs::create_dir_all(&state).unwrap();
    let update = json!({"schema_version": 1, "channel": "beta", "current_version": VERSION,
        "latest_seen": "9.9.9", "last_check_at": "2026-01-01T00:00:00Z", "last_error": null});
    std::fs::write(state.join("update.json"), update.to_string()).unwrap();
    assert_eq!(health_json(&t, &[], &[]).1["update"], update);
    std::fs::write(state.join("update.json"), "{broken").unwrap();
    assert_eq!(health_json(&t, &[], &[]).1["update"], Value::Null);
}

#[test]
fn a_failed_runtime_check_is_unhealthy_with_exit_1() {
    let t = Thoth::new("dev");
    let env = [("THOTH_EXPECTED_PROXY_USER", "nobody-like-this")];
    let (code, r) = health_json(&t, &env, &[]);
    assert_eq!((code, &r["status"]), (1, &json!("unhealthy")), "{r:#}");
    assert_eq!(r["runtime"]["non_root_ok"], false);
    assert!(r["runtime"]["problems"][0]
        .as_str()
        .unwrap()
        .contains("THOTH_EXPECTED_PROXY_USER"));
    let (code, out, _) = health(&t, &env, &["--format", "intune-remediation-detect"]);
    assert_eq!(code, 1);
    let last = out.lines().last().unwrap();
    assert!(
        last.starts_with("needs fixing (unhealthy): runtime_user: ") && last.len() <= 2048,
        "{out}"
    );
    // The EA still answers (exit 0) so Jamf records the value.
    let (code, out, _) = health(&t, &env, &["--format", "jamf-ea"]);
    assert_eq!((code, out.as_str()), (0, "<result>unhealthy</result>\n"));
}

#[test]
fn broken_settings_are_reported_not_hidden() {
    let t = Thoth::new("dev");
    let (code, r) = health_json(&t, &[("THOTH_HEARTBEAT_INTERVAL_SECONDS", "often")], &[]);
    assert_eq!((code, &r["status"]), (1, &json!("unhealthy")), "{r:#}");
    assert!(r["checks"][0]["detail"]
        .as_str()
        .unwrap()
        .contains("THOTH_HEARTBEAT_INTERVAL_SECONDS"));
    let (code, out, _) = health(
        &t,
        &[("THOTH_HEARTBEAT_INTERVAL_SECONDS", "often")],
        &["--format", "intune-detect"],
    );
    assert_eq!(
        (code, out.as_str()),
        (1, ""),
        "not detected while settings are broken"
    );
}

#[test]
fn the_default_config_is_the_users_claude_desktop_config() {
    if std::env::consts::OS != "linux" {
        return; // the per-OS default paths are unit-tested in wrap::locate
    }
    let t = Thoth::new("dev");
    let dir = t.home.path().join(".config/Claude");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("claude_desktop_config.json"),
        json!({"mcpServers": {"raw": {"command": "npx", "args": ["-y", "x"]}}}).to_string(),
    )
    .unwrap();
    let (_, r) = health_json(&t, &[], &[]);
    assert_eq!(
        r["claude_config"]["path"],
        json!(dir.join("claude_desktop_config.json").to_str().unwrap())
    );
    assert_eq!(r["claude_config"]["ungoverned"], json!(["raw"]));
}

#[test]
fn for_user_reports_on_that_users_files_and_checks() {
    let t = Thoth::new("dev");
    // `nobody` exists on every Linux and macOS: its home holds no config and no state.
    let (code, r) = health_json(&t, &[], &["--for-user", "nobody"]);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(r["runtime"]["user"], "nobody");
    assert_eq!(r["runtime"]["non_root_ok"], true);
    assert_eq!(r["claude_config"]["found"], false);
    assert!(
        !r["claude_config"]["path"]
            .as_str()
            .unwrap()
            .starts_with(t.home.path().to_str().unwrap()),
        "{r:#}"
    );
    let (code, out, stderr) = health(
        &t,
        &[],
        &[
            "--for-user",
            "no-such-user-here",
            "--format",
            "intune-detect",
        ],
    );
    assert_eq!((code, out.as_str()), (1, ""));
    assert!(stderr.contains("no-such-user-here"), "{stderr}");
}
