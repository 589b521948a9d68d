//! Values agree with independent readers (`free`, `df`, statvfs through Python, /proc itself).

use crate::support::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::process::Command;
use std::time::Duration;

fn file_config(out: &std::path::Path) -> String {
    format!(
        "sources:\n  host: {{type: host_metrics, interval: 500ms}}\nsinks:\n  out: {{type: file, inputs: [host], path: {}}}\n",
        out.display()
    )
}

/// Reads the OTLP/JSON lines the file sink wrote.
fn batches(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        // the agent may be writing the last line right now
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// (attributes, value) of every point of a metric in one batch.
fn points(batch: &Value, name: &str) -> Vec<(serde_json::Map<String, Value>, f64)> {
    let mut out = vec![];
    for rm in batch["resourceMetrics"].as_array().unwrap() {
        for sm in rm["scopeMetrics"].as_array().unwrap() {
            for m in sm["metrics"].as_array().unwrap() {
                if m["name"] != name {
                    continue;
                }
                let data = m.get("sum").or_else(|| m.get("gauge")).unwrap();
                for p in data["dataPoints"].as_array().unwrap() {
                    let mut attrs = serde_json::Map::new();
                    for kv in p["attributes"].as_array().into_iter().flatten() {
                        let v = kv["value"]
                            .as_object()
                            .unwrap()
                            .values()
                            .next()
                            .unwrap()
                            .clone();
                        attrs.insert(kv["key"].as_str().unwrap().to_string(), v);
                    }
                    let v = p.get("asDouble").and_then(Value::as_f64).or_else(|| {
                        p.get("asInt")
                            .and_then(|x| x.as_str().map(|s| s.parse().unwrap()).or(x.as_f64()))
                    });
                    out.push((attrs, v.unwrap()));
                }
            }
        }
    }
    out
}

fn value_where(batch: &Value, name: &str, key: &str, val: &str) -> f64 {
    points(batch, name)
        .into_iter()
        .filter(|(a, _)| a.get(key).and_then(Value::as_str) == Some(val))
        .map(|(_, v)| v)
        .sum()
}

fn within(a: f64, b: f64, pct: f64) -> bool {
    (a - b).abs() <= b.abs() * pct / 100.0
}

fn collect(n: usize) -> (Vec<Value>, tempfile::TempDir) {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out.jsonl");
    let mut a = Agent::start(Some(&file_config(&out)), &[]);
    a.wait_ready();
    let got = wait_for(Duration::from_secs(15), || {
        let b = batches(&out);
        (b.len() >= n).then_some(b)
    })
    .unwrap_or_else(|| panic!("fewer than {n} batches; stderr:\n{}", a.stderr()));
    assert_eq!(a.stop(), 0);
    (got, tmp)
}

#[test]
fn memory_agrees_with_free() {
    require("free", "apt-get install procps");
    let (b, _t) = collect(1);
    let last = b.last().unwrap();
    let o = Command::new("free").arg("-b").output().unwrap();
    let text = String::from_utf8(o.stdout).unwrap();
    let mem: Vec<f64> = text
        .lines()
        .find(|l| l.starts_with("Mem:"))
        .unwrap()
        .split_whitespace()
        .skip(1)
        .map(|x| x.parse().unwrap())
        .collect();
    // free -b: total used free shared buff/cache available
    let limit = points(last, "system.memory.limit")[0].1;
    assert!(
        within(limit, mem[0], 1.0),
        "total {limit} vs free {}",
        mem[0]
    );
    let available = points(last, "system.linux.memory.available")[0].1;
    assert!(
        within(available, mem[5], 1.0),
        "available {available} vs free {}",
        mem[5]
    );
    let free_state = value_where(last, "system.memory.usage", "state", "free");
    assert!(
        within(free_state, mem[2], 5.0) || (free_state - mem[2]).abs() < 64e6,
        "free {free_state} vs {}",
        mem[2]
    );
    // used as the collector counts it is total - free - buffers - cached - slab_reclaimable;
    // free(1) counts total - available-ish; they agree within a few percent of total
    let used = value_where(last, "system.memory.usage", "state", "used");
    assert!(
        (used - mem[1]).abs() <= mem[0] * 0.05,
        "used {used} vs free's used {}",
        mem[1]
    );
    let sum: f64 = points(last, "system.memory.usage")
        .iter()
        .map(|p| p.1)
        .sum();
    assert!(
        within(sum, limit, 1.0),
        "states add up to the total: {sum} vs {limit}"
    );
}

#[test]
fn load_and_filesystem_agree_with_independent_readers() {
    require("df", "apt-get install coreutils");
    let (b, _t) = collect(1);
    let last = b.last().unwrap();
    let loadavg: Vec<f64> = std::fs::read_to_string("/proc/loadavg")
        .unwrap()
        .split_whitespace()
        .take(3)
        .map(|x| x.parse().unwrap())
        .collect();
    for (name, expect) in [
        ("system.cpu.load_average.1m", loadavg[0]),
        ("system.cpu.load_average.5m", loadavg[1]),
        ("system.cpu.load_average.15m", loadavg[2]),
    ] {
        let v = points(last, name)[0].1;
        // load moves a little between the two reads: 1% or 0.05 absolute
        assert!(
            within(v, expect, 1.0) || (v - expect).abs() < 0.05,
            "{name}: {v} vs {expect}"
        );
    }
    // `/`: size and used against df in bytes
    let o = Command::new("df")
        .args(["-B1", "--output=size,used,avail", "/"])
        .output()
        .unwrap();
    let text = String::from_utf8(o.stdout).unwrap();
    let nums: Vec<f64> = text
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .map(|x| x.parse().unwrap())
        .collect();
    let root: Vec<_> = points(last, "system.filesystem.usage")
        .into_iter()
        .filter(|(a, _)| a.get("mountpoint").and_then(Value::as_str) == Some("/"))
        .collect();
    assert!(!root.is_empty(), "no filesystem points for /");
    let state = |s: &str| {
        root.iter()
            .filter(|(a, _)| a["state"] == s)
            .map(|p| p.1)
            .sum::<f64>()
    };
    let size = state("used") + state("free") + state("reserved");
    assert!(within(size, nums[0], 1.0), "size {size} vs df {}", nums[0]);
    assert!(
        within(state("used"), nums[1], 1.0) || (state("used") - nums[1]).abs() < 64e6,
        "used {} vs df {}",
        state("used"),
        nums[1]
    );
    assert!(
        within(state("free"), nums[2], 1.0) || (state("free") - nums[2]).abs() < 64e6,
        "avail {} vs df {}",
        state("free"),
        nums[2]
    );
}

#[test]
fn counters_are_monotonic_and_device_sets_match_proc() {
    let (b, _t) = collect(3);
    for name in [
        "system.cpu.time",
        "system.network.io",
        "system.disk.io",
        "system.network.packets",
    ] {
        for w in b.windows(2) {
            let before = points(&w[0], name);
            let after = points(&w[1], name);
            for (attrs, v) in &after {
                if let Some((_, prev)) = before.iter().find(|(a, _)| a == attrs) {
                    assert!(v >= prev, "{name} {attrs:?} went down: {prev} -> {v}");
                }
            }
        }
    }
    let last = b.last().unwrap();
    let devices = |name: &str| -> BTreeSet<String> {
        points(last, name)
            .into_iter()
            .filter_map(|(a, _)| a.get("device").and_then(Value::as_str).map(str::to_string))
            .collect()
    };
    let proc_disks: BTreeSet<String> = std::fs::read_to_string("/proc/diskstats")
        .unwrap()
        .lines()
        .filter_map(|l| l.split_whitespace().nth(2).map(str::to_string))
        .collect();
    assert_eq!(devices("system.disk.io"), proc_disks);
    let proc_ifaces: BTreeSet<String> = std::fs::read_to_string("/proc/net/dev")
        .unwrap()
        .lines()
        .skip(2)
        .filter_map(|l| l.split(':').next().map(|s| s.trim().to_string()))
        .collect();
    assert_eq!(devices("system.network.io"), proc_ifaces);
    // the resource carries the host identity
    let res = &last["resourceMetrics"][0]["resource"]["attributes"];
    let keys: BTreeSet<&str> = res
        .as_array()
        .unwrap()
        .iter()
        .map(|kv| kv["key"].as_str().unwrap())
        .collect();
    for k in ["host.name", "host.arch", "os.type", "os.description"] {
        assert!(keys.contains(k), "resource lacks {k}: {keys:?}");
    }
    if std::path::Path::new("/etc/machine-id").exists() {
        assert!(keys.contains("host.id"));
    }
    assert!(!keys.contains("service.name"));
}
