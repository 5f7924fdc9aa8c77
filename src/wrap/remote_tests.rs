//! Generated url entries (every bridged `type`, headers with placeholders, unicode and odd spacing, extra
//! keys anywhere, compact or pretty): wrap gives the stdio form with the values byte for byte, a second
//! wrap changes nothing, unwrap gives the original bytes back (and, with no record, the same server).

use std::collections::BTreeMap;
use std::path::Path;

use proptest::prelude::*;
use serde_json::{json, Map, Value};

use super::super::document::Document;
use super::super::edit::{apply, Outcome, Plan, WrapPlan};
use super::super::record::Records;
use super::{header_of, parse_wrapped};

fn plan(wrap: bool) -> Plan {
    Plan {
        wrap: wrap.then(|| WrapPlan {
            thoth_path: "/opt/thoth/bin/thoth".into(),
            tenant_id: Some("t1".into()),
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

fn run(text: &str, plan: &Plan, records: &mut Records) -> (String, Vec<Outcome>) {
    let doc = Document::parse(Path::new("c.json"), text).expect("parses");
    let results = apply(&doc, plan, records);
    (doc.to_text(), results.iter().map(|r| r.outcome).collect())
}

/// One url entry as ordered (key, value) pairs.
fn entry() -> impl Strategy<Value = Vec<(String, Value)>> {
    let kind = prop_oneof![
        Just(None),
        Just(Some("http")),
        Just(Some("sse")),
        Just(Some("streamable-http")),
        Just(Some("streamableHttp")),
    ];
    let value = prop_oneof![
        "[ -~]{0,12}",
        "\\PC{0,8}",
        "[A-Za-z ]{0,6}\\$\\{env:[A-Z_]{1,8}\\}[ a-z]{0,4}",
        Just("Bearer ${env:BARS_TOKEN}".to_owned()),
    ];
    let headers = prop::option::of(prop::collection::vec(
        ("[A-Za-z][A-Za-z0-9-]{0,10}", value),
        0..4,
    ));
    let url = prop_oneof![
        "https://[a-z]{1,8}\\.example(:[0-9]{2,4})?/[a-z/]{0,8}".prop_map(|s| s),
        Just("http://127.0.0.1:8931/mcp?x=1&y=é".to_owned()),
    ];
    let extra = prop::collection::vec(("[a-z✓]{1,5}", any::<i32>()), 0..3);
    (url, kind, headers, extra, any::<prop::sample::Index>()).prop_map(
        |(url, kind, headers, extra, at)| {
            let mut props: Vec<(String, Value)> = Vec::new();
            if let Some(kind) = kind {
                props.push(("type".into(), json!(kind)));
            }
            props.push(("url".into(), json!(url)));
            if let Some(headers) = headers {
                let mut map = Map::new();
                for (k, v) in headers {
                    map.entry(k).or_insert(json!(v));
                }
                props.push(("headers".into(), Value::Object(map)));
            }
            for (k, v) in extra {
                if !props.iter().any(|(p, _)| *p == k)
                    && !["command", "args", "env", "transport"].contains(&k.as_str())
                {
                    props.insert(at.index(props.len() + 1), (k, json!(v)));
                }
            }
            props
        },
    )
}

fn render(servers: &[(String, Vec<(String, Value)>)], pretty: bool) -> String {
    let (nl, pad) = if pretty { ("\n", "  ") } else { ("", "") };
    let mut out = format!("{{{nl}{pad}\"mcpServers\": {{");
    for (i, (name, props)) in servers.iter().enumerate() {
        out.push_str(if i > 0 { "," } else { "" });
        out.push_str(&format!("{nl}{pad}{pad}{}: {{", json!(name)));
        for (j, (k, v)) in props.iter().enumerate() {
            out.push_str(if j > 0 { ", " } else { "" });
            out.push_str(&format!("{}: {}", json!(k), v));
        }
        out.push('}');
    }
    out.push_str(&format!("{nl}{pad}}}{nl}}}{nl}"));
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn url_entries_wrap_to_thoth_run_url_and_unwrap_byte_for_byte(
        entries in prop::collection::vec(("[a-z✓ é-]{1,8}", entry()), 1..4),
        pretty in any::<bool>(),
    ) {
        let mut seen = std::collections::HashSet::new();
        let servers: Vec<_> = entries.into_iter().filter(|(n, _)| seen.insert(n.clone())).collect();
        let original = render(&servers, pretty);
        let mut records = Records::default();
        let (wrapped, outcomes) = run(&original, &plan(true), &mut records);
        prop_assert!(outcomes.iter().all(|o| *o == Outcome::Wrapped), "{:?}", outcomes);
        let tree: Value = serde_json::from_str(&wrapped).unwrap();
        for (name, props) in &servers {
            let e = &tree["mcpServers"][name];
            prop_assert!(e.get("url").is_none() && e.get("type").is_none() && e.get("headers").is_none());
            prop_assert_eq!(&e["command"], "/opt/thoth/bin/thoth");
            let args: Vec<String> = serde_json::from_value(e["args"].clone()).unwrap();
            let (flags, remote) = parse_wrapped("/opt/thoth/bin/thoth", &args).unwrap();
            prop_assert_eq!(flags.tenant_id.as_deref(), Some("t1"));
            let get = |k: &str| props.iter().find(|(p, _)| p == k).map(|(_, v)| v.clone());
            prop_assert_eq!(Some(json!(remote.url)), get("url"));
            let headers: Vec<(String, String)> = match get("headers") {
                Some(Value::Object(m)) => m.into_iter().map(|(k, v)| (k, v.as_str().unwrap().to_owned())).collect(),
                _ => vec![],
            };
            // One `--header "Name: value"` per header, the value byte for byte.
            let header_args: Vec<&String> = args.windows(2).filter(|w| w[0] == "--header").map(|w| &w[1]).collect();
            prop_assert_eq!(header_args.len(), headers.len());
            for (arg, (k, v)) in header_args.iter().zip(&headers) {
                prop_assert_eq!(header_of(arg), Some((k.clone(), v.clone())));
            }
            let sse = get("type") == Some(json!("sse"));
            prop_assert_eq!(args.windows(2).any(|w| w[0] == "--transport" && w[1] == "sse"), sse);
            for (k, v) in props.iter().filter(|(k, _)| !["type", "url", "headers"].contains(&k.as_str())) {
                prop_assert_eq!(&e[k], v);
            }
        }
        let (again, outcomes) = run(&wrapped, &plan(true), &mut records);
        prop_assert_eq!(&again, &wrapped);
        prop_assert!(outcomes.iter().all(|o| *o == Outcome::Unchanged));

        // Without the record the same servers come back (`type` http, or sse for a legacy server).
        let mut none = Records::default();
        let (rebuilt, _) = run(&wrapped, &plan(false), &mut none);
        let rebuilt: Value = serde_json::from_str(&rebuilt).unwrap();
        for (name, props) in &servers {
            let e = rebuilt["mcpServers"][name].as_object().unwrap();
            // (An empty `headers` object is no header at all: it is not rebuilt.)
            for (k, v) in props.iter().filter(|(k, v)| k != "type" && *v != json!({})) {
                prop_assert_eq!(e.get(k), Some(v));
            }
            let sse = props.iter().any(|(k, v)| k == "type" && v == "sse");
            prop_assert_eq!(&e["type"], if sse { "sse" } else { "http" });
            prop_assert!(e.get("command").is_none() && e.get("args").is_none());
        }

        let (back, outcomes) = run(&wrapped, &plan(false), &mut records);
        prop_assert!(outcomes.iter().all(|o| *o == Outcome::Unwrapped));
        prop_assert_eq!(back, original);
        prop_assert!(records.servers.is_empty());
    }
}
