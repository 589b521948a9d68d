//! `lookout redact test`: applies redaction rules to lines read on standard input and prints
//! the result, so a rule can be tried on a real sample before it goes into the configuration.
//! The rules come from a `redact` processor of the configuration (`--processor ID`), or from
//! the command line (built-ins by default, `--rule`, `--key`).

use lookout_config::{ProcessorKind, RedactConfig, RedactRule};
use lookout_processors::Redactor;
use std::io::{BufRead, Write};
use std::process::ExitCode;

/// `lookout redact ...`
#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// Redact standard input line by line and print the result (hits per rule on stderr).
    Test {
        /// Use the rules of this `redact` processor from the configuration.
        #[arg(long, value_name = "ID", conflicts_with_all = ["builtin", "no_builtins", "rule"])]
        processor: Option<String>,
        /// Built-in rules to apply (repeatable; default: the configuration default).
        #[arg(long, value_name = "NAME")]
        builtin: Vec<String>,
        /// Apply no built-in rule.
        #[arg(long)]
        no_builtins: bool,
        /// A custom rule `NAME=PATTERN` or `NAME=PATTERN=>REPLACEMENT` (repeatable).
        #[arg(long, value_name = "RULE")]
        rule: Vec<String>,
        /// An attribute key to treat as sensitive (repeatable; for key=value text, see the
        /// `password_assignment` rule).
        #[arg(long, value_name = "KEY")]
        key: Vec<String>,
        /// One JSON object per line: {"line", "redacted", "changed"}.
        #[arg(long)]
        json: bool,
    },
}

/// Runs the command.
pub fn main(g: &super::Global, action: Action) -> anyhow::Result<ExitCode> {
    let Action::Test {
        processor,
        builtin,
        no_builtins,
        rule,
        key,
        json,
    } = action;
    let cfg = match processor {
        Some(id) => {
            let config = match super::load_config(g, None) {
                Ok(c) => c,
                Err(code) => return Ok(code),
            };
            let found = config.processors.iter().find_map(|p| match &p.kind {
                ProcessorKind::Redact(r) if p.id == id => Some(r.clone()),
                _ => None,
            });
            match found {
                Some(r) => r,
                None => {
                    eprintln!("error: the configuration has no `redact` processor `{id}`");
                    return Ok(ExitCode::from(super::EXIT_CONFIG));
                }
            }
        }
        None => {
            let mut cfg = RedactConfig::default();
            if no_builtins {
                cfg.builtins.clear();
            } else if !builtin.is_empty() {
                cfg.builtins = builtin;
            }
            for r in &rule {
                let Some((name, rest)) = r.split_once('=') else {
                    eprintln!(
                        "error: --rule `{r}`: write NAME=PATTERN or NAME=PATTERN=>REPLACEMENT"
                    );
                    return Ok(ExitCode::from(super::EXIT_CONFIG));
                };
                let (pattern, replacement) = match rest.split_once("=>") {
                    Some((p, rep)) => (p.to_string(), rep.to_string()),
                    None => (rest.to_string(), "[REDACTED]".to_string()),
                };
                cfg.rules.push(RedactRule {
                    name: name.to_string(),
                    pattern,
                    replacement,
                });
            }
            cfg.sensitive_keys = key;
            cfg
        }
    };
    let redactor = match Redactor::new(&cfg) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(super::EXIT_CONFIG));
        }
    };
    let stdin = std::io::stdin();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut line = String::new();
    let mut input = stdin.lock();
    loop {
        line.clear();
        if input.read_line(&mut line)? == 0 {
            break;
        }
        let text = line.strip_suffix('\n').unwrap_or(&line);
        let text = text.strip_suffix('\r').unwrap_or(text);
        let redacted = redactor.redact_str(text);
        if json {
            let v = serde_json::json!({
                "line": text,
                "redacted": redacted.as_deref().unwrap_or(text),
                "changed": redacted.is_some(),
            });
            writeln!(out, "{v}")?;
        } else {
            writeln!(out, "{}", redacted.as_deref().unwrap_or(text))?;
        }
    }
    out.flush()?;
    let hits: Vec<String> = redactor
        .rule_hits()
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(r, n)| format!("{r}={n}"))
        .collect();
    eprintln!(
        "hits: {}",
        if hits.is_empty() {
            "none".to_string()
        } else {
            hits.join(" ")
        }
    );
    Ok(ExitCode::SUCCESS)
}
