//! `thoth run --url`: the remote edge. The bridge speaks MCP Streamable HTTP (2025-03-26+) or the legacy
//! HTTP+SSE transport (2024-11-05) to the server and plain JSON-RPC lines to the session through in-memory
//! pipes, so the router, governance and audit are the ones a stdio server gets.
//! headers (`--header`, `${env:X}`, `thoth-secret:`) | allow (THOTH_ALLOWED_REMOTE_HOSTS) | auth (the 401 hook) |
//! oauth (OAuth 2.1 behind the hook) | bridge (the task, its shared state) | post (one POST and its answer) | session (re-initialize, GET stream,
//! DELETE) | events (bounded SSE reader) | queue (byte-bounded queue to the session) | sse (legacy) |
//! wire (JSON-RPC bits the bridge reads and writes).

pub mod auth;

/// `--transport`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Transport {
    /// MCP Streamable HTTP (2025-03-26 and later).
    StreamableHttp,
    /// The legacy HTTP+SSE transport (2024-11-05).
    Sse,
    /// Streamable HTTP; on a 4xx other than 401 to the initialize, the legacy transport.
    Auto,
}

pub mod allow;
pub mod bridge;
pub mod events;
pub mod headers;
pub mod oauth;
pub mod post;
pub mod queue;
pub mod session;
pub mod shared;
pub mod sse;
pub mod wire;
