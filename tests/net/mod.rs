//! The network lab of `tests/daemon_net.rs`: network namespaces, veth pairs and a bridge made by
//! the test, processes started inside them, and everything torn down in `Drop`, also when the
//! test fails or panics.
//!
//! Topology (every namespace name carries the test process's pid and a counter):
//!
//! ```text
//!   client ns ─eth0──┐                       (2001:db8:1::/64, ff02::1:2 reaches every leg:
//!   client ns ─eth0──┤ bridge ns: br0          the bridge has mcast_snooping 0)
//!   primary  ─eth0───┤
//!   secondary ─eth0──┘
//!   primary ─part0══════ part0─ secondary    (fd00:fa11::/64, the partner link, can be cut)
//! ```
//!
//! Nothing is created in the host's namespace: veth pairs are made inside the bridge namespace
//! (or a server's) with their other end placed straight into the target namespace. Traffic goes
//! only to addresses inside these namespaces.
//!
//! `FAILOVER_SKIP_NET=1` turns a missing tool or a namespace that cannot be made into a skip
//! (printed, with the reason); without it, such a test fails with what is missing and how to
//! install it.

#![allow(dead_code)]

pub mod leases;

use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The tests of this binary run one at a time: their timings (MCLT, keepalive) stay stable on
/// two shared cores, and perfdhcp does not compete with another test's servers.
static SERIAL: Mutex<()> = Mutex::new(());

/// Take the binary-wide lock (a test that panicked does not poison the others).
pub fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A tool a test needs, with the Debian package that brings it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tool {
    Ip,
    Dhclient,
    Dhcpcd,
    Perfdhcp,
    Python3,
}

impl Tool {
    fn command(self) -> &'static str {
        match self {
            Tool::Ip => "ip",
            Tool::Dhclient => "dhclient",
            Tool::Dhcpcd => "dhcpcd",
            Tool::Perfdhcp => "perfdhcp",
            Tool::Python3 => "python3",
        }
    }

    fn package(self) -> &'static str {
        match self {
            Tool::Ip => "iproute2",
            Tool::Dhclient => "isc-dhcp-client",
            Tool::Dhcpcd => "dhcpcd",
            Tool::Perfdhcp => "kea-admin",
            Tool::Python3 => "python3",
        }
    }
}

/// Where `name` is, looking in PATH and in the sbin directories (often not in a user's PATH).
pub fn find_tool(name: &str) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    for d in [
        "/usr/local/sbin",
        "/usr/sbin",
        "/sbin",
        "/usr/local/bin",
        "/usr/bin",
        "/bin",
    ] {
        dirs.push(PathBuf::from(d));
    }
    dirs.into_iter().map(|d| d.join(name)).find(|p| p.is_file())
}

fn skip_allowed() -> bool {
    std::env::var("FAILOVER_SKIP_NET").is_ok_and(|v| v == "1")
}

/// Fail the test (or, under FAILOVER_SKIP_NET=1, print that it skips and return `None`).
fn unavailable(test: &str, why: String) -> Option<Lab> {
    if skip_allowed() {
        eprintln!("SKIP {test}: {why} (FAILOVER_SKIP_NET=1)");
        None
    } else {
        panic!(
            "{test}: {why}\n(set FAILOVER_SKIP_NET=1 to skip the network tests instead of failing)"
        );
    }
}

/// Run a command and return its output; panics, naming the command and its stderr, if it
/// cannot start or exits non-zero.
pub fn run(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    if !out.status.success() {
        panic!(
            "{cmd:?} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out
}

/// `ip ARGS`, panicking on failure.
pub fn ip(args: &[&str]) -> Output {
    run(Command::new("ip").args(args))
}

/// The last `n` lines of a log file (for messages on timeout).
pub fn tail(path: &Path, n: usize) -> String {
    let mut text = String::new();
    if let Ok(mut f) = fs::File::open(path) {
        let len = f.metadata().map(|m| m.len()).unwrap_or(0);
        let _ = f.seek(SeekFrom::Start(len.saturating_sub(16_384)));
        let mut bytes = Vec::new();
        let _ = f.read_to_end(&mut bytes);
        text = String::from_utf8_lossy(&bytes).into_owned();
    }
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Poll `probe` every 100 ms until it returns `Some` or `limit` passes. On timeout, panic naming
/// `what` was awaited, the last value seen (`last`) and `context()` (the servers' last log
/// lines).
pub fn wait_for<T>(
    what: &str,
    limit: Duration,
    mut probe: impl FnMut() -> Result<T, String>,
    context: impl Fn() -> String,
) -> T {
    let start = Instant::now();
    let mut last;
    loop {
        match probe() {
            Ok(v) => return v,
            Err(e) => last = e,
        }
        if start.elapsed() >= limit {
            panic!(
                "timed out after {:.1} s waiting for {what}\nlast seen: {last}\n{}",
                limit.as_secs_f64(),
                context()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A process started by the lab, killed (SIGKILL) and reaped in `Drop`.
pub struct Proc {
    pub name: String,
    pub child: Option<Child>,
    /// stdout and stderr, together.
    pub log: PathBuf,
}

impl Proc {
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// Has it exited? (Its status, if so.)
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
    }

    /// SIGKILL and reap.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM, then wait at most `limit` for it to exit (SIGKILL after that). The exit status.
    pub fn terminate(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let mut c = self.child.take()?;
        let _ = Command::new("kill")
            .args(["-TERM", &c.id().to_string()])
            .status();
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Ok(Some(st)) = c.try_wait() {
                return Some(st);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = c.kill();
        c.wait().ok()
    }

    /// Wait at most `limit` for it to exit by itself.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Some(st) = self.exited() {
                self.child = None;
                return Some(st);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    pub fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// One lab: a temp directory, namespaces (the first is the bridge's), processes. `Drop` kills
/// the processes, every process left inside the lab's namespaces (`ip netns pids`), deletes the
/// namespaces (and with them the veth pairs and the bridge), and removes the directory unless
/// the test is panicking (then it is kept for the post-mortem, and its path printed).
pub struct Lab {
    pub test: String,
    pub tag: String,
    pub dir: PathBuf,
    pub namespaces: Vec<String>,
    pub bridge_ns: String,
    procs: Vec<Proc>,
    ports: usize,
}

impl Lab {
    /// Check the tools (`ip` always), make the directory and the bridge namespace. `None`: skipped.
    pub fn new(test: &str, tools: &[Tool]) -> Option<Lab> {
        let mut missing = Vec::new();
        let mut needed = vec![Tool::Ip];
        needed.extend_from_slice(tools);
        for t in needed {
            if find_tool(t.command()).is_none() {
                missing.push(t);
            }
        }
        if !missing.is_empty() {
            let names: Vec<&str> = missing.iter().map(|t| t.command()).collect();
            let pkgs: Vec<&str> = missing.iter().map(|t| t.package()).collect();
            return unavailable(
                test,
                format!(
                    "missing tool(s): {}; install with `apt-get install -y --no-install-recommends {}` \
                     (.ci/run does this)",
                    names.join(", "),
                    pkgs.join(" ")
                ),
            );
        }
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let tag = format!("fo{}x{n}", std::process::id());
        let dir = std::env::temp_dir().join(format!("failover-net-{tag}"));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("make the lab's temp directory");
        let mut lab = Lab {
            test: test.to_string(),
            tag: tag.clone(),
            dir,
            namespaces: Vec::new(),
            bridge_ns: format!("{tag}-br"),
            procs: Vec::new(),
            ports: 0,
        };
        let br = lab.bridge_ns.clone();
        if let Err(e) = lab.try_add_ns(&br) {
            // Leave nothing behind, then fail or skip.
            drop(lab);
            return unavailable(
                test,
                format!(
                    "cannot create a network namespace ({e}); these tests must run as root \
                     (or with CAP_SYS_ADMIN and CAP_NET_ADMIN)"
                ),
            );
        }
        lab.ns_ip(
            &br,
            &[
                "link",
                "add",
                "br0",
                "type",
                "bridge",
                "mcast_snooping",
                "0",
            ],
        );
        lab.ns_ip(&br, &["link", "set", "br0", "up"]);
        Some(lab)
    }

    fn try_add_ns(&mut self, ns: &str) -> Result<(), String> {
        let out = Command::new("ip")
            .args(["netns", "add", ns])
            .output()
            .map_err(|e| format!("cannot run ip: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "`ip netns add {ns}`: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        self.namespaces.push(ns.to_string());
        // DAD off (addresses usable at once), loopback up.
        for key in ["all", "default"] {
            self.ns_run(
                ns,
                &[
                    "sysctl",
                    "-q",
                    "-w",
                    &format!("net.ipv6.conf.{key}.accept_dad=0"),
                ],
            );
            self.ns_run(
                ns,
                &[
                    "sysctl",
                    "-q",
                    "-w",
                    &format!("net.ipv6.conf.{key}.keep_addr_on_down=1"),
                ],
            );
        }
        self.ns_ip(ns, &["link", "set", "lo", "up"]);
        Ok(())
    }

    /// A new namespace named `{tag}-{role}`.
    pub fn add_ns(&mut self, role: &str) -> String {
        let ns = format!("{}-{role}", self.tag);
        self.try_add_ns(&ns)
            .unwrap_or_else(|e| panic!("{}: {e}", self.test));
        ns
    }

    /// `ip -n NS ARGS`.
    pub fn ns_ip(&self, ns: &str, args: &[&str]) -> Output {
        let mut v = vec!["-n", ns];
        v.extend_from_slice(args);
        ip(&v)
    }

    /// `ip netns exec NS ARGS`, panicking on failure.
    pub fn ns_run(&self, ns: &str, args: &[&str]) -> Output {
        run(Command::new("ip").args(["netns", "exec", ns]).args(args))
    }

    /// `ip netns exec NS ARGS`, the output whatever the exit status.
    pub fn ns_output(&self, ns: &str, args: &[&str]) -> Output {
        Command::new("ip")
            .args(["netns", "exec", ns])
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run ip netns exec {ns} {args:?}: {e}"))
    }

    fn prepare_iface(&self, ns: &str, dev: &str) {
        for key in ["accept_dad=0", "keep_addr_on_down=1", "accept_ra=0"] {
            self.ns_run(
                ns,
                &["sysctl", "-q", "-w", &format!("net.ipv6.conf.{dev}.{key}")],
            );
        }
    }

    /// Join `ns` to the bridge: a veth pair, `dev` in `ns`, its peer a bridge port. `addr`
    /// (with `/64`), if given, is added with `nodad`. The bridge-side port's name.
    pub fn attach(&mut self, ns: &str, dev: &str, addr: Option<&str>) -> String {
        self.ports += 1;
        let port = format!("p{}", self.ports);
        let br = self.bridge_ns.clone();
        self.ns_ip(
            &br,
            &[
                "link", "add", &port, "type", "veth", "peer", "name", dev, "netns", ns,
            ],
        );
        self.ns_ip(&br, &["link", "set", &port, "master", "br0"]);
        self.ns_ip(&br, &["link", "set", &port, "up"]);
        self.prepare_iface(ns, dev);
        if let Some(a) = addr {
            self.ns_ip(ns, &["addr", "add", a, "dev", dev, "nodad"]);
        }
        self.ns_ip(ns, &["link", "set", dev, "up"]);
        port
    }

    /// A direct veth pair `dev` between `a` (address `addr_a`) and `b` (`addr_b`): the partner
    /// link.
    pub fn link(&mut self, a: &str, b: &str, dev: &str, addr_a: &str, addr_b: &str) {
        self.ns_ip(
            a,
            &[
                "link", "add", dev, "type", "veth", "peer", "name", dev, "netns", b,
            ],
        );
        for (ns, addr) in [(a, addr_a), (b, addr_b)] {
            self.prepare_iface(ns, dev);
            self.ns_ip(ns, &["addr", "add", addr, "dev", dev, "nodad"]);
            self.ns_ip(ns, &["link", "set", dev, "up"]);
        }
    }

    /// `ip link set DEV up|down` in `ns`; when bringing it up, re-add `addr` if it went.
    pub fn set_link(&self, ns: &str, dev: &str, up: bool, addr: Option<&str>) {
        self.ns_ip(ns, &["link", "set", dev, if up { "up" } else { "down" }]);
        if up {
            if let Some(a) = addr {
                self.ns_ip(ns, &["addr", "replace", a, "dev", dev, "nodad"]);
            }
        }
    }

    /// Start `args` inside `ns` (`ip netns exec`, which execs: the child's pid is the program's),
    /// stdout and stderr into `{dir}/{name}.log` (appended: a restarted server keeps its history).
    /// The index of the process, for [`Lab::proc`].
    pub fn spawn(&mut self, ns: &str, name: &str, args: &[&str]) -> usize {
        let log = self.dir.join(format!("{name}.log"));
        let f = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .expect("open a process log");
        let child = Command::new("ip")
            .args(["netns", "exec", ns])
            .args(args)
            .stdin(Stdio::null())
            .stdout(f.try_clone().expect("dup log"))
            .stderr(f)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {args:?} in {ns}: {e}"));
        self.procs.push(Proc {
            name: name.to_string(),
            child: Some(child),
            log,
        });
        self.procs.len() - 1
    }

    pub fn proc(&mut self, i: usize) -> &mut Proc {
        &mut self.procs[i]
    }

    /// The pids inside `ns` (`ip netns pids`).
    pub fn pids_in(&self, ns: &str) -> Vec<u32> {
        Command::new("ip")
            .args(["netns", "pids", ns])
            .output()
            .map(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .split_whitespace()
                    .filter_map(|p| p.parse().ok())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The last lines of every process log, for failure messages.
    pub fn logs(&self, lines: usize) -> String {
        let mut s = String::new();
        for p in &self.procs {
            s.push_str(&format!(
                "--- last {lines} lines of {} ({}):\n{}\n",
                p.name,
                p.log.display(),
                tail(&p.log, lines)
            ));
        }
        s
    }

    /// The file `{dir}/{name}`.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for p in self.procs.iter_mut().rev() {
            p.kill9();
        }
        // Whatever is still running inside our namespaces (dhclient's or dhcpcd's own children)
        // was started by this lab: kill it by pid, then delete the namespaces.
        for ns in &self.namespaces {
            for pid in self.pids_in(ns) {
                let _ = Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status();
            }
        }
        for ns in self.namespaces.iter().rev() {
            let _ = Command::new("ip")
                .args(["netns", "del", ns])
                .stderr(Stdio::null())
                .status();
        }
        if std::thread::panicking() {
            eprintln!(
                "{}: the lab's files are kept in {} for the post-mortem",
                self.test,
                self.dir.display()
            );
        } else {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

/// The namespaces that exist now (`ip netns list`).
pub fn namespaces_now() -> Vec<String> {
    let out = Command::new("ip").args(["netns", "list"]).output();
    out.map(|o| {
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .filter_map(|l| l.split_whitespace().next().map(str::to_string))
            .collect()
    })
    .unwrap_or_default()
}

/// A python3 one-liner run inside a namespace: the script, then its arguments.
pub fn python_in(lab: &Lab, ns: &str, script: &str, args: &[&str]) -> Output {
    let mut v = vec!["python3", "-c", script];
    v.extend_from_slice(args);
    lab.ns_output(ns, &v)
}

pub mod pair;
