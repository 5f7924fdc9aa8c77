//! `thoth run --url` (issue 18) under hostile or fast servers, memory bounded by `--max-line-bytes`: a GET
//! stream flooding while the client does not read (the server is held back, nothing lost once it reads), an
//! endless SSE line, an endless comment, bytes that never reach a newline, a huge event of many `data:` lines
//! (on the GET stream: the session stays up; on a call's answer stream: that call gets a clear error), and a
//! JSON body that never ends. thoth's peak RSS (VmHWM) stays under `64 MiB + 2 × --max-line-bytes`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, ChildStdin, ChildStdout, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::remote_kit::{self as kit, After, Request};
use crate::support::{init_params, Thoth};

const MIB: u64 = 1 << 20;

fn bound(cap: usize) -> u64 {
    64 * MIB + 2 * cap as u64
}

fn peak_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line["VmHWM:".len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse::<u64>()
        .unwrap()
        * 1024
}

/// `thoth run --url` whose stdout the test reads only when it decides to.
struct Bridge {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    stderr: Arc<Mutex<Vec<u8>>>,
}

impl Bridge {
    fn start(t: &Thoth, url: &str, cap: usize) -> Bridge {
        let mut cmd = t.command();
        cmd.env("THOTH_LOG", "warn")
            .args(["run", "--url", url, "--max-line-bytes", &cap.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn thoth");
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let mut pipe = child.stderr.take().unwrap();
        let sink = stderr.clone();
        std::thread::spawn(move || {
            let mut chunk = [0u8; 8192];
            while let Ok(n) = pipe.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&chunk[..n]);
            }
        });
        Bridge {
            stdin: child.stdin.take(),
            stdout: BufReader::new(child.stdout.take().unwrap()),
            child,
            stderr,
        }
    }

    fn stderr(&self) -> String {
        let text = String::from_utf8_lossy(&self.stderr.lock().unwrap()).into_owned();
        text[text.len().saturating_sub(4000)..].to_string()
    }

    fn send(&mut self, v: &Value) {
        let stdin = self.stdin.as_mut().unwrap();
        let mut line = serde_json::to_vec(v).unwrap();
        line.push(b'\n');
        stdin.write_all(&line).unwrap();
        stdin.flush().unwrap();
    }

    fn recv(&mut self) -> Value {
        let mut line = Vec::new();
        let n = self.stdout.read_until(b'\n', &mut line).unwrap();
        assert!(n > 0, "thoth closed stdout; stderr:\n{}", self.stderr());
        serde_json::from_slice(&line).unwrap_or_else(|e| panic!("non-JSON on stdout ({e})"))
    }

    fn recv_id(&mut self, id: &Value) -> Value {
        loop {
            let m = self.recv();
            if m.get("id") == Some(id) && m.get("method").is_none() {
                return m;
            }
        }
    }

    fn initialize(&mut self) {
        self.send(&json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":init_params()}));
        let init = self.recv_id(&json!(1));
        assert!(init["result"]["serverInfo"].is_object(), "{init}");
        self.send(&json!({"jsonrpc":"2.0","method":"notifications/initialized"}));
    }

    fn call(&mut self, id: u64, tool: &str) -> Value {
        self.send(&json!({"jsonrpc":"2.0","id":id,"method":"tools/call","params":{"name":tool,"arguments":{}}}));
        self.recv_id(&json!(id))
    }

    fn finish(mut self) {
        self.stdin.take();
        match crate::support::wait_exit(&mut self.child, Duration::from_secs(5)) {
            Some(status) => assert!(status.success(), "{status:?}: {}", self.stderr()),
            None => panic!("thoth did not exit within 5 s of stdin EOF"),
        }
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// POSTs of the flood and hostile servers: initialize and `ok` answered as JSON, notifications 202.
fn post(req: &Request, out: &mut TcpStream) -> After {
    let msg = req.json();
    match msg["method"].as_str() {
        Some("initialize") => kit::json(out, Some("b-1"), &kit::init_result(&msg["id"], "hostile")),
        Some(_) if !msg["id"].is_null() => kit::json(
            out,
            None,
            &json!({"jsonrpc":"2.0","id":msg["id"],"result":{"content":[{"type":"text","text":"ok"}]}}),
        ),
        _ => kit::reply(out, "202 Accepted", &[], b""),
    }
    After::KeepAlive
}

const FLOOD_EVENTS: u64 = 1024;
const FLOOD_PAD: usize = 64 * 1024;

/// What the flooding GET stream managed to write, and since when its writes have been blocked.
#[derive(Default)]
struct Flood {
    written: AtomicU64,
    blocked: Mutex<Option<Instant>>,
    done: AtomicBool,
}

/// Write all of `bytes`, noting when a write waits longer than a moment (the reader stopped reading).
fn write_watched(out: &mut TcpStream, mut bytes: &[u8], flood: &Flood) -> bool {
    while !bytes.is_empty() {
        match out.write(bytes) {
            Ok(0) => return false,
            Ok(n) => {
                bytes = &bytes[n..];
                flood.written.fetch_add(n as u64, Ordering::SeqCst);
                *flood.blocked.lock().unwrap() = None;
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                flood
                    .blocked
                    .lock()
                    .unwrap()
                    .get_or_insert_with(Instant::now);
            }
            Err(_) => return false,
        }
    }
    true
}

#[test]
fn a_get_stream_flooding_a_client_that_does_not_read_is_held_back_and_nothing_is_lost() {
    let cap = 1 << 20;
    let flood = Arc::new(Flood::default());
    let state = flood.clone();
    let (url, _log) = kit::serve(move |req, out| {
        if req.method != "GET" {
            return post(req, out);
        }
        if kit::sse_head(out).is_err() || state.done.swap(true, Ordering::SeqCst) {
            return After::Close;
        }
        out.set_write_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let pad = "x".repeat(FLOOD_PAD);
        for seq in 0..FLOOD_EVENTS {
            let event = format!(
                "id: {seq}\ndata: {}\n\n",
                json!({"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":{"seq":seq,"pad":pad}}})
            );
            if !write_watched(out, event.as_bytes(), &state) {
                return After::Close;
            }
        }
        kit::hold(out);
        After::Close
    });
    let t = Thoth::new("dev");
    let mut b = Bridge::start(&t, &url, cap);
    b.initialize();
    // The client reads nothing now: wait until the server's writes have been blocked for 2 s straight.
    let total = FLOOD_EVENTS * (FLOOD_PAD as u64 + 100);
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let blocked = *flood.blocked.lock().unwrap();
        if blocked.is_some_and(|since| since.elapsed() > Duration::from_secs(2)) {
            break;
        }
        let peak = peak_rss(b.child.id());
        assert!(
            peak <= bound(cap),
            "thoth grew to {} MiB; stderr:\n{}",
            peak / MIB,
            b.stderr()
        );
        assert!(
            flood.written.load(Ordering::SeqCst) < total,
            "the whole flood was swallowed while the client read nothing"
        );
        assert!(Instant::now() < deadline, "the server was never held back");
        // The event (the server's write blocked for 2 s) is sampled: RSS has no notification to wait on.
        std::thread::sleep(Duration::from_millis(20));
    }
    let held = flood.written.load(Ordering::SeqCst);
    assert!(
        held < total / 2,
        "{held} of {total} bytes taken while the client read nothing"
    );
    assert!(peak_rss(b.child.id()) <= bound(cap));
    // Now the client reads: every event arrives, once, in order.
    for seq in 0..FLOOD_EVENTS {
        let m = b.recv();
        assert_eq!(m["params"]["data"]["seq"], seq, "lost or reordered");
    }
    assert_eq!(b.call(2, "ok")["result"]["content"][0]["text"], "ok");
    assert!(peak_rss(b.child.id()) <= bound(cap));
    b.finish();
}

/// What a hostile server sends: `endless` is repeated until thoth hangs up (after `head`).
struct Hostile {
    name: &'static str,
    head: &'static [u8],
    endless: &'static [u8],
}

const HOSTILE: &[Hostile] = &[
    Hostile {
        name: "an endless data line",
        head: b"data: {\"jsonrpc\":\"2.0\",\"method\":\"x\",\"params\":\"",
        endless: b"aaaaaaaaaaaaaaaa",
    },
    Hostile {
        name: "an endless comment",
        head: b": ",
        endless: b"comment comment ",
    },
    Hostile {
        name: "bytes never reaching a newline",
        head: b"",
        endless: b"\x00\x01junk-without-eol",
    },
    Hostile {
        name: "a huge event of many data lines",
        head: b"event: message\n",
        endless: b"data: 0123456789abcdef\n",
    },
];

/// Write `head` then `endless` over and over until the peer is gone (or 256 MiB, far past any bound).
fn pour(out: &mut TcpStream, h: &Hostile) {
    if out.write_all(h.head).is_err() {
        return;
    }
    let chunk = h.endless.repeat(64 * 1024 / h.endless.len());
    let mut sent = 0usize;
    while sent < 256 << 20 && out.write_all(&chunk).is_ok() {
        sent += chunk.len();
    }
}

#[test]
fn hostile_get_streams_are_dropped_at_the_limit_and_the_session_stays_up() {
    let cap = 256 * 1024;
    for h in HOSTILE {
        let (url, log) = kit::serve(move |req, out| {
            if req.method != "GET" {
                return post(req, out);
            }
            if kit::sse_head(out).is_ok() {
                pour(out, h);
            }
            After::Close
        });
        let t = Thoth::new("dev");
        let mut b = Bridge::start(&t, &url, cap);
        b.initialize();
        // The GET stream was opened, poured into, and dropped (thoth hangs up, then tries again).
        let deadline = Instant::now() + Duration::from_secs(60);
        while log
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.method == "GET")
            .count()
            < 2
        {
            assert!(
                Instant::now() < deadline,
                "{}: no second GET; stderr:\n{}",
                h.name,
                b.stderr()
            );
            assert!(peak_rss(b.child.id()) <= bound(cap), "{}", h.name);
            // Sampled until the second GET arrives, checking RSS meanwhile (neither can be waited on).
            std::thread::sleep(Duration::from_millis(20));
        }
        let answer = b.call(2, "ok");
        assert_eq!(
            answer["result"]["content"][0]["text"], "ok",
            "{}: {answer}",
            h.name
        );
        let peak = peak_rss(b.child.id());
        assert!(
            peak <= bound(cap),
            "{}: thoth grew to {} MiB",
            h.name,
            peak / MIB
        );
        assert!(
            b.stderr().contains("larger than --max-line-bytes"),
            "{}: {}",
            h.name,
            b.stderr()
        );
        b.finish();
    }
}

#[test]
fn a_hostile_answer_stream_or_body_fails_that_call_clearly_and_the_next_call_works() {
    let cap = 256 * 1024;
    let (url, _log) = kit::serve(move |req, out| {
        let msg = req.json();
        match (req.method.as_str(), msg["params"]["name"].as_str()) {
            ("POST", Some("stream")) => {
                if kit::sse_head(out).is_ok() {
                    pour(out, &HOSTILE[0]);
                }
                After::Close
            }
            ("POST", Some("events")) => {
                if kit::sse_head(out).is_ok() {
                    pour(out, &HOSTILE[3]);
                }
                After::Close
            }
            ("POST", Some("body")) => {
                let head = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n";
                if out.write_all(head).is_ok() {
                    pour(
                        out,
                        &Hostile {
                            name: "body",
                            head: b"{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":\"",
                            endless: b"zzzzzzzz",
                        },
                    );
                }
                After::Close
            }
            ("POST", _) => post(req, out),
            _ => {
                kit::reply(out, "405 Method Not Allowed", &[], b"");
                After::KeepAlive
            }
        }
    });
    let t = Thoth::new("dev");
    let mut b = Bridge::start(&t, &url, cap);
    b.initialize();
    for (id, tool, says) in [
        (2, "stream", "SSE event larger than"),
        (3, "events", "SSE event larger than"),
        (4, "body", "body larger than"),
    ] {
        let answer = b.call(id, tool);
        let text = answer["error"].to_string();
        assert!(
            text.contains(says) && text.contains(&url),
            "{tool}: {answer}"
        );
        assert_eq!(
            b.call(id + 10, "ok")["result"]["content"][0]["text"],
            "ok",
            "{tool}"
        );
        let peak = peak_rss(b.child.id());
        assert!(
            peak <= bound(cap),
            "{tool}: thoth grew to {} MiB",
            peak / MIB
        );
    }
    b.finish();
}
