//! `failover explain`: a trace file drawn as a message-sequence chart (Mermaid, SVG or HTML); with
//! `--pcap`, a packet capture of a real pair drawn the same way (src/pcap_chart.rs).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use failover_model::chart;
use failover_trace::Trace;

/// Output formats of a chart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Mermaid `sequenceDiagram` text (renders on GitHub, in mermaid.live, in many editors).
    Mermaid,
    /// A standalone SVG picture.
    Svg,
    /// A self-contained HTML page with the SVG inline.
    Html,
}

/// `failover explain ...`
#[derive(Args)]
pub struct ExplainArgs {
    /// The trace file (traces/README.md format), e.g. traces/coverage/s8.9-...json.
    #[arg(required_unless_present = "pcap", conflicts_with = "pcap")]
    trace: Option<PathBuf>,
    /// Draw a packet capture (pcap or pcapng, e.g. from tcpdump or Wireshark) of a failover pair
    /// instead of a trace: the messages on the failover port, with the RFC section of each.
    #[arg(long, value_name = "FILE")]
    pcap: Option<PathBuf>,
    /// The failover TCP port in the capture (RFC 8156 §6.1: 647).
    #[arg(long, value_name = "PORT", default_value_t = failover_conformance::capture::FAILOVER_PORT, requires = "pcap")]
    port: u16,
    /// Write the chart here instead of standard output; the format follows the extension
    /// (.svg, .html, .mmd or .md for Mermaid) unless --format is given.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// The output format [default: from --out's extension, else mermaid].
    #[arg(long, value_enum)]
    format: Option<Format>,
}

/// The format a file name asks for.
pub fn format_of(path: &Path) -> Option<Format> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("svg") => Some(Format::Svg),
        Some("html") | Some("htm") => Some(Format::Html),
        Some("mmd") | Some("md") | Some("mermaid") => Some(Format::Mermaid),
        _ => None,
    }
}

/// Render a trace in a format.
pub fn render(t: &Trace, f: Format) -> String {
    render_with(t, f, None)
}

/// Render a trace in a format, with a violation marked after its last step.
pub fn render_with(t: &Trace, f: Format, violation: Option<&chart::Violation>) -> String {
    match f {
        Format::Mermaid => chart::mermaid_with(t, violation),
        Format::Svg => chart::svg_with(t, violation),
        Format::Html => chart::html_with(t, violation),
    }
}

/// Write a chart to `out` (format from the extension, or given).
pub fn write(t: &Trace, out: &Path, format: Option<Format>) -> Result<(), String> {
    write_with(t, out, format, None)
}

/// Write a chart to `out`, with a violation marked after the last step.
pub fn write_with(
    t: &Trace,
    out: &Path,
    format: Option<Format>,
    violation: Option<&chart::Violation>,
) -> Result<(), String> {
    let f = format.or_else(|| format_of(out)).ok_or_else(|| {
        format!(
            "cannot tell the format of {} from its extension: use .svg, .html or .mmd, or --format",
            out.display()
        )
    })?;
    std::fs::write(out, render_with(t, f, violation))
        .map_err(|e| format!("cannot write {}: {e}", out.display()))
}

/// Run `failover explain`.
pub fn run(a: ExplainArgs) -> ExitCode {
    let loaded = match (&a.pcap, &a.trace) {
        (Some(pcap), _) => crate::pcap_chart::load(pcap, a.port),
        (None, Some(trace)) => failover_conformance::runner::load_file(trace)
            .map(|l| l.trace)
            .map_err(|e| e.to_string()),
        (None, None) => Err("give a trace file or --pcap FILE".to_string()),
    };
    let trace = match loaded {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    match &a.out {
        None => {
            print!("{}", render(&trace, a.format.unwrap_or(Format::Mermaid)));
            ExitCode::SUCCESS
        }
        Some(out) => match write(&trace, out, a.format) {
            Ok(()) => {
                eprintln!("wrote {}", out.display());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(2)
            }
        },
    }
}
