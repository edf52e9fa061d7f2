//! Message-sequence charts of traces: snapshots of the Mermaid text and the SVG of a small
//! committed trace, and the rows that carry the meaning (who sent what, what changed).

use failover_model::chart::{self, Lane, Row};
use failover_model::trace::Trace;
use failover_proto::Role;

fn small_trace() -> Trace {
    // A prefix granted in NORMAL and left to expire: request, BNDUPD, tick, expiry.
    let text = include_str!("../../traces/coverage/s7.2-normal-binding-active-expired.json");
    serde_json::from_str(text).expect("a committed trace")
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
    let pos = |want: &dyn Fn(&Row) -> bool| rows.iter().position(want).expect("a row");
    let request = pos(&|r| {
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
        &|r| matches!(r, Row::Arrow { from: Lane::Server(Role::Primary), to: Lane::Client(0), reply: true, label } if label.starts_with("P0 until")),
    );
    let bndupd = pos(
        &|r| matches!(r, Row::Arrow { from: Lane::Server(Role::Primary), to: Lane::Server(Role::Secondary), label, .. } if label == "BNDUPD P0 ACTIVE"),
    );
    let expired = pos(
        &|r| matches!(r, Row::Note { lane: Lane::Server(Role::Primary), text, .. } if text.ends_with("→ EXPIRED c0")),
    );
    assert!(
        request < grant && grant < bndupd && bndupd < expired,
        "{rows:#?}"
    );
    assert_eq!(rows[0], Row::Time(1));
    assert!(rows.contains(&Row::Time(2)));
}

#[test]
fn text_is_escaped_in_svg() {
    let mut t = small_trace();
    t.id = "a<b&c".into();
    let svg = chart::svg(&t);
    assert!(svg.contains("a&lt;b&amp;c"));
    assert!(!svg.contains("a<b&c"));
}
