//! Message-sequence charts of traces (and so of counterexamples): one lane per server and per
//! client, partner messages and client exchanges as arrows, and on the lanes the endpoint state
//! changes (§8), lease changes (§7.2), link failures, crashes and operator commands, with the
//! clock marked where it advances. Rendered as Mermaid text (`sequenceDiagram`) or as a
//! standalone SVG; both come from one list of [`Row`]s, so they always show the same thing.
//!
//! A partner message has two points: it is sent in one step and delivered in a later one
//! (RFC 8156 §6.1: the messages travel on one TCP connection, in order, and a lost connection
//! loses what is in flight). The model keeps a FIFO per direction, and a `deliver` event takes
//! the oldest message towards its receiver; a partition or a crash drops the connection and
//! everything in it. The chart pairs each send with its delivery the same way, from the trace
//! alone, so a message still in flight while the other server acts is drawn in flight: in the
//! SVG as an arrow sloping from the send row down to the delivery row, or ending in a cross
//! (lost) or an open end (still in flight when the trace ends); in Mermaid as a note where it
//! is sent and the arrow where it arrives.
//!
//! Marks across the chart say what a reader must not miss: the step where a property is
//! violated and what exactly is wrong ([`Violation`]), and, in a negative trace, the step after
//! which an implementation with the variant's mistake diverges from the RFC's expectations
//! (`variant.diverges_at`).

use std::collections::VecDeque;
use std::fmt::Write as _;

use failover_proto::Role;

use crate::config::Tick;
use failover_trace::{ClientObs, Event, LeaseObs, Observation, SentMsg, Trace};

/// A lane of the chart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lane {
    /// A failover endpoint.
    Server(Role),
    /// A DHCP client.
    Client(u8),
}

/// Why a partner message never reaches its receiver in the trace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Undelivered {
    /// The connection was lost with the message in it (§6.1: a partition or a crash).
    Lost(String),
    /// The trace ends with the message still in flight.
    InFlight,
}

/// The kind of a mark across the chart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MarkKind {
    /// A property is violated in the state after this point.
    Violation,
    /// A negative trace: after this step an implementation with the variant's mistake
    /// observes something other than what the RFC expects.
    Divergence,
}

/// One row of the chart, top to bottom.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Row {
    /// The clock advanced to this tick.
    Time(Tick),
    /// Step `n` (from 1) of the trace starts here; it takes no room of its own.
    Step(usize),
    /// A client exchange, drawn at once. `reply` draws it dashed (an answer to a client).
    Arrow {
        /// Sender.
        from: Lane,
        /// Receiver.
        to: Lane,
        /// What is sent.
        label: String,
        /// A reply to a client.
        reply: bool,
    },
    /// A partner message leaves `from`. `msg` numbers the partner messages of the chart
    /// (from 1), so that its delivery row can name it.
    Send {
        /// Its number in the chart.
        msg: usize,
        /// Sender (the receiver is the other server).
        from: Role,
        /// What is sent.
        label: String,
    },
    /// Partner message `msg` arrives at `to`, which acts on it in the rows that follow.
    Deliver {
        /// Its number in the chart.
        msg: usize,
        /// Receiver.
        to: Role,
        /// What was sent.
        label: String,
    },
    /// Partner message `msg`, sent by `from`, never arrives in this trace.
    Undelivered {
        /// Its number in the chart.
        msg: usize,
        /// Sender.
        from: Role,
        /// What was sent.
        label: String,
        /// Lost, or still in flight.
        why: Undelivered,
    },
    /// Something that happened on one lane, or across the two servers (`across`).
    Note {
        /// Where.
        lane: Lane,
        /// Spans both server lanes (link events).
        across: bool,
        /// What.
        text: String,
    },
    /// A mark across every lane.
    Mark {
        /// Violation or divergence.
        kind: MarkKind,
        /// What it says.
        text: String,
    },
}

/// A property violated in the last state of a trace, to mark at the end of its chart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The property, as the checker names it.
    pub property: String,
    /// What is wrong in that state, concretely (e.g. "c0 and c1 both hold P0").
    pub detail: String,
}

fn role_name(r: Role) -> &'static str {
    match r {
        Role::Primary => "primary",
        Role::Secondary => "secondary",
    }
}

fn server_idx(r: Role) -> usize {
    match r {
        Role::Primary => 0,
        Role::Secondary => 1,
    }
}

fn partner(r: Role) -> Role {
    match r {
        Role::Primary => Role::Secondary,
        Role::Secondary => Role::Primary,
    }
}

fn lease_text(l: &LeaseObs) -> String {
    let mut s = l.status.to_string();
    if let Some(c) = l.client {
        let _ = write!(s, " c{c}");
    }
    if let Some(e) = l.expiry {
        let _ = write!(s, " until t{e}");
    }
    s
}

fn message_text(m: &SentMsg) -> String {
    let mut s = m.kind.clone();
    if let Some(st) = m.state {
        let _ = write!(s, " {st}");
    }
    if m.startup == Some(true) {
        s.push_str(" [STARTUP]");
    }
    if let Some(l) = &m.lease {
        let _ = write!(s, " {l}");
    }
    if let Some(b) = m.status {
        let _ = write!(s, " {b}");
    }
    if let Some(r) = &m.reject {
        let _ = write!(s, " rejected: {r}");
    }
    s
}

/// The rows of a trace's chart, with the mark of a negative trace's divergence.
pub fn rows(t: &Trace) -> Vec<Row> {
    rows_with(t, None)
}

/// The rows of a trace's chart, with a violation marked after the last step.
pub fn rows_with(t: &Trace, violation: Option<&Violation>) -> Vec<Row> {
    let mut out = Vec::new();
    let mut prev: &Observation = &t.initial;
    let mut time = t.steps.first().map_or(1, |s| {
        // The clock before the first step: a first `tick` step moves it.
        if matches!(s.event, Event::Tick) {
            s.time.saturating_sub(1)
        } else {
            s.time
        }
    });
    out.push(Row::Time(time));
    // The messages in flight, oldest first, per direction: [from the primary, from the
    // secondary] (the model's channels; §6.1: in order on one connection).
    let mut flight: [VecDeque<(usize, String)>; 2] = Default::default();
    let mut count = 0;
    let diverges_at = t.variant.as_ref().and_then(|v| v.diverges_at);
    for step in &t.steps {
        // The step's number first: a `tick` step is the clock line itself.
        out.push(Row::Step(step.step));
        if step.time != time {
            time = step.time;
            out.push(Row::Time(time));
        }
        let now = &step.expect;
        // The event, what it changed, then what the servers sent because of it.
        flight_rows(&step.event, &mut flight, &mut out);
        event_rows(&step.event, prev, now, &mut out);
        lost_rows(&step.event, &mut flight, &mut out);
        change_rows(&step.event, prev, now, &mut out);
        for m in &now.sent {
            count += 1;
            let label = message_text(m);
            flight[server_idx(m.from)].push_back((count, label.clone()));
            out.push(Row::Send {
                msg: count,
                from: m.from,
                label,
            });
        }
        if diverges_at == Some(step.step) {
            out.push(Row::Mark {
                kind: MarkKind::Divergence,
                text: divergence_text(t, step.step),
            });
        }
        prev = now;
    }
    if let Some(v) = violation {
        let after = t
            .steps
            .last()
            .map_or("in the initial state".to_string(), |s| {
                format!("after step {}", s.step)
            });
        out.push(Row::Mark {
            kind: MarkKind::Violation,
            text: format!("VIOLATED {after}: {} ({})", v.detail, v.property),
        });
    }
    for (i, q) in flight.iter_mut().enumerate() {
        let from = if i == 0 {
            Role::Primary
        } else {
            Role::Secondary
        };
        for (msg, label) in q.drain(..) {
            out.push(Row::Undelivered {
                msg,
                from,
                label,
                why: Undelivered::InFlight,
            });
        }
    }
    out
}

fn divergence_text(t: &Trace, step: usize) -> String {
    let name = t.variant.as_ref().map_or("", |v| v.name.as_str());
    format!(
        "after step {step} an implementation with variant {name} diverges from these expectations"
    )
}

/// A `deliver` event: the oldest message towards the receiver arrives.
fn flight_rows(e: &Event, flight: &mut [VecDeque<(usize, String)>; 2], out: &mut Vec<Row>) {
    if let Event::Deliver { to } = e {
        match flight[server_idx(partner(*to))].pop_front() {
            Some((msg, label)) => out.push(Row::Deliver {
                msg,
                to: *to,
                label,
            }),
            // Not from the model (which delivers only what is in flight): say so, draw nothing.
            None => out.push(note(
                Lane::Server(*to),
                "receives a message this trace did not send",
            )),
        }
    }
}

/// A partition or a crash loses the connection and every message in flight (§6.1; the model's
/// `drop_connection`).
fn lost_rows(e: &Event, flight: &mut [VecDeque<(usize, String)>; 2], out: &mut Vec<Row>) {
    let why = match e {
        Event::Partition => "lost: link down".to_string(),
        Event::Crash { server, .. } => format!("lost: {} crashed", role_name(*server)),
        _ => return,
    };
    for (i, q) in flight.iter_mut().enumerate() {
        let from = if i == 0 {
            Role::Primary
        } else {
            Role::Secondary
        };
        for (msg, label) in q.drain(..) {
            out.push(Row::Undelivered {
                msg,
                from,
                label,
                why: Undelivered::Lost(why.clone()),
            });
        }
    }
}

fn holding(o: &Observation, c: u8) -> Option<&ClientObs> {
    o.clients.get(c as usize).and_then(|h| h.as_ref())
}

fn note(lane: Lane, text: impl Into<String>) -> Row {
    Row::Note {
        lane,
        across: false,
        text: text.into(),
    }
}

fn link(text: &str) -> Row {
    Row::Note {
        lane: Lane::Server(Role::Primary),
        across: true,
        text: text.to_string(),
    }
}

/// The event itself: client exchanges, faults, commands.
fn event_rows(e: &Event, before: &Observation, after: &Observation, out: &mut Vec<Row>) {
    let client_exchange = |c: u8, server: Option<Role>, what: String, out: &mut Vec<Row>| {
        let Some(server) = server else {
            return;
        };
        out.push(Row::Arrow {
            from: Lane::Client(c),
            to: Lane::Server(server),
            label: what,
            reply: false,
        });
        let answer = match (holding(before, c), holding(after, c)) {
            (_, Some(h)) if h.server == server && Some(h) != holding(before, c) => {
                format!("{} until t{}", h.lease, h.expiry)
            }
            (Some(_), None) => "done".to_string(),
            (Some(b), Some(a)) if a == b => "no change".to_string(),
            _ => "no answer".to_string(),
        };
        out.push(Row::Arrow {
            from: Lane::Server(server),
            to: Lane::Client(c),
            label: answer,
            reply: true,
        });
    };
    let held = |c: u8| holding(before, c).map(|h| (h.server, h.lease.clone()));
    match e {
        Event::Tick | Event::Deliver { .. } => {}
        Event::Timers { server } => out.push(note(Lane::Server(*server), "timers fire")),
        Event::Partition => out.push(link("link down (partition)")),
        Event::Heal => out.push(link("link up")),
        Event::Crash {
            server,
            lose_storage,
        } => out.push(note(
            Lane::Server(*server),
            if *lose_storage {
                "CRASH, stable storage lost"
            } else {
                "CRASH"
            },
        )),
        Event::Restart { server } => out.push(note(Lane::Server(*server), "restart")),
        Event::PartnerDownCommand { server } => {
            out.push(note(Lane::Server(*server), "operator: partner is down"))
        }
        Event::ResetLease { server, lease } => out.push(note(
            Lane::Server(*server),
            format!("operator: reset {lease}"),
        )),
        Event::DnsAnswer { server, lease } => out.push(note(
            Lane::Server(*server),
            format!("DNS update for {lease} done"),
        )),
        Event::CancelReservation { server, lease } => out.push(note(
            Lane::Server(*server),
            format!("operator: cancel the reservation of {lease}"),
        )),
        Event::Request {
            client,
            server,
            kind,
        } => {
            let k = kind.token();
            client_exchange(*client, Some(*server), format!("SOLICIT/REQUEST {k}"), out);
        }
        Event::Renew { client } => {
            let h = held(*client);
            let label = format!("RENEW {}", h.as_ref().map_or("", |h| h.1.as_str()));
            client_exchange(*client, h.map(|h| h.0), label, out);
        }
        Event::Rebind { client } => {
            let h = held(*client);
            let label = format!("REBIND {}", h.as_ref().map_or("", |h| h.1.as_str()));
            client_exchange(*client, h.map(|h| partner(h.0)), label, out);
        }
        Event::Release { client } | Event::Decline { client } => {
            let word = if matches!(e, Event::Release { .. }) {
                "RELEASE"
            } else {
                "DECLINE"
            };
            let h = held(*client);
            let label = format!("{word} {}", h.as_ref().map_or("", |h| h.1.as_str()));
            client_exchange(*client, h.map(|h| h.0), label, out);
        }
    }
}

/// What changed on the lanes: endpoint states, leases, clients' leases running out.
fn change_rows(e: &Event, before: &Observation, after: &Observation, out: &mut Vec<Row>) {
    for r in [Role::Primary, Role::Secondary] {
        let (b, a) = (
            &before.servers[server_idx(r)],
            &after.servers[server_idx(r)],
        );
        let lane = Lane::Server(r);
        if b.state != a.state {
            if let (Some(x), Some(y)) = (b.state, a.state) {
                out.push(note(lane, format!("{x} → {y}")));
            } else if let (None, Some(y)) = (b.state, a.state) {
                out.push(note(lane, format!("up in {y}")));
            }
        }
        if !a.up {
            continue;
        }
        for la in &a.leases {
            let lb = b.leases.iter().find(|x| x.lease == la.lease);
            if lb != Some(la) && b.up {
                let from = lb.map_or("?".to_string(), lease_text);
                out.push(note(
                    lane,
                    format!("{}: {from} → {}", la.lease, lease_text(la)),
                ));
            }
        }
    }
    // A lease a client stops holding without giving it back ran out by the client's own clock.
    for (c, (hb, ha)) in before.clients.iter().zip(&after.clients).enumerate() {
        let c = c as u8;
        let gave_back =
            matches!(e, Event::Release { client } | Event::Decline { client } if *client == c);
        if let (Some(h), None) = (hb, ha) {
            if !gave_back {
                out.push(note(
                    Lane::Client(c),
                    format!("{} ran out (t{})", h.lease, h.expiry),
                ));
            }
        }
    }
}

fn lanes(t: &Trace) -> Vec<Lane> {
    let mut v = vec![Lane::Server(Role::Primary), Lane::Server(Role::Secondary)];
    v.extend((0..t.config.clients).map(Lane::Client));
    v
}

fn lane_id(l: Lane) -> String {
    match l {
        Lane::Server(Role::Primary) => "P".into(),
        Lane::Server(Role::Secondary) => "S".into(),
        Lane::Client(c) => format!("c{c}"),
    }
}

fn lane_title(l: Lane) -> String {
    match l {
        Lane::Server(r) => role_name(r).into(),
        Lane::Client(c) => format!("client c{c}"),
    }
}

fn undelivered_text(why: &Undelivered) -> &str {
    match why {
        Undelivered::Lost(w) => w,
        Undelivered::InFlight => "still in flight at the end",
    }
}

/// The chart as Mermaid text (`sequenceDiagram`).
pub fn mermaid(t: &Trace) -> String {
    mermaid_with(t, None)
}

/// The chart as Mermaid text, with a violation marked after the last step. Mermaid draws no
/// sloped arrow: a partner message is a note where it is sent and the arrow where it arrives
/// (`-x` where it is lost, a note where it is still in flight at the end).
pub fn mermaid_with(t: &Trace, violation: Option<&Violation>) -> String {
    let mut s = String::from("sequenceDiagram\n");
    let _ = writeln!(s, "    title {}", t.id);
    for l in lanes(t) {
        let _ = writeln!(s, "    participant {} as {}", lane_id(l), lane_title(l));
    }
    // Mermaid reads `;` and `#` specially in messages.
    let clean = |x: &str| x.replace([';', '#'], " ");
    let last = lanes(t).last().map_or("S".to_string(), |&l| lane_id(l));
    let srv = |r: Role| lane_id(Lane::Server(r));
    for r in rows_with(t, violation) {
        match r {
            Row::Time(k) => {
                let _ = writeln!(s, "    Note over P,{last}: t{k}");
            }
            Row::Step(n) => {
                let _ = writeln!(s, "    %% step {n}");
            }
            Row::Arrow {
                from,
                to,
                label,
                reply,
            } => {
                let arrow = if reply { "-->>" } else { "->>" };
                let _ = writeln!(
                    s,
                    "    {}{arrow}{}: {}",
                    lane_id(from),
                    lane_id(to),
                    clean(&label)
                );
            }
            Row::Send { msg, from, label } => {
                let _ = writeln!(
                    s,
                    "    Note over {}: sends m{msg} {}",
                    srv(from),
                    clean(&label)
                );
            }
            Row::Deliver { msg, to, label } => {
                let _ = writeln!(
                    s,
                    "    {}->>{}: m{msg} {}",
                    srv(partner(to)),
                    srv(to),
                    clean(&label)
                );
            }
            Row::Undelivered {
                msg,
                from,
                label,
                why: why @ Undelivered::Lost(_),
            } => {
                let _ = writeln!(
                    s,
                    "    {}-x{}: m{msg} {} ({})",
                    srv(from),
                    srv(partner(from)),
                    clean(&label),
                    undelivered_text(&why)
                );
            }
            Row::Undelivered {
                msg,
                label,
                why: why @ Undelivered::InFlight,
                ..
            } => {
                let _ = writeln!(
                    s,
                    "    Note over P,S: m{msg} {} {}",
                    clean(&label),
                    undelivered_text(&why)
                );
            }
            Row::Note { lane, across, text } => {
                let over = if across {
                    "P,S".to_string()
                } else {
                    lane_id(lane)
                };
                let _ = writeln!(s, "    Note over {over}: {}", clean(&text));
            }
            Row::Mark { text, .. } => {
                let _ = writeln!(s, "    Note over P,{last}: {}", clean(&text));
            }
        }
    }
    s
}

fn xml(x: &str) -> String {
    x.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Break `text` into lines of at most `max` characters, at spaces where it can.
fn wrap(text: &str, max: usize) -> Vec<String> {
    let max = max.max(10);
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let len = line.chars().count();
        if len > 0 && len + 1 + word.chars().count() > max {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
        // A word longer than a line is cut.
        while line.chars().count() > max {
            let head: String = line.chars().take(max).collect();
            line = line.chars().skip(max).collect();
            lines.push(head);
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

const LANE_W: usize = 230;
const ROW_H: usize = 26;
const LEFT: usize = 60;
/// Width of one character of the 12 px monospace font, rounded up.
const CHAR_W: usize = 8;
/// Height of one more line of wrapped text.
const LINE_H: usize = 16;

fn text_w(s: &str) -> usize {
    s.chars().count() * CHAR_W
}

/// The chart as a standalone SVG document.
pub fn svg(t: &Trace) -> String {
    svg_with(t, None)
}

/// The chart as a standalone SVG document, with a violation marked after the last step.
pub fn svg_with(t: &Trace, violation: Option<&Violation>) -> String {
    let lanes = lanes(t);
    let rows = rows_with(t, violation);
    let x = |l: Lane| -> usize {
        LEFT + LANE_W / 2 + LANE_W * lanes.iter().position(|&m| m == l).expect("a lane")
    };
    let xs = |r: Role| x(Lane::Server(r));
    let lanes_w = LEFT + LANE_W * lanes.len() + 20;
    // Title and subtitle wrapped to the lanes' width: never cut off.
    let per_line = (lanes_w - LEFT - 10) / CHAR_W;
    let mut heading = String::new();
    let mut y = 20;
    for line in wrap(&t.id, per_line * 12 / 14) {
        let _ = writeln!(
            heading,
            r#"<text x="{LEFT}" y="{y}" font-size="14" font-weight="bold">{}</text>"#,
            xml(&line)
        );
        y += 18;
    }
    for line in wrap(&t.title, per_line) {
        let _ = writeln!(heading, r#"<text x="{LEFT}" y="{y}">{}</text>"#, xml(&line));
        y += LINE_H;
    }
    let lane_top = y;
    let top = lane_top + 38;
    // Marks are wrapped to the lanes' width too; other text widens the picture if it must.
    let mark_lines = |text: &str| wrap(text, (lanes_w - LEFT - 40) / CHAR_W);
    let mut body = String::new();
    let mut lines = String::new();
    let mut right = lanes_w;
    let mut sent_at: Vec<(usize, usize)> = Vec::new(); // (msg, y of its send row)
    let mut step_label: Option<usize> = None;
    let mut y = top;
    for r in &rows {
        if let Row::Step(n) = r {
            step_label = Some(*n);
            continue;
        }
        y += ROW_H;
        if let Some(n) = step_label.take() {
            let _ = writeln!(
                body,
                r##"<text x="{}" y="{}" font-size="10" fill="#777" text-anchor="end">{n}.</text>"##,
                LEFT - 4,
                y + 4
            );
        }
        match r {
            Row::Step(_) => {}
            Row::Time(tick) => {
                let _ = writeln!(
                    body,
                    r##"<line x1="{LEFT}" y1="{y}" x2="{}" y2="{y}" stroke="#bbb"/><text x="6" y="{}" fill="#555">t{tick}</text>"##,
                    lanes_w - 20,
                    y + 4
                );
            }
            Row::Arrow {
                from,
                to,
                label,
                reply,
            } => {
                let (x1, x2) = (x(*from), x(*to));
                let dash = if *reply {
                    r#" stroke-dasharray="6 3""#
                } else {
                    ""
                };
                let mid = (x1 + x2) / 2;
                right = right.max(mid + text_w(label) / 2 + 20);
                let _ = writeln!(
                    body,
                    r#"<line x1="{x1}" y1="{y}" x2="{x2}" y2="{y}" stroke="black"{dash} marker-end="url(#arrow)"/><text x="{mid}" y="{}" text-anchor="middle">{}</text>"#,
                    y - 4,
                    xml(label)
                );
            }
            Row::Send { msg, from, label } => {
                // The label beside the sender, on the side the message goes; the arrow is drawn
                // when it arrives (or does not).
                let x1 = xs(*from);
                let text = format!("m{msg} {label}");
                let (tx, anchor) = if xs(partner(*from)) > x1 {
                    right = right.max(x1 + 10 + text_w(&text) + 20);
                    (x1 + 10, "start")
                } else {
                    (x1.saturating_sub(10), "end")
                };
                sent_at.push((*msg, y));
                let _ = writeln!(
                    body,
                    r#"<circle cx="{x1}" cy="{y}" r="3" fill="black"/><text x="{tx}" y="{}" text-anchor="{anchor}">{}</text>"#,
                    y - 4,
                    xml(&text)
                );
            }
            Row::Deliver { msg, to, .. } => {
                let (x1, x2) = (xs(partner(*to)), xs(*to));
                let y1 = sent_at
                    .iter()
                    .find(|(m, _)| m == msg)
                    .map_or(y, |&(_, y1)| y1);
                let (tx, anchor) = if x2 > x1 {
                    (x2 - 10, "end")
                } else {
                    (x2 + 10, "start")
                };
                let _ = writeln!(
                    lines,
                    r#"<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y}" stroke="black" marker-end="url(#arrow)"/>"#
                );
                let _ = writeln!(
                    body,
                    r##"<text x="{tx}" y="{}" text-anchor="{anchor}" font-size="10" fill="#555">m{msg} arrives</text>"##,
                    y + 10
                );
            }
            Row::Undelivered { msg, from, why, .. } => {
                let (x1, x2) = (xs(*from), xs(partner(*from)));
                let y1 = sent_at
                    .iter()
                    .find(|(m, _)| m == msg)
                    .map_or(y, |&(_, y1)| y1);
                // It ends part of the way across.
                let end = (x1 as i64 + (x2 as i64 - x1 as i64) * 3 / 5) as usize;
                let text = format!("m{msg} {}", undelivered_text(why));
                let (tx, anchor) = if x2 > x1 {
                    (end + 10, "start")
                } else {
                    (end.saturating_sub(10), "end")
                };
                if x2 > x1 {
                    right = right.max(end + 10 + text_w(&text) + 20);
                }
                match why {
                    Undelivered::Lost(_) => {
                        let _ = writeln!(
                            lines,
                            r##"<line x1="{x1}" y1="{y1}" x2="{end}" y2="{y}" stroke="#b00000"/><path d="M{} {} L{} {} M{} {} L{} {}" stroke="#b00000" stroke-width="2"/>"##,
                            end - 5,
                            y - 5,
                            end + 5,
                            y + 5,
                            end - 5,
                            y + 5,
                            end + 5,
                            y - 5
                        );
                        let _ = writeln!(
                            body,
                            r##"<text x="{tx}" y="{}" text-anchor="{anchor}" fill="#b00000">{}</text>"##,
                            y + 4,
                            xml(&text)
                        );
                    }
                    Undelivered::InFlight => {
                        let _ = writeln!(
                            lines,
                            r##"<line x1="{x1}" y1="{y1}" x2="{end}" y2="{y}" stroke="#0050b0"/><circle cx="{end}" cy="{y}" r="5" fill="white" stroke="#0050b0" stroke-width="2"/>"##
                        );
                        let _ = writeln!(
                            body,
                            r##"<text x="{tx}" y="{}" text-anchor="{anchor}" fill="#0050b0">{}</text>"##,
                            y + 4,
                            xml(&text)
                        );
                    }
                }
            }
            Row::Note { lane, across, text } => {
                // As wide as the text, centred on the lane (or on both servers).
                let half = (text_w(text) + 16) / 2;
                let (x1, x2) = if *across {
                    let (p, q) = (xs(Role::Primary), xs(Role::Secondary));
                    let mid = (p + q) / 2;
                    (
                        mid.saturating_sub(half.max(mid - p + 40)),
                        mid + half.max(mid - p + 40),
                    )
                } else {
                    (
                        x(*lane).saturating_sub(half.max(50)),
                        x(*lane) + half.max(50),
                    )
                };
                right = right.max(x2 + 10);
                let _ = writeln!(
                    body,
                    r##"<rect x="{x1}" y="{}" width="{}" height="20" fill="#fff6c8" stroke="#c8b400"/><text x="{}" y="{}" text-anchor="middle">{}</text>"##,
                    y - 14,
                    x2 - x1,
                    (x1 + x2) / 2,
                    y,
                    xml(text)
                );
            }
            Row::Mark { kind, text } => {
                let (fill, stroke) = match kind {
                    MarkKind::Violation => ("#ffd8d8", "#b00000"),
                    MarkKind::Divergence => ("#ffe7c8", "#c86400"),
                };
                let wrapped = mark_lines(text);
                let h = 20 + LINE_H * (wrapped.len() - 1);
                let _ = writeln!(
                    body,
                    r##"<rect x="{}" y="{}" width="{}" height="{h}" fill="{fill}" stroke="{stroke}" stroke-width="2"/>"##,
                    LEFT - 10,
                    y - 14,
                    lanes_w - LEFT - 10
                );
                for (k, line) in wrapped.iter().enumerate() {
                    let _ = writeln!(
                        body,
                        r#"<text x="{}" y="{}" font-weight="bold" fill="{stroke}">{}</text>"#,
                        LEFT,
                        y + LINE_H * k,
                        xml(line)
                    );
                }
                y += LINE_H * (wrapped.len() - 1);
            }
        }
    }
    let bottom = y + ROW_H;
    let width = right;
    let height = bottom + 20;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="monospace" font-size="12">"#
    );
    let _ = writeln!(
        s,
        r#"<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="black"/></marker></defs>"#
    );
    let _ = writeln!(
        s,
        r#"<rect width="{width}" height="{height}" fill="white"/>"#
    );
    s.push_str(&heading);
    for &l in &lanes {
        let lx = x(l);
        let _ = writeln!(
            s,
            r#"<rect x="{}" y="{lane_top}" width="{}" height="24" fill="{}" stroke="black"/><text x="{lx}" y="{}" text-anchor="middle">{}</text>"#,
            lx - 80,
            160,
            if matches!(l, Lane::Server(_)) {
                "#dde8f8"
            } else {
                "#eeeeee"
            },
            lane_top + 17,
            xml(&lane_title(l))
        );
        let _ = writeln!(
            s,
            r##"<line x1="{lx}" y1="{}" x2="{lx}" y2="{bottom}" stroke="#999" stroke-dasharray="4 3"/>"##,
            lane_top + 24
        );
    }
    s.push_str(&body);
    // The partner messages' arrows last, over the notes they pass while in flight.
    s.push_str(&lines);
    s.push_str("</svg>\n");
    s
}

/// The chart as a self-contained HTML page (the SVG inline, with the trace's title).
pub fn html(t: &Trace) -> String {
    html_with(t, None)
}

/// The chart as a self-contained HTML page, with a violation marked after the last step.
pub fn html_with(t: &Trace, violation: Option<&Violation>) -> String {
    format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{}</title></head>\n<body>\n<h1>{}</h1>\n<p>{}</p>\n{}</body></html>\n",
        xml(&t.id),
        xml(&t.id),
        xml(&t.title),
        svg_with(t, violation)
    )
}
