//! The proxy benchmark (`cargo bench --bench proxy`): the same echo server driven directly, through thoth,
//! and through a naive Python pass-through, in one run, by a minimal JSON-lines client. Prints round-trip
//! latency p50/p99, sequential and pipelined calls per second, 10 MB echo throughput and thoth's peak RSS,
//! with ratios against direct. Figures, never assertions (DESIGN.md §7).
//!
//! The bench binary is also the echo server: `proxy __serve` answers initialize and tools/call (echoing
//! `arguments.data` as text) on stdin/stdout.
#![allow(clippy::print_stdout, clippy::print_stderr)]

/// The std-only floor pass-through (`proxy __floor <server...>`) and the side-by-side run against it.
mod floor;
/// The loopback HTTPS server of the integration tests, for the enforcer measurement.
#[path = "../tests/support/https.rs"]
mod https;
mod side_by_side;

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const WARMUP: usize = 2_000;
const CALLS: usize = 20_000;
const ROUNDS: usize = 10;
const WINDOW: usize = 64;
const PIPELINED_CALLS: usize = 50_000;
const BIG_BYTES: usize = 10_000_000;
const BIG_ROUNDS: usize = 10;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("__serve") {
        serve();
        return;
    }
    if args.get(1).map(String::as_str) == Some("__floor") {
        std::process::exit(floor::run(&args[2..]));
    }
    let me = std::env::current_exe().expect("bench path");
    let thoth = env!("CARGO_BIN_EXE_thoth");
    let server = vec![me.to_string_lossy().into_owned(), "__serve".to_owned()];
    // `cargo bench --bench proxy -- govapi`: only the GovAPI heartbeat comparison.
    let govapi_only = args.iter().any(|a| a == "govapi");
    let mut through_thoth = vec![
        thoth.to_owned(),
        "run".into(),
        "--agent-id".into(),
        "bench".into(),
        "--enforcement-mode".into(),
        "block".into(),
        "--approved-scope".into(),
        "echo".into(),
        "--log-level".into(),
        "warn".into(),
        "--".into(),
    ];
    through_thoth.extend(server.clone());
    if govapi_only {
        govapi_overhead(&through_thoth);
        return;
    }
    let naive =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/naive_passthrough.py");
    let mut through_python = vec!["python3".to_owned(), naive.to_string_lossy().into_owned()];
    through_python.extend(server.clone());
    let mut through_floor = vec![me.to_string_lossy().into_owned(), "__floor".to_owned()];
    through_floor.extend(server.clone());
    let observe: Vec<String> = [
        thoth,
        "run",
        "--agent-id",
        "bench",
        "--enforcement-mode",
        "observe",
        "--log-level",
        "warn",
        "--",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain(server.clone())
    .collect();
    let mut side = vec![
        ("direct", server.clone()),
        ("floor", through_floor),
        ("thoth observe", observe),
        ("thoth block", through_thoth.clone()),
    ];
    // `THOTH_BENCH_BASELINE=<an earlier thoth binary>`: also that build, observe and block, in the same
    // alternating rounds (before/after figures from one sitting).
    if let Ok(baseline) = std::env::var("THOTH_BENCH_BASELINE") {
        let swap = |cmd: &[String]| -> Vec<String> {
            std::iter::once(baseline.clone())
                .chain(cmd[1..].iter().cloned())
                .collect()
        };
        let (observe, block) = (swap(&side[2].1), swap(&side[3].1));
        side.push(("before observe", observe));
        side.push(("before block", block));
    }
    if python_available() {
        side.push(("naive python", through_python.clone()));
    }
    side_by_side::run(side);
    // `cargo bench --bench proxy -- floor`: only the side-by-side comparison with the floor.
    if args.iter().any(|a| a == "floor") {
        return;
    }
    println!();

    println!("thoth proxy benchmark: {CALLS} sequential tools/call (after {WARMUP} warm-up), {PIPELINED_CALLS} pipelined (window {WINDOW}), {BIG_ROUNDS} x {} MB echo", BIG_BYTES / 1_000_000);
    // The paths take turns, in rounds, for the sequential phase: this VM's wake-up latency drifts over
    // seconds, and interleaving puts every path under the same drift.
    let mut paths: Vec<(&'static str, Client, bool)> = vec![
        ("direct", Client::spawn(&server), false),
        ("thoth", Client::spawn(&through_thoth), true),
    ];
    if python_available() {
        paths.push(("naive python", Client::spawn(&through_python), false));
    }
    for (_, c, _) in &mut paths {
        for _ in 0..WARMUP {
            c.call("warm");
        }
    }
    let thoth_cpu_before = paths[1].1.cpu_ns();
    let mut samples: Vec<Vec<Duration>> = vec![Vec::with_capacity(CALLS); paths.len()];
    for _ in 0..ROUNDS {
        for (i, (_, c, _)) in paths.iter_mut().enumerate() {
            for _ in 0..CALLS / ROUNDS {
                let t = Instant::now();
                c.call("hello");
                samples[i].push(t.elapsed());
            }
        }
    }
    let thoth_cpu_us_per_call =
        paths[1].1.cpu_ns().saturating_sub(thoth_cpu_before) as f64 / 1e3 / CALLS as f64;
    eprintln!("measuring pipelined calls and 10 MB echoes ...");
    let mut measured: Vec<Measure> = paths
        .into_iter()
        .zip(samples)
        .map(|((name, c, rss), samples)| measure(name, c, samples, rss))
        .collect();
    let python = (measured.len() > 2).then(|| measured.remove(2));
    let thoth = measured.remove(1);
    let direct = measured.remove(0);
    println!();
    println!(
        "{:<14} {:>9} {:>9} {:>12} {:>12} {:>10} {:>10}",
        "path", "p50 µs", "p99 µs", "seq calls/s", "pipe calls/s", "10MB MB/s", "peak RSS"
    );
    for m in [Some(&direct), Some(&thoth), python.as_ref()]
        .into_iter()
        .flatten()
    {
        println!(
            "{:<14} {:>9.1} {:>9.1} {:>12.0} {:>12.0} {:>10.0} {:>10}",
            m.name,
            m.p50_us,
            m.p99_us,
            m.seq_per_s,
            m.pipelined_per_s,
            m.big_mb_per_s,
            m.peak_rss_kib
                .map(|k| format!("{:.1} MB", k as f64 / 1024.0))
                .unwrap_or_else(|| "-".into())
        );
    }
    println!();
    let report = |m: &Measure| {
        println!(
            "{:<14} adds p50 {:+.1} µs, p99 {:+.1} µs; seq calls/s {:.3}x, pipelined {:.3}x, 10MB throughput {:.3}x of direct",
            m.name,
            m.p50_us - direct.p50_us,
            m.p99_us - direct.p99_us,
            m.seq_per_s / direct.seq_per_s,
            m.pipelined_per_s / direct.pipelined_per_s,
            m.big_mb_per_s / direct.big_mb_per_s
        );
    };
    report(&thoth);
    println!("thoth CPU time per sequential call (all its threads, /proc schedstat): {thoth_cpu_us_per_call:.1} µs");
    enforcer_overhead(&through_thoth);
    govapi_overhead(&through_thoth);
    let mb = |k: Option<u64>| {
        k.map(|k| format!("{:.1} MB", k as f64 / 1024.0))
            .unwrap_or_else(|| "-".into())
    };
    println!(
        "thoth resident memory: peak {} during small calls, peak {} with 10 MB messages, {} after them",
        mb(thoth.small_peak_rss_kib),
        mb(thoth.peak_rss_kib),
        mb(thoth.after_rss_kib)
    );
    if let Some(p) = &python {
        report(p);
    }
}

fn python_available() -> bool {
    Command::new("python3").arg("--version").output().is_ok()
}

struct Measure {
    name: &'static str,
    p50_us: f64,
    p99_us: f64,
    seq_per_s: f64,
    pipelined_per_s: f64,
    big_mb_per_s: f64,
    /// Peak resident memory over the small-call phases.
    small_peak_rss_kib: Option<u64>,
    /// Peak over the whole run, including the 10 MB echoes.
    peak_rss_kib: Option<u64>,
    /// Resident after the 10 MB echoes.
    after_rss_kib: Option<u64>,
}

struct Client {
    child: Child,
    stdin: BufWriter<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    line: String,
    next_id: u64,
}

impl Client {
    fn spawn(cmd: &[String]) -> Client {
        Client::spawn_with(cmd, &[])
    }

    fn spawn_with(cmd: &[String], env: &[(String, String)]) -> Client {
        let mut child = Command::new(&cmd[0])
            .args(&cmd[1..])
            .env("THOTH_ENV", "dev")
            // A scratch home: thoth keeps its audit log there, not in the user's own ~/.thoth.
            .env("HOME", std::env::temp_dir().join("thoth-bench-home"))
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn");
        let stdin = BufWriter::new(child.stdin.take().expect("stdin"));
        let stdout = BufReader::with_capacity(1 << 20, child.stdout.take().expect("stdout"));
        let mut c = Client {
            child,
            stdin,
            stdout,
            line: String::new(),
            next_id: 0,
        };
        c.send_raw(r#"{"jsonrpc":"2.0","id":"init","method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"bench","version":"0"}}}"#);
        c.flush();
        c.recv();
        c.send_raw(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
        c
    }

    fn send_raw(&mut self, line: &str) {
        self.stdin.write_all(line.as_bytes()).expect("write");
        self.stdin.write_all(b"\n").expect("write");
    }

    fn send_call(&mut self, data: &str) {
        let id = self.next_id;
        self.next_id += 1;
        let line = format!(
            r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"echo","arguments":{{"data":"{data}"}}}}}}"#
        );
        self.send_raw(&line);
    }

    /// One tools/call, waiting for its answer.
    fn call(&mut self, data: &str) {
        self.send_call(data);
        self.flush();
        self.recv();
    }

    /// CPU time the process has used so far, all threads (ns).
    fn cpu_ns(&self) -> u64 {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{}/task", self.child.id())) else {
            return 0;
        };
        tasks
            .filter_map(Result::ok)
            .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
            .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
            .sum()
    }

    fn flush(&mut self) {
        self.stdin.flush().expect("flush");
    }

    /// Read one response line; returns its length. Panics on anything that is not a result.
    fn recv(&mut self) -> usize {
        self.line.clear();
        let n = self.stdout.read_line(&mut self.line).expect("read");
        assert!(n > 0, "server closed");
        if !self.line.contains("\"result\"") {
            panic!("not a result: {}", &self.line[..self.line.len().min(300)]);
        }
        n
    }

    /// A `/proc/<pid>/status` field in KiB (VmHWM: peak resident, VmRSS: resident now).
    fn status_kib(&self, field: &str) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        status
            .lines()
            .find(|l| l.starts_with(field))?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()
    }

    fn close(mut self) {
        drop(self.stdin);
        let _ = self.child.wait();
    }
}

/// The rest of one path's figures: its sequential samples (taken in rounds), then pipelined calls and
/// 10 MB echoes on the same client.
fn measure(name: &'static str, mut c: Client, mut samples: Vec<Duration>, rss: bool) -> Measure {
    let seq_total: Duration = samples.iter().sum();
    samples.sort_unstable();
    let pct = |p: f64| samples[((samples.len() as f64 - 1.0) * p) as usize].as_secs_f64() * 1e6;

    // Pipelined: keep WINDOW calls in flight.
    let start = Instant::now();
    let (mut sent, mut received) = (0, 0);
    while received < PIPELINED_CALLS {
        while sent < PIPELINED_CALLS && sent - received < WINDOW {
            c.send_call("p");
            sent += 1;
        }
        c.flush();
        c.recv();
        received += 1;
    }
    let pipelined_elapsed = start.elapsed();
    let small_peak_rss_kib = if rss { c.status_kib("VmHWM:") } else { None };

    let big = "x".repeat(BIG_BYTES);
    let start = Instant::now();
    let mut bytes = 0usize;
    for _ in 0..BIG_ROUNDS {
        c.send_call(&big);
        c.flush();
        bytes += BIG_BYTES * 2; // there and back
        let n = c.recv();
        assert!(n > BIG_BYTES, "short echo");
    }
    let big_elapsed = start.elapsed();
    let peak_rss_kib = if rss { c.status_kib("VmHWM:") } else { None };
    let after_rss_kib = if rss { c.status_kib("VmRSS:") } else { None };
    c.close();
    Measure {
        name,
        p50_us: pct(0.50),
        p99_us: pct(0.99),
        seq_per_s: samples.len() as f64 / seq_total.as_secs_f64(),
        pipelined_per_s: PIPELINED_CALLS as f64 / pipelined_elapsed.as_secs_f64(),
        big_mb_per_s: bytes as f64
            / 1e6
            / big_elapsed
                .as_secs_f64()
                .max(Duration::from_nanos(1).as_secs_f64()),
        small_peak_rss_kib,
        peak_rss_kib,
        after_rss_kib,
    }
}

/// The echo server: initialize, notifications ignored, tools/call echoes `arguments.data`.
fn serve() {
    let stdin = std::io::stdin();
    let mut out = BufWriter::new(std::io::stdout().lock());
    let mut line = String::new();
    let mut input = stdin.lock();
    loop {
        line.clear();
        if input.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let Ok(msg) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        let Some(id) = msg.get("id") else { continue };
        let result = match msg["method"].as_str() {
            Some("initialize") => {
                serde_json::json!({"protocolVersion": "2025-06-18", "capabilities": {"tools": {}}, "serverInfo": {"name": "bench-echo", "version": "0"}})
            }
            _ => {
                serde_json::json!({"content": [{"type": "text", "text": msg["params"]["arguments"]["data"]}]})
            }
        };
        let reply = serde_json::json!({"jsonrpc": "2.0", "id": id, "result": result});
        serde_json::to_writer(&mut out, &reply).expect("write");
        out.write_all(b"\n").expect("write");
        out.flush().expect("flush");
    }
}

const GOVERNED_CALLS: usize = 3_000;

/// Governed tools/call latency through thoth with the local policy alone vs with a loopback HTTPS enforcer
/// (answering ALLOW at once), against the enforcer's own round trip from a keep-alive client; and how many
/// TLS connections thoth opened for all those calls.
fn enforcer_overhead(through_thoth: &[String]) {
    let dir = std::env::temp_dir().join(format!("thoth-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let ca = https::TestCa::new("thoth bench CA");
    let server = https::Server::https(&ca.leaf());
    server.route(
        "POST",
        "/v1/enforce",
        vec![https::Reply::json(serde_json::json!({"decision": "ALLOW"}))],
    );
    server.route("POST", "/v1/events", vec![https::Reply::status(202, "")]);
    let ca_path = ca.write_pem(&dir, "ca.pem");
    let env = vec![
        ("THOTH_ENFORCER_URL".to_owned(), server.url().to_owned()),
        ("THOTH_API_KEY".to_owned(), "sk-bench".to_owned()),
        ("THOTH_TENANT_ID".to_owned(), "bench".to_owned()),
        ("THOTH_TLS_CA_BUNDLE".to_owned(), ca_path.clone()),
        ("HOME".to_owned(), dir.display().to_string()),
    ];
    let local = governed_latencies(
        through_thoth,
        &[("HOME".to_owned(), dir.display().to_string())],
    );
    let before = server.connections();
    let remote = governed_latencies(through_thoth, &env);
    let connections = server.connections() - before;
    let own = enforcer_round_trips(server.url(), &ca_path);
    let p = |v: &[Duration], q: f64| v[((v.len() as f64 - 1.0) * q) as usize].as_secs_f64() * 1e6;
    println!();
    println!("governed tools/call ({GOVERNED_CALLS} calls each)   p50 µs    p99 µs");
    println!(
        "  local policy only                  {:>9.1} {:>9.1}",
        p(&local, 0.5),
        p(&local, 0.99)
    );
    println!(
        "  loopback HTTPS enforcer            {:>9.1} {:>9.1}",
        p(&remote, 0.5),
        p(&remote, 0.99)
    );
    println!(
        "  the enforcer's own round trip      {:>9.1} {:>9.1}",
        p(&own, 0.5),
        p(&own, 0.99)
    );
    println!(
        "  thoth's cost over the enforcer at p50: {:+.1} µs (enforcer path - local path - enforcer round trip); TLS connections opened for {GOVERNED_CALLS} calls: {connections}",
        p(&remote, 0.5) - p(&local, 0.5) - p(&own, 0.5)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn governed_latencies(cmd: &[String], env: &[(String, String)]) -> Vec<Duration> {
    let mut c = Client::spawn_with(cmd, env);
    for _ in 0..200 {
        c.send_call("warm");
        c.flush();
        c.recv();
    }
    let mut samples: Vec<Duration> = (0..GOVERNED_CALLS)
        .map(|_| {
            let t = Instant::now();
            c.send_call("governed");
            c.flush();
            c.recv();
            t.elapsed()
        })
        .collect();
    c.close();
    samples.sort_unstable();
    samples
}

/// The enforcer's own response time, from a keep-alive HTTPS client in this process.
fn enforcer_round_trips(base: &str, ca_path: &str) -> Vec<Duration> {
    let pem = std::fs::read(ca_path).expect("ca");
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).expect("ca pem"))
        .build()
        .expect("client");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let url = format!("{base}/v1/enforce");
    runtime.block_on(async {
        let body = r#"{"tool_name":"echo","tool_args":{"data":"governed"}}"#;
        for _ in 0..200 {
            client
                .post(&url)
                .body(body)
                .send()
                .await
                .expect("warm")
                .bytes()
                .await
                .expect("body");
        }
        let mut samples = Vec::with_capacity(GOVERNED_CALLS);
        for _ in 0..GOVERNED_CALLS {
            let t = Instant::now();
            client
                .post(&url)
                .header("x-api-key", "sk-bench")
                .body(body)
                .send()
                .await
                .expect("post")
                .bytes()
                .await
                .expect("body");
            samples.push(t.elapsed());
        }
        samples.sort_unstable();
        samples
    })
}

/// How long the GovAPI comparison runs calls (several 1 s heartbeat intervals), in turns of `GOVAPI_TURN`.
const GOVAPI_PHASE: Duration = Duration::from_secs(10);
const GOVAPI_TURN: usize = 500;

/// The MCP round trip through thoth without and with a GovAPI configured (loopback HTTPS, heartbeats every
/// second while the calls run): both processes live at once and take turns of `GOVAPI_TURN` calls, so both
/// see the same machine drift; and how many check-ins GovAPI received meanwhile (heartbeats really ran).
fn govapi_overhead(through_thoth: &[String]) {
    let dir = std::env::temp_dir().join(format!("thoth-bench-govapi-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let ca = https::TestCa::new("thoth bench CA");
    let server = https::Server::https(&ca.leaf());
    server.route(
        "POST",
        "/v1/endpoints/*",
        vec![https::Reply::json(serde_json::json!({}))],
    );
    let home = ("HOME".to_owned(), dir.display().to_string());
    let with = vec![
        ("THOTH_GOVAPI_URL".to_owned(), server.url().to_owned()),
        ("THOTH_GOVAPI_API_KEY".to_owned(), "gk-bench".to_owned()),
        ("THOTH_ENDPOINT_ID".to_owned(), "bench-endpoint".to_owned()),
        (
            "THOTH_HEARTBEAT_INTERVAL_SECONDS".to_owned(),
            "1".to_owned(),
        ),
        (
            "THOTH_TLS_CA_BUNDLE".to_owned(),
            ca.write_pem(&dir, "ca.pem"),
        ),
        home.clone(),
    ];
    let mut clients = [
        Client::spawn_with(through_thoth, std::slice::from_ref(&home)),
        Client::spawn_with(through_thoth, &with),
    ];
    for c in &mut clients {
        for _ in 0..200 {
            c.call("warm");
        }
    }
    let mut samples: [Vec<Duration>; 2] = [Vec::new(), Vec::new()];
    let start = Instant::now();
    while start.elapsed() < GOVAPI_PHASE {
        for (c, samples) in clients.iter_mut().zip(samples.iter_mut()) {
            for _ in 0..GOVAPI_TURN {
                let t = Instant::now();
                c.call("hello");
                samples.push(t.elapsed());
            }
        }
    }
    for c in clients {
        c.close();
    }
    let [mut without_samples, mut with_samples] = samples;
    without_samples.sort_unstable();
    with_samples.sort_unstable();
    let checkins = server
        .received_at("POST", "/v1/endpoints/bench-endpoint/checkin")
        .len();
    let p = |v: &[Duration], q: f64| v[((v.len() as f64 - 1.0) * q) as usize].as_secs_f64() * 1e6;
    println!();
    println!(
        "MCP round trip through thoth, GovAPI heartbeats off vs on ({GOVAPI_PHASE:?}, turns of {GOVAPI_TURN})   p50 µs    p99 µs   calls"
    );
    for (name, v) in [
        ("no GovAPI", &without_samples),
        ("GovAPI, 1 s heartbeats", &with_samples),
    ] {
        println!(
            "  {name:<62} {:>9.1} {:>9.1} {:>7}",
            p(v, 0.5),
            p(v, 0.99),
            v.len()
        );
    }
    println!(
        "  heartbeats change p50 by {:+.1} µs ({:.3}x), p99 by {:+.1} µs; GovAPI received {checkins} check-ins meanwhile",
        p(&with_samples, 0.5) - p(&without_samples, 0.5),
        p(&with_samples, 0.5) / p(&without_samples, 0.5),
        p(&with_samples, 0.99) - p(&without_samples, 0.99)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
