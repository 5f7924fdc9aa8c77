//! `thoth run --url` (issue 18), governance and the other transports: a blocked call never reaches the remote
//! server (a recording server of our own counts what it gets), an SSE-only server through `--transport auto`,
//! and the Python SDK's servers (tests/peers/remote_server.py).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::{self, init_params, Thoth};

fn bridge(t: &Thoth, flags: &[&str]) -> support::Session {
    let mut cmd = t.command();
    cmd.arg("run").args(flags);
    support::Session::spawn(cmd)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// What the recording server got: one entry per HTTP request, "POST tools/call echo", "GET", "DELETE".
type Seen = Arc<Mutex<Vec<String>>>;

/// A minimal Streamable HTTP MCP server (JSON answers, a session id, no GET stream) that records every request.
fn recording_server() -> (String, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://127.0.0.1:{}/mcp",
        listener.local_addr().unwrap().port()
    );
    let seen: Seen = Arc::default();
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { break };
            let log = log.clone();
            std::thread::spawn(move || serve(stream, &log));
        }
    });
    (url, seen)
}

/// One connection, keep-alive: read requests until the peer closes.
fn serve(stream: TcpStream, log: &Seen) {
    let mut out = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let verb = request_line
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_string();
        let mut length = 0;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            if line == "\r\n" {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let reply = match verb.as_str() {
            "POST" => {
                let msg: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let method = msg["method"].as_str().unwrap_or("(response)");
                let entry = match msg["params"]["name"].as_str() {
                    Some(tool) if method == "tools/call" => format!("POST {method} {tool}"),
                    _ => format!("POST {method}"),
                };
                log.lock().unwrap().push(entry);
                answer(&msg)
            }
            other => {
                log.lock().unwrap().push(other.to_string());
                let status = if other == "DELETE" {
                    "200 OK"
                } else {
                    "405 Method Not Allowed"
                };
                format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\n\r\n")
            }
        };
        if out.write_all(reply.as_bytes()).is_err() {
            return;
        }
    }
}

fn answer(msg: &Value) -> String {
    if msg["id"].is_null() || msg["method"].is_null() {
        return "HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n".to_string();
    }
    let result = match msg["method"].as_str().unwrap_or("") {
        "initialize" => json!({"protocolVersion":"2025-06-18","capabilities":{"tools":{}},
            "serverInfo":{"name":"recorder","version":"1"}}),
        "tools/list" => json!({"tools":[
            {"name":"echo","inputSchema":{"type":"object"}},
            {"name":"secret","inputSchema":{"type":"object"}}]}),
        "tools/call" => json!({"content":[{"type":"text",
            "text": format!("called {}", msg["params"]["name"].as_str().unwrap_or(""))}]}),
        _ => json!({}),
    };
    let body = json!({"jsonrpc":"2.0","id":msg["id"],"result":result}).to_string();
    format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nmcp-session-id: rec-1\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// The decision records of every audit file under `~/.thoth/audit`.
fn decisions(home: &Path) -> Vec<Value> {
    let dir = home.join(".thoth").join("audit");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|x| x == "jsonl") {
            for line in std::fs::read_to_string(&path).unwrap().lines() {
                let record: Value = serde_json::from_str(line).unwrap();
                if record["event"] == "decision" {
                    out.push(record);
                }
            }
        }
    }
    out
}

#[test]
fn a_blocked_call_over_url_is_answered_32001_never_reaches_the_server_and_is_audited() {
    let (url, seen) = recording_server();
    let t = Thoth::new("dev");
    let mut s = bridge(
        &t,
        &[
            "--url",
            &url,
            "--enforcement-mode",
            "block",
            "--approved-scope",
            "echo",
            "--agent-id",
            "remote-test",
        ],
    );
    let init = s.request(json!(1), "initialize", init_params());
    assert_eq!(init["result"]["serverInfo"]["name"], "recorder", "{init}");
    s.send(&json!({"jsonrpc":"2.0","method":"notifications/initialized"}));
    let no = s.request(
        json!(2),
        "tools/call",
        json!({"name": "secret", "arguments": {}}),
    );
    assert_eq!(no["error"]["code"], -32001, "{no}");
    // Sent after the blocked one: messages are POSTed in order, so once this answer is back a forwarded
    // `secret` would already be in the server's record.
    let ok = s.request(
        json!(3),
        "tools/call",
        json!({"name": "echo", "arguments": {"message": "hi"}}),
    );
    assert_eq!(ok["result"]["content"][0]["text"], "called echo", "{ok}");
    s.close_stdin();
    let status = s.wait_timeout(support::TIMEOUT).expect("exit on EOF");
    assert!(status.success(), "{status:?}: {}", s.stderr());

    let seen = seen.lock().unwrap().clone();
    assert!(
        !seen.iter().any(|r| r.contains("secret")),
        "the blocked call reached the server: {seen:?}"
    );
    assert!(
        seen.iter().any(|r| r == "POST tools/call echo"),
        "the allowed call did not reach the server: {seen:?}"
    );
    assert_eq!(seen.first().map(String::as_str), Some("POST initialize"));
    assert!(
        seen.iter().any(|r| r == "DELETE"),
        "no DELETE on exit: {seen:?}"
    );

    let decisions = decisions(t.home.path());
    let blocked: Vec<&Value> = decisions
        .iter()
        .filter(|d| d["tool"] == "secret" && d["decision"] == "BLOCK")
        .collect();
    assert_eq!(blocked.len(), 1, "{decisions:?}");
    assert_eq!(
        blocked[0]["violation_id"],
        no["error"]["data"]["thoth"]["violation_id"]
    );
    assert!(
        decisions
            .iter()
            .any(|d| d["tool"] == "echo" && d["decision"] == "ALLOW"),
        "{decisions:?}"
    );
}

/// tests/peers/remote_server.py on a free port; killed on drop.
struct PyServer {
    child: Child,
    port: u16,
}

impl Drop for PyServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn py_server(transport: &str) -> PyServer {
    let port = free_port();
    let script = support::repo_root().join("tests/peers/remote_server.py");
    let mut child = Command::new(support::python())
        .arg(script)
        .arg(transport)
        .arg(port.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python");
    // uvicorn says when it listens (no sleep standing in for it).
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    while !line.contains("Uvicorn running on") {
        line.clear();
        assert!(
            err.read_line(&mut line).unwrap() > 0,
            "remote_server.py {transport} did not start"
        );
    }
    std::thread::spawn(move || std::io::copy(&mut err, &mut std::io::sink()));
    PyServer { child, port }
}

/// initialize, list, an allowed call and a blocked one through a Python SDK server; exit 0 on EOF.
fn drive_py(url: &str, transport: &str) {
    let t = Thoth::new("dev");
    let mut s = bridge(
        &t,
        &[
            "--url",
            url,
            "--transport",
            transport,
            "--enforcement-mode",
            "block",
            "--approved-scope",
            "echo",
        ],
    );
    let init = s.request(json!(1), "initialize", init_params());
    assert_eq!(init["result"]["serverInfo"]["name"], "py-remote", "{init}");
    s.send(&json!({"jsonrpc":"2.0","method":"notifications/initialized"}));
    let listed = s.request(json!(2), "tools/list", json!({}));
    let names: Vec<&str> = listed["result"]["tools"]
        .as_array()
        .unwrap_or_else(|| panic!("{listed}"))
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert!(names.contains(&"echo"), "{listed}");
    let ok = s.request(
        json!(3),
        "tools/call",
        json!({"name": "echo", "arguments": {"message": "hi"}}),
    );
    assert_eq!(ok["result"]["content"][0]["text"], "py echo: hi", "{ok}");
    let no = s.request(
        json!(4),
        "tools/call",
        json!({"name": "secret", "arguments": {}}),
    );
    assert_eq!(no["error"]["code"], -32001, "{no}");
    // A call written just before stdin EOF still gets its answer...
    s.send(&json!({"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"echo","arguments":{"message":"last"}}}));
    s.close_stdin();
    let closed = Instant::now();
    let (last, _) = s.recv_until_id(&json!(5));
    assert_eq!(
        last["result"]["content"][0]["text"], "py echo: last",
        "{last}"
    );
    // ...and then thoth exits promptly: nothing is owed, so it does not sit out a drain or a kill grace
    // (the legacy stream never ends by itself).
    let status = s
        .wait_timeout(Duration::from_secs(5))
        .expect("thoth exits within 5 s of stdin EOF");
    assert!(status.success(), "{status:?}: {}", s.stderr());
    assert!(
        closed.elapsed() < Duration::from_millis(1500),
        "{transport}: exit took {:?} after EOF with nothing owed: {}",
        closed.elapsed(),
        s.stderr()
    );
}

#[test]
fn an_sse_only_server_is_reached_through_auto_by_falling_back_to_the_legacy_transport() {
    let server = py_server("sse");
    // The URL is the SSE endpoint: a POST to it gets 405, so `auto` falls back to GET + `endpoint`.
    let url = format!("http://127.0.0.1:{}/sse", server.port);
    drive_py(&url, "auto");
    // And named outright.
    drive_py(&url, "sse");
}

#[test]
fn the_python_sdk_streamable_http_server_bridges() {
    let server = py_server("streamable-http");
    let url = format!("http://127.0.0.1:{}/mcp", server.port);
    drive_py(&url, "streamable-http");
}

/// A legacy server whose `endpoint` event points at another origin: thoth must not POST the session there.
/// POSTs to the URL get 405 (so `auto` falls back); the GET stream names `endpoint` and stays open.
fn hostile_endpoint_server(endpoint: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://127.0.0.1:{}/sse",
        listener.local_addr().unwrap().port()
    );
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { break };
            let endpoint = endpoint.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut first = String::new();
                let _ = reader.read_line(&mut first);
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                if first.starts_with("GET") {
                    let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n\r\n";
                    let _ = stream.write_all(head.as_bytes());
                    let _ = write!(stream, "event: endpoint\ndata: {endpoint}\n\n");
                    let _ = stream.flush();
                    // Hold the stream open until thoth goes away.
                    let _ = reader.read_to_end(&mut Vec::new());
                } else {
                    let _ = stream.write_all(
                        b"HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                    );
                }
            });
        }
    });
    url
}

#[test]
fn a_legacy_endpoint_on_another_origin_is_refused_and_gets_no_message() {
    let elsewhere = TcpListener::bind("127.0.0.1:0").unwrap();
    elsewhere.set_nonblocking(true).unwrap();
    let e = elsewhere.local_addr().unwrap().port();
    // Every spelling of "somewhere else": another port, scheme-relative, another host name for the same
    // address, userinfo, another scheme, padding.
    let variants = [
        format!("http://127.0.0.1:{e}/messages?session_id=x"),
        format!("//127.0.0.1:{e}/messages"),
        format!("http://localhost:{e}/messages"),
        format!("http://user@127.0.0.1:{e}/messages"),
        format!("https://127.0.0.1:{e}/messages"),
        format!("  http://127.0.0.1:{e}/messages  "),
    ];
    for endpoint in variants {
        let url = hostile_endpoint_server(endpoint.clone());
        let t = Thoth::new("dev");
        let mut s = bridge(&t, &["--url", &url, "--transport", "auto"]);
        let init = s.request(json!(1), "initialize", init_params());
        let text = init["error"].to_string();
        assert!(
            text.contains(&url) && text.contains("origin"),
            "endpoint {endpoint:?}: initialize should be refused naming the URL and the origin: {init}"
        );
        s.close_stdin();
        assert!(s.wait_timeout(support::TIMEOUT).is_some(), "no exit on EOF");
        assert!(
            elsewhere.accept().is_err(),
            "endpoint {endpoint:?}: thoth sent the session to the other origin"
        );
    }
}
