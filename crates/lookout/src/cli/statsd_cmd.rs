//! `lookout statsd parse`: reads StatsD/DogStatsD lines on standard input and prints each
//! parse, or its error, as one JSON object per line; what a developer runs when a client's
//! metrics look wrong. With `--aggregate`, the lines are also aggregated as the agent would
//! (one window) and the resulting OTLP/JSON export requests are printed at the end.

use lookout_statsd::{Aggregator, Line};
use std::io::{BufRead, Write};
use std::process::ExitCode;

/// `lookout statsd ...`
#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// Parse lines from standard input; print one JSON object per line (exit 1 if any line
    /// is invalid).
    Parse {
        /// Also aggregate the valid lines as one flush window and print the OTLP/JSON result.
        #[arg(long)]
        aggregate: bool,
    },
}

/// Runs the command.
pub fn main(action: Action) -> anyhow::Result<ExitCode> {
    let Action::Parse { aggregate } = action;
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut agg = Aggregator::new(lookout_statsd::AggregatorConfig::default());
    let start = lookout_model::now_nanos();
    let mut failed = false;
    let mut input = stdin.lock();
    let mut line = Vec::new();
    loop {
        line.clear();
        if input.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        for l in lookout_statsd::lines(&line) {
            let v = match lookout_statsd::parse_line(l) {
                Ok(parsed) => {
                    if aggregate {
                        let now = lookout_model::now_nanos();
                        match &parsed {
                            Line::Metric(m) => agg.add(m),
                            Line::Event(e) => agg.add_event(e, now),
                            Line::ServiceCheck(c) => agg.add_service_check(c, now),
                        }
                    }
                    parsed.to_json()
                }
                Err(e) => {
                    failed = true;
                    lookout_statsd::error_json(l, &e)
                }
            };
            writeln!(out, "{v}")?;
        }
    }
    if aggregate {
        let f = agg.flush(start, lookout_model::now_nanos(), &[]);
        for b in [f.metrics, f.logs].into_iter().flatten() {
            writeln!(out, "{}", b.to_json()?)?;
        }
    }
    out.flush()?;
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
