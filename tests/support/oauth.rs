//! A loopback OAuth 2 authorization server for the SSO tests (issue 19): RFC 8414 / OpenID metadata whose
//! endpoints are not the usual paths, authorization code with PKCE S256 (the verifier is checked against the
//! challenge, the redirect URI and client id against the authorization request, codes are single-use),
//! the device grant with a scripted sequence of poll answers, refresh with rotation (a spent refresh token is
//! refused), and RFC 7009 revocation. It records every request, and every token it issued (so tests can look
//! for them where they must never be). Plain HTTP on 127.0.0.1, one thread and runtime of its own.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap, HashSet};
use std::convert::Infallible;
use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use sha2::Digest as _;

pub const CLIENT_ID: &str = "thoth-cli";
pub const AUTHORIZE: &str = "/oauth2/v9/authorize-here";
pub const TOKEN: &str = "/oauth2/v9/tok";
pub const DEVICE: &str = "/oauth2/v9/device-code";
pub const REVOKE: &str = "/oauth2/v9/revoke-it";
pub const USER_CODE: &str = "WDJB-MJHT";

/// Which metadata document the server publishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Discovery {
    /// `/.well-known/oauth-authorization-server` (RFC 8414).
    Rfc8414,
    /// Only `/.well-known/openid-configuration` (the RFC 8414 path is 404).
    OpenIdOnly,
    /// Neither.
    None,
}

/// One request the server received: method, path, query or form parameters, and when.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub params: BTreeMap<String, String>,
    pub at: Instant,
}

struct Grant {
    challenge: String,
    redirect_uri: String,
    client_id: String,
}

pub struct AuthState {
    pub discovery: Discovery,
    pub with_revocation: bool,
    /// Issue refresh tokens with access tokens.
    pub issue_refresh: bool,
    pub email: String,
    /// Lifetime of issued access tokens (negative: already expired).
    pub access_lifetime_seconds: i64,
    /// The device flow's `interval`.
    pub device_interval: u64,
    /// Answers to successive device-code polls (`authorization_pending`, `slow_down`, `access_denied`,
    /// `expired_token`, or `ok`); the last repeats.
    pub device_script: Vec<&'static str>,
    /// How long a refresh takes (so two concurrent refreshes would overlap).
    pub refresh_delay: Duration,
    pub seen: Vec<Seen>,
    /// Refresh tokens that are still good.
    pub live_refresh: HashSet<String>,
    /// Every access and refresh token issued.
    pub issued: Vec<String>,
    /// (token, token_type_hint) revoked.
    pub revoked: Vec<(String, String)>,
    /// Token requests refused, with why.
    pub refused: Vec<String>,
    codes: HashMap<String, Grant>,
    device_polls: usize,
    serial: u64,
}

pub struct AuthServer {
    url: String,
    state: Arc<Mutex<AuthState>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl AuthServer {
    pub fn start(discovery: Discovery) -> AuthServer {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().expect("addr").port();
        let url = format!("http://127.0.0.1:{port}");
        let state = Arc::new(Mutex::new(AuthState {
            discovery,
            with_revocation: true,
            issue_refresh: true,
            email: "alice@acme.example".into(),
            access_lifetime_seconds: 3600,
            device_interval: 1,
            device_script: vec!["ok"],
            refresh_delay: Duration::ZERO,
            seen: Vec::new(),
            live_refresh: HashSet::new(),
            issued: Vec::new(),
            revoked: Vec::new(),
            refused: Vec::new(),
            codes: HashMap::new(),
            device_polls: 0,
            serial: 0,
        }));
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let shared = state.clone();
        let base = url.clone();
        let thread = thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime")
                .block_on(accept_loop(listener, base, shared, stopped));
        });
        AuthServer {
            url,
            state,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn state(&self) -> std::sync::MutexGuard<'_, AuthState> {
        self.state.lock().expect("auth state")
    }

    /// The requests to `path` so far.
    pub fn seen_at(&self, path: &str) -> Vec<Seen> {
        self.state()
            .seen
            .iter()
            .filter(|s| s.path == path)
            .cloned()
            .collect()
    }

    /// Token requests with this grant type.
    pub fn grants(&self, grant_type: &str) -> Vec<Seen> {
        self.seen_at(TOKEN)
            .into_iter()
            .filter(|s| s.params.get("grant_type").map(String::as_str) == Some(grant_type))
            .collect()
    }

    /// A fresh refresh token the server will accept once.
    pub fn mint_refresh(&self) -> String {
        let mut state = self.state();
        state.serial += 1;
        let token = format!("rt-minted-{}-{}", state.serial, random_part());
        state.live_refresh.insert(token.clone());
        state.issued.push(token.clone());
        token
    }

    /// An access token (JWT) for the server's user, expiring `lifetime_seconds` from now.
    pub fn mint_access(&self, lifetime_seconds: i64) -> String {
        let mut state = self.state();
        let email = state.email.clone();
        let token = jwt(&email, lifetime_seconds, &mut state.serial);
        state.issued.push(token.clone());
        token
    }

    /// Every token issued so far.
    pub fn issued(&self) -> Vec<String> {
        self.state().issued.clone()
    }
}

impl Drop for AuthServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn random_part() -> String {
    format!("{:016x}", fastrand::u64(..))
}

/// An unsigned-looking JWT: thoth reads its claims and never verifies it.
pub fn jwt(email: &str, lifetime_seconds: i64, serial: &mut u64) -> String {
    *serial += 1;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let exp = time::OffsetDateTime::now_utc().unix_timestamp() + lifetime_seconds;
    let claims = json!({"sub": format!("user-{email}"), "email": email, "exp": exp,
        "tenant_id": "acme", "jti": format!("{}-{}", serial, random_part())});
    format!(
        "{}.{}.{}",
        b64.encode(r#"{"alg":"RS256","typ":"JWT"}"#),
        b64.encode(claims.to_string()),
        b64.encode(random_part())
    )
}

fn metadata(base: &str, with_revocation: bool) -> Value {
    let mut m = json!({
        "issuer": base,
        "authorization_endpoint": format!("{base}{AUTHORIZE}"),
        "token_endpoint": format!("{base}{TOKEN}"),
        "device_authorization_endpoint": format!("{base}{DEVICE}"),
        "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256"],
        "grant_types_supported": ["authorization_code", "refresh_token",
            "urn:ietf:params:oauth:grant-type:device_code"],
    });
    if with_revocation {
        m["revocation_endpoint"] = json!(format!("{base}{REVOKE}"));
    }
    m
}

async fn accept_loop(
    listener: std::net::TcpListener,
    base: String,
    state: Arc<Mutex<AuthState>>,
    mut stopped: tokio::sync::oneshot::Receiver<()>,
) {
    let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let accepted = tokio::select! {
            _ = &mut stopped => break,
            accepted = listener.accept() => accepted,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
        };
        let Ok((tcp, _)) = accepted else { continue };
        let (state, base) = (state.clone(), base.clone());
        connections.spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                answer(request, base.clone(), state.clone())
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(tcp), service)
                .await;
        });
    }
}

fn reply(status: u16, body: Value) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .header("cache-control", "no-store")
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("response")
}

fn oauth_error(code: &str) -> Response<Full<Bytes>> {
    reply(
        400,
        json!({"error": code, "error_description": format!("test server: {code}")}),
    )
}

async fn answer(
    request: Request<Incoming>,
    base: String,
    state: Arc<Mutex<AuthState>>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = request.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes().to_vec())
        .unwrap_or_default();
    let mut params: BTreeMap<String, String> =
        url::form_urlencoded::parse(parts.uri.query().unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    params.extend(url::form_urlencoded::parse(&body).into_owned());
    // Basic client authentication names the client too.
    if let Some(basic) = parts
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
    {
        if let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(basic) {
            if let Some((id, _)) = String::from_utf8_lossy(&decoded).split_once(':') {
                params.entry("client_id".into()).or_insert(id.to_owned());
            }
        }
    }
    let path = parts.uri.path().to_owned();
    let method = parts.method.as_str().to_owned();
    let delay = {
        let mut s = state.lock().expect("state");
        s.seen.push(Seen {
            method: method.clone(),
            path: path.clone(),
            params: params.clone(),
            at: Instant::now(),
        });
        (params.get("grant_type").map(String::as_str) == Some("refresh_token"))
            .then_some(s.refresh_delay)
    };
    if let Some(delay) = delay.filter(|d| !d.is_zero()) {
        tokio::time::sleep(delay).await;
    }
    let mut s = state.lock().expect("state");
    let response = match (method.as_str(), path.as_str()) {
        ("GET", "/.well-known/oauth-authorization-server") if s.discovery == Discovery::Rfc8414 => {
            reply(200, metadata(&base, s.with_revocation))
        }
        ("GET", "/.well-known/openid-configuration") if s.discovery != Discovery::None => {
            reply(200, metadata(&base, s.with_revocation))
        }
        ("GET", AUTHORIZE) => authorize(&mut s, &params),
        ("POST", TOKEN) => token(&mut s, &params),
        ("POST", DEVICE) => {
            if params.get("client_id").map(String::as_str) != Some(CLIENT_ID) {
                oauth_error("invalid_client")
            } else {
                reply(
                    200,
                    json!({"device_code": "dc-secret-1", "user_code": USER_CODE,
                        "verification_uri": format!("{base}/device"),
                        "verification_uri_complete": format!("{base}/device?user_code={USER_CODE}"),
                        "expires_in": 600, "interval": s.device_interval}),
                )
            }
        }
        ("POST", REVOKE) => {
            let token = params.get("token").cloned().unwrap_or_default();
            let hint = params.get("token_type_hint").cloned().unwrap_or_default();
            s.live_refresh.remove(&token);
            s.revoked.push((token, hint));
            reply(200, json!({}))
        }
        _ => reply(404, json!({"error": "not_found"})),
    };
    Ok(response)
}

fn authorize(s: &mut AuthState, p: &BTreeMap<String, String>) -> Response<Full<Bytes>> {
    let get = |k: &str| p.get(k).cloned().unwrap_or_default();
    let redirect_uri = get("redirect_uri");
    if get("response_type") != "code"
        || get("code_challenge_method") != "S256"
        || get("code_challenge").len() != 43
        || get("client_id") != CLIENT_ID
        || !redirect_uri.starts_with("http://127.0.0.1:")
    {
        s.refused.push(format!("bad authorization request: {p:?}"));
        return oauth_error("invalid_request");
    }
    s.serial += 1;
    let code = format!("code-{}-{}", s.serial, random_part());
    s.codes.insert(
        code.clone(),
        Grant {
            challenge: get("code_challenge"),
            redirect_uri: redirect_uri.clone(),
            client_id: get("client_id"),
        },
    );
    let location = format!(
        "{redirect_uri}?code={code}&state={}",
        url::form_urlencoded::byte_serialize(get("state").as_bytes()).collect::<String>()
    );
    Response::builder()
        .status(302)
        .header("location", location)
        .body(Full::new(Bytes::new()))
        .expect("response")
}

fn issue(s: &mut AuthState) -> Value {
    let access = jwt(&s.email.clone(), s.access_lifetime_seconds, &mut s.serial);
    s.issued.push(access.clone());
    let mut body = json!({"access_token": access, "token_type": "Bearer", "expires_in": s.access_lifetime_seconds.max(0)});
    if s.issue_refresh {
        s.serial += 1;
        let refresh = format!("rt-{}-{}", s.serial, random_part());
        s.live_refresh.insert(refresh.clone());
        s.issued.push(refresh.clone());
        body["refresh_token"] = json!(refresh);
    }
    body
}

fn verifier_ok(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._~".contains(c))
}

fn token(s: &mut AuthState, p: &BTreeMap<String, String>) -> Response<Full<Bytes>> {
    let get = |k: &str| p.get(k).cloned().unwrap_or_default();
    if get("client_id") != CLIENT_ID {
        s.refused.push("wrong client_id".into());
        return oauth_error("invalid_client");
    }
    match get("grant_type").as_str() {
        "authorization_code" => {
            let Some(grant) = s.codes.remove(&get("code")) else {
                s.refused.push("unknown or spent code".into());
                return oauth_error("invalid_grant");
            };
            let verifier = get("code_verifier");
            let computed = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(sha2::Sha256::digest(verifier.as_bytes()));
            if !verifier_ok(&verifier) || computed != grant.challenge {
                s.refused
                    .push("PKCE verifier does not match the challenge".into());
                return oauth_error("invalid_grant");
            }
            if get("redirect_uri") != grant.redirect_uri || get("client_id") != grant.client_id {
                s.refused.push("redirect_uri or client_id differ".into());
                return oauth_error("invalid_grant");
            }
            reply(200, issue(s))
        }
        "urn:ietf:params:oauth:grant-type:device_code" => {
            if get("device_code") != "dc-secret-1" {
                return oauth_error("invalid_grant");
            }
            let step = s.device_polls.min(s.device_script.len() - 1);
            s.device_polls += 1;
            match s.device_script[step] {
                "ok" => reply(200, issue(s)),
                other => oauth_error(other),
            }
        }
        "refresh_token" => {
            let presented = get("refresh_token");
            if !s.live_refresh.remove(&presented) {
                s.refused.push("spent or unknown refresh token".into());
                return oauth_error("invalid_grant");
            }
            reply(200, issue(s))
        }
        _ => oauth_error("unsupported_grant_type"),
    }
}

/// A bare HTTP/1.1 GET (the test playing the browser): (status, location header, body).
pub fn browser_get(url: &str) -> (u16, Option<String>, String) {
    let parsed = url::Url::parse(url).expect("url");
    let host = parsed.host_str().expect("host");
    let port = parsed.port_or_known_default().expect("port");
    let mut target = parsed.path().to_owned();
    if let Some(q) = parsed.query() {
        target.push('?');
        target.push_str(q);
    }
    let mut tcp = std::net::TcpStream::connect((host, port)).expect("connect");
    tcp.set_read_timeout(Some(Duration::from_secs(20))).ok();
    write!(
        tcp,
        "GET {target} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n"
    )
    .expect("write");
    let mut raw = Vec::new();
    let _ = tcp.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let location = head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case("location")
            .then(|| v.trim().to_owned())
    });
    (status, location, body.to_owned())
}
