//! Failover against the semi-redundant deployments of RFC 6853, on the same properties: the
//! verdicts are pinned (each property fails on some design, so none of them is vacuous), and
//! README shows exactly the table `failover compare` prints.

use failover_model::rfc6853::{self, Config, Design, Verdict};

#[test]
fn disjoint_pools_are_safe_but_renumber_clients_when_a_server_fails() {
    for d in [Design::SplitPrefixes, Design::UniquePrefixes] {
        let r = rfc6853::design_row(Config::comparison(d));
        assert_eq!(r.no_duplicate, Verdict::Holds, "{d:?}");
        // Grant, crash, rebind refused: the client must take a new address.
        assert_eq!(r.lease_stability, Verdict::Violated(3), "{d:?}");
        assert_eq!(r.rebind_elsewhere, Verdict::Never, "{d:?}");
    }
}

#[test]
fn identical_prefixes_with_one_allocator_keep_addresses_and_never_duplicate() {
    let r = rfc6853::design_row(Config::comparison(Design::IdenticalSameAllocator));
    assert_eq!(r.no_duplicate, Verdict::Holds);
    assert_eq!(r.lease_stability, Verdict::Holds);
    assert_eq!(r.rebind_elsewhere, Verdict::Reached(3));
}

#[test]
fn identical_prefixes_with_different_allocators_assign_an_address_twice() {
    // RFC 6853 §7: "there is a distinct chance that each server will assign the same address
    // to two different clients".
    let r = rfc6853::design_row(Config::comparison(Design::IdenticalDifferentAllocators));
    assert_eq!(r.no_duplicate, Verdict::Violated(4));
    assert!(matches!(r.lease_stability, Verdict::Violated(_)));
}

#[test]
fn failover_keeps_every_property_in_the_comparison_configuration() {
    let r = rfc6853::failover_row();
    assert_eq!(r.no_duplicate, Verdict::Holds);
    assert_eq!(r.lease_stability, Verdict::Holds);
    assert_eq!(r.rebind_elsewhere, Verdict::Reached(3));
}

#[test]
fn readme_shows_the_table_that_failover_compare_prints() {
    let table = rfc6853::render(&rfc6853::comparison());
    let readme = include_str!("../../README.md");
    assert!(
        readme.contains(&table),
        "README.md must contain the table `failover compare` prints now:\n{table}"
    );
}
