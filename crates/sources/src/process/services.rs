//! Service attribution by process patterns: which service a process serves.
//!
//! A rule maps executable-name globs to a `service.name`. The configured rules are tried first,
//! then the built-in table. Services marked `inherit` also claim the descendants of their
//! processes that no rule names (apache2 children, a postgres archiver started by a shell
//! script), so a service's footprint includes its whole tree.

use lookout_config::Pattern;
use std::collections::BTreeMap;
use std::sync::Arc;

/// One attribution rule.
#[derive(Debug, Clone)]
pub struct Rule {
    service: Arc<str>,
    names: Vec<Pattern>,
    inherit: bool,
}

/// (service, executable name globs, whether descendants inherit it)
const BUILTIN: &[(&str, &[&str], bool)] = &[
    (
        "mysql",
        &["mysqld", "mariadbd", "mysqld_safe", "mariadbd-safe"],
        true,
    ),
    (
        "postgresql",
        &["postgres", "postmaster", "postgres:*"],
        true,
    ),
    ("redis", &["redis-server", "redis-sentinel"], true),
    ("nginx", &["nginx"], true),
    (
        "apache",
        &["apache2", "httpd", "httpd-prefork", "httpd-worker"],
        true,
    ),
    ("php-fpm", &["php-fpm*"], true),
    ("mongodb", &["mongod", "mongos"], true),
    ("memcached", &["memcached"], true),
    ("rabbitmq", &["rabbitmq-server", "beam.smp", "epmd"], false),
    ("mosquitto", &["mosquitto"], true),
    ("nats", &["nats-server"], true),
    ("haproxy", &["haproxy"], true),
    ("caddy", &["caddy"], true),
    ("traefik", &["traefik"], true),
    ("envoy", &["envoy"], true),
    ("elasticsearch", &["elasticsearch"], true),
    ("clickhouse", &["clickhouse-serv*", "clickhouse"], true),
    ("influxdb", &["influxd"], true),
    ("prometheus", &["prometheus"], true),
    ("node_exporter", &["node_exporter", "prometheus-node"], true),
    ("grafana", &["grafana", "grafana-server"], true),
    ("etcd", &["etcd"], true),
    ("consul", &["consul"], true),
    ("vault", &["vault"], true),
    ("kubelet", &["kubelet"], false),
    ("docker", &["dockerd"], false),
    ("containerd", &["containerd", "containerd-shim*"], false),
    ("sshd", &["sshd"], false),
    ("cron", &["cron", "crond"], false),
    ("rsyslog", &["rsyslogd"], false),
    (
        "systemd-journald",
        &["systemd-journal", "systemd-journald"],
        false,
    ),
    ("postfix", &["master", "qmgr", "pickup"], false),
    ("bind", &["named"], true),
    ("unbound", &["unbound"], true),
    ("chrony", &["chronyd"], false),
    ("ntp", &["ntpd"], false),
    ("lookout", &["lookout"], false),
];

/// The attribution table.
#[derive(Debug, Clone)]
pub struct Services {
    rules: Vec<Rule>,
}

impl Services {
    /// Configured rules first (`service → globs`, inherited by descendants), then the built-ins.
    pub fn new(configured: &BTreeMap<String, Vec<Pattern>>) -> Self {
        let mut rules: Vec<Rule> = configured
            .iter()
            .map(|(s, names)| Rule {
                service: Arc::from(s.as_str()),
                names: names.clone(),
                inherit: true,
            })
            .collect();
        rules.extend(BUILTIN.iter().map(|(s, names, inherit)| Rule {
            service: Arc::from(*s),
            names: names.iter().map(|n| Pattern((*n).to_string())).collect(),
            inherit: *inherit,
        }));
        Services { rules }
    }

    /// The service a process with this executable name serves by its own name, and whether
    /// its descendants inherit it.
    pub fn by_name(&self, name: &str) -> Option<(Arc<str>, bool)> {
        self.rules
            .iter()
            .find(|r| r.names.iter().any(|p| p.matches(name)))
            .map(|r| (r.service.clone(), r.inherit))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_and_configured_rules() {
        let mut conf = BTreeMap::new();
        conf.insert("billing".to_string(), vec![Pattern("billing-*".into())]);
        conf.insert("mydb".to_string(), vec![Pattern("mariadbd".into())]);
        let s = Services::new(&conf);
        assert_eq!(
            s.by_name("billing-api").map(|x| x.0.to_string()),
            Some("billing".into())
        );
        // configured rules win over the built-in table
        assert_eq!(
            s.by_name("mariadbd").map(|x| x.0.to_string()),
            Some("mydb".into())
        );
        assert_eq!(
            s.by_name("mysqld").map(|x| x.0.to_string()),
            Some("mysql".into())
        );
        assert_eq!(
            s.by_name("postgres").map(|x| x.0.to_string()),
            Some("postgresql".into())
        );
        assert_eq!(
            s.by_name("redis-server").map(|x| x.0.to_string()),
            Some("redis".into())
        );
        assert_eq!(s.by_name("nginx"), Some((Arc::from("nginx"), true)));
        assert_eq!(
            s.by_name("apache2").map(|x| x.0.to_string()),
            Some("apache".into())
        );
        assert_eq!(s.by_name("sshd"), Some((Arc::from("sshd"), false)));
        assert_eq!(s.by_name("bash"), None);
    }
}
