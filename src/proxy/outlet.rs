//! One direction's writer: frames queued by the session are written by the session loop itself, from the
//! bytes they were read into (no copy, no channel, no task hop), as many as are ready in one write buffer
//! and one flush; `progress` is a branch of the session's `select!` and only writes what the peer takes
//! without blocking, so a peer that stops reading never stalls the loop. The queue is counted in bytes (each
//! frame's wire length plus what keeping it costs); the session stops reading the side that feeds it while
//! it is over `BACKLOG_BYTES`, and stops reading the peer itself while thoth's own answers to that peer's
//! input (errors for junk, refusals) are over `ECHO_BYTES`: bounded memory without a deadlock, and nothing
//! dropped (`budget`).

use std::collections::VecDeque;
use std::future::poll_fn;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncWrite, BufWriter};

use super::envelope::Outbound;
use crate::platform::Writer;

/// Queued bytes past which the session stops reading the side that feeds this outlet.
pub const BACKLOG_BYTES: usize = 8 * 1024 * 1024;
/// Queued bytes of thoth's own answers to this outlet's peer past which the session stops reading that peer
/// (a client that writes junk and never reads its answers; a server that floods requests and never reads).
pub const ECHO_BYTES: usize = 1024 * 1024;
/// What a queued frame costs besides its bytes (the frame, its parts, the queue slot), so a flood of tiny
/// frames is counted for the memory it really takes.
pub const FRAME_OVERHEAD: usize = 256;
/// The write buffer: small frames ready together go out in one write.
const WRITE_BUFFER: usize = 64 * 1024;

/// A queued frame and whether it is one of thoth's own answers to this outlet's peer.
struct Queued {
    frame: Outbound,
    echo: bool,
}

pub struct Outlet {
    /// None once shut down (after `close`) or failed.
    out: Option<BufWriter<Writer>>,
    queue: VecDeque<Queued>,
    /// How far the front frame is written: its part (`parts.len()` is the newline) and the offset in it.
    part: usize,
    offset: usize,
    /// Bytes handed to the write buffer and not flushed yet.
    dirty: bool,
    backlog: usize,
    echo: usize,
    closed: bool,
}

fn cost(frame: &Outbound) -> usize {
    frame.wire_len() + FRAME_OVERHEAD
}

impl Outlet {
    pub fn new(writer: Writer) -> Outlet {
        Outlet {
            out: Some(BufWriter::with_capacity(WRITE_BUFFER, writer)),
            queue: VecDeque::new(),
            part: 0,
            offset: 0,
            dirty: false,
            backlog: 0,
            echo: 0,
            closed: false,
        }
    }

    /// Room for more: the session may read from the side that feeds this outlet.
    pub fn has_room(&self) -> bool {
        self.backlog() < BACKLOG_BYTES
    }

    /// Room for more of thoth's own answers: the session may read from this outlet's peer.
    pub fn has_echo_room(&self) -> bool {
        self.echo_backlog() < ECHO_BYTES
    }

    /// Bytes queued (with their overhead).
    pub fn backlog(&self) -> usize {
        self.backlog
    }

    /// Bytes of thoth's own answers to the peer among them.
    pub fn echo_backlog(&self) -> usize {
        self.echo
    }

    /// Queue a frame passed on from the other side.
    pub fn send(&mut self, frame: Outbound) {
        self.queue(frame, false)
    }

    /// Queue one of thoth's own answers to this outlet's peer (counted against `ECHO_BYTES` too).
    pub fn send_echo(&mut self, frame: Outbound) {
        self.queue(frame, true)
    }

    /// Silently dropped once the outlet is closed or its peer is gone (a write failed).
    fn queue(&mut self, frame: Outbound, echo: bool) {
        if self.closed || self.out.is_none() {
            return;
        }
        let len = cost(&frame);
        self.backlog += len;
        if echo {
            self.echo += len;
        }
        self.queue.push_back(Queued { frame, echo });
    }

    /// No more frames: what is queued is still written and flushed, then the writer is shut down and dropped
    /// (the peer sees EOF).
    pub fn close(&mut self) {
        self.closed = true;
    }

    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Something to write, flush or shut down: `progress` has work.
    pub fn has_work(&self) -> bool {
        self.out.is_some() && (!self.queue.is_empty() || self.dirty || self.closed)
    }

    /// The peer is gone (a write failed): drop the writer and everything queued.
    pub fn fail(&mut self) {
        self.out = None;
        self.queue.clear();
        (self.part, self.offset, self.dirty) = (0, 0, false);
        (self.backlog, self.echo) = (0, 0);
    }

    /// Write what the peer takes. Resolves once everything queued is written and flushed (and, after
    /// `close`, the writer shut down), or as soon as an outlet that was over budget is back under it, so the
    /// session resumes reading. Cancel-safe: every byte written is accounted for at once.
    pub async fn progress(&mut self) -> std::io::Result<()> {
        poll_fn(|cx| self.poll_progress(cx)).await
    }

    fn poll_progress(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let was_full = !self.has_room() || !self.has_echo_room();
        let Some(out) = self.out.as_mut() else {
            return Poll::Ready(Ok(()));
        };
        while let Some(front) = self.queue.front() {
            let parts = &front.frame.parts;
            let chunk: &[u8] = match parts.get(self.part) {
                Some(part) => &part[self.offset..],
                None => &b"\n"[self.offset..],
            };
            if !chunk.is_empty() {
                let n = ready!(Pin::new(&mut *out).poll_write(cx, chunk))?;
                if n == 0 {
                    return Poll::Ready(Err(std::io::ErrorKind::WriteZero.into()));
                }
                self.dirty = true;
                self.offset += n;
                if n < chunk.len() {
                    continue;
                }
            }
            self.offset = 0;
            self.part += 1;
            if self.part <= parts.len() {
                continue;
            }
            // The whole frame (newline included) is in the write buffer: free it and uncount it.
            self.part = 0;
            if let Some(Queued { frame, echo }) = self.queue.pop_front() {
                let len = cost(&frame);
                self.backlog -= len;
                if echo {
                    self.echo -= len;
                }
            }
            if was_full && self.backlog < BACKLOG_BYTES && self.echo < ECHO_BYTES {
                return Poll::Ready(Ok(()));
            }
        }
        if self.dirty {
            ready!(Pin::new(&mut *out).poll_flush(cx))?;
            self.dirty = false;
        }
        if self.closed {
            ready!(Pin::new(&mut *out).poll_shutdown(cx))?;
            self.out = None;
        }
        Poll::Ready(Ok(()))
    }
}
