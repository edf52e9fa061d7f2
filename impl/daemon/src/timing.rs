//! Service times of the node's input calls, shown by `failover ctl status` ("timing").
//!
//! Why: to see where a client's Request→Reply time goes (issue 12 §3). The time a call to the
//! node takes includes its store commit, so the service time of the client calls that made a
//! durable commit is the grant's fsync plus the endpoint's work; comparing it between a server
//! alone and one of a pair tells whether the partner slows the primary's own commits (a shared
//! disk) or not. `scripts/bench-serve.sh` reads these figures before and after each run.
//!
//! The node itself keeps no clock (it is sans-IO); the driver times the calls.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How many of the latest calls of each kind are kept for the median and the 99th percentile.
const KEEP: usize = 1 << 16;

/// The latest service times of one kind of call, in microseconds.
#[derive(Clone, Debug, Default)]
pub struct Samples {
    latest: Vec<u32>,
    next: usize,
    calls: u64,
    total_us: u64,
}

/// What `status` shows of one kind of call.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Calls since the daemon started.
    pub calls: u64,
    /// Their total service time, microseconds.
    pub total_us: u64,
    /// Median and 99th percentile of the latest calls (at most 65,536), microseconds.
    pub median_us: u32,
    /// See `median_us`.
    pub p99_us: u32,
}

impl Samples {
    /// One call that took `d`.
    pub fn record(&mut self, d: Duration) {
        let us = u32::try_from(d.as_micros()).unwrap_or(u32::MAX);
        if self.latest.len() < KEEP {
            self.latest.push(us);
        } else {
            self.latest[self.next] = us;
            self.next = (self.next + 1) % KEEP;
        }
        self.calls += 1;
        self.total_us += u64::from(us);
    }

    /// Count, total, median and 99th percentile (nearest rank).
    pub fn summary(&self) -> Summary {
        let mut xs = self.latest.clone();
        xs.sort_unstable();
        let rank = |p: usize| {
            if xs.is_empty() {
                0
            } else {
                xs[((xs.len() * p).div_ceil(100)).clamp(1, xs.len()) - 1]
            }
        };
        Summary {
            calls: self.calls,
            total_us: self.total_us,
            median_us: rank(50),
            p99_us: rank(99),
        }
    }
}

/// Service times by kind of call.
#[derive(Clone, Debug, Default)]
pub struct Timing {
    kinds: BTreeMap<&'static str, Samples>,
}

impl Timing {
    /// One call of `kind` that took `d`.
    pub fn record(&mut self, kind: &'static str, d: Duration) {
        self.kinds.entry(kind).or_default().record(d);
    }

    /// Every kind's summary.
    pub fn summary(&self) -> BTreeMap<String, Summary> {
        self.kinds
            .iter()
            .map(|(k, s)| (k.to_string(), s.summary()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_p99_are_nearest_ranks_of_the_latest_calls() {
        let mut s = Samples::default();
        assert_eq!(s.summary(), Summary::default());
        for us in 1..=100 {
            s.record(Duration::from_micros(us));
        }
        let m = s.summary();
        assert_eq!(
            (m.calls, m.total_us, m.median_us, m.p99_us),
            (100, 5050, 50, 99)
        );
        // Only the latest KEEP calls count for the percentiles; the count and total cover all.
        for _ in 0..KEEP {
            s.record(Duration::from_micros(7));
        }
        let m = s.summary();
        assert_eq!((m.median_us, m.p99_us), (7, 7));
        assert_eq!(m.calls, 100 + KEEP as u64);
    }
}
