//! One direction's writer: frames queued by the session are written by a task of their own, so a peer that
//! stops reading never stalls the session loop. The queue is counted in bytes; the session stops reading the
//! other side while it is over `BACKLOG_BYTES` (bounded memory without a deadlock).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::io::{AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::sync::{mpsc, Notify};

use super::envelope::Outbound;

/// Queued bytes past which the session stops reading the side that feeds this outlet.
pub const BACKLOG_BYTES: usize = 8 * 1024 * 1024;

pub struct Outlet {
    tx: Option<mpsc::UnboundedSender<Outbound>>,
    backlog: Arc<AtomicUsize>,
    drained: Arc<Notify>,
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
        let backlog = Arc::new(AtomicUsize::new(0));
        let drained = Arc::new(Notify::new());
        let task = write_frames(writer, rx, backlog.clone(), drained.clone());
        (
            Outlet {
                tx: Some(tx),
                backlog,
                drained,
            },
            task,
        )
    }

    /// Room for more: the session may read from the side that feeds this outlet.
    pub fn has_room(&self) -> bool {
        self.backlog.load(Ordering::Acquire) < BACKLOG_BYTES
    }

    /// Resolves when the writer has made progress (used to resume reading after `has_room` was false).
    pub async fn drained(&self) {
        self.drained.notified().await
    }

    /// Queue a frame; silently dropped once the outlet is closed or its peer is gone (the writer said so).
    pub fn send(&self, frame: Outbound) {
        if let Some(tx) = &self.tx {
            let len = frame.wire_len();
            self.backlog.fetch_add(len, Ordering::AcqRel);
            if tx.send(frame).is_err() {
                self.backlog.fetch_sub(len, Ordering::AcqRel);
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
    mut rx: mpsc::UnboundedReceiver<Outbound>,
    backlog: Arc<AtomicUsize>,
    drained: Arc<Notify>,
) -> std::io::Result<()> {
    let mut out = BufWriter::with_capacity(64 * 1024, writer);
    while let Some(frame) = rx.recv().await {
        let mut written = write_one(&mut out, &frame).await?;
        // Write whatever else is already queued before one flush.
        while let Ok(frame) = rx.try_recv() {
            written += write_one(&mut out, &frame).await?;
        }
        out.flush().await?;
        backlog.fetch_sub(written, Ordering::AcqRel);
        drained.notify_one();
    }
    out.flush().await?;
    out.shutdown().await
}

async fn write_one<W: AsyncWrite + Unpin>(
    out: &mut BufWriter<W>,
    frame: &Outbound,
) -> std::io::Result<usize> {
    for part in &frame.parts {
        out.write_all(part).await?;
    }
    out.write_all(b"\n").await?;
    Ok(frame.wire_len())
}
