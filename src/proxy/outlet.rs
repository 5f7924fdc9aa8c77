//! One direction's writer: frames queued by the session are written by a task of their own, so a peer that
//! stops reading never stalls the session loop. The queue is counted in bytes (each frame's wire length plus
//! what keeping it costs); the session stops reading the side that feeds it while it is over `BACKLOG_BYTES`,
//! and stops reading the peer itself while thoth's own answers to that peer's input (errors for junk,
//! refusals) are over `ECHO_BYTES`: bounded memory without a deadlock, and nothing dropped (`budget`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::io::{AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::sync::{mpsc, Notify};

use super::envelope::Outbound;

/// Queued bytes past which the session stops reading the side that feeds this outlet.
pub const BACKLOG_BYTES: usize = 8 * 1024 * 1024;
/// Queued bytes of thoth's own answers to this outlet's peer past which the session stops reading that peer
/// (a client that writes junk and never reads its answers; a server that floods requests and never reads).
pub const ECHO_BYTES: usize = 1024 * 1024;
/// What a queued frame costs besides its bytes (the frame, its parts, the channel slot), so a flood of tiny
/// frames is counted for the memory it really takes.
pub const FRAME_OVERHEAD: usize = 256;

/// A queued frame and whether it is one of thoth's own answers to this outlet's peer.
struct Queued {
    frame: Outbound,
    echo: bool,
}

pub struct Outlet {
    tx: Option<mpsc::UnboundedSender<Queued>>,
    counts: Arc<Counts>,
    drained: Arc<Notify>,
}

#[derive(Default)]
struct Counts {
    backlog: AtomicUsize,
    echo: AtomicUsize,
}

fn cost(frame: &Outbound) -> usize {
    frame.wire_len() + FRAME_OVERHEAD
}

impl Outlet {
    /// The outlet and the future that writes its frames to `writer` (to be owned by the session's JoinSet).
    pub fn new<W>(
        writer: W,
    ) -> (
        Outlet,
        impl std::future::Future<Output = std::io::Result<()>>,
    )
    where
        W: AsyncWrite + Unpin + Send + 'static,
    {
        let (tx, rx) = mpsc::unbounded_channel();
        let counts = Arc::new(Counts::default());
        let drained = Arc::new(Notify::new());
        let task = write_frames(writer, rx, counts.clone(), drained.clone());
        (
            Outlet {
                tx: Some(tx),
                counts,
                drained,
            },
            task,
        )
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
        self.counts.backlog.load(Ordering::Acquire)
    }

    /// Bytes of thoth's own answers to the peer among them.
    pub fn echo_backlog(&self) -> usize {
        self.counts.echo.load(Ordering::Acquire)
    }

    /// Resolves when the writer has made progress (used to resume reading after `has_room` was false).
    pub async fn drained(&self) {
        self.drained.notified().await
    }

    /// Queue a frame passed on from the other side.
    pub fn send(&self, frame: Outbound) {
        self.queue(frame, false)
    }

    /// Queue one of thoth's own answers to this outlet's peer (counted against `ECHO_BYTES` too).
    pub fn send_echo(&self, frame: Outbound) {
        self.queue(frame, true)
    }

    /// Silently dropped once the outlet is closed or its peer is gone (the writer said so).
    fn queue(&self, frame: Outbound, echo: bool) {
        if let Some(tx) = &self.tx {
            let len = cost(&frame);
            self.counts.backlog.fetch_add(len, Ordering::AcqRel);
            if echo {
                self.counts.echo.fetch_add(len, Ordering::AcqRel);
            }
            if tx.send(Queued { frame, echo }).is_err() {
                self.counts.backlog.fetch_sub(len, Ordering::AcqRel);
                if echo {
                    self.counts.echo.fetch_sub(len, Ordering::AcqRel);
                }
            }
        }
    }

    /// No more frames: the writer flushes what is queued, then closes its end (the peer sees EOF).
    pub fn close(&mut self) {
        self.tx = None;
    }

    pub fn is_closed(&self) -> bool {
        self.tx.is_none()
    }
}

async fn write_frames<W: AsyncWrite + Unpin>(
    writer: W,
    mut rx: mpsc::UnboundedReceiver<Queued>,
    counts: Arc<Counts>,
    drained: Arc<Notify>,
) -> std::io::Result<()> {
    let mut out = BufWriter::with_capacity(64 * 1024, writer);
    while let Some(queued) = rx.recv().await {
        let mut next = Some(queued);
        // Write whatever else is already queued before one flush. A frame is freed (and uncounted) as soon
        // as it is in the write buffer, so a slow peer holds up at most that buffer, not the whole batch.
        while let Some(Queued { frame, echo }) = next.take() {
            write_one(&mut out, &frame).await?;
            let len = cost(&frame);
            drop(frame);
            counts.backlog.fetch_sub(len, Ordering::AcqRel);
            if echo {
                counts.echo.fetch_sub(len, Ordering::AcqRel);
            }
            drained.notify_one();
            next = rx.try_recv().ok();
        }
        out.flush().await?;
    }
    out.flush().await?;
    out.shutdown().await
}

async fn write_one<W: AsyncWrite + Unpin>(
    out: &mut BufWriter<W>,
    frame: &Outbound,
) -> std::io::Result<()> {
    for part in &frame.parts {
        out.write_all(part).await?;
    }
    out.write_all(b"\n").await
}
