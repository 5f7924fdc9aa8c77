//! The local policy file (`thoth run --policy FILE`): the shipped example and the test fixtures against
//! `schemas/policy.schema.json`, and end to end against the fixture server (tests/fixtures/policy/): glob
//! scopes, the `*` entry, denied and step-up lists, intents, a path constraint, and a typo that stops thoth
//! from starting. Every call that must be refused is proven never to reach the server (`--record`).

use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::{fixture, fixture_server, init_params, repo_root, Session, Thoth, TIMEOUT};

// ---- schema --------------------------------------------------------------------------------------------------

fn schema() -> jsonschema::Validator {
    let path = repo_root().join("schemas").join("policy.schema.json");
    let text = std::fs::read_to_string(&path).expect("read the policy schema");
    let schema: Value = serde_json::from_str(&text).expect("the policy schema is JSON");
    jsonschema::draft202012::new(&schema)
        .unwrap_or_else(|e| panic!("{} is not a valid schema: {e}", path.display()))
}

fn read_json(path: &Path) -> Value {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

fn schema_errors(v: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    v.iter_errors(instance)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect()
}

#[test]
fn the_mdm_example_matches_the_schema() {
    let v = schema();
    let example = read_json(&repo_root().join("mdm").join("policy.example.json"));
    assert_eq!(schema_errors(&v, &example), Vec::<String>::new());
}

#[test]
fn the_test_fixtures_match_the_schema_and_the_typo_does_not() {
    let v = schema();
    let good = read_json(&fixture("policy/fixture-server.json"));
    assert_eq!(schema_errors(&v, &good), Vec::<String>::new());
    let typo = read_json(&fixture("policy/typo.json"));
    let errors = schema_errors(&v, &typo);
    assert!(
        errors.iter().any(|e| e.contains("approved_tool")),
        "the schema must reject the unknown key too: {errors:?}"
    );
}

#[test]
fn the_schema_rejects_what_the_parser_rejects() {
    let v = schema();
    for bad in [
        json!({"agents": {}}),
        json!({"version": 2}),
        json!({"version": 1, "default_mode": "blok"}),
        json!({"version": 1, "agents": {"a": {"denied_tools": ["read_[a-z]*"]}}}),
        json!({"version": 1, "agents": {"a": {"arguments": {"t": [{"argument": "p", "under": "srv"}]}}}}),
        json!({"version": 1, "agents": {"a": {"arguments": {"t": [{"argument": "p", "under": []}]}}}}),
        json!({"version": 1, "agents": {"a": {"arguments": {"t": [{"argument": "a..b", "under": "/x"}]}}}}),
    ] {
        assert!(!v.is_valid(&bad), "the schema accepts {bad}");
    }
}

// ---- end to end ----------------------------------------------------------------------------------------------

fn policy() -> PathBuf {
    fixture("policy/fixture-server.json")
}

/// `thoth run --policy <fixture policy> <flags> -- fixture-server --record <home>/record.ndjson`.
fn start(thoth: &Thoth, flags: &[&str]) -> (Session, PathBuf) {
    let policy = policy();
    let record = thoth.home.path().join("fixture-record.ndjson");
    let server = fixture_server();
    let mut all = vec!["--policy", policy.to_str().expect("utf-8 path")];
    all.extend_from_slice(flags);
    let mut session = thoth.run(
        &all,
        &[
            server.to_str().expect("utf-8 path"),
            "--record",
            record.to_str().expect("utf-8 path"),
        ],
    );
    session.initialize_fixture();
    (session, record)
}

fn call(session: &mut Session, id: u64, tool: &str, arguments: Value) -> Value {
    session.request(
        json!(id),
        "tools/call",
        json!({"name": tool, "arguments": arguments}),
    )
}

/// The `error.data.thoth` of a thoth-made error with `code`.
fn refusal(resp: &Value, code: i64) -> &Value {
    assert_eq!(resp["error"]["code"], code, "{resp}");
    assert!(
        resp["error"]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("thoth:")),
        "{resp}"
    );
    &resp["error"]["data"]["thoth"]
}

fn reason(resp: &Value) -> &str {
    resp["error"]["data"]["thoth"]["reason"]
        .as_str()
        .unwrap_or_else(|| panic!("no reason: {resp}"))
}

fn assert_echoed(resp: &Value, arguments: &Value) {
    let text = resp["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("not an echo result: {resp}"));
    let echoed: Value = serde_json::from_str(text).expect("echo text is JSON");
    assert_eq!(&echoed, arguments, "{resp}");
}

fn recorded(path: &Path) -> String {
    String::from_utf8_lossy(&std::fs::read(path).unwrap_or_default()).into_owned()
}

/// The server must never have seen `marker`. Checked after an allowed call (which the server answered, so it
/// has read everything sent before it).
fn assert_never_recorded(path: &Path, marker: &str) {
    let text = recorded(path);
    assert!(
        !text.contains(marker),
        "the server received what the policy refused ({marker:?}):\n{text}"
    );
}

fn wait_recorded(path: &Path, marker: &str) {
    let start = Instant::now();
    while !recorded(path).contains(marker) {
        assert!(
            start.elapsed() < TIMEOUT,
            "the server never received {marker:?}"
        );
        thread::sleep(Duration::from_millis(20));
    }
}

const INSIDE: &str = "/srv/thoth-fixture/notes/../readme.md";

#[test]
fn globs_denied_and_step_up_lists_end_to_end() {
    let thoth = Thoth::new("dev");
    let (mut s, record) = start(&thoth, &["--agent-id", "fixture"]);
    // `ec?o` approves echo (its path constraint holds); `sl*` approves sleep.
    let ok = json!({"path": INSIDE, "marker": "allowed-echo"});
    assert_echoed(&call(&mut s, 1, "echo", ok.clone()), &ok);
    let slept = call(&mut s, 2, "sleep", json!({"ms": 1}));
    assert_eq!(slept["result"]["content"][0]["text"], "slept 1", "{slept}");
    // Denied: BLOCK, and the server (which would exit) never sees it.
    let resp = call(
        &mut s,
        3,
        "crash",
        json!({"code": 9, "marker": "denied-crash"}),
    );
    let data = refusal(&resp, -32001);
    assert_eq!(data["decision"], "BLOCK", "{resp}");
    assert_eq!(data["tool"], "crash", "{resp}");
    assert!(reason(&resp).contains("denied"), "{resp}");
    // Step-up: -32002.
    let resp = call(
        &mut s,
        4,
        "big",
        json!({"bytes": 3, "marker": "step-up-big"}),
    );
    assert_eq!(refusal(&resp, -32002)["decision"], "STEP_UP", "{resp}");
    // Out of scope: the block mode default.
    let resp = call(
        &mut s,
        5,
        "huge",
        json!({"bytes": 10, "marker": "unapproved-huge"}),
    );
    assert!(
        reason(&resp).contains("outside the approved scope"),
        "{resp}"
    );
    let probe = json!({"path": INSIDE, "marker": "probe"});
    assert_echoed(&call(&mut s, 6, "echo", probe.clone()), &probe);
    for marker in ["denied-crash", "step-up-big", "unapproved-huge"] {
        assert_never_recorded(&record, marker);
    }
}

#[test]
fn a_path_constraint_blocks_escapes_end_to_end() {
    let thoth = Thoth::new("dev");
    let (mut s, record) = start(&thoth, &["--agent-id", "fixture"]);
    for (id, path) in [
        (1, "/srv/thoth-fixture/../../etc/passwd"),
        (2, "../../etc/passwd"),
        (3, "/etc/passwd"),
        (4, "/srv/thoth-fixture-evil/x"),
    ] {
        let marker = format!("escape-{id}");
        let resp = call(&mut s, id, "echo", json!({"path": path, "marker": marker}));
        let data = refusal(&resp, -32001);
        assert_eq!(data["decision"], "BLOCK", "{resp}");
        let why = reason(&resp);
        assert!(why.contains("argument `path`"), "{resp}");
        assert!(
            why.contains("/srv/thoth-fixture`"),
            "names the folder: {resp}"
        );
    }
    let resp = call(&mut s, 5, "echo", json!({"marker": "no-path"}));
    assert!(reason(&resp).contains("missing"), "{resp}");
    for (id, path) in [(6, INSIDE), (7, "./a/../b"), (8, "/srv/thoth-fixture")] {
        let ok = json!({"path": path});
        assert_echoed(&call(&mut s, id, "echo", ok.clone()), &ok);
    }
    for marker in ["escape-1", "escape-2", "escape-3", "escape-4", "no-path"] {
        assert_never_recorded(&record, marker);
    }
}

#[test]
fn a_session_intent_narrows_the_approved_tools() {
    let thoth = Thoth::new("dev");
    let (mut s, record) = start(
        &thoth,
        &["--agent-id", "fixture", "--session-intent", "review"],
    );
    let resp = call(
        &mut s,
        1,
        "sleep",
        json!({"ms": 1, "marker": "outside-intent"}),
    );
    assert!(reason(&resp).contains("intent `review`"), "{resp}");
    let ok = json!({"path": INSIDE});
    assert_echoed(&call(&mut s, 2, "echo", ok.clone()), &ok);
    assert_never_recorded(&record, "outside-intent");
}

#[test]
fn an_unknown_intent_counts_as_none() {
    let thoth = Thoth::new("dev");
    let (mut s, _) = start(
        &thoth,
        &[
            "--agent-id",
            "fixture",
            "--session-intent",
            "no-such-intent",
        ],
    );
    let slept = call(&mut s, 1, "sleep", json!({"ms": 1}));
    assert_eq!(slept["result"]["content"][0]["text"], "slept 1", "{slept}");
}

#[test]
fn the_star_entry_governs_other_agents_and_the_flags_add_to_it() {
    let thoth = Thoth::new("dev");
    let (mut s, record) = start(
        &thoth,
        &["--agent-id", "someone-else", "--approved-scope", "echo"],
    );
    // `*` approves sleep; the flag adds echo (with no constraint: that was the `fixture` entry's).
    let slept = call(&mut s, 1, "sleep", json!({"ms": 1}));
    assert_eq!(slept["result"]["content"][0]["text"], "slept 1", "{slept}");
    let ok = json!({"path": "/etc/passwd"});
    assert_echoed(&call(&mut s, 2, "echo", ok.clone()), &ok);
    let resp = call(&mut s, 3, "big", json!({"bytes": 1, "marker": "star-big"}));
    assert_eq!(refusal(&resp, -32001)["decision"], "BLOCK", "{resp}");
    let resp = call(&mut s, 4, "crash", json!({"marker": "star-crash"}));
    assert!(reason(&resp).contains("denied"), "{resp}");
    assert_echoed(&call(&mut s, 5, "echo", json!({})), &json!({}));
    assert_never_recorded(&record, "star-big");
    assert_never_recorded(&record, "star-crash");
}

#[test]
fn observe_mode_forwards_out_of_scope_calls_but_never_denied_ones() {
    let thoth = Thoth::new("dev");
    let (mut s, record) = start(
        &thoth,
        &["--agent-id", "fixture", "--enforcement-mode", "observe"],
    );
    let resp = call(
        &mut s,
        1,
        "huge",
        json!({"bytes": 64, "marker": "observed-huge"}),
    );
    assert!(resp.get("error").is_none(), "{resp}");
    wait_recorded(&record, "observed-huge");
    let resp = call(
        &mut s,
        2,
        "big",
        json!({"bytes": 2, "marker": "observed-big"}),
    );
    assert_eq!(
        resp["result"]["content"][0]["text"], "xx",
        "step-up tools are forwarded: {resp}"
    );
    let resp = call(&mut s, 3, "crash", json!({"marker": "observed-crash"}));
    assert_eq!(refusal(&resp, -32001)["decision"], "BLOCK", "{resp}");
    let resp = call(
        &mut s,
        4,
        "echo",
        json!({"path": "/etc/passwd", "marker": "observed-escape"}),
    );
    assert_eq!(refusal(&resp, -32001)["decision"], "BLOCK", "{resp}");
    let ok = json!({"path": INSIDE});
    assert_echoed(&call(&mut s, 5, "echo", ok.clone()), &ok);
    assert_never_recorded(&record, "observed-crash");
    assert_never_recorded(&record, "observed-escape");
}

#[test]
fn tools_list_hides_denied_and_unapproved_tools() {
    let thoth = Thoth::new("dev");
    let (mut s, _) = start(&thoth, &["--agent-id", "fixture"]);
    let resp = s.request(json!("list"), "tools/list", json!({}));
    let mut names: Vec<&str> = resp["result"]["tools"]
        .as_array()
        .unwrap_or_else(|| panic!("no tools: {resp}"))
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["big", "echo", "sleep"], "{resp}");
}

#[test]
fn a_policy_with_a_typo_stops_thoth_naming_the_key_and_the_line() {
    let thoth = Thoth::new("dev");
    let typo = fixture("policy/typo.json");
    let server = fixture_server();
    let record = thoth.home.path().join("fixture-record.ndjson");
    let mut s = thoth.run(
        &["--policy", typo.to_str().expect("utf-8 path")],
        &[
            server.to_str().expect("utf-8 path"),
            "--record",
            record.to_str().expect("utf-8 path"),
        ],
    );
    s.send(&json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": init_params()}));
    s.send(&json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "echo", "arguments": {"marker": "typo-call"}}}));
    s.close_stdin();
    let status = s.wait_timeout(Duration::from_secs(10)).unwrap_or_else(|| {
        panic!(
            "thoth kept running with a broken policy; stderr:\n{}",
            s.stderr()
        )
    });
    assert!(
        !status.success(),
        "exit {status:?}; stderr:\n{}",
        s.stderr()
    );
    let stderr = s.stderr();
    assert!(stderr.contains("unknown field `approved_tool`"), "{stderr}");
    assert!(
        stderr.contains("typo.json:5:"),
        "names the file and line: {stderr}"
    );
    assert!(stderr.contains("did you mean `approved_tools`"), "{stderr}");
    for frame in s.drain_frames() {
        assert!(frame.get("result").is_none(), "nothing succeeds: {frame}");
    }
    assert!(!recorded(&record).contains("typo-call"));
}

// ---- a managed policy nothing widens ------------------------------------------------------------------------

/// `thoth run <flags>` under managed settings naming the fixture policy (and dev, as the tests run as root).
fn start_managed(thoth: &Thoth, flags: &[&str]) -> (Session, PathBuf) {
    start_managed_with(thoth, &policy(), flags)
}

fn start_managed_with(thoth: &Thoth, policy: &Path, flags: &[&str]) -> (Session, PathBuf) {
    let managed = thoth.home.path().join("managed.json");
    let settings = json!({"THOTH_POLICY_FILE": policy, "THOTH_ENV": "dev"});
    std::fs::write(&managed, settings.to_string()).unwrap();
    let record = thoth.home.path().join("fixture-record.ndjson");
    let mut cmd = thoth.command();
    cmd.env("THOTH_MANAGED_SETTINGS_FILE", &managed)
        .arg("run")
        .args(flags)
        .arg("--")
        .arg(fixture_server())
        .arg("--record")
        .arg(&record);
    let mut session = Session::spawn(cmd);
    session.initialize_fixture();
    (session, record)
}

#[test]
fn approved_scope_flags_only_narrow_a_managed_policy() {
    let thoth = Thoth::new("dev");
    // `*` approves sleep only; the flag names echo: with a managed policy the flag narrows, so neither runs.
    let (mut s, record) = start_managed(
        &thoth,
        &["--agent-id", "someone-else", "--approved-scope", "echo"],
    );
    let resp = call(&mut s, 1, "echo", json!({"marker": "widened-echo"}));
    assert_eq!(refusal(&resp, -32001)["decision"], "BLOCK", "{resp}");
    let resp = call(
        &mut s,
        2,
        "sleep",
        json!({"ms": 1, "marker": "narrowed-sleep"}),
    );
    assert_eq!(refusal(&resp, -32001)["decision"], "BLOCK", "{resp}");
    // A flag naming an approved tool keeps it.
    let (mut t, _) = start_managed(
        &Thoth::new("dev"),
        &[
            "--agent-id",
            "someone-else",
            "--approved-scope",
            "sleep,echo",
        ],
    );
    let slept = call(&mut t, 1, "sleep", json!({"ms": 1}));
    assert_eq!(slept["result"]["content"][0]["text"], "slept 1", "{slept}");
    let _ = call(&mut s, 3, "sleep", json!({"ms": 1}));
    assert_never_recorded(&record, "widened-echo");
    assert_never_recorded(&record, "narrowed-sleep");
}

#[test]
fn an_agent_id_the_user_picks_only_narrows_the_managed_star_entry() {
    // `fixture` approves ec?o and sl*; `*` approves sleep. Picking `--agent-id fixture` gets no more than `*`.
    let thoth = Thoth::new("dev");
    let (mut s, record) = start_managed(&thoth, &["--agent-id", "fixture"]);
    let slept = call(&mut s, 1, "sleep", json!({"ms": 1}));
    assert_eq!(slept["result"]["content"][0]["text"], "slept 1", "{slept}");
    let inside = json!({"path": INSIDE, "marker": "agent-echo"});
    let resp = call(&mut s, 2, "echo", inside);
    assert_eq!(refusal(&resp, -32001)["decision"], "BLOCK", "{resp}");
    // The agent entry's own denials and step-ups still apply.
    let resp = call(&mut s, 3, "garbage", json!({"marker": "agent-garbage"}));
    assert!(reason(&resp).contains("denied"), "{resp}");
    let resp = call(&mut s, 4, "big", json!({"bytes": 1, "marker": "agent-big"}));
    assert_eq!(refusal(&resp, -32002)["decision"], "STEP_UP", "{resp}");
    let _ = call(&mut s, 5, "sleep", json!({"ms": 1}));
    for marker in ["agent-echo", "agent-garbage", "agent-big"] {
        assert_never_recorded(&record, marker);
    }
}

#[test]
fn the_user_cannot_pick_a_laxer_mode_than_a_managed_policy() {
    let thoth = Thoth::new("dev");
    let (mut s, record) = start_managed(
        &thoth,
        &[
            "--agent-id",
            "someone-else",
            "--enforcement-mode",
            "observe",
        ],
    );
    // Out of scope under the managed policy: observe would forward it; the policy's mode (block) holds.
    let resp = call(&mut s, 1, "echo", json!({"marker": "observe-echo"}));
    assert_eq!(refusal(&resp, -32001)["decision"], "BLOCK", "{resp}");
    let _ = call(&mut s, 2, "sleep", json!({"ms": 1}));
    assert_never_recorded(&record, "observe-echo");
    // Step-up is laxer than the default block, so it is ignored too; under a policy whose default_mode is
    // observe, a stricter mode is the user's to pick.
    let (mut t, _) = start_managed(
        &Thoth::new("dev"),
        &[
            "--agent-id",
            "someone-else",
            "--enforcement-mode",
            "step_up",
        ],
    );
    let resp = call(&mut t, 1, "echo", json!({}));
    assert_eq!(refusal(&resp, -32001)["decision"], "BLOCK", "{resp}");
    let lax = Thoth::new("dev");
    let mut file = read_json(&policy());
    file["default_mode"] = json!("observe");
    let path = lax.home.path().join("observe-policy.json");
    std::fs::write(&path, file.to_string()).unwrap();
    let (mut u, _) = start_managed_with(
        &lax,
        &path,
        &[
            "--agent-id",
            "someone-else",
            "--enforcement-mode",
            "step_up",
        ],
    );
    let resp = call(&mut u, 1, "echo", json!({}));
    assert_eq!(refusal(&resp, -32002)["decision"], "STEP_UP", "{resp}");
}
