//! The remote bridge benchmark (`cargo bench --bench bridge`): one local Streamable HTTP MCP server (in this
//! process, HTTP/1.1 keep-alive, JSON answers, a session id) called directly by a minimal HTTP client and
//! through `thoth run --url` (block mode, the tool in scope: the full governed path), in alternating rounds
//! in one run. Prints p50/p90 round trips of one tools/call at a time and the ratio bridge / direct.
//! Figures, never assertions (DESIGN.md §7).
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const WARMUP: usize = 500;
const ROUNDS: usize = 10;
const CALLS_PER_ROUND: usize = 1_000;

fn main() {
    let url = serve();
    let thoth = env!("CARGO_BIN_EXE_thoth");
    let mut direct = Direct::connect(&url);
    let mut bridged = Bridged::spawn(thoth, &url);
    for _ in 0..WARMUP {
        direct.call("warm");
        bridged.call("warm");
    }
    let (mut d, mut b) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        for _ in 0..CALLS_PER_ROUND {
            let t = Instant::now();
            direct.call("hello");
            d.push(t.elapsed());
        }
        for _ in 0..CALLS_PER_ROUND {
            let t = Instant::now();
            bridged.call("hello");
            b.push(t.elapsed());
        }
    }
    d.sort_unstable();
    b.sort_unstable();
    let pct = |v: &[Duration], q: f64| v[((v.len() as f64 - 1.0) * q) as usize].as_secs_f64() * 1e6;
    println!(
        "tools/call to a local Streamable HTTP server, one at a time, {ROUNDS} alternating rounds of {CALLS_PER_ROUND}"
    );
    println!("{:<28} {:>10} {:>10}", "path", "p50 µs", "p90 µs");
    println!(
        "{:<28} {:>10.1} {:>10.1}",
        "direct HTTP client",
        pct(&d, 0.5),
        pct(&d, 0.9)
    );
    println!(
        "{:<28} {:>10.1} {:>10.1}",
        "thoth run --url (block)",
        pct(&b, 0.5),
        pct(&b, 0.9)
    );
    println!(
        "bridge / direct: p50 {:.2}x ({:+.1} µs), p90 {:.2}x ({:+.1} µs)",
        pct(&b, 0.5) / pct(&d, 0.5),
        pct(&b, 0.5) - pct(&d, 0.5),
        pct(&b, 0.9) / pct(&d, 0.9),
        pct(&b, 0.9) - pct(&d, 0.9),
    );
    bridged.close();
}

/// The server: a thread per connection, keep-alive.
fn serve() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!(
        "http://127.0.0.1:{}/mcp",
        listener.local_addr().expect("addr").port()
    );
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || connection(stream));
        }
    });
    url
}

fn connection(stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let mut out = BufWriter::new(stream.try_clone().expect("clone"));
    let mut reader = BufReader::new(stream);
    while let Some((method, body)) = read_message(&mut reader, false) {
        let reply = match method.as_str() {
            "POST" => answer(&body),
            "DELETE" => "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n".to_string(),
            _ => "HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\n\r\n".to_string(),
        };
        if out
            .write_all(reply.as_bytes())
            .and_then(|()| out.flush())
            .is_err()
        {
            return;
        }
    }
}

fn answer(body: &[u8]) -> String {
    let msg: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    if msg["id"].is_null() || msg["method"].is_null() {
        return "HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n".to_string();
    }
    let result = match msg["method"].as_str().unwrap_or("") {
        "initialize" => json!({"protocolVersion":"2025-06-18","capabilities":{"tools":{}},
            "serverInfo":{"name":"bench","version":"1"}}),
        "tools/call" => json!({"content":[{"type":"text",
            "text": msg["params"]["arguments"]["data"].as_str().unwrap_or("")}]}),
        _ => json!({}),
    };
    let body = json!({"jsonrpc":"2.0","id":msg["id"],"result":result}).to_string();
    format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nmcp-session-id: bench-1\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// One HTTP/1.1 message (request when `response` is false): its first word (method) or status, and body.
fn read_message(reader: &mut impl BufRead, response: bool) -> Option<(String, Vec<u8>)> {
    let mut first = String::new();
    if reader.read_line(&mut first).ok()? == 0 {
        return None;
    }
    let word = first
        .split_whitespace()
        .nth(usize::from(response))?
        .to_string();
    let mut length = 0;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        if line == "\r\n" {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().ok()?;
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some((word, body))
}

/// The direct path: what an MCP client with its own HTTP stack does (one keep-alive connection).
struct Direct {
    out: BufWriter<TcpStream>,
    reader: BufReader<TcpStream>,
    host: String,
    next_id: u64,
}

impl Direct {
    fn connect(url: &str) -> Direct {
        let host = url
            .trim_start_matches("http://")
            .split('/')
            .next()
            .expect("host")
            .to_string();
        let stream = TcpStream::connect(&host).expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        let mut d = Direct {
            out: BufWriter::new(stream.try_clone().expect("clone")),
            reader: BufReader::new(stream),
            host,
            next_id: 0,
        };
        d.post(&json!({"jsonrpc":"2.0","id":"init","method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"bench","version":"0"}}}).to_string());
        d.post(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
        d
    }

    fn post(&mut self, body: &str) -> Vec<u8> {
        write!(
            self.out,
            "POST /mcp HTTP/1.1\r\nhost: {}\r\ncontent-type: application/json\r\naccept: application/json, text/event-stream\r\nmcp-session-id: bench-1\r\ncontent-length: {}\r\n\r\n{body}",
            self.host,
            body.len()
        )
        .expect("write");
        self.out.flush().expect("flush");
        read_message(&mut self.reader, true).expect("answer").1
    }

    fn call(&mut self, data: &str) {
        let id = self.next_id;
        self.next_id += 1;
        let body = self.post(&format!(
            r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"echo","arguments":{{"data":"{data}"}}}}}}"#
        ));
        let answer: Value = serde_json::from_slice(&body).expect("json");
        assert!(answer["result"].is_object(), "{answer}");
    }
}

/// The bridged path: the same calls as JSON lines to `thoth run --url`.
struct Bridged {
    child: Child,
    stdin: BufWriter<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    line: String,
    next_id: u64,
}

impl Bridged {
    fn spawn(thoth: &str, url: &str) -> Bridged {
        let mut child = Command::new(thoth)
            .args([
                "run",
                "--agent-id",
                "bench",
                "--enforcement-mode",
                "block",
                "--approved-scope",
                "echo",
            ])
            .args([
                "--log-level",
                "warn",
                "--url",
                url,
                "--transport",
                "streamable-http",
            ])
            .env("THOTH_ENV", "dev")
            // A scratch home: thoth keeps its audit log there, not in the user's own ~/.thoth.
            .env("HOME", std::env::temp_dir().join("thoth-bench-home"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn thoth");
        let mut b = Bridged {
            stdin: BufWriter::new(child.stdin.take().expect("stdin")),
            stdout: BufReader::new(child.stdout.take().expect("stdout")),
            child,
            line: String::new(),
            next_id: 0,
        };
        b.send(r#"{"jsonrpc":"2.0","id":"init","method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"bench","version":"0"}}}"#);
        b.recv();
        b.send(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
        b
    }

    fn send(&mut self, line: &str) {
        self.stdin.write_all(line.as_bytes()).expect("write");
        self.stdin.write_all(b"\n").expect("write");
        self.stdin.flush().expect("flush");
    }

    fn recv(&mut self) {
        self.line.clear();
        let n = self.stdout.read_line(&mut self.line).expect("read");
        assert!(
            n > 0 && self.line.contains("\"result\""),
            "not a result: {}",
            self.line
        );
    }

    fn call(&mut self, data: &str) {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&format!(
            r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"echo","arguments":{{"data":"{data}"}}}}}}"#
        ));
        self.recv();
    }

    fn close(mut self) {
        drop(self.stdin);
        let _ = self.child.wait();
    }
}
