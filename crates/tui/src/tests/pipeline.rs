//! Pipeline: rates from two refreshes, circuit, queue and error of the selected sink.

use super::*;

#[test]
fn rates_come_from_two_refreshes() {
    let b = FakeBackend::new();
    let (mut a, t0) = on_screen(&b, '3');
    // One refresh: no rate yet.
    let rows = screen(&a);
    let r = &rows[row_of(&rows, "otlp_http")];
    assert!(!r.contains("100"), "{r}");
    {
        let mut s = b.status.borrow_mut();
        let sink = &mut s.as_mut().unwrap().components[1];
        sink.received_items += 100;
        sink.sent_items += 250;
    }
    a.refresh(&b, at(t0, 1000));
    let rows = screen(&a);
    let r = &rows[row_of(&rows, "otlp_http")];
    assert!(r.contains(" 100 "), "in/s: {r}");
    assert!(r.contains(" 250 "), "out/s: {r}");
    for want in ["sink", "open", "failing", "42"] {
        assert!(r.contains(want), "{want:?} not in {r}");
    }
    // The host source moved nothing.
    let r = &rows[row_of(&rows, "host_metrics")];
    assert!(r.contains(" 0 "), "{r}");
    assert!(r.contains("src"), "{r}");
}

#[test]
fn the_selected_sink_shows_its_history_and_error() {
    let b = FakeBackend::new();
    let (mut a, t0) = on_screen(&b, '3');
    for i in 1..=5u64 {
        let mut s = b.status.borrow_mut();
        let sink = &mut s.as_mut().unwrap().components[1];
        sink.sent_items += 10 * i;
        sink.gauges
            .insert("lookout_sink_queue_depth_events".into(), 40.0 + i as f64);
        drop(s);
        a.refresh(&b, at(t0, 1000 * i));
    }
    a.handle_key(code(KeyCode::Down), &b);
    let t = text(&a);
    for want in [
        "otlp: sink otlp_http",
        "out 50/s",
        "queue 45 (peak 45)",
        "out/s, last 5 (peak 50/s)",
        "connection refused: otlp.example.com:4318 (tried 5 times, next retry in 30s)",
        "at 22:13:20 UTC, failing for 2m 05s",
    ] {
        assert!(t.contains(want), "{want:?} missing:\n{t}");
    }
    // The throughput bars are drawn.
    assert!(t.contains('█'), "{t}");
}

#[test]
fn history_is_bounded_and_restarts_give_no_negative_rate() {
    let b = FakeBackend::new();
    let (mut a, t0) = on_screen(&b, '3');
    for i in 1..=100u64 {
        a.refresh(&b, at(t0, 1000 * i));
    }
    assert_eq!(a.pipeline.queue["otlp"].len(), 60);
    assert_eq!(a.pipeline.out["otlp"].len(), 60);
    b.status.borrow_mut().as_mut().unwrap().components[1].sent_items = 0;
    a.refresh(&b, at(t0, 101_000));
    assert_eq!(a.pipeline.rates["otlp"].output, 0.0);
    // A component that goes away takes its history with it.
    b.status.borrow_mut().as_mut().unwrap().components.pop();
    a.refresh(&b, at(t0, 102_000));
    assert!(!a.pipeline.queue.contains_key("otlp"));
}
