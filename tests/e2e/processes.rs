//! Process telemetry against procps `ps`, real child processes, and the running agent.

use crate::support::*;
use serde_json::Value;
use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Children killed on drop.
struct Kids(Vec<Child>);

impl Drop for Kids {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
        }
        for c in &mut self.0 {
            let _ = c.wait();
        }
    }
}

fn snapshot(args: &[&str]) -> Value {
    let mut all = vec!["processes", "--local", "--json"];
    all.extend_from_slice(args);
    let (code, out, err) = lookout(&all);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).unwrap()
}

#[derive(Debug, PartialEq, Clone)]
struct PsRow {
    ppid: u32,
    rss: u64,
    vsz: u64,
    nlwp: u64,
    state: char,
    comm: String,
    args: String,
}

fn ps() -> HashMap<u32, PsRow> {
    require("ps", "apt-get install procps");
    let o = Command::new("ps")
        .args(["-eo", "pid=,ppid=,rss=,vsz=,nlwp=,stat=,comm=,args=", "-ww"])
        .output()
        .unwrap();
    let mut rows = HashMap::new();
    for line in String::from_utf8_lossy(&o.stdout).lines() {
        let mut f = line.split_whitespace();
        let pid: u32 = f.next().unwrap().parse().unwrap();
        let row = PsRow {
            ppid: f.next().unwrap().parse().unwrap(),
            rss: f.next().unwrap().parse().unwrap(),
            vsz: f.next().unwrap().parse().unwrap(),
            nlwp: f.next().unwrap().parse().unwrap(),
            state: f.next().unwrap().chars().next().unwrap(),
            comm: f.next().unwrap().to_string(),
            args: f.collect::<Vec<_>>().join(" "),
        };
        rows.insert(pid, row);
    }
    rows
}

/// Every process present in both lookout and `ps` (and unchanged between a `ps` taken before
/// and one taken after) matches exactly; processes that changed are detected and counted.
#[test]
fn matches_ps_for_every_stable_process() {
    let before = ps();
    let snap = snapshot(&["--top", "1000000", "--sample-ms", "50"]);
    let after = ps();
    let mut compared = 0;
    let mut changed = 0;
    for p in snap["reported"].as_array().unwrap() {
        let pid = p["pid"].as_u64().unwrap() as u32;
        let (Some(b), Some(a)) = (before.get(&pid), after.get(&pid)) else {
            continue;
        };
        if a != b {
            changed += 1; // it changed while we looked: detected, not compared
            continue;
        }
        compared += 1;
        let ctx = format!("pid {pid}: lookout {p} vs ps {a:?}");
        assert_eq!(p["ppid"].as_u64().unwrap() as u32, a.ppid, "{ctx}");
        assert_eq!(p["rss_bytes"].as_u64().unwrap() / 1024, a.rss, "{ctx}");
        assert_eq!(p["vms_bytes"].as_u64().unwrap() / 1024, a.vsz, "{ctx}");
        assert_eq!(p["threads"].as_u64().unwrap(), a.nlwp, "{ctx}");
        // a process that used CPU while we looked can change state between any two reads, and
        // a sleeping one that woke for a moment is seen running by one reader and not the other
        let lookout_state = p["state"].as_str().unwrap().chars().next().unwrap();
        if p["cpu_cores"].as_f64().unwrap_or(0.0) < 0.01 && lookout_state != 'R' && a.state != 'R' {
            assert_eq!(
                p["state"].as_str().unwrap().chars().next().unwrap(),
                a.state,
                "{ctx}"
            );
        }
        // ps cuts names at 15 characters (TASK_COMM_LEN); kernel threads show longer ones
        let name: String = p["name"].as_str().unwrap().chars().take(15).collect();
        assert_eq!(name, a.comm, "{ctx}");
        let cmd = p["command_line"].as_str().unwrap();
        if cmd.is_empty() {
            // ps shows a kernel thread's (or a zombie's) full name in brackets, and marks a
            // zombie with " <defunct>", which is its state, already compared above
            let args = a.args.strip_suffix(" <defunct>").unwrap_or(&a.args);
            assert_eq!(args, format!("[{}]", p["name"].as_str().unwrap()), "{ctx}");
        } else if cmd.len() < 1024 {
            // ps prints arguments separated by spaces; compare word by word (an empty
            // argument is two spaces in lookout's line, nothing in ps' split columns)
            let words: Vec<&str> = cmd.split_whitespace().collect();
            assert_eq!(words.join(" "), a.args, "{ctx}");
        }
    }
    eprintln!("compared {compared} processes, {changed} changed between reads");
    assert!(
        compared >= 10,
        "too few stable processes compared: {compared} (changed {changed})"
    );
    assert!(
        changed * 4 <= compared,
        "too many changed: {changed} of {}",
        compared + changed
    );
}

fn ticks(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = after.split_whitespace().collect();
    // fields 14 and 15 of stat (utime, stime) are 12 and 13 after the state
    (f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap()) / 100.0
}

#[test]
fn duty_cycle_is_measured_within_ten_points() {
    require("python3", "apt-get install python3");
    let busy = "import time\nwhile True:\n    t = time.monotonic()\n    while time.monotonic() - t < 0.05: pass\n    time.sleep(0.05)\n";
    // the interpreter itself, not a version-manager shim that would fork it
    let exe = Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .unwrap();
    let python = String::from_utf8(exe.stdout).unwrap().trim().to_string();
    // high priority where allowed (root), so other load on the machine cannot starve the
    // child below its duty cycle
    let mut busy_cmd = if Command::new("nice")
        .args(["-n", "-15", "true"])
        .status()
        .is_ok_and(|s| s.success())
    {
        let mut c = Command::new("nice");
        c.args(["-n", "-15", &python]);
        c
    } else {
        Command::new(&python)
    };
    let kids = Kids(vec![
        busy_cmd.args(["-c", busy]).spawn().unwrap(),
        Command::new("sleep").arg("600").spawn().unwrap(),
    ]);
    std::thread::sleep(Duration::from_millis(300));
    let (pid_busy, pid_idle) = (kids.0[0].id(), kids.0[1].id());
    let t0 = std::time::Instant::now();
    let c0 = ticks(pid_busy);
    let snap = snapshot(&["--top", "1000000", "--sample-ms", "3000"]);
    let independent = (ticks(pid_busy) - c0) / t0.elapsed().as_secs_f64();
    let get = |pid: u32| {
        snap["reported"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["pid"] == pid)
            .unwrap_or_else(|| panic!("pid {pid} not reported"))
            .clone()
    };
    let busy_cores = get(pid_busy)["cpu_cores"].as_f64().unwrap();
    let idle_cores = get(pid_idle)["cpu_cores"].as_f64().unwrap();
    eprintln!(
        "busy child: lookout {:.1}%, independent {:.1}%",
        busy_cores * 100.0,
        independent * 100.0
    );
    assert!(
        (busy_cores - independent).abs() <= 0.05,
        "lookout {busy_cores} vs the child's own ticks {independent}"
    );
    assert!(
        (busy_cores - 0.5).abs() <= 0.10,
        "50% duty cycle measured as {:.1}% (the child's ticks say {:.1}%)",
        busy_cores * 100.0,
        independent * 100.0
    );
    assert!(
        idle_cores < 0.01,
        "idle measured as {:.2}%",
        idle_cores * 100.0
    );
    let host = get(pid_busy)["cpu_host"].as_f64().unwrap();
    let cpus = snap["cpus"].as_f64().unwrap();
    assert!(
        (host * cpus - busy_cores).abs() < 1e-9,
        "host share = cores / cpus"
    );
}

/// With 1,000 extra processes, what is reported stays bounded and the roll-ups add up.
#[test]
fn a_thousand_processes_stay_bounded_and_roll_ups_add_up() {
    let mut kids = Kids(Vec::new());
    for _ in 0..1000 {
        kids.0.push(
            Command::new("sleep")
                .arg("600")
                .stdin(Stdio::null())
                .spawn()
                .unwrap(),
        );
    }
    let snap = snapshot(&["--top", "5", "--sample-ms", "100"]);
    let reported = snap["reported"].as_array().unwrap();
    assert!(
        reported.len() <= 10,
        "top 5 by CPU ∪ top 5 by memory: {}",
        reported.len()
    );
    let rollups = snap["rollups"].as_array().unwrap();
    assert!(rollups.len() <= 21, "20 groups + other: {}", rollups.len());
    assert!(snap["processes"].as_u64().unwrap() >= 1000);
    let sum = |key: &str| -> u64 {
        reported
            .iter()
            .map(|p| p[key].as_u64().unwrap())
            .sum::<u64>()
            + rollups
                .iter()
                .map(|g| g[key].as_u64().unwrap())
                .sum::<u64>()
    };
    assert_eq!(
        sum("rss_bytes"),
        snap["total"]["rss_bytes"].as_u64().unwrap()
    );
    assert_eq!(
        sum("vms_bytes"),
        snap["total"]["vms_bytes"].as_u64().unwrap()
    );
    let count = reported.len() as u64
        + rollups
            .iter()
            .map(|g| g["processes"].as_u64().unwrap())
            .sum::<u64>();
    assert_eq!(count, snap["total"]["processes"].as_u64().unwrap());
    let sleep = rollups
        .iter()
        .find(|g| g["name"] == "sleep")
        .expect("a roll-up for sleep");
    assert!(sleep["processes"].as_u64().unwrap() >= 990);

    // the running agent: series per scan stay at the bound
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("p.jsonl");
    let cfg = format!(
        "sources:\n  procs: {{type: process_metrics, interval: 500ms, top_n: 5, lifecycle_events: false}}\nsinks:\n  out: {{type: file, inputs: [procs], path: {}}}\n",
        out.display()
    );
    let mut a = Agent::start(Some(&cfg), &[]);
    a.wait_ready();
    let batches = wait_for(Duration::from_secs(15), || {
        let text = std::fs::read_to_string(&out).ok()?;
        let v: Vec<Value> = text
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        (v.len() >= 2).then_some(v)
    })
    .unwrap();
    for b in &batches {
        let resources = b["resourceMetrics"].as_array().unwrap().len();
        // ≤ 10 processes + ≤ 21 roll-ups + services
        assert!(
            resources <= 10 + 21 + 40,
            "{resources} resources in one scan"
        );
    }
    assert_eq!(a.stop(), 0);
}

#[test]
fn agent_serves_processes_and_lifecycle_events() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("p.jsonl");
    let cfg = format!(
        "sources:\n  procs: {{type: process_metrics, interval: 1s, lifecycle_interval: 200ms}}\nsinks:\n  out: {{type: file, inputs: [procs], path: {}}}\n  prom: {{type: prometheus, inputs: [procs], path: /metrics/processes}}\n",
        out.display()
    );
    let mut a = Agent::start(Some(&cfg), &[]);
    a.wait_ready();
    // a process that starts and exits while the agent watches
    std::thread::sleep(Duration::from_millis(600));
    let mut child = Command::new("sleep").arg("1").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    let events = wait_for(Duration::from_secs(10), || {
        let text = std::fs::read_to_string(&out).ok()?;
        let mut seen = Vec::new();
        for line in text.lines() {
            let Ok(v) = serde_json::from_str::<Value>(line) else {
                continue;
            };
            for rl in v["resourceLogs"].as_array().into_iter().flatten() {
                for sl in rl["scopeLogs"].as_array().unwrap() {
                    for r in sl["logRecords"].as_array().unwrap() {
                        let attrs = r["attributes"].as_array().unwrap();
                        let get = |k: &str| {
                            attrs
                                .iter()
                                .find(|a| a["key"] == k)
                                .map(|a| a["value"].clone())
                        };
                        if get("process.pid")
                            .and_then(|v| v["intValue"].as_str().map(str::to_string))
                            == Some(pid.to_string())
                        {
                            seen.push(
                                get("event.name").unwrap()["stringValue"]
                                    .as_str()
                                    .unwrap()
                                    .to_string(),
                            );
                        }
                    }
                }
            }
        }
        (seen.contains(&"process.exit".to_string())).then_some(seen)
    })
    .unwrap_or_else(|| {
        panic!(
            "no start/exit events for pid {pid}; stderr:\n{}",
            a.stderr()
        )
    });
    assert!(events.contains(&"process.start".to_string()), "{events:?}");

    // /processes answers with the snapshot; `lookout processes` uses it
    let (code, body) = a.get("/processes");
    assert_eq!(code, 200);
    let snap: Value = serde_json::from_str(&body).unwrap();
    assert!(snap["processes"].as_u64().unwrap() > 0);
    let (code, text, err) = lookout(&[
        "processes",
        "--data-dir",
        a.data_dir().to_str().unwrap(),
        "--tree",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        text.contains(&format!("agent pid {}", a.child.id())),
        "{text}"
    );
    // the Prometheus page keeps one series per process (pid label) and passes promtool
    let (_, page) = a.get("/metrics/processes");
    assert!(
        page.contains("process_memory_usage_bytes{process_executable_name="),
        "{page}"
    );
    promtool_check(&page).unwrap_or_else(|e| panic!("promtool: {e}"));
    let (_, own) = a.get("/metrics");
    assert!(own.contains("lookout_process_tracked{component_id=\"procs\"}"));
    assert_eq!(a.stop(), 0);
}

/// As a non-root user: one clear warning, no error storm, unreadable counts in /metrics.
#[test]
fn non_root_agent_warns_once_and_counts_unreadable() {
    let me = Command::new("id").arg("-u").output().unwrap();
    if String::from_utf8_lossy(&me.stdout).trim() != "0" {
        eprintln!("skipped: needs root to drop to an unprivileged user");
        return;
    }
    require("setpriv", "apt-get install util-linux");
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    std::fs::create_dir(&state).unwrap();
    Command::new("chmod")
        .args(["700", state.to_str().unwrap()])
        .status()
        .unwrap();
    Command::new("chown")
        .args(["65534:65534", state.to_str().unwrap()])
        .status()
        .unwrap();
    let cfg = dir.path().join("c.yaml");
    std::fs::write(&cfg, "sources:\n  procs: {type: process_metrics, interval: 300ms, top_n: 50}\nsinks:\n  prom: {type: prometheus, inputs: [procs]}\n").unwrap();
    let port = free_port();
    let err_path = dir.path().join("err.log");
    let mut child = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(bin())
        .args([
            "run",
            "--config",
            cfg.to_str().unwrap(),
            "--data-dir",
            state.to_str().unwrap(),
        ])
        .args(["--set", &format!("server.listen=127.0.0.1:{port}")])
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .unwrap();
    let metrics = wait_for(Duration::from_secs(15), || {
        let (c, b) = http_get(port, "/metrics")?;
        (c == 200 && b.contains("lookout_process_unreadable{")).then_some(b)
    });
    std::thread::sleep(Duration::from_millis(1500)); // several more scans
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    let _ = child.wait();
    let log = std::fs::read_to_string(&err_path).unwrap();
    let metrics = metrics.unwrap_or_else(|| panic!("no metrics; stderr:\n{log}"));
    let line = metrics
        .lines()
        .find(|l| l.starts_with("lookout_process_unreadable{"))
        .unwrap();
    let n: f64 = line.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(n > 0.0, "root's processes are unreadable to nobody: {line}");
    assert_eq!(
        log.matches("CAP_SYS_PTRACE").count(),
        1,
        "one warning:\n{log}"
    );
    assert!(log.matches("WARN").count() <= 2, "no error storm:\n{log}");
    assert!(!log.contains("ERROR"), "{log}");
}
