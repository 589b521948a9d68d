//! The guided first run: `lookout tui` on an empty data directory, in tmux, chooses "local
//! only", keeps the discovered services, writes the configuration, starts the agent and shows
//! its data arriving; the agent then runs on its own and the CLI sees it.

use crate::support::*;
use crate::tui::Tmux;
use std::time::Duration;

#[test]
fn the_first_run_writes_a_config_and_starts_the_agent() {
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("state");
    let cmd = format!(
        "env TERM=xterm-256color HOME={home} {bin} tui --data-dir {data}; echo tui-exit=$?; sleep 300",
        home = work.path().display(),
        bin = bin(),
        data = data.display(),
    );
    let t = Tmux::start(&cmd, 100, 30);
    t.wait("the first step", |s| {
        s.contains("guided first run") && s.contains("Local only")
    });
    // step 1: local only (the first choice); step 2: the services as discovered; step 3: go
    t.keys(&["Enter"]);
    t.wait("the services step", |s| {
        s.contains("redis") || s.contains("no service")
    });
    t.keys(&["Enter"]);
    t.wait("the summary", |s| {
        s.contains("Local only") || s.contains("local only")
    });
    t.keys(&["Enter"]);
    // the overview of the agent it started, with host data arriving
    let s = t.wait("the running agent's overview", |s| {
        s.contains("Overview") && s.contains("uptime") && s.contains("CPU")
    });
    assert!(!s.contains("waiting for the agent"), "{s}");
    let config = std::fs::read_to_string(data.join("lookout.yaml")).unwrap();
    assert!(config.contains("local_only: true"), "{config}");
    assert!(config.contains("type: duckdb"), "{config}");
    // the CLI sees the same agent, its pipeline delivering into the local store
    let d = data.display().to_string();
    let comps = wait_for(Duration::from_secs(20), || {
        let (code, out, _) = lookout(&["pipeline", "--json", "--data-dir", &d]);
        let v: serde_json::Value = serde_json::from_str(out.trim()).ok()?;
        let local = v.as_array()?.iter().find(|c| c["id"] == "local")?.clone();
        (code == 0 && local["sent_items"].as_u64()? > 0).then_some(v)
    })
    .unwrap_or_else(|| {
        panic!(
            "no data reached the store:\n{}",
            std::fs::read_to_string(data.join("agent.log")).unwrap_or_default()
        )
    });
    assert!(comps.as_array().unwrap().iter().any(|c| c["id"] == "host"));
    let (code, status, _) = lookout(&["status", "--json", "--data-dir", &d]);
    assert_eq!(code, 0, "{status}");
    let st: serde_json::Value = serde_json::from_str(status.trim()).unwrap();
    let pid = st["pid"].as_u64().unwrap();

    // quitting the UI leaves the agent running; it is stopped here
    t.keys(&["q"]);
    t.wait("the UI to exit", |s| s.contains("tui-exit=0"));
    assert!(std::path::Path::new(&format!("/proc/{pid}")).exists());
    let _ = std::process::Command::new("kill")
        .arg(pid.to_string())
        .status();
    wait_for(Duration::from_secs(30), || {
        (!std::path::Path::new(&format!("/proc/{pid}")).exists()
            || std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .map(|s| s.contains(") Z "))
                .unwrap_or(true))
        .then_some(())
    })
    .unwrap_or_else(|| panic!("the agent {pid} did not stop"));
    // a second `lookout tui` uses the written configuration: no first run
    let t2 = Tmux::start(&cmd, 100, 30);
    let s = t2.wait("the UI without a first run", |s| s.contains("Overview"));
    assert!(!s.contains("guided first run"), "{s}");
    t2.keys(&["q"]);
    t2.wait("the UI to exit", |s| s.contains("tui-exit=0"));
}
