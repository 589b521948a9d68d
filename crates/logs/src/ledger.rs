//! In-order settlement of acknowledged batches.

use lookout_pipeline::Receipt;
use std::collections::VecDeque;

/// Batches sent with a token, in send order, each with what its acknowledgement allows the
/// source to record (file offsets, a journal cursor). [`Ledger::settle`] releases entries only
/// when every earlier batch is settled too, so a checkpoint never passes a batch that is still
/// in flight. A batch that failed stops the ledger: nothing after it is released in this run
/// (its data is read again after a restart).
#[derive(Debug)]
pub struct Ledger<E> {
    pending: VecDeque<(u64, Option<bool>, E)>,
    stalled: bool,
}

impl<E> Default for Ledger<E> {
    fn default() -> Self {
        Ledger {
            pending: VecDeque::new(),
            stalled: false,
        }
    }
}

impl<E> Ledger<E> {
    /// Records a batch just sent with token `id` (ids increase).
    pub fn insert(&mut self, id: u64, entry: E) {
        self.pending.push_back((id, None, entry));
    }

    /// Records a receipt; returns the entries now released, oldest first.
    pub fn settle(&mut self, r: Receipt) -> Vec<E> {
        if let Some(p) = self.pending.iter_mut().find(|p| p.0 == r.id) {
            p.1 = Some(r.ok);
        }
        let mut out = Vec::new();
        while let Some((_, state, _)) = self.pending.front() {
            match state {
                Some(true) if !self.stalled => {
                    if let Some((_, _, e)) = self.pending.pop_front() {
                        out.push(e);
                    }
                }
                Some(false) => {
                    self.stalled = true;
                    break;
                }
                _ => break,
            }
        }
        out
    }

    /// Batches sent and not released.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// Nothing is waiting.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// Whether every batch sent has a receipt (released or stuck behind a failure).
    pub fn all_settled(&self) -> bool {
        self.pending.iter().all(|p| p.1.is_some())
    }

    /// A batch failed: nothing more is released in this run.
    pub fn stalled(&self) -> bool {
        self.stalled
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(id: u64, ok: bool) -> Receipt {
        Receipt { id, ok }
    }

    #[test]
    fn releases_in_order_only() {
        let mut l = Ledger::default();
        for i in 0..4 {
            l.insert(i, i * 10);
        }
        assert!(l.settle(r(1, true)).is_empty(), "0 still in flight");
        assert_eq!(l.settle(r(0, true)), vec![0, 10]);
        assert_eq!(l.settle(r(3, true)), Vec::<u64>::new());
        assert_eq!(l.settle(r(2, true)), vec![20, 30]);
        assert!(l.is_empty());
    }

    #[test]
    fn a_failure_stops_everything_after_it() {
        let mut l = Ledger::default();
        for i in 0..3 {
            l.insert(i, i);
        }
        assert_eq!(l.settle(r(0, true)), vec![0]);
        assert!(l.settle(r(1, false)).is_empty());
        assert!(l.settle(r(2, true)).is_empty());
        assert!(l.stalled());
        assert!(l.all_settled());
        assert_eq!(l.len(), 2);
    }
}
