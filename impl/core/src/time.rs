//! Absolute time (RFC 8156 §3: seconds since 2000-01-01T00:00:00Z) and the ±5 s comparison rule
//! of §7.5.1. The core never reads a clock: every `handle_*` takes `now: Time`.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Clock skew tolerated between partners, and the width of the "same time" window (RFC 8156 §7.1,
/// §7.5.1: "Any time that ends up being +/- 5 seconds of another time SHOULD be considered to be
/// representing the same time").
pub const SKEW_TOLERANCE: u64 = 5;

/// Absolute time in seconds since 2000-01-01T00:00:00Z (RFC 8156 §3). Converted to the wire's
/// `u32` (mod 2^32) only by the codec.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Time(pub u64);

impl Time {
    /// The epoch, also the RFC's "0" (no time recorded).
    pub const ZERO: Time = Time(0);

    /// Seconds since the epoch.
    pub const fn secs(self) -> u64 {
        self.0
    }

    /// `self + secs`, saturating.
    #[must_use]
    pub const fn plus(self, secs: u64) -> Time {
        Time(self.0.saturating_add(secs))
    }

    /// `self - secs`, saturating at the epoch.
    #[must_use]
    pub const fn minus(self, secs: u64) -> Time {
        Time(self.0.saturating_sub(secs))
    }

    /// Seconds from `earlier` to `self`, or 0 if `earlier` is not earlier.
    pub const fn since(self, earlier: Time) -> u64 {
        self.0.saturating_sub(earlier.0)
    }

    /// Absolute difference in seconds.
    pub const fn abs_diff(self, other: Time) -> u64 {
        self.0.abs_diff(other.0)
    }

    /// Within ±5 s of `other`: the two count as the same time (§7.5.1).
    pub const fn same_as(self, other: Time) -> bool {
        self.abs_diff(other) <= SKEW_TOLERANCE
    }

    /// Clearly later than `other`: later by more than the 5 s window (§7.5.1, §7.5.4).
    pub const fn clearly_after(self, other: Time) -> bool {
        self.0 > other.0.saturating_add(SKEW_TOLERANCE)
    }
}

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "t={}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_second_window_is_inclusive_on_both_sides() {
        let t = Time(100);
        assert!(t.same_as(Time(95)) && t.same_as(Time(105)));
        assert!(!t.same_as(Time(106)));
        assert!(Time(106).clearly_after(t));
        assert!(!Time(105).clearly_after(t));
        assert_eq!(Time(3).minus(5), Time::ZERO);
        assert_eq!(Time(3).since(Time(10)), 0);
    }
}
