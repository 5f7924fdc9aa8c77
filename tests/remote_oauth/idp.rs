//! The loopback server of the remote OAuth tests: the protected Streamable HTTP MCP server (`/mcp`), its
//! protected resource metadata, and the authorization server at the issuer `/as` (metadata, registration,
//! authorize, token). It records every request and every token it issued.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use serde_json::{json, Value};
use sha2::Digest as _;
#[derive(Default)]
pub struct Idp {
    /// Name the metadata in the 401 (else thoth finds it at the well-known path).
    pub header_metadata: bool,
    pub no_registration: bool,
    pub no_s256: bool,
    /// `expires_in` of issued access tokens.
    pub lifetime: i64,
    /// (method, path, params) of every request to the authorization server and the metadata.
    pub seen: Vec<(String, String, BTreeMap<String, String>)>,
    /// The Authorization header of every MCP request, and its JSON-RPC method.
    pub mcp: Vec<(Option<String>, String)>,
    pub clients: HashSet<String>,
    /// code -> (challenge, redirect_uri, client_id)
    pub codes: HashMap<String, (String, String, String)>,
    pub live_access: HashSet<String>,
    pub live_refresh: HashSet<String>,
    pub issued: Vec<String>,
    pub refused: Vec<String>,
    pub serial: u64,
}

pub struct Server {
    pub base: String,
    pub state: Arc<Mutex<Idp>>,
}

impl Server {
    pub fn start(setup: impl FnOnce(&mut Idp)) -> Server {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let mut idp = Idp {
            lifetime: 3600,
            ..Idp::default()
        };
        setup(&mut idp);
        let state = Arc::new(Mutex::new(idp));
        let (shared, b) = (state.clone(), base.clone());
        std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                    loop {
                        let Ok((tcp, _)) = listener.accept().await else {
                            continue;
                        };
                        let (state, base) = (shared.clone(), b.clone());
                        tokio::spawn(async move {
                            let service = hyper::service::service_fn(move |r| {
                                answer(r, base.clone(), state.clone())
                            });
                            let _ = hyper::server::conn::http1::Builder::new()
                                .serve_connection(hyper_util::rt::TokioIo::new(tcp), service)
                                .await;
                        });
                    }
                })
        });
        Server { base, state }
    }

    pub fn url(&self) -> String {
        format!("{}/mcp", self.base)
    }

    pub fn idp(&self) -> std::sync::MutexGuard<'_, Idp> {
        self.state.lock().unwrap()
    }

    pub fn requests_to(&self, path: &str) -> Vec<BTreeMap<String, String>> {
        self.idp()
            .seen
            .iter()
            .filter(|(_, p, _)| p == path)
            .map(|(_, _, params)| params.clone())
            .collect()
    }

    pub fn grants(&self, grant: &str) -> Vec<BTreeMap<String, String>> {
        self.requests_to("/as/token")
            .into_iter()
            .filter(|p| p.get("grant_type").map(String::as_str) == Some(grant))
            .collect()
    }
}

fn reply(status: u16, body: Value) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap()
}

fn token_error(s: &mut Idp, why: &str) -> Response<Full<Bytes>> {
    s.refused.push(why.to_owned());
    reply(
        400,
        json!({"error": "invalid_grant", "error_description": why}),
    )
}

async fn answer(
    request: Request<Incoming>,
    base: String,
    state: Arc<Mutex<Idp>>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = request.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes().to_vec())
        .unwrap_or_default();
    let path = parts.uri.path().to_owned();
    let method = parts.method.as_str().to_owned();
    let mut s = state.lock().unwrap();
    if path == "/mcp" {
        return Ok(mcp(&mut s, &base, &method, &parts.headers, &body));
    }
    let mut params: BTreeMap<String, String> =
        url::form_urlencoded::parse(parts.uri.query().unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    if path != "/as/register" {
        params.extend(url::form_urlencoded::parse(&body).into_owned());
    }
    s.seen.push((method.clone(), path.clone(), params.clone()));
    let resource = format!("{base}/mcp");
    let response = match (method.as_str(), path.as_str()) {
        ("GET", "/prm-doc") | ("GET", "/.well-known/oauth-protected-resource/mcp") => reply(
            200,
            json!({"resource": resource, "authorization_servers": [format!("{base}/as")],
                   "scopes_supported": ["mcp:tools"]}),
        ),
        ("GET", "/.well-known/oauth-authorization-server/as") => {
            let mut m = json!({
                "issuer": format!("{base}/as"),
                "authorization_endpoint": format!("{base}/as/authorize"),
                "token_endpoint": format!("{base}/as/token"),
                "registration_endpoint": format!("{base}/as/register"),
                "response_types_supported": ["code"],
                "code_challenge_methods_supported": ["S256"],
            });
            if s.no_registration {
                m.as_object_mut().unwrap().remove("registration_endpoint");
            }
            if s.no_s256 {
                m["code_challenge_methods_supported"] = json!(["plain"]);
            }
            reply(200, m)
        }
        ("POST", "/as/register") if !s.no_registration => {
            let asked: Value = serde_json::from_slice(&body).unwrap_or_default();
            s.serial += 1;
            let id = format!("dyn-client-{}", s.serial);
            s.clients.insert(id.clone());
            reply(
                201,
                json!({"client_id": id, "redirect_uris": asked["redirect_uris"]}),
            )
        }
        ("GET", "/as/authorize") => authorize(&mut s, &params, &resource),
        ("POST", "/as/token") => token(&mut s, &params, &resource),
        _ => reply(404, json!({"error": "not_found"})),
    };
    Ok(response)
}

fn mcp(
    s: &mut Idp,
    base: &str,
    method: &str,
    headers: &hyper::HeaderMap,
    body: &[u8],
) -> Response<Full<Bytes>> {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let msg: Value = serde_json::from_slice(body).unwrap_or_default();
    let rpc = msg["method"].as_str().unwrap_or(method).to_owned();
    s.mcp.push((auth.clone(), rpc.clone()));
    let ok = auth
        .as_deref()
        .and_then(|a| a.strip_prefix("Bearer "))
        .is_some_and(|t| s.live_access.contains(t));
    if !ok {
        let mut challenge = r#"Bearer realm="mcp", error="invalid_token""#.to_owned();
        if s.header_metadata {
            challenge.push_str(&format!(r#", resource_metadata="{base}/prm-doc""#));
        }
        return Response::builder()
            .status(401)
            .header("www-authenticate", challenge)
            .body(Full::new(Bytes::new()))
            .unwrap();
    }
    let result = match rpc.as_str() {
        "DELETE" => return reply(200, json!({})),
        "GET" => return reply(405, json!({})),
        "initialize" => json!({"protocolVersion": "2025-06-18", "capabilities": {"tools": {}},
                               "serverInfo": {"name": "oauthed", "version": "1"}}),
        "tools/list" => json!({"tools": [{"name": "echo", "inputSchema": {"type": "object"}}]}),
        "tools/call" => json!({"content": [{"type": "text",
                               "text": format!("called {}", msg["params"]["name"].as_str().unwrap_or(""))}]}),
        _ => {
            return Response::builder()
                .status(202)
                .body(Full::new(Bytes::new()))
                .unwrap()
        }
    };
    Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .header("mcp-session-id", "sess-1")
        .body(Full::new(Bytes::from(
            json!({"jsonrpc": "2.0", "id": msg["id"], "result": result}).to_string(),
        )))
        .unwrap()
}

fn authorize(s: &mut Idp, p: &BTreeMap<String, String>, resource: &str) -> Response<Full<Bytes>> {
    let get = |k: &str| p.get(k).cloned().unwrap_or_default();
    let redirect = get("redirect_uri");
    let client_known =
        s.clients.contains(&get("client_id")) || get("client_id") == "pre-registered";
    if get("response_type") != "code"
        || get("code_challenge_method") != "S256"
        || get("code_challenge").len() != 43
        || get("resource") != resource
        || !client_known
        || !redirect.starts_with("http://127.0.0.1:")
    {
        s.refused.push(format!("bad authorization request {p:?}"));
        return reply(400, json!({"error": "invalid_request"}));
    }
    s.serial += 1;
    let code = format!("code-{}", s.serial);
    s.codes.insert(
        code.clone(),
        (get("code_challenge"), redirect.clone(), get("client_id")),
    );
    let location = format!(
        "{redirect}?code={code}&state={}",
        url::form_urlencoded::byte_serialize(get("state").as_bytes()).collect::<String>()
    );
    Response::builder()
        .status(302)
        .header("location", location)
        .body(Full::new(Bytes::new()))
        .unwrap()
}

fn issue(s: &mut Idp) -> Response<Full<Bytes>> {
    s.serial += 1;
    let access = format!("at-{}-{:016x}", s.serial, fastrand::u64(..));
    let refresh = format!("rt-{}-{:016x}", s.serial, fastrand::u64(..));
    s.live_access.insert(access.clone());
    s.live_refresh.insert(refresh.clone());
    s.issued.extend([access.clone(), refresh.clone()]);
    reply(
        200,
        json!({"access_token": access, "token_type": "Bearer", "expires_in": s.lifetime,
               "refresh_token": refresh}),
    )
}

fn token(s: &mut Idp, p: &BTreeMap<String, String>, resource: &str) -> Response<Full<Bytes>> {
    let get = |k: &str| p.get(k).cloned().unwrap_or_default();
    if get("resource") != resource {
        return token_error(s, "no or another resource");
    }
    match get("grant_type").as_str() {
        "authorization_code" => {
            let Some((challenge, redirect, client)) = s.codes.remove(&get("code")) else {
                return token_error(s, "unknown or spent code");
            };
            let verifier = get("code_verifier");
            let computed = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(sha2::Sha256::digest(verifier.as_bytes()));
            if verifier.len() < 43 || computed != challenge {
                return token_error(s, "PKCE verifier missing or not the challenge's");
            }
            if get("redirect_uri") != redirect || get("client_id") != client {
                return token_error(s, "redirect_uri or client_id differ");
            }
            issue(s)
        }
        "refresh_token" => {
            if !s.live_refresh.remove(&get("refresh_token")) {
                return token_error(s, "spent or unknown refresh token");
            }
            issue(s)
        }
        _ => token_error(s, "unsupported grant"),
    }
}
