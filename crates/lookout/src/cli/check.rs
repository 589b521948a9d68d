//! `lookout check SERVICE`: one collection of one integration, printed; or why it could not
//! collect. SERVICE is a configured source id (from `--config`), or `redis`, `nginx` or
//! `apache` with `--endpoint` (and for Redis `--username` and `--password-env`).

use lookout_config::{Endpoint, HttpStatusConfig, RedisConfig};
use lookout_integrations::{CollectState, Integration, Service};
use lookout_model::Batch;
use std::process::ExitCode;

/// Options of `lookout check`.
#[derive(Debug, clap::Args)]
pub struct Options {
    /// A configured source id, or `redis`, `nginx`, `apache`, `mysql`, `postgresql`.
    pub service: String,
    /// The server (Redis `host:port` or socket path; the status page URL for nginx and Apache).
    #[arg(long)]
    pub endpoint: Option<String>,
    /// The user (Redis ACL user, MySQL/PostgreSQL monitoring user; default `lookout`).
    #[arg(long)]
    pub username: Option<String>,
    /// The environment variable holding the password (never on the command line).
    #[arg(long)]
    pub password_env: Option<String>,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
    /// Run this many collections (one connection each, as the agent does) and report the mean
    /// wall and CPU time of one: what an integration costs.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub repeat: u32,
}

fn service_of(g: &super::Global, o: &Options) -> Result<Service, String> {
    let from_config = || -> Result<Option<Service>, String> {
        let Ok(config) =
            lookout_config::load(g.config.as_deref(), &g.set, &lookout_config::process_env)
        else {
            return Ok(None);
        };
        Ok(config
            .sources
            .iter()
            .find(|s| s.id == o.service)
            .and_then(|s| super::diagnose::service_of(&s.kind)))
    };
    if o.endpoint.is_none() {
        if let Some(s) = from_config()? {
            return Ok(s);
        }
    }
    let url = |default: &str| -> Result<Endpoint, String> {
        let text = o.endpoint.clone().unwrap_or_else(|| default.to_string());
        url::Url::parse(&text)
            .map(Endpoint)
            .map_err(|e| format!("invalid --endpoint `{text}`: {e}"))
    };
    let http = |e: Endpoint| HttpStatusConfig {
        endpoint: e,
        interval: lookout_config::Duration::from_secs(10),
        timeout: lookout_config::Duration::from_secs(5),
        attributes: Default::default(),
    };
    let password = || -> Result<Option<String>, String> {
        match &o.password_env {
            Some(var) => std::env::var(var)
                .map(Some)
                .map_err(|_| format!("--password-env {var}: the variable is not set")),
            None => Ok(None),
        }
    };
    match o.service.as_str() {
        "redis" => Ok(Service::Redis(RedisConfig {
            endpoint: o.endpoint.clone().unwrap_or_else(|| "127.0.0.1:6379".into()),
            username: o.username.clone(),
            password: password()?,
            ..RedisConfig::default()
        })),
        "mysql" => Ok(Service::Mysql(lookout_config::MysqlConfig {
            endpoint: o.endpoint.clone().unwrap_or_else(|| "127.0.0.1:3306".into()),
            username: o.username.clone().unwrap_or_else(|| "lookout".into()),
            password: password()?,
            table_sizes: 0,
            interval: lookout_config::Duration::from_secs(10),
            timeout: lookout_config::Duration::from_secs(10),
            attributes: Default::default(),
        })),
        "postgresql" => Ok(Service::Postgresql(lookout_config::PostgresqlConfig {
            endpoint: o.endpoint.clone().unwrap_or_else(|| "127.0.0.1:5432".into()),
            username: o.username.clone().unwrap_or_else(|| "lookout".into()),
            password: password()?,
            databases: Vec::new(),
            max_tables: 20,
            interval: lookout_config::Duration::from_secs(10),
            timeout: lookout_config::Duration::from_secs(10),
            attributes: Default::default(),
        })),
        "nginx" => Ok(Service::Nginx(http(url("http://127.0.0.1/nginx_status")?))),
        "apache" => Ok(Service::Apache(http(url("http://127.0.0.1/server-status?auto")?))),
        other => Err(format!(
            "`{other}` is neither a configured integration source nor one of redis, nginx, apache, mysql, postgresql"
        )),
    }
}

/// One series of the result, for printing.
fn series(batch: &Batch) -> Vec<serde_json::Value> {
    let Ok(text) = batch.to_json() else {
        return Vec::new();
    };
    let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for rm in v["resourceMetrics"].as_array().into_iter().flatten() {
        for sm in rm["scopeMetrics"].as_array().into_iter().flatten() {
            for m in sm["metrics"].as_array().into_iter().flatten() {
                let (kind, data) = if let Some(d) = m.get("sum") {
                    ("sum", d)
                } else if let Some(d) = m.get("gauge") {
                    ("gauge", d)
                } else {
                    continue;
                };
                for p in data["dataPoints"].as_array().into_iter().flatten() {
                    let value = p
                        .get("asInt")
                        .and_then(|v| {
                            v.as_str()
                                .and_then(|s| s.parse::<f64>().ok())
                                .or(v.as_f64())
                        })
                        .or_else(|| p.get("asDouble").and_then(|v| v.as_f64()))
                        .unwrap_or(0.0);
                    let attrs: serde_json::Map<String, serde_json::Value> = p["attributes"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|kv| {
                            let v = kv["value"].as_object()?.values().next()?.clone();
                            Some((kv["key"].as_str()?.to_string(), v))
                        })
                        .collect();
                    out.push(serde_json::json!({
                        "name": m["name"], "unit": m["unit"], "type": kind,
                        "attributes": attrs, "value": value,
                    }));
                }
            }
        }
    }
    out
}

/// Runs the command: exit 0 when the collection worked, 1 when it failed, 2 for bad options.
pub fn main(g: &super::Global, o: Options) -> anyhow::Result<ExitCode> {
    let service = match service_of(g, &o) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(super::EXIT_CONFIG));
        }
    };
    let integration = match Integration::new(service, &[]) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut state = CollectState::default();
    // the first collection is not counted in a repeated run: it pays one-time costs
    let first = std::time::Instant::now();
    let mut result = rt.block_on(integration.collect(&mut state));
    let first_took = first.elapsed();
    let (cpu0, started) = (super::cpu_time(), std::time::Instant::now());
    for _ in 1..o.repeat {
        if result.is_err() {
            break;
        }
        result = rt.block_on(integration.collect(&mut state));
    }
    let runs = o.repeat.saturating_sub(1).max(1);
    let (took, cpu) = if o.repeat > 1 {
        (
            started.elapsed() / runs,
            (super::cpu_time().saturating_sub(cpu0)) / runs,
        )
    } else {
        (first_took, std::time::Duration::ZERO)
    };
    let name = integration.service().name();
    let endpoint = integration.service().endpoint();
    match result {
        Ok(batch) => {
            let s = series(&batch);
            if o.json {
                println!(
                    "{}",
                    serde_json::json!({"service": name, "endpoint": endpoint, "ok": true, "notes": state.notes,
                        "took_ms": took.as_secs_f64() * 1000.0,
                        "cpu_ms": (o.repeat > 1).then_some(cpu.as_secs_f64() * 1000.0),
                        "collections": o.repeat, "series": s})
                );
            } else {
                if o.repeat > 1 {
                    println!(
                        "{name} at {endpoint}: OK, {} series; per collection over {} runs: {:.2} ms wall, {:.3} ms CPU",
                        s.len(),
                        o.repeat - 1,
                        took.as_secs_f64() * 1000.0,
                        cpu.as_secs_f64() * 1000.0
                    );
                } else {
                    println!(
                        "{name} at {endpoint}: OK, {} series in {:.1} ms",
                        s.len(),
                        took.as_secs_f64() * 1000.0
                    );
                }
                for n in &state.notes {
                    println!("  note: {n}");
                }
                for x in &s {
                    let attrs: Vec<String> = x["attributes"]
                        .as_object()
                        .into_iter()
                        .flatten()
                        .map(|(k, v)| {
                            format!(
                                "{k}={}",
                                v.as_str().map(String::from).unwrap_or(v.to_string())
                            )
                        })
                        .collect();
                    let a = if attrs.is_empty() {
                        String::new()
                    } else {
                        format!("{{{}}}", attrs.join(","))
                    };
                    println!(
                        "  {}{a} = {} {}",
                        x["name"].as_str().unwrap_or(""),
                        x["value"],
                        x["unit"].as_str().unwrap_or("")
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            if o.json {
                println!(
                    "{}",
                    serde_json::json!({"service": name, "endpoint": endpoint, "ok": false,
                        "error": {"kind": e.kind, "message": e.message, "hint": e.hint}})
                );
            } else {
                eprintln!("{name} at {endpoint}: FAILED ({}): {}", e.kind, e.message);
                if let Some(h) = &e.hint {
                    eprintln!("  hint: {h}");
                }
            }
            Ok(ExitCode::FAILURE)
        }
    }
}
