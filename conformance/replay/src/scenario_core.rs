//! The RFC scenarios against `failover-core` in-process: each case's `given` is built with
//! [`failover_core::testkit::EndpointBuilder`] (stable storage holding the state and the lease
//! records, STARTUP left into that state, the §6.1 set-up played by hand), the `when` event is
//! fed to the endpoint, and its outputs are read back as an [`Observed`].
//!
//! Scenario times are relative; here zero is [`EPOCH`] seconds.

use failover_conformance::scenario::{
    client_duid, Case, ClientObs, LeaseRecord, LeaseRef, Observed, ScenarioTarget, SentLease,
    SentMsg, Status, StoredLease,
};
use failover_core::testkit::{self, EndpointBuilder};
use failover_core::{
    Binding, BindingStatus, BndUpd, Body, ClientId, ClientOp, ClientRequest, Command, Config,
    ConnectParams, ConnectReply, Disconnect, Endpoint, LeaseKey, LeaseKind, LeaseUpdate, Message,
    Output, ReplyKind, ServerFlags, StateMsg, StatusCode, Time,
};
use failover_proto::ServerState;

/// Scenario time zero, in seconds.
pub const EPOCH: u64 = 1_000_000_000;

/// A deliberate mistake, to prove the scenarios can catch one (tests only).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CoreBreakage {
    /// Every BNDREPLY rejection is sent as an acceptance (Figure 4 of §7.5.4 ignored).
    AcceptEveryBndupd,
    /// The MCLT is configured a thousand times larger: grants are not capped by the MCLT
    /// (§4.4) and every MCLT wait is too long.
    NoMcltCap,
    /// The operator's "partner is down" command is ignored (§8.9.2).
    IgnorePartnerDownCommand,
}

/// `failover-core`, in-process.
#[derive(Clone, Debug, Default)]
pub struct CoreTarget {
    /// A deliberate mistake (tests only).
    pub breakage: Option<CoreBreakage>,
}

fn t(rel: i64) -> Time {
    Time(EPOCH.saturating_add_signed(rel))
}

fn rel(t: Time) -> i64 {
    t.0 as i64 - EPOCH as i64
}

fn key(r: LeaseRef) -> LeaseKey {
    match r {
        LeaseRef::Addr(a) => LeaseKey::Addr(a),
        LeaseRef::Prefix(a, l) => LeaseKey::Prefix(a, l),
    }
}

fn lease_ref(k: LeaseKey) -> LeaseRef {
    match k {
        LeaseKey::Addr(a) => LeaseRef::Addr(a),
        LeaseKey::Prefix(a, l) => LeaseRef::Prefix(a, l),
    }
}

fn status(s: StatusCode) -> Option<Status> {
    Status::from_code(s.code())
}

fn client_of(name: &Option<String>) -> Result<Option<ClientId>, String> {
    match name.as_deref() {
        None | Some("") => Ok(None),
        Some(n) => Ok(Some(ClientId(client_duid(n)?))),
    }
}

/// A given lease record as a `failover-core` binding (§7.3).
fn binding(r: &LeaseRecord) -> Result<Binding, String> {
    let st = r.status.ok_or("a given lease needs a status")?;
    let mut b = Binding::available(st);
    b.client = client_of(&r.client)?;
    b.start_time_of_state = t(r.start.unwrap_or(0));
    b.state_expiration_time = r.expires.map(t);
    b.clt = r.clt.map(t);
    b.client_expiry = r
        .client_expiry
        .or(if st == BindingStatus::Active {
            r.expires
        } else {
            None
        })
        .map(t);
    b.partner_lifetime = r.partner_lifetime.map(t);
    b.partner_lifetime_sent = r.partner_lifetime_sent.map(t);
    b.acked_partner_lifetime = r.acked_partner_lifetime.map(t);
    b.expiration_time = r.expiration_time.map(t);
    b.valid_lifetime = r
        .valid_lifetime
        .unwrap_or_else(|| match (r.start, r.expires) {
            (Some(s), Some(e)) if e > s => (e - s) as u64,
            _ => 0,
        });
    b.update_pending = r.update_pending.unwrap_or(false);
    Ok(b)
}

fn connect_params(mclt: u64, c: &failover_conformance::scenario::ConnectGiven) -> ConnectParams {
    ConnectParams {
        protocol_version: c
            .version
            .map_or(failover_core::PROTOCOL_VERSION, |v| (v[0], v[1])),
        mclt: c.mclt.unwrap_or(mclt),
        keepalive_time: 100_000_000,
        max_unacked_bndupd: 64,
        relationship_name: c.name.clone(),
        connect_flags: 0,
    }
}

impl CoreTarget {
    /// The endpoint in `case.given`, and the transaction-id of the last UPDREQ/UPDREQALL it
    /// sent on the way (the one a partner's UPDDONE answers).
    fn endpoint(&self, case: &Case) -> Result<(Endpoint, Option<u32>), String> {
        let g = &case.given;
        let mut cfg = Config::new(g.role);
        cfg.mclt = match self.breakage {
            Some(CoreBreakage::NoMcltCap) => g.mclt * 1000,
            _ => g.mclt,
        };
        if let Some(l) = g.lifetime {
            cfg.desired_lifetime = l;
        }
        if let Some(s) = g.startup_time {
            cfg.startup_time = s;
        }
        cfg.auto_partner_down = g.auto_partner_down;
        cfg.keepalive_time = 100_000_000;
        cfg.recover_timeout = 100_000_000;
        cfg.addresses = g.addresses.clone();
        cfg.prefixes = g.prefixes.iter().map(|p| (p.0, p.1)).collect();
        let mut b = EndpointBuilder::with_config(cfg, t(0)).state(g.state, t(g.since));
        if let Some(pd) = g.partner_down_entry {
            b = b.partner_down_entry(t(pd));
        }
        if g.state == ServerState::Startup {
            b = b.recorded(g.recorded, t(g.last_operation.unwrap_or(0)));
        }
        if let Some(p) = g.partner {
            b = b.partner_since(p, Some(t(g.partner_since.unwrap_or(0))), None);
        }
        for l in &g.leases {
            b = b.lease(key(l.lease()), binding(l)?);
        }
        let (ep, outs) = b.build_with_outputs().map_err(|e| format!("given: {e}"))?;
        let updreq = outs.iter().rev().find_map(|o| match o {
            Output::Send(m) if matches!(m.body, Body::UpdReq | Body::UpdReqAll) => Some(m.xid),
            _ => None,
        });
        Ok((ep, updreq))
    }

    fn apply(
        &self,
        ep: &mut Endpoint,
        updreq: Option<u32>,
        case: &Case,
    ) -> Result<Vec<Output>, String> {
        let w = &case.when;
        let now = t(w.at);
        let mclt = case.given.mclt;
        let mut outs = Vec::new();
        if let Some(u) = &w.bndupd {
            let r = &u.record();
            let lease = key(r.lease());
            let client = client_of(&r.client)?;
            // An address no client holds still travels in CLIENT_DATA (decision D10).
            let client = match (client, lease) {
                (None, LeaseKey::Addr(_)) => Some(ClientId(Vec::new())),
                (c, _) => c,
            };
            let start = t(r.start.unwrap_or(w.at));
            let vss = u
                .vss
                .as_deref()
                .map(|h| client_duid(&format!("0x{h}")))
                .transpose()?;
            let upd = LeaseUpdate {
                lease,
                valid_lifetime: r
                    .valid_lifetime
                    .unwrap_or_else(|| match (r.start, r.expires) {
                        (Some(s), Some(e)) if e > s => (e - s) as u64,
                        (None, Some(e)) if e > w.at => (e - w.at) as u64,
                        _ => 0,
                    }),
                binding_status: r.status.ok_or("when.bndupd.status")?,
                start_time_of_state: start,
                state_expiration_time: r.expires.map(t),
                clt_time: r.clt.map(t),
                partner_lifetime: r.partner_lifetime.map(t),
                partner_raw_clt_time: None,
                expiration_time: r.expiration_time.map(t),
                dns: None,
                reserved: None,
            };
            ep.handle_message(
                now,
                Message {
                    xid: 0x00_50_01,
                    sent_time: t(u.sent.unwrap_or(w.at)),
                    body: Body::BndUpd(BndUpd {
                        client,
                        leases: vec![upd],
                        vss,
                    }),
                },
            );
        } else if let Some(c) = &w.client {
            // A server services its timers when they fall due: every timer due by `at` fires
            // before the client's message (a lease whose reuse time of §8.4.1 has come is free).
            for _ in 0..10_000 {
                match ep.poll_timeout() {
                    Some(d) if d <= now => {
                        ep.handle_timeout(d);
                        outs.extend(std::iter::from_fn(|| ep.poll_output()));
                    }
                    _ => break,
                }
            }
            let lease = c
                .address
                .map(LeaseKey::Addr)
                .or(c.prefix.map(|p| LeaseKey::Prefix(p.0, p.1)));
            let kind = match c.kind.as_deref() {
                Some("prefix") => LeaseKind::Prefix,
                _ => LeaseKind::Address,
            };
            let to_me = c.to_me.unwrap_or(true);
            let need = || lease.ok_or_else(|| "when.client: no lease".to_string());
            let op = match c.op.as_str() {
                "solicit" => ClientOp::Solicit(kind),
                "request" => ClientOp::Request(kind),
                "renew" => ClientOp::Renew {
                    lease: need()?,
                    to_me,
                },
                "rebind" => ClientOp::Rebind(need()?),
                "release" => ClientOp::Release {
                    lease: need()?,
                    to_me,
                },
                "decline" => ClientOp::Decline {
                    lease: need()?,
                    to_me,
                },
                other => return Err(format!("when.client.op: {other}")),
            };
            ep.handle_client(
                now,
                ClientRequest {
                    client: ClientId(client_duid(&c.client)?),
                    op,
                },
            );
        } else if w.timer.is_some() {
            // Every timer due by `at` fires at its own deadline, in order (bounded).
            for _ in 0..10_000 {
                match ep.poll_timeout() {
                    Some(d) if d <= now => {
                        ep.handle_timeout(d);
                        outs.extend(std::iter::from_fn(|| ep.poll_output()));
                    }
                    _ => break,
                }
            }
            ep.handle_timeout(now);
        } else if let Some(conn) = &w.connection {
            if conn == "lost" {
                ep.handle_disconnected(now);
            } else {
                outs.extend(testkit::connect(ep, now, mclt).map_err(|e| e.to_string())?);
            }
        } else if let Some(cmd) = &w.command {
            let cmd = match cmd.as_str() {
                "partner-down" => Command::PartnerDown,
                _ => Command::Shutdown,
            };
            if !(cmd == Command::PartnerDown
                && self.breakage == Some(CoreBreakage::IgnorePartnerDownCommand))
            {
                ep.handle_command(now, cmd);
            }
        } else if let Some(k) = w.message {
            use failover_proto::MsgKind as K;
            let body = match k {
                K::UpdReq => Body::UpdReq,
                K::UpdReqAll => Body::UpdReqAll,
                K::UpdDone => Body::UpdDone,
                K::PoolReq => Body::PoolReq,
                K::Contact => Body::Contact,
                _ => Body::Disconnect(Disconnect {
                    status: None,
                    message: "scenario".into(),
                }),
            };
            // UPDDONE answers the endpoint's outstanding UPDREQ/UPDREQALL (§5.3.7).
            let xid = match k {
                K::UpdDone => updreq.unwrap_or(0x00_50_02),
                _ => 0x00_50_02,
            };
            ep.handle_message(
                now,
                Message {
                    xid,
                    sent_time: now,
                    body,
                },
            );
        } else if let Some(c) = &w.connect {
            ep.handle_connected(now);
            ep.handle_message(
                now,
                Message {
                    xid: 0x00_50_03,
                    sent_time: t(c.sent.unwrap_or(w.at)),
                    body: Body::Connect(connect_params(mclt, c)),
                },
            );
        } else if let Some(c) = &w.connectreply {
            ep.handle_connected(now);
            let first: Vec<Output> = std::iter::from_fn(|| ep.poll_output()).collect();
            let xid = first
                .iter()
                .find_map(|o| match o {
                    Output::Send(m) if matches!(m.body, Body::Connect(_)) => Some(m.xid),
                    _ => None,
                })
                .ok_or("the primary sent no CONNECT when the connection came up")?;
            outs.extend(first);
            let reply = match c.reject {
                Some(s) => {
                    ConnectReply::Reject(StatusCode::from_code(s.code()).ok_or("unknown status")?)
                }
                None => ConnectReply::Accept(connect_params(mclt, c)),
            };
            ep.handle_message(
                now,
                Message {
                    xid,
                    sent_time: t(c.sent.unwrap_or(w.at)),
                    body: Body::ConnectReply(reply),
                },
            );
        }
        // The partner's STATE: alone, or after the connection came up.
        if let Some(p) = &w.partner_state {
            outs.extend(std::iter::from_fn(|| ep.poll_output()));
            let since = t(p.since.unwrap_or(w.at));
            ep.handle_message(
                now,
                Message {
                    xid: 0x00_50_04,
                    sent_time: now,
                    body: Body::State(StateMsg {
                        server_state: p.state,
                        flags: ServerFlags {
                            startup: p.startup,
                            communicated: p.communicated.unwrap_or(true),
                            ..ServerFlags::default()
                        },
                        start_time_of_state: since,
                        partner_down_time: (p.state == ServerState::PartnerDown)
                            .then(|| p.partner_down_time.map_or(since, t)),
                    }),
                },
            );
        }
        outs.extend(std::iter::from_fn(|| ep.poll_output()));
        Ok(outs)
    }

    fn observe(&self, ep: &Endpoint, outs: Vec<Output>) -> Observed {
        let mut obs = Observed {
            state: Some(ep.state()),
            ..Observed::default()
        };
        for o in outs {
            match o {
                Output::Send(mut m) => {
                    if self.breakage == Some(CoreBreakage::AcceptEveryBndupd) {
                        if let Body::BndReply(r) = &mut m.body {
                            for l in &mut r.leases {
                                l.status = None;
                            }
                        }
                    }
                    obs.sent.push(sent(&m));
                }
                Output::Disconnect { .. } => obs.dropped = true,
                Output::ClientReply(r) => obs.client.push(client_obs(&r.kind)),
                _ => {}
            }
        }
        for (k, b) in ep.db().iter() {
            obs.stored.insert(
                lease_ref(*k),
                StoredLease {
                    status: Some(b.status),
                    client: b.client.as_ref().map_or(Vec::new(), |c| c.0.clone()),
                    start: Some(rel(b.start_time_of_state)),
                    expires: b.state_expiration_time.map(rel),
                    clt: b.clt.map(rel),
                    client_expiry: b.client_expiry.map(rel),
                    partner_lifetime: b.partner_lifetime.map(rel),
                    partner_lifetime_sent: b.partner_lifetime_sent.map(rel),
                    acked_partner_lifetime: b.acked_partner_lifetime.map(rel),
                    expiration_time: b.expiration_time.map(rel),
                    valid_lifetime: Some(b.valid_lifetime),
                    update_pending: Some(b.update_pending),
                },
            );
        }
        obs
    }
}

fn sent(m: &Message) -> SentMsg {
    let mut s = SentMsg {
        kind: Some(m.kind()),
        ..SentMsg::default()
    };
    match &m.body {
        Body::State(st) => s.state = Some(st.server_state),
        Body::ConnectReply(ConnectReply::Reject(c)) => s.status = status(*c),
        Body::Disconnect(d) => s.status = d.status.and_then(status),
        Body::BndUpd(u) => {
            s.leases = u
                .leases
                .iter()
                .map(|l| SentLease {
                    lease: lease_ref(l.lease),
                    status: None,
                    binding_status: Some(l.binding_status),
                })
                .collect()
        }
        Body::BndReply(r) => {
            s.status = r.status.and_then(status);
            s.leases = r
                .leases
                .iter()
                .map(|l| SentLease {
                    lease: lease_ref(l.lease),
                    status: l.status.and_then(status),
                    binding_status: Some(l.binding_status),
                })
                .collect()
        }
        _ => {}
    }
    s
}

fn client_obs(k: &ReplyKind) -> ClientObs {
    let (reply, lease, valid, expires) = match k {
        ReplyKind::Advertise {
            lease,
            valid_lifetime,
        } => ("advertise", Some(*lease), Some(*valid_lifetime), None),
        ReplyKind::Granted {
            lease,
            valid_lifetime,
            expires,
        } => (
            "granted",
            Some(*lease),
            Some(*valid_lifetime),
            Some(rel(*expires)),
        ),
        ReplyKind::Released(l) => ("released", Some(*l), None, None),
        ReplyKind::Declined(l) => ("declined", Some(*l), None, None),
        ReplyKind::NoBinding(l) => ("no-binding", Some(*l), None, None),
        ReplyKind::NoLeaseAvailable(_) => ("no-lease-available", None, None, None),
    };
    ClientObs {
        reply: reply.into(),
        lease: lease.map(lease_ref),
        valid_lifetime: valid,
        expires,
    }
}

impl ScenarioTarget for CoreTarget {
    fn name(&self) -> String {
        match self.breakage {
            None => "failover-core (in-process)".into(),
            Some(b) => format!("failover-core broken: {b:?}"),
        }
    }

    fn run(&mut self, case: &Case) -> Result<Observed, String> {
        let (mut ep, updreq) = self.endpoint(case)?;
        let outs = self.apply(&mut ep, updreq, case)?;
        Ok(self.observe(&ep, outs))
    }
}
