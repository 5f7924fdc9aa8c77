//! A small HTTP/1.1 server on 127.0.0.1 for the `thoth run --url` tests: every request is recorded (method,
//! headers, body), and a handler writes the answer itself, so it can stream SSE, stall, or misbehave.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use serde_json::Value;

#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// Names lowercased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

pub type Log = Arc<Mutex<Vec<Request>>>;

/// What the handler wants after its answer.
pub enum After {
    KeepAlive,
    Close,
}

/// Serve on a free port; returns `http://127.0.0.1:PORT/mcp` and the log.
pub fn serve<F>(handler: F) -> (String, Log)
where
    F: Fn(&Request, &mut TcpStream) -> After + Send + Sync + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://127.0.0.1:{}/mcp",
        listener.local_addr().unwrap().port()
    );
    let log: Log = Arc::default();
    let seen = log.clone();
    let handler = Arc::new(handler);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { break };
            let (seen, handler) = (seen.clone(), handler.clone());
            std::thread::spawn(move || connection(stream, &seen, &*handler));
        }
    });
    (url, log)
}

fn connection<F>(stream: TcpStream, log: &Log, handler: &F)
where
    F: Fn(&Request, &mut TcpStream) -> After,
{
    let mut out = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let method = request_line
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_string();
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            if line == "\r\n" {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
            }
        }
        let length = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let request = Request {
            method,
            headers,
            body,
        };
        log.lock().unwrap().push(request.clone());
        match handler(&request, &mut out) {
            After::KeepAlive => {}
            After::Close => return,
        }
    }
}

/// A complete answer with a body (keep-alive).
pub fn reply(out: &mut TcpStream, status: &str, headers: &[(&str, &str)], body: &[u8]) {
    let mut head = format!("HTTP/1.1 {status}\r\ncontent-length: {}\r\n", body.len());
    for (n, v) in headers {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let _ = out.write_all(head.as_bytes());
    let _ = out.write_all(body);
}

/// A JSON-RPC answer as `application/json`.
pub fn json(out: &mut TcpStream, session: Option<&str>, body: &Value) {
    let body = body.to_string();
    let mut headers = vec![("content-type", "application/json")];
    if let Some(id) = session {
        headers.push(("mcp-session-id", id));
    }
    reply(out, "200 OK", &headers, body.as_bytes());
}

/// The head of an SSE answer whose body ends when the connection closes.
pub fn sse_head(out: &mut TcpStream) -> std::io::Result<()> {
    out.write_all(
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\nconnection: close\r\n\r\n",
    )
}

/// One SSE `message` event.
pub fn sse_event(out: &mut TcpStream, id: Option<u64>, data: &Value) -> std::io::Result<()> {
    let mut event = String::new();
    if let Some(id) = id {
        event.push_str(&format!("id: {id}\n"));
    }
    event.push_str(&format!("data: {data}\n\n"));
    out.write_all(event.as_bytes())?;
    out.flush()
}

/// The initialize result these servers give.
pub fn init_result(id: &Value, name: &str) -> Value {
    serde_json::json!({"jsonrpc":"2.0","id":id,"result":{"protocolVersion":"2025-06-18",
        "capabilities":{"tools":{}},"serverInfo":{"name":name,"version":"1"}}})
}

/// Block until the peer closes the connection (an open stream the test ends by ending thoth).
pub fn hold(out: &mut TcpStream) {
    let mut buf = [0u8; 256];
    while matches!(out.read(&mut buf), Ok(n) if n > 0) {}
}
