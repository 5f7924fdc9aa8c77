//! Harness for integration tests: run the built `thoth` binary with a clean environment and a temp HOME,
//! drive a `thoth run` session over real pipes, and locate the peers `.ci/run` installs into `.cache/`.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

pub mod archives;
pub mod govapi;
pub mod https;
pub mod oauth;

/// The thoth binary cargo built for this test run.
pub fn thoth_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_thoth"))
}

/// The repository root (where Cargo.toml is).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The hostile fixture MCP server (`tests/fixture_server`), built by cargo as an example.
pub fn fixture_server() -> PathBuf {
    let exe = thoth_bin();
    let dir = exe.parent().expect("target dir");
    let path = dir
        .join("examples")
        .join(format!("fixture-server{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "fixture server not built at {}; run `cargo test` (it builds examples)",
        path.display()
    );
    path
}

/// Where `.ci/run` installs the npm and Python peers.
pub fn cache_dir() -> PathBuf {
    std::env::var_os("THOTH_TEST_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".cache"))
}

/// The Python interpreter of the venv holding the official `mcp` SDK.
pub fn python() -> PathBuf {
    let p = cache_dir().join("venv").join("bin").join("python");
    assert!(
        p.exists(),
        "{} missing: run `bash .ci/peers.sh` (or `bash .ci/run`) first",
        p.display()
    );
    p
}

/// An installed npm binary such as `mcp-server-everything`.
pub fn npm_bin(name: &str) -> PathBuf {
    let p = cache_dir()
        .join("npm")
        .join("node_modules")
        .join(".bin")
        .join(name);
    assert!(
        p.exists(),
        "{} missing: run `bash .ci/peers.sh` (or `bash .ci/run`) first",
        p.display()
    );
    p
}

/// A temp HOME plus a `Command` for thoth with a cleared environment: only PATH, HOME and the
/// THOTH_ENV the test names (tests always say which environment they mean).
pub struct Thoth {
    pub home: tempfile::TempDir,
    pub env: &'static str,
}

impl Thoth {
    pub fn new(env: &'static str) -> Thoth {
        Thoth {
            home: tempfile::tempdir().expect("temp home"),
            env,
        }
    }

    pub fn command(&self) -> Command {
        let mut cmd = Command::new(thoth_bin());
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.home.path())
            .env("USER", "tester")
            .env("THOTH_ENV", self.env)
            .env("THOTH_LOG", "debug");
        cmd
    }

    /// `thoth run <flags> -- <server...>` with piped stdio, ready to drive.
    pub fn run(&self, flags: &[&str], server: &[&str]) -> Session {
        let mut cmd = self.command();
        cmd.arg("run").args(flags).arg("--").args(server);
        Session::spawn(cmd)
    }

    /// Run a one-shot command to completion with stdin closed.
    pub fn output(&self, args: &[&str]) -> std::process::Output {
        self.command()
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run thoth")
    }
}

/// A live `thoth run` child: write lines to its stdin, read lines from its stdout with a timeout.
/// stderr is collected in the background and available after exit (or at any time) via `stderr()`.
pub struct Session {
    pub child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<Vec<u8>>,
    stderr: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
}

pub const TIMEOUT: Duration = Duration::from_secs(20);

impl Session {
    pub fn spawn(mut cmd: Command) -> Session {
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn thoth");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            loop {
                let mut buf = Vec::new();
                match r.read_until(b'\n', &mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        if tx.send(buf).is_err() {
                            break;
                        }
                    }
                }
            }
        });
        let stderr = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut err_pipe = child.stderr.take().expect("stderr");
        let sink = stderr.clone();
        thread::spawn(move || {
            let mut chunk = [0u8; 8192];
            while let Ok(n) = err_pipe.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .expect("stderr lock")
                    .extend_from_slice(&chunk[..n]);
            }
        });
        let stdin = child.stdin.take();
        Session {
            child,
            stdin,
            lines,
            stderr,
        }
    }

    /// Write raw bytes (a line should end with `\n`).
    pub fn send_raw(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().expect("stdin still open");
        stdin.write_all(bytes).expect("write to thoth");
        stdin.flush().expect("flush");
    }

    /// Write one JSON value as a line.
    pub fn send(&mut self, v: &Value) {
        let mut line = serde_json::to_vec(v).expect("json");
        line.push(b'\n');
        self.send_raw(&line);
    }

    /// Close thoth's stdin (client EOF).
    pub fn close_stdin(&mut self) {
        self.stdin.take();
    }

    /// Next raw stdout line, or None on timeout / EOF.
    pub fn recv_raw(&self, timeout: Duration) -> Option<Vec<u8>> {
        self.lines.recv_timeout(timeout).ok()
    }

    /// Next stdout line parsed as JSON; panics (with stderr) on timeout or non-JSON (stdout is sacred).
    pub fn recv(&self) -> Value {
        let line = self.recv_raw(TIMEOUT).unwrap_or_else(|| {
            panic!(
                "no line from thoth within {TIMEOUT:?}; stderr:\n{}",
                self.stderr()
            )
        });
        serde_json::from_slice(&line).unwrap_or_else(|e| {
            panic!(
                "stdout carried a non-JSON line ({e}): {:?}\nstderr:\n{}",
                String::from_utf8_lossy(&line),
                self.stderr()
            )
        })
    }

    /// Read lines until one has `id == id` (other frames are returned too, in order).
    pub fn recv_until_id(&self, id: &Value) -> (Value, Vec<Value>) {
        let mut others = Vec::new();
        loop {
            let v = self.recv();
            if v.get("id") == Some(id) && v.get("method").is_none() {
                return (v, others);
            }
            others.push(v);
        }
    }

    /// Send a request and wait for its response.
    pub fn request(&mut self, id: Value, method: &str, params: Value) -> Value {
        self.send(
            &serde_json::json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}),
        );
        self.recv_until_id(&id).0
    }

    /// Assert nothing arrives on stdout for `d`.
    pub fn expect_silence(&self, d: Duration) {
        if let Some(line) = self.recv_raw(d) {
            panic!("unexpected stdout line: {}", String::from_utf8_lossy(&line));
        }
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().expect("stderr lock")).into_owned()
    }

    /// Wait for exit up to `timeout`; None if still running (the child is then killed).
    pub fn wait_timeout(&mut self, timeout: Duration) -> Option<ExitStatus> {
        wait_exit(&mut self.child, timeout)
    }

    /// After exit: every remaining stdout line must be JSON (stdout carries only frames).
    pub fn drain_frames(&self) -> Vec<Value> {
        let mut out = Vec::new();
        while let Some(line) = self.recv_raw(Duration::from_millis(200)) {
            let v: Value = serde_json::from_slice(&line).unwrap_or_else(|e| {
                panic!(
                    "stdout carried a non-JSON line ({e}): {:?}",
                    String::from_utf8_lossy(&line)
                )
            });
            out.push(v);
        }
        out
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The standard `initialize` params of a 2025-06-18 client.
pub fn init_params() -> Value {
    serde_json::json!({
        "protocolVersion": "2025-06-18",
        "capabilities": {"sampling": {}, "elicitation": {}, "roots": {"listChanged": true}},
        "clientInfo": {"name": "thoth-tests", "version": "0"}
    })
}

/// Path helper for fixtures under tests/fixtures.
pub fn fixture(rel: &str) -> PathBuf {
    repo_root().join("tests").join("fixtures").join(rel)
}

/// The JSON Schema `schemas/<name>` (draft 2020-12), compiled; panics if the schema itself is invalid.
pub fn schema_validator(name: &str) -> jsonschema::Validator {
    let path = repo_root().join("schemas").join(name);
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    jsonschema::draft202012::new(&schema)
        .unwrap_or_else(|e| panic!("{} is not a valid schema: {e}", path.display()))
}

/// Assert `instance` matches the schema, listing every violation with its path.
pub fn assert_valid(v: &jsonschema::Validator, instance: &Value) {
    let errors: Vec<String> = v
        .iter_errors(instance)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{instance} does not match its schema: {errors:?}"
    );
}

impl Session {
    /// `initialize` the fixture server through thoth, check that it answered (with the protocol version
    /// echoed), and send `notifications/initialized`.
    pub fn initialize_fixture(&mut self) -> Value {
        let resp = self.request(serde_json::json!("init"), "initialize", init_params());
        assert_eq!(
            resp["result"]["serverInfo"]["name"],
            "fixture-server",
            "{resp}\nstderr:\n{}",
            self.stderr()
        );
        assert_eq!(resp["result"]["protocolVersion"], "2025-06-18", "{resp}");
        self.send(&serde_json::json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        resp
    }
}

/// Initialize `command` with the official Python SDK client (`tests/peers/initialize_probe.py`) in a clean
/// environment (PATH, HOME and THOTH_ENV of `t`, plus `env`); returns what it saw: `{"initialized": true,
/// "server": NAME}` or `{"error": {...}}`.
pub fn sdk_initialize(t: &Thoth, env: &[(&str, &str)], command: &[std::ffi::OsString]) -> Value {
    let out = Command::new(python())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", t.home.path())
        .env("THOTH_ENV", t.env)
        .envs(env.iter().copied())
        .arg(repo_root().join("tests/peers/initialize_probe.py"))
        .args(command)
        .output()
        .expect("run the SDK probe");
    assert!(
        out.status.success(),
        "probe failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "probe printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// Wait for `child` to exit up to `timeout`; None if still running (it is then killed). std has no wait with a
/// timeout, so exit is polled every 10 ms: the event is the exit, the interval only its granularity.
pub fn wait_exit(child: &mut std::process::Child, timeout: Duration) -> Option<ExitStatus> {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if let Some(st) = child.try_wait().expect("try_wait") {
            return Some(st);
        }
        thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}
