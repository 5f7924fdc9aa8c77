//! The one retry policy of the crate: capped exponential backoff, jitter (a ± spread, full, decorrelated),
//! and a server's `Retry-After` honoured without letting it herd a fleet. Pure: callers pass the random
//! source, so the fleet simulation (src/fleet/simulation.rs) drives exactly this code deterministically.
//! Used by the GovAPI heartbeat leader and registration, the events spool replay and the enforcer's
//! hold polling; `retry_after_in` is the one place a response's `Retry-After` is read.

use std::time::{Duration, SystemTime};

/// Capped exponential backoff: `base`, `2·base`, `4·base`, ... never above `cap`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub cap: Duration,
}

impl Backoff {
    pub const fn new(base: Duration, cap: Duration) -> Backoff {
        Backoff { base, cap }
    }

    /// The wait after `doublings` doublings of the base (0: the base itself), capped; never overflows.
    pub fn delay(&self, doublings: u32) -> Duration {
        let factor = 1u32.checked_shl(doublings).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// Full jitter: uniform in `[0, delay(doublings)]`.
    pub fn full_jitter(&self, doublings: u32, rng: &mut fastrand::Rng) -> Duration {
        self.delay(doublings).mul_f64(rng.f64())
    }

    /// Decorrelated jitter: uniform in `[base, 3·previous]`, capped (`previous` is the last wait).
    pub fn decorrelated(&self, previous: Duration, rng: &mut fastrand::Rng) -> Duration {
        let high = previous.saturating_mul(3).max(self.base);
        let wait = self.base + (high - self.base).mul_f64(rng.f64());
        wait.min(self.cap)
    }
}

/// `delay` moved by up to ±`fraction` of itself at random (0.1: ±10%).
pub fn spread(delay: Duration, fraction: f64, rng: &mut fastrand::Rng) -> Duration {
    let secs = delay.as_secs_f64();
    let offset = (rng.f64() * 2.0 - 1.0) * secs * fraction;
    Duration::try_from_secs_f64((secs + offset).max(0.0)).unwrap_or(delay)
}

/// A `Retry-After` header value (RFC 9110 §10.2.3: delay-seconds or an HTTP-date) as a wait from `now`;
/// None when it is neither. A date in the past is no wait.
pub fn retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // More digits than u64 holds is "a very long time": the caller's cap bounds it.
        return Some(Duration::from_secs(value.parse().unwrap_or(u64::MAX)));
    }
    let at = crate::time::parse_http_date(value)?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The `Retry-After` of a response (its headers), read now: the one reader behind GovAPI, the enforcer's
/// hold polling and the events transport. None when absent or unreadable.
pub fn retry_after_in(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    retry_after(value, SystemTime::now())
}

/// The wait after a failure that came with `retry_after`: at least what the server asked for (bounded by
/// `cap`, so a hostile server cannot silence us forever), then a uniform spread over `spread_over` after it,
/// so a fleet told one date does not come back in the same second; never below `backoff`.
pub fn honour(
    backoff: Duration,
    retry_after: Option<Duration>,
    cap: Duration,
    spread_over: Duration,
    rng: &mut fastrand::Rng,
) -> Duration {
    match retry_after {
        None => backoff,
        Some(asked) => backoff.max(asked.min(cap) + spread_over.mul_f64(rng.f64())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn doubles_up_to_the_cap() {
        let b = Backoff::new(S(1), S(60));
        let waits: Vec<u64> = (0..8).map(|n| b.delay(n).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(b.delay(u32::MAX), S(60));
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = SystemTime::UNIX_EPOCH + S(1_445_412_480); // Wed, 21 Oct 2015 07:28:00 GMT
        assert_eq!(retry_after("120", now), Some(S(120)));
        assert_eq!(retry_after(" 0 ", now), Some(S(0)));
        assert_eq!(
            retry_after("Wed, 21 Oct 2015 07:29:00 GMT", now),
            Some(S(60))
        );
        assert_eq!(
            retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
            Some(S(0))
        );
        assert_eq!(
            retry_after("99999999999999999999999", now),
            Some(S(u64::MAX))
        );
        for bad in ["", "-5", "1.5", "soon", "Wed, 21 Oct 2015"] {
            assert_eq!(retry_after(bad, now), None, "{bad:?}");
        }
    }

    #[test]
    fn a_retry_after_is_a_floor_spread_after_and_capped() {
        let mut rng = fastrand::Rng::with_seed(7);
        for _ in 0..1000 {
            let w = honour(S(10), Some(S(100)), S(3600), S(60), &mut rng);
            assert!((S(100)..=S(160)).contains(&w), "{w:?}");
            let w = honour(S(10), Some(S(u64::MAX)), S(3600), S(60), &mut rng);
            assert!((S(3600)..=S(3660)).contains(&w), "{w:?}");
            assert_eq!(honour(S(500), Some(S(1)), S(3600), S(60), &mut rng), S(500));
        }
        assert_eq!(honour(S(10), None, S(3600), S(60), &mut rng), S(10));
    }

    proptest! {
        #[test]
        fn jitter_stays_in_its_bounds(base in 1u64..10_000, cap in 1u64..100_000, n in 0u32..64, seed: u64) {
            let b = Backoff::new(Duration::from_millis(base), Duration::from_millis(cap));
            let mut rng = fastrand::Rng::with_seed(seed);
            let d = b.delay(n);
            prop_assert!(d <= b.cap);
            prop_assert!(b.full_jitter(n, &mut rng) <= d);
            let dec = b.decorrelated(d, &mut rng);
            prop_assert!(dec <= b.cap);
            prop_assert!(dec >= b.base.min(b.cap));
            let s = spread(d, 0.1, &mut rng).as_secs_f64();
            prop_assert!(s >= d.as_secs_f64() * 0.9 - 1e-9 && s <= d.as_secs_f64() * 1.1 + 1e-9);
        }

        #[test]
        fn retry_after_never_panics(text in "\\PC{0,40}") {
            let _ = retry_after(&text, SystemTime::now());
        }
    }
}
