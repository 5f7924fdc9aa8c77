//! Bounded memory under any input (issue 12 §4), one flood per queue, with real processes and real pipes:
//! a client that writes junk and never reads its answers, a server that floods requests and never reads its
//! stdin, tools/calls held by a slow enforcer. Each test waits for thoth to say it paused reading the flooding
//! side (the event), checks the flood was not swallowed whole, and asserts thoth's peak RSS (VmHWM) stays
//! under `64 MiB + 2 × --max-line-bytes`; the two tests where the flood can end also check that every answer
//! arrives. And the server never outlives thoth (§9): SIGKILL thoth, the server's pid goes away.
#![allow(clippy::print_stderr)]

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, ChildStdout, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::https::{Gate, Reply, Server, TestCa};
use crate::support::{fixture_server, init_params, python, Thoth};

/// `--max-line-bytes` in these tests: small, so floods are quick, and the bound scales with it.
const CAP: usize = 1 << 20;
const MIB: u64 = 1 << 20;
/// How long a flood may take to reach thoth's budget.
const DEADLINE: Duration = Duration::from_secs(90);

/// The documented bound (README "Bounded memory").
fn bound() -> u64 {
    64 * MIB + 2 * CAP as u64
}

/// A `thoth run` whose stdout the test reads only when it decides to (the harness `Session` drains it).
struct Proxy {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Option<BufReader<ChildStdout>>,
    stderr: Arc<Mutex<Vec<u8>>>,
}

impl Proxy {
    fn start(
        thoth: &Thoth,
        env: &[(String, String)],
        flags: &[&str],
        server: &[OsString],
    ) -> Proxy {
        let mut cmd = thoth.command();
        // Pause / resume lines and the server's pid only: a flood of junk would otherwise flood stderr too.
        cmd.env(
            "THOTH_LOG",
            "error,thoth::proxy::session=debug,thoth::proxy::upstream=info",
        );
        cmd.envs(env.iter().map(|(k, v)| (k, v)));
        cmd.arg("run")
            .arg("--max-line-bytes")
            .arg(CAP.to_string())
            .args(flags)
            .arg("--")
            .args(server)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn thoth");
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let mut pipe = child.stderr.take().expect("stderr");
        let sink = stderr.clone();
        thread::spawn(move || {
            let mut chunk = [0u8; 8192];
            while let Ok(n) = pipe.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&chunk[..n]);
            }
        });
        Proxy {
            stdin: child.stdin.take(),
            stdout: child.stdout.take().map(BufReader::new),
            child,
            stderr,
        }
    }

    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().unwrap()).into_owned()
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// thoth's peak resident set so far, in bytes (VmHWM).
    fn peak_rss(&self) -> u64 {
        status_kib(self.pid(), "VmHWM:").unwrap_or_else(|| panic!("no VmHWM for thoth")) * 1024
    }

    /// Wait until stderr has `needle`; fails at the deadline, or as soon as thoth's peak RSS is over the bound
    /// (a thoth that buffers without limit never pauses; it grows).
    fn wait_for_log(&self, needle: &str) {
        let start = Instant::now();
        loop {
            if self.stderr().contains(needle) {
                return;
            }
            let peak = self.peak_rss();
            assert!(
                peak <= bound(),
                "thoth grew to {} MiB (bound {} MiB) without pausing; stderr:\n{}",
                peak / MIB,
                bound() / MIB,
                tail(&self.stderr())
            );
            assert!(
                start.elapsed() < DEADLINE,
                "no {needle:?} within {DEADLINE:?}; stderr:\n{}",
                tail(&self.stderr())
            );
            thread::sleep(Duration::from_millis(10));
        }
    }

    fn write_line(&mut self, v: &Value) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        let mut line = serde_json::to_vec(v).unwrap();
        line.push(b'\n');
        stdin.write_all(&line).unwrap();
        stdin.flush().unwrap();
    }

    fn read_line(&mut self) -> Value {
        let stdout = self.stdout.as_mut().expect("stdout");
        let mut line = Vec::new();
        let n = stdout.read_until(b'\n', &mut line).expect("read stdout");
        assert!(
            n > 0,
            "thoth closed stdout; stderr:\n{}",
            tail(&self.stderr())
        );
        serde_json::from_slice(&line).unwrap_or_else(|e| {
            panic!(
                "stdout carried a non-JSON line ({e}): {:?}",
                String::from_utf8_lossy(&line[..line.len().min(200)])
            )
        })
    }

    /// Read until the response to `id`; returns the lines before it.
    fn read_until_id(&mut self, id: &Value) -> Vec<Value> {
        let mut before = Vec::new();
        loop {
            let v = self.read_line();
            if v.get("id") == Some(id) && v.get("method").is_none() {
                return before;
            }
            before.push(v);
        }
    }

    fn initialize(&mut self) {
        self.write_line(&json!({"jsonrpc": "2.0", "id": "init", "method": "initialize", "params": init_params()}));
        self.read_until_id(&json!("init"));
        self.write_line(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
    }

    /// A thread writing `chunks` to thoth's stdin, counting what got through; it hands stdin back at the end.
    fn flood(&mut self, chunks: Vec<Vec<u8>>) -> Flood {
        let mut stdin = self.stdin.take().expect("stdin open");
        let written = Arc::new(AtomicUsize::new(0));
        let done = Arc::new(AtomicBool::new(false));
        let total = chunks.iter().map(Vec::len).sum();
        let (w, d) = (written.clone(), done.clone());
        let thread = thread::spawn(move || {
            for chunk in chunks {
                if stdin.write_all(&chunk).is_err() {
                    break;
                }
                w.fetch_add(chunk.len(), Ordering::SeqCst);
            }
            let _ = stdin.flush();
            d.store(true, Ordering::SeqCst);
            stdin
        });
        Flood {
            written,
            done,
            total,
            thread: Some(thread),
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Flood {
    written: Arc<AtomicUsize>,
    done: Arc<AtomicBool>,
    total: usize,
    thread: Option<thread::JoinHandle<ChildStdin>>,
}

impl Flood {
    /// thoth stopped taking the flood before the end of it.
    fn assert_held_back(&self) {
        assert!(
            !self.done.load(Ordering::SeqCst),
            "thoth took the whole flood ({} bytes) while paused",
            self.total
        );
        assert!(self.written.load(Ordering::SeqCst) < self.total);
    }

    fn join(mut self) -> ChildStdin {
        self.thread.take().unwrap().join().expect("writer thread")
    }
}

fn status_kib(pid: u32, key: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(key))?;
    line[key.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

fn tail(text: &str) -> &str {
    &text[text.len().saturating_sub(4000)..]
}

fn report(test: &str, proxy: &Proxy, started: Instant) {
    eprintln!(
        "{test}: thoth peak RSS {:.1} MiB (bound {} MiB), {:.1} s",
        proxy.peak_rss() as f64 / MIB as f64,
        bound() / MIB,
        started.elapsed().as_secs_f64()
    );
}

/// Junk of many kinds (not JSON, JSON that is not JSON-RPC, bad ids, a long batch), in 64 KiB chunks.
fn junk(lines: usize) -> (Vec<Vec<u8>>, usize) {
    let long_batch = format!("[{}]", vec!["1"; 2000].join(","));
    let kinds: [&[u8]; 6] = [
        b"x",
        b"{",
        br#"{"jsonrpc":"2.0","id":7,"method":5}"#,
        br#"{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}"#,
        br#"{"jsonrpc":"2.0","id":"c","method":"tools/call","params":{}}"#,
        long_batch.as_bytes(),
    ];
    let mut chunks = Vec::new();
    let mut chunk = Vec::with_capacity(64 * 1024);
    for i in 0..lines {
        // The long batch is rarer: it is 4 KiB of input for one answer.
        let kind = if i % 97 == 0 { kinds[5] } else { kinds[i % 5] };
        chunk.extend_from_slice(kind);
        chunk.push(b'\n');
        if chunk.len() >= 64 * 1024 {
            chunks.push(std::mem::take(&mut chunk));
        }
    }
    chunks.push(chunk);
    (chunks, lines)
}

#[test]
fn a_client_that_writes_junk_and_never_reads_is_paused_not_buffered() {
    let started = Instant::now();
    let thoth = Thoth::new("dev");
    let mut proxy = Proxy::start(&thoth, &[], &[], &[fixture_server().into()]);
    proxy.initialize();
    let (mut chunks, lines) = junk(150_000);
    chunks.push(b"{\"jsonrpc\":\"2.0\",\"id\":\"last\",\"method\":\"ping\"}\n".to_vec());
    let flood = proxy.flood(chunks);
    proxy.wait_for_log("pausing reads from the client: it is not reading thoth's answers");
    flood.assert_held_back();
    let paused_at = proxy.peak_rss();
    // Now read: every junk line gets its answer, in order, before the ping's.
    let answers = proxy.read_until_id(&json!("last"));
    assert_eq!(answers.len(), lines, "one answer per junk line");
    assert!(answers.iter().all(|a| a["error"]["code"]
        .as_i64()
        .is_some_and(|c| (-32700..=-32600).contains(&c))));
    let _stdin = flood.join();
    let peak = proxy.peak_rss();
    assert!(
        peak <= bound(),
        "peak RSS {} MiB over the bound {} MiB (at the pause: {} MiB)",
        peak / MIB,
        bound() / MIB,
        paused_at / MIB
    );
    report("client junk flood (150k lines)", &proxy, started);
}

/// A server that writes requests of every kind thoth answers itself (past --max-pending, bad ids, over the
/// line cap, batches) as fast as it can and never reads its stdin.
const FLOODING_SERVER: &str = r#"
import sys
cap = int(sys.argv[1])
out = sys.stdout.buffer
kinds = [
    b'{"jsonrpc":"2.0","id":%d,"method":"sampling/createMessage","params":{}}\n',
    b'{"jsonrpc":"2.0","id":{"n":%d},"method":"roots/list"}\n',
    b'[' + b','.join([b'{"jsonrpc":"2.0","id":"b%d","method":"ping"}'] * 20) + b']\n',
]
big = b'{"jsonrpc":"2.0","id":"big","method":"ping","params":"' + b'a' * cap + b'"}\n'
n = 0
while True:
    n += 1
    if n % 500 == 0:
        out.write(big)
    else:
        k = kinds[n % 3]
        out.write(k.replace(b'%d', str(n).encode()))
"#;

#[test]
fn a_server_that_floods_and_never_reads_is_paused_not_buffered() {
    let started = Instant::now();
    let thoth = Thoth::new("dev");
    let server: Vec<OsString> = vec![
        python().into(),
        "-c".into(),
        FLOODING_SERVER.into(),
        CAP.to_string().into(),
    ];
    let mut proxy = Proxy::start(
        &thoth,
        &[],
        &["--max-pending", "8", "--shutdown-grace-ms", "200"],
        &server,
    );
    // The client reads everything thoth sends it (the first 8 requests) and answers nothing.
    let mut stdout = proxy.stdout.take().unwrap();
    let forwarded = Arc::new(AtomicUsize::new(0));
    let count = forwarded.clone();
    thread::spawn(move || {
        let mut line = Vec::new();
        while stdout.read_until(b'\n', &mut line).is_ok_and(|n| n > 0) {
            count.fetch_add(1, Ordering::SeqCst);
            line.clear();
        }
    });
    proxy.wait_for_log("pausing reads from the server: it is not reading thoth's answers");
    let peak = proxy.peak_rss();
    assert!(
        peak <= bound(),
        "peak RSS {} MiB over the bound {} MiB",
        peak / MIB,
        bound() / MIB
    );
    assert!(
        forwarded.load(Ordering::SeqCst) <= 8,
        "past --max-pending, requests are refused, not forwarded"
    );
    report("server request flood", &proxy, started);
}

#[test]
fn tools_calls_held_by_a_slow_enforcer_pause_the_client_and_all_get_answered() {
    let started = Instant::now();
    let thoth = Thoth::new("dev");
    let ca = TestCa::new("thoth test CA");
    let enforcer = Server::https(&ca.leaf());
    let gate = Gate::default();
    enforcer.route(
        "POST",
        "/v1/enforce",
        vec![Reply::json(json!({"decision": "ALLOW"})).behind(&gate)],
    );
    enforcer.route("POST", "/v1/events", vec![Reply::json(json!({}))]);
    let env = vec![
        ("THOTH_ENFORCER_URL".to_owned(), enforcer.url().to_owned()),
        ("THOTH_API_KEY".to_owned(), "tk-test-123".to_owned()),
        ("THOTH_TENANT_ID".to_owned(), "acme".to_owned()),
        (
            "THOTH_TLS_CA_BUNDLE".to_owned(),
            ca.write_pem(thoth.home.path(), "test-ca.pem"),
        ),
    ];
    let mut proxy = Proxy::start(&thoth, &env, &[], &[fixture_server().into()]);
    proxy.initialize();
    // 24 calls of ~900 KiB each: 21 MiB of arguments, far more than thoth may hold.
    let calls = 24;
    let arguments = "a".repeat(CAP - 100 * 1024);
    let chunks = (0..calls)
        .map(|id| {
            let mut line =
                serde_json::to_vec(&json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
                "params": {"name": "echo", "arguments": {"p": arguments}}}))
                .unwrap();
            line.push(b'\n');
            line
        })
        .collect();
    let flood = proxy.flood(chunks);
    proxy.wait_for_log("pausing reads from the client: its tools/calls wait for decisions");
    flood.assert_held_back();
    let held = enforcer.received_at("POST", "/v1/enforce").len();
    assert!(held < calls as usize, "{held} calls reached the enforcer");
    let paused_at = proxy.peak_rss();
    gate.open();
    let mut answered = std::collections::BTreeSet::new();
    while answered.len() < calls as usize {
        let v = proxy.read_line();
        assert!(
            v["result"]["content"].is_array(),
            "{}",
            &v.to_string()[..200.min(v.to_string().len())]
        );
        answered.insert(v["id"].as_i64().expect("an id"));
    }
    assert_eq!(answered, (0..calls).collect());
    let _stdin = flood.join();
    let peak = proxy.peak_rss();
    assert!(
        peak <= bound(),
        "peak RSS {} MiB over the bound {} MiB (paused with {held} calls held at {} MiB)",
        peak / MIB,
        bound() / MIB,
        paused_at / MIB
    );
    report(
        &format!("held calls ({held} held at the pause)"),
        &proxy,
        started,
    );
}

/// The server's pid from thoth's "started the MCP server" log line.
fn server_pid(proxy: &Proxy) -> u32 {
    proxy.wait_for_log("started the MCP server");
    let text = proxy.stderr();
    let line = &text[text.find("started the MCP server").expect("the log line")..];
    let at = line.find("pid=").expect("pid in the log line") + 4;
    line[at..]
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .and_then(|n| n.parse().ok())
        .expect("a pid")
}

/// Gone, or a zombie waiting for init to reap it: either way no longer running.
fn is_running(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => false,
        Ok(stat) => {
            let state = stat.rsplit(')').next().unwrap_or("").trim_start();
            !state.starts_with('Z') && !state.starts_with('X')
        }
    }
}

#[test]
fn a_server_does_not_outlive_a_killed_thoth() {
    let started = Instant::now();
    let thoth = Thoth::new("dev");
    // --ignore-eof: this server would keep running after its stdin closes.
    let server: Vec<OsString> = vec![fixture_server().into(), "--ignore-eof".into()];
    let mut proxy = Proxy::start(&thoth, &[], &[], &server);
    proxy.initialize();
    let pid = server_pid(&proxy);
    assert!(is_running(pid));
    let killed = Instant::now();
    proxy.child.kill().expect("SIGKILL thoth");
    proxy.child.wait().expect("reap thoth");
    let deadline = Instant::now() + Duration::from_secs(10);
    while is_running(pid) {
        assert!(
            Instant::now() < deadline,
            "the server (pid {pid}) still runs 10 s after thoth was killed"
        );
        thread::sleep(Duration::from_millis(10));
    }
    eprintln!(
        "server dies with thoth: gone {:.2} s after the SIGKILL ({:.1} s in all)",
        killed.elapsed().as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
}
