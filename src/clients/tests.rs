//! Client formats on text, and every OS's paths computed on any OS: realistic configs per client, their
//! quirks (JSONC, placeholders, Claude Code's two scopes, Codex's TOML comments and env sub-tables),
//! duplicates refused, idempotence, byte-exact unwrap, and a property test over generated configs.

use std::collections::BTreeMap;
use std::path::Path;

use proptest::prelude::*;

use super::*;
use crate::wrap::edit::{Outcome, WrapPlan};

const THOTH: &str = "/opt/thoth/bin/thoth";

fn plan() -> Plan {
    Plan {
        wrap: Some(WrapPlan {
            thoth_path: THOTH.into(),
            tenant_id: Some("acme".into()),
            enforcement_mode: "block".into(),
            agent_id_prefix: None,
            env: vec![],
            intents: BTreeMap::new(),
            lock: None,
            drop_flags: vec![],
        }),
        only: vec![],
        exclude: vec![],
    }
}

fn unwrap_plan() -> Plan {
    Plan {
        wrap: None,
        only: vec![],
        exclude: vec![],
    }
}

fn run(client: Client, text: &str, plan: &Plan, records: &mut Records) -> (String, Vec<Outcome>) {
    let (text, results) = format(client)
        .apply(Path::new("c"), text, plan, records)
        .unwrap_or_else(|e| panic!("{e}"));
    (text, results.iter().map(|r| r.outcome).collect())
}

/// Wrap, check what changed, wrap again (nothing), unwrap (the original bytes).
fn round_trip(client: Client, original: &str, expect: &[Outcome]) -> String {
    let mut records = Records::default();
    let (wrapped, outcomes) = run(client, original, &plan(), &mut records);
    assert_eq!(outcomes, expect, "{client:?}");
    let (again, outcomes) = run(client, &wrapped, &plan(), &mut records);
    assert_eq!(again, wrapped, "{client:?}: a second wrap changes nothing");
    assert!(outcomes.iter().all(|o| *o != Outcome::Wrapped));
    let (back, _) = run(client, &wrapped, &unwrap_plan(), &mut records);
    assert_eq!(
        back, original,
        "{client:?}: unwrap gives the original bytes"
    );
    assert!(records.servers.is_empty());
    wrapped
}

const W: Outcome = Outcome::Wrapped;
const R: Outcome = Outcome::Remote;

#[test]
fn vscode_jsonc_with_inputs_placeholders_comments_and_trailing_commas() {
    let text = r#"{
  // Servers for this machine.
  "inputs": [
    {"type": "promptString", "id": "gh-token", "description": "GitHub token", "password": true},
  ],
  "servers": {
    /* the GitHub one */
    "github": {
      "type": "stdio",
      "command": "npx",
      "args": ["-y", "@modelcontextprotocol/server-github"],
      "env": {"GITHUB_TOKEN": "${input:gh-token}", "HOME_DIR": "${userHome}", "W": "${workspaceFolder}"},
    },
    "local": {"command": "${env:HOME}/bin/srv", "args": ["a"], "env": {"\u0041": "\u00e9"}},
    "remote": {"type": "http", "url": "https://api.example.com/mcp", "headers": {"A": "b"}},
    "sse": {"type": "sse", "url": "https://sse.example.com"},
  },
}
"#;
    let wrapped = round_trip(Client::Vscode, text, &[W, W, W, W]);
    for kept in [
        "${input:gh-token}",
        "${userHome}",
        "${workspaceFolder}",
        "${env:HOME}/bin/srv",
        "{\"\\u0041\": \"\\u00e9\"}",
        "// Servers for this machine.",
        "/* the GitHub one */",
        "\"type\": \"stdio\"",
        "\"password\": true},\n  ],",
    ] {
        assert!(wrapped.contains(kept), "{kept} kept in:\n{wrapped}");
    }
    assert!(wrapped.contains(r#""command": "/opt/thoth/bin/thoth""#));
}

#[test]
fn claude_code_user_and_local_scopes_both_wrapped_and_reported() {
    let text = r#"{
  "numStartups": 42,
  "theme": "dark",
  "mcpServers": {
    "memory": {"type": "stdio", "command": "npx", "args": ["-y", "@modelcontextprotocol/server-memory"], "env": {}}
  },
  "projects": {
    "/home/ana/work/api": {
      "allowedTools": [],
      "mcpServers": {
        "memory": {"type": "stdio", "command": "uvx", "args": ["mcp-server-memory"]},
        "linear": {"type": "sse", "url": "https://mcp.linear.app/sse"}
      },
      "hasTrustDialogAccepted": true
    },
    "/home/ana/empty": {"allowedTools": []}
  }
}
"#;
    round_trip(Client::ClaudeCode, text, &[W, W, W]);
    let parsed = format(Client::ClaudeCode)
        .parse(Path::new("c"), text)
        .unwrap();
    let scopes: Vec<_> = parsed.servers.iter().map(|s| s.scope.clone()).collect();
    assert_eq!(
        scopes,
        [
            None,
            Some("local:/home/ana/work/api".into()),
            Some("local:/home/ana/work/api".into())
        ]
    );
    // A project's servers not an object is refused, naming where.
    let bad = r#"{"projects": {"/p": {"mcpServers": []}}}"#;
    let err = format(Client::ClaudeCode)
        .parse(Path::new("c"), bad)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("\"/p\"") && err.contains("not an object"),
        "{err}"
    );
}

#[test]
fn claude_code_project_file_keeps_default_placeholders() {
    let text = "{\n  \"mcpServers\": {\n    \"db\": {\n      \"command\": \"${DB_TOOL:-npx}\",\n      \"args\": [\"-y\", \"db-mcp\", \"--url=${DB_URL:-postgres://localhost}\"],\n      \"env\": {\"TOKEN\": \"${TOKEN}\"}\n    }\n  }\n}\n";
    let wrapped = round_trip(Client::ClaudeCode, text, &[W]);
    assert!(wrapped.contains("\"${DB_TOOL:-npx}\""));
    assert!(wrapped.contains("\"--url=${DB_URL:-postgres://localhost}\""));
}

#[test]
fn cursor_and_windsurf_remote_spellings() {
    let cursor = r#"{"mcpServers": {"fs": {"command": "npx", "args": ["-y", "fs", "${workspaceFolder}"]}, "web": {"url": "https://x/mcp"}}}"#;
    round_trip(Client::Cursor, cursor, &[W, W]);
    let windsurf = "{\n  \"mcpServers\": {\n    \"gh\": {\"command\": \"npx\", \"args\": [\"gh\"], \"env\": {\"T\": \"${env:GH}\"}, \"disabled\": false},\n    \"cloud\": {\"serverUrl\": \"https://x/mcp\"},\n    \"old\": {\"url\": \"https://y\"}\n  }\n}\n";
    round_trip(Client::Windsurf, windsurf, &[W, W, W]);
}

#[test]
fn zed_context_servers_in_a_jsonc_settings_file() {
    let text = r#"// Zed settings
{
  "theme": "One Dark",
  "buffer_font_size": 15,
  "context_servers": {
    "postgres": {
      "source": "custom",
      "enabled": true,
      "command": "npx",
      "args": ["-y", "@modelcontextprotocol/server-postgres", "postgresql://localhost/db"],
      "env": {},
    },
    "remote": {"url": "https://x/mcp", "headers": {"Authorization": "Bearer t"}},
  },
  "vim_mode": true,
}
"#;
    let wrapped = round_trip(Client::Zed, text, &[W, W]);
    assert!(wrapped.contains("\"source\": \"custom\",\n      \"enabled\": true,"));
}

#[test]
fn codex_toml_tables_inline_and_sub_table_env_comments_kept() {
    let text = r#"# Codex config
model = "o3"
approval_policy = "on-request"

[mcp_servers.fs]
command = "npx" # runner
args = [
  "-y", # assume yes
  "@modelcontextprotocol/server-filesystem",
  '/home/ana/code',
]
env = { "NODE_OPTIONS" = "--max-old-space-size=512" }
startup_timeout_sec = 20

[mcp_servers.docs]
url = "https://docs.example.com/mcp"
bearer_token_env_var = "DOCS_TOKEN"

# git server
[mcp_servers.git]
command = "uvx"

[mcp_servers.git.env]
GIT_DIR = "/home/ana/.git" # kept

[profiles.fast]
model = "o4-mini"
"#;
    let wrapped = round_trip(Client::Codex, text, &[W, R, W]);
    for kept in [
        "command = \"/opt/thoth/bin/thoth\" # runner",
        "startup_timeout_sec = 20",
        "GIT_DIR = \"/home/ana/.git\" # kept",
        "# git server",
        "[profiles.fast]",
    ] {
        assert!(wrapped.contains(kept), "{kept} kept in:\n{wrapped}");
    }
    let inline = "[mcp_servers]\nfs = { command = \"npx\", args = [\"fs\"] }\n";
    round_trip(Client::Codex, inline, &[W]);
}

#[test]
fn duplicates_are_refused_in_every_format() {
    let cases: &[(Client, &str, &str)] = &[
        (
            Client::Cursor,
            r#"{"mcpServers": {"a": {"command": "x"}, "a": {"command": "y"}}}"#,
            "/mcpServers/a",
        ),
        (
            Client::Vscode,
            "{\"servers\": {\"a\": {\"command\": \"x\", \"command\": \"y\",},},}",
            "/servers/a/command",
        ),
        (
            Client::Zed,
            r#"{"context_servers": {"a": {"command": "x", "args": [], "args": ["y"]}}}"#,
            "/context_servers/a/args",
        ),
        (
            Client::ClaudeCode,
            r#"{"projects": {"/p": {"mcpServers": {"a": {"command": "x", "env": {}, "env": {"X": "1"}}}}}}"#,
            "/projects/~1p/mcpServers/a/env",
        ),
        (
            Client::Codex,
            "[mcp_servers.a]\ncommand = \"x\"\n\n[mcp_servers.a]\ncommand = \"y\"\n",
            "line 4",
        ),
        (
            Client::Codex,
            "[mcp_servers.a]\ncommand = \"x\"\ncommand = \"y\"\n",
            "line 3",
        ),
    ];
    for (client, text, names) in cases {
        let err = format(*client)
            .parse(Path::new("/cfg/f"), text)
            .unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains("/cfg/f") && message.contains(names),
            "{client:?}: {message}"
        );
        let mut records = Records::default();
        assert!(format(*client)
            .apply(Path::new("/cfg/f"), text, &plan(), &mut records)
            .is_err());
    }
}

#[test]
fn not_the_clients_format_is_refused() {
    let err = format(Client::Codex).parse(Path::new("/c.toml"), r#"{"mcpServers": {}}"#);
    assert!(err.unwrap_err().to_string().contains("/c.toml"));
    let err = format(Client::Codex).parse(Path::new("/c.toml"), "mcp_servers = 3\n");
    assert!(err.unwrap_err().to_string().contains("not a table"));
    let err = format(Client::Cursor).parse(Path::new("/m.json"), "{\"mcpServers\": {},}");
    assert!(err.is_err(), "Cursor's JSON takes no trailing commas");
    let err = format(Client::Vscode).parse(Path::new("/m.json"), r#"{"servers": []}"#);
    assert!(err.unwrap_err().to_string().contains("\"servers\""));
}

fn server_name() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_-]{0,8}"
}

fn placeholder() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("${input:tok}".to_owned()),
        Just("${env:HOME}".to_owned()),
        Just("${userHome}".to_owned()),
        Just("${workspaceFolder}".to_owned()),
        Just("${VAR:-default}".to_owned()),
        Just("\\u00e9t\\u00e9".to_owned()),
        "[a-zA-Z0-9 ./:=-]{0,12}",
    ]
}

#[derive(Debug, Clone)]
struct Gen {
    name: String,
    remote: bool,
    args: Option<Vec<String>>,
    env: Option<Vec<(String, String)>>,
    extra: bool,
}

fn gen_server() -> impl Strategy<Value = Gen> {
    (
        server_name(),
        any::<bool>(),
        proptest::option::of(proptest::collection::vec(placeholder(), 0..4)),
        proptest::option::of(proptest::collection::vec(
            ("[A-Z]{1,4}", placeholder()),
            0..3,
        )),
        any::<bool>(),
    )
        .prop_map(|(name, remote, args, env, extra)| Gen {
            name,
            remote,
            args,
            env,
            extra,
        })
}

fn quote(s: &str) -> String {
    format!("\"{s}\"")
}

/// A JSON (or JSONC) config of generated servers, with the client's quirks.
fn json_config(client: Client, servers: &[Gen], multiline: bool, jsonc: bool) -> String {
    let key = crate::clients::json::layout(client).key;
    let nl = if multiline { "\n    " } else { " " };
    let comma = if jsonc && !servers.is_empty() {
        ","
    } else {
        ""
    };
    let mut entries = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for s in servers.iter().filter(|s| seen.insert(s.name.clone())) {
        let mut fields = Vec::new();
        if s.remote {
            let url_key = if client == Client::Windsurf {
                "serverUrl"
            } else {
                "url"
            };
            fields.push(format!("\"{url_key}\": \"https://{}.example/mcp\"", s.name));
        } else {
            if client == Client::Vscode || client == Client::ClaudeCode {
                fields.push("\"type\": \"stdio\"".into());
            }
            fields.push("\"command\": \"npx\"".into());
            if let Some(args) = &s.args {
                let items: Vec<String> = args.iter().map(|a| quote(a)).collect();
                fields.push(format!("\"args\": [{}]", items.join(", ")));
            }
            if let Some(env) = &s.env {
                let mut seen = std::collections::HashSet::new();
                let items: Vec<String> = env
                    .iter()
                    .filter(|(k, _)| seen.insert(k.clone()))
                    .map(|(k, v)| format!("\"{k}\": {}", quote(v)))
                    .collect();
                fields.push(format!("\"env\": {{{}}}", items.join(", ")));
            }
        }
        if s.extra {
            fields.push("\"disabled\": false, \"timeout\": 1.50e3".into());
        }
        entries.push(format!(
            "\"{}\": {{{nl}{}{comma}{nl}}}",
            s.name,
            fields.join(&format!(",{nl}"))
        ));
    }
    let comment = if jsonc { "  // generated\n" } else { "" };
    format!(
        "{{\n{comment}  \"before\": [1, 2.0],\n  \"{key}\": {{\n    {}{comma}\n  }},\n  \"after\": {{\"x\": null}}\n}}\n",
        entries.join(",\n    ")
    )
}

fn toml_config(servers: &[Gen], inline_env: bool) -> String {
    let mut text = String::from("# generated\nmodel = \"o3\"\n");
    let mut seen = std::collections::HashSet::new();
    for s in servers.iter().filter(|s| seen.insert(s.name.clone())) {
        text.push_str(&format!("\n[mcp_servers.{}]\n", s.name));
        if s.remote {
            text.push_str(&format!("url = \"https://{}.example/mcp\"\n", s.name));
            continue;
        }
        text.push_str("command = \"npx\" # run it\n");
        if let Some(args) = &s.args {
            let items: Vec<String> = args.iter().map(|a| quote(a)).collect();
            text.push_str(&format!("args = [ {} ]\n", items.join(" , ")));
        }
        if s.extra {
            text.push_str("startup_timeout_sec = 1_0\n");
        }
        if let Some(env) = &s.env {
            let mut seen = std::collections::HashSet::new();
            let pairs: Vec<_> = env.iter().filter(|(k, _)| seen.insert(k.clone())).collect();
            if inline_env {
                let items: Vec<String> = pairs
                    .iter()
                    .map(|(k, v)| format!("{k} = {}", quote(v)))
                    .collect();
                text.push_str(&format!("env = {{ {} }}\n", items.join(", ")));
            } else {
                text.push_str(&format!("\n[mcp_servers.{}.env]\n", s.name));
                for (k, v) in pairs {
                    text.push_str(&format!("{k} = {} # kept\n", quote(v)));
                }
            }
        }
    }
    text
}

/// The generated remote entries this client's wrap bridges: `url` entries of the JSON formats (Windsurf's
/// spelled `serverUrl`); Codex's TOML is not converted.
fn bridged(client: Client) -> bool {
    !matches!(client, Client::Codex)
}

fn client_strategy() -> impl Strategy<Value = Client> {
    proptest::sample::select(Client::ALL.to_vec())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn generated_configs_round_trip_in_every_format(
        client in client_strategy(),
        servers in proptest::collection::vec(gen_server(), 0..6),
        multiline in any::<bool>(),
        quirk in any::<bool>(),
    ) {
        let jsonc = quirk && matches!(client, Client::Vscode | Client::Zed);
        let text = match client {
            Client::Codex => toml_config(&servers, quirk),
            _ => json_config(client, &servers, multiline, jsonc),
        };
        let parsed = format(client).parse(Path::new("c"), &text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        let expect: Vec<Outcome> = parsed
            .servers
            .iter()
            .map(|s| if matches!(s.entry, Entry::Remote) && !bridged(client) { R } else { W })
            .collect();
        let wrapped = round_trip(client, &text, &expect);
        // Every stdio server now runs this thoth; a `url` entry runs `thoth run --url` (issue 18), one the
        // bridge cannot carry (Codex) is as it was.
        let after = format(client).parse(Path::new("c"), &wrapped).unwrap();
        for (before, now) in parsed.servers.iter().zip(&after.servers) {
            match (&before.entry, &now.entry) {
                (Entry::Remote, Entry::Remote) => prop_assert!(!bridged(client)),
                (Entry::Remote, Entry::Stdio(n)) => {
                    prop_assert!(bridged(client));
                    prop_assert_eq!(n.command.as_str(), THOTH);
                    prop_assert!(n.args_or_empty().iter().any(|a| a == "--url"));
                }
                (Entry::Stdio(b), Entry::Stdio(n)) => {
                    prop_assert_eq!(n.command.as_str(), THOTH);
                    prop_assert_eq!(&n.env, &b.env);
                    let w = crate::wrap::wrapped::parse(&n.command, n.args_or_empty()).unwrap();
                    prop_assert_eq!(&w.command, &b.command);
                    prop_assert_eq!(w.args.as_slice(), b.args_or_empty());
                }
                other => prop_assert!(false, "{other:?}"),
            }
        }
    }
}

#[test]
fn env_added_by_wrap_is_taken_out_by_unwrap_in_toml_and_jsonc() {
    let mut with_env = plan();
    if let Some(wrap) = with_env.wrap.as_mut() {
        wrap.env = vec![
            ("THOTH_LOG".into(), "debug".into()),
            ("K".into(), "new".into()),
        ];
    }
    let cases: &[(Client, &str)] = &[
        (Client::Codex, "[mcp_servers.a]\ncommand = \"x\" # c\n\n[mcp_servers.b]\ncommand = \"y\"\n\n[mcp_servers.b.env]\nK = \"old\" # kept\n"),
        (Client::Codex, "[mcp_servers]\na = { command = \"x\", env = { K = \"old\" } }\n"),
        (Client::Zed, "{\n  \"context_servers\": {\n    \"a\": {\"command\": \"x\",},\n  },\n}\n"),
    ];
    for (client, text) in cases {
        let mut records = Records::default();
        let (wrapped, _) = run(*client, text, &with_env, &mut records);
        let parsed = format(*client).parse(Path::new("c"), &wrapped).unwrap();
        for server in &parsed.servers {
            let Entry::Stdio(fields) = &server.entry else {
                panic!("{wrapped}")
            };
            let env = fields.env.clone().unwrap_or_default();
            assert!(env.contains(&("K".into(), "new".into())), "{wrapped}");
            assert!(
                env.contains(&("THOTH_LOG".into(), "debug".into())),
                "{wrapped}"
            );
        }
        let (again, _) = run(*client, &wrapped, &with_env, &mut records);
        assert_eq!(again, wrapped);
        let (back, _) = run(*client, &wrapped, &unwrap_plan(), &mut records);
        assert_eq!(back, *text, "{client:?}");
    }
}
