//! Message-sequence charts of traces: snapshots of the Mermaid text and the SVG of a small
//! committed trace and of the `state-before-updates` counterexample, and the rows that carry
//! the meaning (who sent what, when it arrived or why it did not, what changed, what is
//! violated, where a variant diverges).

use failover_model::chart::{self, Lane, MarkKind, Row, Undelivered, Violation};
use failover_model::trace;
use failover_model::{properties, Action, FailoverModel, LeaseKind, ModelConfig, Variant};
use failover_proto::Role;
use failover_trace::Trace;

fn small_trace() -> Trace {
    // A prefix granted in NORMAL and left to expire: request, BNDUPD, tick, expiry.
    let text = include_str!("../../traces/coverage/s7.2-normal-binding-active-expired.json");
    serde_json::from_str(text).expect("a committed trace")
}

fn negative_trace() -> Trace {
    let text = include_str!("../../traces/negative/s8.8-variant-state-before-updates.json");
    serde_json::from_str(text).expect("a committed trace")
}

/// The counterexample `failover check --variant state-before-updates` finds (the path of
/// model/tests/variants.rs's snapshot), replayed under the variant, and its violation as
/// `check --explain` marks it.
fn state_before_updates() -> (Trace, Violation) {
    use Action::*;
    use Role::{Primary as P, Secondary as S};
    let actions = [
        Crash(P),
        PartnerDownCommand(S),
        Tick,
        Partition,
        Restart(P),
        Heal,
        Deliver(S),
        Deliver(P),
        Deliver(S),
        Deliver(S),
        Request(0, S, LeaseKind::Prefix),
        Deliver(P),
        Timer(P),
        Deliver(S),
        Deliver(S), // the secondary enters NORMAL: STATE NORMAL, then BNDUPD P0 (c0)
        Deliver(P), // the primary reads STATE NORMAL and enters NORMAL
        Request(1, P, LeaseKind::Prefix), // and grants P0 to c1: the BNDUPD is still in flight
    ];
    let model = FailoverModel::new(Variant::StateBeforeUpdates.config());
    let t = trace::of_path(
        &model,
        &actions,
        "counterexample-state-before-updates".into(),
        "counterexample: no address or prefix is held by two clients".into(),
    );
    assert_eq!(t.steps.len(), actions.len(), "the path replays");
    // The path is a counterexample: the last state violates the property.
    let mut st = model.initial_state();
    for &a in &actions {
        st = model.step(&st, a).expect("enabled");
    }
    assert_eq!(
        properties::holds(&model, properties::NO_DUPLICATE, &st),
        Some(false)
    );
    let v = Violation {
        property: properties::NO_DUPLICATE.into(),
        detail: properties::violation_detail(&model, properties::NO_DUPLICATE, &st),
    };
    (t, v)
}

/// The index of the first row that matches.
fn pos(rows: &[Row], want: impl Fn(&Row) -> bool) -> usize {
    rows.iter()
        .position(want)
        .unwrap_or_else(|| panic!("no such row in {rows:#?}"))
}

#[test]
fn the_mermaid_chart_of_a_small_trace() {
    insta::assert_snapshot!(chart::mermaid(&small_trace()));
}

#[test]
fn the_svg_chart_of_a_small_trace() {
    let svg = chart::svg(&small_trace());
    assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert!(svg.trim_end().ends_with("</svg>"));
    insta::assert_snapshot!(svg);
}

#[test]
fn the_rows_show_the_grant_the_update_and_the_expiry_in_order() {
    let rows = chart::rows(&small_trace());
    let request = pos(&rows, |r| {
        matches!(
            r,
            Row::Arrow {
                from: Lane::Client(0),
                to: Lane::Server(Role::Primary),
                ..
            }
        )
    });
    let grant = pos(
        &rows,
        |r| matches!(r, Row::Arrow { from: Lane::Server(Role::Primary), to: Lane::Client(0), reply: true, label } if label.starts_with("P0 until")),
    );
    let bndupd = pos(
        &rows,
        |r| matches!(r, Row::Send { msg: 1, from: Role::Primary, label } if label == "BNDUPD P0 ACTIVE"),
    );
    let expired = pos(
        &rows,
        |r| matches!(r, Row::Note { lane: Lane::Server(Role::Primary), text, .. } if text.ends_with("→ EXPIRED c0")),
    );
    assert!(
        request < grant && grant < bndupd && bndupd < expired,
        "{rows:#?}"
    );
    assert_eq!(rows[0], Row::Time(1));
    assert!(rows.contains(&Row::Time(2)));
    // Nobody delivers the BNDUPD in this trace: it ends in flight, not drawn as arrived.
    assert!(!rows.iter().any(|r| matches!(r, Row::Deliver { .. })));
    assert_eq!(
        rows.last(),
        Some(&Row::Undelivered {
            msg: 1,
            from: Role::Primary,
            label: "BNDUPD P0 ACTIVE".into(),
            why: Undelivered::InFlight
        })
    );
}

#[test]
fn the_state_before_updates_chart_shows_the_bndupd_in_flight_past_the_grant() {
    // The race of reading R15: the secondary's BNDUPD P0 (c0) leaves after its STATE NORMAL,
    // the primary enters NORMAL on that STATE and grants P0 to c1 while the BNDUPD is still on
    // the wire. The chart must show it arriving (or not) after the grant, never before.
    let (t, v) = state_before_updates();
    let rows = chart::rows_with(&t, Some(&v));
    let (msg, sent) = rows
        .iter()
        .enumerate()
        .find_map(|(k, r)| match r {
            Row::Send {
                msg,
                from: Role::Secondary,
                label,
            } if label.starts_with("BNDUPD P0 ACTIVE") => Some((*msg, k)),
            _ => None,
        })
        .expect("the secondary sends BNDUPD P0");
    let state_normal = pos(
        &rows,
        |r| matches!(r, Row::Send { from: Role::Secondary, label, .. } if label == "STATE NORMAL"),
    );
    let primary_normal = pos(
        &rows,
        |r| matches!(r, Row::Note { lane: Lane::Server(Role::Primary), text, .. } if text == "RECOVER-DONE → NORMAL"),
    );
    let grant = pos(
        &rows,
        |r| matches!(r, Row::Arrow { from: Lane::Server(Role::Primary), to: Lane::Client(1), reply: true, label } if label.starts_with("P0 until")),
    );
    let end = pos(&rows, |r| match r {
        Row::Deliver { msg: m, .. } | Row::Undelivered { msg: m, .. } => *m == msg,
        _ => false,
    });
    assert!(
        state_normal < sent && sent < primary_normal && primary_normal < grant && grant < end,
        "{rows:#?}"
    );
    assert!(
        matches!(
            &rows[end],
            Row::Undelivered {
                why: Undelivered::InFlight,
                ..
            }
        ),
        "{:?}",
        rows[end]
    );
    // The violation is marked after the last step, saying what is wrong.
    let mark = pos(&rows, |r| {
        matches!(
            r,
            Row::Mark {
                kind: MarkKind::Violation,
                ..
            }
        )
    });
    assert!(grant < mark);
    assert_eq!(
        rows[mark],
        Row::Mark {
            kind: MarkKind::Violation,
            text: "VIOLATED after step 17: c0 and c1 both hold P0 (no address or prefix is held by two clients)".into()
        }
    );
    // The three outputs say the same.
    let mermaid = chart::mermaid_with(&t, Some(&v));
    assert!(mermaid.contains(&format!("Note over S: sends m{msg} BNDUPD P0 ACTIVE")));
    assert!(mermaid.contains(&format!(
        "Note over P,S: m{msg} BNDUPD P0 ACTIVE still in flight at the end"
    )));
    assert!(mermaid.contains("VIOLATED after step 17: c0 and c1 both hold P0"));
    let svg = chart::svg_with(&t, Some(&v));
    assert!(svg.contains(&format!("m{msg} still in flight at the end")));
    assert!(svg.contains("VIOLATED after step 17: c0 and c1 both hold P0"));
    assert!(chart::html_with(&t, Some(&v)).contains(&svg));
    insta::assert_snapshot!("state_before_updates_mermaid", mermaid);
    insta::assert_snapshot!("state_before_updates_svg", svg);
}

#[test]
fn a_delivered_message_arrives_where_it_is_delivered_and_a_partition_loses_the_rest() {
    // c0 gets a prefix from the primary (BNDUPD 1), c1 another (BNDUPD 2); the secondary takes the first,
    // answers it (BNDREPLY 3), and the partition loses the second and the answer.
    let model = FailoverModel::new(ModelConfig {
        addresses: 0,
        prefixes: 4, // two for each server
        ..ModelConfig::default()
    });
    let actions = [
        Action::Request(0, Role::Primary, LeaseKind::Prefix),
        Action::Request(1, Role::Primary, LeaseKind::Prefix),
        Action::Deliver(Role::Secondary),
        Action::Partition,
    ];
    let t = trace::of_path(&model, &actions, "lost".into(), "lost".into());
    assert_eq!(t.steps.len(), 4, "the path replays");
    let rows = chart::rows(&t);
    let sends: Vec<(usize, Role, &str)> = rows
        .iter()
        .filter_map(|r| match r {
            Row::Send { msg, from, label } => Some((*msg, *from, label.as_str())),
            _ => None,
        })
        .collect();
    assert_eq!(sends.len(), 3, "{rows:#?}");
    assert!(sends[0].2.starts_with("BNDUPD") && sends[1].2.starts_with("BNDUPD"));
    assert_eq!(
        (sends[2].1, &sends[2].2[..8]),
        (Role::Secondary, "BNDREPLY")
    );
    let delivered = pos(&rows, |r| {
        matches!(
            r,
            Row::Deliver {
                msg: 1,
                to: Role::Secondary,
                ..
            }
        )
    });
    assert!(pos(&rows, |r| matches!(r, Row::Step(3))) < delivered);
    assert!(delivered < pos(&rows, |r| matches!(r, Row::Send { msg: 3, .. })));
    let link_down = pos(
        &rows,
        |r| matches!(r, Row::Note { text, .. } if text == "link down (partition)"),
    );
    for m in [2, 3] {
        let lost = pos(
            &rows,
            |r| matches!(r, Row::Undelivered { msg, .. } if *msg == m),
        );
        assert!(link_down < lost);
        assert!(
            matches!(&rows[lost], Row::Undelivered { why: Undelivered::Lost(w), .. } if w == "lost: link down"),
            "{:?}",
            rows[lost]
        );
    }
    let mermaid = chart::mermaid(&t);
    assert!(mermaid.contains("P->>S: m1 BNDUPD"), "{mermaid}");
    assert!(mermaid.contains("S-xP: m3 BNDREPLY"), "{mermaid}");
    assert!(mermaid.contains("(lost: link down)"), "{mermaid}");
}

#[test]
fn a_negative_trace_marks_where_the_variant_diverges() {
    let t = negative_trace();
    let at = t
        .variant
        .as_ref()
        .and_then(|v| v.diverges_at)
        .expect("diverges_at");
    let rows = chart::rows(&t);
    let mark = pos(&rows, |r| {
        matches!(
            r,
            Row::Mark {
                kind: MarkKind::Divergence,
                ..
            }
        )
    });
    assert!(pos(&rows, |r| *r == Row::Step(at)) < mark);
    assert!(mark < pos(&rows, |r| *r == Row::Step(at + 1)));
    let Row::Mark { text, .. } = &rows[mark] else {
        unreachable!()
    };
    assert_eq!(
        text,
        &format!("after step {at} an implementation with variant state-before-updates diverges from these expectations")
    );
    assert!(chart::mermaid(&t).contains(text.as_str()));
    assert!(chart::svg(&t).contains(text.as_str()));
}

/// The width of the SVG and the left-anchored texts that would run past it (12 px monospace
/// is at most 7.3 px a character; 14 px bold, 8.5).
fn texts_past_the_edge(svg: &str) -> Vec<String> {
    let attr = |tag: &str, name: &str| -> Option<f64> {
        let i = tag.find(&format!(" {name}=\""))? + name.len() + 3;
        tag[i..].split('"').next()?.parse().ok()
    };
    let width = attr(svg, "width").expect("a width");
    let mut past = Vec::new();
    for piece in svg.split("<text").skip(1) {
        let (tag, rest) = piece.split_once('>').unwrap();
        let content = rest.split("</text>").next().unwrap();
        if tag.contains("text-anchor") {
            continue; // middle- and end-anchored texts are checked by construction
        }
        let per_char = if tag.contains("font-size=\"14\"") {
            8.5
        } else {
            7.3
        };
        let x = attr(tag, "x").unwrap();
        if x + content.chars().count() as f64 * per_char > width {
            past.push(content.to_string());
        }
    }
    past
}

#[test]
fn no_title_or_subtitle_is_cut_off() {
    // The negative trace's subtitle is longer than three lanes are wide: it wraps.
    let t = negative_trace();
    assert!(t.title.chars().count() * 7 > 3 * 230);
    let svg = chart::svg(&t);
    assert_eq!(texts_past_the_edge(&svg), Vec::<String>::new());
    assert!(svg.contains("the counterexample of variant state-before-updates"));
    assert!(
        svg.contains("with the RFC&apos;s expectations")
            || svg.contains("with the RFC's expectations")
    );
    // And a long mark wraps too.
    let (t, mut v) = state_before_updates();
    v.detail = "a detail ".repeat(40);
    assert_eq!(
        texts_past_the_edge(&chart::svg_with(&t, Some(&v))),
        Vec::<String>::new()
    );
}

#[test]
fn text_is_escaped_in_svg() {
    let mut t = small_trace();
    t.id = "a<b&c".into();
    let svg = chart::svg(&t);
    assert!(svg.contains("a&lt;b&amp;c"));
    assert!(!svg.contains("a<b&c"));
}
