//! `thoth run --url` (issue 18): the bridge against real servers on 127.0.0.1.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::{self, init_params, Thoth};

/// server-everything in its streamable-http mode on a free port; killed on drop.
struct Everything {
    child: Child,
    url: String,
}

impl Drop for Everything {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn everything() -> Everything {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let script = support::cache_dir()
        .join("npm/node_modules/@modelcontextprotocol/server-everything/dist/index.js");
    let mut child = Command::new("node")
        .arg(script)
        .arg("streamableHttp")
        .env("PORT", port.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node");
    // Wait for its "listening" line (no sleep standing in for it).
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    while !line.contains("listening") {
        line.clear();
        assert!(
            err.read_line(&mut line).unwrap() > 0,
            "server-everything did not start"
        );
    }
    std::thread::spawn(move || std::io::copy(&mut err, &mut std::io::sink()));
    Everything {
        child,
        url: format!("http://127.0.0.1:{port}/mcp"),
    }
}

fn bridge(t: &Thoth, flags: &[&str]) -> support::Session {
    let mut cmd = t.command();
    cmd.arg("run").args(flags);
    support::Session::spawn(cmd)
}

#[test]
fn streamable_http_bridges_calls_and_the_get_stream_then_exits_0_on_eof() {
    let server = everything();
    let t = Thoth::new("dev");
    let mut s = bridge(
        &t,
        &["--url", &server.url, "--transport", "streamable-http"],
    );
    let init = s.request(json!(1), "initialize", init_params());
    assert!(init["result"]["serverInfo"].is_object(), "{init}");
    s.send(&json!({"jsonrpc":"2.0","method":"notifications/initialized"}));
    let (answer, others) = {
        s.send(&json!({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"message":"hi"}}}));
        s.recv_until_id(&json!(2))
    };
    assert_eq!(
        answer["result"]["content"][0]["text"], "Echo: hi",
        "{answer}"
    );
    // server-everything asks for the client's roots over the GET stream once the session is initialized.
    let mut roots = others.into_iter().find(|m| m["method"] == "roots/list");
    let deadline = Instant::now() + Duration::from_secs(10);
    while roots.is_none() && Instant::now() < deadline {
        let m = s.recv();
        if m["method"] == "roots/list" {
            roots = Some(m);
        }
    }
    let roots = roots.expect("a roots/list request from the server");
    // The client's answer goes back to the server (POSTed), and the session goes on.
    s.send(&json!({"jsonrpc":"2.0","id":roots["id"],"result":{"roots":[]}}));
    let listed = s.request(json!(3), "tools/list", json!({}));
    assert!(listed["result"]["tools"]
        .as_array()
        .is_some_and(|t| !t.is_empty()));
    s.close_stdin();
    let started = Instant::now();
    let status = s
        .wait_timeout(Duration::from_secs(5))
        .expect("thoth exits within 5 s of stdin EOF");
    assert!(status.success(), "{status:?}: {}", s.stderr());
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn a_host_outside_the_allow_list_gets_no_request_and_initialize_names_it() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!(
        "http://127.0.0.1:{}/mcp",
        listener.local_addr().unwrap().port()
    );
    let t = Thoth::new("dev");
    let managed = t.home.path().join("managed.json");
    std::fs::write(
        &managed,
        r#"{"THOTH_ALLOWED_REMOTE_HOSTS": "mcp.example.com"}"#,
    )
    .unwrap();
    let mut cmd = t.command();
    cmd.env("THOTH_MANAGED_SETTINGS_FILE", &managed)
        .args(["run", "--url", &url]);
    let mut s = support::Session::spawn(cmd);
    let init = s.request(json!(1), "initialize", init_params());
    let text = init["error"].to_string();
    assert!(
        text.contains("127.0.0.1") && text.contains("THOTH_ALLOWED_REMOTE_HOSTS"),
        "{init}"
    );
    s.close_stdin();
    let status = s.wait_timeout(support::TIMEOUT).expect("exit");
    assert!(!status.success());
    assert!(
        listener.accept().is_err(),
        "thoth connected to a refused host"
    );
}

/// A server that answers 401 to everything unless the request carries `Authorization: Bearer T`, then a
/// JSON initialize answer. Counts requests.
fn auth_server() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://127.0.0.1:{}/mcp",
        listener.local_addr().unwrap().port()
    );
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = count.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { break };
            seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut head = String::new();
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                let lower = line.to_ascii_lowercase();
                if let Some(v) = lower.strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                head.push_str(&lower);
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let reply = if !head.contains("authorization: bearer t\r\n") {
                "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer realm=\"test\"\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".to_string()
            } else if head.starts_with("post") {
                let id = serde_json::from_slice::<Value>(&body)
                    .ok()
                    .map(|v| v["id"].clone())
                    .unwrap_or(Value::Null);
                if id.is_null() {
                    "HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                        .to_string()
                } else {
                    let body = json!({"jsonrpc":"2.0","id":id,"result":{"protocolVersion":"2025-06-18","capabilities":{},"serverInfo":{"name":"bars","version":"1"}}}).to_string();
                    format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len())
                }
            } else {
                "HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                    .to_string()
            };
            let _ = stream.write_all(reply.as_bytes());
        }
    });
    (url, count)
}

#[test]
fn a_401_is_reported_on_initialize_with_the_url_and_a_bearer_header_works() {
    let (url, _count) = auth_server();
    let t = Thoth::new("dev");
    let mut s = bridge(&t, &["--url", &url]);
    let init = s.request(json!(1), "initialize", init_params());
    let text = init["error"].to_string();
    assert!(text.contains(&url) && text.contains("401"), "{init}");
    s.close_stdin();
    assert!(s.wait_timeout(support::TIMEOUT).is_some());

    let mut cmd = t.command();
    cmd.env("BARS_TOKEN", "T").args([
        "run",
        "--url",
        &url,
        "--header",
        "Authorization: Bearer ${env:BARS_TOKEN}",
    ]);
    let mut s = support::Session::spawn(cmd);
    let init = s.request(json!(1), "initialize", init_params());
    assert_eq!(init["result"]["serverInfo"]["name"], "bars", "{init}");
    s.close_stdin();
    let status = s.wait_timeout(support::TIMEOUT).expect("exit");
    assert!(status.success(), "{}", s.stderr());
    assert!(!s.stderr().contains("Bearer T"), "the token was logged");
}
