//! `failover traces`: generate the conformance corpus from the model, check that the committed
//! corpus is what the model generates now, and export a trace in ITF.

use std::fs;
use std::path::{Path, PathBuf};

use failover_model::trace::{
    corpus_differences as differences, corpus_files as generated_files, TOPICS,
};
use std::process::ExitCode;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use clap::{Args, Subcommand};
use failover_model::trace;
use failover_trace::Trace;

/// `failover traces ...`
#[derive(Args)]
pub struct TracesArgs {
    #[command(subcommand)]
    pub command: TracesCommand,
}

/// The subcommands of `failover traces`.
#[derive(Subcommand)]
pub enum TracesCommand {
    /// Generate the corpus (coverage, negative, random traces) into the --out folder,
    /// replacing the generated folders, and print the coverage table.
    Generate {
        /// Output folder.
        #[arg(long, default_value = "traces")]
        out: PathBuf,
        /// Do not write: exit 1 if the --out folder differs from what would be generated.
        #[arg(long)]
        check: bool,
    },
    /// Generate the counterexamples that docs/findings.md cites and the corpus leaves out
    /// (`local-time-clt-first`, and the variants whose counterexample is a cycle) into the --out
    /// folder, as negative traces. Minutes and a few GiB: not part of `cargo test`.
    Findings {
        /// Output folder.
        #[arg(long, default_value = "traces/findings")]
        out: PathBuf,
        /// Do not write: exit 1 if a trace in the --out folder differs from what would be
        /// generated.
        #[arg(long)]
        check: bool,
    },
    /// Print one trace in the Informal Trace Format (Apalache, Quint).
    Itf {
        /// The trace file.
        file: PathBuf,
        /// Write here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// Run `failover traces`.
pub fn run(args: TracesArgs) -> ExitCode {
    match args.command {
        TracesCommand::Generate { out, check } => generate(&out, check),
        TracesCommand::Findings { out, check } => findings(&out, check),
        TracesCommand::Itf { file, out } => itf(&file, out.as_deref()),
    }
}

/// Run `f`, saying on stderr that it runs and, every `every`, that it still does: generating
/// the corpus takes minutes, and a silent command looks hung.
fn with_heartbeat<T>(what: &str, every: Duration, f: impl FnOnce() -> T) -> T {
    let t0 = Instant::now();
    eprintln!("{what} ...");
    let done = Arc::new((Mutex::new(false), Condvar::new()));
    let beat = {
        let done = done.clone();
        let what = what.to_string();
        std::thread::spawn(move || {
            let (lock, cv) = &*done;
            let mut finished = lock.lock().unwrap_or_else(|e| e.into_inner());
            while !*finished {
                let (g, timeout) = cv
                    .wait_timeout(finished, every)
                    .unwrap_or_else(|e| e.into_inner());
                finished = g;
                if timeout.timed_out() && !*finished {
                    eprintln!("  ... {what}: {:.0} s so far", t0.elapsed().as_secs_f64());
                }
            }
        })
    };
    let out = f();
    *done.0.lock().unwrap_or_else(|e| e.into_inner()) = true;
    done.1.notify_all();
    let _ = beat.join();
    eprintln!("  ... done in {:.1} s", t0.elapsed().as_secs_f64());
    out
}

fn generate(dir: &Path, check: bool) -> ExitCode {
    let t0 = Instant::now();
    let (files, table) = with_heartbeat(
        "generating the corpus from the model (coverage runs, variant counterexamples, random walks)",
        Duration::from_secs(10),
        generated_files,
    );
    let n = files.len() - 2;
    if check {
        let diffs = differences(dir, &files);
        if diffs.is_empty() {
            println!(
                "{}: the {n} committed traces are what the model generates ({:.1} s)",
                dir.display(),
                t0.elapsed().as_secs_f64()
            );
            return ExitCode::SUCCESS;
        }
        for d in &diffs {
            eprintln!("{d}");
        }
        eprintln!(
            "error: {} differs from what the model generates ({} files); run `failover traces generate --out {}`",
            dir.display(),
            diffs.len(),
            dir.display()
        );
        return ExitCode::FAILURE;
    }
    for topic in TOPICS {
        let p = dir.join(topic);
        if p.exists() {
            if let Err(e) = fs::remove_dir_all(&p) {
                eprintln!("error: cannot clear {}: {e}", p.display());
                return ExitCode::from(2);
            }
        }
    }
    for (rel, text) in &files {
        let p = dir.join(rel);
        if let Some(parent) = p.parent() {
            if let Err(e) = fs::create_dir_all(parent) {
                eprintln!("error: cannot create {}: {e}", parent.display());
                return ExitCode::from(2);
            }
        }
        if let Err(e) = fs::write(&p, text) {
            eprintln!("error: cannot write {}: {e}", p.display());
            return ExitCode::from(2);
        }
    }
    print!("{table}");
    let bytes: usize = files.values().map(|t| t.len()).sum();
    println!(
        "wrote {n} traces ({} KB) to {} in {:.1} s",
        bytes / 1024,
        dir.display(),
        t0.elapsed().as_secs_f64()
    );
    ExitCode::SUCCESS
}

/// `traces findings`: the evidence traces of docs/findings.md that the corpus leaves out.
fn findings(dir: &Path, check: bool) -> ExitCode {
    let t0 = Instant::now();
    let (files, left_out) = with_heartbeat(
        "searching the counterexamples of the variants the corpus leaves out",
        Duration::from_secs(10),
        trace::findings_files,
    );
    let mut missing = false;
    for (v, steps) in &left_out {
        match steps {
            Some(n) => eprintln!(
                "left out: {}: its replay as the RFC is read stops after {n} steps, before any observation differs",
                v.name()
            ),
            None => {
                eprintln!("error: {}: no counterexample found", v.name());
                missing = true;
            }
        }
    }
    if missing {
        return ExitCode::FAILURE;
    }
    if check {
        let diffs: Vec<String> = files
            .iter()
            .filter_map(|(rel, text)| match fs::read_to_string(dir.join(rel)) {
                Ok(t) if &t == text => None,
                Ok(_) => Some(format!("changed: {}", rel.display())),
                Err(_) => Some(format!("missing: {}", rel.display())),
            })
            .collect();
        if diffs.is_empty() {
            println!(
                "{}: the {} committed traces are what the model generates ({:.1} s)",
                dir.display(),
                files.len(),
                t0.elapsed().as_secs_f64()
            );
            return ExitCode::SUCCESS;
        }
        for d in &diffs {
            eprintln!("{d}");
        }
        eprintln!(
            "error: {} differs from what the model generates; run `failover traces findings --out {}`",
            dir.display(),
            dir.display()
        );
        return ExitCode::FAILURE;
    }
    if let Err(e) = fs::create_dir_all(dir) {
        eprintln!("error: cannot create {}: {e}", dir.display());
        return ExitCode::from(2);
    }
    for (rel, text) in &files {
        let p = dir.join(rel);
        if let Err(e) = fs::write(&p, text) {
            eprintln!("error: cannot write {}: {e}", p.display());
            return ExitCode::from(2);
        }
        println!("wrote {}", p.display());
    }
    ExitCode::SUCCESS
}

fn itf(file: &Path, out: Option<&Path>) -> ExitCode {
    // The loader every tool uses: format and version first, then the field at fault.
    let t: Trace = match failover_conformance::runner::load_file(file) {
        Ok(l) => l.trace,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let json = serde_json::to_string_pretty(&failover_trace::to_itf(&t)).unwrap_or_default() + "\n";
    match out {
        Some(p) => {
            if let Err(e) = fs::write(p, json) {
                eprintln!("error: cannot write {}: {e}", p.display());
                return ExitCode::from(2);
            }
        }
        None => print!("{json}"),
    }
    ExitCode::SUCCESS
}
