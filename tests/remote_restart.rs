//! `thoth run --url` (issue 18): the remote server restarts mid-session (killed, started again on the same
//! port, so it has forgotten the session). The next call gets 404 (the Python SDK) or 400 "No valid session
//! ID" (server-everything) for the old session id; thoth starts a new session with the client's initialize and
//! the call is answered: the client sees no error.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::{self, init_params, Thoth};

/// A real server process on a fixed port; killed on drop.
struct Server {
    child: Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Python,
    Everything,
}

fn start(kind: Kind, port: u16) -> Server {
    let (mut cmd, ready) = match kind {
        Kind::Python => {
            let mut cmd = Command::new(support::python());
            cmd.arg(support::repo_root().join("tests/peers/remote_server.py"))
                .arg("streamable-http")
                .arg(port.to_string());
            (cmd, "Uvicorn running on")
        }
        Kind::Everything => {
            let mut cmd = Command::new("node");
            cmd.arg(
                support::cache_dir()
                    .join("npm/node_modules/@modelcontextprotocol/server-everything/dist/index.js"),
            )
            .arg("streamableHttp")
            .env("PORT", port.to_string());
            (cmd, "listening")
        }
    };
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("server");
    // The server says when it listens (no sleep standing in for it).
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    while !line.contains(ready) {
        line.clear();
        assert!(
            err.read_line(&mut line).unwrap() > 0,
            "the server did not start"
        );
    }
    std::thread::spawn(move || std::io::copy(&mut err, &mut std::io::sink()));
    Server { child }
}

fn echo(s: &mut support::Session, id: u64, message: &str) -> (Value, Vec<Value>) {
    s.send(&json!({"jsonrpc":"2.0","id":id,"method":"tools/call",
        "params":{"name":"echo","arguments":{"message":message}}}));
    s.recv_until_id(&json!(id))
}

fn restart_mid_session(kind: Kind, expected: impl Fn(&str) -> String) {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/mcp");
    let mut server = start(kind, port);
    let t = Thoth::new("dev");
    let mut cmd = t.command();
    cmd.args(["run", "--url", &url, "--transport", "streamable-http"]);
    let mut s = support::Session::spawn(cmd);
    let init = s.request(json!(1), "initialize", init_params());
    assert!(init["result"]["serverInfo"].is_object(), "{init}");
    s.send(&json!({"jsonrpc":"2.0","method":"notifications/initialized"}));
    let (first, _) = echo(&mut s, 2, "before");
    assert_eq!(
        first["result"]["content"][0]["text"],
        expected("before"),
        "{first}"
    );

    // The restart: the old process is gone (its sessions with it), a new one listens on the same port.
    let _ = server.child.kill();
    let _ = server.child.wait();
    server = start(kind, port);

    let (after, others) = echo(&mut s, 3, "after");
    assert_eq!(
        after["result"]["content"][0]["text"],
        expected("after"),
        "{after}\n{}",
        s.stderr()
    );
    assert!(after.get("error").is_none());
    // No error of any kind reached the client, and the swallowed re-initialize answer did not either.
    for m in &others {
        assert!(
            m.get("error").is_none() && m.get("result").is_none(),
            "stray frame {m}"
        );
    }
    let listed = s.request(json!(4), "tools/list", json!({}));
    assert!(
        listed["result"]["tools"]
            .as_array()
            .is_some_and(|t| !t.is_empty()),
        "{listed}"
    );
    assert!(s.stderr().contains("forgot the session"), "{}", s.stderr());

    s.close_stdin();
    let started = Instant::now();
    let status = s
        .wait_timeout(Duration::from_secs(5))
        .expect("exit within 5 s");
    assert!(status.success(), "{status:?}: {}", s.stderr());
    assert!(started.elapsed() < Duration::from_secs(5));
    drop(server);
}

#[test]
fn a_python_sdk_server_restarted_mid_session_answers_404_and_the_call_goes_through() {
    restart_mid_session(Kind::Python, |m| format!("py echo: {m}"));
}

#[test]
fn server_everything_restarted_mid_session_answers_400_and_the_call_goes_through() {
    restart_mid_session(Kind::Everything, |m| format!("Echo: {m}"));
}
