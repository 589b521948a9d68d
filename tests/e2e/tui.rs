//! `lookout tui` driven in a real terminal (tmux: `send-keys`, `capture-pane`) against a
//! running agent: screens switched, processes sorted, a log source added from the Logs screen
//! and its lines seen arriving (redacted), quit; the terminal restored afterwards. The CLI
//! commands that mirror each screen report the same facts.

use crate::support::*;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// A private tmux server with one session running a command.
pub(crate) struct Tmux {
    socket: String,
}

impl Tmux {
    pub(crate) fn start(cmd: &str, width: u16, height: u16) -> Tmux {
        require("tmux", "apt-get install tmux");
        let socket = format!("lookout-e2e-{}-{}", std::process::id(), free_port());
        let t = Tmux { socket };
        let o = t.run(&[
            "new-session",
            "-d",
            "-s",
            "t",
            "-x",
            &width.to_string(),
            "-y",
            &height.to_string(),
            cmd,
        ]);
        assert!(o.status.success(), "tmux: {o:?}");
        t
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .env_remove("TMUX")
            .output()
            .unwrap()
    }

    pub(crate) fn keys(&self, keys: &[&str]) {
        for k in keys {
            let o = self.run(&["send-keys", "-t", "t", k]);
            assert!(o.status.success(), "send-keys {k}: {o:?}");
            std::thread::sleep(Duration::from_millis(150));
        }
    }

    /// Types text literally.
    fn type_text(&self, text: &str) {
        let o = self.run(&["send-keys", "-t", "t", "-l", text]);
        assert!(o.status.success(), "{o:?}");
        std::thread::sleep(Duration::from_millis(150));
    }

    pub(crate) fn screen(&self) -> String {
        String::from_utf8_lossy(&self.run(&["capture-pane", "-p", "-t", "t"]).stdout).into_owned()
    }

    fn format(&self, f: &str) -> String {
        String::from_utf8_lossy(&self.run(&["display", "-p", "-t", "t", f]).stdout)
            .trim()
            .to_string()
    }

    /// Waits until the screen satisfies `ok`; panics with the last screen.
    pub(crate) fn wait(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let mut last = String::new();
        let got = wait_for(Duration::from_secs(20), || {
            last = self.screen();
            ok(&last).then(|| last.clone())
        });
        got.unwrap_or_else(|| panic!("screen never showed {what}:\n{last}"))
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
    }
}

fn cli(data: &Path, args: &[&str]) -> serde_json::Value {
    let d = data.display().to_string();
    let mut a = args.to_vec();
    a.extend(["--json", "--data-dir", &d]);
    let (code, out, err) = lookout(&a);
    assert_eq!(code, 0, "{args:?}: {err}");
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{args:?}: {e}: {out}"))
}

#[test]
fn the_tui_drives_a_running_agent_in_a_real_terminal() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    std::fs::write(w.join("app.log"), "app started\n").unwrap();
    let config = format!(
        "sources:\n  host: {{type: host_metrics, interval: 1s}}\n  processes: {{type: process_metrics, interval: 1s}}\n  app: {{type: files, include: [{d}/app.log], start_at: beginning}}\nprocessors:\n  scrub: {{type: redact, inputs: [app]}}\nsinks:\n  out: {{type: file, path: {d}/out.jsonl, inputs: [host, processes, scrub]}}\n",
        d = w.display()
    );
    let mut agent = Agent::start(Some(&config), &[]);
    agent.wait_ready();
    let data = agent.data_dir();
    agent.wait_control();
    let status = cli(&data, &["status"]);

    let cmd = format!(
        "env TERM=xterm-256color {bin} tui --data-dir {data} --config {cfg}; echo tui-exit=$?; stty -a; sleep 300",
        bin = bin(),
        data = data.display(),
        cfg = agent.config_path().display(),
    );
    let t = Tmux::start(&cmd, 100, 30);

    // Overview: the agent's identity, as `lookout status` gives it
    let hash = status["config_hash"].as_str().unwrap().to_string();
    let s = t.wait("the overview with the config hash", |s| {
        s.contains("Overview") && s.contains(&hash)
    });
    assert!(s.contains(status["version"].as_str().unwrap()), "{s}");
    assert!(
        t.format("#{alternate_on}") == "1",
        "the UI runs on the alternate screen"
    );
    // host figures appear (sampled every 2 s)
    t.wait("host figures", |s| {
        s.contains("CPU") && s.contains("%") && s.contains("Mem")
    });

    // Processes: sorted by CPU, then by memory; the CLI agrees on who is biggest
    t.keys(&["2"]);
    t.wait("the processes screen", |s| {
        s.contains("PID") && s.contains("sort: cpu")
    });
    t.keys(&["s"]);
    let s = t.wait("sorted by memory", |s| s.contains("sort: mem"));
    let snap = cli(&data, &["processes", "--sort", "mem"]);
    let mut by_rss: Vec<(u64, u64)> = snap["reported"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["rss_bytes"].as_u64().unwrap(), p["pid"].as_u64().unwrap()))
        .collect();
    by_rss.sort_by(|a, b| b.cmp(a));
    let top_pids: Vec<String> = by_rss.iter().take(3).map(|(_, p)| p.to_string()).collect();
    // the first table row after the header is the TUI's biggest process
    let first_row = s
        .lines()
        .skip_while(|l| !l.contains("PID"))
        .nth(1)
        .unwrap_or_default()
        .to_string();
    let first_pid = first_row
        .split(|c: char| !c.is_ascii_digit())
        .find(|x| !x.is_empty())
        .unwrap_or_default()
        .to_string();
    assert!(
        top_pids.contains(&first_pid),
        "TUI's top process by memory {first_pid} ({first_row}) is not among the CLI's {top_pids:?}\n{s}"
    );
    t.keys(&["r"]);
    t.wait("the reversed order", |s| {
        let first = s
            .lines()
            .skip_while(|l| !l.contains("PID"))
            .nth(1)
            .unwrap_or_default();
        s.contains("sort: mem") && first != first_row
    });

    // Pipeline: every component the CLI lists
    t.keys(&["3"]);
    let comps = cli(&data, &["pipeline"]);
    let s = t.wait("the pipeline", |s| {
        s.contains("scrub") && s.contains("files")
    });
    for c in comps.as_array().unwrap() {
        let id = c["id"].as_str().unwrap();
        assert!(s.contains(id), "{id} missing:\n{s}");
    }

    // Logs: add a source from the form, tail it, see its lines arrive redacted
    t.keys(&["5"]);
    t.wait("the logs screen", |s| s.contains("app"));
    let newlog = w.join("new.log");
    append(&newlog, "hello from tmux\n");
    t.keys(&["a"]);
    t.wait("the add-source form", |s| s.contains("Add a log source"));
    t.type_text("tmuxlog");
    t.keys(&["Tab"]);
    t.type_text(newlog.to_str().unwrap());
    t.keys(&["Enter"]);
    // the form closes once the agent has applied it (the typed id shows in the form before)
    t.wait("the new source in the list", |s| {
        s.contains("tmuxlog") && !s.contains("Add a log source")
    });
    let added = wait_for(Duration::from_secs(10), || {
        let sources = cli(&data, &["logs", "sources"]);
        sources["sources"]
            .as_array()?
            .iter()
            .find(|x| x["id"] == "tmuxlog")
            .cloned()
    })
    .unwrap_or_else(|| {
        panic!(
            "the CLI does not list the source the TUI added:\n{}",
            t.screen()
        )
    });
    assert_eq!(added["origin"], "added");
    assert_eq!(added["include"][0], newlog.to_str().unwrap());
    // select it (sources are listed by id: app, tmuxlog) and tail it
    t.keys(&["Home", "Down", "Enter"]);
    // lines written from now on go through the tap
    let s = t.wait("the tailed lines", |s| {
        append(&newlog, "card 4111 1111 1111 1111 line\n");
        s.contains("card ")
    });
    assert!(
        !s.contains("4111 1111 1111 1111"),
        "unredacted on screen:\n{s}"
    );
    let out = std::fs::read_to_string(w.join("out.jsonl")).unwrap();
    assert!(
        out.contains("hello from tmux"),
        "the sink got the source from its beginning"
    );

    // help overlay, then quit; the terminal comes back as it was
    t.keys(&["?"]);
    t.wait("the help overlay", |s| {
        s.contains("Global") && s.contains("quit")
    });
    t.keys(&["Escape", "q"]);
    let s = t.wait("the UI to exit", |s| s.contains("tui-exit="));
    assert!(s.contains("tui-exit=0"), "{s}");
    let words: Vec<&str> = s.split_whitespace().collect();
    assert!(
        words.contains(&"icanon") && words.contains(&"echo"),
        "terminal left raw:\n{s}"
    );
    assert_eq!(
        t.format("#{alternate_on}"),
        "0",
        "still on the alternate screen"
    );
    assert_eq!(t.format("#{cursor_flag}"), "1", "cursor left hidden");
    drop(t);
    agent.stop();
}

#[test]
fn without_a_terminal_the_tui_points_to_the_cli() {
    let (code, _, err) = lookout(&["tui"]);
    assert_eq!(code, 2);
    assert!(err.contains("needs a terminal"), "{err}");
}
