//! The queue against a model: random sequences of push, next, ack, rewind and close-and-reopen
//! (cleanly, or as a crash: dropped without a flush) on a real directory, checked step by step
//! against a `VecDeque` of the unacknowledged records. Whatever the sequence, every
//! unacknowledged record comes back in order with its payload, nothing acknowledged (or dropped)
//! ever comes back, and the depth counters match.
#![allow(clippy::unwrap_used)]

use std::collections::VecDeque;

use proptest::prelude::*;

use super::*;
use crate::testutil::{payload, scratch_dir};

#[derive(Debug, Clone)]
enum Op {
    Push {
        len: usize,
        events: u32,
    },
    Next,
    /// Acknowledges one of the records handed out (index modulo their number).
    AckHanded(usize),
    /// Acknowledges any unacknowledged record, handed out or not.
    AckAny(usize),
    Rewind,
    Reopen {
        crash: bool,
    },
    Flush,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0usize..400, 0u32..10).prop_map(|(len, events)| Op::Push { len, events }),
        6 => Just(Op::Next),
        2 => any::<usize>().prop_map(Op::AckHanded),
        1 => any::<usize>().prop_map(Op::AckAny),
        1 => Just(Op::Rewind),
        1 => any::<bool>().prop_map(|crash| Op::Reopen { crash }),
        1 => Just(Op::Flush),
    ]
}

fn when_full() -> impl Strategy<Value = WhenFull> {
    prop_oneof![
        Just(WhenFull::Block),
        Just(WhenFull::DropNewest),
        Just(WhenFull::DropOldest)
    ]
}

#[derive(Debug, Default)]
struct Model {
    /// (id, events, payload) of every unacknowledged record, oldest first.
    unacked: VecDeque<(u64, u32, Vec<u8>)>,
    /// How many of them the reader has handed out.
    handed: usize,
    next_id: u64,
    max_bytes: u64,
    when_full: Option<WhenFull>,
    /// Records dropped since the queue was opened.
    dropped: u64,
}

fn size(p: &[u8]) -> u64 {
    FRAMING + p.len() as u64
}

impl Model {
    fn bytes(&self) -> u64 {
        self.unacked.iter().map(|(_, _, p)| size(p)).sum()
    }

    fn ack_through(&mut self, index: usize) {
        self.unacked.drain(..=index);
        self.handed = self.handed.saturating_sub(index + 1);
    }

    fn push(&mut self, events: u32, p: Vec<u8>) -> Push {
        let size = size(&p);
        let mut dropped = (0, 0);
        if self.bytes() + size > self.max_bytes {
            match self.when_full.unwrap_or(WhenFull::Block) {
                WhenFull::Block => return Push::Full,
                WhenFull::DropNewest => {
                    self.dropped += 1;
                    return Push::DroppedNewest;
                }
                WhenFull::DropOldest => {
                    while self.bytes() + size > self.max_bytes {
                        let (_, ev, _) = &self.unacked[0];
                        dropped.0 += 1;
                        dropped.1 += u64::from(*ev);
                        self.ack_through(0);
                    }
                    self.dropped += dropped.0;
                }
            }
        }
        let id = self.next_id;
        self.next_id += 1;
        self.unacked.push_back((id, events, p));
        if dropped.0 > 0 {
            Push::AcceptedDroppedOldest {
                id,
                dropped_records: dropped.0,
                dropped_events: dropped.1,
            }
        } else {
            Push::Accepted { id }
        }
    }
}

fn run(
    ops: Vec<Op>,
    segment_bytes: u64,
    max_bytes: u64,
    when_full: WhenFull,
) -> Result<(), TestCaseError> {
    let dir = scratch_dir();
    let cfg = QueueConfig {
        dir: dir.path().join("q"),
        max_bytes,
        max_age: None,
        segment_bytes,
        fsync: FsyncPolicy::Always,
        when_full,
    };
    let mut q = DiskQueue::open(cfg.clone()).unwrap().0;
    let mut m = Model {
        next_id: 1,
        max_bytes,
        when_full: Some(when_full),
        ..Model::default()
    };
    for (step, op) in ops.into_iter().enumerate() {
        match op {
            Op::Push { len, events } => {
                let p = payload(m.next_id * 1000 + step as u64, len);
                let want = m.push(events, p.clone());
                let got = q.push(1, events, &p).unwrap();
                prop_assert_eq!(got, want, "step {}", step);
            }
            Op::Next => {
                let got = q.next().unwrap();
                let want = m.unacked.get(m.handed);
                match (got, want) {
                    (Some(r), Some((id, events, p))) => {
                        prop_assert_eq!(r.id, *id, "step {}", step);
                        prop_assert_eq!(r.events, *events);
                        prop_assert!(r.payload == *p, "step {}: payload of {} differs", step, id);
                        m.handed += 1;
                    }
                    (None, None) => {}
                    (got, want) => prop_assert!(
                        false,
                        "step {}: got {:?}, want {:?}",
                        step,
                        got.map(|r| r.id),
                        want.map(|w| w.0)
                    ),
                }
            }
            Op::AckHanded(k) => {
                if m.handed > 0 {
                    let i = k % m.handed;
                    q.ack(m.unacked[i].0).unwrap();
                    m.ack_through(i);
                }
            }
            Op::AckAny(k) => {
                if !m.unacked.is_empty() {
                    let i = k % m.unacked.len();
                    q.ack(m.unacked[i].0).unwrap();
                    m.ack_through(i);
                }
            }
            Op::Rewind => {
                q.rewind();
                m.handed = 0;
            }
            Op::Reopen { crash } => {
                if crash {
                    q.crash();
                } else {
                    drop(q);
                }
                let (q2, report) = DiskQueue::open(cfg.clone()).unwrap();
                q = q2;
                prop_assert_eq!(
                    report,
                    RecoveryReport {
                        records: m.unacked.len() as u64,
                        ..RecoveryReport::default()
                    },
                    "step {}",
                    step
                );
                m.handed = 0;
                m.dropped = 0;
            }
            Op::Flush => q.flush().unwrap(),
        }
        let s = q.stats();
        prop_assert_eq!(s.records, m.unacked.len() as u64, "step {}", step);
        prop_assert_eq!(s.bytes, m.bytes(), "step {}", step);
        prop_assert_eq!(
            s.events,
            m.unacked.iter().map(|(_, e, _)| u64::from(*e)).sum::<u64>(),
            "step {}",
            step
        );
        prop_assert_eq!(q.is_empty(), m.unacked.is_empty());
        prop_assert_eq!(s.dropped_records, m.dropped, "step {}", step);
        prop_assert_eq!(s.corrupt_records + s.truncated_bytes + s.expired_records, 0);
        prop_assert!(s.bytes <= max_bytes);
    }
    // At the end, a reopen hands out exactly the model's records.
    drop(q);
    let mut q = DiskQueue::open(cfg).unwrap().0;
    for (id, _, p) in &m.unacked {
        let r = q.next().unwrap();
        prop_assert!(
            r.as_ref().is_some_and(|r| r.id == *id && r.payload == *p),
            "final: record {} missing",
            id
        );
    }
    prop_assert_eq!(q.next().unwrap(), None);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn the_queue_behaves_like_the_model(
        ops in prop::collection::vec(op(), 1..80),
        segment_bytes in prop_oneof![Just(1u64), 200u64..2_000, Just(1u64 << 20)],
        max_bytes in prop_oneof![500u64..3_000, Just(1u64 << 30)],
        when_full in when_full(),
    ) {
        run(ops, segment_bytes, max_bytes, when_full)?;
    }
}
