//! Exponential backoff with full jitter (the AWS architecture blog's "full jitter": a random
//! wait between zero and the capped exponential), so a fleet of agents does not retry in step.

use rand::Rng;
use std::time::Duration;

/// Backoff state for one batch.
#[derive(Debug, Clone)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    attempt: u32,
}

impl Backoff {
    /// Starts at `initial`, doubling up to `max`.
    pub fn new(initial: Duration, max: Duration) -> Self {
        Backoff {
            initial,
            max: max.max(initial),
            attempt: 0,
        }
    }

    /// The cap for the current attempt (before jitter).
    pub fn ceiling(&self) -> Duration {
        let factor = 2u32.saturating_pow(self.attempt.min(20));
        self.initial.saturating_mul(factor).min(self.max)
    }

    /// The next wait: uniform in [0, ceiling], at least 1 ms. A server's `Retry-After` wins
    /// when given (bounded by `max`).
    pub fn next(&mut self, retry_after: Option<Duration>) -> Duration {
        let cap = self.ceiling();
        self.attempt = self.attempt.saturating_add(1);
        if let Some(ra) = retry_after {
            return ra.min(self.max);
        }
        let millis = u64::try_from(cap.as_millis()).unwrap_or(u64::MAX).max(1);
        Duration::from_millis(rand::rng().random_range(1..=millis))
    }

    /// Attempts made so far.
    pub fn attempts(&self) -> u32 {
        self.attempt
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_and_caps_with_jitter() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
        assert_eq!(b.ceiling(), Duration::from_millis(100));
        for _ in 0..10 {
            let cap = b.ceiling();
            let d = b.next(None);
            assert!(d <= cap && d >= Duration::from_millis(1));
        }
        assert_eq!(b.ceiling(), Duration::from_secs(1));
        assert_eq!(b.next(Some(Duration::from_secs(5))), Duration::from_secs(1));
        assert_eq!(
            b.next(Some(Duration::from_millis(7))),
            Duration::from_millis(7)
        );
        assert_eq!(b.attempts(), 12);
    }
}
