//! Connection management (RFC 8156 §6): CONNECT/CONNECTREPLY, STATE, CONTACT keepalive,
//! DISCONNECT, time skew, and the timers of §6.5/§6.6.

use failover_proto::{Role, ServerState};

use crate::config::{CONTACT_PER_KEEPALIVE_TIME, PROTOCOL_VERSION};
use crate::endpoint::{DisconnectReason, Endpoint, Event, Output, Timer, Trigger};
use crate::message::{
    Body, ConnectParams, ConnectReply, Disconnect, Message, ServerFlags, StateMsg, StatusCode,
};
use crate::time::{Time, SKEW_TOLERANCE};

/// Where the connection is in the §6.1 handshake.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    /// No transport.
    Down,
    /// Secondary: transport up, waiting for CONNECT (§6.1.2).
    AwaitConnect,
    /// Primary: CONNECT sent, waiting for CONNECTREPLY (§6.1.3).
    AwaitConnectReply,
    /// Handshake done, our STATE sent, waiting for the partner's STATE (§6.1: "Upon the receipt of
    /// the STATE message, the receiver can consider communications OK").
    AwaitState,
    /// Communications OK.
    Ok,
}

/// Per-connection parameters learned from the partner.
#[derive(Clone, Debug)]
pub(crate) struct Conn {
    pub(crate) phase: Phase,
    /// The partner's FO_KEEPALIVE_TIME (from CONNECT or CONNECTREPLY).
    pub(crate) partner_keepalive: u64,
    /// The partner's OPTION_F_MAX_UNACKED_BNDUPD.
    pub(crate) partner_max_unacked: u32,
}

impl Conn {
    pub(crate) fn new(keepalive: u64) -> Conn {
        Conn {
            phase: Phase::Down,
            partner_keepalive: keepalive,
            partner_max_unacked: 1,
        }
    }

    /// FO_SEND_TIME: "the value received ... divided by FO_CONTACT_PER_KEEPALIVE_TIME" (§6.6).
    pub(crate) fn fo_send_time(&self) -> u64 {
        (self.partner_keepalive / CONTACT_PER_KEEPALIVE_TIME).max(1)
    }

    /// Can STATE be sent (handshake complete)?
    pub(crate) fn handshake_done(&self) -> bool {
        matches!(self.phase, Phase::AwaitState | Phase::Ok)
    }
}

impl Endpoint {
    /// The transport is up: the primary sends CONNECT (§6.1, §6.1.1); the secondary waits for it.
    pub(crate) fn on_connected(&mut self, now: Time) {
        if self.conn.phase != Phase::Down {
            self.log("handle_connected while a connection exists: treating as a new connection");
            self.comm_lost(now);
        }
        // RFC 8156 §6.6: FO_KEEPALIVE_TIMER "is initialized to FO_KEEPALIVE_TIME".
        self.timers
            .set(Timer::FoKeepalive, now.plus(self.cfg.keepalive_time));
        match self.cfg.role {
            Role::Primary => {
                self.conn.phase = Phase::AwaitConnectReply;
                let params = self.connect_params(true);
                // RFC 8156 §6.1: "a primary server MUST use a connection that it has initiated
                // in order to send a CONNECT message".
                self.send_new(now, Body::Connect(params));
            }
            Role::Secondary => self.conn.phase = Phase::AwaitConnect,
        }
    }

    fn connect_params(&self, with_name: bool) -> ConnectParams {
        ConnectParams {
            protocol_version: PROTOCOL_VERSION,
            mclt: self.mclt,
            keepalive_time: self.cfg.keepalive_time,
            max_unacked_bndupd: self.cfg.max_unacked_bndupd,
            relationship_name: if with_name {
                self.cfg.relationship_name.clone()
            } else {
                None
            },
            connect_flags: 0,
        }
    }

    /// Communications are lost, by transport loss, DISCONNECT (reading R8) or our own drop.
    pub(crate) fn comm_lost(&mut self, now: Time) {
        let was_ok = self.conn.phase == Phase::Ok;
        self.conn.phase = Phase::Down;
        for t in [Timer::FoSend, Timer::FoKeepalive, Timer::RecoverProgress] {
            self.timers.stop(t);
        }
        // Unacked BNDUPDs stay update-pending and are resent on the next connection (§8.8).
        // Also one whose lease took the partner's update meanwhile (which cleared the flag): the
        // partner may not have processed ours before the connection went, and it now gets our
        // current record, which agrees with what it sent (§8.8 "all binding updates that have
        // not been acknowledged"; the model's rule: a BNDUPD lost with the connection is owed).
        self.outstanding.clear();
        self.owed_after_ack.clear();
        for key in std::mem::take(&mut self.in_flight) {
            self.flag_owed(key);
        }
        // RFC 8156 §8.5.2: "will reissue the UPDREQ or UPDREQALL message when communications are
        // reestablished".
        self.upd_request = None;
        self.upd_response = None;
        self.poolreq_due = false;
        if was_ok {
            self.event(Event::CommunicationsInterrupted);
            self.run_state_machine(now, Trigger::CommFailed);
        }
    }

    /// Drop the connection ourselves: optional DISCONNECT, then `Output::Disconnect`.
    pub(crate) fn drop_connection(
        &mut self,
        now: Time,
        reason: DisconnectReason,
        disconnect: Option<StatusCode>,
    ) {
        if self.conn.phase == Phase::Down {
            return;
        }
        if let Some(status) = disconnect {
            let message = reason.to_string();
            self.send_new(
                now,
                Body::Disconnect(Disconnect {
                    status: Some(status),
                    message,
                }),
            );
        }
        self.log(&format!("dropping connection: {reason}"));
        self.out.push_back(Output::Disconnect { reason });
        self.comm_lost(now);
    }

    /// Every received message: §6.6 keepalive reset, §7.5.1 skew check, then dispatch.
    pub(crate) fn on_message(&mut self, now: Time, msg: Message) {
        if self.conn.phase == Phase::Down {
            self.log(&format!("ignored {}: no connection", msg.kind()));
            return;
        }
        // RFC 8156 §6.6: FO_KEEPALIVE_TIMER "is reset to FO_KEEPALIVE_TIME whenever a message is
        // received on that connection".
        self.timers
            .set(Timer::FoKeepalive, now.plus(self.cfg.keepalive_time));
        self.partner.last_message = Some(now);
        let skew = msg.sent_time.abs_diff(now);
        if !matches!(msg.body, Body::Connect(_)) && skew > SKEW_TOLERANCE {
            // RFC 8156 §7.5.1: "if it is greater than 5 seconds the receiving server SHOULD drop
            // the connection. A message SHOULD be logged".
            self.drop_connection(
                now,
                DisconnectReason::TimeSkew { skew },
                Some(StatusCode::ExcessiveTimeSkew),
            );
            return;
        }
        let xid = msg.xid;
        let kind = msg.kind();
        match msg.body {
            Body::Connect(p) => self.on_connect(now, xid, msg.sent_time, p),
            Body::ConnectReply(r) => self.on_connect_reply(now, r),
            Body::State(s) => self.on_state(now, s),
            Body::Disconnect(d) => {
                // Reading R8 (A18): a DISCONNECT means communications are not OK, in every state.
                self.log(&format!(
                    "DISCONNECT received: {:?} {}",
                    d.status, d.message
                ));
                self.out.push_back(Output::Disconnect {
                    reason: DisconnectReason::PeerDisconnected(d.status),
                });
                self.comm_lost(now);
            }
            Body::Contact => {}
            _ if self.conn.phase != Phase::Ok => {
                // A message that needs communications OK before the handshake finished, e.g. a
                // BNDUPD before CONNECTREPLY/STATE: ignored, and logged.
                self.log(&format!(
                    "ignored {kind}: communications not OK yet (handshake {:?})",
                    self.conn.phase
                ));
            }
            Body::BndUpd(u) => self.on_bndupd(now, xid, u),
            Body::BndReply(r) => self.on_bndreply(now, xid, r),
            Body::PoolReq => self.on_poolreq(now, xid),
            Body::PoolResp => self.log("POOLRESP received"),
            Body::UpdReq => self.on_updreq(now, xid, false),
            Body::UpdReqAll => self.on_updreq(now, xid, true),
            Body::UpdDone => self.on_upddone(now, xid),
        }
    }

    /// RFC 8156 §6.1.2 Receiving a CONNECT Message.
    fn on_connect(&mut self, now: Time, xid: u32, sent_time: Time, p: ConnectParams) {
        if self.cfg.role == Role::Primary {
            self.log("ignored CONNECT: the primary never accepts connections (§6)");
            return;
        }
        if self.conn.phase != Phase::AwaitConnect {
            self.log("ignored CONNECT: connection already established");
            return;
        }
        let reject = |code| Body::ConnectReply(ConnectReply::Reject(code));
        // "sent-time - ... If it is not [within 5 seconds], return ExcessiveTimeSkew"
        if sent_time.abs_diff(now) > SKEW_TOLERANCE {
            self.log("rejecting CONNECT: ExcessiveTimeSkew");
            self.send_reply(now, xid, reject(StatusCode::ExcessiveTimeSkew));
            return;
        }
        // "OPTION_F_PROTOCOL_VERSION - ... If it is not [supported], return NotSupported"
        if p.protocol_version.0 != PROTOCOL_VERSION.0 {
            self.log("rejecting CONNECT: protocol version NotSupported");
            self.send_reply(now, xid, reject(StatusCode::NotSupported));
            return;
        }
        // §6.2: the relationship is identified by the relationship name; an unknown name
        // is rejected (decision D3: ConfigurationConflict).
        if let (Some(theirs), Some(ours)) = (&p.relationship_name, &self.cfg.relationship_name) {
            if theirs != ours {
                self.log(&format!(
                    "rejecting CONNECT: unknown relationship {theirs:?}"
                ));
                self.send_reply(now, xid, reject(StatusCode::ConfigurationConflict));
                return;
            }
        }
        // "OPTION_F_MCLT - Use this MCLT supplied by the primary server. Remember this MCLT"
        if self.mclt != p.mclt {
            self.mclt = p.mclt;
            self.persist_endpoint(now);
        }
        // "OPTION_F_KEEPALIVE_TIME - Remember the keepalive-time"
        self.conn.partner_keepalive = p.keepalive_time.max(1);
        // "OPTION_F_MAX_UNACKED_BNDUPD - Ensure that the maximum amount of unacked BNDUPD
        // messages queued to the primary server never exceeds the value"
        self.conn.partner_max_unacked = p.max_unacked_bndupd.max(1);
        let params = self.connect_params(false);
        self.send_reply(now, xid, Body::ConnectReply(ConnectReply::Accept(params)));
        self.conn.phase = Phase::AwaitState;
        // "After sending a CONNECTREPLY message to accept ... the secondary server MUST send a
        // STATE message"
        self.send_state(now);
    }

    /// RFC 8156 §6.1.3 Receiving a CONNECTREPLY Message.
    fn on_connect_reply(&mut self, now: Time, r: ConnectReply) {
        if self.cfg.role == Role::Secondary || self.conn.phase != Phase::AwaitConnectReply {
            self.log("ignored CONNECTREPLY: no CONNECT outstanding");
            return;
        }
        let p = match r {
            ConnectReply::Reject(code) => {
                // §6.1: rejected by a CONNECTREPLY with a status code; the driver backs off.
                self.drop_connection(now, DisconnectReason::Rejected(code), None);
                return;
            }
            ConnectReply::Accept(p) => p,
        };
        // "OPTION_F_PROTOCOL_VERSION - ... If it is not, send a DISCONNECT message and drop"
        if p.protocol_version.0 != PROTOCOL_VERSION.0 {
            self.drop_connection(
                now,
                DisconnectReason::VersionUnsupported(p.protocol_version),
                Some(StatusCode::NotSupported),
            );
            return;
        }
        // "OPTION_F_MCLT - Compare the MCLT received with the configured MCLT. If they are
        // different, send a DISCONNECT message and drop the connection." (Decision D19: the
        // DISCONNECT carries ConfigurationConflict; the RFC names no status.)
        if p.mclt != self.cfg.mclt {
            self.drop_connection(
                now,
                DisconnectReason::MclMismatch {
                    ours: self.cfg.mclt,
                    theirs: p.mclt,
                },
                Some(StatusCode::ConfigurationConflict),
            );
            return;
        }
        self.conn.partner_keepalive = p.keepalive_time.max(1);
        self.conn.partner_max_unacked = p.max_unacked_bndupd.max(1);
        self.conn.phase = Phase::AwaitState;
        // "After receiving a CONNECTREPLY message that accepted the primary server's CONNECT
        // message, the primary server MUST send a STATE message"
        self.send_state(now);
    }

    /// RFC 8156 §6.3 Sending a STATE Message (and §8.3.1 in STARTUP).
    pub(crate) fn send_state(&mut self, now: Time) {
        if !self.conn.handshake_done() {
            return;
        }
        let in_startup = self.state == ServerState::Startup;
        let msg = StateMsg {
            // §8.3.1: in STARTUP "the previously recorded failover state MUST be placed in the
            // OPTION_F_SERVER_STATE option" and the STARTUP flag set.
            server_state: if in_startup {
                self.startup_previous
            } else {
                self.state
            },
            flags: ServerFlags {
                ack_startup: self.partner.flags.startup,
                startup: in_startup,
                communicated: self.communicated,
            },
            start_time_of_state: self.start_time_of_state,
            // "OPTION_F_PARTNER_DOWN_TIME ... if this server is in PARTNER-DOWN state"
            partner_down_time: if self.state == ServerState::PartnerDown {
                self.partner_down_entry
            } else {
                None
            },
        };
        self.send_new(now, Body::State(msg));
    }

    /// RFC 8156 §6.4 Receiving a STATE Message.
    fn on_state(&mut self, now: Time, s: StateMsg) {
        if !self.conn.handshake_done() {
            self.log("ignored STATE: connection handshake not complete");
            return;
        }
        let changed = self.partner.state != Some(s.server_state)
            || self.partner.flags.startup != s.flags.startup;
        self.partner.state = Some(s.server_state);
        self.partner.flags = s.flags;
        if self.partner.knew_us.is_none() {
            self.partner.knew_us = Some(s.flags.communicated);
        }
        self.partner.start_time = Some(s.start_time_of_state);
        // "If the state is not PARTNER-DOWN, clear any memory of the partner-down-time."
        self.partner.partner_down_time = if s.server_state == ServerState::PartnerDown {
            s.partner_down_time
        } else {
            None
        };
        let first = self.conn.phase == Phase::AwaitState;
        if first {
            // §6.1: "Upon the receipt of the STATE message, the receiver can consider
            // communications OK."
            self.conn.phase = Phase::Ok;
            self.communicated = true;
        }
        // "A server receiving a STATE message SHOULD ensure that this information is written to
        // stable storage."
        self.persist_endpoint(now);
        if first {
            self.event(Event::CommunicationsOk);
            self.run_state_machine(now, Trigger::CommOk);
        } else if changed {
            self.run_state_machine(now, Trigger::PartnerState);
        }
    }

    /// FO_SEND_TIMER expiry: "a CONTACT message is transmitted" (§6.6).
    pub(crate) fn on_fo_send(&mut self, now: Time) {
        if self.conn.handshake_done() {
            self.send_new(now, Body::Contact);
        }
    }
}
