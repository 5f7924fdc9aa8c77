//! `thoth run` against a hostile MCP server (`tests/fixture_server`) and a hostile client: spoofed and
//! duplicate ids, garbage, invalid UTF-8, oversized lines, crashes, hangs, batches, a full pending table,
//! governance end to end, id fidelity, server -> client requests, cancellation and process lifecycle.
//! Every test drives the real binary over real pipes and states its THOTH_ENV.

use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::{fixture_server, init_params, Session, Thoth, TIMEOUT};

// ---- helpers -----------------------------------------------------------------------------------------------

/// `thoth run <flags> -- fixture-server <server_args>`.
fn start(thoth: &Thoth, flags: &[&str], server_args: &[&str]) -> Session {
    let server = fixture_server();
    let mut command = vec![server.to_str().expect("utf-8 path")];
    command.extend_from_slice(server_args);
    thoth.run(flags, &command)
}

/// A `--record` file in the test's temp HOME.
fn record_path(thoth: &Thoth) -> PathBuf {
    thoth.home.path().join("fixture-record.ndjson")
}

fn initialize(session: &mut Session) {
    session.initialize_fixture();
}

fn call_frame(id: Value, tool: &str, arguments: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": tool, "arguments": arguments}})
}

fn call(session: &mut Session, id: Value, tool: &str, arguments: Value) -> Value {
    session.send(&call_frame(id.clone(), tool, arguments));
    session.recv_until_id(&id).0
}

/// The text of the first content item of a tools/call result.
fn text_of(resp: &Value) -> &str {
    resp["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("not a text tool result: {resp}"))
}

/// Assert `resp` is an echo result for `arguments` answering `id`.
fn assert_echo(resp: &Value, id: &Value, arguments: &Value) {
    assert_eq!(&resp["id"], id, "{resp}");
    assert_eq!(resp["jsonrpc"], "2.0", "{resp}");
    let echoed: Value = serde_json::from_str(text_of(resp)).expect("echo text is JSON");
    assert_eq!(&echoed, arguments, "{resp}");
}

/// Assert `resp` is an error thoth wrote itself for `id`, with `code`; returns the error object.
fn assert_thoth_error<'a>(resp: &'a Value, id: &Value, code: i64) -> &'a Value {
    assert_eq!(resp["jsonrpc"], "2.0", "{resp}");
    assert_eq!(&resp["id"], id, "wrong id: {resp}");
    assert!(
        resp.get("result").is_none(),
        "an error response has no result: {resp}"
    );
    let error = &resp["error"];
    assert_eq!(error["code"], code, "wrong code: {resp}");
    let message = error["message"]
        .as_str()
        .unwrap_or_else(|| panic!("error without a message: {resp}"));
    assert!(
        message.starts_with("thoth:"),
        "message must start with `thoth:`: {resp}"
    );
    error
}

/// Every line the fixture server received, as text (invalid UTF-8 replaced).
fn recorded(path: &Path) -> Vec<String> {
    let bytes = std::fs::read(path).unwrap_or_default();
    bytes
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| String::from_utf8_lossy(l).into_owned())
        .collect()
}

/// The recorded lines that parse as JSON.
fn recorded_frames(path: &Path) -> Vec<Value> {
    recorded(path)
        .iter()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// The line containing `needle` the server has recorded. Call it once an answer proves the server read the
/// line (its own answer, or a later `barrier`): the fixture records a line before it handles it.
fn recorded_line(path: &Path, needle: &str) -> String {
    recorded(path)
        .into_iter()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("the server never received a line containing {needle:?}"))
}

fn assert_never_recorded(path: &Path, needle: &str) {
    let hits: Vec<String> = recorded(path)
        .into_iter()
        .filter(|l| l.contains(needle))
        .collect();
    assert!(
        hits.is_empty(),
        "the server received what it must never see ({needle:?}): {hits:?}"
    );
}

/// Wait until thoth's stderr contains `needle`.
fn wait_stderr(session: &Session, needle: &str) -> String {
    let start = Instant::now();
    loop {
        let stderr = session.stderr();
        if stderr.contains(needle) {
            return stderr;
        }
        assert!(
            start.elapsed() < TIMEOUT,
            "stderr never contained {needle:?}:\n{stderr}"
        );
        // Poll interval of a wait for a stderr line (the event), bounded by the deadline above.
        thread::sleep(Duration::from_millis(20));
    }
}

/// Proves every earlier frame has been dealt with: an echo round trip whose response must be the very next
/// frame on stdout.
fn echo_is_next(session: &mut Session, id: Value) {
    let arguments = json!({"probe": id.clone()});
    session.send(&call_frame(id.clone(), "echo", arguments.clone()));
    let resp = session.recv();
    assert_echo(&resp, &id, &arguments);
}

fn exit_code(session: &mut Session, within: Duration) -> i32 {
    let status = session.wait_timeout(within).unwrap_or_else(|| {
        panic!(
            "thoth still running after {within:?}; stderr:\n{}",
            session.stderr()
        )
    });
    status.code().unwrap_or_else(|| {
        panic!(
            "thoth ended by a signal: {status:?}; stderr:\n{}",
            session.stderr()
        )
    })
}

// ---- ids ---------------------------------------------------------------------------------------------------

#[test]
fn spoofed_and_duplicate_response_ids_are_dropped() {
    let thoth = Thoth::new("dev");
    let mut s = start(&thoth, &[], &[]);
    initialize(&mut s);
    // The server answers, then repeats the answer, then answers ids nobody issued (987654321, "never-issued").
    s.send(&call_frame(
        json!(1),
        "spoof",
        json!({"kinds": ["duplicate", "unknown"]}),
    ));
    let resp = s.recv();
    assert_eq!(resp["id"], 1, "{resp}");
    assert_eq!(text_of(&resp), "spoof answer", "{resp}");
    // The spoofs were written before the server read this call: its answer must be the next frame.
    echo_is_next(&mut s, json!(2));
    echo_is_next(&mut s, json!("quiet"));
}

#[test]
fn object_ids_are_refused_from_the_client_and_dropped_from_the_server() {
    let thoth = Thoth::new("dev");
    let record = record_path(&thoth);
    let mut s = start(&thoth, &[], &["--record", record.to_str().unwrap()]);
    initialize(&mut s);

    s.send(&call_frame(
        json!({"a": 1}),
        "echo",
        json!({"marker": "object-id-call"}),
    ));
    assert_thoth_error(&s.recv(), &Value::Null, -32600);
    s.send(&call_frame(
        json!([1]),
        "echo",
        json!({"marker": "array-id-call"}),
    ));
    assert_thoth_error(&s.recv(), &Value::Null, -32600);
    echo_is_next(&mut s, json!(3));
    assert_never_recorded(&record, "object-id-call");
    assert_never_recorded(&record, "array-id-call");

    // From the server: responses with an object and an array id, and a request with an object id.
    s.send(&call_frame(json!(4), "spoof", json!({"kinds": ["object"]})));
    let resp = s.recv();
    assert_eq!(resp["id"], 4, "{resp}");
    assert_eq!(text_of(&resp), "spoof answer", "{resp}");
    echo_is_next(&mut s, json!(5));
    echo_is_next(&mut s, json!("quiet"));
}

#[test]
fn request_ids_are_restored_exactly() {
    let thoth = Thoth::new("dev");
    let record = record_path(&thoth);
    let mut s = start(&thoth, &[], &["--record", record.to_str().unwrap()]);
    initialize(&mut s);

    let long_id = format!("{}-é-\u{2028}-\"quoted\"-end", "x".repeat(2000));
    // "1" and 1 are in flight at the same time, with different answers.
    s.send(&call_frame(json!("1"), "sleep", json!({"ms": 400})));
    s.send(&call_frame(json!(1), "sleep", json!({"ms": 200})));
    s.send_raw(
        b"{\"jsonrpc\":\"2.0\",\"id\":9007199254740993,\"method\":\"tools/call\",\"params\":{\"name\":\"echo\",\"arguments\":{\"n\":\"big\"}}}\n",
    );
    s.send(&call_frame(json!(0), "echo", json!({"n": "zero"})));
    s.send(&call_frame(json!(long_id), "echo", json!({"n": "long"})));
    s.send(&call_frame(json!(-7), "echo", json!({"n": "negative"})));

    let mut raw_lines = Vec::new();
    for _ in 0..6 {
        let raw = s
            .recv_raw(TIMEOUT)
            .unwrap_or_else(|| panic!("missing response; stderr:\n{}", s.stderr()));
        raw_lines.push(raw);
    }
    let frames: Vec<Value> = raw_lines
        .iter()
        .map(|l| serde_json::from_slice(l).expect("JSON frame"))
        .collect();
    let by_id = |id: &Value| -> &Value {
        let hits: Vec<&Value> = frames.iter().filter(|f| &f["id"] == id).collect();
        assert_eq!(
            hits.len(),
            1,
            "expected exactly one response for {id}: {frames:?}"
        );
        hits[0]
    };
    assert_eq!(text_of(by_id(&json!("1"))), "slept 400");
    assert_eq!(text_of(by_id(&json!(1))), "slept 200");
    assert_echo(by_id(&json!(0)), &json!(0), &json!({"n": "zero"}));
    assert_echo(
        by_id(&json!(long_id)),
        &json!(long_id),
        &json!({"n": "long"}),
    );
    assert_echo(by_id(&json!(-7)), &json!(-7), &json!({"n": "negative"}));
    // The big number, as text: not rounded to 9007199254740992 nor written as a float.
    let big: Vec<&Vec<u8>> = raw_lines
        .iter()
        .filter(|l| String::from_utf8_lossy(l).contains(r#"\"big\""#))
        .collect();
    assert_eq!(big.len(), 1);
    let big_text = String::from_utf8_lossy(big[0]);
    let compact: String = big_text.chars().filter(|c| !c.is_whitespace()).collect();
    assert!(
        compact.contains("\"id\":9007199254740993"),
        "id not restored exactly: {big_text}"
    );

    // The server saw thoth's own ids: integers, all distinct, none of the client's strings.
    let requests: Vec<Value> = recorded_frames(&record)
        .into_iter()
        .filter(|f| f.get("method").is_some() && f.get("id").is_some())
        .collect();
    assert_eq!(requests.len(), 7, "initialize + 6 calls: {requests:?}");
    let mut seen = std::collections::HashSet::new();
    for r in &requests {
        assert!(
            r["id"].is_u64(),
            "the server must see thoth's numeric ids: {r}"
        );
        assert!(
            seen.insert(r["id"].to_string()),
            "duplicate proxy id: {requests:?}"
        );
    }
}

// ---- garbage -----------------------------------------------------------------------------------------------

#[test]
fn invalid_json_from_the_client_gets_a_parse_error_and_the_session_continues() {
    let thoth = Thoth::new("dev");
    let record = record_path(&thoth);
    let mut s = start(&thoth, &[], &["--record", record.to_str().unwrap()]);
    initialize(&mut s);

    s.send_raw(b"this is not json\n");
    assert_thoth_error(&s.recv(), &Value::Null, -32700);
    // Truncated JSON that names an id: still a parse error, and a parse error's id is null (JSON-RPC 2.0 §5).
    s.send_raw(b"{\"jsonrpc\":\"2.0\",\"id\":11,\"method\":\"tools/call\",\"params\":{\"name\":\"echo\",\"marker\":\"truncated-call\"\n");
    assert_thoth_error(&s.recv(), &Value::Null, -32700);
    echo_is_next(&mut s, json!(12));
    assert_never_recorded(&record, "not json");
    assert_never_recorded(&record, "truncated-call");
    echo_is_next(&mut s, json!("quiet"));
}

#[test]
fn invalid_utf8_from_the_client_gets_a_parse_error_and_the_session_continues() {
    let thoth = Thoth::new("dev");
    let record = record_path(&thoth);
    let mut s = start(&thoth, &[], &["--record", record.to_str().unwrap()]);
    initialize(&mut s);

    // -32700 with a null id (the line names id 21, but a parse error's id is null); never forwarded.
    s.send_raw(b"{\"jsonrpc\":\"2.0\",\"id\":21,\"method\":\"tools/call\",\"params\":{\"name\":\"echo\",\"arguments\":{\"marker\":\"bad-utf8-\xff\xfe\xc3(\"}}}\n");
    assert_thoth_error(&s.recv(), &Value::Null, -32700);
    echo_is_next(&mut s, json!(22));
    assert_never_recorded(&record, "bad-utf8-");
    echo_is_next(&mut s, json!("quiet"));
}

#[test]
fn invalid_json_and_invalid_utf8_from_the_server_are_dropped() {
    let thoth = Thoth::new("dev");
    let mut s = start(&thoth, &[], &[]);
    initialize(&mut s);

    // An invalid JSON line and an invalid UTF-8 notification, then the real answer. Both bad
    // lines are dropped (recv() panics on a non-JSON stdout line), the answer arrives first.
    s.send(&call_frame(json!(23), "garbage", json!({})));
    let resp = s.recv();
    assert_eq!(resp["id"], 23, "{resp}");
    assert_eq!(text_of(&resp), "after garbage", "{resp}");
    echo_is_next(&mut s, json!(24));
    echo_is_next(&mut s, json!("quiet"));
}

#[test]
fn server_garbage_with_a_recoverable_id_fails_that_call() {
    let thoth = Thoth::new("dev");
    let mut s = start(&thoth, &[], &[]);
    initialize(&mut s);
    // The server writes a truncated response and an invalid UTF-8 response for this call, then a valid one.
    s.send(&call_frame(json!("g"), "garbage", json!({"with_id": true})));
    let resp = s.recv();
    assert_thoth_error(&resp, &json!("g"), -32603);
    // The later valid answer for the same call is a duplicate now: dropped.
    echo_is_next(&mut s, json!("after"));
    echo_is_next(&mut s, json!("quiet"));
}

// ---- line cap ----------------------------------------------------------------------------------------------

#[test]
fn oversized_client_line_is_discarded_and_the_session_continues() {
    let thoth = Thoth::new("dev");
    let record = record_path(&thoth);
    let mut s = start(
        &thoth,
        &["--max-line-bytes", "1024"],
        &["--record", record.to_str().unwrap()],
    );
    initialize(&mut s);

    // The id comes before the cut: answered with an error for that id.
    let pad = "x".repeat(4000);
    s.send(&call_frame(
        json!("over"),
        "echo",
        json!({"marker": "oversized-with-id", "pad": pad}),
    ));
    let resp = s.recv();
    let error = assert_thoth_error(&resp, &json!("over"), -32600);
    assert!(
        error["message"].as_str().unwrap().contains("1024"),
        "the message names the limit: {resp}"
    );
    // A notification over the cap has no id: dropped silently.
    s.send(&json!({"jsonrpc": "2.0", "method": "notifications/message", "params": {"marker": "oversized-no-id", "pad": pad}}));
    echo_is_next(&mut s, json!("next"));
    // A line exactly at the cap passes (`sleep` answers with a short text, well under the cap).
    let base = serde_json::to_vec(&call_frame(
        json!("edge"),
        "sleep",
        json!({"ms": 0, "pad": ""}),
    ))
    .unwrap()
    .len();
    let edge = call_frame(
        json!("edge"),
        "sleep",
        json!({"ms": 0, "pad": "y".repeat(1024 - base)}),
    );
    assert_eq!(serde_json::to_vec(&edge).unwrap().len(), 1024);
    s.send(&edge);
    let resp = s.recv();
    assert_eq!(resp["id"], "edge", "{resp}");
    assert_eq!(text_of(&resp), "slept 0", "{resp}");

    assert_never_recorded(&record, "oversized-with-id");
    assert_never_recorded(&record, "oversized-no-id");
    echo_is_next(&mut s, json!("quiet"));
}

#[test]
fn oversized_server_line_fails_the_pending_call_and_the_session_continues() {
    let thoth = Thoth::new("dev");
    let mut s = start(&thoth, &["--max-line-bytes", "4096"], &[]);
    initialize(&mut s);
    s.send(&call_frame(json!(31), "huge", json!({"bytes": 100_000})));
    let resp = s.recv();
    let error = assert_thoth_error(&resp, &json!(31), -32603);
    assert!(
        error["message"].as_str().unwrap().contains("4096"),
        "the message names the limit: {resp}"
    );
    echo_is_next(&mut s, json!(32));
    // Under the cap, `huge` is an ordinary answer.
    let resp = call(&mut s, json!(33), "huge", json!({"bytes": 2000}));
    let text = text_of(&resp);
    assert!(
        text.len() > 1900 && text.bytes().all(|b| b == b'x'),
        "{resp}"
    );
    echo_is_next(&mut s, json!("quiet"));
}

// ---- server lifecycle --------------------------------------------------------------------------------------

#[test]
fn server_crash_mid_call_fails_every_pending_call_and_thoth_exits_with_its_code() {
    let thoth = Thoth::new("dev");
    let mut s = start(&thoth, &[], &[]);
    initialize(&mut s);
    s.send(&call_frame(json!(1), "sleep", json!({"ms": 30_000})));
    s.send(&call_frame(json!("two"), "sleep", json!({"ms": 30_000})));
    s.send(&call_frame(json!(3), "crash", json!({"code": 7})));

    let mut ids = Vec::new();
    for _ in 0..3 {
        let resp = s.recv();
        let id = resp["id"].clone();
        let error = assert_thoth_error(&resp, &id, -32603);
        let reason = error["data"]["thoth"]["reason"]
            .as_str()
            .unwrap_or_else(|| panic!("no data.thoth.reason: {resp}"));
        assert!(
            reason.contains('7'),
            "the reason names the exit status: {resp}"
        );
        assert!(
            error["message"].as_str().unwrap().contains('7'),
            "the message names the exit status: {resp}"
        );
        ids.push(id);
    }
    ids.sort_by_key(|v| v.to_string());
    let mut expected = vec![json!(1), json!("two"), json!(3)];
    expected.sort_by_key(|v| v.to_string());
    assert_eq!(ids, expected);
    assert_eq!(exit_code(&mut s, Duration::from_secs(10)), 7);
    assert!(s.drain_frames().is_empty());
}

#[test]
fn server_exit_code_propagates_when_the_client_closes_stdin() {
    let thoth = Thoth::new("dev");
    let mut s = start(&thoth, &[], &["--exit-on-eof", "5"]);
    initialize(&mut s);
    s.close_stdin();
    assert_eq!(exit_code(&mut s, Duration::from_secs(10)), 5);
    wait_stderr(&s, "stdin EOF; exiting with 5");
}

#[test]
fn server_ignoring_stdin_eof_is_terminated_after_the_grace_period() {
    let thoth = Thoth::new("dev");
    let mut s = start(&thoth, &["--shutdown-grace-ms", "300"], &["--ignore-eof"]);
    initialize(&mut s);
    let closed = Instant::now();
    s.close_stdin();
    let status = s.wait_timeout(Duration::from_secs(5));
    let took = closed.elapsed();
    let status = status.unwrap_or_else(|| {
        panic!(
            "thoth did not exit within 5s of client EOF; stderr:\n{}",
            s.stderr()
        )
    });
    assert!(
        took >= Duration::from_millis(300),
        "thoth must give the server its grace period, exited after {took:?}"
    );
    // The server saw EOF (thoth closed its stdin) and kept running until it was terminated.
    wait_stderr(&s, "ignoring it (--ignore-eof)");
    // thoth exits with the server's status; a server ended by SIGTERM reads as 128 + 15, as in a shell.
    assert_eq!(
        status.code(),
        Some(143),
        "a server ended by SIGTERM: {status:?}; stderr:\n{}",
        s.stderr()
    );
}

#[test]
fn server_stderr_is_passed_through() {
    let thoth = Thoth::new("dev");
    let banner = "FIXTURE-BANNER-7f3a stderr passthrough";
    let mut s = start(&thoth, &[], &["--stderr-banner", banner]);
    initialize(&mut s);
    wait_stderr(&s, banner);
    s.close_stdin();
    assert_eq!(exit_code(&mut s, Duration::from_secs(10)), 0);
    for frame in s.drain_frames() {
        assert!(
            !frame.to_string().contains("FIXTURE-BANNER"),
            "server stderr leaked onto stdout: {frame}"
        );
    }
}

// ---- flow control ------------------------------------------------------------------------------------------

#[test]
fn full_pending_table_fails_closed() {
    let thoth = Thoth::new("dev");
    let record = record_path(&thoth);
    let mut s = start(
        &thoth,
        &["--max-pending", "2"],
        &["--record", record.to_str().unwrap()],
    );
    initialize(&mut s);
    s.send(&call_frame(json!(1), "sleep", json!({"ms": 1500})));
    s.send(&call_frame(json!(2), "sleep", json!({"ms": 1500})));
    s.send(&call_frame(
        json!(3),
        "echo",
        json!({"marker": "third-call"}),
    ));
    // The third is refused at once, long before the sleeps end.
    let resp = s.recv();
    assert_thoth_error(&resp, &json!(3), -32603);
    let mut done: Vec<String> = (0..2)
        .map(|_| {
            let r = s.recv();
            assert_eq!(text_of(&r), "slept 1500", "{r}");
            r["id"].to_string()
        })
        .collect();
    done.sort();
    assert_eq!(done, ["1", "2"]);
    assert_never_recorded(&record, "third-call");
    // With room again, calls flow.
    echo_is_next(&mut s, json!(4));
}

#[test]
fn fifty_overlapping_calls_all_complete() {
    let thoth = Thoth::new("dev");
    let mut s = start(&thoth, &[], &[]);
    initialize(&mut s);
    // One at a time this would take 100 s, far past the harness timeout.
    for i in 0..50 {
        s.send(&call_frame(json!(i), "sleep", json!({"ms": 2000})));
    }
    let mut ids: Vec<u64> = (0..50)
        .map(|_| {
            let r = s.recv();
            assert_eq!(text_of(&r), "slept 2000", "{r}");
            r["id"].as_u64().expect("numeric id")
        })
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, (0..50).collect::<Vec<u64>>());
}

#[test]
fn cancelled_request_is_forwarded_translated_and_its_late_response_dropped() {
    let thoth = Thoth::new("dev");
    let record = record_path(&thoth);
    let mut s = start(&thoth, &[], &["--record", record.to_str().unwrap()]);
    initialize(&mut s);
    s.send(&call_frame(json!("c1"), "sleep", json!({"ms": 800})));
    barrier(&mut s, "b1");
    let forwarded: Value = serde_json::from_str(&recorded_line(&record, "\"sleep\"")).unwrap();
    s.send(&json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": "c1", "reason": "test"}}));
    barrier(&mut s, "b2");
    let cancel: Value =
        serde_json::from_str(&recorded_line(&record, "notifications/cancelled")).unwrap();
    assert_eq!(
        cancel["params"]["requestId"], forwarded["id"],
        "cancellation not translated to the server's id: {cancel}"
    );
    assert_eq!(cancel["params"]["reason"], "test");
    echo_is_next(&mut s, json!(2));
    // The fixture ignores cancellation and answers at 800 ms: once it says it has, an echo round trip
    // proves thoth dropped that answer (it was written before the echo's).
    wait_stderr(&s, "slept 800, answered");
    echo_is_next(&mut s, json!("after-late-answer"));
    // A cancellation for something not in flight is not forwarded.
    s.send(&json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": "nope"}}));
    echo_is_next(&mut s, json!(3));
    assert_never_recorded(&record, "\"nope\"");
}

#[test]
fn server_to_client_request_round_trips_with_translated_ids() {
    let thoth = Thoth::new("dev");
    let record = record_path(&thoth);
    let mut s = start(&thoth, &[], &["--record", record.to_str().unwrap()]);
    initialize(&mut s);

    let mut last_client_facing = Value::Null;
    // The server's request uses a string id, then a number equal to the client's own call id.
    for (call_id, server_id) in [(json!(5), json!("srv-ask-1")), (json!(6), json!(6))] {
        s.send(&call_frame(
            call_id.clone(),
            "ask",
            json!({"server_id": server_id, "prompt": "say hi"}),
        ));
        let req = s.recv();
        assert_eq!(req["method"], "sampling/createMessage", "{req}");
        assert_eq!(
            req["params"]["messages"][0]["content"]["text"], "say hi",
            "{req}"
        );
        let client_facing = req["id"].clone();
        assert!(client_facing.is_u64() || client_facing.is_string(), "{req}");
        if server_id.is_string() {
            assert_ne!(
                client_facing, server_id,
                "server request ids are translated: {req}"
            );
        }
        let sampled = json!({"role": "assistant", "content": {"type": "text", "text": format!("hi for {call_id}")}, "model": "test-model"});
        s.send(&json!({"jsonrpc": "2.0", "id": client_facing, "result": sampled}));
        let resp = s.recv();
        assert_eq!(resp["id"], call_id, "{resp}");
        let structured = &resp["result"]["structuredContent"];
        assert_eq!(
            structured["server_request_id"], server_id,
            "the server got its own id back: {resp}"
        );
        assert_eq!(structured["client_response"]["result"], sampled, "{resp}");
        last_client_facing = client_facing;
    }
    // A second answer to an already answered server request is dropped: the server never sees it.
    s.send(&json!({"jsonrpc": "2.0", "id": last_client_facing, "result": {"model": "duplicate-answer"}}));
    echo_is_next(&mut s, json!(7));
    assert_never_recorded(&record, "duplicate-answer");
    echo_is_next(&mut s, json!("quiet"));
}

// ---- governance --------------------------------------------------------------------------------------------

#[test]
fn blocked_call_is_refused_end_to_end() {
    let thoth = Thoth::new("dev");
    let record = record_path(&thoth);
    let mut s = start(
        &thoth,
        &[
            "--enforcement-mode",
            "block",
            "--approved-scope",
            "echo",
            "--agent-id",
            "agent-hostile",
        ],
        &["--record", record.to_str().unwrap()],
    );
    initialize(&mut s);
    let resp = call(
        &mut s,
        json!(41),
        "big",
        json!({"bytes": 3, "marker": "blocked-call"}),
    );
    let error = assert_thoth_error(&resp, &json!(41), -32001);
    let data = &error["data"]["thoth"];
    assert_eq!(data["decision"], "BLOCK", "{resp}");
    assert_eq!(data["agent_id"], "agent-hostile", "{resp}");
    assert_eq!(data["tool"], "big", "{resp}");
    assert!(
        data["reason"].as_str().is_some_and(|r| r.contains("big")),
        "the reason names the tool: {resp}"
    );
    assert!(
        data["violation_id"].as_str().is_some_and(|v| !v.is_empty()),
        "{resp}"
    );
    echo_is_next(&mut s, json!(42));
    assert_never_recorded(&record, "blocked-call");
    // Violation ids are per violation.
    let again = call(
        &mut s,
        json!(43),
        "big",
        json!({"bytes": 3, "marker": "blocked-call"}),
    );
    let again = assert_thoth_error(&again, &json!(43), -32001);
    assert_ne!(again["data"]["thoth"]["violation_id"], data["violation_id"]);
    assert_never_recorded(&record, "blocked-call");
}

#[test]
fn tools_call_inside_a_batch_is_governed() {
    let thoth = Thoth::new("dev");
    let record = record_path(&thoth);
    let mut s = start(
        &thoth,
        &["--enforcement-mode", "block", "--approved-scope", "echo"],
        &["--record", record.to_str().unwrap()],
    );
    initialize(&mut s);
    let allowed = json!({"marker": "batch-allowed"});
    s.send(&json!([
        call_frame(json!(51), "echo", allowed.clone()),
        call_frame(
            json!(52),
            "big",
            json!({"bytes": 3, "marker": "batch-blocked"})
        ),
    ]));
    let mut responses = [s.recv(), s.recv()];
    for r in &responses {
        assert!(
            r.is_object(),
            "responses come back as individual lines: {r}"
        );
    }
    responses.sort_by_key(|r| r["id"].as_u64());
    assert_echo(&responses[0], &json!(51), &allowed);
    let error = assert_thoth_error(&responses[1], &json!(52), -32001);
    assert_eq!(error["data"]["thoth"]["decision"], "BLOCK");
    assert_eq!(error["data"]["thoth"]["tool"], "big");
    recorded_line(&record, "batch-allowed");
    assert_never_recorded(&record, "batch-blocked");
    echo_is_next(&mut s, json!("quiet"));
}

#[test]
fn step_up_mode_asks_for_approval() {
    let thoth = Thoth::new("dev");
    let record = record_path(&thoth);
    let mut s = start(
        &thoth,
        &["--enforcement-mode", "step_up", "--approved-scope", "echo"],
        &["--record", record.to_str().unwrap()],
    );
    initialize(&mut s);
    let resp = call(
        &mut s,
        json!(61),
        "big",
        json!({"bytes": 3, "marker": "step-up-call"}),
    );
    let error = assert_thoth_error(&resp, &json!(61), -32002);
    let data = &error["data"]["thoth"];
    assert_eq!(data["decision"], "STEP_UP", "{resp}");
    assert!(
        data["hold_token"].as_str().is_some_and(|t| !t.is_empty()),
        "{resp}"
    );
    assert!(data["timeout_seconds"].is_u64(), "{resp}");
    echo_is_next(&mut s, json!(62));
    assert_never_recorded(&record, "step-up-call");
}

#[test]
fn observe_mode_forwards_out_of_scope_calls() {
    let thoth = Thoth::new("dev");
    let record = record_path(&thoth);
    let mut s = start(
        &thoth,
        &["--enforcement-mode", "observe", "--approved-scope", "echo"],
        &["--record", record.to_str().unwrap()],
    );
    initialize(&mut s);
    let resp = call(
        &mut s,
        json!(71),
        "big",
        json!({"bytes": 5, "marker": "observed-call"}),
    );
    assert_eq!(text_of(&resp), "xxxxx", "{resp}");
    recorded_line(&record, "observed-call");
}

#[test]
fn prod_without_a_policy_refuses_every_tools_call() {
    let thoth = Thoth::new("prod");
    let record = record_path(&thoth);
    let mut cmd = thoth.command();
    // The tests may run as root; this test is about the policy rule, not the root rule.
    cmd.env("THOTH_REQUIRE_NON_ROOT", "false");
    cmd.arg("run")
        .arg("--")
        .arg(fixture_server())
        .arg("--record")
        .arg(&record);
    let mut s = Session::spawn(cmd);
    initialize(&mut s);
    // Other methods pass.
    let resp = s.request(json!(80), "tools/list", json!({}));
    assert!(
        resp["result"]["tools"]
            .as_array()
            .is_some_and(|t| !t.is_empty()),
        "{resp}"
    );
    for (id, tool) in [(81, "echo"), (82, "big"), (83, "anything")] {
        let resp = call(&mut s, json!(id), tool, json!({"marker": "prod-call"}));
        let error = assert_thoth_error(&resp, &json!(id), -32001);
        assert!(
            error["message"]
                .as_str()
                .unwrap()
                .contains("no policy is configured"),
            "{resp}"
        );
        assert_eq!(error["data"]["thoth"]["decision"], "BLOCK", "{resp}");
        assert_eq!(error["data"]["thoth"]["tool"], tool, "{resp}");
    }
    assert_never_recorded(&record, "prod-call");
}

#[test]
fn dev_without_a_scope_allows_every_tool() {
    let thoth = Thoth::new("dev");
    let mut s = start(&thoth, &[], &[]);
    initialize(&mut s);
    let arguments = json!({"any": ["thing", 1, null]});
    let resp = call(&mut s, json!(91), "echo", arguments.clone());
    assert_echo(&resp, &json!(91), &arguments);
    let resp = call(&mut s, json!(92), "big", json!({"bytes": 4}));
    assert_eq!(text_of(&resp), "xxxx", "{resp}");
    // An unknown tool reaches the server, which answers it.
    let resp = call(&mut s, json!(93), "no-such-tool", json!({}));
    assert_eq!(resp["error"]["code"], -32602, "{resp}");
    assert_eq!(
        resp["error"]["message"], "unknown tool: no-such-tool",
        "{resp}"
    );
}

// ---- stdout ------------------------------------------------------------------------------------------------

#[test]
fn stdout_carries_nothing_but_json_frames() {
    let thoth = Thoth::new("dev");
    let mut s = start(
        &thoth,
        &[
            "--max-line-bytes",
            "4096",
            "--approved-scope",
            "echo,garbage,spoof,huge,ask,sleep",
        ],
        &["--stderr-banner", "banner on stderr, not stdout"],
    );
    s.send(
        &json!({"jsonrpc": "2.0", "id": "init", "method": "initialize", "params": init_params()}),
    );
    s.send_raw(b"garbage from the client\n");
    s.send_raw(b"{\"bad\":\"\xff\"}\n");
    s.send_raw(b"\n\r\n   \n");
    s.send(&call_frame(json!(1), "garbage", json!({})));
    s.send(&call_frame(json!(2), "garbage", json!({"with_id": true})));
    s.send(&call_frame(json!(3), "spoof", json!({})));
    s.send(&call_frame(json!(4), "huge", json!({"bytes": 10_000})));
    s.send(&call_frame(json!(5), "big", json!({"bytes": 10})));
    s.send(&call_frame(json!(6), "ask", json!({"server_id": "srv"})));
    s.send(&json!([
        call_frame(json!(7), "echo", json!({})),
        call_frame(json!(8), "sleep", json!({"ms": 10}))
    ]));
    s.send_raw(&[b'x'; 9000]);
    s.send_raw(b"\n");

    // Answer the sampling request when it shows up, and wait until every call is answered.
    let mut answered = std::collections::HashSet::new();
    let mut lines = Vec::new();
    while answered.len() < 8 {
        let raw = s
            .recv_raw(TIMEOUT)
            .unwrap_or_else(|| panic!("stalled after {answered:?}; stderr:\n{}", s.stderr()));
        let frame: Value = serde_json::from_slice(&raw).unwrap_or_else(|e| {
            panic!(
                "stdout carried a non-JSON line ({e}): {:?}",
                String::from_utf8_lossy(&raw)
            )
        });
        if frame["method"] == "sampling/createMessage" {
            s.send(&json!({"jsonrpc": "2.0", "id": frame["id"], "result": {"role": "assistant", "content": {"type": "text", "text": "ok"}}}));
        } else if let Some(id) = frame["id"].as_u64() {
            answered.insert(id);
        }
        lines.push(raw);
    }
    s.close_stdin();
    assert_eq!(exit_code(&mut s, Duration::from_secs(10)), 0);
    while let Some(raw) = s.recv_raw(Duration::from_millis(300)) {
        lines.push(raw);
    }
    for raw in &lines {
        assert!(
            raw.ends_with(b"\n"),
            "every frame ends with a newline: {:?}",
            String::from_utf8_lossy(raw)
        );
        let frame: Value = serde_json::from_slice(raw).unwrap_or_else(|e| {
            panic!(
                "stdout carried a non-JSON line ({e}): {:?}",
                String::from_utf8_lossy(raw)
            )
        });
        assert!(frame.is_object(), "one JSON-RPC object per line: {frame}");
        assert_eq!(frame["jsonrpc"], "2.0", "{frame}");
    }
    assert!(!lines
        .iter()
        .any(|l| String::from_utf8_lossy(l).contains("banner")));
}

// ---- classification against a lenient server (issue 12 §1) -------------------------------------------------

/// The tool names the lenient fixture would have run (`--lenient`).
fn names_run(path: &Path) -> Vec<String> {
    recorded(path)
        .iter()
        .map(|l| serde_json::from_str::<String>(l).unwrap_or_else(|_| l.clone()))
        .collect()
}

/// `thoth run` in block mode approving only `echo`, in front of the lenient fixture; (session, record, names).
fn start_lenient(thoth: &Thoth) -> (Session, PathBuf, PathBuf) {
    let record = record_path(thoth);
    let names = thoth.home.path().join("fixture-names.ndjson");
    let s = start(
        thoth,
        &[
            "--enforcement-mode",
            "block",
            "--approved-scope",
            crate::hostile_lines::ALLOWED,
        ],
        &[
            "--record",
            record.to_str().unwrap(),
            "--lenient",
            names.to_str().unwrap(),
        ],
    );
    (s, record, names)
}

/// Proves the server has read everything sent before: thoth forwards in order and the fixture answers in
/// order, so when this call's answer is back every earlier line has been recorded.
fn barrier(s: &mut Session, id: &str) {
    s.send(&call_frame(json!(id), "echo", json!({"barrier": id})));
    s.recv_until_id(&json!(id));
}

mod lenient_props {
    use super::*;
    use crate::hostile_lines::{hostile_line, names_denied, render, DENIED};
    use proptest::prelude::*;
    use thoth::proxy::envelope::fold;

    proptest! {
        // Each case is one real session (a process pair) fed 40 generated lines.
        #![proptest_config(ProptestConfig { cases: 12, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn a_denied_tool_never_reaches_a_lenient_server(lines in proptest::collection::vec(hostile_line(), 40)) {
            let thoth = Thoth::new("dev");
            let (mut s, record, names) = start_lenient(&thoth);
            initialize(&mut s);
            let mut next = 0;
            let mut allowed = 0;
            let mut sent = Vec::new();
            for parts in &lines {
                let (line, n) = render(parts, &mut next);
                allowed += n;
                s.send_raw(format!("{line}\n").as_bytes());
                sent.push(line);
            }
            barrier(&mut s, "barrier-end");
            let ran = names_run(&names);
            let denied: Vec<&String> = ran.iter().filter(|n| fold(n).contains(&fold(DENIED))).collect();
            prop_assert!(denied.is_empty(), "the lenient server ran {denied:?}; sent:\n{}", sent.join("\n"));
            let leaked: Vec<String> = recorded(&record).into_iter().filter(|l| names_denied(l.as_bytes())).collect();
            prop_assert!(leaked.is_empty(), "the server received the denied name: {leaked:?}");
            // Every exact allowed call ran (plus the barrier), nothing else did.
            let echoes = ran.iter().filter(|n| *n == "echo").count() as u64;
            prop_assert_eq!(echoes, allowed + 1, "ran {:?}", ran);
            prop_assert_eq!(ran.len() as u64, allowed + 1, "ran {:?}", ran);
        }
    }
}

#[test]
fn governed_notifications_are_never_forwarded_and_are_audited() {
    let thoth = Thoth::new("dev");
    let (mut s, record, names) = start_lenient(&thoth);
    initialize(&mut s);
    // A tools/call as a notification, with id null, and inside a batch beside an allowed call.
    s.send(&json!({"jsonrpc": "2.0", "method": "tools/call", "params": {"name": "forbidden", "arguments": {"marker": "as-notification"}}}));
    s.send(&json!({"jsonrpc": "2.0", "id": null, "method": "tools/call", "params": {"name": "forbidden"}}));
    assert_thoth_error(&s.recv(), &Value::Null, -32600);
    s.send(&json!([
        {"jsonrpc": "2.0", "method": "tools/call", "params": {"name": "forbidden"}},
        call_frame(json!("in-batch"), "echo", json!({"marker": "batch-echo"})),
        [call_frame(json!("nested"), "forbidden", json!({}))],
        7
    ]));
    let mut answers: Vec<Value> = (0..3).map(|_| s.recv()).collect();
    answers.sort_by_key(|a| !a["id"].is_null());
    // Two -32600 with a null id (the nested batch and the number), then the echo.
    assert_thoth_error(&answers[0], &Value::Null, -32600);
    assert_thoth_error(&answers[1], &Value::Null, -32600);
    assert_echo(
        &answers[2],
        &json!("in-batch"),
        &json!({"marker": "batch-echo"}),
    );
    barrier(&mut s, "after");
    assert_never_recorded(&record, "forbidden");
    assert!(
        names_run(&names).iter().all(|n| n == "echo"),
        "{:?}",
        names_run(&names)
    );
    s.close_stdin();
    assert_eq!(exit_code(&mut s, Duration::from_secs(10)), 0);
    // Each governed message that was refused unforwarded is in the audit log as a BLOCK of `forbidden`.
    let audit_dir = thoth.home.path().join(".thoth").join("audit");
    let mut refused = 0;
    for entry in std::fs::read_dir(&audit_dir).expect("audit dir") {
        let text = std::fs::read_to_string(entry.expect("entry").path()).unwrap_or_default();
        for line in text.lines() {
            let record: Value = serde_json::from_str(line).expect("audit JSON");
            if record["tool"] == "forbidden" {
                assert_eq!(record["decision"], "BLOCK", "{record}");
                refused += 1;
            }
        }
    }
    assert_eq!(
        refused, 3,
        "the notification, the null id and the batched notification are audited"
    );
}
