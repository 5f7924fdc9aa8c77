//! GovAPI registration and heartbeats against a loopback HTTPS GovAPI (tests/support/https.rs): the exact
//! registration and check-in payloads, the cadence at a 1 s interval, backoff after 500s and refused
//! connections, a 401 that stops the heartbeat and is reported, a reply that changes the interval,
//! re-registration when what was registered changes (`thoth checkin`), and three `thoth run` processes that
//! send one heartbeat stream which survives its leader being killed, eight which send one per interval, and a
//! 503 whose `Retry-After` is waited out (on registration, and on check-ins in seconds or as an HTTP-date). `endpoint.json` and `health --json` are
//! validated against their schemas in every state reached.

use std::path::PathBuf;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::govapi::{GovApi, REGISTER};
use crate::support::https::{Reply, TestCa};
use crate::support::{assert_valid, fixture_server, schema_validator, Session, Thoth};

const KEY: &str = "gk-test-1";
const ENDPOINT: &str = "ep-test-1";
const CHECKIN: &str = "/v1/endpoints/ep-test-1/checkin";

/// The variables that point thoth at `url` with a GovAPI key and a 1 s interval, trusting `ca`.
fn env(t: &Thoth, url: &str, ca: &TestCa) -> Vec<(&'static str, String)> {
    vec![
        ("THOTH_GOVAPI_URL", url.to_owned()),
        ("THOTH_GOVAPI_API_KEY", KEY.to_owned()),
        (
            "THOTH_TLS_CA_BUNDLE",
            ca.write_pem(t.home.path(), "test-ca.pem"),
        ),
        ("THOTH_ENDPOINT_ID", ENDPOINT.to_owned()),
        ("THOTH_TENANT_ID", "acme".to_owned()),
        ("THOTH_FLEET_ID", "fleet-9".to_owned()),
        ("THOTH_USER_ID", "alice@example.com".to_owned()),
        ("THOTH_HEARTBEAT_INTERVAL_SECONDS", "1".to_owned()),
    ]
}

fn start(t: &Thoth, env: &[(&'static str, String)], agent: &str) -> Session {
    let mut cmd = t.command();
    cmd.envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .args(["run", "--agent-id", agent, "--"])
        .arg(fixture_server());
    let mut session = Session::spawn(cmd);
    session.initialize_fixture();
    session
}

fn state_path(t: &Thoth) -> PathBuf {
    t.home.path().join(".thoth/state/endpoint.json")
}

/// Wait for `n` check-ins after the first `after` (at least one), and how long they took to arrive after it.
fn span_of_next(api: &GovApi, after: usize, n: usize) -> Duration {
    let got = api
        .server
        .wait_for("POST", CHECKIN, after + n, Duration::from_secs(30));
    got[after + n - 1].at - got[after - 1].at
}

/// `endpoint.json`, validated against its schema (None while it does not exist).
fn state(t: &Thoth) -> Option<Value> {
    let text = std::fs::read_to_string(state_path(t)).ok()?;
    let value: Value = serde_json::from_str(&text).expect("endpoint.json is JSON");
    assert_valid(&schema_validator("endpoint-state.schema.json"), &value);
    Some(value)
}

/// Wait until `endpoint.json` satisfies `ok`.
fn wait_state(t: &Thoth, what: &str, ok: impl Fn(&Value) -> bool) -> Value {
    let start = Instant::now();
    loop {
        if let Some(v) = state(t) {
            if ok(&v) {
                return v;
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "endpoint.json never showed {what}: {:?}",
            state(t)
        );
        thread::sleep(Duration::from_millis(50));
    }
}

/// `thoth health --json` with `env`: (exit code, report validated against its schema).
fn health(t: &Thoth, env: &[(&'static str, String)]) -> (i32, Value) {
    let out = t
        .command()
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .args(["health", "--json"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "health --json printed non-JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    assert_valid(&schema_validator("health.schema.json"), &report);
    (out.status.code().unwrap(), report)
}

fn check<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check {name}: {report:#}"))
}

#[test]
fn registration_and_checkins_carry_the_exact_fields_at_the_configured_cadence() {
    let api = GovApi::new("thoth test CA", ENDPOINT);
    let t = Thoth::new("dev");
    let env = env(&t, api.server.url(), &api.ca);
    let mut session = start(&t, &env, "fs-agent");
    let registration = &api
        .server
        .wait_for("POST", REGISTER, 1, Duration::from_secs(20))[0];
    assert_eq!(registration.header("x-api-key"), Some(KEY));
    assert_eq!(
        registration.header("content-type"),
        Some("application/json")
    );
    assert_eq!(
        registration.header("user-agent"),
        Some(concat!("thoth/", env!("CARGO_PKG_VERSION")))
    );
    let body = registration.json();
    let keys = sorted_keys(&body);
    assert_eq!(
        keys,
        [
            "agent_ids",
            "arch",
            "endpoint_id",
            "enrollment_source",
            "environment",
            "fleet_id",
            "hostname",
            "identity_source",
            "os",
            "os_version",
            "proxy_version",
            "tenant_id",
            "user_id"
        ]
    );
    assert_eq!(body["endpoint_id"], ENDPOINT);
    assert_eq!(body["identity_source"], "endpoint_id");
    assert_eq!(body["os"], std::env::consts::OS);
    assert_eq!(body["arch"], std::env::consts::ARCH);
    assert_eq!(body["proxy_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(body["enrollment_source"], "manual");
    assert_eq!(body["fleet_id"], "fleet-9");
    assert_eq!(body["environment"], "dev");
    assert_eq!(body["tenant_id"], "acme");
    assert_eq!(body["user_id"], "alice@example.com");
    assert_eq!(body["agent_ids"], json!(["fs-agent"]));
    assert!(
        body["hostname"].is_string() && body["os_version"].is_string(),
        "{body}"
    );

    // A governed call, so the counts move.
    session.send(&json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "echo", "arguments": {"x": 1}}}));
    let (resp, _) = session.recv_until_id(&json!(7));
    assert!(resp["result"].is_object(), "{resp}");

    // Cadence at a 1 s interval (±10% jitter), from arrival times: 5 more check-ins take about 5 s, never
    // about 1 s (a burst) or 10 s.
    api.server
        .wait_for("POST", CHECKIN, 1, Duration::from_secs(20));
    let span = span_of_next(&api, api.checkins().len(), 5);
    assert!(
        (3500..=7500).contains(&span.as_millis()),
        "5 check-ins took {span:?} at a 1 s interval"
    );

    let checkin = api.checkins().last().unwrap().json();
    let keys = sorted_keys(&checkin);
    assert_eq!(
        keys,
        [
            "agent_ids",
            "audit_head",
            "decisions",
            "endpoint_id",
            "enforcement_mode",
            "governed_servers",
            "occurred_at",
            "proxy_version",
            "uptime_seconds"
        ]
    );
    assert_eq!(checkin["endpoint_id"], ENDPOINT);
    // The audit chain's head rides along: the one on disk, without its MAC.
    let anchor = &checkin["audit_head"];
    crate::support::assert_valid(
        &crate::support::schema_validator("audit-anchor.schema.json"),
        anchor,
    );
    let head: Value = serde_json::from_str(
        &std::fs::read_to_string(t.home.path().join(".thoth/state/audit-head.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(anchor["chain_id"], head["chain_id"]);
    assert!(
        anchor["seq"].as_u64().unwrap() <= head["seq"].as_u64().unwrap(),
        "{anchor} {head}"
    );
    assert!(!anchor.to_string().contains("hmac"), "{anchor}");
    assert_eq!(checkin["proxy_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(checkin["enforcement_mode"], "block");
    assert_eq!(checkin["agent_ids"], json!(["fs-agent"]));
    assert_eq!(checkin["governed_servers"], 1);
    assert_eq!(
        checkin["decisions"],
        json!({"allow": 1, "block": 0, "step_up": 0})
    );
    assert!(
        checkin["uptime_seconds"].as_u64().unwrap() >= 1,
        "{checkin}"
    );
    assert!(
        checkin["occurred_at"].as_str().unwrap().ends_with('Z'),
        "{checkin}"
    );
    assert_eq!(api.registers().len(), 1, "registered once");

    let saved = state(&t).expect("endpoint.json written");
    assert_eq!(saved["endpoint_id"], ENDPOINT);
    assert!(
        saved["registered_at"].is_string() && saved["last_checkin_at"].is_string(),
        "{saved}"
    );
    assert_eq!(saved["last_error"], Value::Null);
    let (code, report) = health(&t, &env);
    assert_eq!(
        (code, &report["status"]),
        (0, &json!("healthy")),
        "{report:#}"
    );
    assert_eq!(report["govapi"]["registered"], true);
    assert_eq!(report["govapi"]["interval_seconds"], 1);

    // The session ends: stdout carried only frames, and the process's agent record is gone.
    session.close_stdin();
    assert!(session.wait_timeout(Duration::from_secs(20)).is_some());
    session.drain_frames();
    let agents: Vec<_> = std::fs::read_dir(t.home.path().join(".thoth/state/agents"))
        .unwrap()
        .collect();
    assert!(agents.is_empty(), "{agents:?}");
}

#[test]
fn server_errors_back_off_and_are_reported() {
    let api = GovApi::new("thoth test CA", ENDPOINT);
    api.server.route(
        "POST",
        REGISTER,
        vec![Reply::status(500, r#"{"error":"down"}"#)],
    );
    let t = Thoth::new("dev");
    let env = env(&t, api.server.url(), &api.ca);
    let _session = start(&t, &env, "fs-agent");
    // Retries come 2 s, then 4 s later (±10%), measured from arrival times (a fixed 1 s interval would make
    // both gaps about 1 s).
    let attempts = api
        .server
        .wait_for("POST", REGISTER, 2, Duration::from_secs(20));
    let first_gap = attempts[1].at - attempts[0].at;
    assert!(
        (1600..=3500).contains(&first_gap.as_millis()),
        "first retry after {first_gap:?}"
    );
    assert!(api.checkins().is_empty());
    let saved = wait_state(&t, "two failures", |v| v["consecutive_failures"] == 2);
    assert!(
        saved["last_error"]
            .as_str()
            .unwrap()
            .contains("answered 500"),
        "{saved}"
    );
    assert_eq!(saved["registered_at"], Value::Null);
    // Server down: degraded (not yet registered, an error), not unhealthy after two attempts.
    let (code, report) = health(&t, &env);
    assert_eq!(
        (code, &report["status"]),
        (0, &json!("degraded")),
        "{report:#}"
    );
    assert_eq!(check(&report, "govapi_registered")["status"], "warn");
    assert!(report["govapi"]["last_error"]
        .as_str()
        .unwrap()
        .contains("500"));
    let attempts = api
        .server
        .wait_for("POST", REGISTER, 3, Duration::from_secs(20));
    let second_gap = attempts[2].at - attempts[1].at;
    assert!(
        (3400..=6500).contains(&second_gap.as_millis()),
        "second retry after {second_gap:?}: the backoff doubles"
    );
}

#[test]
fn refused_connections_back_off_too() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let ca = TestCa::new("unused CA");
    let t = Thoth::new("dev");
    let env = env(&t, &format!("https://127.0.0.1:{port}"), &ca);
    let _session = start(&t, &env, "fs-agent");
    let first = wait_state(&t, "a failure", |v| v["consecutive_failures"] == 1);
    assert!(
        first["last_error"]
            .as_str()
            .unwrap()
            .contains("could not connect"),
        "{first}"
    );
    // The failures come 2 s, then 4 s apart (a fixed 1 s interval would make both gaps about 1 s).
    let one = Instant::now();
    wait_state(&t, "a second failure", |v| v["consecutive_failures"] == 2);
    let two = Instant::now();
    wait_state(&t, "a third failure", |v| v["consecutive_failures"] == 3);
    let (first_gap, second_gap) = (two - one, two.elapsed());
    assert!(
        (1500..=3500).contains(&first_gap.as_millis())
            && (3300..=6500).contains(&second_gap.as_millis()),
        "failures {first_gap:?} then {second_gap:?} apart"
    );
}

#[test]
fn a_refused_credential_stops_the_heartbeat_and_makes_health_unhealthy() {
    let api = GovApi::new("thoth test CA", ENDPOINT);
    api.server.route(
        "POST",
        REGISTER,
        vec![Reply::status(401, r#"{"error":"bad key"}"#)],
    );
    let t = Thoth::new("dev");
    let env = env(&t, api.server.url(), &api.ca);
    let mut session = start(&t, &env, "fs-agent");
    let saved = wait_state(&t, "auth_refused", |v| v["auth_refused"] == true);
    assert!(
        saved["last_error"].as_str().unwrap().contains("401"),
        "{saved}"
    );
    // The heartbeat says it stops; a retry would then be due 2 s (±10%) after the refusal: none comes.
    let stop = Instant::now();
    while !session.stderr().contains("GovAPI refused the credential") {
        assert!(stop.elapsed() < Duration::from_secs(20), "no stop logged");
        thread::sleep(Duration::from_millis(20));
    }
    let after = api.registers()[0].at;
    while after.elapsed() < Duration::from_millis(3000) {
        assert_eq!(api.registers().len(), 1, "no retries after 401");
        thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(api.registers().len(), 1, "no retries after 401");
    assert!(api.checkins().is_empty());
    // The MCP session is unaffected.
    let resp = session.request(json!(2), "tools/list", json!({}));
    assert!(resp["result"]["tools"].is_array(), "{resp}");
    let (code, report) = health(&t, &env);
    assert_eq!(
        (code, &report["status"]),
        (1, &json!("unhealthy")),
        "{report:#}"
    );
    assert_eq!(check(&report, "govapi_credential")["status"], "fail");
    assert_eq!(report["govapi"]["auth_refused"], true);
}

#[test]
fn a_reply_can_change_the_interval() {
    let api = GovApi::new("thoth test CA", ENDPOINT);
    api.server.route(
        "POST",
        REGISTER,
        vec![Reply::json(json!({"checkin_interval_seconds": 1}))],
    );
    let t = Thoth::new("dev");
    let mut env = env(&t, api.server.url(), &api.ca);
    env.retain(|(k, _)| *k != "THOTH_HEARTBEAT_INTERVAL_SECONDS");
    env.push(("THOTH_ENDPOINT_CHECKIN_INTERVAL_SEC", "120".into()));
    let _session = start(&t, &env, "fs-agent");
    // At the configured 120 s there would be one check-in; GovAPI asked for 1 s.
    api.server
        .wait_for("POST", CHECKIN, 4, Duration::from_secs(20));
    assert_eq!(state(&t).unwrap()["checkin_interval_seconds"], 1);
}

/// `thoth checkin` once; (exit code, stderr).
fn checkin(t: &Thoth, env: &[(&'static str, String)], args: &[&str]) -> (i32, String) {
    let out = t
        .command()
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .arg("checkin")
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(out.stdout.is_empty(), "checkin printed on stdout");
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn checkin_registers_again_only_when_what_was_registered_changed() {
    let api = GovApi::new("thoth test CA", ENDPOINT);
    let t = Thoth::new("dev");
    let mut env = env(&t, api.server.url(), &api.ca);
    let (code, stderr) = checkin(&t, &env, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("checked in to"), "{stderr}");
    assert_eq!((api.registers().len(), api.checkins().len()), (1, 1));
    assert_eq!(api.registers()[0].json()["agent_ids"], json!([]));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&state_path(&t)), 0o600, "endpoint.json is private");
        assert_eq!(
            mode(state_path(&t).parent().unwrap()),
            0o700,
            "state/ is private"
        );
    }
    checkin(&t, &env, &[]);
    assert_eq!(
        (api.registers().len(), api.checkins().len()),
        (1, 2),
        "nothing changed: no new registration"
    );

    // Registered by another version (its fingerprint differs): register again.
    let mut saved = state(&t).unwrap();
    saved["registration_fingerprint"] = json!("0".repeat(64));
    std::fs::write(state_path(&t), saved.to_string()).unwrap();
    checkin(&t, &env, &[]);
    assert_eq!(
        api.registers().len(),
        2,
        "re-registered after a version change"
    );
    checkin(&t, &env, &[]);
    assert_eq!(api.registers().len(), 2);

    // A setting that is registered changed: register again, with the new value.
    env.push(("THOTH_FLEET_ID", "fleet-10".into()));
    checkin(&t, &env, &[]);
    assert_eq!(api.registers().len(), 3);
    assert_eq!(api.registers()[2].json()["fleet_id"], "fleet-10");
    checkin(&t, &env, &["--register"]);
    assert_eq!(api.registers().len(), 4, "--register forces it");

    // A refused credential: exit 1 with a hint, and it is saved for health.
    api.server
        .route("POST", "/v1/endpoints/*", vec![Reply::status(403, "")]);
    let (code, stderr) = checkin(&t, &env, &[]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("refused the credential") && stderr.contains("THOTH_GOVAPI_API_KEY"),
        "{stderr}"
    );
    assert_eq!(state(&t).unwrap()["auth_refused"], true);
}

#[test]
fn checkin_without_a_govapi_says_what_to_set() {
    let t = Thoth::new("dev");
    let (code, stderr) = checkin(&t, &[], &[]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("GovAPI is not configured") && stderr.contains("THOTH_GOVAPI_URL"),
        "{stderr}"
    );
    // An unknown --for-user is named.
    let api = GovApi::new("thoth test CA", ENDPOINT);
    let env = env(&t, api.server.url(), &api.ca);
    let (code, stderr) = checkin(&t, &env, &["--for-user", "no-such-user-here"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("no-such-user-here"), "{stderr}");
    assert!(api.server.received().is_empty());
    // A URL without a credential is not enough either.
    let (code, stderr) = checkin(
        &t,
        &[("THOTH_GOVAPI_URL", "https://127.0.0.1:9".into())],
        &[],
    );
    assert_eq!(code, 1);
    assert!(stderr.contains("THOTH_GOVAPI_API_KEY"), "{stderr}");
}

#[test]
fn three_sessions_send_one_heartbeat_stream_that_survives_its_leader() {
    let api = GovApi::new("thoth test CA", ENDPOINT);
    let t = Thoth::new("dev");
    let env = env(&t, api.server.url(), &api.ca);
    let mut sessions: Vec<Session> = ["a1", "a2", "a3"]
        .iter()
        .map(|a| start(&t, &env, a))
        .collect();
    let all = json!(["a1", "a2", "a3"]);
    let start_wait = Instant::now();
    while !api.checkins().iter().any(|c| c.json()["agent_ids"] == all) {
        assert!(
            start_wait.elapsed() < Duration::from_secs(20),
            "no check-in named all three agents"
        );
        thread::sleep(Duration::from_millis(50));
    }
    // One stream: 5 more check-ins take about 5 s (three streams would send them in under 2 s).
    let span = span_of_next(&api, api.checkins().len(), 5);
    assert!(
        (3500..=7500).contains(&span.as_millis()),
        "5 check-ins took {span:?} from three sessions"
    );
    assert_eq!(api.registers().len(), 1);

    let leads = |s: &Session| {
        s.stderr()
            .contains("this process now sends the GovAPI heartbeats")
    };
    let leaders: Vec<usize> = (0..3).filter(|&i| leads(&sessions[i])).collect();
    assert_eq!(leaders.len(), 1, "exactly one leader");
    let mut leader = sessions.remove(leaders[0]);
    leader.child.kill().unwrap(); // SIGKILL: no clean-up runs
    leader.child.wait().unwrap();
    let survivors: Vec<String> = ["a1", "a2", "a3"]
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != leaders[0])
        .map(|(_, a)| a.to_string())
        .collect();
    let killed_at = api.checkins().len();
    let start_wait = Instant::now();
    while !api.checkins()[killed_at..]
        .iter()
        .any(|c| c.json()["agent_ids"] == json!(survivors))
    {
        assert!(
            start_wait.elapsed() < Duration::from_secs(20),
            "no new leader reported the survivors"
        );
        thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        sessions.iter().filter(|s| leads(s)).count(),
        1,
        "one new leader"
    );
    let span = span_of_next(&api, api.checkins().len(), 4);
    assert!(
        (2600..=6500).contains(&span.as_millis()),
        "4 check-ins took {span:?} after the takeover"
    );
    assert_eq!(
        api.registers().len(),
        1,
        "the new leader did not register again"
    );
}

#[test]
fn eight_sessions_of_one_user_send_one_heartbeat_per_interval() {
    // A laptop with 8 governed servers: one leader, one check-in per interval naming all 8.
    let api = GovApi::new("thoth test CA", ENDPOINT);
    let t = Thoth::new("dev");
    let env = env(&t, api.server.url(), &api.ca);
    let names: Vec<String> = (1..=8).map(|i| format!("s{i}")).collect();
    let sessions: Vec<Session> = names.iter().map(|a| start(&t, &env, a)).collect();
    let all = json!(names);
    let start_wait = Instant::now();
    while !api.checkins().iter().any(|c| c.json()["agent_ids"] == all) {
        assert!(
            start_wait.elapsed() < Duration::from_secs(30),
            "no check-in named all eight agents"
        );
        // The poll interval of this bounded wait: the event is a request the loopback GovAPI records.
        thread::sleep(Duration::from_millis(50));
    }
    // One stream: 6 more check-ins take about 6 s (eight streams would send them in under 1 s).
    let after = api.checkins().len();
    let span = span_of_next(&api, after, 6);
    assert!(
        (4500..=9000).contains(&span.as_millis()),
        "6 check-ins took {span:?} from eight sessions"
    );
    for c in &api.checkins()[after..] {
        assert_eq!(c.json()["agent_ids"], all);
        assert_eq!(c.json()["governed_servers"], 8);
    }
    let leaders = sessions
        .iter()
        .filter(|s| {
            s.stderr()
                .contains("this process now sends the GovAPI heartbeats")
        })
        .count();
    assert_eq!(leaders, 1, "exactly one leader among eight sessions");
    assert_eq!(api.registers().len(), 1);
}

#[test]
fn a_503_with_retry_after_is_waited_out() {
    // Interval 1 s: the first backoff is 2 s (±10%); the server's Retry-After: 3 holds it to at least 3 s,
    // spread over at most one interval after.
    let api = GovApi::new("thoth test CA", ENDPOINT);
    api.server.route(
        "POST",
        REGISTER,
        vec![Reply::status(503, r#"{"error":"maintenance"}"#).with_header("retry-after", "3")],
    );
    let t = Thoth::new("dev");
    let env = env(&t, api.server.url(), &api.ca);
    let _session = start(&t, &env, "fs-agent");
    let attempts = api
        .server
        .wait_for("POST", REGISTER, 3, Duration::from_secs(30));
    for pair in attempts.windows(2) {
        let gap = pair[1].at - pair[0].at;
        assert!(
            (3000..=5500).contains(&gap.as_millis()),
            "a retry {gap:?} after a 503 that asked for 3 s"
        );
    }
    let saved = wait_state(&t, "a failure", |v| {
        v["consecutive_failures"].as_u64() >= Some(1)
    });
    assert!(
        saved["last_error"]
            .as_str()
            .unwrap()
            .contains("answered 503"),
        "{saved}"
    );
}

/// `thoth doctor --json` with `env`: (exit code, report validated against its schema).
fn doctor(t: &Thoth, env: &[(&'static str, String)]) -> (i32, Value) {
    let out = t
        .command()
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .args(["doctor", "--json"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).expect("doctor --json is JSON");
    assert_valid(&schema_validator("doctor.schema.json"), &report);
    (out.status.code().unwrap(), report)
}

fn problem_checks(report: &Value) -> Vec<String> {
    report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["check"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn doctor_checks_reachability_registration_tls_pins_and_clock_skew() {
    let api = GovApi::new("thoth test CA", ENDPOINT);
    api.server.route("HEAD", "/", vec![Reply::status(204, "")]);
    let t = Thoth::new("dev");
    let mut env = env(&t, api.server.url(), &api.ca);
    let (code, r) = doctor(&t, &env);
    assert_eq!(code, 1, "{r:#}");
    assert_eq!(problem_checks(&r), ["govapi_registered"]);
    assert_eq!(r["fleet"]["reachable"], true);
    assert_eq!(r["fleet"]["http_status"], 204);
    assert!(
        r["fleet"]["clock_skew_seconds"].as_i64().unwrap().abs() <= 5,
        "{r:#}"
    );
    assert!(
        api.server.received_at("HEAD", "/")[0]
            .header("x-api-key")
            .is_none(),
        "no credential on the probe"
    );

    assert_eq!(checkin(&t, &env, &[]).0, 0);
    let (code, r) = doctor(&t, &env);
    assert_eq!((code, problem_checks(&r).len()), (0, 0), "{r:#}");
    assert_eq!(r["fleet"]["registered"], true);

    // A server clock ten years away.
    api.server.route(
        "HEAD",
        "/",
        vec![Reply::status(200, "").with_header("date", "Thu, 01 Jan 2015 00:00:00 GMT")],
    );
    let (code, r) = doctor(&t, &env);
    assert_eq!(
        (code, problem_checks(&r)),
        (1, vec!["clock_skew".to_owned()]),
        "{r:#}"
    );
    assert!(r["fleet"]["clock_skew_seconds"].as_i64().unwrap() > 3600);

    // A pin the certificate does not match: a TLS problem, named as such.
    env.push(("THOTH_TLS_PINNED_CERT_SHA256", "ab".repeat(32)));
    let (code, r) = doctor(&t, &env);
    assert_eq!(
        (code, problem_checks(&r)),
        (1, vec!["govapi_tls".to_owned()]),
        "{r:#}"
    );
    assert_eq!(r["fleet"]["reachable"], false);

    // Nothing listening.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let env = self::env(&t, &format!("https://127.0.0.1:{port}"), &api.ca);
    let (code, r) = doctor(&t, &env);
    assert_eq!(code, 1);
    assert_eq!(problem_checks(&r)[0], "govapi_reachable", "{r:#}");
    assert!(r["fleet"]["error"]
        .as_str()
        .unwrap()
        .contains("could not connect"));
}

/// The keys of a JSON object, sorted (to compare a payload's field set exactly).
fn sorted_keys(v: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort();
    keys
}

#[test]
fn heartbeats_wait_out_a_retry_after_in_seconds_or_as_an_http_date() {
    // Check-ins at a 1 s interval: a 429 asking for 3 s, then a 503 asking for a date 12 s from now. The
    // loopback GovAPI's recorded arrival times show each retry came no sooner than asked, and at most one
    // interval (the spread) plus scheduling slack after.
    let api = GovApi::new("thoth test CA", ENDPOINT);
    let (now, wall) = (Instant::now(), std::time::SystemTime::now());
    let date = wall + Duration::from_secs(12);
    let date_at = now + date.duration_since(wall).unwrap();
    // HTTP-dates have whole seconds: the date sent is up to 1 s before `date`.
    let floor_of_date = date_at - Duration::from_secs(1);
    api.server.route(
        "POST",
        CHECKIN,
        vec![
            Reply::status(429, "slow down").with_header("retry-after", "3"),
            Reply::json(json!({})),
            Reply::status(503, "maintenance")
                .with_header("retry-after", &httpdate::fmt_http_date(date)),
            Reply::json(json!({})),
        ],
    );
    let t = Thoth::new("dev");
    let env = env(&t, api.server.url(), &api.ca);
    let _session = start(&t, &env, "fs-agent");
    let got = api
        .server
        .wait_for("POST", CHECKIN, 4, Duration::from_secs(40));
    assert!(got.len() >= 4, "{got:?}");
    let gap = got[1].at - got[0].at;
    assert!(
        (3000..=5500).contains(&gap.as_millis()),
        "a check-in {gap:?} after a 429 that asked for 3 s"
    );
    assert!(
        got[2].at < floor_of_date,
        "the date must lie ahead of the 503"
    );
    assert!(
        got[3].at >= floor_of_date && got[3].at <= date_at + Duration::from_millis(2500),
        "a check-in {:?} after the date asked for",
        got[3].at.saturating_duration_since(floor_of_date)
    );
}
