//! The `lookout` binary: parses the command line, dispatches to one module per subcommand and
//! turns the result into an exit code (0 ok, 1 failure, 2 invalid configuration or usage,
//! 3 no running agent). A closed stdout (`lookout status --json | head -1`) exits quietly.

mod autoconf;
mod cli;
mod configfile;
mod control;
mod datadir;
mod factory;
mod history;
mod hostwatch;
mod kubernetes;
mod logging;
mod preflight;
mod remote;
mod runtime_sources;
mod sdnotify;
mod selfmetrics;
mod server;

use clap::Parser;
use std::process::ExitCode;

/// mimalloc instead of glibc's malloc: batches are built on one thread and freed on another
/// (a sink's), which glibc serves with arena locks that showed up as futex contention in the
/// log pipeline's profile; mimalloc frees across threads without a lock.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // Rust ignores SIGPIPE by default; restore the default so `| head` ends us quietly.
    cli::restore_sigpipe();
    let args = cli::Args::parse();
    match cli::dispatch(args) {
        Ok(code) => code,
        Err(e) => {
            if cli::is_broken_pipe(&e) {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
