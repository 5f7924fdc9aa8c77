//! `thoth status --client NAME` and `--all-clients` against the built binary: the table (Client column,
//! `✓`/`✗`, `—`, the `─` rule), the JSON form against its schema, and the exit codes (0, 1, 3; unknown NAME 2).

use std::path::Path;

use serde_json::{json, Value};

use crate::support::{assert_valid, schema_validator, Thoth};

/// `thoth status ARGS` in a UTF-8 locale (the Unicode table).
fn status(t: &Thoth, args: &[&str]) -> (i32, String, String) {
    status_in(t, &[("LANG", "C.UTF-8")], args)
}

fn status_in(t: &Thoth, env: &[(&str, &str)], args: &[&str]) -> (i32, String, String) {
    let mut cmd = t.command();
    cmd.envs(env.iter().copied());
    let out = cmd
        .arg("status")
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

fn status_json(t: &Thoth, args: &[&str]) -> (i32, Value) {
    let mut all = args.to_vec();
    all.push("--json");
    let (code, out, err) = status(t, &all);
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}\n{err}"));
    assert_valid(&schema_validator("status-clients.schema.json"), &v);
    (code, v)
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A laptop: Cursor with one governed and one remote server, Claude Code with a bare local-scope server, an
/// extension-only Claude Desktop, a project with a VS Code JSONC file.
fn laptop(t: &Thoth) -> std::path::PathBuf {
    let home = t.home.path();
    let thoth = crate::support::thoth_bin();
    let governed = json!({"command": thoth, "args": ["run", "--agent-id", "gh", "--tenant-id", "acme",
        "--enforcement-mode", "block", "--", "npx", "gh"]});
    write(
        &home.join(".cursor/mcp.json"),
        &json!({"mcpServers": {"gh": governed, "docs": {"url": "https://mcp.example.com"}}})
            .to_string(),
    );
    write(
        &home.join(".claude.json"),
        &json!({"numStartups": 1, "projects": {"/src/app": {"mcpServers": {"db": {"type": "stdio", "command": "npx"}}}}})
            .to_string(),
    );
    let claude = home.join(".config/Claude");
    write(
        &claude.join("claude_desktop_config.json"),
        r#"{"mcpServers": {}}"#,
    );
    write(
        &claude.join("Claude Extensions/ext.one/manifest.json"),
        r#"{"server":{"mcp_config":{"command":"node","args":["${__dirname}/i.js"]}}}"#,
    );
    let project = home.join("proj");
    write(
        &project.join(".vscode/mcp.json"),
        "{\n  // comment\n  \"servers\": {\"fs\": {\"type\": \"stdio\", \"command\": \"npx\",},},\n  \"inputs\": []\n}\n",
    );
    project
}

#[test]
fn all_clients_lists_every_found_file_and_extension() {
    let t = Thoth::new("dev");
    let project = laptop(&t);
    let p = project.to_str().unwrap();
    let (code, v) = status_json(&t, &["--all-clients", "--project", p]);
    assert_eq!(code, 1);
    assert_eq!(v["all_governed"], false);
    let names: Vec<(String, String)> = v["clients"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| {
            c["servers"].as_array().unwrap().iter().map(move |s| {
                (
                    c["client"].as_str().unwrap().to_owned(),
                    s["name"].as_str().unwrap().to_owned(),
                )
            })
        })
        .collect();
    for want in [
        ("claude-desktop", "ext.one"),
        ("claude-code", "db"),
        ("cursor", "gh"),
        ("cursor", "docs"),
        ("vscode", "fs"),
    ] {
        assert!(
            names.contains(&(want.0.into(), want.1.into())),
            "{want:?} in {names:?}"
        );
    }
    let rows: Vec<&Value> = v["clients"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["servers"].as_array().unwrap())
        .collect();
    let find = |n: &str| *rows.iter().find(|r| r["name"] == n).unwrap();
    assert_eq!(find("db")["scope"], "local:/src/app");
    assert_eq!(find("fs")["scope"], "project");
    assert_eq!(
        (&find("ext.one")["extension"], &find("ext.one")["governed"]),
        (&json!(true), &json!(false))
    );
    assert_eq!(
        (&find("docs")["remote"], &find("docs")["stdio"]),
        (&json!(true), &json!(false))
    );
    assert_eq!(
        (&find("gh")["governed"], &find("gh")["tenant_id"]),
        (&json!(true), &json!("acme"))
    );

    let (code, table, _) = status(&t, &["--all-clients"]);
    assert_eq!(code, 1);
    let mut lines = table.lines();
    assert_eq!(
        lines.next().unwrap().split_whitespace().collect::<Vec<_>>(),
        [
            "Client",
            "Server",
            "Governed",
            "Agent",
            "ID",
            "Session",
            "Intent",
            "Enforcement"
        ]
    );
    assert!(lines.next().unwrap().chars().all(|c| c == '─'));
    assert!(
        table.contains("extension (not wrappable)") && table.contains("remote (not wrappable)"),
        "{table}"
    );
    let gh = table
        .lines()
        .find(|l| l.starts_with("cursor") && l.contains(" gh "))
        .unwrap();
    assert!(
        gh.contains('✓') && gh.contains("block") && gh.contains('—'),
        "{gh}"
    );
    let db = table
        .lines()
        .find(|l| l.contains("db (local:/src/app)"))
        .unwrap();
    assert!(db.contains('✗'), "{db}");
}

#[test]
fn one_client_exits_0_1_or_3_and_unknown_names_exit_2() {
    let t = Thoth::new("dev");
    laptop(&t);
    let (code, v) = status_json(&t, &["--client", "cursor"]);
    assert_eq!((code, &v["all_governed"]), (0, &json!(true)), "{v:#}");
    assert_eq!(v["clients"].as_array().unwrap().len(), 1);
    let (code, _) = status_json(&t, &["--client", "claude-code"]);
    assert_eq!(code, 1);
    // Claude Desktop without a CONFIG reads its extensions too: one that may run is not governed.
    let (code, v) = status_json(&t, &["--client", "claude-desktop"]);
    assert_eq!((code, v["clients"].as_array().unwrap().len()), (1, 2));
    let (code, v) = status_json(&t, &["--client", "zed"]);
    assert_eq!((code, &v["clients"][0]["found"]), (3, &json!(false)));
    let dup = t.home.path().join("dup.json");
    write(
        &dup,
        r#"{"mcpServers": {"a": {"command": "x"}, "a": {"command": "y"}}}"#,
    );
    let (code, v) = status_json(
        &t,
        &["--client", "cursor", "--config", dup.to_str().unwrap()],
    );
    assert_eq!(code, 3);
    assert!(
        v["clients"][0]["error"].as_str().unwrap().contains("twice"),
        "{v:#}"
    );
    let (code, _, err) = status(&t, &["--client", "notepad"]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn client_policy_allows_exactly_the_governed_claude_code_servers() {
    let t = Thoth::new("dev");
    let thoth = crate::support::thoth_bin();
    let args = ["run", "--agent-id", "gh", "--", "npx", "-y", "gh"];
    write(
        &t.home.path().join(".claude.json"),
        &json!({"mcpServers": {"gh": {"type": "stdio", "command": thoth, "args": args},
                               "bare": {"command": "npx", "args": ["x"]},
                               "web": {"type": "http", "url": "https://mcp.example.com"}}})
        .to_string(),
    );
    let out = t
        .command()
        .args(["mdm", "client-policy", "--client", "claude-code", "--json"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_valid(&schema_validator("client-policy.schema.json"), &v);
    let mut command = vec![thoth.to_str().unwrap().to_owned()];
    command.extend(args.iter().map(|a| a.to_string()));
    assert_eq!(
        v["policy"],
        json!({"allowManagedMcpServersOnly": true, "allowedMcpServers": [{"serverCommand": command}]})
    );
    assert_eq!(
        (&v["servers"], &v["left_out"]),
        (&json!(["gh"]), &json!(["bare"]))
    );
    let plain = t
        .command()
        .args(["mdm", "client-policy", "--client", "claude-code"])
        .output()
        .unwrap();
    let file: Value = serde_json::from_slice(&plain.stdout).unwrap();
    assert_eq!(file, v["policy"]);
    let other = t
        .command()
        .args(["mdm", "client-policy", "--client", "zed"])
        .output()
        .unwrap();
    assert_eq!(other.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&other.stderr).contains("claude-code"));
}

/// The default `thoth status` table (Claude Desktop) keeps its documented format in a UTF-8 locale
/// (`Server  Governed  Agent ID  Session Intent  Enforcement`, a `─` rule, `✓`, `—`) whatever the locale
/// (none, `C`, POSIX, Latin-1: a stable format scripts read), and prints ASCII marks with THOTH_ASCII=1:
/// `yes`/`no`, `--`, a `-` rule (a legacy Windows console gets those too: unit-tested in status_glyphs).
/// `--all-clients` puts Client first in both.
#[test]
fn the_status_table_in_unicode_and_ascii_consoles() {
    let t = Thoth::new("dev");
    let thoth = crate::support::thoth_bin();
    write(
        &t.home.path().join(".config/Claude/claude_desktop_config.json"),
        &json!({"mcpServers": {
            "github": {"command": thoth, "args": ["run", "--agent-id", "gh-agent", "--tenant-id", "acme",
                "--enforcement-mode", "observe", "--", "npx", "gh"]},
            "fetch": {"command": "uvx", "args": ["mcp-server-fetch"]}}})
        .to_string(),
    );
    let header = [
        "Server",
        "Governed",
        "Agent ID",
        "Session Intent",
        "Enforcement",
    ];
    let check = |table: &str, rule: char, yes: &str, no: &str, empty: &str, client: bool| {
        let mut lines = table.lines().skip_while(|l| !l.contains("Governed"));
        let head = lines.next().unwrap_or_else(|| panic!("{table}"));
        let mut want: Vec<&str> = header.to_vec();
        if client {
            want.insert(0, "Client");
        }
        let cells: Vec<&str> = head
            .split("  ")
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .collect();
        assert_eq!(cells, want, "{table}");
        let rule_line = lines.next().unwrap();
        assert!(
            !rule_line.is_empty() && rule_line.chars().all(|c| c == rule),
            "{table}"
        );
        let row = |name: &str| {
            table
                .lines()
                .find(|l| l.split_whitespace().any(|w| w == name))
                .unwrap_or_else(|| panic!("{name} in {table}"))
                .split("  ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_owned)
                .collect::<Vec<_>>()
        };
        let skip = usize::from(client);
        assert_eq!(
            row("github")[skip..],
            ["github", yes, "gh-agent", empty, "observe"],
            "{table}"
        );
        assert_eq!(
            row("fetch")[skip..],
            ["fetch", no, empty, empty, empty],
            "{table}"
        );
    };
    for env in [
        vec![("LANG", "en_US.UTF-8")],
        vec![],
        vec![("LANG", "C")],
        vec![("LC_ALL", "POSIX"), ("LANG", "en_US.UTF-8")],
        vec![("LANG", "de_DE.ISO-8859-1")],
        vec![("THOTH_ASCII", "0"), ("LANG", "C")],
    ] {
        let (code, table, err) = status_in(&t, &env, &[]);
        assert_eq!(code, 1, "{env:?}: {err}");
        check(&table, '─', "✓", "✗", "—", false);
        let (_, table, _) = status_in(&t, &env, &["--all-clients"]);
        check(&table, '─', "✓", "✗", "—", true);
    }
    for env in [
        vec![("THOTH_ASCII", "1"), ("LANG", "C.UTF-8")],
        vec![("THOTH_ASCII", "true")],
    ] {
        let (code, table, err) = status_in(&t, &env, &[]);
        assert_eq!(code, 1, "{env:?}: {err}");
        assert!(table.is_ascii(), "{env:?}: {table}");
        check(&table, '-', "yes", "no", "--", false);
        let (_, table, _) = status_in(&t, &env, &["--all-clients"]);
        assert!(table.is_ascii(), "{env:?}: {table}");
        check(&table, '-', "yes", "no", "--", true);
    }
}
