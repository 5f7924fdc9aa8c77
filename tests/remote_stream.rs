//! `thoth run --url` (issue 18) against a scripted Streamable HTTP server of our own that records every
//! request: a server→client request over the GET stream answered with the session id, resumption with
//! `Last-Event-ID` (none lost, none doubled), static headers (`${env:X}`, `thoth-secret:`) on every POST, GET
//! and DELETE, and the DELETE + exit 0 within 5 s at stdin EOF.

use std::io::Write;
use std::net::TcpStream;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::remote_kit::{self as kit, After, Request};
use crate::support::{self, init_params, Thoth};

const SESSION: &str = "s-1";
/// The GET stream breaks after this event id; the resumed stream carries the rest, up to `LAST`.
const BREAK_AFTER: u64 = 5;
const LAST: u64 = 9;

/// Event 1 is a `roots/list` request, events 2..=LAST are `notifications/message` with `seq` = the id.
fn event(id: u64) -> Value {
    if id == 1 {
        json!({"jsonrpc":"2.0","id":"r1","method":"roots/list"})
    } else {
        json!({"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":{"seq":id}}})
    }
}

fn scripted(req: &Request, out: &mut TcpStream) -> After {
    match req.method.as_str() {
        "POST" => {
            let msg = req.json();
            match msg["method"].as_str() {
                Some("initialize") => kit::json(
                    out,
                    Some(SESSION),
                    &kit::init_result(&msg["id"], "scripted"),
                ),
                Some("tools/call") => {
                    // Answered as an SSE stream: a progress notification, then the response.
                    let _ = kit::sse_head(out);
                    let _ = kit::sse_event(
                        out,
                        None,
                        &json!({"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"p","progress":1}}),
                    );
                    let _ = kit::sse_event(
                        out,
                        None,
                        &json!({"jsonrpc":"2.0","id":msg["id"],"result":{"content":[{"type":"text","text":"streamed"}]}}),
                    );
                    return After::Close;
                }
                Some(_) if !msg["id"].is_null() => kit::json(
                    out,
                    None,
                    &json!({"jsonrpc":"2.0","id":msg["id"],"result":{}}),
                ),
                _ => kit::reply(out, "202 Accepted", &[], b""),
            }
            After::KeepAlive
        }
        "GET" => {
            let from = req
                .header("last-event-id")
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0);
            if kit::sse_head(out).is_err() {
                return After::Close;
            }
            if from == 0 {
                // The first stream: events 1..=BREAK_AFTER, then the connection drops.
                for id in 1..=BREAK_AFTER {
                    let _ = kit::sse_event(out, Some(id), &event(id));
                }
                let _ = out.shutdown(std::net::Shutdown::Both);
                return After::Close;
            }
            for id in from + 1..=LAST {
                let _ = kit::sse_event(out, Some(id), &event(id));
            }
            kit::hold(out);
            After::Close
        }
        "DELETE" => {
            kit::reply(out, "200 OK", &[], b"");
            After::KeepAlive
        }
        _ => {
            kit::reply(out, "405 Method Not Allowed", &[], b"");
            After::KeepAlive
        }
    }
}

fn set_secret(t: &Thoth, name: &str, value: &str) {
    let mut child = t
        .command()
        .args(["secrets", "set", name, "--from-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(value.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_get_stream_is_resumed_with_last_event_id_its_requests_answered_and_headers_go_on_every_request(
) {
    let (url, log) = kit::serve(scripted);
    let t = Thoth::new("dev");
    set_secret(&t, "bars/TOKEN", "sekrit-from-the-store");
    let mut cmd = t.command();
    cmd.env("BARS_TEAM", "bars").args([
        "run",
        "--url",
        &url,
        "--header",
        "X-Team: ${env:BARS_TEAM}",
        "--header",
        "Authorization: Bearer thoth-secret:bars/TOKEN",
    ]);
    let mut s = support::Session::spawn(cmd);
    let init = s.request(json!(1), "initialize", init_params());
    assert_eq!(init["result"]["serverInfo"]["name"], "scripted", "{init}");
    s.send(&json!({"jsonrpc":"2.0","method":"notifications/initialized"}));

    // Everything the two GET streams carry reaches the client: the roots/list request and seq 2..=LAST.
    let mut seqs = Vec::new();
    let mut roots = None;
    while seqs.last() != Some(&LAST) {
        let m = s.recv();
        match m["method"].as_str() {
            Some("roots/list") => roots = Some(m),
            Some("notifications/message") => {
                seqs.push(m["params"]["data"]["seq"].as_u64().unwrap())
            }
            _ => panic!("unexpected frame {m}"),
        }
    }
    assert_eq!(
        seqs,
        (2..=LAST).collect::<Vec<_>>(),
        "lost or doubled events"
    );
    let roots = roots.expect("the roots/list request of the GET stream");
    // The client's answer (to the id thoth gave the request) is POSTed back as "r1" with the session id.
    s.send(&json!({"jsonrpc":"2.0","id":roots["id"],"result":{"roots":[]}}));
    // A call answered as an SSE stream: the progress first, then the answer.
    s.send(&json!({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{}}}));
    let (answer, before) = s.recv_until_id(&json!(2));
    assert_eq!(
        answer["result"]["content"][0]["text"], "streamed",
        "{answer}"
    );
    assert!(
        before
            .iter()
            .any(|m| m["method"] == "notifications/progress"),
        "{before:?}"
    );
    s.expect_silence(Duration::from_millis(300));

    s.close_stdin();
    let started = Instant::now();
    let status = s
        .wait_timeout(Duration::from_secs(5))
        .expect("exit within 5 s");
    assert!(status.success(), "{status:?}: {}", s.stderr());
    assert!(started.elapsed() < Duration::from_secs(5));

    let log = log.lock().unwrap().clone();
    let gets: Vec<&Request> = log.iter().filter(|r| r.method == "GET").collect();
    assert!(gets.len() >= 2, "{gets:?}");
    assert_eq!(gets[0].header("last-event-id"), None);
    assert_eq!(
        gets[1].header("last-event-id"),
        Some("5"),
        "resumed from the last event id"
    );
    let answered = log
        .iter()
        .find(|r| r.method == "POST" && r.json()["id"] == "r1")
        .expect("the roots/list answer was POSTed");
    assert!(answered.json()["result"].is_object());
    assert_eq!(answered.header("mcp-session-id"), Some(SESSION));
    let deletes: Vec<&Request> = log.iter().filter(|r| r.method == "DELETE").collect();
    assert_eq!(deletes.len(), 1, "{log:?}");
    assert_eq!(deletes[0].header("mcp-session-id"), Some(SESSION));
    // The headers on every request, the secret resolved from the store; the session id on all but initialize.
    for r in &log {
        assert_eq!(
            r.header("x-team"),
            Some("bars"),
            "{} without X-Team",
            r.method
        );
        assert_eq!(
            r.header("authorization"),
            Some("Bearer sekrit-from-the-store"),
            "{}",
            r.method
        );
        let init = r.json()["method"] == "initialize";
        assert_eq!(
            r.header("mcp-session-id").is_none(),
            init,
            "{} {:?}",
            r.method,
            r.json()
        );
    }
    for method in ["POST", "GET", "DELETE"] {
        assert!(log.iter().any(|r| r.method == method), "no {method}");
    }
    assert!(!s.stderr().contains("sekrit"), "the secret was logged");
}

#[test]
fn a_missing_header_secret_is_refused_on_initialize_naming_it_and_no_request_is_made() {
    let (url, log) = kit::serve(scripted);
    let t = Thoth::new("dev");
    let mut cmd = t.command();
    cmd.args([
        "run",
        "--url",
        &url,
        "--header",
        "X-Key: thoth-secret:bars/NOPE",
    ]);
    let mut s = support::Session::spawn(cmd);
    let init = s.request(json!(1), "initialize", init_params());
    let text = init["error"].to_string();
    assert!(
        text.contains("X-Key") && text.contains("bars/NOPE"),
        "{init}"
    );
    s.close_stdin();
    let status = s.wait_timeout(support::TIMEOUT).expect("exit");
    assert!(!status.success());
    assert!(log.lock().unwrap().is_empty(), "a request was made");
}
