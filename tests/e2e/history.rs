//! The configuration history (`lookout config history|diff|rollback`) and the audit log
//! (`lookout audit`), against a running agent changed by SIGHUP and by the control API.

use crate::support::*;
use std::time::Duration;

fn history(data: &str) -> serde_json::Value {
    let (code, out, err) = lookout(&["--data-dir", data, "config", "history", "--json"]);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).unwrap()
}

fn entries(data: &str) -> usize {
    history(data)["entries"].as_array().map_or(0, Vec::len)
}

fn hash(agent: &Agent) -> String {
    let (_, body) = agent.get("/status");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    v["config_hash"].as_str().unwrap().to_string()
}

#[test]
fn every_configuration_is_kept_and_a_rollback_restores_exactly_its_text() {
    let v1 = "# version one\nsources:\n  host: {type: host_metrics, interval: 1s}\nsinks:\n  prom: {type: prometheus, inputs: [host]}\n";
    let v2 = "# version two\nsources:\n  host: {type: host_metrics, interval: 2s}\nsinks:\n  prom: {type: prometheus, inputs: [host]}\n";
    let v3 = "sources:\n  host: {type: host_metrics, interval: [\n";
    let v4 = "# version four, through the control API\nsources:\n  host: {type: host_metrics, interval: 3s, collectors: [memory]}\nsinks:\n  prom: {type: prometheus, inputs: [host]}\n";
    let mut agent = Agent::start(Some(v1), &[]);
    agent.wait_ready();
    let data = agent.data_dir();
    let dd = data.to_str().unwrap();
    let cfg = agent.config_path();
    assert!(wait_for(Duration::from_secs(10), || (entries(dd) == 1).then_some(())).is_some());
    let h1 = hash(&agent);

    std::fs::write(&cfg, v2).unwrap();
    agent.signal("HUP");
    assert!(wait_for(Duration::from_secs(10), || (entries(dd) == 2).then_some(())).is_some());
    std::fs::write(&cfg, v3).unwrap();
    agent.signal("HUP");
    assert!(wait_for(Duration::from_secs(10), || (entries(dd) == 3).then_some(())).is_some());
    let f4 = agent.dir.path().join("v4.yaml");
    std::fs::write(&f4, v4).unwrap();
    let (code, out, err) = lookout(&["--data-dir", dd, "config", "apply", f4.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");

    let h = history(dd);
    let e = h["entries"].as_array().unwrap();
    let summary: Vec<(u64, &str, &str)> = e
        .iter()
        .map(|x| {
            (
                x["version"].as_u64().unwrap(),
                x["origin"].as_str().unwrap(),
                x["result"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (1, "start", "applied"),
            (2, "SIGHUP", "applied"),
            (3, "SIGHUP", "rejected"),
            (4, "control: config apply", "applied")
        ]
    );
    assert_eq!(h["running"], 4);
    let reason = e[2]["reason"].as_str().unwrap();
    assert!(
        reason.contains(&format!("{}:3:", cfg.display())),
        "the rejection says where: {reason}"
    );
    assert_eq!(e[0]["path"], cfg.display().to_string());

    // the human table and the diff
    let (_, table, _) = lookout(&["--data-dir", dd, "config", "history"]);
    assert!(
        table.contains("rejected") && table.contains("control: config apply"),
        "{table}"
    );
    let (code, diff, _) = lookout(&["--data-dir", dd, "config", "diff", "1", "2"]);
    assert_eq!(code, 0);
    assert!(
        diff.contains("-# version one") && diff.contains("+# version two"),
        "{diff}"
    );
    assert!(
        diff.contains("interval: 1s") && diff.contains("interval: 2s"),
        "{diff}"
    );
    let (code, _, err) = lookout(&["--data-dir", dd, "config", "diff", "1", "99"]);
    assert_eq!(code, 2);
    assert!(err.contains("no version 99"), "{err}");

    // rollback to version 1: exactly its text, and what runs is what ran then
    let (code, out, err) = lookout(&["--data-dir", dd, "config", "rollback", "1"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(std::fs::read_to_string(&cfg).unwrap(), v1);
    assert_eq!(hash(&agent), h1);
    let h = history(dd);
    let last = h["entries"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["origin"], "rollback to 1");
    assert_eq!(last["result"], "applied");
    assert_eq!(last["sha256"], h["entries"][0]["sha256"]);
    // a bare rollback goes to the applied version before: 4
    let (code, _, err) = lookout(&["--data-dir", dd, "config", "rollback"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(std::fs::read_to_string(&cfg).unwrap(), v4);
    // a rejected version is refused by the agent, and the file stays as it is
    let (code, _, err) = lookout(&["--data-dir", dd, "config", "rollback", "3"]);
    assert_ne!(code, 0);
    assert!(err.contains("not applied"), "{err}");
    assert_eq!(std::fs::read_to_string(&cfg).unwrap(), v4);

    // the audit log has every change, readable as text and JSON
    let (code, audit, _) = lookout(&["--data-dir", dd, "audit", "--json", "--kind", "config"]);
    assert_eq!(code, 0);
    let lines: Vec<serde_json::Value> = audit
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines.iter().all(|l| l["kind"] == "config"));
    let messages: Vec<&str> = lines
        .iter()
        .map(|l| l["message"].as_str().unwrap())
        .collect();
    for want in [
        "version 1 (start): applied",
        "version 3 (SIGHUP): rejected",
        "version 5 (rollback to 1): applied",
    ] {
        assert!(
            messages.iter().any(|m| m.starts_with(want)),
            "no `{want}` in {messages:?}"
        );
    }
    let (_, text, _) = lookout(&["--data-dir", dd, "audit", "--last", "2"]);
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(text.contains(" config "), "{text}");
    agent.stop();

    // with the agent stopped, a rollback rewrites the file for the next start
    let (code, out, err) = lookout(&[
        "--data-dir",
        dd,
        "--config",
        cfg.to_str().unwrap(),
        "config",
        "rollback",
        "2",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(std::fs::read_to_string(&cfg).unwrap(), v2);
}
