//! Issue 15: `thoth wrap-config --client NAME` through the built binary for every client: each client's file
//! at its Linux default path (and `$CLAUDE_CONFIG_DIR`, `$CODEX_HOME`, `--project DIR`, `--config PATH`),
//! wrapped losslessly and idempotently with a backup and the mode kept, read back as governed, unwrapped
//! byte for byte; refusals (duplicate keys, wrong shape, not the client's format) leave the file untouched.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;
use thoth::clients::{self, Client};
use thoth::wrap::Trust;

use crate::support::{assert_valid, schema_validator, thoth_bin, Thoth};

const CLAUDE_DESKTOP: &str = r#"{
  "globalShortcut": "Ctrl+Space",
  "mcpServers": {
    "filesystem": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "/home/ana"]},
    "remote": {"type": "sse", "url": "https://mcp.example.com/sse"}
  }
}
"#;

const CLAUDE_CODE: &str = r#"{
  "numStartups": 12,
  "installMethod": "native",
  "tipsHistory": {"new-user-warmup": 1},
  "mcpServers": {
    "memory": {"type": "stdio", "command": "npx", "args": ["-y", "@modelcontextprotocol/server-memory"], "env": {}},
    "sentry": {"type": "http", "url": "https://mcp.sentry.dev/mcp"}
  },
  "projects": {
    "/home/ana/src/api": {
      "allowedTools": [],
      "history": [{"display": "fix the build", "pastedContents": {}}],
      "mcpServers": {
        "postgres": {"type": "stdio", "command": "uvx", "args": ["mcp-server-postgres", "postgresql://localhost/api"], "env": {"PGPASSWORD": "${PGPASSWORD}"}}
      },
      "hasTrustDialogAccepted": true
    }
  }
}
"#;

const CURSOR: &str = r#"{
  "mcpServers": {
    "github": {
      "command": "npx",
      "args": ["-y", "@modelcontextprotocol/server-github"],
      "env": {"GITHUB_PERSONAL_ACCESS_TOKEN": "${env:GITHUB_TOKEN}", "ROOT": "${workspaceFolder}"}
    },
    "linear": {"url": "https://mcp.linear.app/sse"}
  }
}
"#;

const VSCODE: &str = r#"{
  // Inputs are prompted once and kept by VS Code.
  "inputs": [
    {"type": "promptString", "id": "perplexity-key", "description": "Perplexity API Key", "password": true},
  ],
  "servers": {
    "perplexity": {
      "type": "stdio",
      "command": "npx",
      "args": ["-y", "server-perplexity-ask"],
      "env": {"PERPLEXITY_API_KEY": "${input:perplexity-key}", "HOME_DIR": "${userHome}"},
    },
    "fetch": {"command": "uvx", "args": ["mcp-server-fetch"]},
    "github": {"type": "http", "url": "https://api.githubcopilot.com/mcp/"},
  },
}
"#;

const WINDSURF: &str = r#"{
  "mcpServers": {
    "brave": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-brave-search"], "env": {"BRAVE_API_KEY": "${env:BRAVE}"}},
    "figma": {"serverUrl": "https://figma.example.com/mcp"}
  }
}
"#;

const ZED: &str = r#"// Zed settings
//
// For information on how to configure Zed, see the Zed documentation.
{
  "ui_font_size": 16,
  "buffer_font_size": 15,
  "context_servers": {
    "mcp-server-sqlite": {
      "source": "custom",
      "enabled": true,
      "command": "uvx",
      "args": ["mcp-server-sqlite", "--db-path", "/home/ana/test.db"],
      "env": {},
    },
    "remote": {"url": "https://mcp.example.com/mcp", "headers": {"Authorization": "Bearer x"}},
  },
  "theme": {"mode": "system", "light": "One Light", "dark": "One Dark"},
}
"#;

const CODEX: &str = r#"# ~/.codex/config.toml
model = "gpt-5-codex"
approval_policy = "on-request"

[mcp_servers.docs]
command = "npx" # the docs server
args = ["-y", "mcp-server-docs"]
env = { "API_KEY" = "k" }
startup_timeout_sec = 20

[mcp_servers.figma]
url = "https://mcp.figma.com/mcp"
bearer_token_env_var = "FIGMA_OAUTH_TOKEN"

# Git, with its env as a sub-table
[mcp_servers.git]
command = "uvx"
args = [
  "mcp-server-git", # the package
  "--repository", "/home/ana/src",
]

[mcp_servers.git.env]
GIT_AUTHOR_NAME = "Ana" # kept

[profiles.fast]
model = "gpt-5-mini"
"#;

/// A client, its default user file under HOME (Linux), a realistic config, and the outcomes expected.
type Case = (
    Client,
    &'static str,
    &'static str,
    Vec<(&'static str, &'static str)>,
);

/// Each client: its default user file under HOME (Linux), a realistic config, and the outcomes expected. A
/// `url` entry, and Windsurf's `serverUrl` one, is bridged (`thoth run --url`, issue 18); Codex's url tables
/// stay remote.
fn cases() -> Vec<Case> {
    vec![
        (
            Client::ClaudeDesktop,
            ".config/Claude/claude_desktop_config.json",
            CLAUDE_DESKTOP,
            vec![("filesystem", "wrapped"), ("remote", "wrapped")],
        ),
        (
            Client::ClaudeCode,
            ".claude.json",
            CLAUDE_CODE,
            vec![
                ("memory", "wrapped"),
                ("sentry", "wrapped"),
                ("postgres", "wrapped"),
            ],
        ),
        (
            Client::Cursor,
            ".cursor/mcp.json",
            CURSOR,
            vec![("github", "wrapped"), ("linear", "wrapped")],
        ),
        (
            Client::Vscode,
            ".config/Code/User/mcp.json",
            VSCODE,
            vec![
                ("perplexity", "wrapped"),
                ("fetch", "wrapped"),
                ("github", "wrapped"),
            ],
        ),
        (
            Client::Windsurf,
            ".codeium/windsurf/mcp_config.json",
            WINDSURF,
            vec![("brave", "wrapped"), ("figma", "wrapped")],
        ),
        (
            Client::Zed,
            ".config/zed/settings.json",
            ZED,
            vec![("mcp-server-sqlite", "wrapped"), ("remote", "wrapped")],
        ),
        (
            Client::Codex,
            ".codex/config.toml",
            CODEX,
            vec![("docs", "wrapped"), ("figma", "remote"), ("git", "wrapped")],
        ),
    ]
}

fn place(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o640)).unwrap();
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn json_of(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("no JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

fn backups(config: &Path) -> Vec<PathBuf> {
    let name = config.file_name().unwrap().to_string_lossy().into_owned();
    let mut found: Vec<PathBuf> = std::fs::read_dir(config.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().path())
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

fn trust() -> Trust {
    Trust::new(Some(thoth_bin().canonicalize().unwrap()), Vec::new())
}

/// (name, scope, governed, remote) of every server of a client's file.
fn rows(client: Client, path: &Path, project: bool) -> Vec<(String, String, bool, bool)> {
    let read = if project {
        clients::read_project(client, path, &trust())
    } else {
        clients::read(client, path, &trust())
    };
    read.unwrap_or_else(|e| panic!("{e}"))
        .servers
        .into_iter()
        .map(|r| (r.state.name, r.scope, r.state.governed, r.remote))
        .collect()
}

#[test]
fn every_client_at_its_default_path_wrapped_idempotently_and_unwrapped_byte_for_byte() {
    let schema = schema_validator("wrap-report.schema.json");
    for (client, rel, text, expect) in cases() {
        let t = Thoth::new("dev");
        let config = t.home.path().join(rel);
        place(&config, text);
        let name = client.name();
        let out = t.output(&[
            "wrap-config",
            "--client",
            name,
            "--tenant-id",
            "acme",
            "--json",
        ]);
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        let report = json_of(&out);
        assert_valid(&schema, &report);
        assert_eq!(report["changed"], true, "{name}");
        assert_eq!(
            Path::new(report["config"].as_str().unwrap()),
            config,
            "{name}"
        );
        let outcomes: Vec<(&str, &str)> = report["servers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| (s["name"].as_str().unwrap(), s["outcome"].as_str().unwrap()))
            .collect();
        assert_eq!(outcomes, expect, "{name}");

        // The old bytes are in the backup; the mode is kept; every stdio server is governed.
        let wrapped = std::fs::read_to_string(&config).unwrap();
        let kept = backups(&config);
        assert_eq!(kept.len(), 1, "{name}");
        assert_eq!(std::fs::read_to_string(&kept[0]).unwrap(), text, "{name}");
        let mode = std::fs::metadata(&config).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640, "{name}");
        for (server, _, governed, remote) in rows(client, &config, false) {
            assert_eq!(governed, !remote, "{name}/{server}");
        }
        assert!(wrapped.contains(
            &thoth_bin()
                .canonicalize()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        ));

        // A second run writes nothing and keeps no backup.
        let out = t.output(&[
            "wrap-config",
            "--client",
            name,
            "--tenant-id",
            "acme",
            "--json",
        ]);
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        assert_eq!(json_of(&out)["changed"], false, "{name}");
        assert_eq!(std::fs::read_to_string(&config).unwrap(), wrapped, "{name}");
        assert_eq!(backups(&config).len(), 1, "{name}");

        // A dry-run unwrap shows the change and makes none.
        let out = t.output(&["wrap-config", "--client", name, "--unwrap", "--dry-run"]);
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("would change"),
            "{name}"
        );
        assert_eq!(std::fs::read_to_string(&config).unwrap(), wrapped, "{name}");

        let out = t.output(&["wrap-config", "--client", name, "--unwrap", "--json"]);
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        assert_valid(&schema, &json_of(&out));
        assert_eq!(
            std::fs::read_to_string(&config).unwrap(),
            text,
            "{name}: byte for byte"
        );
        let mut record = config.clone().into_os_string();
        record.push(".thoth-wrap.json");
        assert!(!Path::new(&record).exists(), "{name}: no record left");
        for (server, _, governed, _) in rows(client, &config, false) {
            assert!(!governed, "{name}/{server}");
        }
    }
}

#[test]
fn claude_code_reports_both_scopes_and_codex_keeps_its_comments() {
    let t = Thoth::new("dev");
    let config = t.home.path().join(".claude.json");
    place(&config, CLAUDE_CODE);
    let out = t.output(&["wrap-config", "--client", "claude-code", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report = json_of(&out);
    assert_eq!(report["servers"][2]["scope"], "local:/home/ana/src/api");
    let scopes: Vec<(String, String, bool)> = rows(Client::ClaudeCode, &config, false)
        .into_iter()
        .map(|(n, s, g, _)| (n, s, g))
        .collect();
    assert_eq!(
        scopes,
        [
            ("memory".into(), "user".into(), true),
            ("sentry".into(), "user".into(), true),
            ("postgres".into(), "local:/home/ana/src/api".into(), true),
        ]
    );
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(text.contains(r#""history": [{"display": "fix the build", "pastedContents": {}}]"#));
    assert!(text.contains(r#""PGPASSWORD": "${PGPASSWORD}""#));

    let codex = t.home.path().join(".codex/config.toml");
    place(&codex, CODEX);
    let out = t.output(&["wrap-config", "--client", "codex"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(&codex).unwrap();
    for kept in [
        "# ~/.codex/config.toml\n",
        "# the docs server\n",
        "env = { \"API_KEY\" = \"k\" }\n",
        "# Git, with its env as a sub-table\n",
        "GIT_AUTHOR_NAME = \"Ana\" # kept\n",
        "[profiles.fast]\n",
        "bearer_token_env_var = \"FIGMA_OAUTH_TOKEN\"\n",
    ] {
        assert!(text.contains(kept), "{kept:?} in\n{text}");
    }
    let parsed: toml_edit::DocumentMut = text.parse().unwrap();
    let args: Vec<&str> = parsed["mcp_servers"]["git"]["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let tail = &args[args.iter().position(|a| *a == "--").unwrap()..];
    assert_eq!(
        tail,
        [
            "--",
            "uvx",
            "mcp-server-git",
            "--repository",
            "/home/ana/src"
        ]
    );
}

#[test]
fn config_dir_variables_project_files_and_explicit_config() {
    let t = Thoth::new("dev");
    // $CLAUDE_CONFIG_DIR and $CODEX_HOME move the user files.
    let cc_dir = t.home.path().join("cc");
    let codex_dir = t.home.path().join("cx");
    place(&cc_dir.join(".claude.json"), CLAUDE_CODE);
    place(&codex_dir.join("config.toml"), CODEX);
    for (client, var, dir) in [
        ("claude-code", "CLAUDE_CONFIG_DIR", &cc_dir),
        ("codex", "CODEX_HOME", &codex_dir),
    ] {
        let out = t
            .command()
            .args(["wrap-config", "--client", client, "--json"])
            .env(var, dir)
            .output()
            .unwrap();
        assert!(out.status.success(), "{client}: {}", stderr(&out));
        assert!(json_of(&out)["config"]
            .as_str()
            .unwrap()
            .starts_with(dir.to_str().unwrap()));
    }

    // --project DIR: the project-scoped file of each client that has one.
    let project = t.home.path().join("proj");
    let files = [
        ("claude-code", ".mcp.json", "{\n  \"mcpServers\": {\n    \"db\": {\"command\": \"${DB_TOOL:-npx}\", \"args\": [\"db-mcp\", \"${DB_URL:-sqlite://x}\"]}\n  }\n}\n"),
        ("cursor", ".cursor/mcp.json", CURSOR),
        ("vscode", ".vscode/mcp.json", VSCODE),
        ("zed", ".zed/settings.json", ZED),
        ("codex", ".codex/config.toml", CODEX),
    ];
    for (client, rel, text) in files {
        let path = project.join(rel);
        place(&path, text);
        let out = t.output(&[
            "wrap-config",
            "--client",
            client,
            "--project",
            project.to_str().unwrap(),
            "--json",
        ]);
        assert!(out.status.success(), "{client}: {}", stderr(&out));
        assert_eq!(Path::new(json_of(&out)["config"].as_str().unwrap()), path);
        let c = clap_client(client);
        assert!(rows(c, &path, true)
            .iter()
            .all(|(_, scope, governed, remote)| scope == "project" && governed != remote));
        if client == "claude-code" {
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(
                text.contains("\"${DB_TOOL:-npx}\"") && text.contains("\"${DB_URL:-sqlite://x}\"")
            );
        }
    }
    for client in ["windsurf", "claude-desktop"] {
        let out = t.output(&[
            "wrap-config",
            "--client",
            client,
            "--project",
            project.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(1), "{client}");
        assert!(
            stderr(&out).contains("no project-scoped config"),
            "{}",
            stderr(&out)
        );
    }

    // --config PATH: that file, in the client's format (here a Zed file kept elsewhere).
    let other = t.home.path().join("elsewhere/settings.json");
    place(&other, ZED);
    let out = t.output(&[
        "wrap-config",
        "--client",
        "zed",
        "--config",
        other.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(rows(Client::Zed, &other, false)[0].2);
}

fn clap_client(name: &str) -> Client {
    *Client::ALL.iter().find(|c| c.name() == name).unwrap()
}

#[test]
fn duplicates_wrong_shapes_and_foreign_formats_are_refused_leaving_the_file_untouched() {
    let cases: &[(&str, &str, &str)] = &[
        ("cursor", "{\n  \"mcpServers\": {\n    \"gh\": {\"command\": \"thoth\"},\n    \"gh\": {\"command\": \"npx\"}\n  }\n}\n", "line 4"),
        ("vscode", "{\n  \"servers\": {\n    \"a\": {\"command\": \"x\",\n          \"command\": \"y\",},\n  },\n}\n", "line 4"),
        ("zed", "{\"context_servers\": {\"a\": {\"command\": \"x\", \"env\": {}, \"env\": {\"K\": \"v\"}}}}", "/context_servers/a/env"),
        ("claude-code", "{\"projects\": {\"/p\": {\"mcpServers\": {\"a\": {\"command\": \"x\"}, \"a\": {\"command\": \"y\"}}}}}", "/projects/~1p/mcpServers/a"),
        ("windsurf", "{\"mcpServers\": {\"a\": {\"command\": \"x\", \"args\": [], \"args\": [\"y\"]}}}", "/mcpServers/a/args"),
        ("codex", "[mcp_servers.a]\ncommand = \"x\"\n\n[mcp_servers.a]\ncommand = \"y\"\n", "line 4"),
        ("codex", "[mcp_servers.a]\ncommand = \"x\"\nargs = []\nargs = [\"y\"]\n", "line 4"),
        ("codex", "mcp_servers = [\"x\"]\n", "not a table"),
        ("codex", "{\"mcpServers\": {}}\n", "line 1"),
        ("vscode", "{\"servers\": [1]}", "\"servers\""),
        ("cursor", "{\"mcpServers\": {\"a\": {\"command\": \"x\"},},}", "not valid JSON"),
    ];
    for (client, text, names) in cases {
        let t = Thoth::new("dev");
        let path = t.home.path().join("cfg/file");
        place(&path, text);
        let out = t.output(&[
            "wrap-config",
            "--client",
            client,
            "--config",
            path.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(1), "{client}: {text}");
        let err = stderr(&out);
        assert!(
            err.contains(path.to_str().unwrap()) && err.contains(names),
            "{client}: {err}"
        );
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            *text,
            "{client}: untouched"
        );
        assert!(backups(&path).is_empty());
    }
}

#[test]
fn an_unknown_client_and_conflicting_flags_are_usage_errors() {
    let t = Thoth::new("dev");
    let out = t.output(&["wrap-config", "--client", "notepad"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("claude-desktop, claude-code, cursor, vscode, windsurf, zed, codex")
    );
    let out = t.output(&["wrap-config", "--config", "/a", "/b"]);
    assert_eq!(out.status.code(), Some(2));
    let out = t.output(&["wrap-config", "--config", "/a", "--project", "/b"]);
    assert_eq!(out.status.code(), Some(2));
}

/// Windsurf's `serverUrl` entries are bridged to `thoth run --url` like `url` ones (headers byte for byte, a
/// `${env:X}` placeholder kept for `thoth run` to resolve), reported governed, and given back byte for byte
/// by `--unwrap`; an entry naming both `url` and `serverUrl` is left alone, saying why.
#[test]
fn windsurf_server_url_entries_are_bridged_and_unwrapped_byte_for_byte() {
    let t = Thoth::new("dev");
    let config = t.home.path().join(".codeium/windsurf/mcp_config.json");
    let text = r#"{
  "mcpServers": {
    "figma": {"serverUrl": "https://figma.example.com/mcp", "headers": {"Authorization": "Bearer ${env:FIGMA_TOKEN}"}, "disabled": false},
    "both": {"serverUrl": "https://a.example.com/mcp", "url": "https://b.example.com/mcp"}
  }
}
"#;
    place(&config, text);
    let out = t.output(&[
        "wrap-config",
        "--client",
        "windsurf",
        "--tenant-id",
        "acme",
        "--json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report = json_of(&out);
    let outcome = |name: &str| {
        report["servers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(outcome("figma")["outcome"], "wrapped", "{report:#}");
    assert_eq!(outcome("both")["outcome"], "remote", "{report:#}");
    assert!(
        outcome("both")["detail"]
            .as_str()
            .unwrap()
            .contains("serverUrl"),
        "{report:#}"
    );
    let wrapped: Value = serde_json::from_str(&std::fs::read_to_string(&config).unwrap()).unwrap();
    let figma = &wrapped["mcpServers"]["figma"];
    assert!(
        figma.get("serverUrl").is_none() && figma.get("headers").is_none(),
        "{figma}"
    );
    assert_eq!(figma["disabled"], false);
    let args: Vec<&str> = figma["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    let at = args.iter().position(|a| *a == "--url").unwrap();
    assert_eq!(args[at + 1], "https://figma.example.com/mcp");
    assert!(
        args.windows(2)
            .any(|w| w == ["--header", "Authorization: Bearer ${env:FIGMA_TOKEN}"]),
        "{args:?}"
    );
    let rows = rows(Client::Windsurf, &config, false);
    let figma_row = rows.iter().find(|r| r.0 == "figma").unwrap();
    assert!(figma_row.2 && !figma_row.3, "{rows:?}");

    let out = t.output(&["wrap-config", "--client", "windsurf", "--unwrap"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&config).unwrap(), text);
}

/// Zed's older `"command": {"path", "args", "env"}` entries: reported as the stdio servers Zed starts (bare:
/// not governed; a path to thoth with `run`: governed, its agent id read), and left byte for byte by
/// wrap-config, which says how to write them so it can wrap them.
#[test]
fn zed_legacy_command_objects_are_reported_and_left_alone_with_a_reason() {
    let t = Thoth::new("dev");
    let config = t.home.path().join(".config/zed/settings.json");
    let thoth = thoth_bin();
    let text = format!(
        r#"// Zed
{{
  "context_servers": {{
    "old-sqlite": {{
      "command": {{"path": "uvx", "args": ["mcp-server-sqlite", "--db-path", "/tmp/x.db"], "env": {{"A": "b"}}}},
      "settings": {{}},
    }},
    "old-governed": {{
      "command": {{"path": {thoth:?}, "args": ["run", "--agent-id", "legacy", "--tenant-id", "acme", "--", "npx", "x"]}}
    }},
  }},
}}
"#
    );
    place(&config, &text);
    let rows = rows(Client::Zed, &config, false);
    let row = |name: &str| rows.iter().find(|r| r.0 == name).unwrap().clone();
    assert!(!row("old-sqlite").2, "{rows:?}");
    assert!(row("old-governed").2, "{rows:?}");
    let status = t.output(&["status", "--client", "zed", "--json"]);
    assert_eq!(status.status.code(), Some(1), "{}", stderr(&status));
    let v = json_of(&status);
    let servers = v["clients"][0]["servers"].as_array().unwrap();
    let sqlite = servers.iter().find(|s| s["name"] == "old-sqlite").unwrap();
    assert_eq!(
        (&sqlite["stdio"], &sqlite["governed"]),
        (&Value::Bool(true), &Value::Bool(false))
    );
    let governed = servers
        .iter()
        .find(|s| s["name"] == "old-governed")
        .unwrap();
    assert_eq!(governed["agent_id"], "legacy");

    let out = t.output(&[
        "wrap-config",
        "--client",
        "zed",
        "--tenant-id",
        "acme",
        "--json",
    ]);
    let report = json_of(&out);
    let sqlite = report["servers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "old-sqlite")
        .unwrap()
        .clone();
    assert_eq!(sqlite["outcome"], "invalid", "{report:#}");
    assert!(
        sqlite["detail"].as_str().unwrap().contains("older form"),
        "{report:#}"
    );
    assert_eq!(std::fs::read_to_string(&config).unwrap(), text);
}
