//! The command surface and `thoth run`'s refusals, environment scrub and logging, against the built binary.

use std::time::Duration;

use serde_json::{json, Value};

use crate::support::{init_params, Thoth};

/// A tiny MCP-ish server in Python: answers `initialize` with the names of the THOTH_* variables it sees,
/// `tools/call` with its arguments.
const ENV_SERVER: &str = r#"
import json, os, sys
for line in sys.stdin:
    msg = json.loads(line)
    if "id" not in msg:
        continue
    if msg["method"] == "initialize":
        seen = sorted(k for k in os.environ if k.startswith("THOTH_"))
        result = {"protocolVersion": "2025-06-18", "capabilities": {"tools": {}}, "serverInfo": {"name": "env", "version": "0"}, "env": seen}
    else:
        result = {"content": [{"type": "text", "text": json.dumps(msg.get("params", {}).get("arguments"))}]}
    sys.stdout.write(json.dumps({"jsonrpc": "2.0", "id": msg["id"], "result": result}) + "\n")
    sys.stdout.flush()
"#;

/// `run --agent-id env -- python3 -c ENV_SERVER`: thoth in front of the env server.
fn env_server_run() -> [&'static str; 7] {
    [
        "run",
        "--agent-id",
        "env",
        "--",
        "python3",
        "-c",
        ENV_SERVER,
    ]
}

#[test]
fn version_and_help_name_every_command() {
    let t = Thoth::new("dev");
    let out = t.output(&["--version"]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("thoth {}", env!("CARGO_PKG_VERSION"))
    );
    let out = t.output(&["--help"]);
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("run"), "{help}");
    let out = t.output(&["run", "--help"]);
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--agent-id",
        "--tenant-id",
        "--enforcement-mode",
        "--session-intent",
        "--approved-scope",
        "--max-line-bytes",
        "--max-pending",
        "--shutdown-grace-ms",
        "--log-level",
        "--log-file",
    ] {
        assert!(help.contains(flag), "run --help lacks {flag}:\n{help}");
    }
}

#[test]
fn run_without_a_server_command_is_a_usage_error() {
    let t = Thoth::new("dev");
    let out = t.output(&["run", "--agent-id", "x"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("SERVER COMMAND"));
}

#[test]
fn a_bad_thoth_env_names_the_variable() {
    let t = Thoth::new("qa");
    let out = t.output(&["run", "--", "true"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "stdout is the client's");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("THOTH_ENV") && err.contains("hint:"), "{err}");
}

/// This machine (and CI) runs the tests as root; in prod that is a refusal the MCP client can read. As a
/// normal user the same session starts.
#[test]
fn root_in_prod_refuses_but_still_answers_initialize() {
    let t = Thoth::new("prod");
    if !thoth::platform::is_root() {
        let mut s = t.run(&["--agent-id", "x"], &["python3", "-c", ENV_SERVER]);
        let reply = s.request(json!(1), "initialize", init_params());
        assert_eq!(
            reply["result"]["serverInfo"]["name"], "env",
            "a normal user is not refused: {reply}"
        );
        return;
    }
    let mut s = t.run(&["--agent-id", "x"], &["python3", "-c", ENV_SERVER]);
    let reply = s.request(json!(1), "initialize", init_params());
    assert_eq!(reply["error"]["code"], -32603);
    let message = reply["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("thoth: refused to start:") && message.contains("root"),
        "{message}"
    );
    assert!(reply["error"]["data"]["thoth"]["hint"]
        .as_str()
        .unwrap()
        .contains("THOTH_REQUIRE_NON_ROOT"));
    // Every later request gets the same answer; then the client leaves and thoth exits 1.
    let reply = s.request(json!("again"), "tools/list", json!({}));
    assert_eq!(reply["error"]["code"], -32603);
    s.close_stdin();
    let status = s
        .wait_timeout(Duration::from_secs(10))
        .expect("thoth exits after the client leaves");
    assert_eq!(status.code(), Some(1));
    let err = s.stderr();
    assert!(
        err.contains("error:") && err.contains("root"),
        "stderr says it too: {err}"
    );
}

#[test]
fn a_server_that_cannot_start_is_reported_on_initialize() {
    let t = Thoth::new("dev");
    let mut s = t.run(&[], &["/nonexistent/mcp-server"]);
    let reply = s.request(json!(0), "initialize", init_params());
    assert_eq!(reply["id"], 0);
    let message = reply["error"]["message"].as_str().unwrap();
    assert!(message.contains("/nonexistent/mcp-server"), "{message}");
    s.close_stdin();
    assert_eq!(
        s.wait_timeout(Duration::from_secs(10))
            .and_then(|st| st.code()),
        Some(1)
    );
}

#[test]
fn thoth_secrets_never_reach_the_server() {
    let t = Thoth::new("dev");
    let mut cmd = t.command();
    cmd.env("THOTH_API_KEY", "sk-secret-1")
        .env("THOTH_GOVAPI_BEARER_TOKEN", "tok-2")
        .env("THOTH_AUTH_TOKEN_FILE", "/tmp/x")
        .env("THOTH_FUTURE_SECRET", "s3")
        .env("THOTH_TENANT_ID", "acme")
        .args(env_server_run());
    let mut s = crate::support::Session::spawn(cmd);
    let reply = s.request(json!(1), "initialize", init_params());
    let seen: Vec<String> = serde_json::from_value(reply["result"]["env"].clone()).unwrap();
    assert!(seen.contains(&"THOTH_TENANT_ID".to_string()), "{seen:?}");
    assert!(seen.contains(&"THOTH_ENV".to_string()), "{seen:?}");
    for secret in [
        "THOTH_API_KEY",
        "THOTH_GOVAPI_BEARER_TOKEN",
        "THOTH_AUTH_TOKEN_FILE",
        "THOTH_FUTURE_SECRET",
    ] {
        assert!(
            !seen.contains(&secret.to_string()),
            "{secret} leaked: {seen:?}"
        );
    }
    s.close_stdin();
    assert_eq!(
        s.wait_timeout(Duration::from_secs(10))
            .and_then(|st| st.code()),
        Some(0)
    );
    let err = s.stderr();
    assert!(
        !err.contains("sk-secret-1") && !err.contains("tok-2"),
        "a secret reached the logs: {err}"
    );
}

#[test]
fn logs_go_to_stderr_and_the_log_file_never_stdout() {
    let t = Thoth::new("dev");
    let log = t.home.path().join("thoth.log");
    let mut s = t.run(
        &[
            "--log-level",
            "debug",
            "--log-file",
            log.to_str().unwrap(),
            "--agent-id",
            "env",
        ],
        &["python3", "-c", ENV_SERVER],
    );
    let reply = s.request(json!(1), "initialize", init_params());
    assert_eq!(reply["result"]["serverInfo"]["name"], "env");
    let reply = s.request(
        json!(2),
        "tools/call",
        json!({"name": "x", "arguments": {"k": [1, 2]}}),
    );
    assert_eq!(reply["result"]["content"][0]["text"], "{\"k\": [1, 2]}");
    s.close_stdin();
    assert_eq!(
        s.wait_timeout(Duration::from_secs(10))
            .and_then(|st| st.code()),
        Some(0)
    );
    assert!(s.drain_frames().is_empty());
    let err = s.stderr();
    assert!(err.contains("started the MCP server"), "{err}");
    let file = std::fs::read_to_string(&log).unwrap();
    assert!(file.contains("started the MCP server"), "{file}");
}

#[test]
fn dev_without_policy_warns_once_and_allows() {
    let t = Thoth::new("dev");
    let mut s = t.run(&["--agent-id", "env"], &["python3", "-c", ENV_SERVER]);
    s.request(json!(1), "initialize", init_params());
    for i in 0..3 {
        let reply = s.request(
            json!(10 + i),
            "tools/call",
            json!({"name": format!("tool{i}"), "arguments": {}}),
        );
        assert!(reply.get("result").is_some(), "{reply}");
    }
    s.close_stdin();
    s.wait_timeout(Duration::from_secs(10));
    let err = s.stderr();
    assert_eq!(
        err.matches("nothing governs this session").count(),
        1,
        "{err}"
    );
}

#[test]
fn exit_code_is_the_servers() {
    let t = Thoth::new("dev");
    let mut s = t.run(
        &[],
        &["python3", "-c", "import sys; sys.stdin.read(); sys.exit(9)"],
    );
    s.close_stdin();
    assert_eq!(
        s.wait_timeout(Duration::from_secs(10))
            .and_then(|st| st.code()),
        Some(9)
    );
    let frames: Vec<Value> = s.drain_frames();
    assert!(frames.is_empty());
}

/// What the official Python SDK client sees when it initializes `thoth run` (clean env: PATH, HOME, THOTH_ENV,
/// plus `env`).
fn sdk_initialize(t: &Thoth, env: &[(&str, &str)]) -> Value {
    let mut command = vec![crate::support::thoth_bin().into_os_string()];
    command.extend(env_server_run().iter().map(Into::into));
    crate::support::sdk_initialize(t, env, &command)
}

/// Issue 3: a runtime user check refusal, seen by a real MCP client as a JSON-RPC error on initialize. As root
/// (this machine and CI) the prod root check is what refuses; an expected-user mismatch refuses anyone.
#[test]
fn a_real_sdk_client_sees_runtime_user_refusals_on_initialize() {
    let t = Thoth::new("prod");
    if thoth::platform::is_root() {
        let seen = sdk_initialize(&t, &[]);
        assert_eq!(seen["error"]["code"], -32603, "{seen}");
        let message = seen["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("refused to start") && message.contains("root"),
            "{message}"
        );
    }
    let seen = sdk_initialize(
        &t,
        &[
            ("THOTH_REQUIRE_NON_ROOT", "false"),
            ("THOTH_EXPECTED_PROXY_USER", "someone-else"),
        ],
    );
    assert_eq!(seen["error"]["code"], -32603, "{seen}");
    assert!(
        seen["error"]["message"]
            .as_str()
            .unwrap()
            .contains("THOTH_EXPECTED_PROXY_USER"),
        "{seen}"
    );
    assert!(
        seen["error"]["data"]["thoth"]["hint"]
            .as_str()
            .unwrap()
            .contains("doctor"),
        "{seen}"
    );
    // With the checks satisfied the same client gets through.
    let seen = sdk_initialize(&t, &[("THOTH_REQUIRE_NON_ROOT", "false")]);
    assert_eq!(seen, json!({"initialized": true, "server": "env"}));
}

#[test]
fn a_bad_agent_id_is_refused_naming_the_flag() {
    let t = Thoth::new("dev");
    let mut s = t.run(
        &["--agent-id", "../etc/passwd"],
        &["python3", "-c", ENV_SERVER],
    );
    let reply = s.request(json!(1), "initialize", init_params());
    assert_eq!(reply["error"]["code"], -32603);
    assert!(
        reply["error"]["message"]
            .as_str()
            .unwrap()
            .contains("--agent-id"),
        "{reply}"
    );
    s.close_stdin();
    assert_eq!(
        s.wait_timeout(Duration::from_secs(10))
            .and_then(|st| st.code()),
        Some(1)
    );
}
