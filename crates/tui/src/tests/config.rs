//! Config: viewing, editing in place, the check/diff/apply flow, `$EDITOR`'s result.

use super::*;
use crate::Action;

#[test]
fn shows_the_file_and_the_effective_configuration() {
    let b = FakeBackend::new();
    let (mut a, t0) = on_screen(&b, '6');
    assert_eq!(b.count("config"), 1);
    let t = text(&a);
    for want in [
        "file /etc/lookout/lookout.yaml",
        "hash 9f8e7d6c5b4a",
        "editable",
        "   1 sources:",
        "   3     type: host_metrics",
    ] {
        assert!(t.contains(want), "{want:?} missing:\n{t}");
    }
    a.handle_key(key('E'), &b);
    let t = text(&a);
    assert!(t.contains("effective configuration"), "{t}");
    assert!(t.contains("interval: 10s"), "{t}");
    // Fetched on entering, not on every refresh.
    a.refresh(&b, at(t0, 3000));
    assert_eq!(b.count("config"), 1);
    a.handle_key(key('1'), &b);
    a.handle_key(key('6'), &b);
    a.refresh(&b, at(t0, 3100));
    assert_eq!(b.count("config"), 2);
}

#[test]
fn in_place_edit_checks_shows_the_diff_and_applies() {
    let b = FakeBackend::new();
    let (mut a, t0) = on_screen(&b, '6');
    b.take();
    a.handle_key(key('i'), &b);
    assert!(text(&a).contains("editing /etc/lookout/lookout.yaml"));
    // q and digits are text in the editor.
    typing(&mut a, &b, "# hi q1");
    for _ in 0..3 {
        a.handle_key(code(KeyCode::Backspace), &b);
    }
    a.handle_key(code(KeyCode::Enter), &b);
    assert!(text(&a).contains("   1 # hi"));
    a.handle_key(ctrl('s'), &b);
    let want_yaml = format!("# hi\n{SOURCE_YAML}");
    assert_eq!(b.take(), [format!("config_change false {want_yaml:?}")]);
    let t = text(&a);
    for want in [
        "proposed change: valid",
        "+# hi",
        "-    type: host_metrics",
        "y apply",
    ] {
        assert!(t.contains(want), "{want:?} missing:\n{t}");
    }
    a.handle_key(key('y'), &b);
    assert_eq!(b.take(), [format!("config_change true {want_yaml:?}")]);
    let t = text(&a);
    assert!(
        t.contains("applied: the agent runs configuration 0a1b2c3d"),
        "{t}"
    );
    // Back to the view, read again.
    a.refresh(&b, at(t0, 100));
    assert_eq!(b.take(), ["config"]);
}

#[test]
fn a_change_can_be_discarded_or_edited_again() {
    let b = FakeBackend::new();
    let (mut a, _) = on_screen(&b, '6');
    a.handle_key(key('i'), &b);
    typing(&mut a, &b, "x");
    a.handle_key(ctrl('s'), &b);
    a.handle_key(key('i'), &b);
    assert!(text(&a).contains("   1 xsources:"));
    a.handle_key(ctrl('s'), &b);
    a.handle_key(key('n'), &b);
    let t = text(&a);
    assert!(t.contains("change discarded"), "{t}");
    assert!(t.contains("   1 sources:"), "{t}");
    // Esc in the editor cancels; an unchanged text is no change.
    a.handle_key(key('i'), &b);
    a.handle_key(code(KeyCode::Esc), &b);
    assert!(text(&a).contains("edit cancelled"));
    a.handle_key(key('i'), &b);
    b.take();
    a.handle_key(ctrl('s'), &b);
    assert!(b.take().is_empty());
    assert!(text(&a).contains("no change"));
}

#[test]
fn e_hands_the_text_to_the_editor_and_takes_its_result() {
    let b = FakeBackend::new();
    let (mut a, _) = on_screen(&b, '6');
    assert_eq!(
        a.handle_key(key('e'), &b),
        Action::Edit(SOURCE_YAML.to_string())
    );
    a.config_edited(SOURCE_YAML, SOURCE_YAML, &b);
    assert!(text(&a).contains("no change: the file was left as it was"));
    b.take();
    a.config_edited(SOURCE_YAML, "sources: {}\n", &b);
    assert_eq!(b.take(), ["config_change false \"sources: {}\\n\""]);
    assert!(text(&a).contains("proposed change: valid"));
}

#[test]
fn a_configuration_that_cannot_be_edited_says_why() {
    let b = FakeBackend::new();
    b.config.borrow_mut().editable = false;
    b.config.borrow_mut().path = None;
    let (mut a, _) = on_screen(&b, '6');
    let t = text(&a);
    assert!(t.contains("(embedded default)"), "{t}");
    assert!(
        t.contains("not editable: the agent runs its embedded default"),
        "{t}"
    );
    assert_eq!(a.handle_key(key('e'), &b), Action::Redraw);
    a.handle_key(key('i'), &b);
    assert!(!text(&a).contains("editing"));
}

#[test]
fn search_shows_matching_lines_with_their_numbers() {
    let b = FakeBackend::new();
    let (mut a, _) = on_screen(&b, '6');
    typing(&mut a, &b, "/type");
    let t = text(&a);
    assert!(t.contains("   3     type: host_metrics"), "{t}");
    assert!(t.contains("   6     type: store"), "{t}");
    assert!(!t.contains("   1 sources:"), "{t}");
}
