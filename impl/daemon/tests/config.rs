//! The configuration file: the shipped examples, the exact text of each error
//! (`FILE:LINE: field `x.y`: message`), and that no input makes the parser panic.

use std::net::Ipv6Addr;
use std::path::{Path, PathBuf};

use failover_core::Role;
use failover_daemon::config::{parse, DaemonConfig};

fn example_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name)
}

fn example(name: &str) -> String {
    std::fs::read_to_string(example_path(name)).expect("the example exists")
}

fn load_example(name: &str) -> DaemonConfig {
    match failover_daemon::config::load(&example_path(name)) {
        Ok(c) => c,
        Err(e) => panic!("{name} is rejected: {e}"),
    }
}

/// A small valid primary configuration; the line numbers in the expected errors below refer to
/// it (line 1 is `role`).
const BASE: &str = r#"role = "primary"
mclt = 3600
valid_lifetime = 7200
storage = "leases.redb"
control_socket = "ctl.sock"
[partner]
local = "[fd00:fa11::1]:647"
remote = "[fd00:fa11::2]:647"
[dhcp]
interfaces = ["eth1"]
[[address_pools]]
range = "2001:db8:0:1::100-2001:db8:0:1::1ff"
[[prefix_pools]]
prefix = "2001:db8:100::/40"
delegated_length = 48
"#;

/// BASE with line `n` (1-based) replaced by `with` (which may hold several lines, or none).
fn edit(n: usize, with: &str) -> String {
    let mut lines: Vec<&str> = BASE.lines().collect();
    assert!(n >= 1 && n <= lines.len(), "BASE has no line {n}");
    if with.is_empty() {
        lines.remove(n - 1);
    } else {
        lines[n - 1] = with;
    }
    lines.join("\n") + "\n"
}

/// BASE with `text` inserted after line `n` (0: at the top).
fn insert(n: usize, text: &str) -> String {
    let mut lines: Vec<&str> = BASE.lines().collect();
    lines.insert(n, text);
    lines.join("\n") + "\n"
}

fn error(text: &str) -> String {
    match parse(text, Path::new("f.toml")) {
        Ok(c) => panic!("accepted: {c:?}\n--- text:\n{text}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn base_is_valid_so_each_error_case_tests_one_change() {
    let c = parse(BASE, Path::new("f.toml")).unwrap();
    assert_eq!(c.role, Role::Primary);
    assert_eq!(c.address_pools.len(), 1);
    assert_eq!(c.prefix_pools.len(), 1);
    assert_eq!(c.duid_file, PathBuf::from("leases.redb.duid"));
}

#[test]
fn both_examples_are_accepted() {
    let p = load_example("primary.toml");
    let s = load_example("secondary.toml");
    assert_eq!(p.role, Role::Primary);
    assert_eq!(s.role, Role::Secondary);
    assert!(!p.addresses().is_empty() && !p.prefixes().is_empty());
}

#[test]
fn examples_mirror_each_other() {
    let p = load_example("primary.toml");
    let s = load_example("secondary.toml");
    // RFC 8156 §4.1: the same pools on both servers.
    assert_eq!(p.address_pools, s.address_pools);
    assert_eq!(p.prefix_pools, s.prefix_pools);
    assert_eq!(p.addresses(), s.addresses());
    assert_eq!(p.prefixes(), s.prefixes());
    // The same relationship, MCLT and lifetimes.
    assert_eq!(p.relationship, s.relationship);
    assert_eq!(p.mclt, s.mclt);
    assert_eq!(p.valid_lifetime, s.valid_lifetime);
    assert_eq!(p.preferred_percent, s.preferred_percent);
    assert_eq!(p.partner.keepalive, s.partner.keepalive);
    // Each one's partner is the other.
    assert_eq!(p.partner.local, s.partner.remote);
    assert_eq!(p.partner.remote, s.partner.local);
    // The partner link and the pools are in the documentation address space.
    let ula: u128 = u128::from("fd00:fa11::".parse::<Ipv6Addr>().unwrap());
    for a in [p.partner.local, p.partner.remote] {
        let std::net::SocketAddr::V6(a) = a else {
            panic!("{a} is not IPv6")
        };
        assert_eq!(
            u128::from(*a.ip()) >> 64,
            ula >> 64,
            "{a} is outside fd00:fa11::/64"
        );
    }
    for a in p
        .addresses()
        .into_iter()
        .chain(p.prefixes().into_iter().map(|x| x.0))
    {
        assert_eq!(
            u128::from(a) >> 96,
            0x2001_0db8,
            "{a} is outside 2001:db8::/32"
        );
    }
}

/// Every key the file accepts, as written in the examples and the reference.
const KEYS: &[&str] = &[
    "role",
    "relationship",
    "mclt",
    "valid_lifetime",
    "preferred_percent",
    "secondary_prefix_percent",
    "storage",
    "duid_file",
    "control_socket",
    "startup_time",
    "update_retry",
    "recover_timeout",
    "lockstep",
    "local",
    "remote",
    "keepalive",
    "max_unacked_bndupd",
    "auto_partner_down",
    "reconnect_min",
    "reconnect_max",
    "handshake_timeout",
    "max_pending_connections",
    "cert",
    "key",
    "ca",
    "partner_cert",
    "partner_name",
    "interfaces",
    "bind",
    "port",
    "range",
    "prefix",
    "delegated_length",
];

#[test]
fn examples_show_every_key_and_the_reference_documents_it() {
    let doc = reference();
    for name in ["primary.toml", "secondary.toml"] {
        let text = example(name);
        for key in KEYS {
            let set = text.lines().any(|l| {
                let l = l.trim_start_matches(['#', ' ']);
                l.starts_with(&format!("{key} ="))
            });
            assert!(set, "{name} does not show `{key}`");
        }
    }
    for key in KEYS {
        assert!(
            doc.contains(&format!("`{key}`")),
            "docs/daemon-config.md does not document `{key}`"
        );
    }
}

fn reference() -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/daemon-config.md"),
    )
    .expect("docs/daemon-config.md exists")
}

/// The errors quoted in docs/daemon-config.md and in the examples' header are produced, word for
/// word, by the parser from the shipped examples.
#[test]
fn documented_error_examples_are_real() {
    let doc = reference();
    let cases = [
        (
            "primary.toml",
            "mclt = 3600",
            "mclt = 0",
            "primary.toml:28: field `mclt`: expected 1 to 4294967295 seconds (RFC 8156 §4.4, \
             §5.5.6), got 0",
        ),
        (
            "secondary.toml",
            "mclt = 3600",
            "mclt = 0",
            "secondary.toml:29: field `mclt`: expected 1 to 4294967295 seconds (RFC 8156 §4.4, \
             §5.5.6), got 0",
        ),
        (
            "primary.toml",
            "keepalive = 60",
            "keep_alive = 60",
            "primary.toml:83: field `partner.keep_alive`: unknown field `keep_alive`, expected one \
             of `local`, `remote`, `keepalive`, `max_unacked_bndupd`, `auto_partner_down`, \
             `reconnect_min`, `reconnect_max`, `handshake_timeout`, `max_pending_connections`",
        ),
        (
            "primary.toml",
            "range = \"2001:db8:0:2::1000-2001:db8:0:2::1fff\"",
            "range = \"2001:db8:0:1::180-2001:db8:0:1::2ff\"",
            "primary.toml:130: field `address_pools[1].range`: overlaps address_pools[0] \
             (2001:db8:0:1::100-2001:db8:0:1::1ff); expected pools that share no address",
        ),
    ];
    for (name, from, to, want) in cases {
        let original = example(name);
        assert_eq!(
            original.matches(from).count(),
            1,
            "{name}: `{from}` is not unique"
        );
        let text = original.replace(from, to);
        assert_eq!(parse(&text, Path::new(name)).unwrap_err().to_string(), want);
        // Quoted in the example's own header (the mclt case) or in the reference.
        let quoted = original.contains(&format!("#     {want}")) || doc.contains(want);
        assert!(
            quoted,
            "neither {name}'s header nor the reference quotes: {want}"
        );
    }
}

#[test]
fn a_missing_file_is_named() {
    let e = failover_daemon::config::load(Path::new("/nonexistent/f.toml")).unwrap_err();
    assert_eq!(e.file, PathBuf::from("/nonexistent/f.toml"));
    assert!(
        e.to_string()
            .starts_with("/nonexistent/f.toml: cannot read: "),
        "{e}"
    );
}

// ---- toml's own errors: syntax, unknown field, wrong type, missing field -------------------

#[test]
fn syntax_error_names_line_and_key() {
    assert_eq!(
        error(&edit(2, "mclt = = 3600")),
        "f.toml:2: field `mclt`: invalid string; expected `\"`, `'`"
    );
    assert_eq!(
        error(&edit(8, "remote = \"[fd00:fa11::2]:647")),
        "f.toml:8: field `partner.remote`: invalid basic string"
    );
}

/// toml gives no message for a control character in a comment; the parser names it. A comment
/// belongs to no field, so none is named.
#[test]
fn control_character_in_a_comment_is_named() {
    assert_eq!(
        error(&insert(2, "# MCLT\u{5}")),
        "f.toml:3: control character `\\u{5}` is not allowed here (TOML allows only tab)"
    );
}

#[test]
fn duplicate_key_names_line_and_key() {
    assert_eq!(
        error(&insert(2, "mclt = 60")),
        "f.toml:3: field `mclt`: duplicate key `mclt` in document root"
    );
}

#[test]
fn unknown_field_names_its_table() {
    assert_eq!(
        error(&insert(10, "intefaces = [\"eth2\"]")),
        "f.toml:11: field `dhcp.intefaces`: unknown field `intefaces`, expected one of \
         `interfaces`, `bind`, `port`"
    );
    assert_eq!(
        error(&insert(13, "length = 48")),
        "f.toml:14: field `prefix_pools[0].length`: unknown field `length`, expected `prefix` or \
         `delegated_length`"
    );
}

#[test]
fn wrong_type_names_the_field() {
    assert_eq!(
        error(&edit(2, "mclt = \"1h\"")),
        "f.toml:2: field `mclt`: invalid type: string \"1h\", expected an integer"
    );
    assert_eq!(
        error(&edit(10, "interfaces = \"eth1\"")),
        "f.toml:10: field `dhcp.interfaces`: invalid type: string \"eth1\", expected a sequence"
    );
    assert_eq!(
        error(&edit(1, "role = \"backup\"")),
        "f.toml:1: field `role`: unknown variant `backup`, expected `primary` or `secondary`"
    );
}

#[test]
fn missing_field_is_named_with_its_table() {
    assert_eq!(
        error(&edit(2, "")),
        "f.toml:1: field `mclt`: required field is missing"
    );
    assert_eq!(
        error(&edit(8, "")),
        "f.toml:6: field `partner.remote`: required field is missing"
    );
    assert_eq!(
        error(&edit(15, "")),
        "f.toml:13: field `prefix_pools[0].delegated_length`: required field is missing"
    );
}

// ---- values -------------------------------------------------------------------------------

#[test]
fn timers_are_range_checked_with_the_accepted_range() {
    assert_eq!(
        error(&edit(2, "mclt = 0")),
        "f.toml:2: field `mclt`: expected 1 to 4294967295 seconds (RFC 8156 §4.4, §5.5.6), got 0"
    );
    assert_eq!(
        error(&edit(2, "mclt = 4294967296")),
        "f.toml:2: field `mclt`: expected 1 to 4294967295 seconds (RFC 8156 §4.4, §5.5.6), got 4294967296"
    );
    assert_eq!(
        error(&edit(3, "valid_lifetime = 29")),
        "f.toml:3: field `valid_lifetime`: expected 30 to 4294967294 seconds (RFC 8156 §1: at \
         least 30; RFC 8415 §7.7: 4294967295 means infinity), got 29"
    );
    assert_eq!(
        error(&insert(8, "keepalive = 3")),
        "f.toml:9: field `partner.keepalive`: expected 4 to 4294967295 seconds (RFC 8156 §6.5: \
         FO_KEEPALIVE_TIME, at least FO_CONTACT_PER_KEEPALIVE_TIME), got 3"
    );
    assert_eq!(
        error(&insert(8, "auto_partner_down = 0")),
        "f.toml:9: field `partner.auto_partner_down`: expected 1 to 4294967295 seconds (RFC 8156 \
         §8.9; leave the key out to disable), got 0"
    );
    assert_eq!(
        error(&insert(8, "max_unacked_bndupd = -1")),
        "f.toml:9: field `partner.max_unacked_bndupd`: expected 1 to 4294967295 messages (RFC \
         8156 §5.5.5), got -1"
    );
    assert_eq!(
        error(&insert(5, "startup_time = 0")),
        "f.toml:6: field `startup_time`: expected 1 to 4294967295 seconds, got 0"
    );
    assert_eq!(
        error(&insert(5, "update_retry = 0")),
        "f.toml:6: field `update_retry`: expected 1 to 4294967295 seconds, got 0"
    );
    assert_eq!(
        error(&insert(5, "recover_timeout = 0")),
        "f.toml:6: field `recover_timeout`: expected 1 to 4294967295 seconds, got 0"
    );
}

#[test]
fn percentages_are_range_checked() {
    assert_eq!(
        error(&insert(3, "preferred_percent = 0")),
        "f.toml:4: field `preferred_percent`: expected 1 to 100 (percent of the valid lifetime), got 0"
    );
    assert_eq!(
        error(&insert(3, "preferred_percent = 101")),
        "f.toml:4: field `preferred_percent`: expected 1 to 100 (percent of the valid lifetime), got 101"
    );
    assert_eq!(
        error(&insert(3, "secondary_prefix_percent = 300")),
        "f.toml:4: field `secondary_prefix_percent`: expected 0 to 100 (percent of the free \
         prefixes, RFC 8156 §4.2.2), got 300"
    );
}

#[test]
fn reconnect_delays_must_be_ordered_and_positive() {
    assert_eq!(
        error(&insert(8, "reconnect_min = 0")),
        "f.toml:9: field `partner.reconnect_min`: expected 1 to 4294967295 seconds, got 0"
    );
    assert_eq!(
        error(&insert(8, "reconnect_min = 10\nreconnect_max = 5")),
        "f.toml:10: field `partner.reconnect_max`: reconnect_min 10 s is above reconnect_max 5 s; \
         expected min <= max"
    );
    // Only the minimum set, above the default maximum of 30 s.
    assert_eq!(
        error(&insert(8, "reconnect_min = 60")),
        "f.toml:9: field `partner.reconnect_min`: reconnect_min 60 s is above reconnect_max 30 s; \
         expected min <= max"
    );
}

#[test]
fn relationship_name_is_non_empty_bounded_text() {
    assert_eq!(
        error(&insert(1, "relationship = \"\"")),
        "f.toml:2: field `relationship`: must not be empty; leave `relationship` out for a single \
         relationship (RFC 8156 §5.5.14)"
    );
    let long = format!("relationship = \"{}\"", "n".repeat(65_486));
    assert_eq!(
        error(&insert(1, &long)),
        "f.toml:2: field `relationship`: 65486 octets; at most 65485 fit in a CONNECT (RFC 8156 \
         §5.5.14, §5.1)"
    );
    let longest = format!("relationship = \"{}\"", "n".repeat(65_485));
    assert_eq!(
        parse(&insert(1, &longest), Path::new("f.toml"))
            .unwrap()
            .relationship
            .unwrap()
            .len(),
        65_485
    );
    assert_eq!(
        error(&insert(1, "relationship = \"a\\u0000\"")),
        "f.toml:2: field `relationship`: contains a control character; expected text for display \
         (RFC 8156 §5.5.14)"
    );
}

#[test]
fn partner_addresses_are_checked() {
    assert_eq!(
        error(&edit(8, "remote = \"fd00:fa11::2\"")),
        "f.toml:8: field `partner.remote`: `fd00:fa11::2` is not an address and port; write \
         [IPv6]:PORT, e.g. [fd00:fa11::2]:647"
    );
    assert_eq!(
        error(&edit(8, "remote = \"[::]:647\"")),
        "f.toml:8: field `partner.remote`: is the unspecified address; expected the partner's address"
    );
    assert_eq!(
        error(&edit(8, "remote = \"[fd00:fa11::2]:0\"")),
        "f.toml:8: field `partner.remote`: port 0; expected the partner's port, usually 647"
    );
    assert_eq!(
        error(&edit(8, "remote = \"[fd00:fa11::1]:647\"")),
        "f.toml:8: field `partner.remote`: is the same as `partner.local`; expected the partner's address"
    );
    assert_eq!(
        error(&edit(8, "remote = \"[ff02::2]:647\"")),
        "f.toml:8: field `partner.remote`: is a multicast address; expected the partner's unicast address"
    );
    assert_eq!(
        error(&edit(8, "remote = \"192.0.2.2:647\"")),
        "f.toml:8: field `partner.remote`: is not of the same address family as `partner.local`; \
         expected both IPv6 or both IPv4"
    );
    // The secondary listens on partner.local: port 0 would be a random port.
    let secondary =
        edit(1, "role = \"secondary\"").replace("[fd00:fa11::1]:647", "[fd00:fa11::1]:0");
    assert_eq!(
        error(&secondary),
        "f.toml:7: field `partner.local`: port 0; the secondary listens here, expected a fixed \
         port, usually 647"
    );
    // The primary may connect from any port.
    let primary = BASE.replace("[fd00:fa11::1]:647", "[fd00:fa11::1]:0");
    assert_eq!(
        parse(&primary, Path::new("f.toml"))
            .unwrap()
            .partner
            .local
            .port(),
        0
    );
}

#[test]
fn dhcp_side_is_checked() {
    assert_eq!(
        error(&edit(10, "interfaces = [\"eth1\", \"\"]")),
        "f.toml:10: field `dhcp.interfaces[1]`: empty interface name; expected e.g. \"eth0\""
    );
    assert_eq!(
        error(&edit(10, "interfaces = [\"eth1\", \"eth1\"]")),
        "f.toml:10: field `dhcp.interfaces[1]`: `eth1` is already listed as dhcp.interfaces[0]"
    );
    assert_eq!(
        error(&edit(10, "interfaces = [\"a-very-long-name0\"]")),
        "f.toml:10: field `dhcp.interfaces[0]`: `a-very-long-name0` is 17 octets; interface names \
         have at most 15"
    );
    assert_eq!(
        error(&edit(10, "interfaces = [\"eth 1\"]")),
        "f.toml:10: field `dhcp.interfaces[0]`: `eth 1` is not an interface name (no '/', spaces \
         or control characters)"
    );
    assert_eq!(
        error(&insert(10, "port = 0")),
        "f.toml:11: field `dhcp.port`: expected 1 to 65535 (UDP port; 547 per RFC 8415 §7.2), got 0"
    );
    assert_eq!(
        error(&insert(10, "bind = \"ff02::1:2\"")),
        "f.toml:11: field `dhcp.bind`: is a multicast address; expected \"::\" or one of this \
         server's addresses"
    );
    assert_eq!(
        error(&insert(10, "bind = \"0.0.0.0\"")),
        "f.toml:11: field `dhcp.bind`: `0.0.0.0` is not an IPv6 address; write e.g. \"::\""
    );
}

#[test]
fn paths_are_checked() {
    assert_eq!(
        error(&edit(4, "storage = \"\"")),
        "f.toml:4: field `storage`: must not be empty; expected a file path"
    );
    assert_eq!(
        error(&insert(4, "duid_file = \"leases.redb\"")),
        "f.toml:5: field `duid_file`: is the same file as `storage`; expected another path"
    );
    assert_eq!(
        error(&edit(5, "control_socket = \"leases.redb.duid\"")),
        "f.toml:5: field `control_socket`: is the same file as `duid_file`; expected another path"
    );
    let long = format!("control_socket = \"/{}\"", "s".repeat(107));
    assert_eq!(
        error(&edit(5, &long)),
        "f.toml:5: field `control_socket`: 108 octets; a Unix socket path holds at most 107"
    );
}

// ---- pools --------------------------------------------------------------------------------

#[test]
fn no_pools_at_all_is_rejected() {
    let text = edit(11, "").replace("range = \"2001:db8:0:1::100-2001:db8:0:1::1ff\"\n", "");
    let text = text.replace(
        "[[prefix_pools]]\nprefix = \"2001:db8:100::/40\"\ndelegated_length = 48\n",
        "",
    );
    assert_eq!(
        error(&text),
        "f.toml:1: field `address_pools`: no pools: expected at least one [[address_pools]] or \
         [[prefix_pools]] entry"
    );
}

#[test]
fn address_range_text_is_checked() {
    assert_eq!(
        error(&edit(12, "range = \"2001:db8::1\"")),
        "f.toml:12: field `address_pools[0].range`: `2001:db8::1` is not FIRST-LAST; write e.g. \
         \"2001:db8:0:1::100-2001:db8:0:1::1ff\""
    );
    assert_eq!(
        error(&edit(12, "range = \"2001:db8::1-2001:db8::zz\"")),
        "f.toml:12: field `address_pools[0].range`: `2001:db8::zz` is not an IPv6 address; write \
         e.g. \"2001:db8:0:1::100-2001:db8:0:1::1ff\""
    );
    assert_eq!(
        error(&edit(12, "range = \"2001:db8::9-2001:db8::1\"")),
        "f.toml:12: field `address_pools[0].range`: the last address 2001:db8::1 is below the \
         first 2001:db8::9"
    );
    assert_eq!(
        error(&edit(12, "range = \"2001:db8::-2001:db8::10:0\"")),
        "f.toml:12: field `address_pools[0].range`: 1048577 addresses; a pool holds at most 1048576"
    );
    assert_eq!(
        error(&edit(12, "range = \"fe80::1-fe80::ff\"")),
        "f.toml:12: field `address_pools[0].range`: includes link-local addresses (fe80::/10); \
         expected global or unique-local unicast addresses"
    );
    assert_eq!(
        error(&edit(12, "range = \"::-::ff\"")),
        "f.toml:12: field `address_pools[0].range`: includes the unspecified or loopback address \
         (::/127); expected global or unique-local unicast addresses"
    );
}

#[test]
fn overlapping_or_duplicate_pools_name_both_entries() {
    let dup = insert(
        12,
        "[[address_pools]]\nrange = \"2001:db8:0:1::100-2001:db8:0:1::1ff\"",
    );
    assert_eq!(
        error(&dup),
        "f.toml:14: field `address_pools[1].range`: duplicates address_pools[0] \
         (2001:db8:0:1::100-2001:db8:0:1::1ff); expected pools that share no address"
    );
    // Overlap found even when the later entry comes first in address order.
    let before = insert(
        12,
        "[[address_pools]]\nrange = \"2001:db8:0:1::1-2001:db8:0:1::100\"",
    );
    assert_eq!(
        error(&before),
        "f.toml:14: field `address_pools[1].range`: overlaps address_pools[0] \
         (2001:db8:0:1::100-2001:db8:0:1::1ff); expected pools that share no address"
    );
    // Adjacent ranges share nothing.
    let adjacent = insert(
        12,
        "[[address_pools]]\nrange = \"2001:db8:0:1::200-2001:db8:0:1::2ff\"",
    );
    assert_eq!(
        parse(&adjacent, Path::new("f.toml"))
            .unwrap()
            .address_pools
            .len(),
        2
    );
    let prefixes = insert(
        15,
        "[[prefix_pools]]\nprefix = \"2001:db8:180::/41\"\ndelegated_length = 48",
    );
    assert_eq!(
        error(&prefixes),
        "f.toml:17: field `prefix_pools[1].prefix`: overlaps prefix_pools[0] \
         (2001:db8:100::-2001:db8:1ff:ffff:ffff:ffff:ffff:ffff); expected pools that share no address"
    );
    // An address may not also be inside a delegated prefix.
    let mixed = edit(12, "range = \"2001:db8:100::1-2001:db8:100::ff\"");
    assert_eq!(
        error(&mixed),
        "f.toml:14: field `prefix_pools[0].prefix`: overlaps address_pools[0] \
         (2001:db8:100::1-2001:db8:100::ff); expected pools that share no address"
    );
}

#[test]
fn prefix_text_and_lengths_are_checked() {
    assert_eq!(
        error(&edit(14, "prefix = \"2001:db8:100::\"")),
        "f.toml:14: field `prefix_pools[0].prefix`: `2001:db8:100::` is not ADDRESS/LENGTH; write \
         e.g. \"2001:db8:100::/40\""
    );
    assert_eq!(
        error(&edit(14, "prefix = \"2001:db8:100::/129\"")),
        "f.toml:14: field `prefix_pools[0].prefix`: `129` is not a prefix length; expected 0 to 128"
    );
    assert_eq!(
        error(&edit(14, "prefix = \"2001:db8:100::1/40\"")),
        "f.toml:14: field `prefix_pools[0].prefix`: 2001:db8:100::1/40 has bits set after the \
         first 40; write 2001:db8:100::/40"
    );
    assert_eq!(
        error(&edit(15, "delegated_length = 32")),
        "f.toml:15: field `prefix_pools[0].delegated_length`: expected 40 to 128 (the prefix \
         length 40 to 128, RFC 8156 §4.2.2), got 32"
    );
    assert_eq!(
        error(&edit(15, "delegated_length = 129")),
        "f.toml:15: field `prefix_pools[0].delegated_length`: expected 40 to 128 (the prefix \
         length 40 to 128, RFC 8156 §4.2.2), got 129"
    );
    assert_eq!(
        error(&edit(15, "delegated_length = 61")),
        "f.toml:15: field `prefix_pools[0].delegated_length`: 2^21 delegated prefixes; a pool \
         holds at most 1048576 (delegated_length at most 60)"
    );
    assert_eq!(
        error(&insert(
            15,
            "[[prefix_pools]]\nprefix = \"ff00::/24\"\ndelegated_length = 32"
        )),
        "f.toml:17: field `prefix_pools[1].prefix`: includes multicast addresses (ff00::/8); \
         expected a global or unique-local prefix"
    );
}

#[test]
fn all_pools_together_are_bounded() {
    let mut text = BASE.to_string();
    for i in 0..4 {
        text.push_str(&format!(
            "[[prefix_pools]]\nprefix = \"2001:db8:8{i}00::/48\"\ndelegated_length = 68\n"
        ));
    }
    assert_eq!(
        error(&text),
        "f.toml:1: field `address_pools`: 4194816 leases in all pools together; expected at most 4194304"
    );
}

// ---- no input makes the parser panic -------------------------------------------------------

/// xorshift64*: a seeded generator, so a failure replays.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Values that probe the edges of each field's checks.
const VALUES: &[&str] = &[
    "0",
    "-1",
    "1",
    "4",
    "29",
    "30",
    "100",
    "101",
    "255",
    "256",
    "65535",
    "65536",
    "4294967295",
    "4294967296",
    "9223372036854775807",
    "1.5",
    "true",
    "\"\"",
    "\"x\"",
    "\"::\"",
    "\"[::]:0\"",
    "\"[::1]:647\"",
    "\"2001:db8::-2001:db8::ffff:ffff\"",
    "\"2001:db8::/0\"",
    "\"::/128\"",
    "\"2001:db8::1-\"",
    "\"-\"",
    "\"/\"",
    "[]",
    "[\"\"]",
    "{}",
    "\"primary\"",
    "\"secondary\"",
    "\"\\u0000\"",
    "\"ä\"",
];

fn check(text: &str) {
    match parse(text, Path::new("fuzz.toml")) {
        Ok(c) => {
            // Whatever is accepted can be expanded and handed to the core.
            let _ = (c.addresses().len(), c.prefixes().len(), c.core_config());
        }
        Err(e) => {
            assert_eq!(e.file, Path::new("fuzz.toml"));
            assert!(e.to_string().starts_with("fuzz.toml"), "{e}");
            assert!(
                !e.message.is_empty() && !e.message.contains('\n'),
                "{e:?} for {text:?}"
            );
        }
    }
}

#[test]
fn changing_any_value_never_panics_and_names_line_and_field() {
    let mut rng = Rng(0x5eed_0001);
    for name in ["primary.toml", "secondary.toml"] {
        let text = example(name);
        let lines: Vec<&str> = text.lines().collect();
        let keyed: Vec<usize> = (0..lines.len())
            .filter(|i| !lines[*i].starts_with('#') && lines[*i].contains(" = "))
            .collect();
        for _ in 0..600 {
            let i = keyed[rng.below(keyed.len())];
            let key = lines[i].split(" = ").next().unwrap();
            let value = VALUES[rng.below(VALUES.len())];
            let mut changed = lines.clone();
            let line = format!("{key} = {value}");
            changed[i] = &line;
            let changed = changed.join("\n");
            check(&changed);
            if let Err(e) = parse(&changed, Path::new("fuzz.toml")) {
                assert!(
                    e.line.is_some() && e.field.is_some(),
                    "{name}: `{line}` gives {e}"
                );
            }
        }
    }
}

#[test]
fn random_mutations_of_the_examples_never_panic() {
    let mut rng = Rng(0x5eed_0002);
    let palette = b"[]{}=\"'.,-:/#\n 0123456789abcdef_\\\t";
    for name in ["primary.toml", "secondary.toml"] {
        let original = example(name).into_bytes();
        for _ in 0..400 {
            let mut t = original.clone();
            for _ in 0..1 + rng.below(4) {
                let at = rng.below(t.len());
                match rng.below(4) {
                    0 => {
                        let n = rng.below(8).min(t.len() - at);
                        t.drain(at..at + n);
                    }
                    1 => t.insert(at, palette[rng.below(palette.len())]),
                    2 => t[at] = palette[rng.below(palette.len())],
                    _ => t[at] = rng.next() as u8,
                }
            }
            check(&String::from_utf8_lossy(&t));
        }
    }
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng(0x5eed_0003);
    for _ in 0..2000 {
        let n = rng.below(200);
        let bytes: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
        check(&String::from_utf8_lossy(&bytes));
    }
}

// ---- [tls] (RFC 8156 §10) ---------------------------------------------------------------------

mod tls {
    use super::*;
    use failover_daemon::config::TlsTrust;
    use failover_daemon::tls::PartnerTls;
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};

    /// PEM files in a temporary directory: a CA, a leaf it signed, a self-signed leaf, an
    /// expired self-signed leaf, a stray key, and a file that is not PEM.
    struct Files {
        dir: tempfile::TempDir,
    }

    fn leaf(expired: bool) -> CertificateParams {
        let mut p = CertificateParams::new(vec!["fd00:fa11::2".to_string()]).unwrap();
        p.extended_key_usages = vec![
            rcgen::ExtendedKeyUsagePurpose::ServerAuth,
            rcgen::ExtendedKeyUsagePurpose::ClientAuth,
        ];
        if expired {
            p.not_before = rcgen::date_time_ymd(2019, 1, 1);
            p.not_after = rcgen::date_time_ymd(2020, 1, 1);
        }
        p
    }

    impl Files {
        fn new() -> Files {
            let dir = tempfile::tempdir().unwrap();
            let w = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
            let ca_key = KeyPair::generate().unwrap();
            let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
            ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            w("ca.pem", &ca.self_signed(&ca_key).unwrap().pem());
            let issuer = Issuer::new(ca, ca_key);
            let k = KeyPair::generate().unwrap();
            w(
                "signed.pem",
                &leaf(false).signed_by(&k, &issuer).unwrap().pem(),
            );
            w("signed.key", &k.serialize_pem());
            let k = KeyPair::generate().unwrap();
            w("self.pem", &leaf(false).self_signed(&k).unwrap().pem());
            w("self.key", &k.serialize_pem());
            let k = KeyPair::generate().unwrap();
            w("expired.pem", &leaf(true).self_signed(&k).unwrap().pem());
            w("stray.key", &KeyPair::generate().unwrap().serialize_pem());
            w("not.pem", "hello\n");
            Files { dir }
        }

        fn p(&self, name: &str) -> String {
            self.dir.path().join(name).display().to_string()
        }

        /// BASE with a `[tls]` table (line 16) holding `lines` (from line 17).
        fn config(&self, lines: &[(&str, &str)]) -> String {
            let mut text = format!("{BASE}[tls]\n");
            for (k, v) in lines {
                // File names become paths in the directory; partner_name stays as it is.
                let v = if *k == "partner_name" {
                    v.to_string()
                } else {
                    self.p(v)
                };
                text.push_str(&format!("{k} = \"{v}\"\n"));
            }
            text
        }
    }

    #[test]
    fn a_ca_or_a_pinned_certificate_is_accepted_and_loads() {
        let f = Files::new();
        let c = parse(
            &f.config(&[
                ("cert", "signed.pem"),
                ("key", "signed.key"),
                ("ca", "ca.pem"),
            ]),
            Path::new("f.toml"),
        )
        .unwrap();
        let tls = c.tls.as_ref().expect("[tls] is read");
        assert_eq!(tls.trust, TlsTrust::Ca(f.p("ca.pem").into()));
        assert!(PartnerTls::load(tls, c.role, c.partner.remote.ip()).is_ok());
        let c = parse(
            &f.config(&[
                ("cert", "self.pem"),
                ("key", "self.key"),
                ("partner_cert", "self.pem"),
            ]),
            Path::new("f.toml"),
        )
        .unwrap();
        let tls = c.tls.as_ref().unwrap();
        assert_eq!(tls.trust, TlsTrust::Pin(f.p("self.pem").into()));
        let loaded = PartnerTls::load(tls, c.role, c.partner.remote.ip()).unwrap();
        assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
        // Without [tls]: insecure mode, and the defaults of the limits.
        let c = parse(BASE, Path::new("f.toml")).unwrap();
        assert!(c.tls.is_none());
        assert_eq!(c.partner.handshake_timeout, 10);
        assert_eq!(c.partner.max_pending_connections, 4);
    }

    #[test]
    fn exactly_one_way_to_check_the_partner_is_required() {
        let f = Files::new();
        assert_eq!(
            error(&f.config(&[("cert", "self.pem"), ("key", "self.key")])),
            "f.toml:16: field `tls`: neither `ca` nor `partner_cert` is set; expected one of \
             them, so that the partner's certificate can be checked (RFC 7653 §9.1: mutual \
             authentication)"
        );
        assert_eq!(
            error(&f.config(&[
                ("cert", "self.pem"),
                ("key", "self.key"),
                ("ca", "ca.pem"),
                ("partner_cert", "self.pem")
            ])),
            "f.toml:20: field `tls.partner_cert`: set together with `tls.ca`; expected one of \
             them: a CA the partner's certificate chains to, or the partner's own certificate"
        );
        assert_eq!(
            error(&f.config(&[
                ("cert", "self.pem"),
                ("key", "self.key"),
                ("partner_cert", "self.pem"),
                ("partner_name", "peer")
            ])),
            "f.toml:20: field `tls.partner_name`: applies with `tls.ca` only: a pinned \
             certificate is compared whole"
        );
        let e = error(&format!("{BASE}[tls]\ncert = \"a.pem\"\n"));
        assert_eq!(e, "f.toml:16: field `tls.key`: required field is missing");
    }

    #[test]
    fn unreadable_or_invalid_files_are_named_with_their_field() {
        let f = Files::new();
        let cases = [
            (
                vec![("cert", "missing.pem"), ("key", "self.key"), ("ca", "ca.pem")],
                format!(
                    "f.toml:17: field `tls.cert`: {}: No such file or directory (os error 2)",
                    f.p("missing.pem")
                ),
            ),
            (
                vec![("cert", "not.pem"), ("key", "self.key"), ("ca", "ca.pem")],
                format!(
                    "f.toml:17: field `tls.cert`: {}: no CERTIFICATE block; expected a PEM file \
                     with `-----BEGIN CERTIFICATE-----`",
                    f.p("not.pem")
                ),
            ),
            (
                vec![("cert", "self.pem"), ("key", "not.pem"), ("ca", "ca.pem")],
                format!(
                    "f.toml:18: field `tls.key`: {}: no PEM item of the expected kind; expected \
                     a PEM private key (`-----BEGIN PRIVATE KEY-----`, PKCS#8, or an RSA or EC key)",
                    f.p("not.pem")
                ),
            ),
            (
                vec![("cert", "self.pem"), ("key", "self.key"), ("ca", "not.pem")],
                format!(
                    "f.toml:19: field `tls.ca`: {}: no CERTIFICATE block; expected a PEM file \
                     with `-----BEGIN CERTIFICATE-----`",
                    f.p("not.pem")
                ),
            ),
            (
                vec![("cert", "self.pem"), ("key", "self.key"), ("partner_cert", "signed.pem")],
                format!(
                    "f.toml:19: field `tls.partner_cert`: {}: not a self-signed certificate; pin \
                     the partner's self-signed certificate, or name its CA in `tls.ca`",
                    f.p("signed.pem")
                ),
            ),
        ];
        for (lines, want) in cases {
            assert_eq!(error(&f.config(&lines)), want);
        }
        // A key that is not the certificate's.
        let e = error(&f.config(&[("cert", "self.pem"), ("key", "stray.key"), ("ca", "ca.pem")]));
        assert!(
            e.starts_with(&format!(
                "f.toml:18: field `tls.key`: {} is not the key of the certificate in {}",
                f.p("stray.key"),
                f.p("self.pem")
            )),
            "{e}"
        );
    }

    #[test]
    fn an_expired_pinned_certificate_loads_with_a_warning() {
        let f = Files::new();
        let c = parse(
            &f.config(&[
                ("cert", "self.pem"),
                ("key", "self.key"),
                ("partner_cert", "expired.pem"),
            ]),
            Path::new("f.toml"),
        )
        .unwrap();
        let loaded =
            PartnerTls::load(c.tls.as_ref().unwrap(), c.role, c.partner.remote.ip()).unwrap();
        assert_eq!(loaded.warnings.len(), 1, "{:?}", loaded.warnings);
        assert!(
            loaded.warnings[0].contains("outside its validity period"),
            "{:?}",
            loaded.warnings
        );
    }

    #[test]
    fn the_limits_are_range_checked() {
        assert_eq!(
            error(&insert(8, "handshake_timeout = 0")),
            "f.toml:9: field `partner.handshake_timeout`: expected 1 to 3600 seconds (RFC 8156 \
             §10: how long a new partner connection may take to be admitted), got 0"
        );
        assert_eq!(
            error(&insert(8, "max_pending_connections = 5000")),
            "f.toml:9: field `partner.max_pending_connections`: expected 1 to 1024 connections \
             (RFC 8156 §10: connections being admitted at once), got 5000"
        );
    }
}
