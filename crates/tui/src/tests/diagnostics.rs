//! Diagnostics: checks, their fixes, rerunning, verbose logging.

use super::*;

#[test]
fn shows_checks_and_the_fix_of_the_selected_one() {
    let b = FakeBackend::new();
    let (mut a, t0) = on_screen(&b, '7');
    assert_eq!(b.count("diagnose"), 1);
    let rows = screen(&a);
    let r = &rows[row_of(&rows, "sink otlp")];
    assert!(
        r.contains("FAIL") && r.contains("connection refused"),
        "{r}"
    );
    assert!(rows.join("\n").contains("3 checks: 1 pass, 1 warn, 1 fail"));
    a.handle_key(code(KeyCode::Down), &b);
    let t = text(&a);
    assert!(
        t.contains("fix: check the endpoint and the firewall"),
        "{t}"
    );
    // Not run again until asked.
    a.refresh(&b, at(t0, 5000));
    assert_eq!(b.count("diagnose"), 1);
    a.handle_key(key('r'), &b);
    assert!(text(&a).contains("running the checks..."));
    a.refresh(&b, at(t0, 5100));
    assert_eq!(b.count("diagnose"), 2);
    assert!(text(&a).contains("checks done"));
}

#[test]
fn v_raises_the_log_level_then_resets_it() {
    let b = FakeBackend::new();
    let (mut a, t0) = on_screen(&b, '7');
    assert!(text(&a).contains("verbose logging: off"));
    b.take();
    a.handle_key(key('v'), &b);
    assert_eq!(b.take(), ["set_log_level debug 600"]);
    assert!(text(&a).contains("log level debug"));
    b.status.borrow_mut().as_mut().unwrap().log_level = Some(LogLevelState {
        level: "debug".into(),
        until_unix: 1_700_000_600,
    });
    // The status is fetched at once to show the new level.
    a.refresh(&b, at(t0, 10));
    assert_eq!(b.take(), ["status"]);
    assert!(text(&a).contains("verbose logging: debug until 22:23:20 UTC"));
    a.handle_key(key('v'), &b);
    assert_eq!(b.take(), ["set_log_level reset 0"]);
}
