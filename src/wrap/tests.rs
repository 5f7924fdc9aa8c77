//! Wrap / unwrap on text: realistic configs, idempotence, and a property test over generated configs.

use std::collections::BTreeMap;
use std::path::Path;

use super::document::Document;
use super::edit::{apply, Outcome, Plan, WrapPlan};
use super::record::Records;

fn plan() -> Plan {
    Plan {
        wrap: Some(WrapPlan {
            thoth_path: "/usr/local/bin/thoth".into(),
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

/// Run a plan over text, returning the new text and the outcomes.
fn run(text: &str, plan: &Plan, records: &mut Records) -> (String, Vec<Outcome>) {
    let doc = Document::parse(Path::new("c.json"), text).expect("parses");
    let results = apply(&doc, plan, records);
    (doc.to_text(), results.iter().map(|r| r.outcome).collect())
}

const REALISTIC: &str = r#"{
  "globalShortcut": "Ctrl+Space",
  "mcpServers": {
    "filesystem": {
      "command": "npx",
      "args": [
        "-y",
        "@modelcontextprotocol/server-filesystem",
        "/Users/ana/Desktop"
      ]
    },
    "github": {
      "command": "npx",
      "args": ["-y", "@modelcontextprotocol/server-github"],
      "env": {
        "GITHUB_PERSONAL_ACCESS_TOKEN": "ghp_x"
      },
      "disabled": false
    },
    "remote": {
      "url": "https://mcp.example.com/sse"
    },
    "noargs": {
      "command": "/opt/bin/server"
    }
  },
  "preferences": {"sidebarMode": "chat", "n": 1.50}
}
"#;

#[test]
fn wraps_a_realistic_config() {
    let mut records = Records::default();
    let (out, outcomes) = run(REALISTIC, &plan(), &mut records);
    assert_eq!(
        outcomes,
        [
            Outcome::Wrapped,
            Outcome::Wrapped,
            Outcome::Wrapped,
            Outcome::Wrapped
        ]
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let fs = &v["mcpServers"]["filesystem"];
    assert_eq!(fs["command"], "/usr/local/bin/thoth");
    assert_eq!(
        fs["args"],
        serde_json::json!([
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
            "/Users/ana/Desktop"
        ])
    );
    assert_eq!(
        v["mcpServers"]["github"]["env"]["GITHUB_PERSONAL_ACCESS_TOKEN"],
        "ghp_x"
    );
    assert_eq!(v["mcpServers"]["github"]["disabled"], false);
    // The url entry is bridged (issue 18): a stdio entry running `thoth run --url`.
    assert_eq!(
        v["mcpServers"]["remote"],
        serde_json::json!({"command": "/usr/local/bin/thoth", "args": [
            "run", "--agent-id", "remote", "--tenant-id", "acme", "--enforcement-mode", "block",
            "--url", "https://mcp.example.com/sse"
        ]})
    );
    // Outside mcpServers, byte for byte (1.50 stays 1.50).
    assert!(out.starts_with("{\n  \"globalShortcut\": \"Ctrl+Space\",\n  \"mcpServers\": {"));
    assert!(out.ends_with("  \"preferences\": {\"sidebarMode\": \"chat\", \"n\": 1.50}\n}\n"));
    // Every wrapped server has a record (its original text, for a byte-exact unwrap); only the one without
    // args needs `args_absent`.
    assert_eq!(
        records.servers.keys().collect::<Vec<_>>(),
        ["filesystem", "github", "noargs", "remote"]
    );
    let absent: Vec<&String> = records
        .servers
        .iter()
        .filter(|(n, r)| r.args_absent && *n != "remote")
        .map(|(n, _)| n)
        .collect();
    assert_eq!(absent, ["noargs"]);

    let (again, outcomes) = run(&out, &plan(), &mut records);
    assert_eq!(again, out, "a second wrap changes no byte");
    assert!(outcomes.iter().all(|o| matches!(o, Outcome::Unchanged)));

    let (back, outcomes) = run(&out, &unwrap_plan(), &mut records);
    assert_eq!(
        outcomes,
        [
            Outcome::Unwrapped,
            Outcome::Unwrapped,
            Outcome::Unwrapped,
            Outcome::Unwrapped
        ]
    );
    assert_eq!(
        back, REALISTIC,
        "unwrap gives the original back byte for byte"
    );
    assert!(records.servers.is_empty());
}

mod generated {
    //! Configs generated as ordered trees and written out compact or pretty, so key order is under test.

    use proptest::prelude::*;

    use super::*;

    #[derive(Debug, Clone)]
    pub enum Tree {
        Str(String),
        Num(i64),
        Bool(bool),
        Null,
        Arr(Vec<Tree>),
        Obj(Vec<(String, Tree)>),
    }

    impl Tree {
        pub fn render(&self, pretty: bool, depth: usize, out: &mut String) {
            let pad = |out: &mut String, d: usize| {
                if pretty {
                    out.push('\n');
                    out.push_str(&"  ".repeat(d));
                }
            };
            match self {
                Tree::Str(s) => out.push_str(&serde_json::to_string(s).unwrap()),
                Tree::Num(n) => out.push_str(&n.to_string()),
                Tree::Bool(b) => out.push_str(&b.to_string()),
                Tree::Null => out.push_str("null"),
                Tree::Arr(items) => {
                    out.push('[');
                    for (i, item) in items.iter().enumerate() {
                        if i > 0 {
                            out.push(',');
                        }
                        pad(out, depth + 1);
                        item.render(pretty, depth + 1, out);
                    }
                    if !items.is_empty() {
                        pad(out, depth);
                    }
                    out.push(']');
                }
                Tree::Obj(props) => {
                    out.push('{');
                    for (i, (key, value)) in props.iter().enumerate() {
                        if i > 0 {
                            out.push(',');
                        }
                        pad(out, depth + 1);
                        out.push_str(&serde_json::to_string(key).unwrap());
                        out.push_str(if pretty { ": " } else { ":" });
                        value.render(pretty, depth + 1, out);
                    }
                    if !props.is_empty() {
                        pad(out, depth);
                    }
                    out.push('}');
                }
            }
        }
    }

    /// The ordered tree of any JSON text (to compare order as well as values).
    pub fn tree_of(text: &str) -> Tree {
        use jsonc_parser::ast::Value as Ast;
        fn from(v: &Ast) -> Tree {
            match v {
                Ast::StringLit(s) => Tree::Str(s.value.to_string()),
                Ast::NumberLit(n) => Tree::Num(n.value.parse().unwrap()),
                Ast::BooleanLit(b) => Tree::Bool(b.value),
                Ast::NullKeyword(_) => Tree::Null,
                Ast::Array(a) => Tree::Arr(a.elements.iter().map(from).collect()),
                Ast::Object(o) => Tree::Obj(
                    o.properties
                        .iter()
                        .map(|p| (p.name.as_str().to_owned(), from(&p.value)))
                        .collect(),
                ),
            }
        }
        let parsed =
            jsonc_parser::parse_to_ast(text, &Default::default(), &Default::default()).unwrap();
        from(parsed.value.as_ref().unwrap())
    }

    impl PartialEq for Tree {
        fn eq(&self, other: &Tree) -> bool {
            let (mut a, mut b) = (String::new(), String::new());
            self.render(false, 0, &mut a);
            other.render(false, 0, &mut b);
            a == b
        }
    }

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z]{1,8}",
            "[ -~]{0,12}",
            "\\PC{0,6}",
            Just("--".to_owned()),
            Just("run".to_owned()),
        ]
    }

    fn leaf() -> impl Strategy<Value = Tree> {
        prop_oneof![
            text().prop_map(Tree::Str),
            any::<i64>().prop_map(Tree::Num),
            any::<bool>().prop_map(Tree::Bool),
            Just(Tree::Null),
        ]
    }

    fn value() -> impl Strategy<Value = Tree> {
        leaf().prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Tree::Arr),
                unique_props(inner, 4).prop_map(Tree::Obj),
            ]
        })
    }

    fn unique_props(
        value: impl Strategy<Value = Tree>,
        max: usize,
    ) -> impl Strategy<Value = Vec<(String, Tree)>> {
        prop::collection::vec(("[a-zA-Z_é✓ ]{1,6}", value), 0..max).prop_map(|mut props| {
            let mut seen = std::collections::HashSet::new();
            props.retain(|(k, _)| seen.insert(k.clone()));
            props
        })
    }

    /// A server entry: stdio (args and env each present or absent, extra keys anywhere), remote, or invalid.
    fn server() -> impl Strategy<Value = Tree> {
        let stdio = (
            "[a-z/._-]{1,12}"
                .prop_filter("not thoth", |c| !super::super::wrapped::is_thoth_binary(c)),
            prop::option::of(prop::collection::vec(text(), 0..5)),
            prop::option::of(prop::collection::vec(("[A-Z_]{1,6}", text()), 0..3)),
            unique_props(leaf(), 2),
            0usize..3,
        )
            .prop_map(|(command, args, env, extra, at)| {
                let mut props = vec![("command".to_owned(), Tree::Str(command))];
                if let Some(args) = args {
                    props.push((
                        "args".into(),
                        Tree::Arr(args.into_iter().map(Tree::Str).collect()),
                    ));
                }
                if let Some(env) = env {
                    let mut seen = std::collections::HashSet::new();
                    let env = env
                        .into_iter()
                        .filter(|(k, _)| seen.insert(k.clone()))
                        .map(|(k, v)| (k, Tree::Str(v)))
                        .collect();
                    props.push(("env".into(), Tree::Obj(env)));
                }
                for (key, value) in extra {
                    if !["command", "args", "env", "url", "type", "transport"]
                        .contains(&key.as_str())
                    {
                        props.insert(at.min(props.len()), (key, value));
                    }
                }
                Tree::Obj(props)
            });
        prop_oneof![
            6 => stdio,
            1 => "https://[a-z]{1,8}\\.example".prop_map(|u| Tree::Obj(vec![("url".into(), Tree::Str(u))])),
            1 => leaf(),
        ]
    }

    fn config() -> impl Strategy<Value = (Tree, bool)> {
        (
            unique_props(value(), 3),
            unique_props(server(), 6),
            unique_props(value(), 3),
            any::<bool>(),
        )
            .prop_map(|(before, servers, after, pretty)| {
                let mut props: Vec<(String, Tree)> = before
                    .into_iter()
                    .filter(|(k, _)| k != "mcpServers")
                    .collect();
                props.push(("mcpServers".into(), Tree::Obj(servers)));
                let after: Vec<_> = after
                    .into_iter()
                    .filter(|(k, _)| !props.iter().any(|(p, _)| p == k))
                    .collect();
                props.extend(after);
                (Tree::Obj(props), pretty)
            })
    }

    fn env_plan() -> impl Strategy<Value = Vec<(String, String)>> {
        prop::collection::vec(("[A-Z_]{1,6}", "[a-z]{0,4}"), 0..3).prop_map(|mut env| {
            let mut seen = std::collections::HashSet::new();
            env.retain(|(k, _)| seen.insert(k.clone()));
            env
        })
    }

    /// Everything of a tree except the value of `mcpServers`.
    fn outside_servers(tree: &Tree) -> Vec<(String, Tree)> {
        match tree {
            Tree::Obj(props) => props
                .iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        if k == "mcpServers" {
                            Tree::Null
                        } else {
                            v.clone()
                        },
                    )
                })
                .collect(),
            _ => vec![],
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

        #[test]
        fn wrap_is_idempotent_lossless_and_undone_by_unwrap((tree, pretty) in config(), env in env_plan()) {
            let mut original = String::new();
            tree.render(pretty, 0, &mut original);
            let mut plan = plan();
            if let Some(wrap) = plan.wrap.as_mut() {
                wrap.env = env;
            }
            let mut records = Records::default();
            let (wrapped, _) = run(&original, &plan, &mut records);
            prop_assert!(serde_json::from_str::<serde_json::Value>(&wrapped).is_ok(), "valid JSON: {}", wrapped);
            prop_assert_eq!(outside_servers(&tree_of(&wrapped)), outside_servers(&tree));

            let (again, outcomes) = run(&wrapped, &plan, &mut records);
            prop_assert_eq!(&again, &wrapped);
            prop_assert!(!outcomes.iter().any(|o| matches!(o, Outcome::Wrapped | Outcome::Updated)));

            let (back, _) = run(&wrapped, &unwrap_plan(), &mut records);
            prop_assert_eq!(tree_of(&back), tree);
            prop_assert!(records.servers.is_empty());
        }
    }
}

/// Any layout comes back byte for byte after wrap, re-wrap and unwrap; an entry changed meanwhile (or a
/// record whose text means something else) is restored by value instead, keeping the change.
#[test]
fn unwrap_gives_back_the_original_bytes_of_any_layout_unless_something_changed() {
    const ODD: &str = r#"{
  "mcpServers": {
    "a": {
      "command": "npx",
      "args": [
        "-y", "x"
      ]
    },
    "b": { "command": "npx",   "args": [ "-y" ,"x" ], "env": {"K": "v"} },
    "c": {
      "args": ["z"],
      "command": "uvx"
    },
    "d": {"command": "x", "args": [
      "a",
      "b"]},
    "e": {"command": "x", "args": [] , "env": {}}
  }
}
"#;
    let mut records = Records::default();
    let mut with_env = plan();
    if let Some(wrap) = &mut with_env.wrap {
        wrap.env = vec![("Q".into(), "1".into())];
    }
    let (wrapped, _) = run(ODD, &with_env, &mut records);
    let (rewrapped, _) = run(&wrapped, &plan(), &mut records);
    let mut kept = records.clone();
    let (back, _) = run(&rewrapped, &unwrap_plan(), &mut records);
    assert_eq!(back, ODD);
    assert!(records.servers.is_empty());

    // "b" gained a key while wrapped: restored by value, the key kept; the others byte for byte.
    let changed = rewrapped.replacen(r#""env": {"#, r#""disabled": true, "env": {"#, 1);
    assert_ne!(changed, rewrapped);
    let mut again = kept.clone();
    let (back, _) = run(&changed, &unwrap_plan(), &mut again);
    assert!(back.contains(r#""disabled": true"#), "{back}");
    assert!(
        back.contains("\"c\": {\n      \"args\": [\"z\"],\n      \"command\": \"uvx\"\n    }"),
        "{back}"
    );
    // A record whose text means another entry is not trusted: the entry is restored by value.
    kept.servers.get_mut("c").unwrap().original_text = Some(r#"{"command": "evil"}"#.into());
    let (back, _) = run(&rewrapped, &unwrap_plan(), &mut kept);
    assert!(
        !back.contains("evil") && back.contains(r#""command": "uvx""#),
        "{back}"
    );
}
