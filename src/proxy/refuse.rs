//! thoth refusing to start still speaks MCP: every request gets an error that says what is wrong.

use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::time::{sleep_until, Instant};
use tokio_util::codec::FramedRead;

use super::envelope::{self, error_frame, Envelope, Kind};
use super::framing::{Frame, LineCodec};
use crate::platform;

/// How long a refusing thoth keeps answering the client before it exits.
const REFUSAL_WINDOW: Duration = Duration::from_secs(30);

/// thoth cannot govern (root in prod, bad settings, the server would not start): still speak MCP, answering
/// every request (the client's `initialize` first of all) with an error that says what is wrong, until the
/// client leaves or `REFUSAL_WINDOW` passes.
pub async fn refuse(message: &str, hint: Option<&str>) {
    let (client_in, mut client_out) = platform::client_stdio();
    let mut frames = FramedRead::new(client_in, LineCodec::new(super::MAX_LINE_BYTES));
    let text = match hint {
        Some(hint) => format!("thoth: refused to start: {message}. {hint}"),
        None => format!("thoth: refused to start: {message}"),
    };
    let data = serde_json::json!({"thoth": {"reason": message, "hint": hint}});
    let deadline = Instant::now() + REFUSAL_WINDOW;
    loop {
        let frame = tokio::select! {
            frame = frames.next() => frame,
            () = sleep_until(deadline) => None,
        };
        let Some(Ok(Frame::Line(line))) = frame else {
            match frame {
                Some(Ok(Frame::Oversized { .. })) => continue,
                _ => break,
            }
        };
        let line = Bytes::from(line);
        let reply = match serde_json::from_slice::<Envelope>(&line) {
            Ok(env) if env.kind() == Kind::Request => {
                error_frame(env.id, envelope::INTERNAL_ERROR, &text, Some(data.clone()))
            }
            Ok(_) => continue,
            Err(_) => error_frame(
                None,
                envelope::PARSE_ERROR,
                "thoth: invalid JSON-RPC message",
                None,
            ),
        };
        let mut bytes = reply.to_vec();
        bytes.push(b'\n');
        if client_out.write_all(&bytes).await.is_err() || client_out.flush().await.is_err() {
            break;
        }
    }
}
