//! Loopback HTTP(S) servers for integration tests (DESIGN.md §7): certificates made at test time with rcgen
//! (`TestCa`, `Leaf`), and a scriptable server on 127.0.0.1:0 (`Server`) that answers per method and path
//! with a queue of `Reply`s (status, body, delay or hang), and records every request it receives. Each server
//! runs hyper on its own thread and current-thread tokio runtime, so std-thread tests can drive it.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio_rustls::rustls;

// ---- certificates ------------------------------------------------------------------------------------------

/// A test certificate authority.
pub struct TestCa {
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
    pem: String,
    der: Vec<u8>,
}

/// A server certificate (for 127.0.0.1 and localhost) and its key.
pub struct Leaf {
    pub der: Vec<u8>,
    pub pem: String,
    key_der: Vec<u8>,
    /// The issuing CA's certificate, sent as the chain.
    chain: Vec<Vec<u8>>,
}

impl TestCa {
    pub fn new(name: &str) -> TestCa {
        let key = rcgen::KeyPair::generate().expect("CA key");
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
        let cert = params.self_signed(&key).expect("CA certificate");
        TestCa {
            pem: cert.pem(),
            der: cert.der().to_vec(),
            issuer: rcgen::Issuer::new(params, key),
        }
    }

    /// The CA certificate in PEM (what THOTH_TLS_CA_BUNDLE names).
    pub fn pem(&self) -> &str {
        &self.pem
    }

    /// Write the CA certificate to `dir/name` and return the path as text.
    pub fn write_pem(&self, dir: &std::path::Path, name: &str) -> String {
        let path = dir.join(name);
        std::fs::write(&path, &self.pem).expect("write CA PEM");
        path.to_str().expect("utf-8 path").to_owned()
    }

    /// A leaf for 127.0.0.1 and localhost, signed by this CA.
    pub fn leaf(&self) -> Leaf {
        let key = rcgen::KeyPair::generate().expect("leaf key");
        let mut params =
            rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
                .expect("leaf params");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "thoth test enforcer");
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        let cert = params
            .signed_by(&key, &self.issuer)
            .expect("leaf certificate");
        Leaf {
            der: cert.der().to_vec(),
            pem: cert.pem(),
            key_der: key.serialize_der(),
            chain: vec![self.der.clone()],
        }
    }
}

impl Leaf {
    /// Lowercase hex SHA-256 of the DER certificate (THOTH_TLS_PINNED_CERT_SHA256).
    pub fn sha256(&self) -> String {
        thoth::net::verify::sha256_hex(&self.der)
    }
}

// ---- scripted replies --------------------------------------------------------------------------------------

/// One scripted answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: String,
    pub delay: Duration,
    /// Never answer (the connection stays open until the client gives up or the server stops).
    pub hang: bool,
    /// A binary body (sent as application/octet-stream instead of `body`).
    pub bytes: Option<Bytes>,
    /// A `location` header (with a 3xx status: a redirect).
    pub location: Option<String>,
    /// Extra response headers (a `date` here replaces the one hyper adds).
    pub headers: Vec<(String, String)>,
    /// Held until the test opens this gate (a slow enforcer that holds its answers).
    pub gate: Option<Gate>,
}

/// A gate replies wait behind until the test opens it; it stays open.
#[derive(Debug, Clone)]
pub struct Gate(Arc<tokio::sync::watch::Sender<bool>>);

impl Default for Gate {
    fn default() -> Gate {
        Gate(Arc::new(tokio::sync::watch::channel(false).0))
    }
}

impl Gate {
    /// Let every reply waiting behind this gate (and every later one) go.
    pub fn open(&self) {
        self.0.send_replace(true);
    }

    async fn passed(&self) {
        let mut open = self.0.subscribe();
        let _ = open.wait_for(|open| *open).await;
    }
}

impl Reply {
    pub fn json(body: serde_json::Value) -> Reply {
        Reply::status(200, &body.to_string())
    }

    pub fn status(status: u16, body: &str) -> Reply {
        Reply {
            status,
            body: body.to_owned(),
            delay: Duration::ZERO,
            hang: false,
            bytes: None,
            location: None,
            headers: Vec::new(),
            gate: None,
        }
    }

    /// 302 to `location` (a path on the same server or a full URL).
    pub fn redirect(location: &str) -> Reply {
        Reply {
            location: Some(location.to_owned()),
            ..Reply::status(302, "")
        }
    }

    /// 200 with a binary body.
    pub fn bytes(body: impl Into<Bytes>) -> Reply {
        Reply {
            bytes: Some(body.into()),
            ..Reply::status(200, "")
        }
    }

    pub fn hang() -> Reply {
        Reply {
            hang: true,
            ..Reply::status(200, "")
        }
    }

    /// Add a response header.
    pub fn with_header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn after(mut self, delay: Duration) -> Reply {
        self.delay = delay;
        self
    }

    /// Answer only once `gate` is open.
    pub fn behind(mut self, gate: &Gate) -> Reply {
        self.gate = Some(gate.clone());
        self
    }
}

/// A request the server received.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path: String,
    /// Lower-cased header names; repeated headers joined with `, `.
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
    /// When it arrived (for tests that measure a cadence from arrivals instead of sleeping).
    pub at: Instant,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "request body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

/// A route: method and path (a trailing `*` matches any rest), with its queue of replies; the last one
/// repeats.
struct Route {
    method: String,
    path: String,
    replies: Vec<Reply>,
    next: usize,
}

#[derive(Default)]
struct State {
    routes: Vec<Route>,
    received: Vec<Received>,
    connections: usize,
    tls_failures: usize,
}

impl State {
    fn reply(&mut self, method: &str, path: &str) -> Reply {
        let matches = |r: &Route| {
            r.method.eq_ignore_ascii_case(method)
                && match r.path.strip_suffix('*') {
                    Some(prefix) => path.starts_with(prefix),
                    None => r.path == path,
                }
        };
        match self.routes.iter_mut().rev().find(|r| matches(r)) {
            Some(route) if !route.replies.is_empty() => {
                let reply = route.replies[route.next.min(route.replies.len() - 1)].clone();
                route.next += 1;
                reply
            }
            _ => Reply::status(404, r#"{"error":"no route"}"#),
        }
    }
}

// ---- the server --------------------------------------------------------------------------------------------

/// A loopback server; stopped (and its thread joined) on drop.
pub struct Server {
    url: String,
    port: u16,
    state: Arc<Mutex<State>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Server {
    /// HTTPS with `leaf` (and its CA as the chain).
    pub fn https(leaf: &Leaf) -> Server {
        let certs = std::iter::once(leaf.der.clone())
            .chain(leaf.chain.iter().cloned())
            .map(rustls::pki_types::CertificateDer::from)
            .collect();
        let key = rustls::pki_types::PrivateKeyDer::Pkcs8(leaf.key_der.clone().into());
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("server certificate");
        Server::start(
            "https",
            Some(tokio_rustls::TlsAcceptor::from(Arc::new(config))),
        )
    }

    /// Plain HTTP.
    pub fn http() -> Server {
        Server::start("http", None)
    }

    fn start(scheme: &str, tls: Option<tokio_rustls::TlsAcceptor>) -> Server {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().expect("local addr").port();
        let state = Arc::new(Mutex::new(State::default()));
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let shared = state.clone();
        let thread = thread::Builder::new()
            .name(format!("test-{scheme}-{port}"))
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("test server runtime");
                runtime.block_on(accept_loop(listener, tls, shared, stopped));
            })
            .expect("spawn test server");
        Server {
            url: format!("{scheme}://127.0.0.1:{port}"),
            port,
            state,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// `scheme://127.0.0.1:PORT` (no trailing slash).
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Answer `method path` with `replies` in turn (the last repeats). A later route for the same path wins.
    pub fn route(&self, method: &str, path: &str, replies: Vec<Reply>) -> &Server {
        self.lock().routes.push(Route {
            method: method.to_owned(),
            path: path.to_owned(),
            replies,
            next: 0,
        });
        self
    }

    /// Every request so far, in arrival order.
    pub fn received(&self) -> Vec<Received> {
        self.lock().received.clone()
    }

    /// The requests to `method path` (a trailing `*` matches any rest).
    pub fn received_at(&self, method: &str, path: &str) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| {
                r.method.eq_ignore_ascii_case(method)
                    && match path.strip_suffix('*') {
                        Some(prefix) => r.path.starts_with(prefix),
                        None => r.path == path,
                    }
            })
            .collect()
    }

    /// TCP connections accepted so far.
    pub fn connections(&self) -> usize {
        self.lock().connections
    }

    /// TLS handshakes that failed (a client that refused the certificate).
    pub fn tls_failures(&self) -> usize {
        self.lock().tls_failures
    }

    /// Wait up to `timeout` for `n` requests to `method path`; returns them (panics if they never come).
    pub fn wait_for(&self, method: &str, path: &str, n: usize, timeout: Duration) -> Vec<Received> {
        let start = Instant::now();
        loop {
            let got = self.received_at(method, path);
            if got.len() >= n {
                return got;
            }
            assert!(
                start.elapsed() < timeout,
                "expected {n} {method} {path} requests within {timeout:?}, got {}",
                got.len()
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("test server state")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn accept_loop(
    listener: std::net::TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    state: Arc<Mutex<State>>,
    mut stopped: tokio::sync::oneshot::Receiver<()>,
) {
    let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let accepted = tokio::select! {
            _ = &mut stopped => break,
            accepted = listener.accept() => accepted,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
        };
        let Ok((tcp, _)) = accepted else { continue };
        state.lock().expect("state").connections += 1;
        let state = state.clone();
        let tls = tls.clone();
        connections.spawn(async move {
            match tls {
                Some(acceptor) => match acceptor.accept(tcp).await {
                    Ok(stream) => serve_connection(TokioIo::new(stream), state).await,
                    Err(_) => state.lock().expect("state").tls_failures += 1,
                },
                None => serve_connection(TokioIo::new(tcp), state).await,
            }
        });
    }
    // Dropping the JoinSet aborts open connections (and hanging replies).
}

async fn serve_connection<I>(io: I, state: Arc<Mutex<State>>)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |request| answer(request, state.clone()));
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(io, service)
        .await;
}

async fn answer(
    request: Request<Incoming>,
    state: Arc<Mutex<State>>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = request.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes().to_vec())
        .unwrap_or_default();
    let mut headers: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in &parts.headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        headers
            .entry(name.as_str().to_owned())
            .and_modify(|v| {
                v.push_str(", ");
                v.push_str(&value)
            })
            .or_insert(value);
    }
    let method = parts.method.as_str().to_owned();
    let path = parts.uri.path().to_owned();
    let reply = {
        let mut state = state.lock().expect("state");
        state.received.push(Received {
            method: method.clone(),
            path: path.clone(),
            headers,
            body,
            at: Instant::now(),
        });
        state.reply(&method, &path)
    };
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    if reply.hang {
        std::future::pending::<()>().await;
    }
    if let Some(gate) = &reply.gate {
        gate.passed().await;
    }
    let (content_type, body) = match reply.bytes {
        Some(bytes) => ("application/octet-stream", bytes),
        None => ("application/json", Bytes::from(reply.body)),
    };
    let mut response = Response::builder()
        .status(reply.status)
        .header("content-type", content_type);
    if let Some(location) = &reply.location {
        response = response.header("location", location);
    }
    for (name, value) in &reply.headers {
        response = response.header(name, value);
    }
    let response = response.body(Full::new(body)).expect("response");
    Ok(response)
}
