//! Logs: sources, the live tail, pausing, searching, adding, removing, redaction.

use super::*;

#[test]
fn tails_the_first_source_and_follows_new_lines() {
    let b = FakeBackend::new();
    let (mut a, t0) = on_screen(&b, '5');
    assert_eq!(b.take(), ["status", "log_sources", "tail syslog 0"]);
    let t = text(&a);
    for want in [
        "2 log sources",
        "▶ syslog",
        "files, config, 1200 recs",
        "files, added, 5 recs",
        "22:13:21 INFO  service started",
        "22:13:22 ERROR database connection lost",
        "syslog · 3 lines",
    ] {
        assert!(t.contains(want), "{want:?} missing:\n{t}");
    }
    // The next tail asks after the last line seen, every 500 ms.
    b.tail.borrow_mut().push(tail_line(4, "WARN", "slow query"));
    assert!(!a.refresh(&b, at(t0, 400)));
    assert!(a.refresh(&b, at(t0, 500)));
    assert_eq!(b.take(), ["tail syslog 3"]);
    assert!(text(&a).contains("slow query"));
}

#[test]
fn enter_tails_the_selected_source() {
    let b = FakeBackend::new();
    let (mut a, t0) = on_screen(&b, '5');
    b.take();
    a.handle_key(code(KeyCode::Down), &b);
    a.handle_key(code(KeyCode::Enter), &b);
    assert!(text(&a).contains("▶ app"));
    a.refresh(&b, at(t0, 100));
    assert_eq!(b.take(), ["tail app 0"]);
}

#[test]
fn space_pauses_the_view_and_stops_fetching() {
    let b = FakeBackend::new();
    let (mut a, t0) = on_screen(&b, '5');
    a.handle_key(key(' '), &b);
    assert!(text(&a).contains("PAUSED"));
    b.take();
    for ms in [500, 1000, 1500, 2000] {
        a.refresh(&b, at(t0, ms));
    }
    assert_eq!(b.count("tail"), 0);
    assert!(b.count("log_sources") > 0);
    a.handle_key(key(' '), &b);
    assert!(!text(&a).contains("PAUSED"));
    a.refresh(&b, at(t0, 2100));
    assert_eq!(b.count("tail"), 1);
}

#[test]
fn search_hides_lines_that_do_not_match() {
    let b = FakeBackend::new();
    let (mut a, _) = on_screen(&b, '5');
    typing(&mut a, &b, "/DATABASE");
    a.handle_key(code(KeyCode::Enter), &b);
    let t = text(&a);
    assert!(t.contains("database connection lost"), "{t}");
    assert!(!t.contains("service started"), "{t}");
    assert!(t.contains("search \"database\""), "{t}");
}

#[test]
fn the_tail_keeps_the_last_thousand_lines() {
    let b = FakeBackend::new();
    *b.tail.borrow_mut() = (1..=1500)
        .map(|i| tail_line(i, "INFO", &format!("line {i}")))
        .collect();
    let (a, _) = on_screen(&b, '5');
    assert_eq!(a.logs.lines.len(), 1000);
    assert_eq!(a.logs.lines.front().unwrap().seq, 501);
    let t = text(&a);
    assert!(t.contains("line 1500"), "{t}");
    assert!(!t.contains("line 1400 "), "only the end shows: {t}");
}

#[test]
fn page_up_scrolls_the_tail_back_and_end_follows() {
    let b = FakeBackend::new();
    *b.tail.borrow_mut() = (1..=100)
        .map(|i| tail_line(i, "INFO", &format!("line {i}")))
        .collect();
    let (mut a, _) = on_screen(&b, '5');
    text(&a);
    a.handle_key(code(KeyCode::PageUp), &b);
    let t = text(&a);
    assert!(!t.contains("line 100"), "{t}");
    assert!(t.contains("back"), "{t}");
    a.handle_key(code(KeyCode::End), &b);
    assert!(text(&a).contains("line 100"));
}

#[test]
fn the_add_form_adds_a_files_source() {
    let b = FakeBackend::new();
    let (mut a, t0) = on_screen(&b, '5');
    b.take();
    a.handle_key(key('a'), &b);
    assert!(text(&a).contains("Add a log source"));
    // q is text here, not quit.
    typing(&mut a, &b, "aq");
    a.handle_key(code(KeyCode::Backspace), &b);
    a.handle_key(code(KeyCode::Backspace), &b);
    typing(&mut a, &b, "app2");
    a.handle_key(code(KeyCode::Tab), &b);
    typing(&mut a, &b, "/var/log/app/*.log");
    let t = text(&a);
    assert!(t.contains("id         app2"), "{t}");
    assert!(t.contains("/var/log/app/*.log"), "{t}");
    a.handle_key(code(KeyCode::Enter), &b);
    assert_eq!(
        b.take(),
        ["add_log_source app2 /var/log/app/*.log beginning"]
    );
    let t = text(&a);
    assert!(!t.contains("Add a log source"), "{t}");
    assert!(t.contains("added app2"), "{t}");
    a.refresh(&b, at(t0, 100));
    assert_eq!(
        b.count("log_sources"),
        1,
        "the list is fetched again at once"
    );
}

#[test]
fn the_add_form_checks_its_fields_and_esc_cancels() {
    let b = FakeBackend::new();
    let (mut a, _) = on_screen(&b, '5');
    b.take();
    a.handle_key(key('a'), &b);
    a.handle_key(code(KeyCode::Enter), &b);
    assert!(text(&a).contains("the id is empty"));
    typing(&mut a, &b, "bad id");
    a.handle_key(code(KeyCode::Enter), &b);
    assert!(text(&a).contains("letters, digits"));
    a.handle_key(code(KeyCode::Esc), &b);
    assert!(!text(&a).contains("Add a log source"));
    assert!(b.take().is_empty());
}

#[test]
fn x_removes_only_added_sources_after_a_yes() {
    let b = FakeBackend::new();
    let (mut a, _) = on_screen(&b, '5');
    b.take();
    a.handle_key(key('x'), &b);
    assert!(text(&a).contains("syslog comes from config"));
    a.handle_key(code(KeyCode::Down), &b);
    a.handle_key(key('x'), &b);
    assert!(text(&a).contains("Remove the log source app?"));
    a.handle_key(key('n'), &b);
    assert!(b.take().is_empty());
    a.handle_key(key('x'), &b);
    a.handle_key(key('y'), &b);
    assert_eq!(b.take(), ["log_source_op app Remove"]);
    assert!(text(&a).contains("Remove app"));
}

#[test]
fn p_pauses_or_resumes_the_selected_source() {
    let b = FakeBackend::new();
    let (mut a, t0) = on_screen(&b, '5');
    b.take();
    a.handle_key(key('p'), &b);
    assert_eq!(b.take(), ["log_source_op syslog Pause"]);
    b.sources.borrow_mut().sources[0].paused = true;
    a.refresh(&b, at(t0, 100));
    assert!(text(&a).contains("syslog (paused)"));
    b.take();
    a.handle_key(key('p'), &b);
    assert_eq!(b.take(), ["log_source_op syslog Resume"]);
}

#[test]
fn a_redaction_rule_is_tried_and_its_result_shown() {
    let b = FakeBackend::new();
    let (mut a, _) = on_screen(&b, '5');
    b.take();
    a.handle_key(key('R'), &b);
    assert!(text(&a).contains("Try a redaction rule on syslog"));
    a.handle_key(code(KeyCode::Enter), &b);
    assert!(text(&a).contains("type a regular expression first"));
    typing(&mut a, &b, "password=\\S+");
    a.handle_key(code(KeyCode::Enter), &b);
    assert_eq!(b.take(), ["redact_try password=\\S+ syslog"]);
    let t = text(&a);
    for want in [
        "tried 3 lines, 1 matched",
        "- user=bob password=hunter2",
        "+ user=bob password=[REDACTED]",
        "- pattern: 'password=\\S+'",
        "replacement: '[REDACTED]'",
    ] {
        assert!(t.contains(want), "{want:?} missing:\n{t}");
    }
    a.handle_key(code(KeyCode::Esc), &b);
    assert!(!text(&a).contains("tried 3 lines"));
}

#[test]
fn a_removed_tailed_source_stops_the_tail() {
    let b = FakeBackend::new();
    let (mut a, t0) = on_screen(&b, '5');
    b.sources.borrow_mut().sources.remove(0);
    a.refresh(&b, at(t0, 2000));
    // The remaining source is tailed instead, from its start.
    assert_eq!(a.logs.chosen.as_deref(), Some("app"));
    assert!(b.take().contains(&"tail app 0".to_string()));
}
