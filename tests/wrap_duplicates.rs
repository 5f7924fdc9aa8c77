//! Issue 12 §2: a client config with a key twice, anywhere (two `mcpServers`, a server listed twice, `command`
//! / `args` / `env` repeated, a nested value), spelled the same or escaped differently: Claude Desktop's
//! `JSON.parse` keeps the last, so status, health (every form) and wrap-config refuse it, naming the key's
//! path and line, and wrap-config leaves the file byte-identical. Configs are generated (proptest).

use proptest::prelude::*;
use serde_json::Value;

use crate::support::Thoth;

/// JSON with objects as ordered lists, so a key can be written twice.
#[derive(Debug, Clone)]
enum J {
    /// (key, spell its first character as `\uXXXX`, value)
    Obj(Vec<(String, bool, J)>),
    Arr(Vec<J>),
    Str(String),
    Num(i64),
}

/// Where the duplicate went: the object's child indices from the top, the entry's index in it, its pointer.
#[derive(Debug, Clone)]
struct Dup {
    object: Vec<usize>,
    index: usize,
    pointer: String,
}

fn key_text(key: &str, escaped: bool) -> String {
    let quoted = serde_json::to_string(key).unwrap();
    match key.chars().next() {
        Some(c) if escaped && c.is_ascii() => {
            format!("\"\\u{:04x}{}", c as u32, &quoted[1 + c.len_utf8()..])
        }
        _ => quoted,
    }
}

/// Pretty-print, one entry per line; returns the byte offset of the entry `dup` names.
fn render(j: &J, at: &mut Vec<usize>, dup: &Dup, indent: usize, out: &mut String) -> Option<usize> {
    let pad = |n: usize| "  ".repeat(n);
    let mut found = None;
    match j {
        J::Str(s) => out.push_str(&serde_json::to_string(s).unwrap()),
        J::Num(n) => out.push_str(&n.to_string()),
        J::Arr(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                out.push_str(if i == 0 { "\n" } else { ",\n" });
                out.push_str(&pad(indent + 1));
                at.push(i);
                found = found.or(render(item, at, dup, indent + 1, out));
                at.pop();
            }
            out.push_str(&format!("\n{}]", pad(indent)));
        }
        J::Obj(entries) => {
            out.push('{');
            for (i, (key, escaped, value)) in entries.iter().enumerate() {
                out.push_str(if i == 0 { "\n" } else { ",\n" });
                out.push_str(&pad(indent + 1));
                if *at == dup.object && i == dup.index {
                    found = Some(out.len());
                }
                out.push_str(&key_text(key, *escaped));
                out.push_str(": ");
                at.push(i);
                found = found.or(render(value, at, dup, indent + 1, out));
                at.pop();
            }
            out.push_str(&format!("\n{}}}", pad(indent)));
        }
    }
    found
}

fn escape(name: &str) -> String {
    name.replace('~', "~0").replace('/', "~1")
}

/// Every object in the tree: (child indices, JSON Pointer).
fn objects(j: &J, at: &mut Vec<usize>, pointer: &str, out: &mut Vec<(Vec<usize>, String)>) {
    match j {
        J::Obj(entries) => {
            out.push((at.clone(), pointer.to_owned()));
            for (i, (key, _, value)) in entries.iter().enumerate() {
                at.push(i);
                objects(value, at, &format!("{pointer}/{}", escape(key)), out);
                at.pop();
            }
        }
        J::Arr(items) => {
            for (i, item) in items.iter().enumerate() {
                at.push(i);
                objects(item, at, &format!("{pointer}/{i}"), out);
                at.pop();
            }
        }
        _ => {}
    }
}

fn object_at<'a>(j: &'a mut J, at: &[usize]) -> &'a mut Vec<(String, bool, J)> {
    let mut node = j;
    for &i in at {
        node = match node {
            J::Obj(entries) => &mut entries[i].2,
            J::Arr(items) => &mut items[i],
            _ => unreachable!("paths only lead through containers"),
        };
    }
    match node {
        J::Obj(entries) => entries,
        _ => unreachable!("the path names an object"),
    }
}

fn obj(entries: Vec<(&str, J)>) -> J {
    J::Obj(
        entries
            .into_iter()
            .map(|(k, v)| (k.to_owned(), false, v))
            .collect(),
    )
}

fn s(text: &str) -> J {
    J::Str(text.to_owned())
}

fn server() -> impl Strategy<Value = J> {
    (
        prop::collection::vec("[a-z@/.-]{1,12}", 0..4),
        prop::collection::btree_map("[A-Z_]{1,8}", "[a-z0-9]{0,6}", 0..3),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(args, env, wrapped, nested)| {
            let mut entries = vec![
                (
                    "command",
                    s(if wrapped {
                        "/usr/local/bin/thoth"
                    } else {
                        "npx"
                    }),
                ),
                ("args", J::Arr(args.iter().map(|a| s(a)).collect())),
            ];
            if !env.is_empty() {
                let env = env.iter().map(|(k, v)| (k.clone(), false, s(v))).collect();
                entries.push(("env", J::Obj(env)));
            }
            if nested {
                let deep = obj(vec![(
                    "k",
                    J::Arr(vec![obj(vec![("z", J::Num(1))]), J::Num(2)]),
                )]);
                entries.push(("meta", obj(vec![("deep", deep)])));
            }
            obj(entries)
        })
}

/// A realistic config, then one key written a second time somewhere: (text, pointer, line of the second).
fn config_with_a_duplicate() -> impl Strategy<Value = (String, String, usize)> {
    let names = prop::sample::subsequence(
        vec!["fs", "github", "time", "données", "a/b", "x~y", "e"],
        1..5,
    );
    (
        names,
        prop::collection::vec(server(), 5),
        any::<prop::sample::Index>(),
        any::<prop::sample::Index>(),
        any::<prop::sample::Index>(),
        any::<bool>(),
        any::<bool>(),
        server(),
    )
        .prop_map(
            |(names, servers, which, key, place, fresh, escaped, value)| {
                let servers = names
                    .iter()
                    .zip(servers)
                    .map(|(n, s)| (n.to_string(), false, s))
                    .collect();
                let mut top = obj(vec![
                    ("globalShortcut", s("Alt+Space")),
                    ("mcpServers", J::Obj(servers)),
                    ("preferences", obj(vec![("ratio", J::Num(3))])),
                ]);
                let mut all = Vec::new();
                objects(&top, &mut Vec::new(), "", &mut all);
                let (at, pointer) = all[which.index(all.len())].clone();
                let entries = object_at(&mut top, &at);
                let (name, after) = if entries.is_empty() || fresh {
                    entries.push(("dup".into(), false, J::Num(0)));
                    ("dup".to_owned(), entries.len() - 1)
                } else {
                    let i = key.index(entries.len());
                    (entries[i].0.clone(), i)
                };
                let index = after + 1 + place.index(entries.len() - after);
                entries.insert(index, (name.clone(), escaped, value));
                let dup = Dup {
                    object: at,
                    index,
                    pointer: format!("{pointer}/{}", escape(&name)),
                };
                let mut text = String::new();
                let offset = render(&top, &mut Vec::new(), &dup, 0, &mut text)
                    .expect("the duplicate is written");
                text.push('\n');
                let line = text[..offset].matches('\n').count() + 1;
                (text, dup.pointer, line)
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    /// The parser every command reads configs through refuses each one, naming the key and the line.
    #[test]
    fn every_generated_duplicate_is_refused_with_its_path_and_line((text, pointer, line) in config_with_a_duplicate()) {
        let parsed = thoth::wrap::document::Document::parse(std::path::Path::new("c.json"), &text);
        match parsed {
            Err(thoth::wrap::Error::DuplicateKey { key, line: at, .. }) => {
                prop_assert_eq!(&key, &pointer, "{}", text);
                prop_assert_eq!(at, line, "{}", text);
            }
            Err(other) => prop_assert!(false, "refused for another reason: {other}\n{text}"),
            Ok(_) => prop_assert!(false, "accepted:\n{text}"),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, failure_persistence: None, ..ProptestConfig::default() })]

    /// Through the binary: wrap-config refuses and changes no byte, status exits 3, health fails the check
    /// and reports the config as not governed in the JSON, Jamf and Intune forms.
    #[test]
    fn the_commands_refuse_it_and_leave_the_file_byte_identical((text, pointer, line) in config_with_a_duplicate()) {
        let t = Thoth::new("dev");
        let dir = t.home.path().join("cfg");
        std::fs::create_dir_all(&dir).unwrap();
        let config = dir.join("claude_desktop_config.json");
        std::fs::write(&config, &text).unwrap();
        let path = config.to_str().unwrap();
        let named = format!("\"{pointer}\" twice");
        let at_line = format!("and line {line} column");

        let out = t.output(&["wrap-config", "--tenant-id", "acme", path]);
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        prop_assert_eq!(out.status.code(), Some(1), "{}", err);
        prop_assert!(err.contains(path) && err.contains(&named) && err.contains(&at_line), "{}\n{}", err, text);
        prop_assert_eq!(std::fs::read(&config).unwrap(), text.as_bytes());
        prop_assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1, "nothing written beside it");

        let out = t.output(&["status", "--json", path]);
        prop_assert_eq!(out.status.code(), Some(3));
        prop_assert!(out.stdout.is_empty());
        prop_assert!(String::from_utf8_lossy(&out.stderr).contains(&named));

        let out = t.output(&["health", "--json", "--config", path]);
        prop_assert_eq!(out.status.code(), Some(1), "unhealthy");
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        prop_assert_eq!(&report["claude_config"]["governed"], &Value::Bool(false));
        let check = report["checks"].as_array().unwrap().iter().find(|c| c["name"] == "claude_config").unwrap();
        prop_assert_eq!(&check["status"], "fail");
        prop_assert!(check["detail"].as_str().unwrap().contains(&named));
        let out = t.output(&["health", "--config", path, "--format", "jamf-ea", "--field", "governed"]);
        prop_assert_eq!(String::from_utf8_lossy(&out.stdout), "<result>false</result>\n");
        let out = t.output(&["health", "--config", path, "--format", "intune-detect"]);
        prop_assert_eq!((out.status.code(), out.stdout.len()), (Some(1), 0));
        prop_assert_eq!(std::fs::read(&config).unwrap(), text.as_bytes());
    }
}
