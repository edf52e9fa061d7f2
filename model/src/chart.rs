//! Message-sequence charts of traces (and so of counterexamples): one lane per server and per
//! client, partner messages and client exchanges as arrows, and on the lanes the endpoint state
//! changes (§8), lease changes (§7.2), link failures, crashes and operator commands, with the
//! clock marked where it advances. Rendered as Mermaid text (`sequenceDiagram`) or as a
//! standalone SVG; both come from one list of [`Row`]s, so they always show the same thing.

use std::fmt::Write as _;

use failover_proto::Role;

use crate::config::Tick;
use crate::trace::{ClientObs, Event, Kind, LeaseObs, Observation, SentMsg, Trace};

/// A lane of the chart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lane {
    /// A failover endpoint.
    Server(Role),
    /// A DHCP client.
    Client(u8),
}

/// One row of the chart, top to bottom.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Row {
    /// The clock advanced to this tick.
    Time(Tick),
    /// A message. `reply` draws it dashed (an answer to a client).
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
    /// Something that happened on one lane, or across the two servers (`across`).
    Note {
        /// Where.
        lane: Lane,
        /// Spans both server lanes (link events).
        across: bool,
        /// What.
        text: String,
    },
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

/// The rows of a trace's chart.
pub fn rows(t: &Trace) -> Vec<Row> {
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
    for step in &t.steps {
        if step.time != time {
            time = step.time;
            out.push(Row::Time(time));
        }
        let now = &step.expect;
        // The event, what it changed, then what the servers sent because of it.
        event_rows(&step.event, prev, now, &mut out);
        change_rows(&step.event, prev, now, &mut out);
        for m in &now.sent {
            out.push(Row::Arrow {
                from: Lane::Server(m.from),
                to: Lane::Server(partner(m.from)),
                label: message_text(m),
                reply: false,
            });
        }
        prev = now;
    }
    out
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
            let k = match kind {
                Kind::Address => "address",
                Kind::Prefix => "prefix",
            };
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

/// The chart as Mermaid text (`sequenceDiagram`).
pub fn mermaid(t: &Trace) -> String {
    let mut s = String::from("sequenceDiagram\n");
    let _ = writeln!(s, "    title {}", t.id);
    for l in lanes(t) {
        let _ = writeln!(s, "    participant {} as {}", lane_id(l), lane_title(l));
    }
    // Mermaid reads `;` and `#` specially in messages.
    let clean = |x: &str| x.replace([';', '#'], " ");
    let last = lanes(t).last().map_or("S".to_string(), |&l| lane_id(l));
    for r in rows(t) {
        match r {
            Row::Time(k) => {
                let _ = writeln!(s, "    Note over P,{last}: t{k}");
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
            Row::Note { lane, across, text } => {
                let over = if across {
                    "P,S".to_string()
                } else {
                    lane_id(lane)
                };
                let _ = writeln!(s, "    Note over {over}: {}", clean(&text));
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

const LANE_W: usize = 230;
const ROW_H: usize = 26;
const TOP: usize = 86;
const LEFT: usize = 60;
/// Width of one character of the 12 px monospace font, rounded up.
const CHAR_W: usize = 8;

/// The chart as a standalone SVG document.
pub fn svg(t: &Trace) -> String {
    let lanes = lanes(t);
    let rows = rows(t);
    let x = |l: Lane| -> usize {
        LEFT + LANE_W / 2 + LANE_W * lanes.iter().position(|&m| m == l).expect("a lane")
    };
    let width = LEFT + LANE_W * lanes.len() + 20;
    let height = TOP + ROW_H * (rows.len() + 1) + 20;
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
    let _ = writeln!(
        s,
        r#"<text x="{LEFT}" y="20" font-size="14" font-weight="bold">{}</text><text x="{LEFT}" y="38">{}</text>"#,
        xml(&t.id),
        xml(&t.title)
    );
    let bottom = TOP + ROW_H * (rows.len() + 1);
    for &l in &lanes {
        let lx = x(l);
        let _ = writeln!(
            s,
            r#"<rect x="{}" y="48" width="{}" height="24" fill="{}" stroke="black"/><text x="{lx}" y="65" text-anchor="middle">{}</text>"#,
            lx - 80,
            160,
            if matches!(l, Lane::Server(_)) {
                "#dde8f8"
            } else {
                "#eeeeee"
            },
            xml(&lane_title(l))
        );
        let _ = writeln!(
            s,
            r##"<line x1="{lx}" y1="72" x2="{lx}" y2="{bottom}" stroke="#999" stroke-dasharray="4 3"/>"##
        );
    }
    for (k, r) in rows.iter().enumerate() {
        let y = TOP + ROW_H * (k + 1);
        match r {
            Row::Time(tick) => {
                let _ = writeln!(
                    s,
                    r##"<line x1="{LEFT}" y1="{y}" x2="{}" y2="{y}" stroke="#bbb"/><text x="10" y="{}" fill="#555">t{tick}</text>"##,
                    width - 20,
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
                let _ = writeln!(
                    s,
                    r#"<line x1="{x1}" y1="{y}" x2="{x2}" y2="{y}" stroke="black"{dash} marker-end="url(#arrow)"/><text x="{}" y="{}" text-anchor="middle">{}</text>"#,
                    (x1 + x2) / 2,
                    y - 4,
                    xml(label)
                );
            }
            Row::Note { lane, across, text } => {
                // As wide as the text, centred on the lane (or on both servers).
                let half = (text.chars().count() * CHAR_W + 16) / 2;
                let (x1, x2) = if *across {
                    let (p, q) = (
                        x(Lane::Server(Role::Primary)),
                        x(Lane::Server(Role::Secondary)),
                    );
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
                let _ = writeln!(
                    s,
                    r##"<rect x="{x1}" y="{}" width="{}" height="20" fill="#fff6c8" stroke="#c8b400"/><text x="{}" y="{}" text-anchor="middle">{}</text>"##,
                    y - 14,
                    x2 - x1,
                    (x1 + x2) / 2,
                    y,
                    xml(text)
                );
            }
        }
    }
    s.push_str("</svg>\n");
    s
}

/// The chart as a self-contained HTML page (the SVG inline, with the trace's title).
pub fn html(t: &Trace) -> String {
    format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{}</title></head>\n<body>\n<h1>{}</h1>\n<p>{}</p>\n{}</body></html>\n",
        xml(&t.id),
        xml(&t.id),
        xml(&t.title),
        svg(t)
    )
}
