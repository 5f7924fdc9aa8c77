//! `thoth run --url`: the remote edge. The bridge speaks MCP Streamable HTTP (2025-03-26+) or the legacy
//! HTTP+SSE transport (2024-11-05) to the server and plain JSON-RPC lines to the session through in-memory
//! pipes, so the router, governance and audit are the ones a stdio server gets.
//! headers (`--header`, `${env:X}`) | allow (THOTH_ALLOWED_REMOTE_HOSTS) | auth (the 401 hook) | oauth |
//! bridge (Streamable HTTP) | sse (legacy) | wire (JSON-RPC bits the bridge reads and writes).

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
pub mod headers;
pub mod oauth;
pub mod sse;
pub mod wire;
