//! `thoth health` over Claude Desktop beyond its config file: Desktop Extensions (never governed) and Claude
//! Desktop's own managed keys (THOTH_CLAUDE_DESKTOP_POLICY_FILE stands in for the OS sources), through the
//! JSON form (validated), the Jamf EA and Intune detection forms.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::support::{assert_valid, schema_validator, Thoth};

fn run(t: &Thoth, env: &[(&str, &str)], args: &[&str]) -> (i32, String) {
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
    )
}

fn json_report(t: &Thoth, env: &[(&str, &str)], config: &Path) -> Value {
    let (code, out) = run(t, env, &["--json", "--config", config.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_valid(&schema_validator("health.schema.json"), &report);
    report
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A Claude folder with an empty config and one extension `id` (enabled unless `enabled` is false).
fn extension_only(t: &Thoth, enabled: Option<bool>) -> PathBuf {
    let claude = t.home.path().join(".config/Claude");
    let config = claude.join("claude_desktop_config.json");
    write(&config, r#"{"mcpServers": {}}"#);
    write(
        &claude.join("Claude Extensions/ant.dir.gh.filesystem/manifest.json"),
        r#"{"manifest_version":"0.3","name":"filesystem","server":{"type":"node",
           "entry_point":"server/index.js","mcp_config":{"command":"node",
           "args":["${__dirname}/server/index.js","${user_config.allowed_directories}"]}}}"#,
    );
    if let Some(enabled) = enabled {
        write(
            &claude.join("Claude Extensions Settings/ant.dir.gh.filesystem.json"),
            &json!({"isEnabled": enabled, "userConfig": {}}).to_string(),
        );
    }
    config
}

#[test]
fn an_extension_only_claude_desktop_is_not_governed() {
    let t = Thoth::new("dev");
    let config = extension_only(&t, None);
    let r = json_report(&t, &[], &config);
    assert_eq!(r["claude_config"]["servers"], 0);
    assert_eq!(r["claude_config"]["governed"], true);
    assert_eq!(r["governed"], false, "{r:#}");
    assert_eq!(r["status"], "degraded");
    let row = &r["mcp_clients"][0];
    assert_eq!(
        (
            &row["client"],
            &row["servers"],
            &row["governed"],
            &row["ungoverned"]
        ),
        (
            &json!("claude-desktop"),
            &json!(1),
            &json!(false),
            &json!(["ant.dir.gh.filesystem"])
        )
    );
    let ext = &r["claude_desktop"]["extensions"][0];
    assert_eq!(
        (&ext["enabled"], &ext["command"]),
        (&json!(true), &json!("node"))
    );
    assert_eq!(r["claude_desktop"]["extensions_allowed"], true);
    let check = r["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "claude_desktop_extensions")
        .unwrap();
    assert_eq!(check["status"], "warn");
    assert!(check["detail"]
        .as_str()
        .unwrap()
        .contains("ant.dir.gh.filesystem"));
    let path = config.to_str().unwrap();
    let jamf = run(
        &t,
        &[],
        &[
            "--config", path, "--format", "jamf-ea", "--field", "governed",
        ],
    );
    assert_eq!(jamf, (0, "<result>false</result>\n".into()));
    let intune = run(&t, &[], &["--config", path, "--format", "intune-detect"]);
    assert_eq!(intune, (1, String::new()));
}

#[test]
fn a_disabled_extension_does_not_run_so_the_endpoint_stays_governed() {
    let t = Thoth::new("dev");
    let config = extension_only(&t, Some(false));
    let r = json_report(&t, &[], &config);
    assert_eq!(r["governed"], true, "{r:#}");
    assert_eq!(r["status"], "healthy");
    assert_eq!(r["mcp_clients"][0]["servers"], 1);
    assert_eq!(r["claude_desktop"]["extensions"][0]["enabled"], false);
}

#[test]
fn managed_keys_are_reported_and_disabling_extensions_governs() {
    let t = Thoth::new("dev");
    let config = extension_only(&t, Some(true));
    let reg = crate::support::fixture("claude_desktop/policy.reg");
    let env = [("THOTH_CLAUDE_DESKTOP_POLICY_FILE", reg.to_str().unwrap())];
    let r = json_report(&t, &env, &config);
    let policy = &r["claude_desktop"]["policy"];
    assert_eq!(policy["source"], json!(reg.to_str().unwrap()));
    assert_eq!(
        policy["keys"],
        json!({"isDesktopExtensionEnabled": false, "isDesktopExtensionDirectoryEnabled": null,
               "isDesktopExtensionSignatureRequired": true, "isLocalDevMcpEnabled": true})
    );
    assert_eq!(r["claude_desktop"]["extensions_allowed"], false);
    assert_eq!(r["governed"], true, "{r:#}");
    let json_policy = t.home.path().join("managed-settings.json");
    write(
        &json_policy,
        r#"{"isDesktopExtensionEnabled": "true", "isLocalDevMcpEnabled": 7}"#,
    );
    let env = [(
        "THOTH_CLAUDE_DESKTOP_POLICY_FILE",
        json_policy.to_str().unwrap(),
    )];
    let r = json_report(&t, &env, &config);
    assert_eq!(r["governed"], false);
    assert_eq!(
        r["claude_desktop"]["policy"]["keys"]["isLocalDevMcpEnabled"],
        Value::Null
    );
    let problems = r["claude_desktop"]["policy"]["problems"].to_string();
    assert!(problems.contains("isLocalDevMcpEnabled is 7"), "{problems}");
}

#[test]
fn a_remote_server_is_named_but_never_fails() {
    let t = Thoth::new("dev");
    let config = t.home.path().join("claude_desktop_config.json");
    write(
        &config,
        r#"{"mcpServers": {"docs": {"url": "https://mcp.example.com/mcp"}}}"#,
    );
    let r = json_report(&t, &[], &config);
    assert_eq!(
        (&r["status"], &r["governed"]),
        (&json!("healthy"), &json!(true))
    );
    assert_eq!(r["mcp_clients"][0]["remote"], json!(["docs"]));
    let check = r["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "remote_servers")
        .unwrap();
    assert_eq!(check["status"], "ok");
}

#[test]
fn every_client_found_counts_and_one_bare_server_anywhere_ungoverns_the_endpoint() {
    let t = Thoth::new("dev");
    let home = t.home.path();
    let config = home.join(".config/Claude/claude_desktop_config.json");
    write(&config, r#"{"mcpServers": {}}"#);
    let thoth = crate::support::thoth_bin();
    let governed =
        json!({"command": thoth, "args": ["run", "--agent-id", "gh", "--", "npx", "gh"]});
    write(
        &home.join(".cursor/mcp.json"),
        &json!({"mcpServers": {"gh": governed, "docs": {"url": "https://mcp.example.com"}}})
            .to_string(),
    );
    write(
        &home.join(".claude.json"),
        &json!({"numStartups": 3, "mcpServers": {"gh": governed},
                "projects": {"/src/app": {"mcpServers": {"db": {"type": "stdio", "command": "npx", "args": ["db"]}}}}})
        .to_string(),
    );
    let r = json_report(&t, &[], &config);
    let row = |name: &str| {
        r["mcp_clients"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["client"] == name)
            .unwrap()
            .clone()
    };
    let cursor = row("cursor");
    assert_eq!(
        (&cursor["found"], &cursor["governed"], &cursor["servers"]),
        (&json!(true), &json!(true), &json!(2))
    );
    assert_eq!(cursor["remote"], json!(["docs"]));
    let code = row("claude-code");
    assert_eq!(code["governed"], false, "{code:#}");
    assert_eq!(code["ungoverned"], json!(["db (local:/src/app)"]));
    assert_eq!(row("zed")["found"], false);
    assert_eq!(r["governed"], false);
    assert_eq!(r["status"], "degraded");
    // The project-local server wrapped away: every client governed, the remote one only named.
    write(
        &home.join(".claude.json"),
        &json!({"numStartups": 3, "mcpServers": {"gh": governed}}).to_string(),
    );
    let r = json_report(&t, &[], &config);
    assert_eq!(
        (&r["governed"], &r["status"]),
        (&json!(true), &json!("healthy")),
        "{r:#}"
    );
}

#[test]
fn doctor_shows_claude_desktops_managed_keys() {
    let t = Thoth::new("dev");
    let plist = crate::support::fixture("claude_desktop/policy.plist");
    let out = t
        .command()
        .env("THOTH_CLAUDE_DESKTOP_POLICY_FILE", &plist)
        .args(["doctor", "--json"])
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_valid(&schema_validator("doctor.schema.json"), &report);
    let policy = &report["claude_desktop_policy"];
    assert_eq!(policy["source"], json!(plist.to_str().unwrap()));
    assert_eq!(policy["keys"]["isDesktopExtensionEnabled"], false);
    assert_eq!(
        policy["keys"]["isDesktopExtensionSignatureRequired"],
        Value::Null
    );
    let human = t
        .command()
        .env("THOTH_CLAUDE_DESKTOP_POLICY_FILE", &plist)
        .arg("doctor")
        .output()
        .unwrap();
    let text = String::from_utf8(human.stdout).unwrap();
    assert!(text.contains("Claude Desktop managed keys ("), "{text}");
    assert!(
        text.lines()
            .any(|l| l.trim_start().starts_with("isLocalDevMcpEnabled") && l.ends_with("false")),
        "{text}"
    );
}
