//! Issue 5: `thoth wrap-config` on real files through the built binary: realistic configs, idempotence,
//! unwrap, refusals that leave the file byte-identical, a crash before the rename, owners and modes, secrets,
//! and a real MCP client started from a wrapped entry.

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::{json, Value};

use crate::support::{assert_valid, fixture, schema_validator, thoth_bin, Thoth};

/// Copy a fixture config into a fresh folder of the test's home; returns its path.
fn place(t: &Thoth, name: &str) -> PathBuf {
    let dir = t.home.path().join("cfg");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("claude_desktop_config.json");
    std::fs::copy(fixture(&format!("wrap/{name}")), &path).unwrap();
    path
}

fn wrap(t: &Thoth, args: &[&str]) -> Output {
    let mut all = vec!["wrap-config"];
    all.extend_from_slice(args);
    t.output(&all)
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn json_of(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("no JSON ({e}): {}", stdout(out)))
}

/// Files beside the config other than the config itself.
fn siblings(config: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(config.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "claude_desktop_config.json")
        .collect();
    names.sort();
    names
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn wraps_a_realistic_config_idempotently_and_unwraps_it_byte_for_byte() {
    let t = Thoth::new("dev");
    let config = place(&t, "realistic.json");
    let original = std::fs::read(&config).unwrap();
    let thoth = thoth_bin().canonicalize().unwrap();
    let report_schema = schema_validator("wrap-report.schema.json");

    let out = wrap(
        &t,
        &["--tenant-id", "acme", "--json", config.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let report = json_of(&out);
    assert_valid(&report_schema, &report);
    assert_eq!(report["changed"], true);
    let outcomes: Vec<(&str, &str)> = report["servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["name"].as_str().unwrap(), s["outcome"].as_str().unwrap()))
        .collect();
    assert_eq!(
        outcomes,
        [
            ("filesystem", "wrapped"),
            ("github", "wrapped"),
            ("linear", "wrapped"),
            ("remote-http", "wrapped"),
            ("données — café ☕", "wrapped"),
            ("bare", "wrapped"),
            ("huge", "wrapped"),
        ]
    );
    let backup = PathBuf::from(report["backup"].as_str().unwrap());
    assert_eq!(
        std::fs::read(&backup).unwrap(),
        original,
        "the backup holds the previous bytes"
    );

    let wrapped = read_json(&config);
    let servers = &wrapped["mcpServers"];
    let fs = &servers["filesystem"];
    assert_eq!(
        fs["command"],
        thoth.to_str().unwrap(),
        "an absolute thoth path"
    );
    assert_eq!(
        fs["args"],
        json!([
            "run",
            "--agent-id",
            "filesystem",
            "--tenant-id",
            "acme",
            "--enforcement-mode",
            "block",
            "--",
            "npx",
            "-y",
            "@modelcontextprotocol/server-filesystem",
            "/Users/ana/Desktop",
            "/Users/ana/Downloads"
        ])
    );
    assert_eq!(
        servers["github"]["env"],
        json!({"GITHUB_PERSONAL_ACCESS_TOKEN": "ghp_example_not_a_real_token"})
    );
    // Remote servers are bridged (issue 18): `thoth run --url`, no url key left.
    assert_eq!(
        servers["linear"],
        json!({"command": thoth.to_str().unwrap(), "args": ["run", "--agent-id", "linear", "--tenant-id",
            "acme", "--enforcement-mode", "block", "--url", "https://mcp.linear.app/sse"]})
    );
    assert_eq!(servers["remote-http"]["args"][7], "--url");
    assert_eq!(servers["remote-http"].get("type"), None);
    assert_eq!(servers["données — café ☕"]["args"][2], "donn-es-caf");
    assert_eq!(servers["données — café ☕"]["disabled"], false);
    assert_eq!(servers["huge"]["args"].as_array().unwrap().len(), 9 + 2000);
    assert_eq!(servers["huge"]["timeout"], 60000);
    // Outside mcpServers, byte for byte (1.50 and a 23-digit integer included).
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(text.starts_with("{\n  \"globalShortcut\": \"Alt+Space\",\n  \"mcpServers\": {\n"));
    assert!(text.ends_with(
        "  \"preferences\": {\n    \"sidebarMode\": \"chat\",\n    \"ratio\": 1.50,\n    \"big\": 12345678901234567890123\n  }\n}\n"
    ));

    // The wrapped config, read by status: every stdio server governed, exit 0.
    let status = t.output(&["status", "--json", config.to_str().unwrap()]);
    assert_eq!(status.status.code(), Some(0), "{}", stderr(&status));
    let seen = json_of(&status);
    assert_valid(&schema_validator("status.schema.json"), &seen);
    assert_eq!(seen["all_governed"], true);
    assert_eq!(seen["ungoverned"], json!([]));
    assert_eq!(seen["remote"], json!([]));
    assert_eq!(seen["governed"].as_array().unwrap().len(), 7);

    // Second run, same flags: not a byte written, no new backup.
    let before = siblings(&config);
    let out = wrap(
        &t,
        &["--tenant-id", "acme", "--json", config.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let again = json_of(&out);
    assert_eq!(again["changed"], false);
    assert_eq!(again["backup"], Value::Null);
    assert_eq!(std::fs::read_to_string(&config).unwrap(), text);
    assert_eq!(siblings(&config), before);

    // Unwrap: the original, byte for byte; the record beside it is gone.
    let out = wrap(&t, &["--unwrap", config.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(std::fs::read(&config).unwrap(), original);
    assert!(!siblings(&config)
        .iter()
        .any(|n| n.ends_with(".thoth-wrap.json")));
    let status = t.output(&["status", config.to_str().unwrap()]);
    assert_eq!(status.status.code(), Some(1));
    assert!(
        stdout(&status).contains("not governed"),
        "{}",
        stdout(&status)
    );
}

#[test]
fn an_older_wrap_is_updated_never_wrapped_twice() {
    let t = Thoth::new("dev");
    let config = place(&t, "older-wrap.json");
    let out = wrap(
        &t,
        &[
            "--tenant-id",
            "acme",
            "--enforcement-mode",
            "step_up",
            "--json",
            config.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let report = json_of(&out);
    assert_eq!(report["servers"][0]["outcome"], "updated");
    assert_eq!(report["servers"][1]["outcome"], "wrapped");
    let v = read_json(&config);
    let args = &v["mcpServers"]["everything"]["args"];
    assert_eq!(
        *args,
        json!([
            "run",
            "--agent-id",
            "everything",
            "--tenant-id",
            "acme",
            "--enforcement-mode",
            "step_up",
            "--policy",
            "/etc/thoth/policy.json",
            "--",
            "npx",
            "-y",
            "@modelcontextprotocol/server-everything"
        ])
    );
    assert_eq!(v["mcpServers"]["everything"]["env"], json!({"LOG": "1"}));
    // Unwrap of an entry thoth did not record: command and args from after `--`, env left as is.
    let out = wrap(&t, &["--unwrap", config.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v = read_json(&config);
    assert_eq!(
        v["mcpServers"]["everything"],
        json!({"command": "npx", "args": ["-y", "@modelcontextprotocol/server-everything"], "env": {"LOG": "1"}})
    );
    assert_eq!(
        v["mcpServers"]["plain"],
        json!({"command": "uvx", "args": ["mcp-server-time"]})
    );
}

#[test]
fn env_intent_map_only_and_exclude() {
    let t = Thoth::new("dev");
    let config = place(&t, "realistic.json");
    let original = std::fs::read(&config).unwrap();
    std::fs::create_dir_all(t.home.path().join(".thoth")).unwrap();
    let map = t.home.path().join(".thoth/intent_map.json");
    std::fs::write(&map, r#"{"github": "code-review", "nope": "x"}"#).unwrap();
    assert_valid(
        &schema_validator("intent-map.schema.json"),
        &read_json(&map),
    );
    let out = wrap(
        &t,
        &[
            "--only",
            "github",
            "--only",
            "bare",
            "--exclude",
            "bare",
            "--env",
            "THOTH_ENV=staging",
            "--env",
            "GITHUB_PERSONAL_ACCESS_TOKEN=other",
            "--json",
            config.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let report = json_of(&out);
    assert!(
        stderr(&out).contains("\"nope\", which is not a server"),
        "{}",
        stderr(&out)
    );
    assert_eq!(report["servers"][0]["outcome"], "skipped");
    assert_eq!(report["servers"][1]["outcome"], "wrapped");
    assert_eq!(report["servers"][1]["session_intent"], "code-review");
    assert_eq!(report["servers"][5]["outcome"], "skipped");
    let v = read_json(&config);
    let github = &v["mcpServers"]["github"];
    let args: Vec<&str> = github["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    let at = args
        .iter()
        .position(|a| *a == "--session-intent")
        .expect("an intent flag");
    assert_eq!(args[at + 1], "code-review");
    assert_eq!(
        github["env"],
        json!({"GITHUB_PERSONAL_ACCESS_TOKEN": "other", "THOTH_ENV": "staging"})
    );
    assert_eq!(v["mcpServers"]["filesystem"]["command"], "npx");
    let record = read_json(&config.with_file_name("claude_desktop_config.json.thoth-wrap.json"));
    assert_valid(&schema_validator("wrap-record.schema.json"), &record);
    // Unwrap restores the replaced env value and drops the added key: the original bytes.
    let out = wrap(&t, &["--unwrap", config.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(std::fs::read(&config).unwrap(), original);
}

#[test]
fn dry_run_prints_a_diff_and_changes_nothing() {
    let t = Thoth::new("dev");
    let config = place(&t, "older-wrap.json");
    let original = std::fs::read(&config).unwrap();
    let out = wrap(
        &t,
        &["--dry-run", "--tenant-id", "acme", config.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("-        \"oldco\",") && text.contains("+        \"acme\","),
        "{text}"
    );
    assert!(text.contains("-      \"command\": \"uvx\","), "{text}");
    assert_eq!(std::fs::read(&config).unwrap(), original);
    assert!(siblings(&config).is_empty());
    let out = wrap(
        &t,
        &[
            "--dry-run",
            "--json",
            "--tenant-id",
            "acme",
            config.to_str().unwrap(),
        ],
    );
    let report = json_of(&out);
    assert_valid(&schema_validator("wrap-report.schema.json"), &report);
    assert_eq!(report["dry_run"], true);
    assert!(report["diff"].as_str().unwrap().starts_with("--- "));
}

#[test]
fn broken_files_are_refused_naming_the_file_and_position_and_left_untouched() {
    let t = Thoth::new("dev");
    for (name, expect) in [
        ("broken.json", "line 3 column"),
        (
            "servers-array.json",
            "\"mcpServers\" at line 2 column 3 is an array",
        ),
    ] {
        let config = place(&t, name);
        let original = std::fs::read(&config).unwrap();
        let out = wrap(&t, &[config.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1), "{name}");
        let err = stderr(&out);
        assert!(
            err.contains(config.to_str().unwrap()) && err.contains(expect),
            "{name}: {err}"
        );
        assert!(out.stdout.is_empty());
        assert_eq!(std::fs::read(&config).unwrap(), original, "{name}");
        assert!(
            siblings(&config).is_empty(),
            "{name}: {:?}",
            siblings(&config)
        );
        let status = t.output(&["status", config.to_str().unwrap()]);
        assert_eq!(status.status.code(), Some(3), "{name}");
        assert!(status.stdout.is_empty());
    }
}

#[test]
fn comments_and_a_bom_are_read_kept_and_reported() {
    let t = Thoth::new("dev");
    let config = place(&t, "comments-bom.json");
    let out = wrap(&t, &["--tenant-id", "acme", config.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("has comments"), "{}", stderr(&out));
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(
        text.starts_with("\u{feff}{\n  // Managed by IT: do not edit by hand\n"),
        "{text}"
    );
    assert!(text.contains("/* the time server */"), "{text}");
    let status = t.output(&["status", "--json", config.to_str().unwrap()]);
    assert_eq!(status.status.code(), Some(0));
    assert_eq!(json_of(&status)["has_comments"], true);
}

#[test]
fn a_missing_config_is_created_only_with_create() {
    let t = Thoth::new("dev");
    // No INPUT: the current user's default path (Linux: ~/.config/Claude, as HOME is the test's).
    let default = t
        .home
        .path()
        .join(".config/Claude/claude_desktop_config.json");
    let out = wrap(&t, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(default.to_str().unwrap()) && stderr(&out).contains("--create"),
        "{}",
        stderr(&out)
    );
    assert!(!default.exists());
    std::fs::create_dir_all(default.parent().unwrap()).unwrap();
    let out = wrap(&t, &["--create"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(read_json(&default), json!({"mcpServers": {}}));
}

#[test]
fn no_key_material_is_written_unless_asked() {
    let t = Thoth::new("dev");
    let config = place(&t, "realistic.json");
    let secret = "tk_live_SECRET_5f2a9c";
    let run = |extra: &[&str]| {
        let mut cmd = t.command();
        cmd.env("THOTH_API_KEY", secret)
            .arg("wrap-config")
            .args(extra)
            .arg(&config)
            .stdin(std::process::Stdio::null());
        cmd.output().unwrap()
    };
    let out = run(&[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(!text.contains(secret) && !text.contains("THOTH_API_KEY"));
    assert!(!stdout(&out).contains(secret) && !stderr(&out).contains(secret));
    // A secret through --env is refused too, naming the flag to use.
    let out = run(&["--env", "THOTH_API_KEY=abc"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("--embed-api-key"), "{}", stderr(&out));
    // Asked for: written, with a loud warning that does not print the key.
    let out = run(&["--embed-api-key"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v = read_json(&config);
    assert_eq!(v["mcpServers"]["github"]["env"]["THOTH_API_KEY"], secret);
    assert!(
        stderr(&out).contains("warning: --embed-api-key"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains(secret) && !stdout(&out).contains(secret));
}

#[cfg(unix)]
#[test]
fn owner_group_and_mode_are_kept_when_run_as_root() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    if !thoth::platform::is_root() {
        return; // chown needs root; CI and this project's machines run tests as root.
    }
    let t = Thoth::new("dev");
    let config = place(&t, "realistic.json");
    std::os::unix::fs::chown(&config, Some(65534), Some(65534)).unwrap();
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o640)).unwrap();
    let out = wrap(&t, &["--json", config.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let backup = PathBuf::from(json_of(&out)["backup"].as_str().unwrap());
    for path in [&config, &backup] {
        let meta = std::fs::metadata(path).unwrap();
        assert_eq!(
            (meta.uid(), meta.gid(), meta.mode() & 0o777),
            (65534, 65534, 0o640),
            "{}",
            path.display()
        );
    }
}

/// An unwritable folder: refused with the folder named, the config byte-identical, nothing left behind.
/// Root writes anywhere, so as root the binary runs as `nobody` (a copy of it, so any checkout path works).
#[cfg(unix)]
#[test]
fn an_unwritable_folder_is_refused_and_the_config_left_as_it_was() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    let t = Thoth::new("dev");
    let open = |p: &Path, mode| {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap()
    };
    open(t.home.path(), 0o755);
    let config = place(&t, "realistic.json");
    let dir = config.parent().unwrap().to_owned();
    let original = std::fs::read(&config).unwrap();
    let bin = t.home.path().join("thoth");
    std::fs::copy(thoth_bin(), &bin).unwrap();
    open(&bin, 0o755);
    open(&dir, 0o555);
    let mut cmd = t.command();
    cmd.arg("wrap-config")
        .arg(&config)
        .stdin(std::process::Stdio::null());
    let mut cmd = if thoth::platform::is_root() {
        let mut as_nobody = std::process::Command::new(&bin);
        as_nobody
            .env_clear()
            .envs(cmd.get_envs().filter_map(|(k, v)| Some((k, v?))));
        as_nobody
            .arg("wrap-config")
            .arg(&config)
            .uid(65534)
            .gid(65534);
        as_nobody
    } else {
        cmd
    };
    let out = cmd.output().unwrap();
    open(&dir, 0o755);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("could not write {}", dir.display())),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read(&config).unwrap(), original);
    assert!(siblings(&config).is_empty(), "{:?}", siblings(&config));
}

/// A crash between the temp write and the rename (the dev-only test hook aborts there) leaves the old file
/// whole; the next run completes.
#[test]
fn a_crash_before_the_rename_leaves_the_old_file_whole() {
    let t = Thoth::new("dev");
    let config = place(&t, "realistic.json");
    let original = std::fs::read(&config).unwrap();
    let out = t
        .command()
        .env("THOTH_TEST_CRASH_BEFORE_RENAME", "1")
        .arg("wrap-config")
        .arg(&config)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success(), "the hook must abort the process");
    assert_eq!(
        std::fs::read(&config).unwrap(),
        original,
        "old content, whole"
    );
    // The hook is inert outside dev: a staging run (allowed as root here) completes.
    let staging = Thoth {
        home: tempfile::tempdir().unwrap(),
        env: "staging",
    };
    let config2 = place(&staging, "realistic.json");
    let out = staging
        .command()
        .env("THOTH_REQUIRE_NON_ROOT", "false")
        .env("THOTH_TEST_CRASH_BEFORE_RENAME", "1")
        .arg("wrap-config")
        .arg(&config2)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    // The next run in dev without the hook writes the new file whole.
    let out = wrap(&t, &[config.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(read_json(&config)["mcpServers"]["bare"]["args"][0], "run");
}

/// A real MCP client (the official Python SDK) started from a wrapped entry's command and args reaches the
/// original server through thoth.
#[test]
fn a_real_client_reaches_the_original_server_through_a_wrapped_entry() {
    let t = Thoth::new("dev");
    let dir = t.home.path().join("cfg");
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("claude_desktop_config.json");
    let server = crate::support::fixture_server();
    std::fs::write(
        &config,
        serde_json::to_vec_pretty(
            &json!({"mcpServers": {"fixture": {"command": server, "args": []}}}),
        )
        .unwrap(),
    )
    .unwrap();
    let out = wrap(
        &t,
        &["--enforcement-mode", "observe", config.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let entry = read_json(&config)["mcpServers"]["fixture"].clone();
    let command = entry["command"].as_str().unwrap();
    assert_eq!(Path::new(command), thoth_bin().canonicalize().unwrap());
    let mut probe = vec![std::ffi::OsString::from(command)];
    probe.extend(
        entry["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().into()),
    );
    let seen = crate::support::sdk_initialize(&t, &[], &probe);
    assert_eq!(
        seen,
        json!({"initialized": true, "server": "fixture-server"})
    );
}

#[test]
fn for_user_names_whose_config_and_bad_intent_maps_are_refused() {
    let t = Thoth::new("dev");
    let out = wrap(&t, &["--for-user", "no-such-user-thoth-test"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no user named no-such-user-thoth-test"),
        "{}",
        stderr(&out)
    );
    let status = t.output(&["status", "--for-user", "no-such-user-thoth-test"]);
    assert_eq!(status.status.code(), Some(3));

    // The user thoth runs as, named: their config under $HOME (the test's).
    let me = thoth::platform::user_name().expect("a user name");
    let default = t
        .home
        .path()
        .join(".config/Claude/claude_desktop_config.json");
    std::fs::create_dir_all(default.parent().unwrap()).unwrap();
    let out = wrap(&t, &["--for-user", &me, "--create"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(default.exists());
    let status = t.output(&["status", "--for-user", &me]);
    assert_eq!(status.status.code(), Some(0), "{}", stderr(&status));

    let config = place(&t, "older-wrap.json");
    let original = std::fs::read(&config).unwrap();
    let map = t.home.path().join("map.json");
    std::fs::write(&map, r#"{"plain": 7}"#).unwrap();
    let out = wrap(
        &t,
        &[
            "--intent-map",
            map.to_str().unwrap(),
            config.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(map.to_str().unwrap()) && stderr(&out).contains("\"plain\""),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read(&config).unwrap(), original);
}

/// The Jamf policy script (mdm/jamf/policy-install.sh) with Jamf's positional parameters, against the current
/// user's default config; run twice, the second run writes nothing.
#[cfg(unix)]
#[test]
fn the_jamf_policy_script_wraps_the_config() {
    let t = Thoth::new("dev");
    let config = t
        .home
        .path()
        .join(".config/Claude/claude_desktop_config.json");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::copy(fixture("wrap/older-wrap.json"), &config).unwrap();
    let script = crate::support::repo_root().join("mdm/jamf/policy-install.sh");
    let bin = thoth_bin();
    let run = || {
        let cmd = t.command();
        std::process::Command::new("sh")
            .env_clear()
            .envs(cmd.get_envs().filter_map(|(k, v)| Some((k, v?))))
            .env("THOTH_BIN", &bin)
            .arg(&script)
            .args(["/", "mac-001", "", "acme", "", "progressive"])
            .output()
            .unwrap()
    };
    let out = run();
    assert!(out.status.success(), "{}", stderr(&out));
    let v = read_json(&config);
    assert_eq!(v["mcpServers"]["plain"]["command"], bin.to_str().unwrap());
    let args = &v["mcpServers"]["plain"]["args"];
    assert_eq!(args[4], "acme");
    assert_eq!(args[6], "progressive");
    let text = std::fs::read(&config).unwrap();
    let out = run();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("nothing written"), "{}", stdout(&out));
    assert_eq!(std::fs::read(&config).unwrap(), text);
}
