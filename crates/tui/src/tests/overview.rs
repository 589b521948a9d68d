//! Overview: host charts' current values and the agent block.

use super::*;

#[test]
fn shows_the_host_values_and_the_agent_state() {
    let b = FakeBackend::new();
    let mut a = app();
    a.refresh(&b, Instant::now());
    let t = text(&a);
    for want in [
        "CPU 12.3% (4 cpus)",
        "Mem 3.1 GiB / 7.8 GiB",
        "Load 0.52 0.40 0.33",
        "Disk r 1.2 MiB/s w 300 KiB/s",
        "Net rx 2.0 KiB/s tx 1.0 KiB/s",
        "unhealthy: otlp",
        "0.1.0",
        "4242",
        "2h 03m",
        "9f8e7d6c5b4a",
        "/etc/lookout/lookout.yaml",
        "12.5 s",
        "48.0 MiB",
        "2 applied, 0 rejected",
    ] {
        assert!(t.contains(want), "{want:?} missing:\n{t}");
    }
    // The log level line only when raised.
    assert!(!t.contains("log level"), "{t}");
}

#[test]
fn a_raised_log_level_and_a_healthy_agent() {
    let b = FakeBackend::new();
    {
        let mut s = b.status.borrow_mut();
        let s = s.as_mut().unwrap();
        s.healthy = true;
        s.components.retain(|c| c.healthy);
        s.log_level = Some(LogLevelState {
            level: "debug".into(),
            until_unix: 1_700_000_000,
        });
    }
    let mut a = app();
    a.refresh(&b, Instant::now());
    let t = text(&a);
    assert!(t.contains("healthy"), "{t}");
    assert!(!t.contains("unhealthy"), "{t}");
    assert!(t.contains("debug until 22:13:20 UTC"), "{t}");
}

#[test]
fn sparklines_draw_the_samples() {
    let b = FakeBackend::new();
    let mut a = app();
    a.refresh(&b, Instant::now());
    let rows = screen(&a);
    // The CPU chart's row under its label holds bar characters (the 50% sample).
    let label = row_of(&rows, "CPU 12.3%");
    let chart: String = rows[label + 1..label + 5].join("");
    assert!(chart.chars().any(|c| "▁▂▃▄▅▆▇█".contains(c)), "{chart}");
}

#[test]
fn before_any_answer_it_says_so() {
    let a = app();
    let t = text(&a);
    assert!(t.contains("no host samples yet"), "{t}");
    assert!(t.contains("no answer from the agent yet"), "{t}");
}
