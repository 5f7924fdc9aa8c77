//! TOOL_CALL_PRE / POST events through the real binary: every governed call sends both to the enforcer's
//! `/v1/events`, and an outage loses none of them (they wait in `~/.thoth/spool` and are replayed, in order,
//! by a later session) while the spool stays bounded.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{json, Value};

use crate::support::https::{Reply, Server};
use crate::support::{fixture_server, init_params, Session, Thoth};

/// A session of `calls` echo calls through thoth against `enforcer`; returns when thoth has exited.
fn session(t: &Thoth, enforcer: &Server, calls: u64) {
    finish(calls_made(t, enforcer, calls));
}

/// thoth started against `enforcer`, initialized, and `calls` echo calls answered; the session left open.
fn calls_made(t: &Thoth, enforcer: &Server, calls: u64) -> Session {
    let mut cmd = t.command();
    cmd.env("THOTH_ENFORCER_URL", enforcer.url())
        .env("THOTH_API_KEY", "sk-events-test")
        .env("THOTH_TENANT_ID", "acme")
        .args(["run", "--agent-id", "events-agent", "--"])
        .arg(fixture_server());
    let mut s = Session::spawn(cmd);
    s.request(json!(0), "initialize", init_params());
    for i in 1..=calls {
        let reply = s.request(
            json!(i),
            "tools/call",
            json!({"name": "echo", "arguments": {"n": i}}),
        );
        assert!(reply.get("result").is_some(), "{reply}\n{}", s.stderr());
    }
    s
}

/// Close stdin and wait for thoth to exit 0.
fn finish(mut s: Session) {
    s.close_stdin();
    assert_eq!(
        s.wait_timeout(Duration::from_secs(20))
            .and_then(|st| st.code()),
        Some(0),
        "{}",
        s.stderr()
    );
}

/// The events in the enforcer's `/v1/events` requests after the first `skip` of them, as
/// (session, type, session_tool_calls), and their total count.
fn events(enforcer: &Server, skip: usize) -> (BTreeSet<(String, String, u64)>, usize) {
    let mut unique = BTreeSet::new();
    let mut total = 0;
    for request in enforcer
        .received_at("POST", "/v1/events")
        .into_iter()
        .skip(skip)
    {
        assert_eq!(request.header("x-api-key"), Some("sk-events-test"));
        let body: Value = request.json();
        for event in body["events"].as_array().expect("{events: [...]}") {
            assert_eq!(event["source_type"], "agent_tool_call");
            assert_eq!(event["agent_id"], "events-agent");
            assert_eq!(event["tool_name"], "echo");
            total += 1;
            unique.insert((
                event["session_id"].as_str().unwrap().to_owned(),
                event["event_type"].as_str().unwrap().to_owned(),
                event["session_tool_calls"].as_u64().unwrap(),
            ));
        }
    }
    (unique, total)
}

/// A loopback enforcer that allows every call (its `/v1/events` answers are the test's).
fn allowing_enforcer() -> Server {
    let enforcer = Server::http();
    enforcer.route(
        "POST",
        "/v1/enforce",
        vec![Reply::json(json!({"decision": "ALLOW"}))],
    );
    enforcer
}

fn spooled(t: &Thoth) -> usize {
    std::fs::read_dir(t.home.path().join(".thoth/spool"))
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| e.path().is_file())
                .count()
        })
        .unwrap_or(0)
}

#[test]
fn every_governed_call_sends_pre_and_post_events() {
    let enforcer = allowing_enforcer();
    enforcer.route("POST", "/v1/events", vec![Reply::status(202, "")]);
    let t = Thoth::new("dev");
    session(&t, &enforcer, 5);
    let (unique, total) = events(&enforcer, 0);
    assert_eq!(total, 10, "{unique:?}");
    let kinds: BTreeSet<(String, u64)> = unique
        .iter()
        .map(|(_, kind, n)| (kind.clone(), *n))
        .collect();
    let expected: BTreeSet<(String, u64)> = (1..=5)
        .flat_map(|n| {
            [
                ("TOOL_CALL_PRE".to_owned(), n),
                ("TOOL_CALL_POST".to_owned(), n),
            ]
        })
        .collect();
    assert_eq!(kinds, expected);
    assert_eq!(spooled(&t), 0);
}

#[test]
fn no_event_is_lost_across_an_enforcer_outage() {
    let enforcer = allowing_enforcer();
    // The events endpoint is down for the whole first session.
    enforcer.route("POST", "/v1/events", vec![Reply::status(503, "down")]);
    let t = Thoth::new("dev");
    session(&t, &enforcer, 12);
    let refused = enforcer.received_at("POST", "/v1/events").len();
    assert!(refused > 0, "thoth tried to send during the outage");
    let waiting = spooled(&t);
    assert!(waiting > 0, "the first session's events wait in the spool");
    // The endpoint comes back; the next session replays the spool first, then sends its own.
    enforcer.route("POST", "/v1/events", vec![Reply::status(202, "")]);
    session(&t, &enforcer, 3);
    let (unique, total) = events(&enforcer, refused);
    let sessions: BTreeSet<&String> = unique.iter().map(|(s, _, _)| s).collect();
    assert_eq!(
        sessions.len(),
        2,
        "events of both sessions arrived: {unique:?}"
    );
    for kind in ["TOOL_CALL_PRE", "TOOL_CALL_POST"] {
        let mut counts: Vec<usize> = sessions
            .iter()
            .map(|s| {
                unique
                    .iter()
                    .filter(|(us, k, _)| us == *s && k == kind)
                    .count()
            })
            .collect();
        counts.sort_unstable();
        assert_eq!(
            counts,
            vec![3, 12],
            "{kind}: every call of both sessions, once each at least"
        );
    }
    assert!(total >= 30, "at least once: {total}");
    assert_eq!(spooled(&t), 0, "the spool is empty once delivered");
}

#[test]
fn a_503_with_retry_after_holds_the_next_send_that_long() {
    // The first batch is refused with `Retry-After: 3`; the sink's own backoff would retry after 1 s (±10%,
    // on the next 1 s flush tick, so within ~2.1 s): the server's recorded times show it waited 3 s.
    let enforcer = allowing_enforcer();
    enforcer.route(
        "POST",
        "/v1/events",
        vec![
            Reply::status(503, "busy").with_header("retry-after", "3"),
            Reply::status(202, ""),
        ],
    );
    let t = Thoth::new("dev");
    let s = calls_made(&t, &enforcer, 1);
    let sends = enforcer.wait_for("POST", "/v1/events", 2, Duration::from_secs(20));
    assert!(sends.len() >= 2, "{}", s.stderr());
    let gap = sends[1].at - sends[0].at;
    assert!(
        gap >= Duration::from_secs(3) && gap <= Duration::from_millis(5500),
        "the retry came {gap:?} after a 503 that asked for 3 s"
    );
    finish(s);
    let (_, total) = events(&enforcer, 1);
    assert_eq!(
        total, 2,
        "the refused batch was delivered once, after the pause"
    );
}
