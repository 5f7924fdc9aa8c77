//! The enforcer's wire parsing, the fallback rules, and decision futures against a loopback HTTP server
//! (plain HTTP; TLS is covered end to end in tests/enforcer.rs).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::wire::{EnforceReply, HoldState, HoldStatus, Verdict as Wire};
use super::*;
use crate::policy::DecisionFuture;
use crate::settings::Secret;

fn answer(body: serde_json::Value) -> wire::Answer {
    EnforceReply::parse(body.to_string().as_bytes())
        .expect("a decision reply")
        .answer()
}

#[test]
fn decisions_parse_exactly_with_camel_case_keys() {
    assert_eq!(Wire::parse("ALLOW"), Wire::Allow);
    assert_eq!(Wire::parse("STEP_UP"), Wire::StepUp);
    assert_eq!(Wire::parse("DEFER"), Wire::Defer);
    assert_eq!(Wire::parse(" allow "), Wire::Unknown(" allow ".into()));
    assert_eq!(Wire::parse("Step-Up"), Wire::Unknown("Step-Up".into()));
    assert_eq!(Wire::parse("DENY"), Wire::Unknown("DENY".into()));
    assert_eq!(
        answer(json!({"authorizationDecision": "ALLOW"})).decision,
        Decision::Allow
    );
    assert_eq!(
        answer(json!({"decision": "ALLOW", "authorization_decision": "ALLOW"})).decision,
        Decision::Allow
    );
    // Two different decisions, or one given twice, are not an answer.
    for body in [
        r#"{"decision": "ALLOW", "authorization_decision": "BLOCK"}"#,
        r#"{"decision": "BLOCK", "decision": "ALLOW"}"#,
        r#"{"authorization_decision": "BLOCK", "authorizationDecision": "ALLOW"}"#,
        r#"{"decision": "allow"}"#,
        r#"{"decision": 1}"#,
        r#"{"decision": ["ALLOW"]}"#,
    ] {
        assert!(EnforceReply::parse(body.as_bytes()).is_err(), "{body}");
    }
}

/// Every documented value, padded, re-cased, or with an invisible character, is not that value: in a reply it
/// is no answer (the outage rules apply), in a hold resolution it refuses.
mod exact_values {
    use super::*;
    use proptest::prelude::*;

    fn pad() -> impl Strategy<Value = String> {
        proptest::sample::select(vec![
            "", " ", "\t", "\n", "\r", "\u{a0}", "\u{200b}", "\u{feff}", "\u{3000}", "\0",
        ])
        .prop_map(str::to_owned)
    }

    fn variant() -> impl Strategy<Value = (String, String)> {
        (
            proptest::sample::select(wire::DECISIONS.to_vec()),
            pad(),
            pad(),
            0u8..4,
        )
            .prop_map(|(value, before, after, case)| {
                let body = match case {
                    0 => value.to_owned(),
                    1 => value.to_ascii_lowercase(),
                    2 => {
                        let mut c = value.chars();
                        let first = c.next().unwrap_or_default();
                        format!("{first}{}", c.as_str().to_ascii_lowercase())
                    }
                    _ => value.replace('_', "-"),
                };
                (value.to_owned(), format!("{before}{body}{after}"))
            })
            .prop_filter("not the exact value", |(value, text)| value != text)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn near_misses_are_never_decisions((_, text) in variant(), camel in any::<bool>()) {
            let key = if camel { "authorizationDecision" } else { "decision" };
            let body = json!({ key: text, "modified_tool_args": {"a": 1} }).to_string();
            prop_assert!(EnforceReply::parse(body.as_bytes()).is_err(), "{body}");
            let held = HoldStatus::parse(json!({"resolved": true, "resolution": text}).to_string().as_bytes())
                .expect("object")
                .state("h");
            prop_assert!(matches!(held, HoldState::Resolved(Decision::Block(_))), "{text:?}: {held:?}");
            let held = HoldStatus::parse(json!({ key: text }).to_string().as_bytes()).expect("object").state("h");
            prop_assert!(!matches!(held, HoldState::Resolved(Decision::Allow | Decision::Modify(_))), "{text:?}");
        }

        #[test]
        fn modify_needs_an_object(args in prop_oneof![
            Just(json!([1])), Just(json!("x")), Just(json!(1)), Just(json!(true)), Just(json!(null)),
        ]) {
            let body = json!({"decision": "MODIFY", "modified_tool_args": args}).to_string();
            prop_assert!(EnforceReply::parse(body.as_bytes()).is_err(), "{body}");
        }
    }
}

#[test]
fn a_reply_without_a_decision_is_not_an_answer() {
    for body in [
        "",
        "garbage",
        "[]",
        "{}",
        r#"{"decision": null}"#,
        r#"{"reason": "x"}"#,
    ] {
        assert!(EnforceReply::parse(body.as_bytes()).is_err(), "{body}");
    }
}

#[test]
fn block_carries_reason_and_violation_id() {
    let d = answer(json!({"decision": "BLOCK", "reason": "exfiltration", "violationId": 42}));
    assert_eq!(
        d.decision,
        Decision::Block(Refusal {
            reason: "exfiltration".into(),
            violation_id: "42".into()
        })
    );
    let Decision::Block(r) =
        answer(json!({"decision": "BLOCK", "decision_reason_code": "scope"})).decision
    else {
        panic!("not a block")
    };
    assert!(
        r.reason.contains("scope") && r.violation_id.starts_with("v-"),
        "{r:?}"
    );
}

#[test]
fn unknown_decisions_are_no_answer() {
    // Not an answer: the caller applies the outage rules (block by default), naming the value.
    for decision in [json!("MAYBE"), json!(7), json!({"x": 1})] {
        let why = EnforceReply::parse(
            json!({"decision": decision, "reason": "r"})
                .to_string()
                .as_bytes(),
        )
        .expect_err("no answer");
        assert!(why.contains("unknown decision"), "{why}");
    }
}

#[test]
fn step_up_and_defer_hold_with_the_enforcers_token() {
    let a = answer(
        json!({"decision": "STEP_UP", "hold_token": "h-1", "reason": "risky",
        "approval_url": "https://approve/x", "step_up_timeout_seconds": 90}),
    );
    assert!(a.pollable);
    assert_eq!(
        a.decision,
        Decision::StepUp(Hold {
            reason: "risky".into(),
            hold_token: "h-1".into(),
            approval_url: Some("https://approve/x".into()),
            timeout_seconds: 90
        })
    );
    let a =
        answer(json!({"decision": "DEFER", "deferReason": "review", "deferTimeoutSeconds": "45"}));
    assert!(!a.pollable, "no token from the enforcer: nothing to poll");
    let Decision::StepUp(hold) = a.decision else {
        panic!("DEFER is a step-up")
    };
    assert_eq!((hold.reason.as_str(), hold.timeout_seconds), ("review", 45));
    assert!(hold.hold_token.starts_with("hold-"));
}

#[test]
fn modify_needs_arguments() {
    let a =
        EnforceReply::parse(br#"{"decision": "MODIFY", "modified_tool_args": {"b":1,"a":[2]}}"#)
            .expect("a decision reply")
            .answer();
    let Decision::Modify(arguments) = a.decision else {
        panic!("not a modify")
    };
    assert_eq!(arguments.0.get(), r#"{"b":1,"a":[2]}"#);
    for body in [
        json!({"decision": "MODIFY"}),
        json!({"decision": "MODIFY", "modifiedToolArgs": null}),
        json!({"decision": "MODIFY", "modifiedToolArgs": [1]}),
    ] {
        // Not an answer: the outage rules decide (the caller's fallback).
        assert!(
            EnforceReply::parse(body.to_string().as_bytes()).is_err(),
            "{body}"
        );
    }
}

fn hold(body: serde_json::Value) -> HoldState {
    HoldStatus::parse(body.to_string().as_bytes())
        .expect("object")
        .state("h-1")
}

#[test]
fn hold_states() {
    assert_eq!(hold(json!({"resolved": false})), HoldState::Pending);
    assert_eq!(hold(json!({})), HoldState::Pending);
    assert_eq!(hold(json!({"decision": "STEP_UP"})), HoldState::Pending);
    assert_eq!(
        hold(json!({"resolved": true, "resolution": "ALLOW"})),
        HoldState::Resolved(Decision::Allow)
    );
    assert!(matches!(
        hold(json!({"resolved": true, "resolution": "allow"})),
        HoldState::Resolved(Decision::Block(_))
    ));
    assert_eq!(
        hold(json!({"decision": "ALLOW"})),
        HoldState::Resolved(Decision::Allow)
    );
    for refused in [
        json!({"resolved": true, "resolution": "BLOCK"}),
        json!({"resolved": true, "resolution": "EXPIRED"}),
        json!({"resolved": true}),
    ] {
        assert!(
            matches!(
                hold(refused.clone()),
                HoldState::Resolved(Decision::Block(_))
            ),
            "{refused}"
        );
    }
    assert!(matches!(
        hold(json!({"resolved": true, "resolution": "MODIFY", "modified_tool_args": {"x": 1}})),
        HoldState::Resolved(Decision::Modify(_))
    ));
}

fn fallback(decision: FailureDecision, environment: Environment, allow_override: bool) -> Decision {
    Fallback {
        decision,
        environment,
        allow_override,
    }
    .decide("t", "down")
}

#[test]
fn the_allow_fallback_needs_dev_or_the_override() {
    assert_eq!(
        fallback(FailureDecision::Allow, Environment::Dev, false),
        Decision::Allow
    );
    assert_eq!(
        fallback(FailureDecision::Allow, Environment::Prod, true),
        Decision::Allow
    );
    for env in [Environment::Staging, Environment::Prod] {
        let d = fallback(FailureDecision::Allow, env, false);
        assert!(
            matches!(&d, Decision::Block(r) if r.reason.contains("ignored")),
            "{d:?}"
        );
    }
    assert!(matches!(
        fallback(FailureDecision::Block, Environment::Dev, true),
        Decision::Block(_)
    ));
    assert!(matches!(
        fallback(FailureDecision::StepUp, Environment::Prod, false),
        Decision::StepUp(_)
    ));
}

// ---- decision futures against a loopback server ------------------------------------------------------

/// A plain-HTTP server answering every request with `reply(path)` (status, body); counts requests.
async fn serve(
    reply: fn(&str) -> (u16, String),
) -> (String, Arc<AtomicUsize>, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let task = tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let counter = counter.clone();
            tokio::spawn(async move {
                let mut buffer = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    let Ok(n) = socket.read(&mut chunk).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    buffer.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buffer).into_owned();
                    let Some(end) = text.find("\r\n\r\n") else {
                        continue;
                    };
                    let length: usize = text[..end]
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    if buffer.len() < end + 4 + length {
                        continue;
                    }
                    let path = text.split_whitespace().nth(1).unwrap_or("/").to_owned();
                    buffer.drain(..end + 4 + length);
                    counter.fetch_add(1, Ordering::SeqCst);
                    let (status, body) = reply(&path);
                    let response = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    if socket.write_all(response.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (url, hits, task)
}

fn policy(url: &str, step_up_wait: Option<Duration>) -> EnforcerPolicy {
    let settings = crate::settings::resolve::resolve(crate::settings::Inputs::default()).unwrap();
    let config = EnforcerConfig {
        url: url.into(),
        credential: Sourced::new(Credential::ApiKey(Secret::new("k")), Source::Default),
        fallback: Fallback::from_settings(&settings),
        step_up_wait,
    };
    let info = SessionInfo {
        agent_id: "a".into(),
        tenant_id: None,
        user_id: None,
        endpoint_id: None,
        fleet_id: None,
        session_intent: None,
        approved_scope: vec![],
        mode: Mode::Block,
        environment: Environment::Prod,
    };
    EnforcerPolicy::new(crate::net::client(&settings).unwrap(), config, info).unwrap()
}

fn call(name: &str) -> ToolCall {
    ToolCall {
        proxy_id: 1,
        name: name.into(),
        arguments: Some(bytes::Bytes::from_static(br#"{"x":1}"#)),
    }
}

fn pending(verdict: Verdict) -> DecisionFuture {
    match verdict {
        Verdict::Pending(future) => future,
        Verdict::Ready(decision) => panic!("expected a pending decision, got {decision:?}"),
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn a_pending_decision_comes_from_the_enforcer() {
    runtime().block_on(async {
        let (url, hits, server) = serve(|_| {
            (
                200,
                r#"{"decision":"BLOCK","reason":"no","violation_id":"v9"}"#.into(),
            )
        })
        .await;
        let mut p = policy(&url, None);
        let decision = pending(p.decide(&call("t"))).await;
        assert_eq!(
            decision,
            Decision::Block(Refusal {
                reason: "no".into(),
                violation_id: "v9".into()
            })
        );
        assert_eq!(hits.load(Ordering::SeqCst), 1);
        server.abort();
    });
}

#[test]
fn dropping_a_decision_stops_hold_polling() {
    runtime().block_on(async {
        let (url, hits, server) = serve(|path| {
            if path.starts_with("/v1/enforce/hold/") {
                (200, r#"{"resolved":false}"#.into())
            } else {
                (200, r#"{"decision":"STEP_UP","hold_token":"h 1/x"}"#.into())
            }
        })
        .await;
        let mut p = policy(&url, Some(Duration::from_secs(60)));
        let future = pending(p.decide(&call("t")));
        let waited = tokio::time::timeout(Duration::from_millis(900), future).await;
        assert!(waited.is_err(), "the hold never resolves");
        let seen = hits.load(Ordering::SeqCst);
        assert!(seen >= 2, "the enforce call and at least one poll: {seen}");
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(
            hits.load(Ordering::SeqCst),
            seen,
            "no poll after the future was dropped"
        );
        server.abort();
    });
}

#[test]
fn a_hold_that_is_not_resolved_in_time_blocks() {
    runtime().block_on(async {
        let (url, _, server) = serve(|path| {
            if path.starts_with("/v1/enforce/hold/") {
                (202, String::new())
            } else {
                (200, r#"{"decision":"STEP_UP","hold_token":"h1","reason":"needs a human"}"#.into())
            }
        })
        .await;
        let mut p = policy(&url, Some(Duration::from_millis(700)));
        let decision = pending(p.decide(&call("t"))).await;
        assert!(
            matches!(&decision, Decision::Block(r) if r.reason.contains("needs a human") && r.reason.contains("no approval within")),
            "{decision:?}"
        );
        server.abort();
    });
}

#[test]
fn session_tool_calls_lists_the_session_so_far() {
    let mut p = policy("http://127.0.0.1:9", None);
    for name in ["a", "b", "c"] {
        p.record(name);
    }
    let body: serde_json::Value =
        serde_json::from_slice(&p.body(&call("c"), "r1").unwrap()).unwrap();
    assert_eq!(body["session_tool_calls"], json!(["a", "b", "c"]));
    assert_eq!(body["tool_args"], json!({"x": 1}));
    assert_eq!(body["source_type"], "mcp_proxy");
    assert_eq!(body["request_id"], "r1");
    assert!(body.get("session_intent").is_none() && body["tenant_id"].is_null());
    for i in 0..(MAX_SESSION_HISTORY + 10) {
        p.record(&format!("t{i}"));
    }
    assert_eq!(p.history.len(), MAX_SESSION_HISTORY);
}
