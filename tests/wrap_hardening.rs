//! Issue 12 for wrap-config, status and health: parallel runs on one file lose no update and never share a
//! backup name (§7); `--unwrap --output` reads the record kept for INPUT (§9); an embedded key stays in 0600
//! files, out of dry runs and out of unwrap's backup (§5); a command merely named thoth does not govern, the
//! same binary elsewhere does (§2); a re-wrap drops flags a managed setting contradicts (§3).

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use serde_json::{json, Value};

use crate::support::{fixture, thoth_bin, Thoth};

fn config_in(t: &Thoth, value: &Value) -> PathBuf {
    let dir = t.home.path().join("cfg");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("claude_desktop_config.json");
    std::fs::write(&path, serde_json::to_string_pretty(value).unwrap() + "\n").unwrap();
    path
}

fn run(t: &Thoth, env: &[(&str, &str)], args: &[&str]) -> Output {
    t.command()
        .envs(env.iter().copied())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Ten wrap-config runs at once on one file, each wrapping its own server with its own `--env`: every
/// change lands, every run made its own backup (ten names, ten different previous contents), no lock left.
#[test]
fn ten_parallel_runs_on_one_file_lose_no_update_and_backups_never_collide() {
    let t = Thoth::new("dev");
    let servers: serde_json::Map<String, Value> = (0..10)
        .map(|i| {
            (
                format!("s{i}"),
                json!({"command": "npx", "args": ["-y", format!("server-{i}")]}),
            )
        })
        .collect();
    let config = config_in(&t, &json!({"mcpServers": servers}));
    let path = config.to_str().unwrap().to_owned();
    let children: Vec<_> = (0..10)
        .map(|i| {
            t.command()
                .args(["wrap-config", "--only", &format!("s{i}"), "--env"])
                .arg(format!("RUN={i}"))
                .arg(&path)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(String::from_utf8_lossy(&out.stdout).contains("wrote"));
    }
    let v = read_json(&config);
    for i in 0..10 {
        let entry = &v["mcpServers"][format!("s{i}")];
        assert_eq!(entry["args"][0], "run", "s{i} was wrapped: {entry}");
        assert_eq!(entry["env"], json!({"RUN": i.to_string()}), "s{i}");
    }
    let names = names_in(config.parent().unwrap());
    let backups: Vec<&String> = names
        .iter()
        .filter(|n| n.contains(".thoth-backup-"))
        .collect();
    assert_eq!(backups.len(), 10, "{names:?}");
    // Each backup is the state before one run: 0 to 9 servers wrapped, each count once.
    let mut wrapped_counts: Vec<usize> = backups
        .iter()
        .map(|b| {
            let v = read_json(&config.with_file_name(b));
            v["mcpServers"]
                .as_object()
                .unwrap()
                .values()
                .filter(|e| e["args"][0] == "run")
                .count()
        })
        .collect();
    wrapped_counts.sort();
    assert_eq!(wrapped_counts, (0..10).collect::<Vec<_>>());
    assert!(!names.iter().any(|n| n.contains("thoth-lock")), "{names:?}");
}

/// `--unwrap --output OTHER IN` reads IN's record: OTHER is the original byte for byte (no `"args": []`
/// added, env as it was), and IN and its record stay as they were.
#[test]
fn unwrap_output_reads_the_record_kept_for_input_and_restores_the_original_bytes() {
    let t = Thoth::new("dev");
    let config = config_in(
        &t,
        &json!({"mcpServers": {
            "bare": {"command": "uvx"},
            "fs": {"command": "npx", "args": ["-y", "fs"], "env": {"LOG": "1"}}
        }}),
    );
    let original = std::fs::read(&config).unwrap();
    let path = config.to_str().unwrap();
    let out = run(&t, &[], &["wrap-config", "--env", "LOG=2", path]);
    assert!(out.status.success(), "{}", stderr(&out));
    let wrapped = std::fs::read(&config).unwrap();
    let record = config.with_file_name("claude_desktop_config.json.thoth-wrap.json");
    let record_bytes = std::fs::read(&record).unwrap();

    let other = t.home.path().join("elsewhere/restored.json");
    std::fs::create_dir_all(other.parent().unwrap()).unwrap();
    let out = run(
        &t,
        &[],
        &[
            "wrap-config",
            "--unwrap",
            "--output",
            other.to_str().unwrap(),
            path,
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        String::from_utf8(std::fs::read(&other).unwrap()).unwrap(),
        String::from_utf8(original.clone()).unwrap()
    );
    assert_eq!(std::fs::read(&config).unwrap(), wrapped, "INPUT untouched");
    assert_eq!(
        std::fs::read(&record).unwrap(),
        record_bytes,
        "INPUT's record kept"
    );
    assert_eq!(names_in(other.parent().unwrap()), ["restored.json"]);

    // Wrapped into OTHER, the record goes beside OTHER; unwrapping OTHER in place gives the original.
    std::fs::write(&config, &original).unwrap();
    std::fs::remove_file(&record).unwrap();
    std::fs::remove_file(&other).unwrap();
    let out = run(
        &t,
        &[],
        &[
            "wrap-config",
            "--env",
            "LOG=2",
            "--output",
            other.to_str().unwrap(),
            path,
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!record.exists());
    let out = run(
        &t,
        &[],
        &["wrap-config", "--unwrap", other.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(std::fs::read(&other).unwrap(), original);
}

/// `--embed-api-key`: the dry run shows `***`; the written config is 0600 (was 0644), so is every backup
/// that holds the key; unwrap's backup has the key masked; no file readable by others ever holds it.
#[cfg(unix)]
#[test]
fn an_embedded_key_stays_in_private_files_out_of_dry_runs_and_out_of_unwrap_backups() {
    use std::os::unix::fs::PermissionsExt;
    let t = Thoth::new("dev");
    let secret = "tk_live_EMBED_7c1d";
    let key = [("THOTH_API_KEY", secret)];
    let config = config_in(
        &t,
        &json!({"mcpServers": {"fs": {"command": "npx", "args": ["-y", "fs"]}}}),
    );
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o644)).unwrap();
    let dir = config.parent().unwrap().to_owned();
    let path = config.to_str().unwrap();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;

    let out = run(
        &t,
        &key,
        &[
            "wrap-config",
            "--embed-api-key",
            "--dry-run",
            "--json",
            path,
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let diff = report["diff"].as_str().unwrap();
    assert!(diff.contains("\"THOTH_API_KEY\": \"***\""), "{diff}");
    let out_text = String::from_utf8_lossy(&out.stdout);
    assert!(!out_text.contains(secret) && !stderr(&out).contains(secret));
    let out = run(
        &t,
        &key,
        &["wrap-config", "--embed-api-key", "--dry-run", path],
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains(secret));
    assert_eq!(names_in(&dir), ["claude_desktop_config.json"]);

    let out = run(&t, &key, &["wrap-config", "--embed-api-key", path]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        read_json(&config)["mcpServers"]["fs"]["env"]["THOTH_API_KEY"],
        secret
    );
    assert_eq!(mode(&config), 0o600, "the config holding the key");
    // Again with a change: the previous content (with the key) goes to a backup, 0600.
    let out = run(
        &t,
        &key,
        &["wrap-config", "--embed-api-key", "--env", "LOG=1", path],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    // A dry run of the unwrap masks the key too.
    let out = run(&t, &[], &["wrap-config", "--unwrap", "--dry-run", path]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"THOTH_API_KEY\": \"***\""));
    assert!(!String::from_utf8_lossy(&out.stdout).contains(secret));
    let before_unwrap = names_in(&dir);
    let out = run(&t, &[], &["wrap-config", "--unwrap", "--json", path]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let unwrap_backup = PathBuf::from(report["backup"].as_str().unwrap());
    assert!(!before_unwrap.contains(
        &unwrap_backup
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned()
    ));
    let kept = std::fs::read_to_string(&unwrap_backup).unwrap();
    assert!(
        !kept.contains(secret) && kept.contains("\"THOTH_API_KEY\": \"***\""),
        "{kept}"
    );
    assert!(!std::fs::read_to_string(&config).unwrap().contains(secret));

    let mut holding = 0;
    for name in names_in(&dir) {
        let file = dir.join(&name);
        if std::fs::read_to_string(&file).unwrap().contains(secret) {
            holding += 1;
            assert_eq!(mode(&file), 0o600, "{name} holds the key");
        }
    }
    assert_eq!(holding, 1, "the second wrap's backup: {:?}", names_in(&dir));
}

/// Governed means run by this thoth: the binary itself, a copy with the same SHA-256 and a symlink to it
/// count; a missing path, a shell shim named thoth (even one that execs the real thoth) and a bare `thoth`
/// do not, unless a managed THOTH_TRUSTED_INSTALL_PATHS lists the shim (the user's env cannot).
#[cfg(unix)]
#[test]
fn a_shim_or_a_missing_path_is_not_governed_a_same_sha256_copy_is() {
    use std::os::unix::fs::PermissionsExt;
    let t = Thoth::new("dev");
    let bin = thoth_bin().canonicalize().unwrap();
    let place = |rel: &str| {
        let p = t.home.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        p
    };
    let copy = place("opt/copy/thoth");
    std::fs::copy(&bin, &copy).unwrap();
    let link = place("opt/link/thoth");
    std::os::unix::fs::symlink(&bin, &link).unwrap();
    let shim = place("opt/shim/thoth");
    std::fs::write(&shim, format!("#!/bin/sh\nexec {} \"$@\"\n", bin.display())).unwrap();
    std::fs::set_permissions(&shim, std::fs::Permissions::from_mode(0o755)).unwrap();
    let missing = place("opt/missing/thoth");
    let entry = |command: &Path| json!({"command": command, "args": ["run", "--", "npx", "x"]});
    let config = config_in(
        &t,
        &json!({"mcpServers": {
            "real": entry(&bin),
            "copy": entry(&copy),
            "link": entry(&link),
            "shim": entry(&shim),
            "missing": entry(&missing),
            "bare": {"command": "thoth", "args": ["run", "--", "npx", "x"]}
        }}),
    );
    let path = config.to_str().unwrap();
    let status = |env: &[(&str, &str)]| {
        let out = run(&t, env, &["status", "--json", path]);
        (
            out.status.code(),
            serde_json::from_slice::<Value>(&out.stdout).unwrap(),
        )
    };
    let (code, v) = status(&[]);
    assert_eq!(code, Some(1));
    // (json! keeps keys sorted: the config lists the servers in that order.)
    assert_eq!(v["governed"], json!(["copy", "link", "real"]));
    assert_eq!(v["ungoverned"], json!(["bare", "missing", "shim"]));
    let reason = |name: &str| {
        v["servers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap()["ungoverned_reason"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert!(
        reason("shim").contains("is not this thoth binary"),
        "{}",
        reason("shim")
    );
    assert!(reason("missing").contains("cannot be read"));
    assert!(reason("bare").contains("not an absolute path"));
    // The Unicode marks whatever the locale; THOTH_ASCII=1 gives `no` (commands::status_glyphs).
    for env in [&[("LANG", "C.UTF-8")][..], &[]] {
        let text = run(&t, env, &["status", path]);
        assert!(String::from_utf8_lossy(&text.stdout).contains("✗ (not this thoth)"));
    }
    let text = run(&t, &[("THOTH_ASCII", "1")], &["status", path]);
    assert!(String::from_utf8_lossy(&text.stdout).contains("no (not this thoth)"));
    let out = run(
        &t,
        &[],
        &[
            "health", "--config", path, "--format", "jamf-ea", "--field", "governed",
        ],
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "<result>false</result>\n"
    );

    // The user's own env does not widen what counts; a managed value does.
    let listed = shim.to_str().unwrap();
    let (_, v) = status(&[("THOTH_TRUSTED_INSTALL_PATHS", listed)]);
    assert_eq!(v["governed"], json!(["copy", "link", "real"]));
    let managed = t.home.path().join("managed.json");
    std::fs::write(
        &managed,
        json!({"THOTH_TRUSTED_INSTALL_PATHS": listed}).to_string(),
    )
    .unwrap();
    let managed_env = [("THOTH_MANAGED_SETTINGS_FILE", managed.to_str().unwrap())];
    let (_, v) = status(&managed_env);
    assert_eq!(v["governed"], json!(["copy", "link", "real", "shim"]));

    // wrap-config with a --thoth-path that is not this thoth says so (and still writes what it was told).
    let out = run(
        &t,
        &[],
        &[
            "wrap-config",
            "--only",
            "shim",
            "--thoth-path",
            missing.to_str().unwrap(),
            path,
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("will report these servers as not governed"),
        "{}",
        stderr(&out)
    );
}

/// MDM fixes the policy, the mode and the tenant: wrap-config writes the managed values (a contradicting
/// flag is overridden, with a warning) and drops an older wrap's `--policy` and `--approved-scope`.
#[test]
fn a_rewrap_drops_flags_a_managed_setting_contradicts() {
    let t = Thoth::new("dev");
    let dir = t.home.path().join("cfg");
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("claude_desktop_config.json");
    let mut v: Value =
        serde_json::from_slice(&std::fs::read(fixture("wrap/older-wrap.json")).unwrap()).unwrap();
    v["mcpServers"]["everything"]["command"] = json!(thoth_bin());
    let args = v["mcpServers"]["everything"]["args"]
        .as_array_mut()
        .unwrap();
    args.splice(
        9..9,
        [
            json!("--approved-scope=write_file"),
            json!("--max-pending"),
            json!("9"),
        ],
    );
    std::fs::write(&config, serde_json::to_string_pretty(&v).unwrap()).unwrap();
    let policy = t.home.path().join("managed-policy.json");
    std::fs::write(&policy, r#"{"*": {"approved_tools": ["read_file"]}}"#).unwrap();
    let managed = t.home.path().join("managed.json");
    std::fs::write(
        &managed,
        json!({"THOTH_POLICY_FILE": policy, "THOTH_ENFORCEMENT_MODE": "block", "THOTH_TENANT_ID": "acme"}).to_string(),
    )
    .unwrap();
    let env = [("THOTH_MANAGED_SETTINGS_FILE", managed.to_str().unwrap())];
    let out = run(
        &t,
        &env,
        &[
            "wrap-config",
            "--enforcement-mode",
            "observe",
            "--tenant-id",
            "other",
            "--json",
            config.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("--enforcement-mode is ignored: THOTH_ENFORCEMENT_MODE is managed"),
        "{err}"
    );
    assert!(err.contains("--tenant-id is ignored"), "{err}");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        report["servers"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("dropped --policy /etc/thoth/policy.json --approved-scope=write_file"),
        "{report:#}"
    );
    let v = read_json(&config);
    assert_eq!(
        v["mcpServers"]["everything"]["args"],
        json!([
            "run",
            "--agent-id",
            "everything",
            "--tenant-id",
            "acme",
            "--enforcement-mode",
            "block",
            "--max-pending",
            "9",
            "--",
            "npx",
            "-y",
            "@modelcontextprotocol/server-everything"
        ])
    );
    assert_eq!(v["mcpServers"]["plain"]["args"][6], "block");
}
