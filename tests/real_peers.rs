//! Real peers (DESIGN.md §7): the official Python `mcp` SDK client (`tests/peers/sdk_client.py`) drives the npm
//! reference servers once directly and once through `thoth run`, and the two runs must observe the same facts.
//! The peers are installed into `.cache/` by `.ci/peers.sh` (run by `.ci/test` and `.ci/run`).
//!
//! Environment: every through-thoth run here uses `THOTH_ENV=dev` (a temp HOME, no settings file): in dev with no
//! policy every tool is approved, so observe mode must be invisible; the block-mode test narrows the scope with
//! `--approved-scope`. Both runs get the same cleared environment (PATH, HOME, USER), so nothing else differs.

use std::ffi::{OsStr, OsString};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::{npm_bin, python, repo_root, thoth_bin, Thoth};

/// The SDK client guards itself at 120 s; this only catches a client that cannot even do that.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(240);

/// What one `sdk_client.py` run left behind.
struct ClientRun {
    status: ExitStatus,
    facts: Value,
    /// The client's stderr, which also carries the server's (and thoth's) stderr.
    stderr: String,
}

fn sdk_client_script() -> PathBuf {
    repo_root()
        .join("tests")
        .join("peers")
        .join("sdk_client.py")
}

/// Run `sdk_client.py <client_args> -- <server...>` with a cleared environment plus `env`, to completion.
fn run_sdk_client(
    home: &Path,
    env: &[(&str, &str)],
    client_args: &[&OsStr],
    server: &[&OsStr],
) -> ClientRun {
    let mut cmd = Command::new(python());
    cmd.arg(sdk_client_script())
        .args(client_args)
        .arg("--")
        .args(server)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("USER", "tester")
        .current_dir(repo_root())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn the Python SDK client");
    let mut out_pipe = child.stdout.take().expect("stdout");
    let mut err_pipe = child.stderr.take().expect("stderr");
    let out = thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = out_pipe.read_to_end(&mut buf);
        buf
    });
    let err = thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = err_pipe.read_to_end(&mut buf);
        buf
    });
    let start = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().expect("try_wait") {
            break st;
        }
        if start.elapsed() > CLIENT_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            let stderr = String::from_utf8_lossy(&err.join().unwrap_or_default()).into_owned();
            panic!("the SDK client ran past {CLIENT_TIMEOUT:?}; stderr:\n{stderr}");
        }
        thread::sleep(Duration::from_millis(20));
    };
    let stdout = out.join().expect("stdout reader");
    let stderr = String::from_utf8_lossy(&err.join().expect("stderr reader")).into_owned();
    assert!(
        status.success(),
        "the SDK client failed ({status}); stderr:\n{stderr}"
    );
    let facts: Value = serde_json::from_slice(&stdout).unwrap_or_else(|e| {
        panic!(
            "the SDK client printed no JSON object ({e}): {:?}\nstderr:\n{stderr}",
            String::from_utf8_lossy(&stdout)
        )
    });
    ClientRun {
        status,
        facts,
        stderr,
    }
}

/// `thoth run <flags> -- <server...>` as one argument list.
fn through_thoth(flags: &[&str], server: &[&OsStr]) -> Vec<OsString> {
    let mut cmd = vec![thoth_bin().into_os_string(), "run".into()];
    cmd.extend(flags.iter().map(OsString::from));
    cmd.push("--".into());
    cmd.extend(server.iter().map(|s| s.to_os_string()));
    cmd
}

fn os(v: &[OsString]) -> Vec<&OsStr> {
    v.iter().map(OsString::as_os_str).collect()
}

/// The first place two JSON values differ, as a JSON pointer with both sides.
fn first_difference(a: &Value, b: &Value, at: &str) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for k in x.keys().chain(y.keys().filter(|k| !x.contains_key(*k))) {
                let path = format!("{at}/{k}");
                match (x.get(k), y.get(k)) {
                    (Some(p), Some(q)) => {
                        if let Some(d) = first_difference(p, q, &path) {
                            return Some(d);
                        }
                    }
                    (p, q) => return Some(format!("{path}: direct {p:?} vs through thoth {q:?}")),
                }
            }
            None
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (p, q))| first_difference(p, q, &format!("{at}/{i}"))),
        _ if a == b => None,
        _ => {
            let show = |v: &Value| v.to_string().chars().take(400).collect::<String>();
            Some(format!(
                "{at}: direct {} vs through thoth {}",
                show(a),
                show(b)
            ))
        }
    }
}

/// The server-everything scenario, run once per test binary: directly and through thoth in observe mode.
struct Everything {
    direct: ClientRun,
    through: ClientRun,
}

fn everything() -> &'static Everything {
    // One run for all the tests below. A failure is kept (not retried by every waiting test) and reported by each.
    static RUNS: OnceLock<Result<Everything, String>> = OnceLock::new();
    let runs = RUNS.get_or_init(|| {
        std::panic::catch_unwind(|| {
            let server = npm_bin("mcp-server-everything").into_os_string();
            let wrapped = through_thoth(
                &["--agent-id", "everything", "--enforcement-mode", "observe"],
                &[&server],
            );
            // The two runs are independent processes: run them side by side.
            let direct = thread::spawn(move || {
                let home = tempfile::tempdir().expect("temp home");
                run_sdk_client(home.path(), &[], &[], &[&server])
            });
            let thoth = Thoth::new("dev");
            let through = run_sdk_client(
                thoth.home.path(),
                &[("THOTH_ENV", thoth.env), ("THOTH_LOG", "debug")],
                &[],
                &os(&wrapped),
            );
            let direct = direct
                .join()
                .unwrap_or_else(|e| std::panic::resume_unwind(e));
            Everything { direct, through }
        })
        .map_err(|e| {
            e.downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "non-string panic".into())
        })
    });
    runs.as_ref()
        .unwrap_or_else(|e| panic!("the server-everything runs failed: {e}"))
}

/// A fact of the through-thoth run, which must also be the same fact in the direct run.
fn fact(pointer: &str) -> &'static Value {
    let runs = everything();
    let through = runs.through.facts.pointer(pointer).unwrap_or_else(|| {
        panic!(
            "no {pointer} in the through-thoth facts: {}\nstderr:\n{}",
            runs.through.facts, runs.through.stderr
        )
    });
    let direct = runs
        .direct
        .facts
        .pointer(pointer)
        .unwrap_or_else(|| panic!("no {pointer} in the direct facts"));
    assert_eq!(
        direct, through,
        "{pointer} differs between the direct and the through-thoth run"
    );
    through
}

#[test]
fn everything_observe_mode_is_invisible_to_the_sdk_client() {
    let runs = everything();
    let (mut direct, mut through) = (runs.direct.facts.clone(), runs.through.facts.clone());
    // How many processes the command made differs by construction (thoth + server); checked in the exit test.
    direct.as_object_mut().expect("object").remove("process");
    through.as_object_mut().expect("object").remove("process");
    let keys: Vec<&String> = direct.as_object().expect("object").keys().collect();
    assert!(keys.len() >= 20, "too few facts: {keys:?}");
    if let Some(diff) = first_difference(&direct, &through, "") {
        panic!(
            "the SDK client saw something different through thoth: {diff}\nthoth run stderr:\n{}",
            runs.through.stderr
        );
    }
}

#[test]
fn everything_handshake_passes_discover_error_and_initialize_result_through() {
    // SDK 2.x probes `server/discover` first; the server's own -32601 must reach the client, then initialize.
    assert_eq!(
        fact("/handshake/discover"),
        &json!({"error": {"code": -32601, "message": "Method not found", "data": null}})
    );
    assert_eq!(fact("/handshake/protocol_version"), &json!("2025-11-25"));
    assert_eq!(
        fact("/handshake/initialize/protocolVersion"),
        &json!("2025-11-25")
    );
    assert_eq!(
        fact("/handshake/initialize/serverInfo/name"),
        &json!("mcp-servers/everything")
    );
    assert_eq!(
        fact("/handshake/initialize/serverInfo/version"),
        &json!("2.0.0")
    );
    assert_eq!(
        fact("/handshake/initialize/capabilities/tools"),
        &json!({"listChanged": true})
    );
    assert!(fact("/handshake/initialize/instructions")
        .as_str()
        .expect("instructions")
        .starts_with("# Everything Server"));
    assert_eq!(fact("/ping"), &json!({}));
}

#[test]
fn everything_tools_list_is_identical() {
    let names: Vec<&str> = fact("/tools_list/tools")
        .as_array()
        .expect("tools")
        .iter()
        .map(|t| t["name"].as_str().expect("name"))
        .collect();
    assert_eq!(
        names,
        [
            "echo",
            "get-annotated-message",
            "get-env",
            "get-resource-links",
            "get-resource-reference",
            "get-structured-content",
            "get-sum",
            "get-tiny-image",
            "gzip-file-as-resource",
            "toggle-simulated-logging",
            "toggle-subscriber-updates",
            "trigger-long-running-operation",
            "get-roots-list",
            "trigger-elicitation-request",
            "trigger-url-elicitation",
            "trigger-sampling-request",
            "simulate-research-query",
        ]
    );
    fact("/prompts_list");
    fact("/resources_list");
    fact("/resource_templates_list");
    assert_eq!(
        fact("/prompt_simple/messages/0/content/text"),
        &json!("This is a simple prompt without arguments.")
    );
}

#[test]
fn everything_tool_calls_return_the_same_results() {
    assert_eq!(
        fact("/echo/content"),
        &json!([{"type": "text", "text": "Echo: hello thoth ✓"}])
    );
    assert_eq!(
        fact("/get_sum/content"),
        &json!([{"type": "text", "text": "The sum of 2 and 40 is 42."}])
    );
    assert_eq!(
        fact("/structured/structuredContent"),
        &json!({"temperature": 33, "conditions": "Cloudy", "humidity": 82})
    );
    assert_eq!(fact("/final_echo"), &json!(["Echo: still here"]));
    // A binary PNG inside a tools/call result, byte for byte.
    assert_eq!(
        fact("/tiny_image"),
        &json!({
            "mime_type": "image/png",
            "bytes": 4033,
            "sha256": "4466be3b7a0e51778f8634f5e984197ec35c748caf4c3b32763f89c577d29614",
            "texts": ["Here's the image you requested:", "The image above is the MCP logo."],
        })
    );
}

#[test]
fn everything_progress_notifications_reach_the_client() {
    assert_eq!(fact("/progress/count"), &json!(5));
    assert_eq!(
        fact("/progress/values"),
        &json!([[1.0, 5.0], [2.0, 5.0], [3.0, 5.0], [4.0, 5.0], [5.0, 5.0]])
    );
    assert_eq!(
        fact("/progress/result"),
        &json!(["Long running operation completed. Duration: 1 seconds, Steps: 5."])
    );
}

#[test]
fn everything_sampling_request_is_answered_by_the_client() {
    assert_eq!(
        fact("/sampling/requests"),
        &json!([{
            "messages": [{"role": "user", "content": {"type": "text", "text": "Resource trigger-sampling-request context: What is 6 x 7?"}}],
            "systemPrompt": "You are a helpful test server.",
            "maxTokens": 20,
            "temperature": 0.7,
        }])
    );
    let result = fact("/sampling/result/0").as_str().expect("text");
    assert!(result.starts_with("LLM sampling result:"), "{result}");
    assert!(
        result.contains("\"text\": \"thoth sampling reply: 42\""),
        "{result}"
    );
}

#[test]
fn everything_elicitation_and_roots_requests_are_answered_by_the_client() {
    assert_eq!(
        fact("/elicitation/requests/0/message"),
        &json!("Please provide inputs for the following fields:")
    );
    assert_eq!(
        fact("/elicitation/result/1"),
        &json!(
            "User inputs:\n- Name: Thoth Tester\n- Agreed to terms: true\n- Favorite Integer: 7"
        )
    );
    assert_eq!(fact("/roots/answered"), &json!(true));
    let roots = fact("/roots/result/0").as_str().expect("text");
    assert!(roots.starts_with("Current MCP Roots (1 total):"), "{roots}");
    assert!(
        roots.contains("URI: file:///tmp/thoth-sdk-client-root"),
        "{roots}"
    );
}

#[test]
fn everything_binary_resource_is_read_intact() {
    // 64 KiB of every byte value goes in as a data: URI, comes back gzipped as a blob resource.
    assert_eq!(
        fact("/binary_resource/input_sha256"),
        &json!("4b49dae27103a47c33f35c5412571fb74b76a5dca6329cdab12ee82723ea272c")
    );
    assert_eq!(fact("/binary_resource/gunzip_equals_input"), &json!(true));
    assert_eq!(
        fact("/binary_resource/mime_type"),
        &json!("application/gzip")
    );
    assert_eq!(
        fact("/binary_resource/uri"),
        &json!("demo://resource/session/thoth.bin.gz")
    );
    fact("/binary_resource/blob_sha256");
    fact("/binary_resource/blob_bytes");
    assert_eq!(
        fact("/binary_resource/dynamic_blob"),
        &json!("Resource 7: This is a base64 blob created at <time>")
    );
}

#[test]
fn everything_5_mib_echo_is_intact() {
    assert_eq!(
        fact("/big_echo"),
        &json!({
            "chars": 5_242_880,
            "utf8_bytes": 5_302_951,
            "sent_sha256": "858358b3179a6dc82f397486a2e0cf2c5da9050f39834b1926e5677d72ad2419",
            "received_sha256": "858358b3179a6dc82f397486a2e0cf2c5da9050f39834b1926e5677d72ad2419",
            "intact": true,
        })
    );
}

#[test]
fn everything_50_concurrent_calls_are_all_answered_correctly() {
    assert_eq!(
        fact("/concurrent"),
        &json!({"calls": 50, "answered": 50, "wrong": []})
    );
}

#[test]
fn everything_cancelled_call_leaves_the_session_working() {
    assert_eq!(
        fact("/cancellation"),
        &json!({
            "cancelled": true,
            "completed": false,
            "progress_before_cancel": true,
            "call_after_cancel": ["The sum of 20 and 22 is 42."],
        })
    );
}

#[test]
fn everything_client_close_ends_thoth_and_the_server() {
    let runs = everything();
    // The SDK closes the command's stdin and waits; an exit code of 0 means nobody had to be signalled
    // (the SDK sends SIGTERM after 2 s, which would read -15).
    assert_eq!(
        runs.direct.facts["process"],
        json!({"exit_code": 0, "tree_size": 1, "alive_after_close": []})
    );
    assert_eq!(
        runs.through.facts["process"],
        json!({"exit_code": 0, "tree_size": 2, "alive_after_close": []}),
        "thoth + server should both be gone with status 0; stderr:\n{}",
        runs.through.stderr
    );
    assert!(runs.direct.status.success() && runs.through.status.success());
}

/// A served directory holding `hello.txt`.
fn fs_root() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    // The server resolves symlinks in its allowed directories; compare against the real path.
    let root = dir.path().canonicalize().expect("canonical temp dir");
    std::fs::write(root.join("hello.txt"), "hello from thoth\n").expect("write hello.txt");
    (dir, root)
}

#[test]
fn filesystem_block_mode_refuses_write_file_outside_the_approved_scope() {
    let (_dir, root) = fs_root();
    let server = npm_bin("mcp-server-filesystem").into_os_string();
    let wrapped = through_thoth(
        &[
            "--agent-id",
            "filesystem",
            "--enforcement-mode",
            "block",
            "--approved-scope",
            "read_file,list_directory",
        ],
        &[&server, root.as_os_str()],
    );
    // THOTH_ENV=dev: the approved scope given on the command line is what governs the session.
    let thoth = Thoth::new("dev");
    let run = run_sdk_client(
        thoth.home.path(),
        &[("THOTH_ENV", thoth.env), ("THOTH_LOG", "debug")],
        &[
            OsStr::new("--scenario"),
            OsStr::new("filesystem"),
            OsStr::new("--fs-root"),
            root.as_os_str(),
        ],
        &os(&wrapped),
    );
    let f = &run.facts;
    let ctx = || format!("facts: {f}\nstderr:\n{}", run.stderr);
    assert_eq!(
        f["list_directory"],
        json!({"ok": {"is_error": false, "texts": ["[FILE] hello.txt"]}}),
        "{}",
        ctx()
    );
    assert_eq!(
        f["read_file"],
        json!({"ok": {"is_error": false, "texts": ["hello from thoth\n"]}}),
        "{}",
        ctx()
    );

    let err = &f["write_file"]["error"];
    assert_eq!(
        err["code"],
        json!(-32001),
        "write_file was not refused with -32001: {}",
        ctx()
    );
    let message = err["message"].as_str().expect("message");
    assert!(message.starts_with("thoth:"), "{message}");
    assert_eq!(
        err["data"]["thoth"]["decision"],
        json!("BLOCK"),
        "{}",
        ctx()
    );
    assert_eq!(
        err["data"]["thoth"]["tool"],
        json!("write_file"),
        "{}",
        ctx()
    );
    assert_eq!(
        err["data"]["thoth"]["agent_id"],
        json!("filesystem"),
        "{}",
        ctx()
    );
    assert!(
        err["data"]["thoth"]["violation_id"]
            .as_str()
            .is_some_and(|v| !v.is_empty()),
        "{}",
        ctx()
    );
    assert_eq!(f["written_exists"], json!(false));
    assert!(
        !root.join("written.txt").exists(),
        "the blocked write_file reached the server"
    );

    // The refusal did not break the session, and close was clean.
    assert_eq!(
        f["read_after_write"],
        json!({"ok": {"is_error": false, "texts": ["hello from thoth\n"]}}),
        "{}",
        ctx()
    );
    assert_eq!(
        f["process"],
        json!({"exit_code": 0, "tree_size": 2, "alive_after_close": []}),
        "{}",
        ctx()
    );
}

#[test]
fn filesystem_write_file_succeeds_without_thoth() {
    // The control for the block test: the same call straight to the server does write the file.
    let (_dir, root) = fs_root();
    let server = npm_bin("mcp-server-filesystem").into_os_string();
    let home = tempfile::tempdir().expect("temp home");
    let run = run_sdk_client(
        home.path(),
        &[],
        &[
            OsStr::new("--scenario"),
            OsStr::new("filesystem"),
            OsStr::new("--fs-root"),
            root.as_os_str(),
        ],
        &[&server, root.as_os_str()],
    );
    let written = root.join("written.txt");
    assert_eq!(
        run.facts["write_file"],
        json!({"ok": {"is_error": false, "texts": [format!("Successfully wrote to {}", written.display())]}})
    );
    assert_eq!(
        std::fs::read_to_string(&written).expect("written.txt"),
        "should not exist"
    );
    assert_eq!(
        run.facts["process"],
        json!({"exit_code": 0, "tree_size": 1, "alive_after_close": []})
    );
}
