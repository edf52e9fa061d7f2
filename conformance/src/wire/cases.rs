//! The wire tests, one function per RFC subsection checked. Each opens its own connection (so
//! one failure does not poison the next test), plays the partner, and judges only what
//! [`WireTest::observes`] names.

use std::net::Ipv6Addr;
use std::time::{Duration, Instant};

use failover_proto::wire::{
    ConnectFlags, DhcpOption, IaAddr, IaNa, Message, MsgType, ProtocolVersion, ServerFlags,
    StatusCode,
};
use failover_proto::{BindingStatus, MsgKind, Role, ServerState};

use super::dhcp::{self, Granted};
use super::peer::{describe, failure_codes, status_of, wire_now, Peer, Recv};
use super::{Ctx, Verdict, WireTest, TIMER_SLACK};

/// The FO_KEEPALIVE_TIME the harness announces (§6.6): the SUT must send a message at least
/// this often (its FO_SEND_TIME is this divided by its FO_CONTACT_PER_KEEPALIVE_TIME ≥ 1).
pub const HARNESS_KEEPALIVE: u32 = 2;
/// What the harness says it accepts unacked (§5.5.5), except in the flow-control test.
const HARNESS_MAX_UNACKED: u32 = 64;
/// How long an answer to a request may take (a generous bound for a loaded machine).
const ANSWER: Duration = Duration::from_secs(5);

const BOTH: &[Role] = &[Role::Primary, Role::Secondary];
const SUT_SECONDARY: &[Role] = &[Role::Secondary];
const SUT_PRIMARY: &[Role] = &[Role::Primary];

/// Every wire test, in the order they run.
pub fn all() -> Vec<WireTest> {
    vec![
        WireTest {
            id: "6.1.1/connect-sent",
            title: "the primary's CONNECT carries the version, the configured MCLT, keepalive and max-unacked",
            observes: "CONNECT options PROTOCOL_VERSION (1.0), MCLT (= configured), KEEPALIVE_TIME, MAX_UNACKED_BNDUPD, RELATIONSHIP_NAME (if configured)",
            roles: SUT_PRIMARY,
            needs_dhcp: false,
            run: connect_sent,
        },
        WireTest {
            id: "6.1.2/connect-accepted",
            title: "a valid CONNECT is accepted with the same MCLT, then STATE follows",
            observes: "CONNECTREPLY (no failure status; MCLT = the CONNECT's; PROTOCOL_VERSION, KEEPALIVE_TIME, MAX_UNACKED_BNDUPD present), then a STATE",
            roles: SUT_SECONDARY,
            needs_dhcp: false,
            run: connect_accepted,
        },
        WireTest {
            id: "6.1.2/time-skew",
            title: "a CONNECT whose sent-time is 60 s off is rejected with ExcessiveTimeSkew",
            observes: "CONNECTREPLY status code",
            roles: SUT_SECONDARY,
            needs_dhcp: false,
            run: connect_time_skew,
        },
        WireTest {
            id: "6.1.2/protocol-version",
            title: "a CONNECT with an unsupported protocol version is rejected with NotSupported",
            observes: "CONNECTREPLY status code",
            roles: SUT_SECONDARY,
            needs_dhcp: false,
            run: connect_version,
        },
        WireTest {
            id: "6.1.2/relationship-name",
            title: "a CONNECT naming another relationship is rejected",
            observes: "CONNECTREPLY carries a failure status (the project reads ConfigurationConflict, decision D3; any failure code passes)",
            roles: SUT_SECONDARY,
            needs_dhcp: false,
            run: connect_wrong_name,
        },
        WireTest {
            id: "6.1.3/mclt-mismatch",
            title: "a CONNECTREPLY with another MCLT makes the primary send DISCONNECT and drop",
            observes: "DISCONNECT (status, if any, is reported), then the connection closed; no STATE",
            roles: SUT_PRIMARY,
            needs_dhcp: false,
            run: connectreply_mclt_mismatch,
        },
        WireTest {
            id: "5.1/zero-message-size",
            title: "a frame with message-size 0 ends the connection (the stream cannot be resynchronised)",
            observes: "the connection closed (a DISCONNECT before it is allowed)",
            roles: BOTH,
            needs_dhcp: false,
            run: framing_zero_size,
        },
        WireTest {
            id: "5.1/short-frame",
            title: "a frame shorter than the 8-octet header ends the connection",
            observes: "the connection closed (a DISCONNECT before it is allowed)",
            roles: BOTH,
            needs_dhcp: false,
            run: framing_short,
        },
        WireTest {
            id: "5.1/cut-frame",
            title: "a connection closed in the middle of a frame leaves the server able to take the next one",
            observes: "a full handshake on a new connection after half a frame and a close",
            roles: BOTH,
            needs_dhcp: false,
            run: framing_cut,
        },
        WireTest {
            id: "5.2/unknown-msg-type",
            title: "a message of an unknown type is ignored (RFC 3315 §15), the connection stays usable",
            observes: "after msg-type 250: the connection stays open and an UPDREQ is answered by UPDDONE",
            roles: BOTH,
            needs_dhcp: false,
            run: unknown_message,
        },
        WireTest {
            id: "6.6/contact-sent",
            title: "the server sends a message at least every FO_KEEPALIVE_TIME the harness announced",
            observes: "the largest gap between two messages from the server over 4 announced keepalive times (allowed: keepalive + 2 s)",
            roles: BOTH,
            needs_dhcp: false,
            run: contact_timing,
        },
        WireTest {
            id: "6.6/keepalive-expiry",
            title: "the server drops a silent partner after its FO_KEEPALIVE_TIME, not before",
            observes: "when the connection closes after the harness's last message (allowed: keepalive - 1 s .. keepalive + 2 s)",
            roles: BOTH,
            needs_dhcp: false,
            run: keepalive_expiry,
        },
        WireTest {
            id: "7.5.1/time-skew",
            title: "a message whose sent-time is 60 s off makes the server drop the connection (SHOULD)",
            observes: "the connection closed after a CONTACT with sent-time now - 60 s",
            roles: BOTH,
            needs_dhcp: false,
            run: session_time_skew,
        },
        WireTest {
            id: "7.5.3/bndupd-empty",
            title: "a BNDUPD with neither CLIENT_DATA nor IAPREFIX is rejected with MissingBindingInformation",
            observes: "BNDREPLY status code",
            roles: BOTH,
            needs_dhcp: false,
            run: bndupd_empty,
        },
        WireTest {
            id: "7.5.3/bndupd-unknown-lease",
            title: "a BNDUPD for an address outside the server's pools is rejected with ConfigurationConflict",
            observes: "BNDREPLY status code (in CLIENT_DATA or the IA)",
            roles: BOTH,
            needs_dhcp: false,
            run: bndupd_unknown_lease,
        },
        WireTest {
            id: "7.5.5/bndupd-accepted",
            title: "the primary's BNDUPD making a free address of its half ACTIVE is accepted",
            observes: "BNDREPLY without a failure status code",
            roles: SUT_SECONDARY,
            needs_dhcp: false,
            run: bndupd_accepted,
        },
        WireTest {
            id: "7.5.2/reply-after-storage",
            title: "an update the secondary acknowledged survives its crash",
            observes: "after BNDREPLY, SIGKILL and restart of the SUT (--sut-restart): the UPDREQALL answer holds the address ACTIVE for the client",
            roles: SUT_SECONDARY,
            needs_dhcp: false,
            run: reply_after_storage,
        },
        WireTest {
            id: "5.3.6/updreqall",
            title: "UPDREQALL is answered by BNDUPDs, then UPDDONE once every one is acked",
            observes: "BNDUPDs (counted), UPDDONE; no BNDUPD after UPDDONE",
            roles: BOTH,
            needs_dhcp: false,
            run: updreqall,
        },
        WireTest {
            id: "5.5.5/max-unacked",
            title: "the server never has more BNDUPDs unacked than the partner's MAX_UNACKED_BNDUPD (1)",
            observes: "BNDUPDs received while the harness holds its BNDREPLY for 300 ms, for the first 5 updates of an UPDREQALL",
            roles: BOTH,
            needs_dhcp: false,
            run: max_unacked,
        },
        WireTest {
            id: "4.3/lazy-update",
            title: "a client is answered without waiting for the partner, and the partner is updated after",
            observes: "in NORMAL, the REPLY to a Rapid Commit SOLICIT while the harness (the partner) reads nothing and acknowledges nothing; then a BNDUPD naming the address granted",
            roles: SUT_PRIMARY,
            needs_dhcp: true,
            run: lazy_update,
        },
        WireTest {
            id: "4.4/mclt-cap",
            title: "a new lease given while communicating is no longer than the MCLT",
            observes: "the valid lifetime of the IAADDR in the REPLY to a Rapid Commit SOLICIT (allowed: ≤ MCLT)",
            roles: SUT_PRIMARY,
            needs_dhcp: true,
            run: mclt_cap,
        },
    ]
}

/// Properties the wire cannot show, listed so that they are never counted as passed.
pub const NOT_WIRE_TESTABLE: &[(&str, &str, &str)] = &[
    (
        "8.1/state-in-stable-storage",
        "every state transition is recorded in stable storage",
        "storage is inside the server; a restart shows only the recorded state, not when it was written",
    ),
    (
        "8.3.2/time-of-failure",
        "a restarted server uses the time it could last have been operating",
        "needs the SUT's stored time of failure; the wire shows only the STATE after the restart",
    ),
];

// ---- building messages ---------------------------------------------------------------------

struct ConnectParams {
    version: ProtocolVersion,
    mclt: u32,
    keepalive: u32,
    max_unacked: u32,
    name: Option<String>,
    sent_time: u32,
}

impl ConnectParams {
    fn standard(ctx: &Ctx) -> ConnectParams {
        ConnectParams {
            version: ProtocolVersion::RFC8156,
            mclt: ctx.cfg.mclt,
            keepalive: HARNESS_KEEPALIVE,
            max_unacked: HARNESS_MAX_UNACKED,
            name: ctx.cfg.relationship_name.clone(),
            sent_time: wire_now() as u32,
        }
    }

    /// RFC 8156 §6.1.1 (CONNECT) / §6.1.2 (accepting CONNECTREPLY).
    fn message(&self, kind: MsgKind, xid: u32) -> Message {
        let mut m = Message::new(kind, xid, self.sent_time)
            .with(DhcpOption::ProtocolVersion(self.version))
            .with(DhcpOption::Mclt(self.mclt))
            .with(DhcpOption::KeepaliveTime(self.keepalive))
            .with(DhcpOption::MaxUnackedBndupd(self.max_unacked));
        if let Some(n) = &self.name {
            m = m.with(DhcpOption::RelationshipName(n.clone()));
        }
        m.with(DhcpOption::ConnectFlags(ConnectFlags(0)))
    }
}

/// The harness's STATE (§6.3): NORMAL, communicated before, in it since now.
fn harness_state(p: &mut Peer) -> Message {
    let m = p.message(MsgKind::State);
    let now = m.sent_time;
    m.with(DhcpOption::ServerState(ServerState::Normal))
        .with(DhcpOption::ServerFlags(
            ServerFlags::default().with(ServerFlags::COMMUNICATED),
        ))
        .with(DhcpOption::StartTimeOfState(now))
}

/// A failing verdict from an unexpected [`Recv`].
fn unexpected(expected: &str, got: &Recv) -> Verdict {
    Verdict::fail(expected, got.describe())
}

fn send(p: &mut Peer, m: &Message) -> Result<(), Verdict> {
    p.send(m)
        .map_err(|e| Verdict::fail("the connection open for the harness's message", e))
}

// ---- opening connections -------------------------------------------------------------------

/// A new TCP connection: to the SUT (secondary) or from it (primary).
fn open(ctx: &mut Ctx) -> Result<Peer, Verdict> {
    match ctx.cfg.role {
        Role::Secondary => {
            let target = ctx.cfg.target.ok_or_else(|| Verdict::Error {
                message: "no target".into(),
            })?;
            // The SUT may still be tearing down the previous test's connection: retry briefly.
            let until = Instant::now() + ANSWER;
            loop {
                match Peer::connect_secured(
                    target,
                    ANSWER,
                    ctx.transcript.clone(),
                    ctx.tls.as_ref(),
                ) {
                    Ok(p) => return Ok(p),
                    // A TLS failure does not go away by retrying: report it at once.
                    Err(e) if e.starts_with("TLS") => {
                        return Err(Verdict::fail(
                            "a TLS session with the SUT (STARTTLS, RFC 7653 §8.2)",
                            e,
                        ))
                    }
                    Err(e) if Instant::now() >= until => {
                        return Err(Verdict::fail("the SUT accepting a TCP connection", e))
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(200)),
                }
            }
        }
        Role::Primary => {
            let Some(l) = &ctx.listener else {
                return Err(Verdict::Error {
                    message: "no listening socket".into(),
                });
            };
            let wait = Duration::from_secs(u64::from(ctx.cfg.reconnect_max)) + ANSWER;
            let until = Instant::now() + wait;
            loop {
                match l.accept() {
                    Ok((s, _)) => {
                        let _ = s.set_nonblocking(false);
                        return Peer::accepted_secured(
                            s,
                            ctx.transcript.clone(),
                            ctx.tls.as_ref(),
                            ANSWER,
                        )
                        .map_err(|e| {
                            Verdict::fail("a TLS session with the SUT (STARTTLS, RFC 7653 §9.1)", e)
                        });
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        if Instant::now() >= until {
                            return Err(Verdict::fail(
                                format!("the SUT connecting to its partner (the harness) within reconnect_max + {} s", ANSWER.as_secs()),
                                "no connection (timeout)",
                            ));
                        }
                        std::thread::sleep(Duration::from_millis(50));
                    }
                    Err(e) => {
                        return Err(Verdict::Error {
                            message: format!("accept: {e}"),
                        })
                    }
                }
            }
        }
    }
}

/// A connection through the CONNECT / CONNECTREPLY / STATE exchange (§6.1-§6.4): communications
/// are OK when this returns. `params` are the harness's (CONNECT or CONNECTREPLY).
fn establish_with(ctx: &mut Ctx, params: ConnectParams) -> Result<Peer, Verdict> {
    let mut p = open(ctx)?;
    match ctx.cfg.role {
        Role::Secondary => {
            let xid = p.xid();
            let connect = params.message(MsgKind::Connect, xid);
            send(&mut p, &connect)?;
            let r = p.expect(MsgKind::ConnectReply, ANSWER);
            let Recv::Msg(reply) = &r else {
                return Err(unexpected("CONNECTREPLY", &r));
            };
            if let Some(s) = status_of(reply).filter(|s| !s.code.is_success()) {
                return Err(Verdict::fail(
                    "CONNECTREPLY accepting the CONNECT",
                    format!("CONNECTREPLY rejecting it: {} {:?}", s.code, s.message),
                ));
            }
        }
        Role::Primary => {
            let r = p.expect(MsgKind::Connect, ANSWER);
            let Recv::Msg(connect) = &r else {
                return Err(unexpected("CONNECT", &r));
            };
            let reply = ConnectParams {
                sent_time: wire_now() as u32,
                ..params
            }
            .message(MsgKind::ConnectReply, connect.transaction_id);
            send(&mut p, &reply)?;
        }
    }
    let r = p.expect(MsgKind::State, ANSWER);
    if !matches!(r, Recv::Msg(_)) {
        return Err(unexpected("STATE (§6.1.2, §6.1.3)", &r));
    }
    let st = harness_state(&mut p);
    send(&mut p, &st)?;
    Ok(p)
}

fn establish(ctx: &mut Ctx) -> Result<Peer, Verdict> {
    let params = ConnectParams::standard(ctx);
    establish_with(ctx, params)
}

macro_rules! tri {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(verdict) => return verdict,
        }
    };
}

// ---- §6.1 connection -----------------------------------------------------------------------

/// RFC 8156 §6.1.1 Sending a CONNECT Message.
fn connect_sent(ctx: &mut Ctx) -> Verdict {
    let mut p = tri!(open(ctx));
    let r = p.expect(MsgKind::Connect, ANSWER);
    let Recv::Msg(c) = &r else {
        return unexpected("CONNECT", &r);
    };
    let mut wrong = Vec::new();
    match c.option(failover_proto::wire::OptionCode::OPTION_F_PROTOCOL_VERSION) {
        Some(DhcpOption::ProtocolVersion(v)) if v.major == 1 => {}
        other => wrong.push(format!("PROTOCOL_VERSION {other:?}")),
    }
    match c.option(failover_proto::wire::OptionCode::OPTION_F_MCLT) {
        Some(DhcpOption::Mclt(m)) if *m == ctx.cfg.mclt => {}
        other => wrong.push(format!("MCLT {other:?} (configured {})", ctx.cfg.mclt)),
    }
    if !matches!(
        c.option(failover_proto::wire::OptionCode::OPTION_F_KEEPALIVE_TIME),
        Some(DhcpOption::KeepaliveTime(_))
    ) {
        wrong.push("no KEEPALIVE_TIME".into());
    }
    if !matches!(
        c.option(failover_proto::wire::OptionCode::OPTION_F_MAX_UNACKED_BNDUPD),
        Some(DhcpOption::MaxUnackedBndupd(_))
    ) {
        wrong.push("no MAX_UNACKED_BNDUPD".into());
    }
    if let Some(name) = &ctx.cfg.relationship_name {
        match c.option(failover_proto::wire::OptionCode::OPTION_F_RELATIONSHIP_NAME) {
            Some(DhcpOption::RelationshipName(n)) if n == name => {}
            other => wrong.push(format!("RELATIONSHIP_NAME {other:?} (configured {name:?})")),
        }
    }
    p.close();
    if wrong.is_empty() {
        Verdict::Pass
    } else {
        Verdict::fail(
            format!(
                "CONNECT with PROTOCOL_VERSION 1.x, MCLT {}, KEEPALIVE_TIME, MAX_UNACKED_BNDUPD",
                ctx.cfg.mclt
            ),
            wrong.join("; "),
        )
    }
}

/// RFC 8156 §6.1.2 Receiving a CONNECT Message: acceptance.
fn connect_accepted(ctx: &mut Ctx) -> Verdict {
    let mut p = tri!(open(ctx));
    let params = ConnectParams::standard(ctx);
    let xid = p.xid();
    tri!(send(&mut p, &params.message(MsgKind::Connect, xid)));
    let r = p.expect(MsgKind::ConnectReply, ANSWER);
    let Recv::Msg(reply) = &r else {
        return unexpected("CONNECTREPLY", &r);
    };
    let mut wrong = Vec::new();
    if let Some(s) = status_of(reply).filter(|s| !s.code.is_success()) {
        wrong.push(format!("rejected: {} {:?}", s.code, s.message));
    }
    if reply.u32_option(failover_proto::wire::OptionCode::OPTION_F_MCLT) != Some(params.mclt) {
        wrong.push(format!(
            "MCLT {:?}, the CONNECT's was {}",
            reply.u32_option(failover_proto::wire::OptionCode::OPTION_F_MCLT),
            params.mclt
        ));
    }
    for (code, name) in [
        (
            failover_proto::wire::OptionCode::OPTION_F_PROTOCOL_VERSION,
            "PROTOCOL_VERSION",
        ),
        (
            failover_proto::wire::OptionCode::OPTION_F_KEEPALIVE_TIME,
            "KEEPALIVE_TIME",
        ),
        (
            failover_proto::wire::OptionCode::OPTION_F_MAX_UNACKED_BNDUPD,
            "MAX_UNACKED_BNDUPD",
        ),
    ] {
        if reply.option(code).is_none() {
            wrong.push(format!("no {name}"));
        }
    }
    if !wrong.is_empty() {
        p.close();
        return Verdict::fail(
            format!("CONNECTREPLY accepting, MCLT {}, with PROTOCOL_VERSION, KEEPALIVE_TIME, MAX_UNACKED_BNDUPD", params.mclt),
            wrong.join("; "),
        );
    }
    let r = p.expect(MsgKind::State, ANSWER);
    p.close();
    match r {
        Recv::Msg(_) => Verdict::Pass,
        other => unexpected("STATE after the CONNECTREPLY (MUST, §6.1.2)", &other),
    }
}

/// A CONNECT the SUT must reject with `code`; a CONNECTREPLY with it passes.
fn connect_rejected(ctx: &mut Ctx, params: ConnectParams, code: Option<StatusCode>) -> Verdict {
    let mut p = tri!(open(ctx));
    let xid = p.xid();
    tri!(send(&mut p, &params.message(MsgKind::Connect, xid)));
    let r = p.expect(MsgKind::ConnectReply, ANSWER);
    p.close();
    let want = code.map_or_else(
        || "CONNECTREPLY with a failure status".to_string(),
        |c| format!("CONNECTREPLY with status {c}"),
    );
    match &r {
        Recv::Msg(reply) => match status_of(reply) {
            Some(s) if code.map_or(!s.code.is_success(), |c| s.code == c) => Verdict::Pass,
            _ => Verdict::fail(want, describe(reply)),
        },
        other => unexpected(&want, other),
    }
}

/// RFC 8156 §6.1.2: "sent-time ... If it is not [within 5 seconds], return ExcessiveTimeSkew".
fn connect_time_skew(ctx: &mut Ctx) -> Verdict {
    let params = ConnectParams {
        sent_time: (wire_now() - 60) as u32,
        ..ConnectParams::standard(ctx)
    };
    connect_rejected(ctx, params, Some(StatusCode::EXCESSIVE_TIME_SKEW))
}

/// RFC 8156 §6.1.2: "OPTION_F_PROTOCOL_VERSION ... If it is not [supported], return
/// NotSupported".
fn connect_version(ctx: &mut Ctx) -> Verdict {
    let params = ConnectParams {
        version: ProtocolVersion { major: 9, minor: 0 },
        ..ConnectParams::standard(ctx)
    };
    connect_rejected(ctx, params, Some(StatusCode::NOT_SUPPORTED))
}

/// RFC 8156 §5.5.14, §6.1.2: the relationship name identifies the relationship; a CONNECT for
/// another one cannot be accepted.
fn connect_wrong_name(ctx: &mut Ctx) -> Verdict {
    let Some(name) = ctx.cfg.relationship_name.clone() else {
        return Verdict::NotApplicable {
            reason: "the SUT has no relationship_name in the configuration".into(),
        };
    };
    let params = ConnectParams {
        name: Some(format!("not-{name}")),
        ..ConnectParams::standard(ctx)
    };
    connect_rejected(ctx, params, None)
}

/// RFC 8156 §6.1.3: "OPTION_F_MCLT - Compare the MCLT received with the configured MCLT. If they
/// are different, send a DISCONNECT message and drop the connection."
fn connectreply_mclt_mismatch(ctx: &mut Ctx) -> Verdict {
    let mut p = tri!(open(ctx));
    let r = p.expect(MsgKind::Connect, ANSWER);
    let Recv::Msg(connect) = &r else {
        return unexpected("CONNECT", &r);
    };
    let reply = ConnectParams {
        mclt: ctx.cfg.mclt + 1,
        ..ConnectParams::standard(ctx)
    }
    .message(MsgKind::ConnectReply, connect.transaction_id);
    tri!(send(&mut p, &reply));
    p.answer_requests = false;
    let r = p.recv_until(Instant::now() + ANSWER, |m| {
        matches!(m.kind(), Ok(MsgKind::Disconnect) | Ok(MsgKind::State))
    });
    match &r {
        Recv::Msg(m) if m.kind() == Ok(MsgKind::Disconnect) => {
            let closed = p.expect_close(ANSWER);
            match closed {
                Recv::Closed => Verdict::Pass,
                other => unexpected("the connection dropped after the DISCONNECT", &other),
            }
        }
        other => unexpected("DISCONNECT (MCLT differs from the configured one)", other),
    }
}

// ---- §5.1 framing --------------------------------------------------------------------------

/// Send `bytes` on an established connection; the SUT must close it.
fn must_close_after(ctx: &mut Ctx, bytes: &[u8], what: &str) -> Verdict {
    let mut p = tri!(establish(ctx));
    tri!(send_raw(&mut p, bytes));
    p.contact_every = None;
    let r = p.expect_close(ANSWER);
    match r {
        Recv::Closed => Verdict::Pass,
        other => unexpected(&format!("the connection closed after {what}"), &other),
    }
}

fn send_raw(p: &mut Peer, bytes: &[u8]) -> Result<(), Verdict> {
    p.send_raw(bytes)
        .map_err(|e| Verdict::fail("the connection open for the harness's octets", e))
}

/// RFC 8156 §5.1 (RFC 5460 §5.1 framing): message-size 0 cannot be a message, and after it the
/// stream cannot be resynchronised.
fn framing_zero_size(ctx: &mut Ctx) -> Verdict {
    must_close_after(ctx, &[0, 0, 1, 2, 3, 4], "message-size 0")
}

/// RFC 8156 §5.1, §5.2: every message starts with the 8-octet header.
fn framing_short(ctx: &mut Ctx) -> Verdict {
    must_close_after(ctx, &[0, 3, 11, 0, 0], "a 3-octet message")
}

/// RFC 8156 §5.1: a partner that dies mid-frame must not keep the server from its next
/// connection.
fn framing_cut(ctx: &mut Ctx) -> Verdict {
    let mut p = tri!(establish(ctx));
    let mut frame = Vec::new();
    let c = p.message(MsgKind::Contact);
    if let Err(e) = c.encode_framed(&mut frame) {
        return Verdict::Error {
            message: e.to_string(),
        };
    }
    tri!(send_raw(&mut p, &frame[..frame.len() / 2]));
    p.close();
    match establish(ctx) {
        Ok(p) => {
            p.close();
            Verdict::Pass
        }
        Err(v) => v,
    }
}

/// RFC 8156 §5.2 with RFC 3315 §15: a message of an unknown type is discarded.
fn unknown_message(ctx: &mut Ctx) -> Verdict {
    let mut p = tri!(establish(ctx));
    let mut m = p.message(MsgKind::Contact);
    m.msg_type = MsgType(250);
    tri!(send(&mut p, &m));
    let req = p.message(MsgKind::UpdReq);
    tri!(send(&mut p, &req));
    let r = p.expect(MsgKind::UpdDone, Duration::from_secs(20));
    p.close();
    match r {
        Recv::Msg(_) => Verdict::Pass,
        other => unexpected(
            "UPDDONE to the UPDREQ sent after msg-type 250 (the unknown message ignored)",
            &other,
        ),
    }
}

// ---- §6.6 unreachability detection ---------------------------------------------------------

/// RFC 8156 §6.6: FO_SEND_TIME is the keepalive received divided by
/// FO_CONTACT_PER_KEEPALIVE_TIME; "If the timer reaches zero, a CONTACT message is transmitted".
fn contact_timing(ctx: &mut Ctx) -> Verdict {
    let mut p = tri!(establish(ctx));
    let keepalive = Duration::from_secs(u64::from(HARNESS_KEEPALIVE));
    let window = keepalive * 4;
    let start = Instant::now();
    let mut last = start;
    let mut worst = Duration::ZERO;
    let r = p.recv_until(start + window, |_| {
        let now = Instant::now();
        worst = worst.max(now - last);
        last = now;
        false
    });
    p.close();
    worst = worst.max(Instant::now().min(start + window) - last);
    if !matches!(r, Recv::Timeout) {
        return unexpected(
            "the connection staying open while the harness sends CONTACT",
            &r,
        );
    }
    if worst > keepalive + TIMER_SLACK {
        Verdict::fail(
            format!(
                "a message at least every {} s (the announced keepalive; + {} s slack)",
                keepalive.as_secs(),
                TIMER_SLACK.as_secs()
            ),
            format!("a gap of {:.1} s", worst.as_secs_f64()),
        )
    } else {
        Verdict::Pass
    }
}

/// RFC 8156 §6.6: FO_KEEPALIVE_TIMER "is reset to FO_KEEPALIVE_TIME whenever a message is
/// received ... If it ever reaches zero, that connection is considered dead".
fn keepalive_expiry(ctx: &mut Ctx) -> Verdict {
    let mut p = tri!(establish(ctx));
    p.contact_every = None;
    let silent_since = Instant::now();
    let k = Duration::from_secs(u64::from(ctx.cfg.keepalive));
    let r = p.expect_close(k + TIMER_SLACK + Duration::from_secs(1));
    let after = silent_since.elapsed();
    match r {
        Recv::Closed if after + Duration::from_secs(1) >= k && after <= k + TIMER_SLACK => {
            Verdict::Pass
        }
        Recv::Closed => Verdict::fail(
            format!(
                "the connection dropped {} s after the harness fell silent (- 1 s / + {} s)",
                k.as_secs(),
                TIMER_SLACK.as_secs()
            ),
            format!("dropped after {:.1} s", after.as_secs_f64()),
        ),
        other => unexpected(
            &format!(
                "the connection dropped {} s after the harness fell silent",
                k.as_secs()
            ),
            &other,
        ),
    }
}

// ---- §7 binding updates --------------------------------------------------------------------

/// RFC 8156 §7.5.1: "if it is greater than 5 seconds the receiving server SHOULD drop the
/// connection".
fn session_time_skew(ctx: &mut Ctx) -> Verdict {
    let mut p = tri!(establish(ctx));
    let xid = p.xid();
    let m = Message::new(MsgKind::Contact, xid, (wire_now() - 60) as u32);
    tri!(send(&mut p, &m));
    p.contact_every = None;
    match p.expect_close(ANSWER) {
        Recv::Closed => Verdict::Pass,
        other => unexpected("the connection dropped (sent-time 60 s off)", &other),
    }
}

/// A BNDUPD for `addr` ACTIVE for `client` (RFC 8156 §7.4 layout: CLIENT_DATA with CLIENTID,
/// LQ_BASE_TIME, IA_NA/IAADDR with BINDING_STATUS, START_TIME_OF_STATE, STATE_EXPIRATION_TIME,
/// CLT_TIME, PARTNER_LIFETIME).
fn bndupd_active(p: &mut Peer, addr: Ipv6Addr, client: &[u8], mclt: u32) -> Message {
    bndupd_active_for(p, addr, client, mclt, mclt)
}

/// [`bndupd_active`] with a valid lifetime of `valid` seconds.
fn bndupd_active_for(
    p: &mut Peer,
    addr: Ipv6Addr,
    client: &[u8],
    mclt: u32,
    valid: u32,
) -> Message {
    let m = p.message(MsgKind::BndUpd);
    let now = m.sent_time;
    let iaaddr = IaAddr {
        addr,
        preferred_lifetime: valid / 2,
        valid_lifetime: valid,
        options: vec![
            DhcpOption::BindingStatus(BindingStatus::Active),
            DhcpOption::StartTimeOfState(now),
            DhcpOption::StateExpirationTime(now + valid),
            DhcpOption::CltTime(0),
            DhcpOption::PartnerLifetime(now + valid + mclt),
        ],
    };
    m.with(DhcpOption::ClientData(vec![
        DhcpOption::ClientId(client.to_vec()),
        DhcpOption::LqBaseTime(now),
        DhcpOption::IaNa(IaNa {
            iaid: 1,
            t1: 0,
            t2: 0,
            options: vec![DhcpOption::IaAddr(iaaddr)],
        }),
    ]))
}

/// Send `upd`, return the BNDREPLY with its xid.
fn bndreply_to(p: &mut Peer, upd: &Message) -> Result<Message, Verdict> {
    let xid = upd.transaction_id;
    send(p, upd)?;
    let r = p.recv_until(Instant::now() + ANSWER, |m| {
        m.kind() == Ok(MsgKind::BndReply) && m.transaction_id == xid
    });
    match r {
        Recv::Msg(m) => Ok(m),
        other => Err(unexpected(
            "BNDREPLY with the BNDUPD's transaction-id",
            &other,
        )),
    }
}

/// RFC 8156 §7.5.3: "it MUST contain either a single OPTION_CLIENT_DATA option or a single
/// OPTION_IAPREFIX option ... rejected with ... MissingBindingInformation".
fn bndupd_empty(ctx: &mut Ctx) -> Verdict {
    let mut p = tri!(establish(ctx));
    let upd = p.message(MsgKind::BndUpd);
    let reply = tri!(bndreply_to(&mut p, &upd));
    p.close();
    let codes = failure_codes(&reply);
    if codes.contains(&StatusCode::MISSING_BINDING_INFORMATION) {
        Verdict::Pass
    } else {
        Verdict::fail("BNDREPLY with MissingBindingInformation", describe(&reply))
    }
}

/// An address of the SUT's /64 outside its configured pool.
fn outside_pool(ctx: &Ctx) -> Result<Ipv6Addr, Verdict> {
    let (_, last) = ctx.cfg.pool().map_err(|e| Verdict::Error { message: e })?;
    Ok(Ipv6Addr::from(u128::from(last) + 0x1001))
}

/// RFC 8156 §7.5.3: "If the lease specified ... is not a lease associated with the failover
/// endpoint that received the BNDUPD ... reject it with ... ConfigurationConflict".
fn bndupd_unknown_lease(ctx: &mut Ctx) -> Verdict {
    let addr = tri!(outside_pool(ctx));
    let mut p = tri!(establish(ctx));
    let upd = bndupd_active(
        &mut p,
        addr,
        &[0, 3, 0, 1, 2, 0, 0, 0, 0x77, 1],
        ctx.cfg.mclt,
    );
    let reply = tri!(bndreply_to(&mut p, &upd));
    p.close();
    if failure_codes(&reply).contains(&StatusCode::CONFIGURATION_CONFLICT) {
        Verdict::Pass
    } else {
        Verdict::fail(
            format!("BNDREPLY rejecting {addr} with ConfigurationConflict"),
            describe(&reply),
        )
    }
}

/// RFC 8156 §7.5.5 Accepting Updates (Figure 4: a FREE address of the primary's half made ACTIVE
/// by the primary is accepted).
fn bndupd_accepted(ctx: &mut Ctx) -> Verdict {
    let (first, last) = tri!(ctx.cfg.pool().map_err(|e| Verdict::Error { message: e }));
    // §4.2.1.1: the primary allocates the addresses whose low-order bit is 1. Pick one from the
    // upper half of the pool, away from what clients of other tests got.
    let span = u128::from(last) - u128::from(first);
    let addr = Ipv6Addr::from((u128::from(first) + span * 3 / 4) | 1);
    if u128::from(addr) > u128::from(last) {
        return Verdict::NotApplicable {
            reason: "the pool has no address of the primary's half".into(),
        };
    }
    let mut p = tri!(establish(ctx));
    let upd = bndupd_active(
        &mut p,
        addr,
        &[0, 3, 0, 1, 2, 0, 0, 0, 0x77, 2],
        ctx.cfg.mclt,
    );
    let reply = tri!(bndreply_to(&mut p, &upd));
    p.close();
    let codes = failure_codes(&reply);
    if codes.is_empty() {
        Verdict::Pass
    } else {
        Verdict::fail(
            format!("BNDREPLY accepting {addr} ACTIVE (no failure status)"),
            describe(&reply),
        )
    }
}

/// How long `4.3/lazy-update` waits for the REPLY while it withholds every answer to the SUT.
const LAZY_REPLY_WAIT: Duration = Duration::from_secs(2);

/// A STATE of the harness announcing `state` (§6.3), in it since now.
fn state_message(p: &mut Peer, state: ServerState, communicated: bool) -> Message {
    let m = p.message(MsgKind::State);
    let now = m.sent_time;
    let flags = if communicated {
        ServerFlags::default().with(ServerFlags::COMMUNICATED)
    } else {
        ServerFlags::default()
    };
    m.with(DhcpOption::ServerState(state))
        .with(DhcpOption::ServerFlags(flags))
        .with(DhcpOption::StartTimeOfState(now))
}

/// Whether `m` is a STATE announcing `state`.
fn announces(m: &Message, state: ServerState) -> bool {
    m.kind().ok() == Some(MsgKind::State)
        && m.options
            .iter()
            .any(|o| matches!(o, DhcpOption::ServerState(s) if *s == state))
}

/// The state a STATE message announces.
fn announced(m: &Message) -> Option<ServerState> {
    m.options.iter().find_map(|o| match o {
        DhcpOption::ServerState(s) => Some(*s),
        _ => None,
    })
}

/// Bring a primary SUT to NORMAL from the secondary's side, from what its STATE says. A fresh
/// primary is in PARTNER-DOWN: the harness is a partner in RECOVER, which leaves it there
/// (§8.4.2), then in RECOVER-DONE, which takes it to NORMAL (§8.4.2), and the harness follows
/// (§8.7.2). One that communicated before (COMMUNICATIONS-INTERRUPTED, or NORMAL) meets the
/// harness's NORMAL and goes to NORMAL (§8.9.2).
fn primary_to_normal(ctx: &mut Ctx) -> Result<Peer, Verdict> {
    let mut p = open(ctx)?;
    let r = p.expect(MsgKind::Connect, ANSWER);
    let Recv::Msg(connect) = &r else {
        return Err(unexpected("CONNECT", &r));
    };
    let reply = ConnectParams::standard(ctx).message(MsgKind::ConnectReply, connect.transaction_id);
    send(&mut p, &reply)?;
    let r = p.expect(MsgKind::State, ANSWER);
    let Recv::Msg(first) = &r else {
        return Err(unexpected("STATE (§6.1.2, §6.1.3)", &r));
    };
    if announced(first) == Some(ServerState::PartnerDown) {
        let recover = state_message(&mut p, ServerState::Recover, false);
        send(&mut p, &recover)?;
        let _ = p.recv_until(Instant::now() + Duration::from_millis(300), |_| false);
        let done = state_message(&mut p, ServerState::RecoverDone, true);
        send(&mut p, &done)?;
    } else {
        let normal = state_message(&mut p, ServerState::Normal, true);
        send(&mut p, &normal)?;
    }
    if announced(first) != Some(ServerState::Normal) {
        let r = p.recv_until(Instant::now() + ANSWER, |m| {
            announces(m, ServerState::Normal)
        });
        if !matches!(r, Recv::Msg(_)) {
            return Err(unexpected("STATE NORMAL (§8.4.2, §8.9.2)", &r));
        }
    }
    let normal = state_message(&mut p, ServerState::Normal, true);
    send(&mut p, &normal)?;
    let _ = p.recv_until(Instant::now() + Duration::from_millis(300), |_| false);
    Ok(p)
}

/// RFC 8156 §4.3: "a server implementing the failover protocol must be able to respond to a
/// DHCP client without waiting to update its failover partner [...] respond to the DHCP client,
/// and then update its failover partner as time permits." With the SUT in NORMAL, the harness
/// (its partner) does not read the connection while the client waits, so no BNDREPLY can reach
/// the SUT before its REPLY; afterwards the BNDUPD for the lease must come. A server that holds
/// the REPLY until its partner acknowledges the update (lockstep) fails here.
fn lazy_update(ctx: &mut Ctx) -> Verdict {
    let Some(server) = ctx.cfg.dhcp else {
        return Verdict::NotApplicable {
            reason: "no dhcp address".into(),
        };
    };
    let (first, _) = tri!(ctx.cfg.pool().map_err(|e| Verdict::Error { message: e }));
    let mut p = tri!(primary_to_normal(ctx));
    let duid = [0, 3, 0, 1, 2, 0, 0, 0, 0x4d, (wire_now() & 0xff) as u8];
    // Well inside the SUT's FO_KEEPALIVE_TIME, after which, hearing nothing from its partner, it
    // would consider the connection dead (§6.6) and so have a reason to stop waiting; a server
    // that does not wait answers in milliseconds.
    let wait = LAZY_REPLY_WAIT.min(Duration::from_millis(u64::from(ctx.cfg.keepalive) * 500));
    let got = dhcp::solicit_rapid_commit(server, first, &duid, wait);
    let addr = match got {
        Ok(Granted::Address { addr, .. }) => addr,
        Ok(Granted::NoReply) => {
            p.close();
            return Verdict::fail(
                format!(
                    "a REPLY within {:.1} s while the partner acknowledges nothing (§4.3: no waiting for the partner)",
                    wait.as_secs_f64()
                ),
                "no REPLY",
            );
        }
        Err(e) => {
            p.close();
            return Verdict::Error { message: e };
        }
        Ok(other) => {
            p.close();
            return Verdict::fail(
                "a REPLY with an address (a primary in NORMAL answers clients)",
                format!("{other:?}"),
            );
        }
    };
    let upd = p.recv_until(Instant::now() + ANSWER, |m| {
        m.kind().ok() == Some(MsgKind::BndUpd) && binding_in(m, addr).is_some()
    });
    p.close();
    match upd {
        Recv::Msg(_) => Verdict::Pass,
        other => Verdict::fail(
            format!("a BNDUPD naming {addr} after the REPLY (§4.3: then update the partner)"),
            format!("{other:?} within {} s", ANSWER.as_secs()),
        ),
    }
}

/// The binding-status and client of `addr` in a BNDUPD (CLIENT_DATA / IA_NA / IAADDR).
fn binding_in(m: &Message, addr: Ipv6Addr) -> Option<(Option<BindingStatus>, Vec<u8>)> {
    for o in &m.options {
        let DhcpOption::ClientData(cd) = o else {
            continue;
        };
        let client = cd
            .iter()
            .find_map(|x| match x {
                DhcpOption::ClientId(id) => Some(id.clone()),
                _ => None,
            })
            .unwrap_or_default();
        for ia in cd {
            let DhcpOption::IaNa(ia) = ia else { continue };
            for a in &ia.options {
                if let DhcpOption::IaAddr(a) = a {
                    if a.addr == addr {
                        let status = a.options.iter().find_map(|x| match x {
                            DhcpOption::BindingStatus(s) => Some(*s),
                            _ => None,
                        });
                        return Some((status, client));
                    }
                }
            }
        }
    }
    None
}

/// RFC 8156 §7.5.2: "A server MUST NOT send the BNDREPLY message before its binding database is
/// updated" — shown on the wire by crashing the server right after the BNDREPLY: the binding
/// must come back in its answer to UPDREQALL.
fn reply_after_storage(ctx: &mut Ctx) -> Verdict {
    if ctx.restart.is_none() {
        return Verdict::NotWireTestable {
            reason: "needs a crash and restart of the SUT right after its BNDREPLY: give --sut-restart CMD".into(),
        };
    }
    let (first, last) = tri!(ctx.cfg.pool().map_err(|e| Verdict::Error { message: e }));
    let span = u128::from(last) - u128::from(first);
    let addr = Ipv6Addr::from((u128::from(first) + span / 2) | 1);
    let client = [0, 3, 0, 1, 2, 0, 0, 0, 0x75, 2];
    let mut p = tri!(establish(ctx));
    let upd = bndupd_active_for(&mut p, addr, &client, ctx.cfg.mclt, 300);
    let reply = tri!(bndreply_to(&mut p, &upd));
    if !failure_codes(&reply).is_empty() {
        p.close();
        return Verdict::fail(
            format!("BNDREPLY accepting {addr} ACTIVE"),
            describe(&reply),
        );
    }
    // Crash at once: whatever the server had not made durable before its BNDREPLY is lost.
    drop(p);
    if let Some(restart) = ctx.restart.as_mut() {
        if let Err(e) = restart() {
            return Verdict::Error {
                message: format!("restarting the SUT: {e}"),
            };
        }
    }
    let mut p = tri!(establish(ctx));
    let req = p.message(MsgKind::UpdReqAll);
    tri!(send(&mut p, &req));
    let before = p.seen.len();
    let r = p.expect(MsgKind::UpdDone, Duration::from_secs(30));
    let found: Vec<(Option<BindingStatus>, Vec<u8>)> = p.seen[before..]
        .iter()
        .filter(|(_, m)| m.kind() == Ok(MsgKind::BndUpd))
        .filter_map(|(_, m)| binding_in(m, addr))
        .collect();
    p.close();
    if !matches!(r, Recv::Msg(_)) {
        return unexpected("UPDDONE after the restart", &r);
    }
    match found.last() {
        Some((Some(BindingStatus::Active), c)) if c[..] == client[..] => Verdict::Pass,
        Some((status, c)) => Verdict::fail(
            format!("{addr} ACTIVE for the client the SUT acknowledged, after its restart"),
            format!("{addr} {status:?} for client {c:02x?}"),
        ),
        None => Verdict::fail(
            format!("{addr} ACTIVE for the client the SUT acknowledged, after its restart"),
            format!("{addr} not among the BNDUPDs answering UPDREQALL: the acknowledged update was lost"),
        ),
    }
}

/// RFC 8156 §5.3.6 UPDREQALL: "responds with zero or more BNDUPD messages, followed by an
/// UPDDONE message that signals that all of the BNDUPD messages have been sent and a
/// corresponding BNDREPLY message has been received for each of them".
fn updreqall(ctx: &mut Ctx) -> Verdict {
    let mut p = tri!(establish(ctx));
    let req = p.message(MsgKind::UpdReqAll);
    tri!(send(&mut p, &req));
    let before = p.seen.len();
    let r = p.expect(MsgKind::UpdDone, Duration::from_secs(30));
    let Recv::Msg(_) = r else {
        p.close();
        return unexpected("UPDDONE", &r);
    };
    let updates = p.seen[before..]
        .iter()
        .filter(|(_, m)| m.kind() == Ok(MsgKind::BndUpd))
        .count();
    // Anything that arrives right after UPDDONE must not be a BNDUPD of this answer: wait a
    // moment and look.
    let tail = p.recv_until(Instant::now() + Duration::from_millis(500), |m| {
        m.kind() == Ok(MsgKind::BndUpd)
    });
    p.close();
    match tail {
        Recv::Msg(m) => Verdict::fail(
            "no BNDUPD after UPDDONE (UPDDONE means all were sent and acked)",
            format!("{} after UPDDONE (and {updates} before it)", describe(&m)),
        ),
        _ => Verdict::Pass,
    }
}

/// RFC 8156 §5.5.5, §6.1.2: "Ensure that the maximum amount of unacked BNDUPD messages queued to
/// the [partner] never exceeds the value in the OPTION_F_MAX_UNACKED_BNDUPD option".
fn max_unacked(ctx: &mut Ctx) -> Verdict {
    let params = ConnectParams {
        max_unacked: 1,
        ..ConnectParams::standard(ctx)
    };
    let mut p = tri!(establish_with(ctx, params));
    let req = p.message(MsgKind::UpdReqAll);
    tri!(send(&mut p, &req));
    p.answer_requests = false;
    let mut held = 0;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let r = p.recv_until(deadline, |m| {
            matches!(m.kind(), Ok(MsgKind::BndUpd) | Ok(MsgKind::UpdDone))
        });
        let m = match r {
            Recv::Msg(m) => m,
            other => {
                p.close();
                return unexpected("BNDUPDs then UPDDONE", &other);
            }
        };
        if m.kind() == Ok(MsgKind::UpdDone) {
            p.close();
            return if held == 0 {
                Verdict::NotApplicable {
                    reason: "the SUT had no binding to send: flow control not exercised".into(),
                }
            } else {
                Verdict::Pass
            };
        }
        if held < 5 {
            held += 1;
            // Hold the BNDREPLY: a second BNDUPD meanwhile exceeds MAX_UNACKED_BNDUPD 1.
            let extra = p.recv_until(Instant::now() + Duration::from_millis(300), |x| {
                x.kind() == Ok(MsgKind::BndUpd)
            });
            if let Recv::Msg(x) = extra {
                p.close();
                return Verdict::fail(
                    "at most 1 BNDUPD unacked (the harness's MAX_UNACKED_BNDUPD)",
                    format!(
                        "BNDUPD xid {} while BNDUPD xid {} was unacked",
                        x.transaction_id, m.transaction_id
                    ),
                );
            }
        }
        let ack = super::peer::bndreply_accepting(&m);
        tri!(send(&mut p, &ack));
    }
}

/// RFC 8156 §4.4: "the lease expiration time known to a DHCP client MUST NOT be greater by more
/// than the MCLT beyond the later of the partner lifetime acknowledged by its failover partner
/// or the current time". A new lease has no acknowledged partner lifetime: at most the MCLT.
fn mclt_cap(ctx: &mut Ctx) -> Verdict {
    let Some(server) = ctx.cfg.dhcp else {
        return Verdict::NotApplicable {
            reason: "no dhcp address".into(),
        };
    };
    let (first, _) = tri!(ctx.cfg.pool().map_err(|e| Verdict::Error { message: e }));
    let mut p = tri!(establish(ctx));
    // Give the SUT a moment in communication (its STATE handling), answering its requests.
    let _ = p.recv_until(Instant::now() + Duration::from_millis(500), |_| false);
    let duid = [0, 3, 0, 1, 2, 0, 0, 0, 0x4c, (wire_now() & 0xff) as u8];
    let got = dhcp::solicit_rapid_commit(server, first, &duid, ANSWER);
    let _ = p.recv_until(Instant::now() + Duration::from_millis(200), |_| false);
    p.close();
    match got {
        Err(e) => Verdict::Error { message: e },
        Ok(Granted::Address { addr, valid }) if valid <= ctx.cfg.mclt => {
            let _ = addr;
            Verdict::Pass
        }
        Ok(Granted::Address { addr, valid }) => Verdict::fail(
            format!("valid lifetime ≤ MCLT ({} s)", ctx.cfg.mclt),
            format!("{addr} for {valid} s"),
        ),
        Ok(other) => Verdict::fail(
            "a REPLY with an address (the SUT communicating with its partner answers clients)",
            format!("{other:?}"),
        ),
    }
}
