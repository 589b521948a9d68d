//! Services: the list, the selected one's details, enabling and disabling.

use super::*;

#[test]
fn shows_services_and_the_selected_ones_details() {
    let b = FakeBackend::new();
    let (a, _) = on_screen(&b, '4');
    let rows = screen(&a);
    let r = &rows[row_of(&rows, "redis 127.0.0.1:6379")];
    for want in ["95%", "yes", "redis_6379"] {
        assert!(r.contains(want), "{want:?} not in {r}");
    }
    let r = &rows[row_of(&rows, "nginx 0.0.0.0:80")];
    assert!(r.contains("40%") && r.contains("no"), "{r}");
    let t = rows.join("\n");
    for want in [
        "2 services, autoconfig on",
        "listening on 127.0.0.1:6379",
        "enabling adds:",
        "endpoint: 127.0.0.1:6379",
    ] {
        assert!(t.contains(want), "{want:?} missing:\n{t}");
    }
}

#[test]
fn d_disables_and_e_enables_the_selected_service() {
    let b = FakeBackend::new();
    let (mut a, t0) = on_screen(&b, '4');
    b.take();
    a.handle_key(key('d'), &b);
    assert_eq!(b.take(), ["set_service redis_6379 false"]);
    assert!(text(&a).contains("disabled redis_6379"));
    // The list is fetched again at once, not in 5 s.
    a.refresh(&b, at(t0, 100));
    assert_eq!(b.take(), ["services"]);
    a.handle_key(key('e'), &b);
    assert_eq!(b.take(), ["set_service redis_6379 true"]);
    assert!(text(&a).contains("enabled redis_6379"));
}

#[test]
fn a_service_without_a_source_cannot_be_switched() {
    let b = FakeBackend::new();
    let (mut a, _) = on_screen(&b, '4');
    b.take();
    a.handle_key(code(KeyCode::Down), &b);
    a.handle_key(key('e'), &b);
    assert!(b.take().is_empty());
    let t = text(&a);
    assert!(t.contains("nginx 0.0.0.0:80 has no source"), "{t}");
}
