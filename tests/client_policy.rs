//! `thoth mdm client-policy --client NAME` (issue 15) through the built binary: Claude Code's
//! `managed-settings.json`, Codex's `requirements.toml` and Windsurf's whitelist entries built from configs
//! that `wrap-config` really wrapped; exit 2 for clients without a managed allowlist; and `status` /
//! `health` reading such files back from their system locations (re-rooted under a temp dir by
//! THOTH_CLIENT_MANAGED_ROOT), with every report validated against its schema.

use std::path::Path;
use std::process::Output;

use serde_json::{json, Value};

use crate::support::{assert_valid, schema_validator, thoth_bin, Thoth};

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn run(t: &Thoth, args: &[&str], env: &[(&str, &Path)]) -> Output {
    let mut cmd = t.command();
    cmd.args(args).stdin(std::process::Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

/// The `--json` report, checked against schemas/client-policy.schema.json, and the plain output, which must
/// be exactly its `content`.
fn policy(t: &Thoth, client: &str) -> Value {
    let out = run(
        t,
        &["mdm", "client-policy", "--client", client, "--json"],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{client}: {}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_valid(&schema_validator("client-policy.schema.json"), &v);
    let plain = run(t, &["mdm", "client-policy", "--client", client], &[]);
    assert_eq!(plain.status.code(), Some(0), "{}", stderr(&plain));
    assert_eq!(
        String::from_utf8(plain.stdout).unwrap(),
        v["content"].as_str().unwrap()
    );
    v
}

fn wrap(t: &Thoth, client: &str, only: &[&str]) {
    let mut args = vec!["wrap-config", "--client", client, "--tenant-id", "acme"];
    for name in only {
        args.extend(["--only", name]);
    }
    let out = run(t, &args, &[]);
    assert!(out.status.success(), "{client}: {}", stderr(&out));
}

/// The wrapped command line of `name` in a JSON config: command, then args.
fn command_line(config: &Value, name: &str) -> Vec<String> {
    let entry = &config["mcpServers"][name];
    let mut line = vec![entry["command"].as_str().unwrap().to_owned()];
    line.extend(
        entry["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().to_owned()),
    );
    line
}

#[test]
fn claude_code_managed_settings_allow_exactly_the_wrapped_commands_and_nothing_else() {
    let t = Thoth::new("dev");
    let config = t.home.path().join(".claude.json");
    write(
        &config,
        &json!({"numStartups": 3, "mcpServers": {
            "gh": {"type": "stdio", "command": "npx", "args": ["-y", "@modelcontextprotocol/server-github"]},
            "bare": {"command": "uvx", "args": ["mcp-server-fetch"]},
            "web": {"type": "http", "url": "https://mcp.example.com/mcp"}},
            "projects": {"/src/app": {"mcpServers": {"db": {"type": "stdio", "command": "npx", "args": ["db"]}}}}})
        .to_string(),
    );
    wrap(&t, "claude-code", &["gh"]);
    let wrapped: Value = serde_json::from_slice(&std::fs::read(&config).unwrap()).unwrap();
    let v = policy(&t, "claude-code");
    assert_eq!(
        v["policy"],
        json!({"allowManagedMcpServersOnly": true,
               "allowedMcpServers": [{"serverCommand": command_line(&wrapped, "gh")}]})
    );
    let content: Value = serde_json::from_str(v["content"].as_str().unwrap()).unwrap();
    assert_eq!(content, v["policy"]);
    assert_eq!(v["file_name"], "managed-settings.json");
    assert_eq!(
        v["locations"],
        json!([
            "/Library/Application Support/ClaudeCode/managed-settings.json",
            "/etc/claude-code/managed-settings.json",
            r"C:\Program Files\ClaudeCode\managed-settings.json"
        ])
    );
    let mut left_out: Vec<&str> = v["left_out"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    left_out.sort();
    assert_eq!(
        (&v["servers"], left_out),
        (&json!(["gh"]), vec!["bare", "db"])
    );
}

#[test]
fn codex_requirements_toml_names_each_governed_server_with_thoths_command() {
    let t = Thoth::new("dev");
    let config = t.home.path().join(".codex/config.toml");
    write(
        &config,
        "# my Codex\nmodel = \"o3\"\n\n[mcp_servers.docs]\ncommand = \"npx\"\nargs = [\"-y\", \"docs-mcp\"]\n\n\
         [mcp_servers.\"fs.local\"]\ncommand = \"node\"\nargs = [\"fs.js\"]\n[mcp_servers.\"fs.local\".env]\nROOT = \"/tmp\"\n\n\
         [mcp_servers.bare]\ncommand = \"uvx\"\n\n[mcp_servers.figma]\nurl = \"https://mcp.figma.com/mcp\"\n",
    );
    wrap(&t, "codex", &["docs", "fs.local"]);
    let v = policy(&t, "codex");
    let thoth = thoth_bin().to_str().unwrap().to_owned();
    assert_eq!(
        v["policy"],
        json!({"mcp_servers": {"docs": {"identity": {"command": thoth}},
                               "fs.local": {"identity": {"command": thoth}}}})
    );
    assert_eq!(
        (&v["servers"], &v["left_out"], &v["file_name"]),
        (
            &json!(["docs", "fs.local"]),
            &json!(["bare"]),
            &json!("requirements.toml")
        )
    );
    let content = v["content"].as_str().unwrap();
    assert!(
        content.starts_with("# Codex requirements.toml"),
        "{content}"
    );
    // The TOML Codex reads: the same tables, a dotted name quoted, nothing else.
    let doc: toml_edit::DocumentMut = content.parse().unwrap();
    let servers = doc["mcp_servers"].as_table().unwrap();
    assert_eq!(servers.len(), 2);
    assert_eq!(
        servers["fs.local"]["identity"]["command"].as_str(),
        Some(thoth.as_str())
    );
    assert!(content.contains("[mcp_servers.\"fs.local\"]"), "{content}");
    assert!(doc.get("model").is_none());
}

#[test]
fn windsurf_whitelist_entries_match_only_the_wrapped_command_line() {
    let t = Thoth::new("dev");
    let config = t.home.path().join(".codeium/windsurf/mcp_config.json");
    write(
        &config,
        &json!({"mcpServers": {
            "pg": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-postgres", "postgresql://h:5432/db?x=(1)"]},
            "bare": {"command": "npx", "args": ["x"]},
            "remote": {"serverUrl": "https://mcp.example.com/sse"}}})
        .to_string(),
    );
    wrap(&t, "windsurf", &["pg"]);
    let wrapped: Value = serde_json::from_slice(&std::fs::read(&config).unwrap()).unwrap();
    let v = policy(&t, "windsurf");
    assert_eq!(v["file_name"], Value::Null);
    let entries = v["policy"]["whitelist"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{v:#}");
    assert_eq!(entries[0]["server_id"], "pg");
    let line = command_line(&wrapped, "pg");
    let config = &entries[0]["server_config"];
    let patterns: Vec<&str> = std::iter::once(&config["command"])
        .chain(config["args"].as_array().unwrap())
        .map(|p| p.as_str().unwrap())
        .collect();
    assert_eq!(patterns.len(), line.len());
    for (pattern, word) in patterns.iter().zip(&line) {
        assert_eq!(&unescape(pattern), word, "{pattern}");
        assert_every_metachar_escaped(pattern);
    }
    assert!(
        patterns.contains(&r"postgresql://h:5432/db\?x=\(1\)"),
        "{patterns:?}"
    );
    assert_eq!(v["left_out"], json!(["bare"]));
}

fn unescape(pattern: &str) -> String {
    let mut out = String::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        out.push(if c == '\\' { chars.next().unwrap() } else { c });
    }
    out
}

fn assert_every_metachar_escaped(pattern: &str) {
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            let next = chars.next().unwrap();
            assert!(
                "\\.+*?()|[]{}^$".contains(next),
                "needless escape in {pattern}"
            );
        } else {
            assert!(!"\\.+*?()|[]{}^$".contains(c), "{c} unescaped in {pattern}");
        }
    }
}

#[test]
fn clients_without_a_managed_allowlist_exit_2_naming_those_with_one() {
    let t = Thoth::new("dev");
    for client in ["claude-desktop", "cursor", "vscode", "zed"] {
        let out = run(&t, &["mdm", "client-policy", "--client", client], &[]);
        assert_eq!(out.status.code(), Some(2), "{client}: {}", stderr(&out));
        let err = stderr(&out);
        for named in [client, "claude-code", "codex", "windsurf"] {
            assert!(err.contains(named), "{client}: {err}");
        }
        assert!(out.stdout.is_empty(), "{client}");
    }
}

fn managed_policy_of(report: &Value, key: &str, client: &str) -> Value {
    report[key]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["client"] == client)
        .unwrap_or_else(|| panic!("{client} in {report:#}"))["managed_policy"]
        .clone()
}

fn status_json(t: &Thoth, client: &str, root: &Path) -> Value {
    let out = run(
        t,
        &["status", "--client", client, "--json"],
        &[("THOTH_CLIENT_MANAGED_ROOT", root)],
    );
    let v: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stderr(&out)));
    assert_valid(&schema_validator("status-clients.schema.json"), &v);
    v
}

#[test]
fn status_and_health_read_the_deployed_policies_back_from_their_system_paths() {
    let t = Thoth::new("dev");
    let root = tempfile::tempdir().unwrap();
    let home = t.home.path();
    write(
        &home.join(".claude.json"),
        &json!({"mcpServers": {"gh": {"type": "stdio", "command": "npx", "args": ["gh"]}}})
            .to_string(),
    );
    write(
        &home.join(".codex/config.toml"),
        "[mcp_servers.docs]\ncommand = \"npx\"\nargs = [\"docs\"]\n",
    );
    wrap(&t, "claude-code", &["gh"]);
    wrap(&t, "codex", &["docs"]);
    let settings = root.path().join("etc/claude-code/managed-settings.json");
    let requirements = root.path().join("etc/codex/requirements.toml");

    // Nothing deployed yet: the file each would be, not found.
    let v = status_json(&t, "claude-code", root.path());
    assert_eq!(
        managed_policy_of(&v, "clients", "claude-code"),
        json!({"path": settings, "found": false, "governed_only": false, "error": null})
    );

    write(
        &settings,
        policy(&t, "claude-code")["content"].as_str().unwrap(),
    );
    write(
        &requirements,
        policy(&t, "codex")["content"].as_str().unwrap(),
    );
    let v = status_json(&t, "claude-code", root.path());
    assert_eq!(
        managed_policy_of(&v, "clients", "claude-code"),
        json!({"path": settings, "found": true, "governed_only": true, "error": null})
    );
    let v = status_json(&t, "codex", root.path());
    assert_eq!(
        managed_policy_of(&v, "clients", "codex"),
        json!({"path": requirements, "found": true, "governed_only": true, "error": null})
    );
    let table = run(
        &t,
        &["status", "--all-clients"],
        &[("THOTH_CLIENT_MANAGED_ROOT", root.path())],
    );
    let table = String::from_utf8(table.stdout).unwrap();
    assert!(
        table.contains(&format!(
            "claude-code managed policy {}: allows only servers thoth governs",
            settings.display()
        )),
        "{table}"
    );

    let health = run(
        &t,
        &["health", "--json"],
        &[("THOTH_CLIENT_MANAGED_ROOT", root.path())],
    );
    let h: Value = serde_json::from_slice(&health.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", stderr(&health)));
    assert_valid(&schema_validator("health.schema.json"), &h);
    assert_eq!(
        managed_policy_of(&h, "mcp_clients", "codex")["governed_only"],
        true
    );
    assert_eq!(
        managed_policy_of(&h, "mcp_clients", "cursor"),
        Value::Null,
        "Cursor keeps no managed allowlist"
    );

    // What admits more than thoth is reported as such.
    let loose = [
        json!({"allowManagedMcpServersOnly": true, "allowedMcpServers": [{"serverName": "gh"}]}),
        json!({"allowedMcpServers": policy(&t, "claude-code")["policy"]["allowedMcpServers"]}),
        json!({"allowManagedMcpServersOnly": true, "allowedMcpServers": [{"serverUrl": "https://*"}]}),
        json!({"allowManagedMcpServersOnly": true, "allowedMcpServers": [{"serverCommand": ["npx", "gh"]}]}),
    ];
    for text in loose {
        write(&settings, &text.to_string());
        let v = status_json(&t, "claude-code", root.path());
        assert_eq!(
            managed_policy_of(&v, "clients", "claude-code")["governed_only"],
            false,
            "{text}"
        );
    }
    // managed-mcp.json (exclusive control) is what Claude Code reads first: a bare server in it runs.
    let exclusive = root.path().join("etc/claude-code/managed-mcp.json");
    write(
        &exclusive,
        r#"{"mcpServers": {"x": {"type": "stdio", "command": "npx", "args": ["x"]}}}"#,
    );
    let v = status_json(&t, "claude-code", root.path());
    assert_eq!(
        managed_policy_of(&v, "clients", "claude-code"),
        json!({"path": exclusive, "found": true, "governed_only": false, "error": null})
    );
    write(
        &requirements,
        "[mcp_servers.docs]\nidentity = { command = \"npx\" }\n",
    );
    let v = status_json(&t, "codex", root.path());
    assert_eq!(
        managed_policy_of(&v, "clients", "codex")["governed_only"],
        false
    );
    write(&requirements, "[mcp_servers.docs\n");
    let v = status_json(&t, "codex", root.path());
    let p = managed_policy_of(&v, "clients", "codex");
    assert!(
        p["error"].as_str().unwrap().contains("TOML") && p["governed_only"] == false,
        "{p}"
    );
}
