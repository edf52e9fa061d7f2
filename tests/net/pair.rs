//! A failover pair in a [`Lab`]: the primary and the secondary in their namespaces, both on the
//! client bridge and joined by the partner link; `failover serve` started in each, driven with
//! `failover ctl`; clients (dhclient -6, dhcpcd, perfdhcp) in namespaces of their own.

use std::fs;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use super::leases::{self, DbLease, DhclientFile, Holding};
use super::{run, wait_for, Lab, Tool};

/// The `failover` binary: this build's, or `FAILOVER_BIN` (to run the lab against another build
/// or an installed daemon).
pub fn failover_bin() -> String {
    std::env::var("FAILOVER_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_failover").to_string())
}

/// Addresses of the lab.
pub const PRIMARY_PARTNER: &str = "fd00:fa11::1";
pub const SECONDARY_PARTNER: &str = "fd00:fa11::2";
pub const PRIMARY_CLIENT_SIDE: &str = "2001:db8:1::a";
pub const SECONDARY_CLIENT_SIDE: &str = "2001:db8:1::b";
pub const PARTNER_PORT: u16 = 647;
pub const PARTNER_DEV: &str = "part0";

/// Timings and pools written into both configurations.
#[derive(Clone, Debug)]
pub struct Settings {
    pub mclt: u64,
    pub valid_lifetime: u64,
    pub keepalive: u64,
    pub startup_time: u64,
    pub auto_partner_down: Option<u64>,
    /// `FIRST-LAST`.
    pub address_range: String,
    pub prefix_pool: String,
    pub delegated_length: u8,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            mclt: 5,
            valid_lifetime: 30,
            keepalive: 4,
            startup_time: 2,
            auto_partner_down: None,
            // 4,096 addresses: far more than any run's clients (perfdhcp's DUIDs are never reused).
            address_range: "2001:db8:1::1000-2001:db8:1::1fff".into(),
            prefix_pool: "2001:db8:100::/48".into(),
            delegated_length: 56,
        }
    }
}

/// Which server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Primary,
    Secondary,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Primary => "primary",
            Role::Secondary => "secondary",
        }
    }
}

/// One server: its namespace and files; the lab process while it runs.
pub struct Server {
    pub role: Role,
    pub ns: String,
    pub config: PathBuf,
    pub socket: PathBuf,
    pub storage: PathBuf,
    pub log: PathBuf,
    pub partner_addr: String,
    proc: Option<usize>,
}

/// The pair and its lab.
pub struct Pair {
    pub lab: Lab,
    pub p: Server,
    pub s: Server,
    pub settings: Settings,
    clients: usize,
}

/// Does this build's `failover` have `serve`? (It was added after the model checker.)
pub fn serve_available() -> Result<(), String> {
    let out = Command::new(failover_bin())
        .args(["serve", "--help"])
        .output()
        .map_err(|e| format!("cannot run {}: {e}", failover_bin()))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`failover serve --help` failed: this build of {} has no daemon:\n{}",
            failover_bin(),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn config_text(role: Role, s: &Settings, dir: &std::path::Path) -> String {
    let (local, remote) = match role {
        Role::Primary => (PRIMARY_PARTNER, SECONDARY_PARTNER),
        Role::Secondary => (SECONDARY_PARTNER, PRIMARY_PARTNER),
    };
    let name = role.name();
    let apd = s
        .auto_partner_down
        .map(|v| format!("auto_partner_down = {v}\n"))
        .unwrap_or_default();
    format!(
        r#"# {name} of the lab pair (tests/daemon_net.rs)
role = "{name}"
mclt = {mclt}
valid_lifetime = {valid}
startup_time = {startup}
storage = "{dir}/{name}.redb"
control_socket = "{dir}/{name}.sock"

[partner]
local = "[{local}]:{port}"
remote = "[{remote}]:{port}"
keepalive = {keepalive}
reconnect_min = 1
reconnect_max = 2
{apd}
[dhcp]
interfaces = ["eth0"]

[[address_pools]]
range = "{range}"

[[prefix_pools]]
prefix = "{prefix}"
delegated_length = {dlen}
"#,
        mclt = s.mclt,
        valid = s.valid_lifetime,
        startup = s.startup_time,
        dir = dir.display(),
        port = PARTNER_PORT,
        keepalive = s.keepalive,
        range = s.address_range,
        prefix = s.prefix_pool,
        dlen = s.delegated_length,
    )
}

impl Pair {
    /// The lab, both servers' namespaces and links, both configurations checked with
    /// `serve --check-config`; the servers are not started (see [`Pair::start_both`]).
    pub fn new(test: &str, tools: &[Tool], settings: Settings) -> Option<Pair> {
        let mut lab = Lab::new(test, tools)?;
        if let Err(e) = serve_available() {
            panic!("{test}: {e}");
        }
        let pns = lab.add_ns("p");
        let sns = lab.add_ns("s");
        lab.attach(&pns, "eth0", Some(&format!("{PRIMARY_CLIENT_SIDE}/64")));
        lab.attach(&sns, "eth0", Some(&format!("{SECONDARY_CLIENT_SIDE}/64")));
        lab.link(
            &pns,
            &sns,
            PARTNER_DEV,
            &format!("{PRIMARY_PARTNER}/64"),
            &format!("{SECONDARY_PARTNER}/64"),
        );
        let mk = |role: Role, ns: String, lab: &Lab| {
            let config = lab.path(&format!("{}.toml", role.name()));
            fs::write(&config, config_text(role, &settings, &lab.dir)).expect("write a config");
            Server {
                role,
                ns,
                socket: lab.path(&format!("{}.sock", role.name())),
                storage: lab.path(&format!("{}.redb", role.name())),
                log: lab.path(&format!("{}.log", role.name())),
                config,
                partner_addr: match role {
                    Role::Primary => PRIMARY_PARTNER.into(),
                    Role::Secondary => SECONDARY_PARTNER.into(),
                },
                proc: None,
            }
        };
        let p = mk(Role::Primary, pns, &lab);
        let s = mk(Role::Secondary, sns, &lab);
        for srv in [&p, &s] {
            let bin = failover_bin();
            let out = lab.ns_output(
                &srv.ns,
                &[
                    &bin,
                    "serve",
                    "--check-config",
                    srv.config.to_str().unwrap(),
                ],
            );
            assert!(
                out.status.success(),
                "{test}: `failover serve --check-config {}` rejected the lab's configuration:\n{}{}\n{}",
                srv.config.display(),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
                fs::read_to_string(&srv.config).unwrap_or_default()
            );
        }
        Some(Pair {
            lab,
            p,
            s,
            settings,
            clients: 0,
        })
    }

    pub fn server(&self, role: Role) -> &Server {
        match role {
            Role::Primary => &self.p,
            Role::Secondary => &self.s,
        }
    }

    fn server_mut(&mut self, role: Role) -> &mut Server {
        match role {
            Role::Primary => &mut self.p,
            Role::Secondary => &mut self.s,
        }
    }

    /// Start `failover serve` for `role` (from its storage, if it has one) and wait until its
    /// operator socket answers.
    pub fn start(&mut self, role: Role) {
        let (ns, config) = {
            let s = self.server(role);
            (s.ns.clone(), s.config.to_str().unwrap().to_string())
        };
        let idx = self.lab.spawn(
            &ns,
            role.name(),
            &[
                &failover_bin(),
                "serve",
                "--config",
                &config,
                "--log-format",
                "text",
            ],
        );
        self.server_mut(role).proc = Some(idx);
        // Bounded: 10 s for the socket to answer; an early exit is reported at once.
        let start = Instant::now();
        loop {
            if let Some(st) = self.lab.proc(idx).exited() {
                panic!(
                    "the {} exited at start: {st}\n{}",
                    role.name(),
                    self.context()
                );
            }
            match self.status(role) {
                Ok(_) => break,
                Err(e) if start.elapsed() > Duration::from_secs(10) => panic!(
                    "timed out after 10 s waiting for the {}'s operator socket to answer `status`\nlast seen: {e}\n{}",
                    role.name(),
                    self.context()
                ),
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }

    pub fn start_both(&mut self) {
        self.start(Role::Secondary);
        self.start(Role::Primary);
    }

    /// kill -9.
    pub fn kill9(&mut self, role: Role) {
        if let Some(i) = self.server_mut(role).proc.take() {
            self.lab.proc(i).kill9();
        }
    }

    /// SIGTERM and wait (10 s at most); the exit status.
    pub fn terminate(&mut self, role: Role) -> Option<std::process::ExitStatus> {
        let i = self.server_mut(role).proc.take()?;
        self.lab.proc(i).terminate(Duration::from_secs(10))
    }

    /// `failover ctl --socket S --json ARGS`: stdout, or an error with stderr.
    pub fn ctl(&self, role: Role, args: &[&str]) -> Result<String, String> {
        let sock = self.server(role).socket.to_str().unwrap().to_string();
        // Bounded even if the daemon accepts and never answers.
        let mut cmd = Command::new("timeout");
        cmd.args(["10", &failover_bin(), "ctl", "--socket", &sock, "--json"])
            .args(args);
        let out = cmd
            .output()
            .map_err(|e| format!("cannot run failover ctl: {e}"))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(format!(
                "`failover ctl {}` of the {} failed ({}): {}{}",
                args.join(" "),
                role.name(),
                out.status,
                String::from_utf8_lossy(&out.stdout).trim(),
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    }

    /// `ctl status` as JSON.
    pub fn status(&self, role: Role) -> Result<serde_json::Value, String> {
        let text = self.ctl(role, &["status"])?;
        serde_json::from_str(&text).map_err(|e| format!("status is not JSON ({e}): {text}"))
    }

    /// The failover state (`NORMAL`...).
    pub fn state(&self, role: Role) -> Result<String, String> {
        let st = self.status(role)?;
        st["state"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| format!("status without a state: {st}"))
    }

    /// Wait until `role` is in `want`.
    pub fn wait_state(&self, role: Role, want: &str, limit: Duration) -> Duration {
        let start = Instant::now();
        wait_for(
            &format!("the {} to reach {want}", role.name()),
            limit,
            || match self.state(role) {
                Ok(s) if s == want => Ok(()),
                Ok(s) => Err(format!("state {s}")),
                Err(e) => Err(e),
            },
            || self.context(),
        );
        start.elapsed()
    }

    /// Both in NORMAL.
    pub fn wait_normal(&self, limit: Duration) -> Duration {
        let start = Instant::now();
        self.wait_state(Role::Primary, "NORMAL", limit);
        self.wait_state(
            Role::Secondary,
            "NORMAL",
            limit.saturating_sub(start.elapsed()),
        );
        start.elapsed()
    }

    /// Wait until both are NORMAL, recording every state each was seen in on the way (polled
    /// every 50 ms: a state held for less may be missed). The time taken and the two sequences.
    pub fn wait_normal_traced(&self, limit: Duration) -> (Duration, Vec<String>, Vec<String>) {
        let start = Instant::now();
        let (mut ps, mut ss): (Vec<String>, Vec<String>) = (Vec::new(), Vec::new());
        loop {
            for (r, seq) in [(Role::Primary, &mut ps), (Role::Secondary, &mut ss)] {
                let st = self.state(r).unwrap_or_else(|e| format!("({e})"));
                if seq.last() != Some(&st) {
                    seq.push(st);
                }
            }
            if ps.last().map(String::as_str) == Some("NORMAL")
                && ss.last().map(String::as_str) == Some("NORMAL")
            {
                return (start.elapsed(), ps, ss);
            }
            if start.elapsed() > limit {
                panic!(
                    "timed out after {:.1} s waiting for both servers to be NORMAL\nprimary went {}\nsecondary went {}\n{}",
                    limit.as_secs_f64(),
                    ps.join(" -> "),
                    ss.join(" -> "),
                    self.context()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The server's database (`ctl leases`).
    pub fn leases(&self, role: Role) -> Result<Vec<DbLease>, String> {
        leases::parse_db(&self.ctl(role, &["leases"])?)
    }

    /// Sum of `dhcp.dropped` of `status`.
    pub fn dropped(&self, role: Role) -> Result<u64, String> {
        let st = self.status(role)?;
        let d = st["dhcp"]["dropped"]
            .as_object()
            .ok_or_else(|| format!("status without dhcp.dropped: {st}"))?;
        Ok(d.values().filter_map(|v| v.as_u64()).sum())
    }

    /// Both servers' status (or why not) and the last lines of every log: for failure messages.
    pub fn context(&self) -> String {
        let mut s = String::new();
        for r in [Role::Primary, Role::Secondary] {
            match self.status(r) {
                Ok(v) => s.push_str(&format!("{} status: {v}\n", r.name())),
                Err(e) => s.push_str(&format!("{} status: {e}\n", r.name())),
            }
        }
        s.push_str(&self.lab.logs(15));
        s
    }

    /// Cut the partner link (the primary's end down: the secondary sees no carrier).
    pub fn cut_partner(&self) {
        self.lab.set_link(&self.p.ns, PARTNER_DEV, false, None);
    }

    pub fn heal_partner(&self) {
        self.lab.set_link(
            &self.p.ns,
            PARTNER_DEV,
            true,
            Some(&format!("{PRIMARY_PARTNER}/64")),
        );
    }

    /// A client namespace on the bridge, with `eth0`.
    pub fn add_client_ns(&mut self, name: &str) -> String {
        self.clients += 1;
        let ns = self.lab.add_ns(name);
        self.lab.attach(&ns, "eth0", None);
        ns
    }

    /// Every ACTIVE lease of both databases as holdings.
    pub fn db_holdings(&self) -> Vec<Holding> {
        let mut h = Vec::new();
        for r in [Role::Primary, Role::Secondary] {
            let db = self
                .leases(r)
                .unwrap_or_else(|e| panic!("{e}\n{}", self.context()));
            h.extend(leases::db_holdings(&db, &format!("{} database", r.name())));
        }
        h
    }
}

/// Unix seconds now.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// dhclient -6 asking for an address and a prefix, in its own namespace, in the foreground
/// (`-d`), its script `/bin/true` (nothing is configured, nothing outside the lab is touched).
pub struct Dhclient {
    pub name: String,
    pub ns: String,
    pub lease_file: PathBuf,
    pub pid_file: PathBuf,
    proc: usize,
}

impl Dhclient {
    pub fn start(pair: &mut Pair, name: &str) -> Dhclient {
        let ns = pair.add_client_ns(name);
        let lease_file = pair.lab.path(&format!("{name}.leases"));
        let pid_file = pair.lab.path(&format!("{name}.pid"));
        let lf = lease_file.to_str().unwrap().to_string();
        let pf = pid_file.to_str().unwrap().to_string();
        let proc = pair.lab.spawn(
            &ns,
            name,
            &[
                "dhclient",
                "-6",
                "-d",
                "-v",
                "-N",
                "-P",
                "-sf",
                "/bin/true",
                "-lf",
                &lf,
                "-pf",
                &pf,
                "eth0",
            ],
        );
        Dhclient {
            name: name.into(),
            ns,
            lease_file,
            pid_file,
            proc,
        }
    }

    pub fn file(&self) -> DhclientFile {
        leases::parse_dhclient(&fs::read_to_string(&self.lease_file).unwrap_or_default())
    }

    /// Wait until the newest lease block holds an address and a prefix; that file.
    pub fn wait_bound(&self, pair: &Pair, limit: Duration) -> DhclientFile {
        wait_for(
            &format!("{} to bind an address and a prefix", self.name),
            limit,
            || {
                let f = self.file();
                let cur = f.current();
                if cur.iter().any(|l| l.lease.is_prefix())
                    && cur.iter().any(|l| !l.lease.is_prefix())
                {
                    Ok(f)
                } else {
                    Err(format!("lease file: {f:?}"))
                }
            },
            || pair.context(),
        )
    }

    /// Wait until the lease file has more than `blocks` lease blocks (a renew wrote one).
    pub fn wait_more_blocks(&self, pair: &Pair, blocks: usize, limit: Duration) -> DhclientFile {
        wait_for(
            &format!(
                "{} to renew (a lease block after the first {blocks})",
                self.name
            ),
            limit,
            || {
                let f = self.file();
                if f.blocks.len() > blocks && !f.current().is_empty() {
                    Ok(f)
                } else {
                    Err(format!("{} blocks", f.blocks.len()))
                }
            },
            || pair.context(),
        )
    }

    /// `dhclient -6 -r`: stops the running dhclient (by its pid file) and sends RELEASE.
    pub fn release(&self, pair: &mut Pair) {
        let lf = self.lease_file.to_str().unwrap();
        let pf = self.pid_file.to_str().unwrap();
        let out = pair.lab.ns_output(
            &self.ns,
            &[
                "timeout",
                "20",
                "dhclient",
                "-6",
                "-r",
                "-v",
                "-N",
                "-P",
                "-sf",
                "/bin/true",
                "-lf",
                lf,
                "-pf",
                pf,
                "eth0",
            ],
        );
        assert!(
            out.status.success(),
            "dhclient -6 -r failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        pair.lab.proc(self.proc).wait_exit(Duration::from_secs(5));
        pair.lab.proc(self.proc).kill9();
    }

    /// Current (unexpired) leases as holdings.
    pub fn holdings(&self) -> Vec<Holding> {
        let f = self.file();
        let client = f.client().unwrap_or_default();
        let now = now();
        f.current()
            .into_iter()
            .filter(|l| l.starts == 0 || l.expires() > now)
            .map(|l| Holding {
                lease: l.lease,
                client: client.clone(),
                source: format!("{} lease file", self.name),
            })
            .collect()
    }
}

/// dhcpcd asking for an address (ia_na 1) and a prefix (ia_pd 2), with private
/// `/var/lib/dhcpcd` and `/run/dhcpcd` (bind mounts in the mount namespace `ip netns exec`
/// makes: its own DUID, nothing written to the host's paths).
pub struct Dhcpcd {
    pub name: String,
    pub ns: String,
    pub var_dir: PathBuf,
    pub run_dir: PathBuf,
    pub conf: PathBuf,
    pub log: PathBuf,
    proc: usize,
}

impl Dhcpcd {
    fn wrapped(&self, cmd: &str) -> String {
        format!(
            "mkdir -p /run/dhcpcd /var/lib/dhcpcd && mount --bind {} /var/lib/dhcpcd && mount --bind {} /run/dhcpcd && exec {cmd}",
            self.var_dir.display(),
            self.run_dir.display()
        )
    }

    pub fn start(pair: &mut Pair, name: &str) -> Dhcpcd {
        let ns = pair.add_client_ns(name);
        let var_dir = pair.lab.path(&format!("{name}-var"));
        let run_dir = pair.lab.path(&format!("{name}-run"));
        fs::create_dir_all(&var_dir).unwrap();
        fs::create_dir_all(&run_dir).unwrap();
        let conf = pair.lab.path(&format!("{name}.conf"));
        fs::write(
            &conf,
            "# dhcpcd of the lab (tests/daemon_net.rs)\nduid\nipv6only\nnoipv6rs\nrelease\n\
             script /bin/true\nnohook resolv.conf, timesyncd, ntp.conf, hostname\n\
             interface eth0\n  ia_na 1\n  ia_pd 2 -\n",
        )
        .unwrap();
        let mut d = Dhcpcd {
            name: name.into(),
            ns: ns.clone(),
            var_dir,
            run_dir,
            conf,
            log: pair.lab.path(&format!("{name}.log")),
            proc: 0,
        };
        let cmd = d.wrapped(&format!("dhcpcd -6 -B -d -f {} eth0", d.conf.display()));
        d.proc = pair.lab.spawn(&ns, name, &["sh", "-c", &cmd]);
        d
    }

    /// The REPLY dhcpcd keeps (`eth0.lease6`), parsed.
    pub fn lease(&self) -> Result<leases::Dhcp6Message, String> {
        let path = self.var_dir.join("eth0.lease6");
        let b = fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        leases::parse_dhcp6(&b)
    }

    pub fn wait_bound(&self, pair: &Pair, limit: Duration) -> leases::Dhcp6Message {
        wait_for(
            &format!("{} to bind an address and a prefix", self.name),
            limit,
            || {
                let m = self.lease()?;
                if m.leases.iter().any(|l| l.lease.is_prefix())
                    && m.leases.iter().any(|l| !l.lease.is_prefix())
                {
                    Ok(m)
                } else {
                    Err(format!("lease: {m:?}"))
                }
            },
            || pair.context(),
        )
    }

    /// How many lines of its log contain `what` (`RENEW6`: dhcpcd 9 logs "broadcasting RENEW6
    /// (xid ...)", `REPLY6 received`...).
    pub fn log_count(&self, what: &str) -> usize {
        fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains(what))
            .count()
    }

    /// SIGTERM: with `release` in its configuration dhcpcd sends RELEASE, then exits.
    pub fn release(&self, pair: &mut Pair) {
        pair.lab.proc(self.proc).terminate(Duration::from_secs(10));
    }

    pub fn holdings(&self) -> Vec<Holding> {
        match self.lease() {
            Ok(m) => m
                .leases
                .iter()
                .map(|l| Holding {
                    lease: l.lease,
                    client: m.client.clone().unwrap_or_default(),
                    source: format!("{} lease", self.name),
                })
                .collect(),
            Err(_) => Vec::new(),
        }
    }
}

/// perfdhcp -6 in its own namespace: `rate` exchanges/s for `seconds`. Started in the
/// background; [`Perfdhcp::finish`] waits for it (bounded) and checks its exit status (0, or 3
/// when something was dropped).
pub struct Perfdhcp {
    pub ns: String,
    proc: usize,
    seconds: u64,
}

impl Perfdhcp {
    pub fn start(pair: &mut Pair, name: &str, rate: u32, seconds: u64) -> Perfdhcp {
        let ns = pair.add_client_ns(name);
        let proc = pair.lab.spawn(
            &ns,
            name,
            &[
                "perfdhcp",
                "-6",
                "-l",
                "eth0",
                "-r",
                &rate.to_string(),
                "-R",
                "1000000",
                "-p",
                &seconds.to_string(),
            ],
        );
        Perfdhcp { ns, proc, seconds }
    }

    /// Wait for the end (its duration + 15 s); its output.
    pub fn finish(&self, pair: &mut Pair) -> String {
        let limit = Duration::from_secs(self.seconds + 15);
        let st = pair.lab.proc(self.proc).wait_exit(limit);
        let text = pair.lab.proc(self.proc).log_text();
        match st.and_then(|s| s.code()) {
            Some(0) | Some(3) => text,
            other => panic!("perfdhcp ended with {other:?} (0 or 3 expected):\n{text}"),
        }
    }
}

/// Run `failover` with `args` (not in a namespace); output.
pub fn failover(args: &[&str]) -> std::process::Output {
    run(Command::new(failover_bin()).args(args))
}
