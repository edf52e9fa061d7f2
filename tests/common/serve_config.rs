//! The `failover serve` configuration the loopback tests run a pair with (included by
//! tests/daemon_loopback.rs and tests/dissector.rs, so that both run the same pair): MCLT 2 s,
//! 30 s leases, a 64-address pool and a /48 of /52 prefixes, the partner link on `[::1]`.

use std::path::{Path, PathBuf};

/// Write `dir/ROLE.toml` for `role` ("primary" or "secondary") and return its path. The
/// secondary listens on `secondary_listen:partner_port` (the primary connects there from an
/// ephemeral port; the secondary checks only the address); DHCPv6 on `[::1]:dhcp_port`.
pub fn write(
    dir: &Path,
    role: &str,
    secondary_listen: &str,
    partner_port: u16,
    dhcp_port: u16,
) -> PathBuf {
    let (local, remote) = if role == "primary" {
        ("[::1]:0".to_string(), format!("[::1]:{partner_port}"))
    } else {
        (
            format!("{secondary_listen}:{partner_port}"),
            "[::1]:647".to_string(),
        )
    };
    let text = format!(
        r#"role = "{role}"
mclt = 2
valid_lifetime = 30
startup_time = 1
storage = "{dir}/{role}.redb"
control_socket = "{dir}/{role}.sock"
[partner]
local = "{local}"
remote = "{remote}"
keepalive = 4
reconnect_min = 1
reconnect_max = 2
[dhcp]
bind = "::1"
port = {dhcp_port}
[[address_pools]]
range = "2001:db8:1::100-2001:db8:1::13f"
[[prefix_pools]]
prefix = "2001:db8:100::/48"
delegated_length = 52
"#,
        dir = dir.display()
    );
    let path = dir.join(format!("{role}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}
