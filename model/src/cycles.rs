//! Is the state graph acyclic? The bounded-liveness properties are sound only if every path is
//! finite ([`crate::properties`]): stateright's visited set closes a cycle silently, and a state
//! on a cycle is never judged as the end of a path. The budgets of [`crate::ModelConfig`] bound
//! time, faults and client operations, but nothing in the budgets bounds the messages the two
//! servers exchange *within* one tick: that bound comes from the protocol (one BNDUPD per lease
//! outstanding, a rejected update waiting for the next periodic scan, §7.5.4 and reading R21).
//! This module checks it: a depth-first search that keeps the states of the current path and
//! reports the first path that comes back to one of them.
//!
//! The search runs over the client-symmetry quotient (each state replaced by its
//! representative). That is sound both ways: a cycle in the full graph maps to one in the
//! quotient, and a quotient cycle `s → … → σ(s)` repeated gives `σ(s) → … → σ²(s)` and so on,
//! which comes back to `s` since the permutation `σ` has finite order.

use std::collections::hash_map::{DefaultHasher, Entry};
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::time::{Duration, Instant};

use stateright::{Model, Representative};

use crate::model::{Action, FailoverModel};
use crate::state::State;

/// A path that comes back to a state it has visited.
#[derive(Clone, Debug)]
pub struct Cycle {
    /// The actions from the initial state to the first state of the cycle.
    pub prefix: Vec<Action>,
    /// The actions of the cycle itself: from its first state back to (a state symmetric to) it.
    pub cycle: Vec<Action>,
}

/// The result of a search.
#[derive(Clone, Debug)]
pub struct CycleSearch {
    /// Unique (representative) states visited.
    pub unique: usize,
    /// Deepest path.
    pub max_depth: usize,
    /// Wall time.
    pub elapsed: Duration,
    /// The first cycle found, if any. The search stops there.
    pub cycle: Option<Cycle>,
}

/// A 64-bit fingerprint of the client-symmetry representative of a state: equal for states
/// that differ only by a permutation of the clients.
pub fn fingerprint(st: &State) -> u64 {
    // `DefaultHasher::new()` has fixed keys: the same state always has the same fingerprint.
    let mut h = DefaultHasher::new();
    st.representative().hash(&mut h);
    h.finish()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mark {
    /// On the current path.
    OnPath,
    /// Every path from it has been explored without a cycle.
    Done,
}

struct Frame {
    state: State,
    fp: u64,
    actions: Vec<Action>,
    next: usize,
    /// The action that led here (none for the initial state).
    via: Option<Action>,
}

/// Search the whole graph of `model` for a cycle; `progress` is called every `every` with the
/// number of unique states so far.
pub fn find_cycle(
    model: &FailoverModel,
    every: Duration,
    mut progress: impl FnMut(usize),
) -> CycleSearch {
    let start = Instant::now();
    let mut last = Instant::now();
    let mut marks: HashMap<u64, Mark> = HashMap::new();
    let mut max_depth = 0;
    let mut stack: Vec<Frame> = Vec::new();
    let push = |stack: &mut Vec<Frame>, state: State, fp: u64, via: Option<Action>| {
        let mut actions = Vec::new();
        model.actions(&state, &mut actions);
        stack.push(Frame {
            state,
            fp,
            actions,
            next: 0,
            via,
        });
    };
    for init in model.init_states() {
        let fp = fingerprint(&init);
        if marks.contains_key(&fp) {
            continue;
        }
        marks.insert(fp, Mark::OnPath);
        push(&mut stack, init, fp, None);
        while !stack.is_empty() {
            max_depth = max_depth.max(stack.len());
            let top = stack.last_mut().expect("not empty");
            if top.next == top.actions.len() {
                marks.insert(top.fp, Mark::Done);
                stack.pop();
                continue;
            }
            let a = top.actions[top.next];
            top.next += 1;
            let Some(next) = model.next_state(&top.state, a) else {
                continue;
            };
            let fp = fingerprint(&next);
            match marks.entry(fp) {
                Entry::Occupied(e) => {
                    if *e.get() == Mark::OnPath {
                        let at = stack.iter().position(|f| f.fp == fp).expect("on the path");
                        let via: Vec<Action> = stack.iter().filter_map(|f| f.via).collect();
                        let mut cycle = via[at..].to_vec();
                        cycle.push(a);
                        return CycleSearch {
                            unique: marks.len(),
                            max_depth,
                            elapsed: start.elapsed(),
                            cycle: Some(Cycle {
                                prefix: via[..at].to_vec(),
                                cycle,
                            }),
                        };
                    }
                }
                Entry::Vacant(e) => {
                    e.insert(Mark::OnPath);
                    push(&mut stack, next, fp, Some(a));
                }
            }
            if last.elapsed() >= every {
                last = Instant::now();
                progress(marks.len());
            }
        }
    }
    CycleSearch {
        unique: marks.len(),
        max_depth,
        elapsed: start.elapsed(),
        cycle: None,
    }
}
