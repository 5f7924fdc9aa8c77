//! Router hooks for the lock: own requests, lifecycle events, the tool-definition filter, lock refusals.

use super::*;
use serde_json::json;

fn client(r: &mut Router, line: &str) -> Vec<Route> {
    let mut out = Vec::new();
    r.on_client(Bytes::copy_from_slice(line.as_bytes()), &mut out);
    out
}

fn server(r: &mut Router, line: &str) -> Vec<Route> {
    let mut out = Vec::new();
    r.on_server(Bytes::copy_from_slice(line.as_bytes()), &mut out);
    out
}

#[test]
fn own_requests_never_collide_and_their_answers_stay_inside() {
    let mut r = Router::new("a", 16).with_lifecycle_events();
    let out = client(&mut r, r#"{"jsonrpc":"2.0","id":0,"method":"ping"}"#);
    assert!(matches!(&out[..], [Route::ToServer(_)]));
    let (own, frame) = r.request_own("tools/list", json!({}));
    let sent: serde_json::Value = serde_json::from_slice(&frame.to_vec()).unwrap();
    assert_eq!(sent["id"], own);
    assert_ne!(own, 0, "the client's request got proxy id 0");
    // The answer to thoth's own request is not forwarded; the client's is.
    let out = server(
        &mut r,
        &format!(r#"{{"jsonrpc":"2.0","id":{own},"result":{{"tools":[]}}}}"#),
    );
    assert!(
        matches!(&out[..], [Route::Own { proxy, .. }] if *proxy == own),
        "{out:?}"
    );
    // A second answer with the same id is unknown now.
    assert!(server(
        &mut r,
        &format!(r#"{{"jsonrpc":"2.0","id":{own},"result":{{}}}}"#)
    )
    .is_empty());
    let out = server(&mut r, r#"{"jsonrpc":"2.0","id":0,"result":{}}"#);
    assert!(matches!(&out[..], [Route::ToClient(_)]));
    // A forgotten own request's late answer is dropped.
    let (late, _) = r.request_own("tools/list", json!({}));
    r.forget_own(late);
    assert!(server(
        &mut r,
        &format!(r#"{{"jsonrpc":"2.0","id":{late},"result":{{}}}}"#)
    )
    .is_empty());
}

#[test]
fn lifecycle_events_follow_their_frames_only_when_asked_for() {
    let init = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
    let changed = r#"{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}"#;
    let mut r = Router::new("a", 16).with_lifecycle_events();
    let out = client(&mut r, init);
    assert!(
        matches!(
            &out[..],
            [
                Route::ToServer(_),
                Route::Lifecycle(Lifecycle::ClientInitialized)
            ]
        ),
        "{out:?}"
    );
    let out = server(&mut r, changed);
    assert!(
        matches!(
            &out[..],
            [
                Route::ToClient(_),
                Route::Lifecycle(Lifecycle::ToolsChanged)
            ]
        ),
        "{out:?}"
    );
    let mut plain = Router::new("a", 16);
    assert_eq!(client(&mut plain, init).len(), 1);
    assert_eq!(server(&mut plain, changed).len(), 1);
}

#[test]
fn the_tool_filter_sees_whole_definitions_and_keeps_the_cursor() {
    let mut r = Router::new("a", 16)
        .with_tool_filter(Box::new(|tool: &RawValue| !tool.get().contains("evil")));
    client(
        &mut r,
        r#"{"jsonrpc":"2.0","id":7,"method":"tools/list","params":{"cursor":"1"}}"#,
    );
    let answer = r#"{"jsonrpc":"2.0","id":0,"result":{"tools":[{"name":"a","description":"fine"},{"name":"b","description":"evil"}],"nextCursor":"2"}}"#;
    let out = server(&mut r, answer);
    let [Route::ToClient(frame)] = &out[..] else {
        panic!("{out:?}")
    };
    let v: serde_json::Value = serde_json::from_slice(&frame.to_vec()).unwrap();
    assert_eq!(v["id"], 7);
    assert_eq!(
        v["result"]["tools"],
        json!([{"name": "a", "description": "fine"}])
    );
    assert_eq!(v["result"]["nextCursor"], "2");
}

#[test]
fn a_lock_block_carries_the_drift() {
    let mut r = Router::new("agent", 16);
    let out = client(
        &mut r,
        r#"{"jsonrpc":"2.0","id":"c","method":"tools/call","params":{"name":"echo"}}"#,
    );
    let Some(Route::Govern(call)) = out.into_iter().next() else {
        panic!()
    };
    let mut out = Vec::new();
    let drift = json!({"kind": "tool_added", "name": "echo", "severity": "critical"});
    r.on_lock_block(
        call.proxy_id,
        "lock: not pinned",
        "v-1",
        Some(drift.clone()),
        &mut out,
    );
    let [Route::ToClient(frame)] = &out[..] else {
        panic!("{out:?}")
    };
    let v: serde_json::Value = serde_json::from_slice(&frame.to_vec()).unwrap();
    assert_eq!(v["id"], "c");
    assert_eq!(v["error"]["code"], -32001);
    assert_eq!(v["error"]["data"]["thoth"]["drift"], drift);
    assert_eq!(v["error"]["data"]["thoth"]["agent_id"], "agent");
    assert_eq!(r.pending(), 0);
}
