//! The wall clock as failover-core's [`Time`]: whole seconds since 2000-01-01 00:00:00 UTC, the
//! epoch of the failover sent-time field (RFC 8156 §5.2), so that our `Time` and the partner's
//! sent-time compare directly in the time-skew check (§6.1, §7.5.1).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use failover_core::Time;

/// 2000-01-01T00:00:00Z in Unix seconds.
pub const EPOCH_2000_UNIX: u64 = 946_684_800;

/// A clock that never goes backwards: the node's contract says `now` never decreases, and a wall
/// clock stepped back by an operator or NTP must not break it.
#[derive(Debug, Default)]
pub struct Clock {
    last: u64,
}

impl Clock {
    /// A new clock.
    pub fn new() -> Clock {
        Clock::default()
    }

    /// Now, as the core's time (whole seconds since 2000), never below an earlier answer.
    pub fn now(&mut self) -> Time {
        let secs = unix_now().as_secs().saturating_sub(EPOCH_2000_UNIX);
        self.last = self.last.max(secs);
        Time(self.last)
    }

    /// How long until the core time `t` is reached by the wall clock (zero if past).
    pub fn until(&self, t: Time) -> Duration {
        let target = Duration::from_secs(t.secs() + EPOCH_2000_UNIX);
        target.saturating_sub(unix_now())
    }
}

fn unix_now() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
}

/// A core time as Unix seconds (for operator output).
pub fn to_unix(t: Time) -> u64 {
    t.secs() + EPOCH_2000_UNIX
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn now_is_seconds_since_2000_and_never_decreases() {
        let mut c = Clock::new();
        let a = c.now();
        // 2026 is about 26 years after 2000.
        assert!(a.secs() > 25 * 365 * 86_400, "{a:?}");
        c.last = a.secs() + 1_000;
        assert_eq!(
            c.now().secs(),
            a.secs() + 1_000,
            "a clock stepped back is held"
        );
        assert_eq!(to_unix(Time(0)), EPOCH_2000_UNIX);
    }

    #[test]
    fn until_a_past_time_is_zero() {
        let mut c = Clock::new();
        let now = c.now();
        assert_eq!(c.until(Time(now.secs().saturating_sub(5))), Duration::ZERO);
        assert!(c.until(now.plus(10)) > Duration::from_secs(8));
    }
}
