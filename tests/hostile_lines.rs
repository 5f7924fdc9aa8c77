//! Client lines an attacker would try against batch and call classification (issue 12 §1): a denied tool
//! spelled every way a lenient server might still read it, in every place a lenient server might look for
//! it (notifications, `id: null`, lookalike methods and keys, duplicate keys, params as an array, elements
//! that are arrays, strings or nested batches), mixed with exact allowed calls. The generator is shared with
//! `hostile.rs` (the real binary against the lenient fixture); here the router itself is driven with many
//! more variants.

use proptest::prelude::*;
use proptest::sample::select;
use serde_json::Value;

use thoth::policy::{Decision, Refusal};
use thoth::proxy::envelope::fold;
use thoth::proxy::router::{Route, Router};

/// The tool the policy denies (everything but [`ALLOWED`] is out of scope in block mode).
pub const DENIED: &str = "forbidden";
pub const ALLOWED: &str = "echo";

/// The denied name as JSON string literals (quotes included).
fn denied_name() -> impl Strategy<Value = String> {
    select(vec![
        r#""forbidden""#,
        r#""FORBIDDEN""#,
        r#""Forbidden""#,
        r#"" forbidden""#,
        r#""forbidden ""#,
        r#""forbidden\n""#,
        r#""forbidden\u0000""#,
        r#""forbidde\u006e""#,
        r#""forbidden\u200b""#,
        r#""\u202eforbidden""#,
        r#""\ufeffforbidden""#,
        "\"ｆｏｒｂｉｄｄｅｎ\"",
    ])
    .prop_map(str::to_owned)
}

fn call_method() -> impl Strategy<Value = String> {
    // Exact a third of the time: then the id, the keys and the params are what must refuse it.
    prop_oneof![1 => Just(r#""tools/call""#.to_owned()), 2 => call_method_variant()]
}

fn call_method_variant() -> impl Strategy<Value = String> {
    select(vec![
        r#""tools/call""#,
        r#""tools\/call""#,
        r#""tools\u002fcall""#,
        r#""Tools/Call""#,
        r#""TOOLS/CALL""#,
        r#"" tools/call""#,
        r#""tools/call ""#,
        r#""tools/call\t""#,
        r#""tools.call""#,
        r#""tools_call""#,
        r#""toolscall""#,
        r#""tools/call\u200b""#,
        r#""tools/call\u0000""#,
        "\"ｔｏｏｌｓ/ｃａｌｌ\"",
    ])
    .prop_map(str::to_owned)
}

fn key(exact: &'static str, lookalikes: Vec<&'static str>) -> impl Strategy<Value = String> {
    let mut all = vec![format!("\"{exact}\"")];
    all.extend(lookalikes.into_iter().map(str::to_owned));
    // The exact key most of the time, so the other parts of a message get exercised too.
    prop_oneof![4 => Just(format!("\"{exact}\"")), 1 => select(all)]
}

fn id() -> impl Strategy<Value = Option<String>> {
    select(vec![
        None,
        Some("null"),
        Some("1"),
        Some("0"),
        Some(r#""a""#),
        Some("true"),
        Some("{}"),
        Some("[1]"),
        Some("1.5"),
    ])
    .prop_map(|id| id.map(str::to_owned))
}

fn jsonrpc() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        4 => Just(Some(r#""2.0""#.to_owned())),
        1 => select(vec![None, Some(r#""2\u002e0""#), Some(r#""1.0""#), Some("2.0"), Some(r#""2.0 ""#)])
            .prop_map(|v| v.map(str::to_owned)),
    ]
}

fn params(name: String) -> impl Strategy<Value = String> {
    let n = name;
    select(vec![
        format!(r#"{{"name":{n}}}"#),
        format!(r#"{{"name":{n},"arguments":{{"k":1}}}}"#),
        format!(r#"{{"name":"echo","name":{n}}}"#),
        format!(r#"{{"name":{n},"name":"echo"}}"#),
        format!(r#"{{"Name":{n},"name":"echo"}}"#),
        format!(r#"{{"name":"echo","NAME":{n}}}"#),
        format!(r#"{{"name":"echo","nam\u0065":{n}}}"#),
        format!(r#"{{"nam\u0065":{n}}}"#),
        format!(r#"{{"name":"echo","arguments":{{}},"arguments":{{"name":{n}}}}}"#),
        format!("[{n},{{}}]"),
        format!(r#"[{{"name":{n}}}]"#),
        n.clone(),
        format!(r#"{{"name":[{n}]}}"#),
        format!(r#"{{"name":{{"name":{n}}}}}"#),
    ])
}

/// One object that tries to call the denied tool.
fn hostile_object() -> impl Strategy<Value = String> {
    (
        jsonrpc(),
        id(),
        key(
            "method",
            vec![
                r#""Method""#,
                r#""METHOD""#,
                r#"" method""#,
                r#""metho\u0064""#,
            ],
        ),
        call_method(),
        key(
            "params",
            vec![r#""Params""#, r#""param\u0073""#, r#""params ""#],
        ),
        denied_name().prop_flat_map(params),
        select(vec![
            None,
            Some(r#""method":"ping""#),
            Some(r#""Method":"ping""#),
            Some(r#""id":7"#),
            Some(r#""params":{"name":"echo"}"#),
            Some(r#""jsonrpc":"2.0""#),
        ]),
        any::<bool>(),
    )
        .prop_map(
            |(jsonrpc, id, method_key, method, params_key, params, extra, extra_first)| {
                let mut members = Vec::new();
                if let Some(v) = jsonrpc {
                    members.push(format!(r#""jsonrpc":{v}"#));
                }
                if let Some(v) = id {
                    members.push(format!(r#""id":{v}"#));
                }
                members.push(format!("{method_key}:{method}"));
                members.push(format!("{params_key}:{params}"));
                if let Some(extra) = extra {
                    if extra_first {
                        members.insert(0, extra.to_owned());
                    } else {
                        members.push(extra.to_owned());
                    }
                }
                format!("{{{}}}", members.join(","))
            },
        )
}

/// An exact, allowed call with a unique marker (it must reach the server).
pub fn allowed_call(id: u64) -> String {
    format!(
        r#"{{"jsonrpc":"2.0","id":"ok-{id}","method":"tools/call","params":{{"name":"{ALLOWED}","arguments":{{"marker":"allowed-{id}"}}}}}}"#
    )
}

/// An element of a batch (or a whole line): a hostile object, or the same hidden positionally, nested, or
/// as a string holding JSON.
fn hostile_element() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => hostile_object(),
        1 => hostile_object().prop_map(|o| format!("[{o}]")),
        1 => hostile_object().prop_map(|o| format!("[[{o}]]")),
        1 => hostile_object().prop_map(|o| serde_json::to_string(&o).expect("string")),
        1 => (denied_name(), call_method(), id()).prop_map(|(n, m, id)| {
            format!(r#"["2.0",{},{m},{{"name":{n}}}]"#, id.unwrap_or_else(|| "1".into()))
        }),
        1 => (denied_name(), call_method()).prop_map(|(n, m)| format!("[{m},{n}]")),
    ]
}

/// A client line: one element, or a batch mixing hostile elements with exact allowed calls (`Some(k)`: the
/// allowed call numbered k goes there).
pub fn hostile_line() -> impl Strategy<Value = Vec<Option<String>>> {
    prop_oneof![
        hostile_element().prop_map(|e| vec![Some(e)]),
        proptest::collection::vec(
            prop_oneof![3 => hostile_element().prop_map(Some), 1 => Just(None)],
            1..5
        ),
    ]
}

/// Render a generated line, numbering the allowed calls from `next`; returns the line and how many allowed
/// calls it holds.
pub fn render(parts: &[Option<String>], next: &mut u64) -> (String, u64) {
    let mut allowed = 0;
    let elements: Vec<String> = parts
        .iter()
        .map(|p| match p {
            Some(e) => e.clone(),
            None => {
                *next += 1;
                allowed += 1;
                allowed_call(*next)
            }
        })
        .collect();
    let line = if parts.len() == 1 && parts[0].is_some() {
        elements[0].clone()
    } else {
        format!("[{}]", elements.join(","))
    };
    (line, allowed)
}

/// Every string in `v`, keys included.
pub fn strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|i| strings(i, out)),
        Value::Object(map) => {
            for (k, v) in map {
                out.push(k.clone());
                strings(v, out);
            }
        }
        _ => {}
    }
}

/// Does this line (JSON or not) name the denied tool in any spelling a lenient reader could take?
pub fn names_denied(line: &[u8]) -> bool {
    let text = String::from_utf8_lossy(line);
    if fold(&text).contains(&fold(DENIED)) {
        return true;
    }
    let Ok(value) = serde_json::from_slice::<Value>(line) else {
        return false;
    };
    let mut all = Vec::new();
    strings(&value, &mut all);
    // A string holding JSON (a lenient server might parse it) is searched too.
    all.iter().any(|s| {
        fold(s).contains(&fold(DENIED))
            || (s.starts_with(['{', '[', '"']) && names_denied(s.as_bytes()))
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    /// The router, with a policy that allows only `echo`: nothing it forwards names the denied tool, every
    /// forwarded frame is one JSON-RPC 2.0 object, and every exact allowed call is forwarded.
    #[test]
    fn the_router_never_forwards_a_denied_tool(lines in proptest::collection::vec(hostile_line(), 1..6)) {
        let mut router = Router::new("props", 1024);
        let mut out = Vec::new();
        let mut next = 0;
        let mut expected = 0;
        let mut forwarded_allowed = 0;
        for parts in &lines {
            let (line, allowed) = render(parts, &mut next);
            expected += allowed;
            router.on_client(bytes::Bytes::from(line.clone()), &mut out);
            let mut decided = Vec::new();
            for route in out.drain(..) {
                match route {
                    Route::Govern(call) => {
                        prop_assert!(thoth::proxy::router::is_plain_name(&call.name), "{line}");
                        let decision = if call.name == ALLOWED {
                            Decision::Allow
                        } else {
                            Decision::Block(Refusal { reason: "out of scope".into(), violation_id: "v".into() })
                        };
                        router.on_decision(call.proxy_id, decision, &mut decided);
                    }
                    other => decided.push(other),
                }
            }
            for route in decided {
                if let Route::ToServer(frame) = route {
                    let bytes = frame.to_vec();
                    prop_assert!(!names_denied(&bytes), "forwarded {} from {line}", String::from_utf8_lossy(&bytes));
                    let value: Value = serde_json::from_slice(&bytes).expect("JSON");
                    prop_assert!(value.is_object(), "{value}");
                    prop_assert_eq!(&value["jsonrpc"], "2.0");
                    if value["params"]["name"] == ALLOWED {
                        forwarded_allowed += 1;
                    }
                }
            }
        }
        prop_assert_eq!(forwarded_allowed, expected, "every exact allowed call is forwarded");
    }
}
