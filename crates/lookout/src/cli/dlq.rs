//! `lookout dlq list|show|replay|purge`: the dead-letter directory of the data directory.
//!
//! `replay` sends each entry again (to `--to URL`, or to the endpoint and headers of the sink
//! that dead-lettered it, from the current configuration) and removes the entries that were
//! delivered, so running it twice never sends an entry twice; entries that fail stay, with the
//! reason printed.

use super::{load_config, out, Global};
use lookout_config::SinkKind;
use lookout_sinks::dead_letter::{self, Entry};
use lookout_sinks::otlp_http::{send, signal_url, Outcome};
use serde_json::json;
use std::collections::BTreeMap;
use std::process::ExitCode;

/// What to do.
#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// List the entries.
    List {
        /// Only this sink's.
        #[arg(long)]
        sink: Option<String>,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Show one entry's metadata and a summary of its content.
    Show {
        /// Entry id.
        id: String,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Send entries again; delivered ones are removed.
    Replay {
        /// Entry ids (all when none).
        ids: Vec<String>,
        /// Send to this OTLP/HTTP endpoint instead of the sink's.
        #[arg(long)]
        to: Option<String>,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Remove entries without sending them.
    Purge {
        /// Entry ids (all when none).
        ids: Vec<String>,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
}

fn select(all: Vec<Entry>, ids: &[String]) -> Vec<Entry> {
    if ids.is_empty() {
        all
    } else {
        all.into_iter().filter(|e| ids.contains(&e.id)).collect()
    }
}

/// Entry point.
pub fn main(g: &Global, action: Action) -> anyhow::Result<ExitCode> {
    let dir = super::data_dir(g);
    let all = dead_letter::list(&dir);
    match action {
        Action::List { sink, json } => {
            let list: Vec<Entry> = all
                .into_iter()
                .filter(|e| sink.as_ref().is_none_or(|s| &e.sink == s))
                .collect();
            if json {
                out(&serde_json::to_string(&list)?)?;
            } else if list.is_empty() {
                out(&format!(
                    "no dead-lettered batch in {}",
                    dead_letter::DeadLetters::root(&dir).display()
                ))?;
            } else {
                out(&format!(
                    "{:<32} {:<12} {:<8} {:>7}  REASON",
                    "ID", "SINK", "SIGNAL", "EVENTS"
                ))?;
                for e in &list {
                    out(&format!(
                        "{:<32} {:<12} {:<8} {:>7}  {}",
                        e.id, e.sink, e.signal, e.events, e.reason
                    ))?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Action::Show { id, json } => {
            let Some(e) = all.into_iter().find(|e| e.id == id) else {
                eprintln!("no dead-letter entry `{id}` (see `lookout dlq list`)");
                return Ok(ExitCode::from(1));
            };
            let batch = dead_letter::load(&dir, &e);
            if json {
                let mut v = serde_json::to_value(&e)?;
                if let Ok(b) = &batch {
                    v["content"] = serde_json::from_str(&b.to_json()?)?;
                }
                out(&v.to_string())?;
            } else {
                out(&serde_json::to_string_pretty(&e)?)?;
                match batch {
                    Ok(b) => out(&format!(
                        "content: {} {} item(s), valid OTLP",
                        b.item_count(),
                        e.signal
                    ))?,
                    Err(err) => out(&format!("content: unreadable: {err}"))?,
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Action::Purge { ids, json } => {
            let mut removed = Vec::new();
            for e in select(all, &ids) {
                dead_letter::remove(&dir, &e)?;
                removed.push(e.id);
            }
            if json {
                out(&json!({"purged": removed}).to_string())?;
            } else {
                out(&format!(
                    "purged {} entr{}",
                    removed.len(),
                    if removed.len() == 1 { "y" } else { "ies" }
                ))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Action::Replay { ids, to, json } => {
            let config = match load_config(g, None) {
                Ok(c) => c,
                Err(code) => return Ok(code),
            };
            let entries = select(all, &ids);
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let client = reqwest_client()?;
            let mut report = Vec::new();
            let mut failed = 0;
            for e in entries {
                let target = match (&to, config.sinks.iter().find(|s| s.id == e.sink)) {
                    (Some(url), _) => url::Url::parse(url)
                        .map(|u| (u, BTreeMap::new()))
                        .map_err(|err| format!("bad --to URL: {err}")),
                    (None, Some(s)) => match &s.kind {
                        SinkKind::OtlpHttp(c) => Ok((c.endpoint.0.clone(), c.headers.clone())),
                        _ => Err(format!("sink `{}` is not an OTLP sink; use --to", e.sink)),
                    },
                    (None, None) => Err(format!(
                        "sink `{}` is not in the configuration; use --to URL",
                        e.sink
                    )),
                };
                let result = match target {
                    Err(err) => Err(err),
                    Ok((endpoint, headers)) => match dead_letter::load(&dir, &e) {
                        Err(err) => Err(err),
                        Ok(batch) => {
                            let url = signal_url(&endpoint, batch.signal());
                            match rt.block_on(send(
                                &client,
                                &url,
                                &headers,
                                &batch.encode_protobuf(),
                                None,
                            )) {
                                Outcome::Delivered => {
                                    dead_letter::remove(&dir, &e).map(|_| url).map_err(|err| {
                                        format!("delivered, but cannot remove the entry: {err}")
                                    })
                                }
                                Outcome::Retry(m, _) => Err(m),
                                Outcome::Permanent(m, _, _) => Err(m),
                            }
                        }
                    },
                };
                match result {
                    Ok(url) => report.push(json!({"id": e.id, "replayed": true, "to": lookout_sinks::otlp_http::shown(&url::Url::parse(&url)?) , "events": e.events})),
                    Err(err) => {
                        failed += 1;
                        report.push(json!({"id": e.id, "replayed": false, "error": err}));
                    }
                }
            }
            if json {
                out(&json!({"results": report, "failed": failed}).to_string())?;
            } else {
                for r in &report {
                    if r["replayed"] == true {
                        out(&format!(
                            "replayed {} ({} events) to {}",
                            r["id"].as_str().unwrap_or(""),
                            r["events"],
                            r["to"].as_str().unwrap_or("")
                        ))?;
                    } else {
                        out(&format!(
                            "kept {}: {}",
                            r["id"].as_str().unwrap_or(""),
                            r["error"].as_str().unwrap_or("")
                        ))?;
                    }
                }
                out(&format!(
                    "{} replayed, {failed} kept",
                    report.len() - failed
                ))?;
            }
            Ok(if failed > 0 {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
    }
}

fn reqwest_client() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .user_agent(concat!("lookout/", env!("CARGO_PKG_VERSION")))
        .build()?)
}
