//! `failover serve` and `failover ctl`: the reference pair on a real network (failover-daemon).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};
use failover_daemon::config;
use failover_daemon::ctl::{self, Answer, Request};
use failover_daemon::driver::{self, LogFormat};

/// `failover serve ...`
#[derive(Args)]
#[command(
    after_help = "Examples:\n  failover serve --check-config impl/daemon/examples/primary.toml\n  failover serve --config /etc/failover/primary.toml --log-format json\n\nThe configuration reference is docs/daemon-config.md; commented examples for a primary and a\nsecondary are impl/daemon/examples/*.toml. Exit status: 0 after a clean shutdown (SIGTERM,\nSIGINT or `failover ctl shutdown`), 1 when the server had to stop or could not start (the\nmessage names the port, file or socket), 2 for a configuration that does not validate."
)]
pub struct ServeArgs {
    /// The configuration file (TOML) of this server: role, partner, pools, storage, sockets.
    #[arg(long, value_name = "FILE", required_unless_present = "check_config")]
    config: Option<PathBuf>,
    /// Only validate FILE and exit: 0 if it is usable, 2 with every problem named otherwise.
    #[arg(long, value_name = "FILE", conflicts_with = "config")]
    check_config: Option<PathBuf>,
    /// Log format on standard error. RUST_LOG sets the level (default info; debug shows every
    /// ignored or dropped client message).
    #[arg(long, value_enum, default_value_t = LogArg::Text)]
    log_format: LogArg,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogArg {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// `failover ctl ...`
#[derive(Args)]
pub struct CtlArgs {
    /// The daemon's control socket (`control_socket` in its configuration).
    #[arg(long, value_name = "PATH")]
    socket: PathBuf,
    /// Print the answer as JSON (for scripts) instead of text.
    #[arg(long, global = true)]
    json: bool,
    /// Seconds to wait for the answer.
    #[arg(long, default_value_t = 10, value_name = "SECS")]
    timeout: u64,
    #[command(subcommand)]
    cmd: CtlCmd,
}

#[derive(Subcommand)]
enum CtlCmd {
    /// Role, failover state, partner state, communications, lease counts by binding status,
    /// owed updates, DHCPv6 counters.
    Status,
    /// Tell the server its partner is down (RFC 8156 §8.4 external command): from
    /// COMMUNICATIONS-INTERRUPTED, RESOLUTION-INTERRUPTED or POTENTIAL-CONFLICT to PARTNER-DOWN.
    /// Refused while the partner is connected and communicating, unless --force.
    PartnerDown {
        /// Apply it even though communications are OK (both servers then go to
        /// POTENTIAL-CONFLICT, RFC 8156 §8.10).
        #[arg(long)]
        force: bool,
    },
    /// Reclaim an ABANDONED lease (RFC 8156 Figure 2, transition 10): ADDR or ADDR/LEN.
    Reset {
        /// The lease.
        lease: String,
    },
    /// Every lease of the database.
    Leases,
    /// Stop the server cleanly (DISCONNECT to the partner, storage closed).
    Shutdown,
}

/// Run `failover serve`.
pub fn serve(args: ServeArgs) -> ExitCode {
    if let Some(path) = args.check_config {
        return match config::load(&path) {
            Ok(cfg) => {
                println!(
                    "{}: valid ({} server, {} addresses, {} delegable prefixes)",
                    path.display(),
                    cfg.role,
                    cfg.addresses().len(),
                    cfg.prefixes().len()
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(2)
            }
        };
    }
    let Some(path) = args.config else {
        eprintln!("error: --config FILE is required");
        return ExitCode::from(2);
    };
    let cfg = match config::load(&path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    driver::init_logging(match args.log_format {
        LogArg::Text => LogFormat::Text,
        LogArg::Json => LogFormat::Json,
    });
    match driver::serve(cfg) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Run `failover ctl`.
pub fn ctl(args: CtlArgs) -> ExitCode {
    let req = match args.cmd {
        CtlCmd::Status => Request::Status,
        CtlCmd::PartnerDown { force } => Request::PartnerDown { force },
        CtlCmd::Reset { lease } => Request::Reset { lease },
        CtlCmd::Leases => Request::Leases,
        CtlCmd::Shutdown => Request::Shutdown,
    };
    let answer = match ctl::call(&args.socket, &req, Duration::from_secs(args.timeout.max(1))) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    match answer {
        Answer::Error { error } => {
            if args.json {
                println!("{}", serde_json::json!({ "error": error }));
            } else {
                eprintln!("error: {error}");
            }
            ExitCode::FAILURE
        }
        Answer::Ok {
            status,
            leases,
            message,
            ..
        } => {
            if let Some(s) = status {
                if args.json {
                    println!("{}", serde_json::to_string(&s).unwrap_or_default());
                } else {
                    print_status(&s);
                }
            } else if let Some(l) = leases {
                if args.json {
                    println!("{}", serde_json::to_string(&l).unwrap_or_default());
                } else {
                    print_leases(&l);
                }
            } else if let Some(m) = message {
                if args.json {
                    println!("{}", serde_json::json!({ "ok": true, "message": m }));
                } else {
                    println!("{m}");
                }
            }
            ExitCode::SUCCESS
        }
    }
}

fn print_status(s: &ctl::Status) {
    println!("role:            {}", s.role);
    println!("state:           {}", s.state);
    println!(
        "partner state:   {}",
        s.partner_state.as_deref().unwrap_or("(never heard)")
    );
    println!(
        "communications:  {}{}",
        if s.communications_ok {
            "OK"
        } else {
            "interrupted"
        },
        if s.connected {
            " (connected)"
        } else {
            " (no connection)"
        }
    );
    println!("MCLT:            {} s", s.mclt);
    let counts: Vec<String> = s
        .leases_by_status
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    println!("leases:          {}", counts.join(", "));
    println!("owed updates:    {}", s.owed_updates);
    println!("server DUID:     {}", s.server_duid);
    let dropped: u64 = s.dhcp.dropped.values().sum();
    println!(
        "DHCPv6:          {} received, {} replied, {} ignored by state, {} dropped{}",
        s.dhcp.received,
        s.dhcp.replied,
        s.dhcp.ignored,
        dropped,
        if s.dhcp.dropped.is_empty() {
            String::new()
        } else {
            format!(
                " ({})",
                s.dhcp
                    .dropped
                    .iter()
                    .map(|(k, v)| format!("{k} {v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    );
}

fn print_leases(leases: &[ctl::Lease]) {
    println!(
        "{:<44} {:<12} {:<12} {:<7} client",
        "lease", "status", "expires", "pending"
    );
    for l in leases {
        println!(
            "{:<44} {:<12} {:<12} {:<7} {}",
            l.lease,
            l.status,
            l.expires
                .map(|e| e.to_string())
                .unwrap_or_else(|| "-".into()),
            if l.update_pending { "yes" } else { "no" },
            l.client.as_deref().unwrap_or("-")
        );
    }
}
