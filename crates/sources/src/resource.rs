//! Host resource detection: the attributes that say which machine a batch comes from.
//!
//! [`detect_host_resource`] reads the host name, the machine id, the OS release and the kernel
//! release from files (no command is run), adds the CPU architecture, then the attributes of the
//! config's `resource:` section. It never fails: what cannot be read is left out (or, for the host
//! name, falls back to `HOSTNAME` and then `localhost`).
//!
//! The result never holds `service.name` or `container.id`: New Relic builds a host entity only
//! from resources that carry `host.id` and neither of those, so they are dropped (with a warning)
//! even when the config asks for them.

use lookout_config::ResourceConfig;
use lookout_model::attr;
use lookout_model::otlp::KeyValue;
use lookout_model::semconv::{
    CONTAINER_ID, HOST_ARCH, HOST_ID, HOST_NAME, OS_DESCRIPTION, OS_TYPE, SERVICE_NAME,
};
use std::path::Path;

/// The host resource attributes: `host.name`, `host.id` (when a machine id exists),
/// `host.arch`, `os.type`, `os.description` (when known), then every attribute of `cfg`, which
/// replaces a detected attribute of the same key.
///
/// Every file is read under `root` (the `host.root` setting: `/`, or `/host` in a container).
/// `host.name` is `cfg.hostname` if set, else (with a root other than `/`) the host's
/// `/etc/hostname` (a container's own `/proc/sys/kernel/hostname` is its own UTS name, not the
/// host's), else `/proc/sys/kernel/hostname`, else the `HOSTNAME` environment variable, else
/// `localhost`. `host.id` is `/etc/machine-id` (or `/var/lib/dbus/machine-id`).
/// `os.description` is `PRETTY_NAME` from `/etc/os-release` (or `/usr/lib/os-release`) followed
/// by the kernel release, e.g. `Debian GNU/Linux 12 (bookworm) (Linux 6.1.0)`.
pub fn detect_host_resource(cfg: &ResourceConfig, root: &Path) -> Vec<KeyValue> {
    detect_at(
        cfg,
        root,
        std::env::var("HOSTNAME").ok(),
        std::env::consts::ARCH,
    )
}

/// [`detect_host_resource`] with the files read under `root` and the environment passed in.
fn detect_at(
    cfg: &ResourceConfig,
    root: &Path,
    env_hostname: Option<String>,
    rust_arch: &str,
) -> Vec<KeyValue> {
    let mut attrs = Vec::with_capacity(5 + cfg.attributes.len());

    let host_name = non_empty(cfg.hostname.clone())
        .or_else(|| {
            if root == Path::new("/") {
                None
            } else {
                read_trimmed(&root.join("etc/hostname"))
            }
        })
        .or_else(|| read_trimmed(&root.join("proc/sys/kernel/hostname")))
        .or_else(|| non_empty(env_hostname))
        .unwrap_or_else(|| "localhost".to_string());
    attrs.push(attr::str(HOST_NAME, host_name));

    if let Some(id) = machine_id(root) {
        attrs.push(attr::str(HOST_ID, id));
    }
    attrs.push(attr::str(HOST_ARCH, otel_arch(rust_arch)));
    attrs.push(attr::str(OS_TYPE, "linux"));
    if let Some(description) = os_description(root) {
        attrs.push(attr::str(OS_DESCRIPTION, description));
    }

    for (key, value) in &cfg.attributes {
        if key == SERVICE_NAME || key == CONTAINER_ID {
            tracing::warn!(
                "ignoring resource attribute `{key}`: host metrics must not carry it (New Relic \
                 builds the host entity only from resources without service.name and container.id)"
            );
            continue;
        }
        let kv = attr::str(key.as_str(), value.as_str());
        match attrs.iter_mut().find(|a| a.key == *key) {
            Some(existing) => *existing = kv,
            None => attrs.push(kv),
        }
    }
    attrs
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

/// The file's contents without surrounding whitespace, if it can be read and is not blank.
fn read_trimmed(path: &Path) -> Option<String> {
    non_empty(std::fs::read_to_string(path).ok())
}

/// `/etc/machine-id`, or D-Bus's copy on systems without systemd. systemd writes
/// `uninitialized` there until first boot completes: that is no id.
fn machine_id(root: &Path) -> Option<String> {
    ["etc/machine-id", "var/lib/dbus/machine-id"]
        .iter()
        .filter_map(|p| read_trimmed(&root.join(p)))
        .find(|id| id != "uninitialized")
}

/// The OpenTelemetry `host.arch` value for a Rust `target_arch`.
fn otel_arch(rust_arch: &str) -> &str {
    match rust_arch {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "x86",
        "arm" => "arm32",
        "powerpc" => "ppc32",
        "powerpc64" => "ppc64",
        other => other,
    }
}

fn os_description(root: &Path) -> Option<String> {
    let pretty = ["etc/os-release", "usr/lib/os-release"]
        .iter()
        .filter_map(|p| std::fs::read_to_string(root.join(p)).ok())
        .find_map(|text| {
            os_release_value(&text, "PRETTY_NAME").or_else(|| os_release_value(&text, "NAME"))
        });
    let kernel = read_trimmed(&root.join("proc/sys/kernel/osrelease"));
    match (pretty, kernel) {
        (Some(p), Some(k)) => Some(format!("{p} (Linux {k})")),
        (Some(p), None) => Some(p),
        (None, Some(k)) => Some(format!("Linux {k}")),
        (None, None) => None,
    }
}

/// The value of `key` in an os-release file: `KEY=value`, `KEY="value"` or `KEY='value'`, with
/// backslash escapes inside double quotes. Blank values count as absent.
fn os_release_value(text: &str, key: &str) -> Option<String> {
    let raw = text.lines().find_map(|line| {
        let (k, v) = line.trim().split_once('=')?;
        (k.trim() == key).then_some(v.trim())
    })?;
    let value = if let Some(inner) = raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
        let mut out = String::with_capacity(inner.len());
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                if let Some(escaped) = chars.next() {
                    out.push(escaped);
                }
            } else {
                out.push(c);
            }
        }
        out
    } else if let Some(inner) = raw.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')) {
        inner.to_string()
    } else {
        raw.to_string()
    };
    non_empty(Some(value))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::fs;

    fn write(root: &Path, path: &str, text: &str) {
        let full = root.join(path);
        fs::create_dir_all(full.parent().unwrap()).unwrap();
        fs::write(full, text).unwrap();
    }

    fn as_pairs(attrs: &[KeyValue]) -> Vec<(String, String)> {
        attrs
            .iter()
            .map(|kv| (kv.key.clone(), attr::value_to_string(kv.value.as_ref())))
            .collect()
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn detects_from_files_under_a_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "proc/sys/kernel/hostname", "web-1\n");
        write(root, "proc/sys/kernel/osrelease", "6.1.0-18-amd64\n");
        write(root, "etc/machine-id", "0123456789abcdef0123456789abcdef\n");
        write(
            root,
            "var/lib/dbus/machine-id",
            "ffffffffffffffffffffffffffffffff\n",
        );
        write(
            root,
            "etc/os-release",
            "NAME=\"Debian GNU/Linux\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\n",
        );
        let attrs = detect_at(
            &ResourceConfig::default(),
            root,
            Some("env-host".into()),
            "x86_64",
        );
        assert_eq!(
            as_pairs(&attrs),
            pairs(&[
                (HOST_NAME, "web-1"),
                (HOST_ID, "0123456789abcdef0123456789abcdef"),
                (HOST_ARCH, "amd64"),
                (OS_TYPE, "linux"),
                (
                    OS_DESCRIPTION,
                    "Debian GNU/Linux 12 (bookworm) (Linux 6.1.0-18-amd64)"
                ),
            ])
        );
    }

    #[test]
    fn under_another_root_the_host_name_is_the_hosts_etc_hostname() {
        // a fake host root made of this machine's real files
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for f in ["etc/os-release", "proc/sys/kernel/osrelease"] {
            let text = fs::read_to_string(Path::new("/").join(f)).unwrap();
            write(root, f, &text);
        }
        // what a container reads there is its own UTS name
        write(root, "proc/sys/kernel/hostname", "lookout-pod-x7\n");
        write(root, "etc/hostname", "node-3.example\n");
        let attrs = detect_at(&ResourceConfig::default(), root, None, "x86_64");
        assert_eq!(attr::get_str(&attrs, HOST_NAME), Some("node-3.example"));
        let kernel = fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
        let desc = attr::get_str(&attrs, OS_DESCRIPTION).unwrap();
        assert!(
            desc.ends_with(&format!("(Linux {})", kernel.trim())),
            "{desc}"
        );
        // without /etc/hostname, the kernel's
        fs::remove_file(root.join("etc/hostname")).unwrap();
        let attrs = detect_at(&ResourceConfig::default(), root, None, "x86_64");
        assert_eq!(attr::get_str(&attrs, HOST_NAME), Some("lookout-pod-x7"));
    }

    #[test]
    fn config_overrides_and_adds_but_never_service_or_container() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "proc/sys/kernel/hostname", "web-1\n");
        write(root, "etc/machine-id", "abc\n");
        let mut cfg = ResourceConfig {
            hostname: Some("db-7".into()),
            ..Default::default()
        };
        for (k, v) in [
            ("environment", "prod"),
            (HOST_ARCH, "custom"),
            (SERVICE_NAME, "x"),
            (CONTAINER_ID, "y"),
        ] {
            cfg.attributes.insert(k.into(), v.into());
        }
        let attrs = detect_at(&cfg, root, None, "aarch64");
        assert_eq!(
            as_pairs(&attrs),
            pairs(&[
                (HOST_NAME, "db-7"),
                (HOST_ID, "abc"),
                (HOST_ARCH, "custom"),
                (OS_TYPE, "linux"),
                ("environment", "prod"),
            ])
        );
    }

    #[test]
    fn fallbacks_when_files_are_missing() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        // Nothing at all: HOSTNAME, no host.id, no os.description.
        let attrs = detect_at(
            &ResourceConfig::default(),
            root,
            Some(" box \n".into()),
            "riscv64",
        );
        assert_eq!(
            as_pairs(&attrs),
            pairs(&[
                (HOST_NAME, "box"),
                (HOST_ARCH, "riscv64"),
                (OS_TYPE, "linux")
            ])
        );
        let attrs = detect_at(&ResourceConfig::default(), root, None, "x86_64");
        assert_eq!(attr::get_str(&attrs, HOST_NAME), Some("localhost"));

        // D-Bus's machine id when systemd's is not initialized; os-release from /usr/lib with
        // single quotes; blank hostname file ignored.
        write(root, "etc/machine-id", "uninitialized\n");
        write(root, "var/lib/dbus/machine-id", "d-bus-id\n");
        write(
            root,
            "usr/lib/os-release",
            "PRETTY_NAME='Alpine Linux v3.19'\n",
        );
        write(root, "proc/sys/kernel/hostname", "\n");
        let attrs = detect_at(&ResourceConfig::default(), root, None, "x86_64");
        assert_eq!(attr::get_str(&attrs, HOST_NAME), Some("localhost"));
        assert_eq!(attr::get_str(&attrs, HOST_ID), Some("d-bus-id"));
        assert_eq!(
            attr::get_str(&attrs, OS_DESCRIPTION),
            Some("Alpine Linux v3.19")
        );

        // Only the kernel release.
        fs::remove_file(root.join("usr/lib/os-release")).unwrap();
        write(root, "proc/sys/kernel/osrelease", "6.18.44\n");
        let attrs = detect_at(&ResourceConfig::default(), root, None, "x86_64");
        assert_eq!(attr::get_str(&attrs, OS_DESCRIPTION), Some("Linux 6.18.44"));
    }

    #[test]
    fn os_release_values() {
        let text = "NAME=Fedora\nPRETTY_NAME=\"Fedora \\\"Linux\\\" 40\"\nEMPTY=\"\"\n";
        assert_eq!(os_release_value(text, "NAME").as_deref(), Some("Fedora"));
        assert_eq!(
            os_release_value(text, "PRETTY_NAME").as_deref(),
            Some("Fedora \"Linux\" 40")
        );
        assert_eq!(os_release_value(text, "EMPTY"), None);
        assert_eq!(os_release_value(text, "MISSING"), None);
    }

    #[test]
    fn real_host() {
        let attrs = detect_host_resource(&ResourceConfig::default(), Path::new("/"));
        let name = attr::get_str(&attrs, HOST_NAME).unwrap();
        assert!(!name.is_empty());
        assert_eq!(attr::get_str(&attrs, OS_TYPE), Some("linux"));
        if let Ok(id) = fs::read_to_string("/etc/machine-id") {
            if !id.trim().is_empty() && id.trim() != "uninitialized" {
                assert_eq!(attr::get_str(&attrs, HOST_ID), Some(id.trim()));
            }
        }
        assert!(attr::get(&attrs, SERVICE_NAME).is_none());
        assert!(attr::get(&attrs, CONTAINER_ID).is_none());
    }
}
