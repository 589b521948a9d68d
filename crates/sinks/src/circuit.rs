//! A circuit breaker per endpoint: closed (requests flow) → open after `failures` consecutive
//! failures (no request for `open_for`) → half-open (one probe) → closed on success, open again
//! on failure. It keeps a dead backend from being hammered by every batch's retries.

use std::time::{Duration, Instant};

/// The breaker's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Requests flow.
    Closed,
    /// No request until the instant.
    Open(Instant),
    /// One probe request may go.
    HalfOpen,
}

impl State {
    /// 0 closed, 1 half-open, 2 open (the `lookout_sink_circuit_state` gauge).
    pub fn gauge(self) -> f64 {
        match self {
            State::Closed => 0.0,
            State::HalfOpen => 1.0,
            State::Open(_) => 2.0,
        }
    }
}

/// The breaker.
#[derive(Debug)]
pub struct Circuit {
    state: State,
    failures: u32,
    threshold: u32,
    open_for: Duration,
}

impl Circuit {
    /// Opens after `threshold` consecutive failures (0 disables) for `open_for`.
    pub fn new(threshold: u32, open_for: Duration) -> Self {
        Circuit {
            state: State::Closed,
            failures: 0,
            threshold,
            open_for,
        }
    }

    /// The state now (an open circuit whose time is up becomes half-open).
    pub fn state(&mut self, now: Instant) -> State {
        if let State::Open(until) = self.state {
            if now >= until {
                self.state = State::HalfOpen;
            }
        }
        self.state
    }

    /// How long to wait before the next request may go (zero when it may go now).
    pub fn wait(&mut self, now: Instant) -> Duration {
        match self.state(now) {
            State::Open(until) => until.saturating_duration_since(now),
            _ => Duration::ZERO,
        }
    }

    /// Records a delivered request.
    pub fn success(&mut self) {
        self.failures = 0;
        self.state = State::Closed;
    }

    /// Records a failed request; returns true when this failure opened the circuit.
    pub fn failure(&mut self, now: Instant) -> bool {
        self.failures = self.failures.saturating_add(1);
        let trip = self.threshold > 0
            && (self.state == State::HalfOpen || self.failures >= self.threshold);
        if trip && !matches!(self.state, State::Open(_)) {
            self.state = State::Open(now + self.open_for);
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_open_half_open_closed() {
        let t = Instant::now();
        let mut c = Circuit::new(3, Duration::from_secs(10));
        assert!(!c.failure(t));
        assert!(!c.failure(t));
        assert_eq!(c.state(t), State::Closed);
        assert!(c.failure(t), "third failure opens");
        assert_eq!(c.wait(t), Duration::from_secs(10));
        assert_eq!(c.state(t + Duration::from_secs(10)), State::HalfOpen);
        assert!(
            c.failure(t + Duration::from_secs(10)),
            "a failed probe opens again"
        );
        assert!(matches!(
            c.state(t + Duration::from_secs(11)),
            State::Open(_)
        ));
        assert_eq!(c.state(t + Duration::from_secs(20)), State::HalfOpen);
        c.success();
        assert_eq!(c.state(t + Duration::from_secs(20)), State::Closed);
        assert_eq!(c.wait(t), Duration::ZERO);
    }

    #[test]
    fn zero_threshold_never_opens() {
        let t = Instant::now();
        let mut c = Circuit::new(0, Duration::from_secs(10));
        for _ in 0..100 {
            assert!(!c.failure(t));
        }
        assert_eq!(c.state(t), State::Closed);
    }
}
