//! The queue from the HTTP readers (POST answers, the GET stream, the legacy stream) to the session, bounded
//! in bytes: a reader waits for room before it queues a line, so while the client reads slowly the bridge
//! stops reading the server (TCP pushes back) instead of buffering what the server sends.

use std::sync::Arc;

use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};

/// The sending side, shared by every reader.
#[derive(Clone)]
pub struct Sender {
    tx: mpsc::UnboundedSender<(Vec<u8>, OwnedSemaphorePermit)>,
    room: Arc<Semaphore>,
    budget: u32,
}

pub struct Receiver {
    rx: mpsc::UnboundedReceiver<(Vec<u8>, OwnedSemaphorePermit)>,
    room: Arc<Semaphore>,
}

/// A queue holding at most `budget` bytes (a line larger than that is let through alone).
pub fn channel(budget: usize) -> (Sender, Receiver) {
    let budget = u32::try_from(budget.max(1))
        .unwrap_or(u32::MAX >> 3)
        .min(u32::MAX >> 3);
    let room = Arc::new(Semaphore::new(budget as usize));
    let (tx, rx) = mpsc::unbounded_channel();
    (
        Sender {
            tx,
            room: room.clone(),
            budget,
        },
        Receiver { rx, room },
    )
}

impl Sender {
    /// Queue a line once there is room; false when the receiver is gone.
    pub async fn send(&self, line: Vec<u8>) -> bool {
        let cost = u32::try_from(line.len())
            .unwrap_or(u32::MAX)
            .clamp(1, self.budget);
        let Ok(permit) = self.room.clone().acquire_many_owned(cost).await else {
            return false;
        };
        self.tx.send((line, permit)).is_ok()
    }

    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }
}

impl Receiver {
    /// The next line and its room, given back when the permit is dropped (after the line is written).
    pub async fn recv(&mut self) -> Option<(Vec<u8>, OwnedSemaphorePermit)> {
        self.rx.recv().await
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        // Readers waiting for room learn the session is gone.
        self.room.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_full_queue_makes_the_reader_wait_until_a_line_is_written() {
        let (tx, mut rx) = channel(10);
        assert!(tx.send(vec![b'a'; 6]).await);
        let blocked = tokio::spawn({
            let tx = tx.clone();
            async move { tx.send(vec![b'b'; 6]).await }
        });
        tokio::task::yield_now().await;
        assert!(!blocked.is_finished());
        let (line, permit) = rx.recv().await.unwrap();
        assert_eq!(line.len(), 6);
        drop(permit);
        assert!(blocked.await.unwrap());
        // A line past the budget goes alone; a closed receiver fails the waiting sender.
        drop(rx.recv().await);
        assert!(tx.send(vec![b'c'; 50]).await);
        let waiting = tokio::spawn({
            let tx = tx.clone();
            async move { tx.send(vec![b'd'; 3]).await }
        });
        tokio::task::yield_now().await;
        drop(rx);
        assert!(!waiting.await.unwrap());
    }
}
