//! The checker's two per-state costs that are the model's own: the client-symmetry canonical
//! form and the state's hash (the checker's fingerprint is the hash of the canonical form).
//!
//! # Canonical form
//! The clients are interchangeable, so a state and the same state with its client ids permuted
//! are one state for the checker. [`representative`] renames the clients by a *canonical
//! labelling* instead of trying every permutation:
//! 1. walk every place a client id is stored, in a fixed order that does not depend on the ids
//!    (servers' leases, then the channels, then the DNS records, then the names in the holdings
//!    of the clients already numbered, in their new order); a client gets the next new id the
//!    first time it is met;
//! 2. the clients never met are stored nowhere but in their own holding: they are numbered in
//!    the order of their holdings (a name naming its own holder is written "self"). Two of them
//!    with equal holdings can be swapped without changing the state, so the order between them
//!    does not matter.
//!
//! Renaming a state's clients permutes the first occurrences and the holdings the same way, so
//! every state of one orbit gets the same labelling, and so the same representative: the
//! equivalence classes, and hence the states the checker visits, are exactly those of the
//! least-permutation form used before (pinned by `model/tests/checker.rs`). The single case the
//! labelling cannot decide, a never-met client's holding naming another never-met client,
//! falls back to the least permutation ([`least_rewriting`]); whether a state is in that case
//! does not depend on the numbering either, so each orbit uses one form.
//!
//! # Hash
//! [`State`]'s `Hash` writes the state as a few `u64` words, eight fields to a word, one
//! `write_u64` each (the derived one wrote about a hundred single bytes, each a hasher round):
//! about twenty words for the default configuration. The words are an injective encoding of
//! the state (every variable-length part has its length written before it; client ids are
//! below 4, `--clients` is at most 4), so equal states hash equal and unequal states differ in
//! what is hashed.

use std::hash::{Hash, Hasher};

use crate::state::*;

const UNSEEN: u8 = u8::MAX;

/// Client symmetry: the canonical representative of a state's orbit (see the module doc).
pub fn representative(st: &State) -> State {
    let n = st.clients.len();
    if n < 2 {
        return st.clone();
    }
    match canonical_labelling(st) {
        Some(perm) => {
            if perm[..n].iter().enumerate().all(|(c, &p)| p as usize == c) {
                st.clone()
            } else {
                rename_clients(st, &perm[..n])
            }
        }
        None => least_rewriting(st),
    }
}

/// Client ids numbered in order of first meeting.
struct Labels {
    /// `perm[old] = new`, [`UNSEEN`] until met.
    perm: [ClientId; 4],
    /// The old ids in order of their new id.
    order: [ClientId; 4],
    next: u8,
}

impl Labels {
    #[inline(always)]
    fn see(&mut self, c: ClientId) {
        let c = c as usize;
        if self.perm[c] == UNSEEN {
            self.perm[c] = self.next;
            self.order[self.next as usize] = c as ClientId;
            self.next += 1;
        }
    }

    #[inline(always)]
    fn see_opt(&mut self, c: Option<ClientId>) {
        if let Some(c) = c {
            self.see(c);
        }
    }
}

/// The new id of each client (`perm[old] = new`), or `None` in the one undecided case.
fn canonical_labelling(st: &State) -> Option<[ClientId; 4]> {
    let n = st.clients.len();
    debug_assert!(n <= 4, "at most 4 clients");
    let mut lb = Labels {
        perm: [UNSEEN; 4],
        order: [0; 4],
        next: 0,
    };
    for s in &st.servers {
        for lease in s.leases.iter() {
            lb.see_opt(lease.client);
            lb.see_opt(lease.reserved);
            lb.see_opt(lease.fqdn.map(|f| f.client));
            for op in &lease.dns_ops {
                lb.see(op.name().client);
            }
        }
    }
    for ch in &st.chan {
        for m in ch.iter() {
            if let Msg::BndUpd(u) = m {
                lb.see_opt(u.client);
                lb.see_opt(u.reserved);
                lb.see_opt(u.fqdn.map(|f| f.client));
            }
        }
    }
    for f in st.dns.iter().flatten() {
        lb.see(f.client);
    }
    // The names in the holdings of the clients numbered so far, in their new order (which may
    // number more clients, whose holdings are then walked too).
    let mut i = 0;
    while i < lb.next as usize {
        let c = lb.order[i] as usize;
        lb.see_opt(st.clients[c].and_then(|h| h.fqdn).map(|f| f.client));
        i += 1;
    }
    if lb.next as usize == n {
        return Some(lb.perm);
    }
    // The clients never met: numbered in the order of their holdings.
    let mut rest = [(0u32, 0u8); 4];
    let mut r = 0;
    for c in 0..n {
        if lb.perm[c] != UNSEEN {
            continue;
        }
        let key = match st.clients[c] {
            None => 0,
            Some(h) => {
                let name = match h.fqdn {
                    None => 0,
                    Some(f) => {
                        let who = if f.client as usize == c {
                            0 // "self"
                        } else if lb.perm[f.client as usize] != UNSEEN {
                            1 + lb.perm[f.client as usize] as u32
                        } else {
                            return None; // names another never-met client
                        };
                        1 + who * 2 + idx(f.by) as u32
                    }
                };
                1 + (((h.lease as u32) << 24)
                    | ((h.expiry as u32) << 16)
                    | ((idx(h.server) as u32) << 12)
                    | name)
            }
        };
        rest[r] = (key, c as u8);
        r += 1;
    }
    let rest = &mut rest[..r];
    rest.sort_unstable();
    let mut perm = lb.perm;
    let mut next = lb.next;
    for &(_, c) in rest.iter() {
        perm[c as usize] = next;
        next += 1;
    }
    Some(perm)
}

/// The least rewriting of the state over every permutation of the clients (the form used
/// where the labelling cannot decide).
pub fn least_rewriting(st: &State) -> State {
    let n = st.clients.len();
    let mut best: Option<State> = None;
    for perm in permutations(n) {
        let cand = rename_clients(st, &perm);
        if best.as_ref().is_none_or(|b| cand < *b) {
            best = Some(cand);
        }
    }
    best.unwrap_or_else(|| st.clone())
}

/// All permutations of `0..n` (n is at most 4).
fn permutations(n: usize) -> Vec<Vec<ClientId>> {
    fn go(prefix: &mut Vec<ClientId>, n: usize, out: &mut Vec<Vec<ClientId>>) {
        if prefix.len() == n {
            out.push(prefix.clone());
            return;
        }
        for c in 0..n as ClientId {
            if !prefix.contains(&c) {
                prefix.push(c);
                go(prefix, n, out);
                prefix.pop();
            }
        }
    }
    let mut out = Vec::new();
    go(&mut Vec::new(), n, &mut out);
    out
}

/// The state with client `c` renamed `perm[c]` everywhere it appears.
pub fn rename_clients(st: &State, perm: &[ClientId]) -> State {
    let mut out = st.clone();
    let r = |c: &mut Option<ClientId>| {
        if let Some(x) = c {
            *x = perm[*x as usize];
        }
    };
    let n = |f: &mut Option<Fqdn>| {
        if let Some(x) = f {
            x.client = perm[x.client as usize];
        }
    };
    for s in out.servers.iter_mut() {
        for lease in s.leases.iter_mut() {
            r(&mut lease.client);
            r(&mut lease.reserved);
            n(&mut lease.fqdn);
            for op in lease.dns_ops.iter_mut() {
                match op {
                    DnsOp::Add(x) | DnsOp::Remove(x) => x.client = perm[x.client as usize],
                }
            }
        }
    }
    for ch in out.chan.iter_mut() {
        for m in ch.iter_mut() {
            if let Msg::BndUpd(u) = m {
                r(&mut u.client);
                r(&mut u.reserved);
                n(&mut u.fqdn);
            }
        }
    }
    for rec in out.dns.iter_mut() {
        n(rec);
    }
    for (c, h) in st.clients.iter().enumerate() {
        let mut h = *h;
        if let Some(h) = h.as_mut() {
            n(&mut h.fqdn);
        }
        out.clients[perm[c] as usize] = h;
    }
    out
}

/// Eight bytes as one word.
#[inline(always)]
fn word(b: [u8; 8]) -> u64 {
    u64::from_le_bytes(b)
}

/// Booleans as the bits of a byte.
#[inline(always)]
fn bits(b: &[bool]) -> u8 {
    let mut x = 0u8;
    for (i, &v) in b.iter().enumerate() {
        x |= (v as u8) << i;
    }
    x
}

/// An optional client id as one byte (client ids are below 4).
#[inline(always)]
fn client(c: Option<ClientId>) -> u8 {
    match c {
        None => UNSEEN,
        Some(c) => {
            debug_assert!(c < 0x7f);
            c
        }
    }
}

/// A name as one byte: its client and the server that synthesized it.
#[inline(always)]
fn name(f: Fqdn) -> u8 {
    debug_assert!(f.client < 0x3f);
    (f.client << 1) | idx(f.by) as u8
}

#[inline(always)]
fn opt_name(f: Option<Fqdn>) -> u8 {
    f.map_or(UNSEEN, name)
}

// The state is written as a sequence of whole words; every variable-length part has its length
// in a word written before it, so the sequence can be read back and the encoding is injective.
// Each writer below names every field of its type (no `..`), so that a field added to the state
// without being added to the hash is a compile error.

#[inline(always)]
fn lease<H: Hasher>(h: &mut H, l: &Lease) {
    let Lease {
        status,
        client: c,
        expiry,
        since,
        clt,
        acked_pl,
        pl_sent,
        exp_time,
        pending,
        inflight,
        hold,
        reclaim,
        fqdn,
        dns_added,
        dns_ops,
        reserved,
        cancelling,
    } = l;
    h.write_u64(word([
        status.code(),
        client(*c),
        *expiry,
        *since,
        *clt,
        *acked_pl,
        *pl_sent,
        *exp_time,
    ]));
    h.write_u64(word([
        bits(&[
            *pending,
            *inflight,
            *hold,
            *reclaim,
            *dns_added,
            *cancelling,
        ]),
        opt_name(*fqdn),
        client(*reserved),
        dns_ops.len() as u8,
        0,
        0,
        0,
        0,
    ]));
    for chunk in dns_ops.chunks(8) {
        let mut b = [0u8; 8];
        for (x, op) in b.iter_mut().zip(chunk) {
            *x = match op {
                DnsOp::Add(f) => name(*f),
                DnsOp::Remove(f) => 0x80 | name(*f),
            };
        }
        h.write_u64(word(b));
    }
}

#[inline(always)]
fn server<H: Hasher>(h: &mut H, s: &Server) {
    let Server {
        up,
        state,
        prev,
        since,
        partner,
        comm_ok,
        last_operating,
        storage_lost,
        awaiting_upddone,
        owes_upddone,
        recover_wait_until,
        leases,
    } = s;
    let (ps, pt) = match partner {
        None => (0, 0),
        Some((ps, t)) => (ps.code(), *t),
    };
    h.write_u64(word([
        bits(&[
            *up,
            *comm_ok,
            *storage_lost,
            *awaiting_upddone,
            *owes_upddone,
            last_operating.is_some(),
        ]),
        state.code(),
        prev.code(),
        *since,
        ps,
        pt,
        last_operating.unwrap_or(0),
        *recover_wait_until,
    ]));
    for l in leases.iter() {
        lease(h, l);
    }
}

#[inline(always)]
fn msg<H: Hasher>(h: &mut H, m: &Msg) {
    match m {
        Msg::State {
            state,
            startup,
            since,
        } => h.write_u64(word([1, state.code(), *startup as u8, *since, 0, 0, 0, 0])),
        Msg::BndUpd(Update {
            lease,
            status,
            client: c,
            expiry,
            since,
            clt_time,
            pl,
            fqdn,
            dns_added,
            flagged,
            reserved,
        }) => {
            h.write_u64(word([
                2,
                *lease,
                status.code(),
                client(*c),
                *expiry,
                *since,
                *clt_time,
                *pl,
            ]));
            h.write_u64(word([
                opt_name(*fqdn),
                bits(&[*dns_added, *flagged]),
                client(*reserved),
                0,
                0,
                0,
                0,
                0,
            ]));
        }
        Msg::BndReply {
            lease,
            status,
            pl,
            reject,
        } => {
            let r = match reject {
                None => 0,
                Some(Reject::AddressInUse) => 1,
                Some(Reject::Outdated) => 2,
            };
            h.write_u64(word([3, *lease, status.code(), *pl, r, 0, 0, 0]))
        }
        Msg::PoolReq => h.write_u64(4),
        Msg::PoolResp => h.write_u64(5),
        Msg::UpdReq { all } => h.write_u64(word([6, *all as u8, 0, 0, 0, 0, 0, 0])),
        Msg::UpdDone => h.write_u64(7),
    }
}

impl Hash for State {
    fn hash<H: Hasher>(&self, h: &mut H) {
        let State {
            now,
            settling,
            servers,
            net_up,
            connected,
            chan,
            clients,
            budget,
            monitor,
            addresses,
            dns,
        } = self;
        let Budget {
            ticks,
            settle_ticks,
            partitions,
            crashes,
            storage_losses,
            client_ops,
            commands,
            cancels,
        } = budget;
        let Monitor {
            mclt_exceeded,
            foreign_pool,
            unresponsive_answered,
            refused_with_free_lease,
            lease_lost_on_failover,
            name_changed,
            dns_conflict,
        } = monitor;
        debug_assert!(servers.iter().all(|s| s.leases.len() < 256) && clients.len() < 256);
        h.write_u64(word([
            *now,
            bits(&[*settling, *net_up, *connected]),
            *addresses,
            chan[0].len() as u8,
            chan[1].len() as u8,
            clients.len() as u8,
            dns.len() as u8,
            bits(&[
                *mclt_exceeded,
                *foreign_pool,
                *unresponsive_answered,
                *refused_with_free_lease,
                *lease_lost_on_failover,
                *name_changed,
                *dns_conflict,
            ]),
        ]));
        h.write_u64(word([
            *ticks,
            *settle_ticks,
            *partitions,
            *crashes,
            *storage_losses,
            *client_ops,
            *commands,
            *cancels,
        ]));
        h.write_u64(word([
            servers[0].leases.len() as u8,
            servers[1].leases.len() as u8,
            0,
            0,
            0,
            0,
            0,
            0,
        ]));
        for s in servers {
            server(h, s);
        }
        for ch in chan {
            for m in ch.iter() {
                msg(h, m);
            }
        }
        for c in clients.iter() {
            h.write_u64(match c {
                None => 0,
                Some(Holding {
                    lease,
                    expiry,
                    server,
                    fqdn,
                }) => word([
                    1 + idx(*server) as u8,
                    *lease,
                    *expiry,
                    opt_name(*fqdn),
                    0,
                    0,
                    0,
                    0,
                ]),
            });
        }
        for chunk in dns.chunks(8) {
            let mut b = [0u8; 8];
            for (x, d) in b.iter_mut().zip(chunk) {
                *x = opt_name(*d);
            }
            h.write_u64(word(b));
        }
    }
}
