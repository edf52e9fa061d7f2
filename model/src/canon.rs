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
//! [`State`]'s `Hash` writes the state as a stream of bytes, eight to a `u64` word, one
//! `write_u64` per word (the derived one wrote about a hundred single bytes, each a hasher
//! round). The byte stream is an injective encoding of the state (every variable-length part
//! is preceded by its length; client ids are below 4, `--clients` is at most 4), so equal states
//! hash equal and unequal states differ in the stream.

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

/// Bytes packed eight to a word for a hasher.
struct Words<'a, H: Hasher> {
    h: &'a mut H,
    w: u64,
    n: u32,
    total: u64,
}

impl<H: Hasher> Words<'_, H> {
    #[inline(always)]
    fn b(&mut self, x: u8) {
        self.w |= (x as u64) << (8 * self.n);
        self.n += 1;
        if self.n == 8 {
            self.h.write_u64(self.w);
            self.total += 8;
            self.w = 0;
            self.n = 0;
        }
    }

    #[inline(always)]
    fn flags(&mut self, bits: &[bool]) {
        let mut x = 0u8;
        for (i, &b) in bits.iter().enumerate() {
            x |= (b as u8) << i;
        }
        self.b(x);
    }

    #[inline(always)]
    fn len(&mut self, n: usize) {
        debug_assert!(n < 255);
        self.b(n as u8);
    }

    fn finish(self) {
        // The byte count closes the stream, so a shorter stream padded with zeros differs.
        self.h.write_u64(self.w ^ ((self.total + self.n as u64) << 56));
    }
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

// Each writer below names every field of its type (no `..`), so that a field added to the
// state without being added to the hash is a compile error.

fn lease<H: Hasher>(w: &mut Words<'_, H>, l: &Lease) {
    let Lease {
        status,
        client: c,
        expiry,
        since,
        cltt,
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
    w.b(status.code());
    w.b(client(*c));
    w.b(*expiry);
    w.b(*since);
    w.b(*cltt);
    w.b(*acked_pl);
    w.b(*pl_sent);
    w.b(*exp_time);
    w.flags(&[*pending, *inflight, *hold, *reclaim, *dns_added, *cancelling]);
    w.b(opt_name(*fqdn));
    w.b(client(*reserved));
    w.len(dns_ops.len());
    for op in dns_ops {
        match op {
            DnsOp::Add(f) => w.b(name(*f)),
            DnsOp::Remove(f) => w.b(0x80 | name(*f)),
        }
    }
}

fn server<H: Hasher>(w: &mut Words<'_, H>, s: &Server) {
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
    w.flags(&[
        *up,
        *comm_ok,
        *storage_lost,
        *awaiting_upddone,
        *owes_upddone,
        last_operating.is_some(),
    ]);
    w.b(state.code());
    w.b(prev.code());
    w.b(*since);
    match partner {
        None => {
            w.b(0);
            w.b(0);
        }
        Some((ps, t)) => {
            w.b(ps.code());
            w.b(*t);
        }
    }
    w.b(last_operating.unwrap_or(0));
    w.b(*recover_wait_until);
    w.len(leases.len());
    for l in leases.iter() {
        lease(w, l);
    }
}

fn msg<H: Hasher>(w: &mut Words<'_, H>, m: &Msg) {
    match m {
        Msg::State {
            state,
            startup,
            since,
        } => {
            w.b(1);
            w.b(state.code());
            w.b(*startup as u8);
            w.b(*since);
        }
        Msg::BndUpd(Update {
            lease,
            status,
            client: c,
            expiry,
            since,
            cltt,
            pl,
            fqdn,
            dns_added,
            flagged,
            reserved,
        }) => {
            w.b(2);
            w.b(*lease);
            w.b(status.code());
            w.b(client(*c));
            w.b(*expiry);
            w.b(*since);
            w.b(*cltt);
            w.b(*pl);
            w.b(opt_name(*fqdn));
            w.flags(&[*dns_added, *flagged]);
            w.b(client(*reserved));
        }
        Msg::BndReply {
            lease,
            status,
            pl,
            reject,
        } => {
            w.b(3);
            w.b(*lease);
            w.b(status.code());
            w.b(*pl);
            w.b(match reject {
                None => 0,
                Some(Reject::AddressInUse) => 1,
                Some(Reject::Outdated) => 2,
            });
        }
        Msg::PoolReq => w.b(4),
        Msg::PoolResp => w.b(5),
        Msg::UpdReq { all } => {
            w.b(6);
            w.b(*all as u8);
        }
        Msg::UpdDone => w.b(7),
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
        let mut w = Words {
            h,
            w: 0,
            n: 0,
            total: 0,
        };
        w.b(*now);
        w.flags(&[*settling, *net_up, *connected]);
        w.b(*addresses);
        for s in servers {
            server(&mut w, s);
        }
        for ch in chan {
            w.len(ch.len());
            for m in ch.iter() {
                msg(&mut w, m);
            }
        }
        w.len(clients.len());
        for c in clients.iter() {
            match c {
                None => w.b(0),
                Some(Holding {
                    lease,
                    expiry,
                    server,
                    fqdn,
                }) => {
                    w.b(1 + idx(*server) as u8);
                    w.b(*lease);
                    w.b(*expiry);
                    w.b(opt_name(*fqdn));
                }
            }
        }
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
        for x in [
            ticks,
            settle_ticks,
            partitions,
            crashes,
            storage_losses,
            client_ops,
            commands,
            cancels,
        ] {
            w.b(*x);
        }
        let Monitor {
            mclt_exceeded,
            foreign_pool,
            unresponsive_answered,
            refused_with_free_lease,
            lease_lost_on_failover,
            name_changed,
            dns_conflict,
        } = monitor;
        w.flags(&[
            *mclt_exceeded,
            *foreign_pool,
            *unresponsive_answered,
            *refused_with_free_lease,
            *lease_lost_on_failover,
            *name_changed,
            *dns_conflict,
        ]);
        w.len(dns.len());
        for d in dns.iter() {
            w.b(opt_name(*d));
        }
        w.finish();
    }
}
