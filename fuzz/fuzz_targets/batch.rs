//! Batch and call classification on any bytes (issue 12 §1): lines from the client, a policy that allows only
//! `echo`. Whatever comes in, everything forwarded to the server is one JSON object, and whatever in it a
//! lenient server could read as a tools/call (a `method` key in any case, a method that folds to
//! `tools/call`, `params` as an array, a duplicate key kept last) is an exact tools/call with a usable id
//! and `params.name` exactly `echo`. Nothing that is not an object, and nothing nested, is ever forwarded.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};
use thoth::policy::{Decision, Refusal};
use thoth::proxy::envelope::fold;
use thoth::proxy::router::{Route, Router};

const ALLOWED: &str = "echo";

/// `key`'s value as a lenient reader finds it: the last member whose key folds to `key`.
fn lenient<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    map.iter()
        .filter(|(k, _)| fold(k) == fold(key))
        .map(|(_, v)| v)
        .last()
}

/// Check one frame sent to the server.
fn check_forwarded(bytes: &[u8]) {
    let value: Value = serde_json::from_slice(bytes).expect("forwarded frames are JSON");
    let Value::Object(map) = &value else {
        panic!("forwarded a non-object: {value}")
    };
    assert_eq!(map.get("jsonrpc"), Some(&Value::from("2.0")), "{value}");
    let Some(method) = lenient(map, "method") else {
        return;
    };
    let looks_like_call = method
        .as_str()
        .is_some_and(|m| fold(m) == fold("tools/call"));
    if !looks_like_call {
        return;
    }
    assert_eq!(
        map.get("method"),
        Some(&Value::from("tools/call")),
        "{value}"
    );
    assert!(
        matches!(map.get("id"), Some(Value::Number(_) | Value::String(_))),
        "a tools/call forwarded without a usable id: {value}"
    );
    let params = lenient(map, "params").expect("params");
    let Value::Object(params) = params else {
        panic!("params not an object: {value}")
    };
    assert_eq!(
        lenient(params, "name"),
        Some(&Value::from(ALLOWED)),
        "{value}"
    );
    assert_eq!(params.get("name"), Some(&Value::from(ALLOWED)), "{value}");
}

fuzz_target!(|data: &[u8]| {
    let mut router = Router::new("fuzz", 64);
    let mut out = Vec::new();
    let mut decided = Vec::new();
    for line in data.split(|&b| b == b'\n') {
        router.on_client(Bytes::copy_from_slice(line), &mut out);
        for route in out.drain(..) {
            match route {
                Route::Govern(call) => {
                    let decision = if call.name == ALLOWED {
                        Decision::Allow
                    } else {
                        Decision::Block(Refusal {
                            reason: "fuzz".into(),
                            violation_id: "v".into(),
                        })
                    };
                    router.on_decision(call.proxy_id, decision, &mut decided);
                }
                other => decided.push(other),
            }
        }
        for route in decided.drain(..) {
            match route {
                Route::ToServer(frame) => check_forwarded(&frame.to_vec()),
                Route::ToClient(frame) => {
                    serde_json::from_slice::<Value>(&frame.to_vec()).expect("answers are JSON");
                }
                Route::Govern(_)
                | Route::Finished(_)
                | Route::Abandoned(_)
                | Route::Own { .. }
                | Route::Lifecycle(_)
                | Route::Refused(..) => {}
            }
        }
    }
});
