//! `lookout-helper`: lookout's root helper (docs/helper.md). The program is the
//! `lookout-helper` crate; this file only makes it a binary of the `lookout` package, so it
//! ships and is tested with the agent.

fn main() -> std::process::ExitCode {
    lookout_helper::cli::main(std::env::args().skip(1).collect())
}
