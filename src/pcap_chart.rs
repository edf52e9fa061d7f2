//! `failover explain --pcap`: the message-sequence chart of a real capture of a pair (issue 18).
//!
//! The capture is read by `failover_conformance::capture` (TCP reassembled per direction, frames
//! cut per RFC 5460 §5.1, messages decoded by failover-proto) and turned into a [`Trace`] whose
//! steps each carry the messages captured in one second, so that the chart code of `failover
//! explain` (model/src/chart.rs) draws it exactly as it draws a model trace: a teacher can put a
//! real exchange next to a model trace. Each arrow names the message, its key contents and the
//! subsection of RFC 8156 §5.3 that defines it.
//!
//! Which lane is the primary follows RFC 8156 §6: "This connection is always initiated by the
//! primary server", so in each connection the side that sent the SYN (or, when the capture began
//! after the handshake, the side not on the failover port) is the primary.

use std::fmt::Write as _;
use std::time::Duration;

use failover_conformance::capture::{Capture, CapturedMessage, EPOCH_2000_UNIX};
use failover_proto::wire::{DhcpOption, Message, OptionCode};
use failover_proto::{MsgKind, Role};
use failover_trace::{
    Event, Observation, SentMsg, ServerObs, Step, Trace, TraceConfig, TraceKind, FORMAT, VERSION,
};

/// The subsection of RFC 8156 §5.3 that defines a message.
pub fn section(kind: MsgKind) -> &'static str {
    match kind {
        MsgKind::BndUpd => "5.3.1",
        MsgKind::BndReply => "5.3.2",
        MsgKind::PoolReq => "5.3.3",
        MsgKind::PoolResp => "5.3.4",
        MsgKind::UpdReq => "5.3.5",
        MsgKind::UpdReqAll => "5.3.6",
        MsgKind::UpdDone => "5.3.7",
        MsgKind::Connect => "5.3.8",
        MsgKind::ConnectReply => "5.3.9",
        MsgKind::Disconnect => "5.3.10",
        MsgKind::State => "5.3.11",
        MsgKind::Contact => "5.3.12",
    }
}

/// Depth-first search for the first option with `code`, nested options included.
fn find(options: &[DhcpOption], code: OptionCode) -> Option<&DhcpOption> {
    options.iter().find_map(|o| {
        if o.code() == code {
            Some(o)
        } else {
            o.nested().and_then(|n| find(n, code))
        }
    })
}

/// The arrow's text: the message name, what it is about (state, lease, binding-status, status
/// code) and its RFC section.
fn label(m: &Message) -> String {
    use DhcpOption as O;
    let Ok(kind) = m.kind() else {
        return format!("msg-type {} (not RFC 8156 §5.3)", m.msg_type.0);
    };
    let mut s = kind.token().to_string();
    if let Some(O::ServerState(st)) = find(&m.options, OptionCode::OPTION_F_SERVER_STATE) {
        let _ = write!(s, " {st}");
    }
    if let Some(O::ServerFlags(f)) = find(&m.options, OptionCode::OPTION_F_SERVER_FLAGS) {
        if f.contains(failover_proto::wire::ServerFlags::STARTUP) {
            s.push_str(" [STARTUP]");
        }
    }
    match find(&m.options, OptionCode::OPTION_IAADDR)
        .or_else(|| find(&m.options, OptionCode::OPTION_IAPREFIX))
    {
        Some(O::IaAddr(a)) => {
            let _ = write!(s, " {}", a.addr);
        }
        Some(O::IaPrefix(p)) => {
            let _ = write!(s, " {}/{}", p.prefix, p.prefix_len);
        }
        _ => {}
    }
    if let Some(O::BindingStatus(b)) = find(&m.options, OptionCode::OPTION_F_BINDING_STATUS) {
        let _ = write!(s, " {b}");
    }
    if let Some(O::StatusCode(st)) = find(&m.options, OptionCode::OPTION_STATUS_CODE) {
        let _ = write!(s, " {}", st.code.name().unwrap_or("status"));
    }
    let _ = write!(s, " (§{})", section(kind));
    s
}

fn text_of(m: &CapturedMessage) -> String {
    match &m.message {
        Ok(msg) => label(msg),
        Err(e) => format!("undecodable message: {e}"),
    }
}

/// `2025-05-08 06:13:20 UTC` for a capture timestamp.
fn utc(t: Duration) -> String {
    let secs = t.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970 (H. Hinnant's civil_from_days).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// A chart-ready trace of the messages in `c`; `name` names the capture in the title.
pub fn trace_of(c: &Capture, name: &str) -> Result<Trace, String> {
    if c.messages.is_empty() {
        return Err(format!(
            "no failover message in {name}: {} packets, {} connection(s) on the failover port, \
             but no complete framed message (RFC 8156 §5.1){}",
            c.packets,
            c.connections.len(),
            c.problems
                .iter()
                .map(|p| format!("; {}", p.problem))
                .collect::<String>()
        ));
    }
    let start = c.messages[0].time;
    let secs = |m: &CapturedMessage| m.time.saturating_sub(start).as_secs();
    let span = c.messages.last().map_or(0, secs);
    // Ticks are u8: a capture longer than 255 s is drawn by distinct second instead.
    let exact = span <= u64::from(u8::MAX);
    let server = ServerObs {
        up: true,
        state: None,
        comm_ok: false,
        leases: Vec::new(),
    };
    let quiet = Observation {
        servers: vec![server.clone(), server],
        clients: Vec::new(),
        sent: Vec::new(),
        dns: None,
    };
    let mut steps: Vec<Step> = Vec::new();
    let mut instants = 0u8;
    let mut last_sec = None;
    let mut sections = std::collections::BTreeSet::new();
    for m in &c.messages {
        let sec = secs(m);
        if last_sec.is_some() && last_sec != Some(sec) {
            instants = instants.saturating_add(1);
        }
        let tick = if exact { sec as u8 } else { instants };
        let from = if m.from == c.connections[m.connection].client {
            Role::Primary
        } else {
            Role::Secondary
        };
        if let Ok(Ok(kind)) = m.message.as_ref().map(Message::kind) {
            sections.insert(section(kind).to_string());
        }
        let sent = SentMsg {
            from,
            kind: text_of(m),
            state: None,
            startup: None,
            lease: None,
            status: None,
            reject: None,
            fqdn: None,
            dns_added: None,
            reserved: None,
        };
        // The capture sees each message once, so it is drawn as sent and delivered at the same
        // time: a step that sends it (an event the chart draws nothing for), then the step that
        // delivers it to the other side (the chart pairs each delivery with the oldest message
        // in flight that way, as the model's queues do).
        let to = match from {
            Role::Primary => Role::Secondary,
            Role::Secondary => Role::Primary,
        };
        steps.push(Step {
            step: steps.len() + 1,
            time: tick,
            event: Event::Tick,
            expect: Observation {
                sent: vec![sent],
                ..quiet.clone()
            },
        });
        steps.push(Step {
            step: steps.len() + 1,
            time: tick,
            event: Event::Deliver { to },
            expect: quiet.clone(),
        });
        last_sec = Some(sec);
    }
    let when = if exact {
        "t = seconds since the first".to_string()
    } else {
        format!("t = n-th second with messages (the capture spans {span} s)")
    };
    let start_2000 = start.as_secs().saturating_sub(EPOCH_2000_UNIX);
    Ok(Trace {
        format: FORMAT.to_string(),
        version: VERSION,
        id: format!("capture {name}"),
        title: format!(
            "{} messages, {} connection(s), from {} ({start_2000} in RFC 8156 §3 time); {when}",
            c.messages.len(),
            c.connections.len(),
            utc(start),
        ),
        kind: TraceKind::Random,
        tags: vec!["capture".to_string()],
        rfc: sections.into_iter().collect(),
        covers: Vec::new(),
        variant: None,
        config: TraceConfig {
            clients: 0,
            addresses: 0,
            prefixes: 0,
            mclt: 0,
            lifetime: 0,
            startup_ticks: 0,
            auto_partner_down: None,
            init: "capture".to_string(),
            dns: false,
            reservations: Vec::new(),
        },
        initial: quiet,
        steps,
    })
}

/// Read the capture at `path` and make its trace (warnings about unreadable stream parts go to
/// standard error: the chart shows what could be read).
pub fn load(path: &std::path::Path, port: u16) -> Result<Trace, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let capture = failover_conformance::capture::read_capture(&bytes, port)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    for p in &capture.problems {
        eprintln!(
            "warning: {}: connection {} from {}: {}",
            path.display(),
            p.connection + 1,
            p.from,
            p.problem
        );
    }
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    trace_of(&capture, &name)
}
