//! The guided first run, driven by keys against a fake setup.

use super::*;
use crate::{Action, Destination, Screen};

const KEY: &str = "eu01xxabcdefabcdefabcdefabcdefabcdefNRAL";

fn press(a: &mut App, b: &FakeBackend, s: &FakeSetup, k: KeyEvent) -> Action {
    a.handle_key_with(k, b, Some(s))
}

fn type_in(a: &mut App, b: &FakeBackend, s: &FakeSetup, text: &str) {
    for c in text.chars() {
        press(a, b, s, key(c));
    }
}

fn wizard() -> App {
    let mut a = app();
    a.start_setup();
    a
}

#[test]
fn new_relic_with_a_masked_key_and_services() {
    let (b, s) = (FakeBackend::new(), FakeSetup::default());
    let mut a = wizard();
    let t = text(&a);
    assert!(t.contains("Local only (nothing leaves this host)"), "{t}");
    assert!(
        t.contains("OTLP endpoint") && t.contains("New Relic"),
        "{t}"
    );
    press(&mut a, &b, &s, code(KeyCode::Down));
    press(&mut a, &b, &s, code(KeyCode::Down));
    press(&mut a, &b, &s, code(KeyCode::Enter));
    // q is part of the key here, not quit.
    assert_eq!(press(&mut a, &b, &s, key('q')), Action::Redraw);
    press(&mut a, &b, &s, code(KeyCode::Backspace));
    type_in(&mut a, &b, &s, KEY);
    let t = text(&a);
    assert!(t.contains("****NRAL"), "{t}");
    assert!(!t.contains(KEY), "the key is on screen:\n{t}");
    assert!(!t.contains("eu01xx"), "the key's start is on screen:\n{t}");
    assert!(t.contains("Region: eu (from the key"), "{t}");
    press(&mut a, &b, &s, code(KeyCode::Tab));
    assert!(text(&a).contains("Region: us (switched"));

    press(&mut a, &b, &s, code(KeyCode::Enter));
    assert_eq!(*s.discovered.borrow(), 1);
    let t = text(&a);
    assert!(
        t.contains("[x]") && t.contains("redis 127.0.0.1:6379"),
        "{t}"
    );
    assert!(t.contains("not confident enough to configure"), "{t}");
    press(&mut a, &b, &s, key(' '));
    assert!(text(&a).contains("[ ]"));
    press(&mut a, &b, &s, key(' '));
    // nginx cannot be ticked.
    press(&mut a, &b, &s, code(KeyCode::Down));
    press(&mut a, &b, &s, key(' '));
    assert!(text(&a).contains("cannot be configured"));
    // Back and forth keeps the discovery.
    press(&mut a, &b, &s, code(KeyCode::Esc));
    press(&mut a, &b, &s, code(KeyCode::Enter));
    assert_eq!(*s.discovered.borrow(), 1);

    press(&mut a, &b, &s, code(KeyCode::Enter));
    let t = text(&a);
    assert!(t.contains("New Relic, region us, key ****NRAL"), "{t}");
    assert!(t.contains("redis_6379"), "{t}");
    assert!(!t.contains(KEY));
    press(&mut a, &b, &s, code(KeyCode::Enter));
    assert_eq!(
        s.applied.borrow().clone().unwrap(),
        SetupChoice {
            destination: Destination::NewRelic {
                license_key: KEY.into(),
                region: "us".into(),
            },
            services: vec!["redis_6379".into()],
        }
    );
    // Done: the Overview waits for the agent.
    assert!(!a.in_setup());
    assert_eq!(a.screen(), Screen::Overview);
    *b.status.borrow_mut() = Err("cannot connect".into());
    a.refresh(&b, Instant::now());
    let t = text(&a);
    assert!(t.contains("waiting for the agent to start..."), "{t}");
    assert!(t.contains("agent started"), "{t}");
    *b.status.borrow_mut() = Ok(status());
    a.refresh(&b, Instant::now() + Duration::from_secs(5));
    assert!(!text(&a).contains("waiting for the agent"));
}

#[test]
fn otlp_needs_a_url() {
    let (b, s) = (FakeBackend::new(), FakeSetup::default());
    let mut a = wizard();
    press(&mut a, &b, &s, code(KeyCode::Down));
    press(&mut a, &b, &s, code(KeyCode::Enter));
    type_in(&mut a, &b, &s, "ftp://x");
    press(&mut a, &b, &s, code(KeyCode::Enter));
    assert!(text(&a).contains("the endpoint is a URL"));
    for _ in 0..7 {
        press(&mut a, &b, &s, code(KeyCode::Backspace));
    }
    type_in(&mut a, &b, &s, "https://otlp.example.com:4318");
    press(&mut a, &b, &s, code(KeyCode::Enter));
    press(&mut a, &b, &s, code(KeyCode::Enter));
    assert!(text(&a).contains("OTLP endpoint https://otlp.example.com:4318"));
    press(&mut a, &b, &s, code(KeyCode::Enter));
    assert_eq!(
        s.applied.borrow().clone().unwrap().destination,
        Destination::Otlp {
            endpoint: "https://otlp.example.com:4318".into()
        }
    );
}

#[test]
fn local_only_and_quitting() {
    let (b, s) = (FakeBackend::new(), FakeSetup::default());
    let mut a = wizard();
    // Nothing is fetched from an agent that does not exist yet.
    assert!(!a.refresh(&b, Instant::now()));
    assert!(b.take().is_empty());
    press(&mut a, &b, &s, code(KeyCode::Enter));
    // q is no quit past the first step; Esc goes back, where q quits.
    assert_eq!(press(&mut a, &b, &s, key('q')), Action::None);
    press(&mut a, &b, &s, code(KeyCode::Esc));
    assert_eq!(press(&mut a, &b, &s, key('q')), Action::Quit);
    press(&mut a, &b, &s, code(KeyCode::Enter));
    press(&mut a, &b, &s, code(KeyCode::Enter));
    assert_eq!(press(&mut a, &b, &s, ctrl('c')), Action::Quit);
    assert!(text(&a).contains("local only: nothing leaves this host"));
    press(&mut a, &b, &s, code(KeyCode::Enter));
    assert_eq!(
        s.applied.borrow().clone().unwrap(),
        SetupChoice {
            destination: Destination::LocalOnly,
            services: vec!["redis_6379".into()],
        }
    );
}
