//! `thoth run` against a remote enforcer on 127.0.0.1 (tests/support/https.rs), end to end: the real binary,
//! the fixture MCP server behind it, certificates made at test time. Every decision the enforcer can give,
//! every kind of outage with the fallback the rules require, TLS trust (CA bundle, wrong certificate, pins),
//! and the request the enforcer receives. After each failure the session must still answer the next call.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::https::{Reply, Server, TestCa};
use crate::support::{fixture_server, init_params, Session, Thoth};

const API_KEY: &str = "tk-test-123";
const ENFORCE: &str = "/v1/enforce";

/// A CA, a server certificate from it, and a running HTTPS enforcer that presents it.
struct Enforcer {
    ca: TestCa,
    server: Server,
}

impl Enforcer {
    fn new() -> Enforcer {
        let ca = TestCa::new("thoth test CA");
        let server = Server::https(&ca.leaf());
        Enforcer { ca, server }
    }

    fn answer(&self, replies: Vec<Reply>) -> &Enforcer {
        self.server.route("POST", ENFORCE, replies);
        self
    }

    fn enforce_requests(&self) -> Vec<crate::support::https::Received> {
        self.server.received_at("POST", ENFORCE)
    }
}

fn allow() -> Reply {
    Reply::json(json!({"decision": "ALLOW"}))
}

/// The variables that point thoth at `url` with an API key, trusting `ca_pem` (written into the temp HOME).
fn enforcer_env(thoth: &Thoth, url: &str, ca: Option<&TestCa>) -> Vec<(String, String)> {
    let mut env = vec![
        ("THOTH_ENFORCER_URL".to_owned(), url.to_owned()),
        ("THOTH_API_KEY".to_owned(), API_KEY.to_owned()),
        ("THOTH_TENANT_ID".to_owned(), "acme".to_owned()),
    ];
    if let Some(ca) = ca {
        let path = ca.write_pem(thoth.home.path(), "test-ca.pem");
        env.push(("THOTH_TLS_CA_BUNDLE".to_owned(), path));
    }
    env
}

fn record_path(thoth: &Thoth) -> PathBuf {
    thoth.home.path().join("fixture-record.ndjson")
}

/// `thoth run --agent-id fs-agent <flags> -- fixture-server --record FILE` with `env` added, initialized.
fn start(thoth: &Thoth, env: &[(String, String)], flags: &[&str]) -> Session {
    let mut cmd = thoth.command();
    for (name, value) in env {
        cmd.env(name, value);
    }
    cmd.arg("run")
        .args(["--agent-id", "fs-agent"])
        .args(flags)
        .arg("--")
        .arg(fixture_server())
        .arg("--record")
        .arg(record_path(thoth));
    let mut session = Session::spawn(cmd);
    session.initialize_fixture();
    session
}

fn call(session: &mut Session, id: i64, tool: &str, arguments: Value) -> Value {
    let id = json!(id);
    session.send(&json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
        "params": {"name": tool, "arguments": arguments}}));
    session.recv_until_id(&id).0
}

/// The echo tool's result, parsed back to the arguments the server received.
fn echoed(resp: &Value) -> Value {
    let text = resp["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("not a tool result: {resp}"));
    serde_json::from_str(text).expect("echo text is JSON")
}

/// Assert `resp` is thoth's error with `code`; returns `error.data.thoth`.
fn thoth_error(resp: &Value, code: i64) -> Value {
    let error = &resp["error"];
    assert_eq!(error["code"], code, "wrong code: {resp}");
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("thoth:")),
        "{resp}"
    );
    error["data"]["thoth"].clone()
}

/// Assert a BLOCK whose reason contains `needle`; returns `error.data.thoth`.
fn assert_blocked(resp: &Value, needle: &str) -> Value {
    let thoth = thoth_error(resp, -32001);
    assert_eq!(thoth["decision"], "BLOCK", "{resp}");
    let reason = thoth["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains(needle),
        "reason {reason:?} lacks {needle:?}: {resp}"
    );
    thoth
}

/// The session is alive: a following call gets the echo (the enforcer's next reply must be ALLOW).
fn assert_next_call_works(session: &mut Session, id: i64) {
    let resp = call(session, id, "echo", json!({"after": id}));
    assert_eq!(echoed(&resp), json!({"after": id}), "{resp}");
}

/// The session is alive: a call thoth need not decide (tools/list) still gets the server's answer.
fn assert_session_alive(session: &mut Session) {
    let resp = session.request(json!("list"), "tools/list", json!({}));
    assert!(resp["result"]["tools"].is_array(), "{resp}");
}

/// The recorded lines of the fixture server that are tools/call requests.
fn recorded_calls(thoth: &Thoth) -> Vec<Value> {
    std::fs::read_to_string(record_path(thoth))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["method"] == "tools/call")
        .collect()
}

fn is_uuid(v: &Value) -> bool {
    v.as_str().is_some_and(|s| {
        s.len() == 36 && s.chars().filter(|c| *c == '-').count() == 4 && s.as_bytes()[14] == b'4'
    })
}

// ---- decisions -----------------------------------------------------------------------------------------------

#[test]
fn allow_forwards_and_the_enforcer_receives_the_sdk_request() {
    let enforcer = Enforcer::new();
    enforcer.answer(vec![allow()]);
    let thoth = Thoth::new("dev");
    let mut env = enforcer_env(&thoth, enforcer.server.url(), Some(&enforcer.ca));
    env.extend([
        ("THOTH_USER_ID".to_owned(), "alice@example.com".to_owned()),
        ("THOTH_FLEET_ID".to_owned(), "fleet-1".to_owned()),
        ("THOTH_ENDPOINT_ID".to_owned(), "ep-42".to_owned()),
    ]);
    let mut session = start(&thoth, &env, &["--session-intent", "triage"]);
    let arguments = json!({"path": "/tmp/x", "nested": {"n": [1, 2.5, "three"]}});
    let resp = call(&mut session, 1, "echo", arguments.clone());
    assert_eq!(echoed(&resp), arguments, "{resp}");
    let resp = call(&mut session, 2, "echo", json!({"second": true}));
    assert_eq!(echoed(&resp), json!({"second": true}));

    let requests = enforcer.enforce_requests();
    assert_eq!(requests.len(), 2, "{requests:?}");
    let first = &requests[0];
    assert_eq!(first.header("x-api-key"), Some(API_KEY));
    assert_eq!(first.header("authorization"), None);
    assert_eq!(first.header("content-type"), Some("application/json"));
    assert!(
        first
            .header("user-agent")
            .is_some_and(|ua| ua.starts_with("thoth/")),
        "{first:?}"
    );
    let body = first.json();
    for (field, expected) in [
        ("agent_id", json!("fs-agent")),
        ("tenant_id", json!("acme")),
        ("user_id", json!("alice@example.com")),
        ("endpoint_id", json!("ep-42")),
        ("fleet_id", json!("fleet-1")),
        ("tool_name", json!("echo")),
        ("tool_args", arguments),
        ("session_tool_calls", json!(["echo"])),
        ("approved_scope", json!([])),
        ("enforcement_mode", json!("block")),
        ("environment", json!("dev")),
        ("session_intent", json!("triage")),
        ("source_type", json!("mcp_proxy")),
    ] {
        assert_eq!(body[field], expected, "{field} in {body}");
    }
    for field in ["session_id", "request_id", "enforcement_trace_id"] {
        assert!(is_uuid(&body[field]), "{field} in {body}");
    }
    let occurred = body["occurred_at"].as_str().expect("occurred_at");
    assert!(
        occurred.ends_with('Z') && occurred.len() >= 20 && occurred.as_bytes()[10] == b'T',
        "{occurred}"
    );

    let second = requests[1].json();
    assert_eq!(
        second["session_id"], body["session_id"],
        "one session id per process"
    );
    assert_ne!(second["request_id"], body["request_id"]);
    assert_ne!(second["enforcement_trace_id"], body["enforcement_trace_id"]);
    assert_eq!(second["session_tool_calls"], json!(["echo", "echo"]));
}

#[test]
fn block_answers_32001_with_the_violation_id_and_never_reaches_the_server() {
    let enforcer = Enforcer::new();
    enforcer.answer(vec![
        Reply::json(json!({"decision": "BLOCK", "reason": "exfiltration risk",
            "violationId": "v-777", "decision_reason_code": "scope", "risk_score": 0.93})),
        allow(),
    ]);
    let thoth = Thoth::new("dev");
    let env = enforcer_env(&thoth, enforcer.server.url(), Some(&enforcer.ca));
    let mut session = start(&thoth, &env, &[]);
    let resp = call(&mut session, 1, "echo", json!({"secret": "blocked-arg"}));
    let data = assert_blocked(&resp, "exfiltration risk");
    assert_eq!(data["violation_id"], "v-777", "{resp}");
    assert_eq!(data["agent_id"], "fs-agent");
    assert_eq!(data["tool"], "echo");
    assert_next_call_works(&mut session, 2);
    let calls = recorded_calls(&thoth);
    assert_eq!(
        calls.len(),
        1,
        "only the allowed call reaches the server: {calls:?}"
    );
    assert!(!calls[0].to_string().contains("blocked-arg"));
}

#[test]
fn step_up_answers_32002_with_the_hold_token_at_once() {
    let enforcer = Enforcer::new();
    enforcer.answer(vec![
        Reply::json(
            json!({"authorization_decision": "STEP_UP", "reason": "needs a manager",
            "hold_token": "hold-abc", "approval_url": "https://approve.example/hold-abc",
            "step_up_timeout_seconds": 120}),
        ),
        allow(),
    ]);
    let thoth = Thoth::new("dev");
    let env = enforcer_env(&thoth, enforcer.server.url(), Some(&enforcer.ca));
    let mut session = start(&thoth, &env, &[]);
    let resp = call(&mut session, 1, "echo", json!({}));
    let data = thoth_error(&resp, -32002);
    assert_eq!(data["decision"], "STEP_UP");
    assert_eq!(data["hold_token"], "hold-abc");
    assert_eq!(data["approval_url"], "https://approve.example/hold-abc");
    assert_eq!(data["timeout_seconds"], 120);
    assert!(
        enforcer
            .server
            .received_at("GET", "/v1/enforce/hold/*")
            .is_empty(),
        "without --step-up-wait no hold is polled"
    );
    assert_next_call_works(&mut session, 2);
}

#[test]
fn defer_is_a_step_up() {
    let enforcer = Enforcer::new();
    enforcer.answer(vec![
        Reply::json(
            json!({"decision": "DEFER", "defer_reason": "human review", "holdToken": "h-9"}),
        ),
        allow(),
    ]);
    let thoth = Thoth::new("dev");
    let env = enforcer_env(&thoth, enforcer.server.url(), Some(&enforcer.ca));
    let mut session = start(&thoth, &env, &[]);
    let data = thoth_error(&call(&mut session, 1, "echo", json!({})), -32002);
    assert_eq!(data["hold_token"], "h-9");
    assert_eq!(data["reason"], "human review");
    assert_next_call_works(&mut session, 2);
}

#[test]
fn modify_forwards_the_enforcers_arguments() {
    let enforcer = Enforcer::new();
    enforcer.answer(vec![
        Reply::json(json!({"decision": "MODIFY",
            "modified_tool_args": {"path": "/safe/redacted", "extra": [1, 2]}})),
        Reply::json(json!({"decision": "MODIFY"})),
        allow(),
    ]);
    let thoth = Thoth::new("dev");
    let env = enforcer_env(&thoth, enforcer.server.url(), Some(&enforcer.ca));
    let mut session = start(&thoth, &env, &[]);
    let resp = call(&mut session, 1, "echo", json!({"path": "/etc/shadow"}));
    assert_eq!(
        echoed(&resp),
        json!({"path": "/safe/redacted", "extra": [1, 2]}),
        "{resp}"
    );
    let calls = recorded_calls(&thoth);
    assert_eq!(
        calls[0]["params"]["arguments"],
        json!({"path": "/safe/redacted", "extra": [1, 2]})
    );
    assert!(!calls[0].to_string().contains("/etc/shadow"));
    // MODIFY without arguments is no answer: the outage rules refuse it (block by default).
    assert_blocked(
        &call(&mut session, 2, "echo", json!({"x": 1})),
        "MODIFY without an object in modified_tool_args",
    );
    assert_next_call_works(&mut session, 3);
}

#[test]
fn an_unknown_decision_blocks() {
    let enforcer = Enforcer::new();
    enforcer.answer(vec![Reply::json(json!({"decision": "PERHAPS"})), allow()]);
    let thoth = Thoth::new("dev");
    let env = enforcer_env(&thoth, enforcer.server.url(), Some(&enforcer.ca));
    let mut session = start(&thoth, &env, &[]);
    assert_blocked(
        &call(&mut session, 1, "echo", json!({})),
        "unknown decision",
    );
    assert_next_call_works(&mut session, 2);
}

#[test]
fn a_bearer_token_is_sent_as_authorization() {
    let enforcer = Enforcer::new();
    enforcer.answer(vec![allow()]);
    let thoth = Thoth::new("dev");
    let mut env = enforcer_env(&thoth, enforcer.server.url(), Some(&enforcer.ca));
    env.retain(|(name, _)| name != "THOTH_API_KEY");
    env.push((
        "THOTH_RUNTIME_BEARER_TOKEN".to_owned(),
        "eyJ.runtime.tok".to_owned(),
    ));
    let mut session = start(&thoth, &env, &[]);
    assert_next_call_works(&mut session, 1);
    let request = &enforcer.enforce_requests()[0];
    assert_eq!(
        request.header("authorization"),
        Some("Bearer eyJ.runtime.tok")
    );
    assert_eq!(request.header("x-api-key"), None);
}

#[test]
fn the_local_policy_decides_first_and_its_refusals_are_never_sent() {
    let enforcer = Enforcer::new();
    enforcer.answer(vec![allow()]);
    let thoth = Thoth::new("prod");
    let mut env = enforcer_env(&thoth, enforcer.server.url(), Some(&enforcer.ca));
    env.push(("THOTH_REQUIRE_NON_ROOT".to_owned(), "false".to_owned()));
    let mut session = start(&thoth, &env, &["--approved-scope", "echo"]);
    assert_blocked(
        &call(&mut session, 1, "sleep", json!({"ms": 1})),
        "outside the approved scope",
    );
    assert!(
        enforcer.enforce_requests().is_empty(),
        "a local refusal is final"
    );
    assert_next_call_works(&mut session, 2);
    let requests = enforcer.enforce_requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].json()["approved_scope"], json!(["echo"]));
    assert_eq!(requests[0].json()["environment"], "prod");
}

#[test]
fn no_local_policy_in_prod_defers_to_the_enforcer() {
    let enforcer = Enforcer::new();
    enforcer.answer(vec![allow()]);
    let thoth = Thoth::new("prod");
    let mut env = enforcer_env(&thoth, enforcer.server.url(), Some(&enforcer.ca));
    env.push(("THOTH_REQUIRE_NON_ROOT".to_owned(), "false".to_owned()));
    let mut session = start(&thoth, &env, &[]);
    assert_next_call_works(&mut session, 1);
    assert_eq!(enforcer.enforce_requests().len(), 1);
}

#[test]
fn observe_mode_forwards_what_the_enforcer_blocks() {
    let enforcer = Enforcer::new();
    enforcer.answer(vec![Reply::json(
        json!({"decision": "BLOCK", "reason": "would block"}),
    )]);
    let thoth = Thoth::new("dev");
    let env = enforcer_env(&thoth, enforcer.server.url(), Some(&enforcer.ca));
    let mut session = start(&thoth, &env, &["--enforcement-mode", "observe"]);
    assert_next_call_works(&mut session, 1);
    assert_eq!(
        enforcer.enforce_requests()[0].json()["enforcement_mode"],
        "observe"
    );
    assert!(
        session.stderr().contains("observe mode"),
        "{}",
        session.stderr()
    );
}

#[test]
fn the_connection_is_opened_before_the_first_call() {
    let enforcer = Enforcer::new();
    enforcer.answer(vec![allow()]);
    let thoth = Thoth::new("dev");
    let env = enforcer_env(&thoth, enforcer.server.url(), Some(&enforcer.ca));
    let mut session = start(&thoth, &env, &[]);
    enforcer
        .server
        .wait_for("HEAD", "/*", 1, Duration::from_secs(10));
    std::thread::sleep(Duration::from_millis(300));
    assert_next_call_works(&mut session, 1);
    assert_eq!(
        enforcer.server.connections(),
        1,
        "the call reuses the warmed-up connection"
    );
}

// ---- hold polling (needs `--step-up-wait`) ---------------------------------------------------------------

fn step_up_then(wait: &str, hold_replies: Vec<Reply>) -> (Enforcer, Thoth, Session) {
    let enforcer = Enforcer::new();
    enforcer.answer(vec![
        Reply::json(json!({"decision": "STEP_UP", "hold_token": "hold/1 x", "reason": "approve?"})),
        allow(),
    ]);
    enforcer
        .server
        .route("GET", "/v1/enforce/hold/*", hold_replies);
    let thoth = Thoth::new("dev");
    let env = enforcer_env(&thoth, enforcer.server.url(), Some(&enforcer.ca));
    let session = start(&thoth, &env, &["--step-up-wait", wait]);
    (enforcer, thoth, session)
}

#[test]
fn a_hold_resolved_allow_forwards_the_call() {
    let (enforcer, thoth, mut session) = step_up_then(
        "20",
        vec![
            Reply::status(202, ""),
            Reply::json(json!({"resolved": false})),
            Reply::json(json!({"resolved": true, "resolution": "ALLOW"})),
        ],
    );
    let resp = call(&mut session, 1, "echo", json!({"approved": true}));
    assert_eq!(echoed(&resp), json!({"approved": true}), "{resp}");
    let polls = enforcer.server.received_at("GET", "/v1/enforce/hold/*");
    assert_eq!(polls.len(), 3, "{polls:?}");
    assert_eq!(
        polls[0].path, "/v1/enforce/hold/hold%2F1%20x",
        "the token is one path segment"
    );
    assert_eq!(polls[0].header("x-api-key"), Some(API_KEY));
    assert_eq!(recorded_calls(&thoth).len(), 1);
    assert_next_call_works(&mut session, 2);
}

#[test]
fn a_hold_resolved_block_refuses_the_call() {
    let (_enforcer, thoth, mut session) = step_up_then(
        "20",
        vec![
            Reply::json(json!({"resolved": false})),
            Reply::json(
                json!({"resolved": true, "resolution": "BLOCK", "reason": "denied by bob"}),
            ),
        ],
    );
    assert_blocked(&call(&mut session, 1, "echo", json!({})), "denied by bob");
    assert!(recorded_calls(&thoth).is_empty());
    assert_next_call_works(&mut session, 2);
}

#[test]
fn a_hold_not_resolved_in_time_blocks() {
    let (enforcer, thoth, mut session) = step_up_then("1", vec![Reply::status(202, "")]);
    assert_blocked(
        &call(&mut session, 1, "echo", json!({})),
        "no approval within 1 s",
    );
    assert!(!enforcer
        .server
        .received_at("GET", "/v1/enforce/hold/*")
        .is_empty());
    assert!(recorded_calls(&thoth).is_empty());
    assert_next_call_works(&mut session, 2);
}

#[test]
fn a_hold_poll_answered_503_with_retry_after_waits_that_long() {
    // Polls double from 250 ms up to 2 s; a `Retry-After: 2` on the first poll holds the second for 2 s
    // (the recorded request times, not a sleep, say so), and the call is still approved after it.
    let (enforcer, thoth, mut session) = step_up_then(
        "20",
        vec![
            Reply::status(503, "").with_header("retry-after", "2"),
            Reply::status(429, "").with_header("retry-after", "1"),
            Reply::json(json!({"resolved": true, "resolution": "ALLOW"})),
        ],
    );
    let resp = call(&mut session, 1, "echo", json!({"after": "pause"}));
    assert_eq!(echoed(&resp), json!({"after": "pause"}), "{resp}");
    let polls = enforcer.server.received_at("GET", "/v1/enforce/hold/*");
    assert_eq!(polls.len(), 3, "{polls:?}");
    let gaps: Vec<Duration> = polls.windows(2).map(|p| p[1].at - p[0].at).collect();
    assert!(
        gaps[0] >= Duration::from_secs(2) && gaps[0] < Duration::from_millis(3500),
        "{gaps:?}"
    );
    assert!(
        gaps[1] >= Duration::from_secs(1) && gaps[1] < Duration::from_millis(2500),
        "{gaps:?}"
    );
    assert_eq!(recorded_calls(&thoth).len(), 1);
    assert_next_call_works(&mut session, 2);
}

// ---- outages and the fallback --------------------------------------------------------------------------------

/// One failing reply, then ALLOW: the failure gets `expect` (a BLOCK reason fragment), the next call passes.
/// Returns how many `/v1/enforce` requests the enforcer saw.
fn outage_blocks(failure: Reply, expect: &str) -> usize {
    let enforcer = Enforcer::new();
    enforcer.answer(vec![failure, allow()]);
    let thoth = Thoth::new("dev");
    let env = enforcer_env(&thoth, enforcer.server.url(), Some(&enforcer.ca));
    let mut session = start(&thoth, &env, &[]);
    let data = assert_blocked(&call(&mut session, 1, "echo", json!({"x": 1})), expect);
    assert!(
        data["reason"]
            .as_str()
            .is_some_and(|r| r.contains("THOTH_ENFORCER_FAILURE_DECISION=block")),
        "{data}"
    );
    assert_next_call_works(&mut session, 2);
    assert_eq!(recorded_calls(&thoth).len(), 1);
    enforcer.enforce_requests().len()
}

#[test]
fn http_429_is_an_outage() {
    outage_blocks(Reply::status(429, r#"{"error":"slow down"}"#), "429");
}

#[test]
fn http_500_is_an_outage() {
    outage_blocks(Reply::status(500, "oops"), "500");
}

#[test]
fn a_reply_that_is_not_json_is_an_outage() {
    outage_blocks(Reply::status(200, "<html>not json"), "not a JSON object");
}

#[test]
fn a_json_reply_without_a_decision_is_an_outage() {
    outage_blocks(Reply::json(json!({"status": "ok"})), "not a JSON object");
}

#[test]
fn a_hang_past_the_timeout_is_an_outage() {
    // The refusal says the request timed out (not a connection error), and the hung request did reach the
    // enforcer: the timeout fired on it. How long that takes is not asserted (no timed assertions).
    let enforcer_saw = outage_blocks(Reply::hang(), "timed out");
    assert_eq!(
        enforcer_saw, 2,
        "the hung request and the next call, no retry"
    );
}

#[test]
fn a_refused_credential_always_blocks_and_is_not_retried() {
    for status in [401, 403] {
        let enforcer = Enforcer::new();
        enforcer.answer(vec![
            Reply::status(status, r#"{"error":"bad key"}"#),
            allow(),
        ]);
        let thoth = Thoth::new("dev");
        let mut env = enforcer_env(&thoth, enforcer.server.url(), Some(&enforcer.ca));
        // Even an honoured allow fallback does not apply to a refused credential.
        env.push((
            "THOTH_ENFORCER_FAILURE_DECISION".to_owned(),
            "allow".to_owned(),
        ));
        let mut session = start(&thoth, &env, &[]);
        let data = assert_blocked(
            &call(&mut session, 1, "echo", json!({})),
            "refused thoth's credential",
        );
        assert!(
            data["reason"]
                .as_str()
                .is_some_and(|r| r.contains(&status.to_string()) && r.contains("THOTH_API_KEY")),
            "{data}"
        );
        assert_eq!(enforcer.enforce_requests().len(), 1, "no retry");
        assert!(
            !session.stderr().contains(API_KEY),
            "the key never appears in logs"
        );
        assert_next_call_works(&mut session, 2);
    }
}

/// A port on 127.0.0.1 with nothing listening.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

/// Against an enforcer that cannot be reached (`extra` env added): the first call's answer.
fn unreachable(env_name: &'static str, extra: &[(&str, &str)]) -> (Thoth, Session, Value) {
    let thoth = Thoth::new(env_name);
    let url = format!("https://127.0.0.1:{}", closed_port());
    let mut env = enforcer_env(&thoth, &url, None);
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let mut session = start(&thoth, &env, &[]);
    let resp = call(&mut session, 1, "echo", json!({"fallback": true}));
    (thoth, session, resp)
}

#[test]
fn a_refused_connection_is_an_outage() {
    let (thoth, mut session, resp) = unreachable("dev", &[]);
    assert_blocked(&resp, "could not connect");
    assert_session_alive(&mut session);
    assert!(recorded_calls(&thoth).is_empty());
}

#[test]
fn the_step_up_fallback_asks_for_approval() {
    let (_thoth, mut session, resp) =
        unreachable("dev", &[("THOTH_ENFORCER_FAILURE_DECISION", "step_up")]);
    let data = thoth_error(&resp, -32002);
    assert!(
        data["reason"]
            .as_str()
            .is_some_and(|r| r.contains("THOTH_ENFORCER_FAILURE_DECISION=step_up")),
        "{resp}"
    );
    assert_session_alive(&mut session);
}

#[test]
fn the_allow_fallback_is_honoured_in_dev() {
    let (thoth, mut session, resp) =
        unreachable("dev", &[("THOTH_ENFORCER_FAILURE_DECISION", "allow")]);
    assert_eq!(echoed(&resp), json!({"fallback": true}), "{resp}");
    assert_eq!(recorded_calls(&thoth).len(), 1);
    let resp = call(&mut session, 2, "echo", json!({"again": 1}));
    assert_eq!(echoed(&resp), json!({"again": 1}));
    let stderr = session.stderr();
    assert!(
        stderr.matches("ALLOWING the call unchecked").count() >= 2,
        "a warning every time the allow fallback is used:\n{stderr}"
    );
}

#[test]
fn the_allow_fallback_is_ignored_in_prod() {
    let (thoth, mut session, resp) = unreachable(
        "prod",
        &[
            ("THOTH_ENFORCER_FAILURE_DECISION", "allow"),
            ("THOTH_REQUIRE_NON_ROOT", "false"),
        ],
    );
    assert_blocked(&resp, "THOTH_ENFORCER_FAILURE_DECISION=allow is ignored");
    assert!(recorded_calls(&thoth).is_empty());
    assert_session_alive(&mut session);
}

#[test]
fn the_allow_fallback_is_honoured_in_prod_with_the_override() {
    let (thoth, mut session, resp) = unreachable(
        "prod",
        &[
            ("THOTH_ENFORCER_FAILURE_DECISION", "allow"),
            ("THOTH_ENFORCER_ALLOW_FALLBACK_OVERRIDE", "true"),
            ("THOTH_REQUIRE_NON_ROOT", "false"),
        ],
    );
    assert_eq!(echoed(&resp), json!({"fallback": true}), "{resp}");
    assert_eq!(recorded_calls(&thoth).len(), 1);
    assert_session_alive(&mut session);
}

// ---- TLS trust ----------------------------------------------------------------------------------------------

#[test]
fn a_certificate_from_another_ca_is_refused() {
    let enforcer = Enforcer::new();
    enforcer.answer(vec![allow()]);
    let other = TestCa::new("some other CA");
    let thoth = Thoth::new("dev");
    let env = enforcer_env(&thoth, enforcer.server.url(), Some(&other));
    let mut session = start(&thoth, &env, &[]);
    assert_blocked(
        &call(&mut session, 1, "echo", json!({})),
        "invalid peer certificate",
    );
    assert!(enforcer.enforce_requests().is_empty());
    assert!(enforcer.server.tls_failures() >= 1);
    assert_session_alive(&mut session);
}

#[test]
fn a_custom_ca_makes_an_untrusted_server_valid() {
    let enforcer = Enforcer::new();
    enforcer.answer(vec![allow()]);
    // Without the bundle, the test CA is unknown to the webpki roots.
    let thoth = Thoth::new("dev");
    let env = enforcer_env(&thoth, enforcer.server.url(), None);
    let mut session = start(&thoth, &env, &[]);
    assert_blocked(&call(&mut session, 1, "echo", json!({})), "UnknownIssuer");
    drop(session);
    // With it, the same server is trusted.
    let thoth = Thoth::new("dev");
    let env = enforcer_env(&thoth, enforcer.server.url(), Some(&enforcer.ca));
    let mut session = start(&thoth, &env, &[]);
    assert_next_call_works(&mut session, 1);
}

#[test]
fn pins_accept_the_pinned_leaf_and_refuse_any_other() {
    let ca = TestCa::new("thoth test CA");
    let leaf = ca.leaf();
    let server = Server::https(&leaf);
    server.route("POST", ENFORCE, vec![allow()]);

    let thoth = Thoth::new("dev");
    let mut env = enforcer_env(&thoth, server.url(), Some(&ca));
    env.push((
        "THOTH_TLS_PINNED_CERT_SHA256".to_owned(),
        format!(
            "sha256:{},{}",
            "ab".repeat(32),
            leaf.sha256().to_uppercase()
        ),
    ));
    let mut session = start(&thoth, &env, &[]);
    assert_next_call_works(&mut session, 1);
    drop(session);

    let thoth = Thoth::new("dev");
    let mut env = enforcer_env(&thoth, server.url(), Some(&ca));
    env.push(("THOTH_TLS_PINNED_CERT_SHA256".to_owned(), "cd".repeat(32)));
    let mut session = start(&thoth, &env, &[]);
    let data = assert_blocked(
        &call(&mut session, 1, "echo", json!({})),
        "matches none of THOTH_TLS_PINNED_CERT_SHA256",
    );
    assert!(
        data["reason"]
            .as_str()
            .is_some_and(|r| r.contains(&leaf.sha256())),
        "{data}"
    );
    assert_eq!(
        server.received_at("POST", ENFORCE).len(),
        1,
        "only the pinned session got through"
    );
    assert_session_alive(&mut session);
}

#[test]
fn a_bad_ca_bundle_refuses_to_start_naming_the_file() {
    let thoth = Thoth::new("dev");
    let bundle = thoth.home.path().join("broken-bundle.pem");
    std::fs::write(&bundle, "this is not PEM\n").expect("write");
    let mut cmd = thoth.command();
    cmd.env("THOTH_ENFORCER_URL", "https://127.0.0.1:9")
        .env("THOTH_API_KEY", API_KEY)
        .env("THOTH_TLS_CA_BUNDLE", &bundle)
        .arg("run")
        .arg("--")
        .arg(fixture_server());
    let mut session = Session::spawn(cmd);
    let resp = session.request(json!(1), "initialize", init_params());
    let message = resp["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("broken-bundle.pem") && message.contains("THOTH_TLS_CA_BUNDLE"),
        "{resp}"
    );
    session.close_stdin();
    let status = session
        .wait_timeout(Duration::from_secs(40))
        .expect("exits");
    assert!(!status.success());
}

#[test]
fn plain_http_on_loopback_works() {
    let server = Server::http();
    server.route("POST", ENFORCE, vec![allow()]);
    let thoth = Thoth::new("dev");
    let env = enforcer_env(&thoth, server.url(), None);
    let mut session = start(&thoth, &env, &[]);
    assert_next_call_works(&mut session, 1);
    assert_eq!(server.received_at("POST", ENFORCE).len(), 1);
}

/// A certificate that fails verification is never an outage: even the allow fallback (honoured in dev)
/// must not let a man in the middle through.
#[test]
fn a_certificate_failure_blocks_even_with_the_allow_fallback() {
    for (case, ca_for, pin) in [
        ("wrong CA", "some other CA", None),
        (
            "pin mismatch",
            "",
            Some("sha256:".to_owned() + &"ab".repeat(32)),
        ),
    ] {
        let enforcer = Enforcer::new();
        enforcer.answer(vec![allow()]);
        let thoth = Thoth::new("dev");
        let other = TestCa::new(ca_for);
        let mut env = if pin.is_some() {
            enforcer_env(&thoth, enforcer.server.url(), Some(&enforcer.ca))
        } else {
            enforcer_env(&thoth, enforcer.server.url(), Some(&other))
        };
        env.push((
            "THOTH_ENFORCER_FAILURE_DECISION".to_owned(),
            "allow".to_owned(),
        ));
        if let Some(pin) = pin {
            env.push(("THOTH_TLS_PINNED_CERT_SHA256".to_owned(), pin));
        }
        let mut session = start(&thoth, &env, &[]);
        let resp = call(&mut session, 1, "echo", json!({"mitm": true}));
        assert_blocked(&resp, "certificate could not be verified");
        assert!(
            recorded_calls(&thoth).is_empty(),
            "{case}: the call reached the server"
        );
        assert!(enforcer.enforce_requests().is_empty(), "{case}");
    }
}

/// A client cancellation ends the wait for an approval: thoth stops polling the hold, answers nothing for
/// the cancelled call, and the session goes on.
#[test]
fn a_cancelled_call_stops_polling_its_hold() {
    let (enforcer, thoth, mut session) = step_up_then("30", vec![Reply::status(202, "")]);
    session.send(&json!({"jsonrpc": "2.0", "id": "held", "method": "tools/call", "params": {"name": "echo", "arguments": {}}}));
    enforcer
        .server
        .wait_for("GET", "/v1/enforce/hold/*", 2, Duration::from_secs(10));
    session.send(&json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": "held", "reason": "user"}}));
    // The event, not a pause: thoth aborts the decision task that polls the hold (its log says so), and the
    // aborted task is recorded as cancelled in the audit log (checked after exit, below).
    let started = Instant::now();
    while !session
        .stderr()
        .contains("stopping the decision of a cancelled call")
    {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "thoth never stopped deciding the cancelled call:\n{}",
            session.stderr()
        );
        // Poll interval of a wait for a stderr line (the event), bounded by the deadline above.
        std::thread::sleep(Duration::from_millis(20));
    }
    // No answer for the cancelled call; the next call is decided (ALLOW) and works.
    assert_next_call_works(&mut session, 2);
    assert!(
        recorded_calls(&thoth)
            .iter()
            .all(|c| c["params"]["arguments"] != json!({})),
        "the held call reached the server"
    );
    session.close_stdin();
    assert!(session.wait_timeout(Duration::from_secs(10)).is_some());
    let audit_dir = thoth.home.path().join(".thoth").join("audit");
    let cancelled = std::fs::read_dir(&audit_dir)
        .expect("audit dir")
        .flat_map(|e| {
            std::fs::read_to_string(e.expect("entry").path())
                .unwrap_or_default()
                .lines()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .filter_map(|l| serde_json::from_str::<Value>(&l).ok())
        .filter(|r| r["event"] == "cancelled" && r["tool"] == "echo")
        .count();
    assert_eq!(cancelled, 1, "the aborted decision is audited as cancelled");
}
