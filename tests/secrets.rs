//! Issue 17: the secret store (file backend, as on a headless Linux endpoint), `thoth secrets`,
//! `wrap-config --vault-secrets` / `--unwrap`, `thoth-secret:` resolution at spawn, and
//! THOTH_REQUIRE_VAULTED_SECRETS. Values are searched for raw, JSON-escaped, base64 and hex.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use base64::Engine;
use serde_json::{json, Value};

use crate::support::{assert_valid, fixture_server, npm_bin, schema_validator, Session, Thoth};

/// The checks' kind of value: spaces, `$`, `"`, `\` and `ü`.
const ODD: &str = "a b $HOME \"quoted\" back\\slash ü end";
const GH: &str = "ghp_0123456789abcdefghijABCDEFGHIJ012345";
const PG: &str = "postgres://app:Pw-9f8e7d6c5b@db.internal:5432/prod";
const SLACK: &str = "xoxb-123456789012-1234567890123-abcdefghijklmnopqrstuvwx";

const CONFIG: &str = r#"{
  "mcpServers": {
    "github": {
      "command": "npx",
      "args": [
        "-y",
        "@modelcontextprotocol/server-github"
      ],
      "env": {
        "GITHUB_PERSONAL_ACCESS_TOKEN": "ghp_0123456789abcdefghijABCDEFGHIJ012345",
        "LOG_LEVEL": "debug"
      }
    },
    "postgres": {
      "command": "npx",
      "args": [
        "-y",
        "@modelcontextprotocol/server-postgres"
      ],
      "env": {
        "DATABASE_URL": "postgres://app:Pw-9f8e7d6c5b@db.internal:5432/prod",
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "PGCONNECT_TIMEOUT": "10"
      }
    },
    "slack": {
      "command": "npx",
      "args": [
        "-y",
        "@modelcontextprotocol/server-slack"
      ],
      "env": {
        "SLACK_BOT_TOKEN": "xoxb-123456789012-1234567890123-abcdefghijklmnopqrstuvwx",
        "SLACK_TEAM_ID": "T01234567",
        "NODE_ENV": "production"
      }
    }
  }
}
"#;

/// A headless endpoint: no session bus, no display (the store must be the file backend).
fn thoth() -> Thoth {
    Thoth::new("dev")
}

/// The spellings of `value` a leak could take.
fn spellings(value: &str) -> Vec<Vec<u8>> {
    let quoted = serde_json::to_string(value).unwrap();
    let hex: String = value.bytes().map(|b| format!("{b:02x}")).collect();
    vec![
        value.as_bytes().to_vec(),
        quoted.as_bytes()[1..quoted.len() - 1].to_vec(),
        base64::engine::general_purpose::STANDARD
            .encode(value)
            .into_bytes(),
        hex.into_bytes(),
    ]
}

fn leaks(hay: &[u8], value: &str) -> bool {
    spellings(value)
        .iter()
        .any(|needle| hay.windows(needle.len()).any(|w| w == needle.as_slice()))
}

/// Every file under `root` except the secret store.
fn files_outside_the_store(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        for item in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = item.path();
            if path.ends_with(".thoth/secrets") {
                continue;
            }
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out
}

fn assert_nowhere(root: &Path, values: &[&str]) {
    for path in files_outside_the_store(root) {
        let bytes = std::fs::read(&path).unwrap_or_default();
        for value in values {
            assert!(!leaks(&bytes, value), "{} holds a value", path.display());
        }
    }
}

fn set(t: &Thoth, name: &str, stdin: &[u8]) -> std::process::Output {
    let mut child = t
        .command()
        .args(["secrets", "set", name, "--from-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

fn list(t: &Thoth) -> Value {
    let out = t.output(&["secrets", "list", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_valid(&schema_validator("secrets-list.schema.json"), &list);
    list
}

fn names(list: &Value) -> Vec<String> {
    list["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_owned())
        .collect()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn store_dir(t: &Thoth) -> PathBuf {
    t.home.path().join(".thoth/secrets")
}

fn store_files(t: &Thoth) -> Vec<PathBuf> {
    std::fs::read_dir(store_dir(t))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect()
}

#[test]
fn the_store_keeps_values_byte_exact_lists_names_only_and_refuses_open_modes() {
    let t = thoth();
    assert_eq!(
        names(&list(&t)),
        Vec::<String>::new(),
        "an empty store lists"
    );
    let out = set(&t, "srv/ODD_TOKEN", format!("{ODD}\r\n").as_bytes());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!leaks(&out.stdout, ODD) && !leaks(&out.stderr, ODD));
    let out = set(&t, "srv/ODD_TOKEN", format!("{ODD}\n").as_bytes());
    assert!(out.status.success(), "overwrites");
    let listed = list(&t);
    assert_eq!(names(&listed), ["srv/ODD_TOKEN"]);
    assert_eq!(listed["backend"], "file");
    assert!(!leaks(listed.to_string().as_bytes(), ODD));
    let files = store_files(&t);
    assert_eq!(files.len(), 1);
    assert_eq!((mode(&store_dir(&t)), mode(&files[0])), (0o700, 0o600));
    // Byte for byte, through the value the file backend holds (the checks do not look inside).
    let disk: Value = serde_json::from_slice(&std::fs::read(&files[0]).unwrap()).unwrap();
    assert_eq!(disk["value"], ODD);

    // A value as an argument is a usage error and stores nothing; stderr does not echo it.
    let out = t.output(&["secrets", "set", "srv/ARG_TOKEN", "s3cret-on-argv"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("s3cret-on-argv"));
    assert_eq!(names(&list(&t)), ["srv/ODD_TOKEN"]);

    // --reveal only to a terminal: a pipe is refused.
    let out = t.output(&["secrets", "get", "srv/ODD_TOKEN", "--reveal"]);
    assert!(!out.status.success() && !leaks(&out.stdout, ODD));

    // Too open (a file or the folder): every command refuses, naming the path; the mode is not repaired.
    for (path, wide) in [(files[0].clone(), 0o644), (store_dir(&t), 0o755)] {
        let before = mode(&path);
        chmod(&path, wide);
        for args in [
            vec!["secrets", "list", "--json"],
            vec!["secrets", "rm", "srv/ODD_TOKEN"],
        ] {
            let out = t.output(&args);
            assert!(!out.status.success(), "{args:?}");
            assert!(
                String::from_utf8_lossy(&out.stderr).contains(".thoth/secrets"),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let out = set(&t, "srv/OTHER", b"x");
        assert!(!out.status.success());
        assert_eq!(mode(&path), wide, "not repaired");
        chmod(&path, before);
    }
    assert_eq!(names(&list(&t)), ["srv/ODD_TOKEN"]);
    assert!(t
        .output(&["secrets", "rm", "srv/ODD_TOKEN"])
        .status
        .success());
    assert_eq!(names(&list(&t)), Vec::<String>::new());
}

fn config_in(t: &Thoth) -> PathBuf {
    let dir = t.home.path().join("Library/Application Support/Claude");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("claude_desktop_config.json");
    std::fs::write(&path, CONFIG).unwrap();
    path
}

fn wrap(t: &Thoth, args: &[&str]) -> std::process::Output {
    let mut all = vec!["wrap-config"];
    all.extend_from_slice(args);
    let out = t.output(&all);
    assert!(
        out.status.success(),
        "{all:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    for value in [GH, PG, SLACK] {
        assert!(
            !leaks(&out.stdout, value) && !leaks(&out.stderr, value),
            "{all:?}"
        );
    }
    out
}

fn backups(config: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(config.parent().unwrap())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().contains(".thoth-backup-"))
        .collect()
}

#[test]
fn vaulting_moves_secrets_keeps_references_everywhere_and_unwrap_restores_the_bytes() {
    let t = thoth();
    let config = config_in(&t);
    let c = config.to_str().unwrap();

    let dry = wrap(&t, &["--dry-run", "--vault-secrets", c]);
    let text = String::from_utf8_lossy(&dry.stdout);
    for (server, key) in [
        ("github", "GITHUB_PERSONAL_ACCESS_TOKEN"),
        ("postgres", "DATABASE_URL"),
        ("slack", "SLACK_BOT_TOKEN"),
    ] {
        assert!(
            text.contains(&format!("{server}: {key} -> thoth-secret:{server}/{key}")),
            "{text}"
        );
    }
    assert_eq!(std::fs::read_to_string(&config).unwrap(), CONFIG);
    assert!(backups(&config).is_empty(), "a dry run writes no backup");
    assert_eq!(names(&list(&t)), Vec::<String>::new(), "and stores nothing");

    let out = wrap(&t, &["--vault-secrets", "--json", c]);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_valid(&schema_validator("wrap-report.schema.json"), &report);
    let wrapped: Value = serde_json::from_str(&std::fs::read_to_string(&config).unwrap()).unwrap();
    let env = |server: &str, key: &str| wrapped["mcpServers"][server]["env"][key].clone();
    assert_eq!(
        env("github", "GITHUB_PERSONAL_ACCESS_TOKEN"),
        "thoth-secret:github/GITHUB_PERSONAL_ACCESS_TOKEN"
    );
    assert_eq!(
        env("postgres", "DATABASE_URL"),
        "thoth-secret:postgres/DATABASE_URL"
    );
    assert_eq!(
        env("slack", "SLACK_BOT_TOKEN"),
        "thoth-secret:slack/SLACK_BOT_TOKEN"
    );
    for (server, key, value) in [
        ("github", "LOG_LEVEL", "debug"),
        ("postgres", "PATH", "/usr/local/bin:/usr/bin:/bin"),
        ("postgres", "PGCONNECT_TIMEOUT", "10"),
        ("slack", "SLACK_TEAM_ID", "T01234567"),
        ("slack", "NODE_ENV", "production"),
    ] {
        assert_eq!(env(server, key), value, "{key} stays");
    }
    let mut stored = names(&list(&t));
    stored.sort();
    assert_eq!(
        stored,
        [
            "github/GITHUB_PERSONAL_ACCESS_TOKEN",
            "postgres/DATABASE_URL",
            "slack/SLACK_BOT_TOKEN"
        ]
    );
    let written = backups(&config);
    assert_eq!(written.len(), 1, "the backup is still written");
    assert!(std::fs::read_to_string(&written[0])
        .unwrap()
        .contains("thoth-secret:github/GITHUB_PERSONAL_ACCESS_TOKEN"));
    assert_nowhere(t.home.path(), &[GH, PG, SLACK]);

    // Idempotent: a second run changes nothing.
    let before = std::fs::read(&config).unwrap();
    wrap(&t, &["--vault-secrets", c]);
    assert_eq!(std::fs::read(&config).unwrap(), before);

    // --keep-vaulted would leave a server thoth no longer resolves for: refused, and says so.
    let out = t.output(&["wrap-config", "--unwrap", "--keep-vaulted", c]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("GITHUB_PERSONAL_ACCESS_TOKEN"));
    assert_eq!(std::fs::read(&config).unwrap(), before);

    // A store too open refuses the unwrap, naming it.
    let file = store_files(&t)[0].clone();
    chmod(&file, 0o640);
    let out = t.output(&["wrap-config", "--unwrap", c]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains(".thoth/secrets"));
    assert_eq!(std::fs::read(&config).unwrap(), before);
    chmod(&file, 0o600);

    wrap(&t, &["--unwrap", c]);
    assert_eq!(
        std::fs::read_to_string(&config).unwrap(),
        CONFIG,
        "byte for byte"
    );
}

#[test]
fn vaulting_an_earlier_wrap_vaults_it_in_place_and_scrubs_the_older_backups() {
    let t = thoth();
    let config = config_in(&t);
    let c = config.to_str().unwrap();
    wrap(&t, &[c]);
    let old = backups(&config);
    assert_eq!(old.len(), 1);
    assert!(
        leaks(&std::fs::read(&old[0]).unwrap(), GH),
        "the plain wrap's backup holds it"
    );
    let old_mode = mode(&old[0]);

    wrap(&t, &["--vault-secrets", c]);
    let wrapped = std::fs::read_to_string(&config).unwrap();
    assert!(wrapped.contains("\"thoth-secret:slack/SLACK_BOT_TOKEN\""));
    assert!(wrapped.contains("\"run\""), "still wrapped");
    for backup in backups(&config) {
        let text = std::fs::read_to_string(&backup).unwrap();
        assert!(
            text.contains("thoth-secret:github/GITHUB_PERSONAL_ACCESS_TOKEN"),
            "{text}"
        );
    }
    assert_eq!(mode(&old[0]), old_mode, "a scrubbed backup keeps its mode");
    assert_nowhere(t.home.path(), &[GH, PG, SLACK]);
    wrap(&t, &["--unwrap", c]);
    assert_eq!(std::fs::read_to_string(&config).unwrap(), CONFIG);
}

/// `sh -c` writing the variable to a file, then the fixture MCP server: proves the value reached the
/// server's environment while argv holds only `$TOK`.
fn recording_server(seen: &Path) -> Vec<String> {
    vec![
        "/bin/sh".into(),
        "-c".into(),
        format!(
            "printf %s \"$TOK\" > '{}'; exec '{}'",
            seen.display(),
            fixture_server().display()
        ),
    ]
}

fn recv_text(s: &Session, into: &mut String) -> Value {
    let v = s.recv();
    into.push_str(&v.to_string());
    v
}

#[test]
fn run_resolves_references_at_spawn_only_and_keeps_values_out_of_its_output() {
    let t = thoth();
    assert!(set(&t, "srv/TOK", ODD.as_bytes()).status.success());
    let seen = t.home.path().join("seen");
    let server = recording_server(&seen);
    let mut cmd = t.command();
    cmd.env("THOTH_LOG", "trace")
        .env("TOK", "thoth-secret:srv/TOK")
        .args(["run", "--agent-id", "srv", "--"])
        .args(&server);
    let mut s = Session::spawn(cmd);
    let mut stdout = String::new();
    s.send(&json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": crate::support::init_params()}));
    let init = recv_text(&s, &mut stdout);
    assert_eq!(
        init["result"]["serverInfo"]["name"],
        "fixture-server",
        "{init}\n{}",
        s.stderr()
    );
    s.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
    s.send(&json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}));
    let tools = recv_text(&s, &mut stdout);
    let tool = tools["result"]["tools"][0]["name"]
        .as_str()
        .unwrap()
        .to_owned();
    s.send(&json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": tool, "arguments": {}}}));
    recv_text(&s, &mut stdout);
    s.close_stdin();
    assert!(s.wait_timeout(crate::support::TIMEOUT).is_some());
    for frame in s.drain_frames() {
        stdout.push_str(&frame.to_string());
    }
    assert_eq!(
        std::fs::read_to_string(&seen).unwrap(),
        ODD,
        "the server got the value"
    );
    assert!(!leaks(stdout.as_bytes(), ODD), "stdout");
    assert!(
        !leaks(s.stderr().as_bytes(), ODD),
        "stderr (THOTH_LOG=trace)"
    );
    assert!(!server.iter().any(|a| leaks(a.as_bytes(), ODD)), "argv");
    let audit = t.home.path().join(".thoth/audit");
    let records: Vec<_> = std::fs::read_dir(&audit).unwrap().flatten().collect();
    assert!(!records.is_empty(), "the session was audited");
    std::fs::remove_file(&seen).unwrap();
    assert_nowhere(t.home.path(), &[ODD]);
}

#[test]
fn run_refuses_to_start_on_a_missing_secret_or_a_store_too_open() {
    let t = thoth();
    assert!(set(&t, "srv/TOK", b"v-1234").status.success());
    for (reference, open) in [
        ("thoth-secret:ghost/GHOST_TOKEN", false),
        ("thoth-secret:srv/TOK", true),
    ] {
        let file = store_files(&t)[0].clone();
        if open {
            chmod(&file, 0o644);
        }
        let seen = t.home.path().join("seen");
        let mut cmd = t.command();
        cmd.env("TOK", reference)
            .args(["run", "--"])
            .args(recording_server(&seen));
        let mut s = Session::spawn(cmd);
        let resp = s.request(json!(1), "initialize", crate::support::init_params());
        let error = resp["error"].to_string();
        if open {
            assert!(error.contains(".thoth/secrets"), "{resp}");
        } else {
            assert!(
                error.contains("ghost/GHOST_TOKEN") && error.contains("secrets set"),
                "{resp}"
            );
        }
        let again = s.request(json!(2), "tools/list", json!({}));
        assert!(
            again["error"].is_object(),
            "every request is refused: {again}"
        );
        s.close_stdin();
        let status = s.wait_timeout(crate::support::TIMEOUT).expect("exits");
        assert_eq!(status.code(), Some(1));
        let stderr = s.stderr();
        assert!(
            stderr.contains(if open {
                ".thoth/secrets"
            } else {
                "ghost/GHOST_TOKEN"
            }),
            "{stderr}"
        );
        assert!(!seen.exists(), "the server was never started");
        if open {
            assert_eq!(mode(&file), 0o644, "not repaired");
            chmod(&file, 0o600);
        }
    }
}

#[test]
fn a_real_mcp_server_receives_the_value_in_its_environment() {
    let t = thoth();
    assert!(set(&t, "everything/API_TOKEN", ODD.as_bytes())
        .status
        .success());
    let mut cmd = t.command();
    cmd.env("API_TOKEN", "thoth-secret:everything/API_TOKEN")
        .args(["run", "--agent-id", "everything", "--"])
        .arg(npm_bin("mcp-server-everything"));
    let mut s = Session::spawn(cmd);
    let init = s.request(json!(1), "initialize", crate::support::init_params());
    assert!(init["result"].is_object(), "{init}\n{}", s.stderr());
    s.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
    let resp = s.request(
        json!(2),
        "tools/call",
        json!({"name": "get-env", "arguments": {}}),
    );
    let text = resp["result"]["content"][0]["text"]
        .as_str()
        .expect("get-env text");
    let env: Value = serde_json::from_str(text).unwrap();
    assert_eq!(
        env["API_TOKEN"], ODD,
        "server-everything saw the stored value"
    );
    s.close_stdin();
    s.wait_timeout(crate::support::TIMEOUT);
}

#[test]
fn require_vaulted_secrets_makes_status_and_health_name_each_plain_key() {
    let t = thoth();
    let config = config_in(&t);
    let c = config.to_str().unwrap();
    wrap(&t, &[c]);
    let managed = t.home.path().join("managed.json");
    let run = |args: &[&str], required: bool| {
        let mut cmd = t.command();
        if required {
            std::fs::write(&managed, r#"{"THOTH_REQUIRE_VAULTED_SECRETS": true}"#).unwrap();
        } else {
            std::fs::write(&managed, "{}").unwrap();
        }
        cmd.env("THOTH_ENV", "prod")
            .env("THOTH_REQUIRE_NON_ROOT", "false")
            .env("THOTH_MANAGED_SETTINGS_FILE", &managed)
            .args(args)
            .stdin(Stdio::null());
        cmd.output().unwrap()
    };
    let keys = [
        "GITHUB_PERSONAL_ACCESS_TOKEN",
        "DATABASE_URL",
        "SLACK_BOT_TOKEN",
    ];
    let flagged = |health: &Value| -> String {
        health["checks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["status"] == "warn" || c["status"] == "fail")
            .map(|c| c["detail"].as_str().unwrap().to_owned())
            .collect()
    };
    for vaulted in [false, true] {
        if vaulted {
            wrap(&t, &["--vault-secrets", c]);
        }
        let status = run(&["status", "--json", c], true);
        let health = run(&["health", "--json", "--config", c], true);
        let health_json: Value = serde_json::from_slice(&health.stdout).unwrap();
        assert_valid(&schema_validator("health.schema.json"), &health_json);
        let status_json: Value = serde_json::from_slice(&status.stdout).unwrap();
        assert_valid(&schema_validator("status.schema.json"), &status_json);
        for key in keys {
            let named = String::from_utf8_lossy(&status.stdout).contains(key);
            assert_eq!(named, !vaulted, "status names {key} only while plain");
            assert_eq!(
                flagged(&health_json).contains(key),
                !vaulted,
                "health {key}"
            );
        }
        for value in [GH, PG, SLACK] {
            assert!(!leaks(&status.stdout, value) && !leaks(&status.stderr, value));
            assert!(!leaks(&health.stdout, value));
        }
        assert_eq!(status.status.code(), Some(if vaulted { 0 } else { 1 }));
        if !vaulted {
            assert!(matches!(
                health_json["status"].as_str(),
                Some("degraded" | "unhealthy")
            ));
            // Without the setting: as today.
            let status = run(&["status", "--json", c], false);
            assert_eq!(status.status.code(), Some(0));
            let health: Value =
                serde_json::from_slice(&run(&["health", "--json", "--config", c], false).stdout)
                    .unwrap();
            for key in keys {
                assert!(!flagged(&health).contains(key));
            }
        }
    }
}
