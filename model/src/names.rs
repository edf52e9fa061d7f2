//! How the model's values read to a person: leases named `A0`/`P0` as addresses and prefixes,
//! messages and states with the RFC's tokens. Used by `Debug` (and so by the Explorer) and by
//! the counterexample renderer.

use failover_proto::BindingStatus;

use crate::state::{role, Fqdn, Holding, LeaseId, Msg, State, Update};

/// An abstract FQDN: `c0.P` is client c0's name as the primary synthesized it.
pub fn fqdn(n: Fqdn) -> String {
    format!("c{}.{}", n.client, crate::state::short(n.by))
}

/// `A<i>` for the i-th address, `P<i>` for the i-th prefix; `#<id>` when the split is unknown.
pub fn lease(addresses: Option<u8>, id: LeaseId) -> String {
    match addresses {
        Some(a) if id < a => format!("A{id}"),
        Some(a) => format!("P{}", id - a),
        None => format!("#{id}"),
    }
}

/// One BNDUPD's lease information.
pub fn update(addresses: Option<u8>, u: &Update) -> String {
    let mut s = format!("{} {}", lease(addresses, u.lease), u.status);
    if let Some(c) = u.client {
        s += &format!(" c{c}");
    }
    if u.status == BindingStatus::Active {
        s += &format!(" until t{}", u.expiry);
    }
    s += &format!(" since t{}", u.since);
    if u.clt_time > 0 {
        s += &format!(" clt t{}", u.clt_time);
    }
    if u.pl > 0 {
        s += &format!(" PL t{}", u.pl);
    }
    if let Some(n) = u.fqdn {
        s += &format!(" name {}", fqdn(n));
        if u.dns_added {
            s += " [F]";
        }
    }
    if u.flagged {
        match u.reserved {
            Some(c) => s += &format!(" reserved for c{c}"),
            None => s += " no longer reserved",
        }
    }
    s
}

/// A partner message.
pub fn msg(addresses: Option<u8>, m: &Msg) -> String {
    match m {
        Msg::State {
            state,
            startup,
            since,
        } => {
            let flag = if *startup { " [STARTUP flag]" } else { "" };
            format!("STATE {state} since t{since}{flag}")
        }
        Msg::BndUpd(u) => format!("BNDUPD {}", update(addresses, u)),
        Msg::BndReply {
            lease: l,
            status,
            pl,
            reject,
        } => {
            let mut s = format!("BNDREPLY {} {}", lease(addresses, *l), status);
            if *pl > 0 {
                s += &format!(" PL-sent t{pl}");
            }
            if let Some(r) = reject {
                s += " status ";
                s += r.name();
            }
            s
        }
        Msg::PoolReq => "POOLREQ".into(),
        Msg::PoolResp => "POOLRESP".into(),
        Msg::UpdReq { all: false } => "UPDREQ".into(),
        Msg::UpdReq { all: true } => "UPDREQALL".into(),
        Msg::UpdDone => "UPDDONE".into(),
    }
}

/// What a client holds.
pub fn holding(addresses: Option<u8>, h: &Holding) -> String {
    let mut s = format!(
        "holds {} until t{} (from {})",
        lease(addresses, h.lease),
        h.expiry,
        h.server
    );
    if let Some(n) = h.fqdn {
        s += &format!(" named {}", fqdn(n));
    }
    s
}

/// The whole state, several lines.
pub fn state(st: &State) -> String {
    use std::fmt::Write;
    let a = Some(st.addresses);
    let mut out = String::new();
    let settling = if st.settling {
        " (settling: faults over)"
    } else {
        ""
    };
    let _ = writeln!(out, "t{}{}", st.now, settling);
    for (i, s) in st.servers.iter().enumerate() {
        let _ = writeln!(out, "{}: {:?}", role(i), s);
        for (l, ls) in s.leases.iter().enumerate() {
            let _ = writeln!(out, "    {}: {:?}", lease(a, l as LeaseId), ls);
        }
    }
    let link = match (st.net_up, st.connected) {
        (false, _) => "partitioned",
        (true, true) => "connected",
        (true, false) => "not connected",
    };
    let _ = writeln!(out, "link: {link}");
    for (i, ch) in st.chan.iter().enumerate() {
        if !ch.is_empty() {
            let msgs: Vec<String> = ch.iter().map(|m| msg(a, m)).collect();
            let _ = writeln!(out, "  {} -> {}: {}", role(i), role(1 - i), msgs.join(", "));
        }
    }
    for (c, h) in st.clients.iter().enumerate() {
        match h {
            Some(h) => {
                let _ = writeln!(out, "c{c}: {}", holding(a, h));
            }
            None => {
                let _ = writeln!(out, "c{c}: holds nothing");
            }
        }
    }
    if !st.dns.is_empty() {
        let recs: Vec<String> = st
            .dns
            .iter()
            .enumerate()
            .filter_map(|(l, r)| r.map(|n| format!("{} {}", lease(a, l as LeaseId), fqdn(n))))
            .collect();
        let _ = writeln!(
            out,
            "DNS: {}",
            if recs.is_empty() {
                "no records".to_string()
            } else {
                recs.join(", ")
            }
        );
    }
    let b = &st.budget;
    let _ = write!(
        out,
        "budget left: ticks {} (+{} settle), partitions {}, crashes {}, storage losses {}, client ops {}, commands {}",
        b.ticks, b.settle_ticks, b.partitions, b.crashes, b.storage_losses, b.client_ops, b.commands
    );
    if st.monitor.any() {
        let m = &st.monitor;
        let seen: Vec<&str> = [
            (
                m.mclt_exceeded,
                "a lifetime beyond the MCLT bound was granted",
            ),
            (m.foreign_pool, "a server allocated from its partner's pool"),
            (
                m.unresponsive_answered,
                "a server answered a client in a state that must not",
            ),
            (
                m.refused_with_free_lease,
                "a server with a free lease of its own refused a client",
            ),
            (
                m.lease_lost_on_failover,
                "a client could not keep its lease with the partner",
            ),
            (m.name_changed, "a reply changed the name a client holds"),
            (m.dns_conflict, "a DNS add found another binding's records"),
        ]
        .into_iter()
        .filter_map(|(on, what)| on.then_some(what))
        .collect();
        let _ = write!(out, "\nseen at a client exchange: {}", seen.join("; "));
    }
    out
}
