//! End-to-end acknowledgements: a source that can read its input again (a file at an offset, a
//! journal at a cursor) attaches an [`AckToken`] to a batch with [`Output::send_acked`] and
//! learns through [`Acks`] when every consumer has taken responsibility for it; only then does it
//! move its checkpoint, so a crash never skips data.
//!
//! A batch is *settled* when each path it took has ended:
//! - a disk buffer appended it (or its `drop_newest`/`drop_oldest` policy dropped it on purpose);
//! - a sink with a memory buffer delivered it (or dead-lettered it) and called
//!   [`SinkContext::ack`](crate::SinkContext::ack);
//! - a processor dropped it on purpose (filtering, sampling), or a `drop_newest` memory buffer
//!   was full (the loss is counted there).
//!
//! It *failed* when a path ended without that: the disk buffer could not write (full disk), a
//! sink stopped without acknowledging what it had received (shutdown grace over), or a consumer
//! was gone. The source then keeps its checkpoint before that batch and reads it again after a
//! restart (at-least-once).
//!
//! The token is reference counted: each consumer holds a clone while the batch is in its hands
//! and the receipt is sent when the last clone is dropped.
//!
//! [`Output::send_acked`]: crate::Output::send_acked

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use tokio::sync::mpsc;

/// How one acknowledged batch ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Receipt {
    /// The id [`Acks::token`] gave the batch.
    pub id: u64,
    /// Every consumer settled it; false when one failed (see the module documentation).
    pub ok: bool,
}

struct Inner {
    id: u64,
    failed: AtomicBool,
    tx: mpsc::UnboundedSender<Receipt>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        let _ = self.tx.send(Receipt {
            id: self.id,
            ok: !self.failed.load(Relaxed),
        });
    }
}

/// The acknowledgement handle travelling with one batch; cheap to clone.
#[derive(Clone)]
pub struct AckToken(Arc<Inner>);

impl std::fmt::Debug for AckToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AckToken({})", self.0.id)
    }
}

impl AckToken {
    /// Marks the batch as not settled: its receipt will say `ok: false`.
    pub fn fail(&self) {
        self.0.failed.store(true, Relaxed);
    }

    /// The batch's id.
    pub fn id(&self) -> u64 {
        self.0.id
    }
}

/// A source's side: hands out tokens with increasing ids and receives their receipts.
#[derive(Debug)]
pub struct Acks {
    next: u64,
    tx: mpsc::UnboundedSender<Receipt>,
    rx: mpsc::UnboundedReceiver<Receipt>,
}

impl Default for Acks {
    fn default() -> Self {
        Acks::new()
    }
}

impl Acks {
    /// A new receipt channel; ids start at 0.
    pub fn new() -> Acks {
        let (tx, rx) = mpsc::unbounded_channel();
        Acks { next: 0, tx, rx }
    }

    /// A token for the next batch.
    pub fn token(&mut self) -> AckToken {
        let id = self.next;
        self.next += 1;
        AckToken(Arc::new(Inner {
            id,
            failed: AtomicBool::new(false),
            tx: self.tx.clone(),
        }))
    }

    /// Waits for the next receipt (never ends while `self` lives: it holds a sender).
    pub async fn recv(&mut self) -> Option<Receipt> {
        self.rx.recv().await
    }

    /// A receipt if one is waiting.
    pub fn try_recv(&mut self) -> Option<Receipt> {
        self.rx.try_recv().ok()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn receipt_when_the_last_clone_goes() {
        let mut acks = Acks::new();
        let t = acks.token();
        let t2 = t.clone();
        drop(t);
        assert_eq!(acks.try_recv(), None);
        drop(t2);
        assert_eq!(acks.try_recv(), Some(Receipt { id: 0, ok: true }));
        let t = acks.token();
        assert_eq!(t.id(), 1);
        t.clone().fail();
        drop(t);
        assert_eq!(acks.try_recv(), Some(Receipt { id: 1, ok: false }));
    }
}
