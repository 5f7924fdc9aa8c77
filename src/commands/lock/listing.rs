//! Listing a server as a client (for `thoth lock` and `thoth diff`): start it, `initialize` with protocol
//! `2025-06-18` and no client capabilities, send `notifications/initialized`, then every page of the four
//! lists. `-32601` is an empty list; requests from the server get `-32601`; then the server is stopped.

use std::ffi::OsString;
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{json, Value};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio_util::codec::FramedRead;

use crate::lock::model::Listing;
use crate::lock::Error;
use crate::proxy::framing::{Frame, LineCodec};

/// JSON-RPC's "method not found": an empty list, and the answer to every server request.
const METHOD_NOT_FOUND: i64 = -32601;
pub const PROTOCOL_VERSION: &str = "2025-06-18";
/// How long one answer may take (a server starting through `npx` can be slow).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(60);
/// Past this many pages of one list, the server is paging forever.
const MAX_PAGES: usize = 10_000;
/// The largest answer line read (a long tool list fits in a few MiB).
const MAX_LINE_BYTES: usize = 64 * 1024 * 1024;
/// After stdin is closed: how long the server may take to exit before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(2);

/// The four lists, their methods and result keys.
const LISTS: [(&str, &str); 4] = [
    ("tools/list", "tools"),
    ("prompts/list", "prompts"),
    ("resources/list", "resources"),
    ("resources/templates/list", "resourceTemplates"),
];

/// Start `command`, list what it offers, stop it.
pub fn list_command(command: &[OsString]) -> Result<Listing, Error> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Server(format!("could not start the async runtime: {e}")))?;
    runtime.block_on(async {
        let scrub = crate::settings::secret_env_names();
        let upstream = crate::proxy::upstream::spawn(command, &scrub)
            .map_err(|e| Error::Server(e.to_string()))?;
        let mut child = upstream.child;
        let result = {
            let mut client = Client::new(upstream.stdout, upstream.stdin);
            let listed = client.list().await;
            drop(client); // closes the server's stdin
            listed
        };
        match tokio::time::timeout(STOP_GRACE, child.wait()).await {
            Ok(_) => {}
            Err(_) => {
                tracing::debug!("the server did not exit after stdin closed; killing it");
                let _ = child.start_kill();
                let _ = child.wait().await;
            }
        }
        result
    })
}

/// A minimal MCP client over a pair of pipes.
pub struct Client<R, W> {
    frames: FramedRead<R, LineCodec>,
    writer: W,
    next_id: u64,
}

impl<R: AsyncRead + Unpin, W: AsyncWrite + Unpin> Client<R, W> {
    pub fn new(reader: R, writer: W) -> Client<R, W> {
        Client {
            frames: FramedRead::new(reader, LineCodec::new(MAX_LINE_BYTES)),
            writer,
            next_id: 1,
        }
    }

    async fn send(&mut self, message: &Value) -> Result<(), Error> {
        let mut line = serde_json::to_vec(message).unwrap_or_default();
        line.push(b'\n');
        self.writer
            .write_all(&line)
            .await
            .and(self.writer.flush().await)
            .map_err(|e| Error::Server(format!("writing to the server failed: {e}")))
    }

    /// Send a request and wait for its answer: Ok(result) or Err((code, message)) for a JSON-RPC error.
    async fn request(
        &mut self,
        method: &str,
        params: Value,
    ) -> Result<Result<Value, (i64, String)>, Error> {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await?;
        let deadline = tokio::time::Instant::now() + ANSWER_TIMEOUT;
        loop {
            let frame = tokio::time::timeout_at(deadline, self.frames.next())
                .await
                .map_err(|_| {
                    Error::Server(format!(
                        "no answer to {method} within {}s",
                        ANSWER_TIMEOUT.as_secs()
                    ))
                })?;
            let line = match frame {
                Some(Ok(Frame::Line(line))) => line,
                Some(Ok(Frame::Oversized { len, .. })) => {
                    return Err(Error::Server(format!(
                        "the server sent a {len}-byte line, over the {MAX_LINE_BYTES}-byte limit"
                    )))
                }
                Some(Err(e)) => {
                    return Err(Error::Server(format!(
                        "reading from the server failed: {e}"
                    )))
                }
                None => {
                    return Err(Error::Server(format!(
                        "the server closed its stdout before answering {method}"
                    )))
                }
            };
            let Ok(message) = serde_json::from_slice::<Value>(&line) else {
                tracing::warn!("the server sent a line that is not JSON; ignored");
                continue;
            };
            if message.get("method").is_some() {
                if let Some(request_id) = message.get("id") {
                    // A request from the server: lock declares no capabilities.
                    let refusal = json!({"jsonrpc": "2.0", "id": request_id, "error": {"code": METHOD_NOT_FOUND, "message": "thoth lock answers no requests"}});
                    self.send(&refusal).await?;
                }
                continue;
            }
            if message.get("id").and_then(Value::as_u64) != Some(id) {
                continue;
            }
            if let Some(error) = message.get("error") {
                let code = error
                    .get("code")
                    .and_then(Value::as_i64)
                    .unwrap_or_default();
                let text = error
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                return Ok(Err((code, text)));
            }
            return Ok(Ok(message.get("result").cloned().unwrap_or(Value::Null)));
        }
    }

    /// Initialize, then every page of the four lists.
    pub async fn list(&mut self) -> Result<Listing, Error> {
        let init = json!({
            "protocolVersion": PROTOCOL_VERSION,
            "capabilities": {},
            "clientInfo": {"name": "thoth-lock", "version": env!("CARGO_PKG_VERSION")}
        });
        let result = self
            .request("initialize", init)
            .await?
            .map_err(|(code, message)| {
                Error::Server(format!("initialize failed ({code}): {message}"))
            })?;
        let info = result.get("serverInfo");
        let field = |k: &str| {
            info.and_then(|i| i.get(k))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let mut listing = Listing {
            server_name: field("name"),
            server_version: field("version"),
            ..Listing::default()
        };
        self.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await?;
        for (method, key) in LISTS {
            let items = self.list_all(method, key).await?;
            match key {
                "tools" => listing.tools = items,
                "prompts" => listing.prompts = items,
                "resources" => listing.resources = items,
                _ => listing.resource_templates = items,
            }
        }
        Ok(listing)
    }

    async fn list_all(&mut self, method: &str, key: &str) -> Result<Vec<Value>, Error> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        let mut seen = std::collections::HashSet::new();
        for _ in 0..MAX_PAGES {
            let params = match &cursor {
                Some(c) => json!({"cursor": c}),
                None => json!({}),
            };
            let page = match self.request(method, params).await? {
                Ok(page) => page,
                Err((METHOD_NOT_FOUND, _)) => return Ok(items),
                Err((code, message)) => {
                    return Err(Error::List {
                        method: method.into(),
                        reason: format!("{code}: {message}"),
                    })
                }
            };
            match page.get(key) {
                Some(Value::Array(page_items)) => items.extend(page_items.iter().cloned()),
                None | Some(Value::Null) => {}
                Some(_) => {
                    return Err(Error::List {
                        method: method.into(),
                        reason: format!("`{key}` is not an array"),
                    })
                }
            }
            match page.get("nextCursor").and_then(Value::as_str) {
                Some(next) if !seen.insert(next.to_owned()) => {
                    return Err(Error::List {
                        method: method.into(),
                        reason: format!("the server repeated the cursor {next:?}"),
                    })
                }
                Some(next) => cursor = Some(next.to_owned()),
                None => return Ok(items),
            }
        }
        Err(Error::List {
            method: method.into(),
            reason: format!("more than {MAX_PAGES} pages"),
        })
    }
}
