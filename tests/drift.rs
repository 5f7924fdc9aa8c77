//! Issue 15, drift: a wrapped Cursor config where the user added a bare server and unwrapped another. With the
//! managed THOTH_AUTO_WRAP=true (THOTH_MANAGED_SETTINGS_FILE) the heartbeat leader of a real `thoth run`
//! wraps both again before its check-in (the result byte for byte what `wrap-config` writes, a backup of the
//! drifted bytes), and the check-in a loopback HTTPS GovAPI receives carries `drift` naming both; the next
//! heartbeat writes nothing. `thoth checkin` does the same, and reports a file it refuses (a key twice)
//! without touching it. Without the managed key (or with the user's own THOTH_AUTO_WRAP in env or the
//! `~/.thoth` profile) nothing changes, the check-in reports what it found, and `health` says not governed
//! at once (JSON and the Jamf EA).

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{json, Value};

use crate::support::govapi::GovApi;
use crate::support::https::Received;
use crate::support::{assert_valid, fixture_server, schema_validator, Session, Thoth};

const ENDPOINT: &str = "ep-drift-1";
const CHECKIN: &str = "/v1/endpoints/ep-drift-1/checkin";

/// The Cursor config before anything is wrapped.
const CURSOR: &str = r#"{
  "mcpServers": {
    "fs": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "/home/ana"]},
    "notes": {
      "command": "node",
      "args": ["/opt/notes/index.js"],
      "env": {"NOTES_DIR": "${userHome}/notes"}
    },
    "linear": {"url": "https://mcp.linear.app/sse"}
  },
  "ui": {"zoom": 1.50, "name": "\u0041na"}
}
"#;

/// How the tests wrap it: tenant acme, mode observe, agent ids prefixed `ana-`.
#[rustfmt::skip]
const WRAP: [&str; 9] = ["wrap-config", "--client", "cursor", "--tenant-id", "acme", "--enforcement-mode", "observe",
    "--agent-id-prefix", "ana-"];

/// The server a user adds by hand.
const ADDED: &str = r#""added": {"command": "uvx", "args": ["mcp-server-time"]},
    "#;

/// GovAPI at a 1 s interval, and the managed settings file (dev, plus `managed`).
fn env(t: &Thoth, api: &GovApi, managed: Value) -> Vec<(&'static str, String)> {
    let mut managed = managed;
    // On a managed machine the user's THOTH_ENV=dev no longer applies: the managed source says it.
    managed["THOTH_ENV"] = json!("dev");
    let file = t.home.path().join("managed.json");
    std::fs::write(&file, managed.to_string()).unwrap();
    vec![
        ("THOTH_GOVAPI_URL", api.server.url().to_owned()),
        ("THOTH_GOVAPI_API_KEY", "gk-drift".to_owned()),
        (
            "THOTH_TLS_CA_BUNDLE",
            api.ca.write_pem(t.home.path(), "test-ca.pem"),
        ),
        ("THOTH_ENDPOINT_ID", ENDPOINT.to_owned()),
        ("THOTH_HEARTBEAT_INTERVAL_SECONDS", "1".to_owned()),
        ("THOTH_MANAGED_SETTINGS_FILE", file.display().to_string()),
    ]
}

fn cursor_path(t: &Thoth) -> PathBuf {
    t.home.path().join(".cursor/mcp.json")
}

fn thoth(t: &Thoth, env: &[(&'static str, String)], args: &[&str]) -> std::process::Output {
    t.command()
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

fn ok(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// Wrap `CURSOR` (tenant acme, mode observe, prefix `ana-`), then drift it as a user would: `notes`
/// unwrapped with thoth, `added` written in by hand. Returns (wrapped text, drifted text).
fn drifted_cursor(t: &Thoth, env: &[(&'static str, String)]) -> (String, String) {
    let path = cursor_path(t);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, CURSOR).unwrap();
    ok(&thoth(t, env, &WRAP));
    let wrapped = std::fs::read_to_string(&path).unwrap();
    ok(&thoth(
        t,
        env,
        &[
            "wrap-config",
            "--client",
            "cursor",
            "--unwrap",
            "--only",
            "notes",
        ],
    ));
    let unwrapped = std::fs::read_to_string(&path).unwrap();
    assert!(unwrapped.contains(r#""command": "node""#), "{unwrapped}");
    let drifted = unwrapped.replacen(r#""fs": "#, &format!("{ADDED}\"fs\": "), 1);
    std::fs::write(&path, &drifted).unwrap();
    for backup in backups(&path) {
        std::fs::remove_file(backup).unwrap();
    }
    (wrapped, drifted)
}

/// What `wrap-config` itself makes of `text` with the same values: the bytes drift must write.
fn as_wrap_config_writes(t: &Thoth, env: &[(&'static str, String)], text: &str) -> String {
    let copy = t.home.path().join("expected/mcp.json");
    std::fs::create_dir_all(copy.parent().unwrap()).unwrap();
    std::fs::write(&copy, text).unwrap();
    let mut args = WRAP.to_vec();
    args.extend(["--config", copy.to_str().unwrap()]);
    ok(&thoth(t, env, &args));
    std::fs::read_to_string(&copy).unwrap()
}

fn backups(path: &Path) -> Vec<PathBuf> {
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let mut found: Vec<PathBuf> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(&format!("{name}.thoth-backup-"))
        })
        .collect();
    found.sort();
    found
}

/// `status --client cursor --json`: the governed flag of each server by name.
fn governed(t: &Thoth, env: &[(&'static str, String)]) -> Value {
    let out = thoth(t, env, &["status", "--client", "cursor", "--json"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut map = serde_json::Map::new();
    for s in v["clients"][0]["servers"].as_array().unwrap() {
        map.insert(
            s["name"].as_str().unwrap().to_owned(),
            s["governed"].clone(),
        );
    }
    Value::Object(map)
}

fn health_governed(t: &Thoth, env: &[(&'static str, String)]) -> (Value, String) {
    let out = thoth(t, env, &["health", "--json"]);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_valid(&schema_validator("health.schema.json"), &report);
    let ea = thoth(
        t,
        env,
        &["health", "--format", "jamf-ea", "--field", "governed"],
    );
    (
        report["governed"].clone(),
        String::from_utf8(ea.stdout).unwrap(),
    )
}

fn start(t: &Thoth, env: &[(&'static str, String)]) -> Session {
    let mut cmd = t.command();
    cmd.envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .args(["run", "--agent-id", "leader", "--"])
        .arg(fixture_server());
    let mut session = Session::spawn(cmd);
    session.initialize_fixture();
    session
}

/// The `drift` member of a check-in, checked against its schema.
fn drift_of(checkin: &Received) -> Value {
    let drift = checkin.json()["drift"].clone();
    assert_valid(&schema_validator("checkin-drift.schema.json"), &drift);
    drift
}

#[test]
fn the_heartbeat_leader_wraps_drift_again_once_and_reports_it() {
    let api = GovApi::new("thoth drift CA", ENDPOINT);
    let t = Thoth::new("dev");
    let env = env(&t, &api, json!({"THOTH_AUTO_WRAP": true}));
    let path = cursor_path(&t);
    let (wrapped, drifted) = drifted_cursor(&t, &env);
    assert_eq!(
        governed(&t, &env),
        json!({"added": false, "fs": true, "notes": false, "linear": true})
    );
    let expected = as_wrap_config_writes(&t, &env, &drifted);
    assert_ne!(expected, drifted);

    let mut session = start(&t, &env);
    let first = api
        .server
        .wait_for("POST", CHECKIN, 1, Duration::from_secs(30));
    let drift = drift_of(&first[0]);
    let backup = backups(&path);
    assert_eq!(backup.len(), 1, "one backup: {backup:?}");
    assert_eq!(
        drift,
        json!({"auto_wrap": true, "files": [{
            "client": "cursor", "config": path.display().to_string(),
            "found": ["added", "notes"], "action": "wrapped", "wrapped": ["added", "notes"],
            "failed": [], "error": null, "backup": backup[0].display().to_string()}]})
    );
    // Byte for byte what wrap-config writes; the drifted bytes kept in the backup.
    let now = std::fs::read_to_string(&path).unwrap();
    assert_eq!(now, expected);
    assert_eq!(std::fs::read_to_string(&backup[0]).unwrap(), drifted);
    // Every byte outside the two servers is as it was: `notes` is back exactly as first wrapped.
    assert_eq!(now.replacen(&wrapped_entry(&now, "added"), "", 1), wrapped);
    assert_eq!(
        governed(&t, &env),
        json!({"added": true, "fs": true, "notes": true, "linear": true})
    );

    // The next heartbeat finds nothing and writes nothing.
    let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
    let next = api
        .server
        .wait_for("POST", CHECKIN, 2, Duration::from_secs(30));
    assert_eq!(drift_of(&next[1]), json!({"auto_wrap": true, "files": []}));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), expected);
    assert_eq!(
        std::fs::metadata(&path).unwrap().modified().unwrap(),
        modified
    );
    assert_eq!(backups(&path), backup);
    session.close_stdin();
    session.wait_timeout(Duration::from_secs(10));
}

/// The text of `name`'s entry line in `text` with its trailing `,\n    ` (as `ADDED` put it in).
fn wrapped_entry(text: &str, name: &str) -> String {
    let start = text.find(&format!("\"{name}\": ")).unwrap();
    let end = start + text[start..].find("\n").unwrap() + 1;
    let rest = &text[end..];
    let indent = rest.len() - rest.trim_start_matches(' ').len();
    text[start..end + indent].to_owned()
}

#[test]
fn without_the_managed_key_drift_is_reported_and_nothing_changes() {
    let api = GovApi::new("thoth drift CA", ENDPOINT);
    let t = Thoth::new("dev");
    let mut env = env(&t, &api, json!({}));
    let path = cursor_path(&t);
    let (_, drifted) = drifted_cursor(&t, &env);
    // The user's own THOTH_AUTO_WRAP, in the environment and in the ~/.thoth profile, does not turn it on.
    env.push(("THOTH_AUTO_WRAP", "true".to_owned()));
    let profile = t.home.path().join(".thoth/config.json");
    std::fs::create_dir_all(profile.parent().unwrap()).unwrap();
    std::fs::write(&profile, json!({"THOTH_AUTO_WRAP": true}).to_string()).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&profile, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let out = thoth(&t, &env, &["checkin"]);
    ok(&out);
    let checkins = api.checkins();
    assert_eq!(checkins.len(), 1);
    assert_eq!(
        drift_of(&checkins[0]),
        json!({"auto_wrap": false, "files": [{
            "client": "cursor", "config": path.display().to_string(),
            "found": ["added", "notes"], "action": "left", "wrapped": [],
            "failed": [], "error": null, "backup": null}]})
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), drifted);
    assert!(backups(&path).is_empty());
    // And health says so at once.
    assert_eq!(
        health_governed(&t, &env),
        (json!(false), "<result>false</result>\n".to_owned())
    );
    // Governed again by hand, and auto-wrap off: the check-in has nothing to say, so no `drift` at all.
    ok(&thoth(
        &t,
        &env,
        &["wrap-config", "--client", "cursor", "--tenant-id", "acme"],
    ));
    ok(&thoth(&t, &env, &["checkin"]));
    let body = api.checkins()[1].json();
    assert!(body.get("drift").is_none(), "{body}");
    assert!(body.get("endpoint_id").is_some(), "{body}");
}

#[test]
fn a_server_added_to_a_wrapped_cursor_config_makes_health_not_governed_at_once() {
    let t = Thoth::new("dev");
    let path = cursor_path(&t);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, CURSOR).unwrap();
    ok(&thoth(
        &t,
        &[],
        &["wrap-config", "--client", "cursor", "--tenant-id", "acme"],
    ));
    assert_eq!(
        health_governed(&t, &[]),
        (json!(true), "<result>true</result>\n".to_owned())
    );
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replacen(r#""fs": "#, &format!("{ADDED}\"fs\": "), 1),
    )
    .unwrap();
    assert_eq!(
        health_governed(&t, &[]),
        (json!(false), "<result>false</result>\n".to_owned())
    );
    let out = thoth(&t, &[], &["health", "--json"]);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let cursor = report["mcp_clients"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["client"] == "cursor")
        .unwrap();
    assert_eq!(cursor["ungoverned"], json!(["added"]));
}

#[test]
fn checkin_wraps_drift_and_reports_a_file_it_refuses_untouched() {
    let api = GovApi::new("thoth drift CA", ENDPOINT);
    let t = Thoth::new("dev");
    let env = env(&t, &api, json!({"THOTH_AUTO_WRAP": "true"}));
    let path = cursor_path(&t);
    let (_, drifted) = drifted_cursor(&t, &env);
    // A Windsurf file with a server written twice: the client would start the last one.
    let windsurf = t.home.path().join(".codeium/windsurf/mcp_config.json");
    std::fs::create_dir_all(windsurf.parent().unwrap()).unwrap();
    let twice = r#"{"mcpServers": {"a": {"command": "x"}, "a": {"command": "y"}}}"#;
    std::fs::write(&windsurf, twice).unwrap();

    ok(&thoth(&t, &env, &["checkin"]));
    let drift = drift_of(&api.checkins()[0]);
    let files = drift["files"].as_array().unwrap();
    assert_eq!(files.len(), 2, "{drift:#}");
    assert_eq!(
        (
            &files[0]["client"],
            &files[0]["action"],
            &files[0]["wrapped"]
        ),
        (
            &json!("cursor"),
            &json!("wrapped"),
            &json!(["added", "notes"])
        )
    );
    assert_eq!(
        (&files[1]["client"], &files[1]["action"], &files[1]["found"]),
        (&json!("windsurf"), &json!("failed"), &json!([]))
    );
    let error = files[1]["error"].as_str().unwrap();
    assert!(
        error.contains("mcp_config.json") && error.contains("twice"),
        "{error}"
    );
    assert_eq!(std::fs::read_to_string(&windsurf).unwrap(), twice);
    assert!(backups(&windsurf).is_empty());
    // Wrapped as the file's other entries are: their tenant, mode and agent-id prefix.
    let out = thoth(&t, &env, &["status", "--client", "cursor", "--json"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let added = v["clients"][0]["servers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "added")
        .unwrap()
        .clone();
    assert_eq!(
        (
            &added["governed"],
            &added["agent_id"],
            &added["tenant_id"],
            &added["enforcement_mode"]
        ),
        (
            &json!(true),
            &json!("ana-added"),
            &json!("acme"),
            &json!("observe")
        )
    );
    assert_eq!(backups(&path).len(), 1);
    assert_eq!(
        std::fs::read_to_string(&backups(&path)[0]).unwrap(),
        drifted
    );
    // A second check-in writes nothing; the refused file is still reported.
    let before = std::fs::read_to_string(&path).unwrap();
    ok(&thoth(&t, &env, &["checkin"]));
    let drift = drift_of(&api.checkins()[1]);
    assert_eq!(drift["files"].as_array().unwrap().len(), 1, "{drift:#}");
    assert_eq!(drift["files"][0]["client"], "windsurf");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), before);
    assert_eq!(backups(&path).len(), 1);
}

/// Server names are the user's (any text, any length, hundreds of them): the report stays within its bounds
/// and its schema, every stdio server ends up governed, and a second check-in finds nothing.
#[test]
fn hostile_server_names_are_wrapped_and_reported_within_bounds() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};

    let api = GovApi::new("thoth drift CA", ENDPOINT);
    let names = proptest::collection::btree_set(
        prop_oneof![
            "\\PC{1,12}",
            "[a-z\"\\\\/ .\u{0}-\u{1f}\u{202e}\u{fffd}]{1,20}",
            "x{300,600}",
        ],
        1..120,
    );
    let mut runner = TestRunner::new(Config {
        cases: 10,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&names, |names| {
            let t = Thoth::new("dev");
            let env = env(&t, &api, json!({"THOTH_AUTO_WRAP": true}));
            let path = cursor_path(&t);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            let servers: serde_json::Map<String, Value> = names
                .iter()
                .map(|n| (n.clone(), json!({"command": "node", "args": [n]})))
                .collect();
            std::fs::write(&path, json!({"mcpServers": servers}).to_string()).unwrap();
            let before = api.checkins().len();
            ok(&thoth(&t, &env, &["checkin"]));
            let drift = drift_of(&api.checkins()[before]);
            let file = &drift["files"][0];
            let found = file["found"].as_array().unwrap();
            prop_assert_eq!(found.len(), names.len().min(64));
            prop_assert!(found
                .iter()
                .all(|n| n.as_str().unwrap().chars().count() <= 256));
            prop_assert_eq!(&file["action"], &json!("wrapped"), "{:#}", drift);
            let status = thoth(&t, &env, &["status", "--client", "cursor", "--json"]);
            prop_assert!(
                status.status.success(),
                "{}",
                String::from_utf8_lossy(&status.stdout)
            );
            ok(&thoth(&t, &env, &["checkin"]));
            prop_assert_eq!(
                drift_of(&api.checkins()[before + 1]),
                json!({"auto_wrap": true, "files": []})
            );
            Ok(())
        })
        .unwrap();
}

/// Claude Code's `~/.claude.json`: bare servers a user added to a project (local scope) are wrapped, the
/// governed user-scope entry of the same name stays byte for byte; an entry that cannot be started is
/// reported as failed with why, and the file's other servers are still wrapped.
#[test]
fn drift_in_both_claude_code_scopes_and_an_invalid_entry() {
    let api = GovApi::new("thoth drift CA", ENDPOINT);
    let t = Thoth::new("dev");
    let env = env(&t, &api, json!({"THOTH_AUTO_WRAP": true}));
    let path = t.home.path().join(".claude.json");
    std::fs::write(
        &path,
        r#"{
  "numStartups": 3,
  "mcpServers": {
    "memory": {"type": "stdio", "command": "npx", "args": ["-y", "@modelcontextprotocol/server-memory"], "env": {}}
  },
  "projects": {
    "/home/ana/src/api": {
      "allowedTools": [],
      "mcpServers": {}
    }
  }
}
"#,
    )
    .unwrap();
    ok(&thoth(
        &t,
        &env,
        &[
            "wrap-config",
            "--client",
            "claude-code",
            "--tenant-id",
            "acme",
        ],
    ));
    let wrapped = std::fs::read_to_string(&path).unwrap();
    let user_memory = wrapped_entry(&wrapped, "memory");
    let local = r#""mcpServers": {
        "memory": {"type": "stdio", "command": "npx", "args": ["-y", "@modelcontextprotocol/server-memory"]},
        "broken": {"type": "stdio", "command": 5},
        "postgres": {"type": "stdio", "command": "uvx", "args": ["mcp-server-postgres"]}
      }"#;
    let drifted = wrapped.replacen(r#""mcpServers": {}"#, local, 1);
    assert_ne!(drifted, wrapped);
    std::fs::write(&path, &drifted).unwrap();
    for backup in backups(&path) {
        std::fs::remove_file(backup).unwrap();
    }

    ok(&thoth(&t, &env, &["checkin"]));
    let drift = drift_of(&api.checkins()[0]);
    let scope = "(local:/home/ana/src/api)";
    let file = &drift["files"][0];
    assert_eq!(
        (&file["client"], &file["action"]),
        (&json!("claude-code"), &json!("failed")),
        "{drift:#}"
    );
    assert_eq!(
        file["found"],
        json!([
            format!("memory {scope}"),
            format!("broken {scope}"),
            format!("postgres {scope}")
        ])
    );
    assert_eq!(
        file["wrapped"],
        json!([format!("memory {scope}"), format!("postgres {scope}")])
    );
    assert_eq!(file["failed"][0]["server"], format!("broken {scope}"));
    assert!(
        !file["failed"][0]["reason"].as_str().unwrap().is_empty(),
        "{drift:#}"
    );
    let now = std::fs::read_to_string(&path).unwrap();
    assert!(now.starts_with(&wrapped[..wrapped.find("\"projects\"").unwrap()]));
    assert_eq!(wrapped_entry(&now, "memory"), user_memory);
    assert!(
        now.contains(r#""broken": {"type": "stdio", "command": 5}"#),
        "{now}"
    );
    let backup = backups(&path);
    assert_eq!(backup.len(), 1);
    assert_eq!(std::fs::read_to_string(&backup[0]).unwrap(), drifted);
}
