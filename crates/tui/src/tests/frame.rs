//! The frame around the screens, global keys, refresh timing, and every screen at 80x24 and
//! without colour.

use super::*;
use crate::{Action, Screen};
use ratatui::style::Color;

const TABS: &str = "1 Overview 2 Processes 3 Pipeline 4 Services 5 Logs 6 Config 7 Diagnostics";

/// Every screen with its data, and a few overlays, as (name, app).
fn every_view(b: &FakeBackend, no_color: bool) -> Vec<(String, App)> {
    let opts = Options {
        no_color,
        ..Options::default()
    };
    let mut out = Vec::new();
    for (i, s) in Screen::ALL.iter().enumerate() {
        let mut a = App::new(&opts);
        let t0 = Instant::now();
        a.refresh(b, t0);
        a.handle_key(key(char::from(b'1' + i as u8)), b);
        a.refresh(b, t0);
        // A second status a second later gives the pipeline its rates and histories.
        a.refresh(b, at(t0, 1000));
        out.push((format!("{s:?}"), a));
    }
    let mut help = App::new(&opts);
    help.handle_key(key('?'), b);
    out.push(("help".into(), help));

    let (mut search, _) = on_screen(b, '5');
    search.opts_no_color(no_color);
    typing(&mut search, b, "/data");
    out.push(("logs search".into(), search));

    let (mut review, _) = on_screen(b, '6');
    review.opts_no_color(no_color);
    review.handle_key(key('i'), b);
    typing(&mut review, b, "# hi");
    review.handle_key(code(KeyCode::Enter), b);
    review.handle_key(ctrl('s'), b);
    out.push(("config review".into(), review));

    let (mut redact, _) = on_screen(b, '5');
    redact.opts_no_color(no_color);
    redact.handle_key(key('R'), b);
    typing(&mut redact, b, "password=\\S+");
    redact.handle_key(code(KeyCode::Enter), b);
    out.push(("redact result".into(), redact));

    let mut wizard = App::new(&opts);
    wizard.start_setup();
    out.push(("setup".into(), wizard));
    out
}

impl App {
    /// Switches colours after construction (the helpers build with defaults).
    fn opts_no_color(&mut self, no_color: bool) {
        self.theme = crate::theme::Theme::new(no_color);
    }
}

#[test]
fn every_screen_fits_80x24_with_the_tab_bar() {
    let b = FakeBackend::new();
    for (name, a) in every_view(&b, false) {
        let rows = rows_of(&draw(&a, 80, 24));
        if name != "setup" {
            assert!(rows[0].contains(TABS), "{name}: {}", rows[0]);
            // The footer: keys and the last message.
            assert!(rows[23].trim().len() > 5, "{name}: empty footer");
        } else {
            assert!(rows.join("\n").contains("guided first run"), "{name}");
        }
    }
}

#[test]
fn tiny_and_odd_terminals_do_not_panic() {
    let b = FakeBackend::new();
    for (_, a) in every_view(&b, false) {
        for (w, h) in [(1, 1), (10, 3), (20, 5), (40, 10), (79, 23), (200, 60)] {
            draw(&a, w, h);
        }
    }
}

#[test]
fn no_color_means_no_colour_anywhere() {
    let b = FakeBackend::new();
    for (name, a) in every_view(&b, true) {
        let buf = draw(&a, 100, 30);
        for c in buf.content() {
            assert_eq!(
                (c.fg, c.bg),
                (Color::Reset, Color::Reset),
                "{name}: {:?} has a colour",
                c.symbol()
            );
        }
    }
    // And colours are used otherwise (the check above would catch nothing if not).
    let (name, a) = every_view(&b, false).remove(2);
    let buf = draw(&a, 100, 30);
    assert!(
        buf.content().iter().any(|c| c.fg != Color::Reset),
        "{name} has no colour at all"
    );
}

#[test]
fn digits_and_tab_switch_screens() {
    let b = FakeBackend::new();
    let mut a = app();
    assert_eq!(a.handle_key(key('3'), &b), Action::Redraw);
    assert_eq!(a.screen(), Screen::Pipeline);
    a.handle_key(code(KeyCode::Tab), &b);
    assert_eq!(a.screen(), Screen::Services);
    a.handle_key(KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT), &b);
    a.handle_key(KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT), &b);
    a.handle_key(KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT), &b);
    assert_eq!(a.screen(), Screen::Overview);
    a.handle_key(KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT), &b);
    assert_eq!(a.screen(), Screen::Diagnostics);
    // The current tab is drawn reversed.
    let buf = draw(&a, 100, 30);
    let rows = rows_of(&buf);
    let x = rows[0].find("7 Diagnostics").unwrap() as u16;
    let cell = buf.cell((x, 0)).unwrap();
    assert!(cell.modifier.contains(ratatui::style::Modifier::REVERSED));
}

#[test]
fn q_and_ctrl_c_quit_but_not_while_typing() {
    let b = FakeBackend::new();
    let mut a = app();
    assert_eq!(a.handle_key(key('q'), &b), Action::Quit);
    assert_eq!(a.handle_key(ctrl('c'), &b), Action::Quit);
    a.handle_key(key('2'), &b);
    a.handle_key(key('/'), &b);
    assert_eq!(a.handle_key(key('q'), &b), Action::Redraw);
    assert!(text(&a).contains("/ search: q"));
    assert_eq!(a.handle_key(ctrl('c'), &b), Action::Quit);
}

#[test]
fn help_lists_every_key_from_the_table() {
    let b = FakeBackend::new();
    let mut a = app();
    a.handle_key(key('2'), &b);
    a.handle_key(key('?'), &b);
    let t = text(&a);
    assert!(t.contains("Processes (this screen)"), "{t}");
    assert!(t.contains("sort by the next column"), "{t}");
    assert!(t.contains("Ctrl-C"), "{t}");
    // Scrolling reaches the end of the table.
    a.handle_key(code(KeyCode::End), &b);
    let t = text(&a);
    assert!(t.contains("switch the New Relic region"), "{t}");
    // q closes the help rather than quitting.
    assert_eq!(a.handle_key(key('q'), &b), Action::Redraw);
    assert!(!text(&a).contains("this screen"));
    a.handle_key(key('?'), &b);
    a.handle_key(code(KeyCode::Esc), &b);
    assert!(!text(&a).contains("this screen"));
}

#[test]
fn the_footer_shows_the_screen_keys() {
    let b = FakeBackend::new();
    let (a, _) = on_screen(&b, '2');
    let rows = rows_of(&draw(&a, 80, 24));
    let footer = &rows[23];
    assert!(footer.contains("s sort"), "{footer}");
    assert!(footer.contains("t tree"), "{footer}");
    let (a, _) = on_screen(&b, '7');
    let rows = rows_of(&draw(&a, 80, 24));
    assert!(rows[23].contains("v verbose"), "{}", rows[23]);
}

#[test]
fn refresh_fetches_only_what_is_due_for_the_screen() {
    let b = FakeBackend::new();
    let mut a = app();
    let t0 = Instant::now();
    assert!(a.refresh(&b, t0));
    assert_eq!(b.take(), ["status", "host"]);
    // Nothing is due half a second later: no call, no redraw.
    assert!(!a.refresh(&b, at(t0, 500)));
    assert!(b.take().is_empty());
    assert_eq!(a.next_refresh(at(t0, 500)), at(t0, 1000));
    a.refresh(&b, at(t0, 1000));
    assert_eq!(b.take(), ["status"]);
    a.refresh(&b, at(t0, 2000));
    assert_eq!(b.take(), ["status", "host"]);
    // Another screen: its own data, not the host's.
    a.handle_key(key('2'), &b);
    a.refresh(&b, at(t0, 2100));
    assert_eq!(b.take(), ["processes"]);
    a.refresh(&b, at(t0, 4000));
    assert_eq!(b.take(), ["status"]);
    a.refresh(&b, at(t0, 4100));
    assert_eq!(b.take(), ["processes"]);
    a.handle_key(key('4'), &b);
    a.refresh(&b, at(t0, 4200));
    assert_eq!(b.take(), ["services"]);
    a.refresh(&b, at(t0, 5000));
    assert_eq!(b.take(), ["status"]);
    assert_eq!(a.next_refresh(at(t0, 5000)), at(t0, 6000));
    a.refresh(&b, at(t0, 9200));
    assert_eq!(b.take(), ["status", "services"]);
    // The pipeline needs nothing but the status.
    a.handle_key(key('3'), &b);
    a.refresh(&b, at(t0, 10_200));
    assert_eq!(b.take(), ["status"]);
}

#[test]
fn unchanged_data_does_not_ask_for_a_redraw() {
    let b = FakeBackend::new();
    let (mut a, t0) = on_screen(&b, '2');
    // Same status and processes again: nothing to draw.
    assert!(!a.refresh(&b, at(t0, 2000)));
    b.status.borrow_mut().as_mut().unwrap().uptime_secs += 2.0;
    assert!(a.refresh(&b, at(t0, 4000)));
}

#[test]
fn an_unreachable_agent_is_shown_and_retried() {
    let b = FakeBackend::new();
    let mut a = app();
    let t0 = Instant::now();
    *b.status.borrow_mut() = Err("cannot connect to /var/lib/lookout/control.sock".into());
    assert!(a.refresh(&b, t0));
    // Only the status is tried while it fails.
    assert_eq!(b.take(), ["status"]);
    let t = text(&a);
    assert!(
        t.contains("agent not reachable: cannot connect to /var/lib/lookout/control.sock"),
        "{t}"
    );
    assert!(!a.refresh(&b, at(t0, 1000)));
    assert_eq!(b.take(), ["status"]);
    assert_eq!(a.next_refresh(at(t0, 1000)), at(t0, 2000));
    *b.status.borrow_mut() = Ok(status());
    assert!(a.refresh(&b, at(t0, 2000)));
    assert_eq!(b.take(), ["status", "host"]);
    assert!(!text(&a).contains("not reachable"));
}

#[test]
fn search_filters_rows_and_esc_clears_it() {
    let b = FakeBackend::new();
    let (mut a, _) = on_screen(&b, '2');
    typing(&mut a, &b, "/writer");
    let t = text(&a);
    assert!(t.contains("postgres: writer"), "{t}");
    assert!(!t.contains("/sbin/init"), "{t}");
    a.handle_key(code(KeyCode::Enter), &b);
    let t = text(&a);
    assert!(t.contains("search: \"writer\""), "{t}");
    assert!(t.contains("1 shown"), "{t}");
    // Esc outside the prompt clears the search.
    a.handle_key(code(KeyCode::Esc), &b);
    let t = text(&a);
    assert!(t.contains("/sbin/init"), "{t}");
    // Esc inside the prompt clears it too.
    typing(&mut a, &b, "/zzz");
    assert!(text(&a).contains("0 shown"));
    a.handle_key(code(KeyCode::Esc), &b);
    assert!(text(&a).contains("5 shown"));
    // Each screen has its own search.
    a.handle_key(key('/'), &b);
    typing(&mut a, &b, "x");
    a.handle_key(code(KeyCode::Enter), &b);
    a.handle_key(key('3'), &b);
    assert!(!text(&a).contains("search:"));
}

#[test]
fn a_failed_fetch_is_shown_until_it_works_again() {
    let b = FakeBackend::new();
    b.failing.borrow_mut().push("processes");
    let (mut a, t0) = on_screen(&b, '2');
    let rows = rows_of(&draw(&a, 80, 24));
    assert!(
        rows[23].contains("processes: processes failed"),
        "{}",
        rows[23]
    );
    // The same error again is no change to draw.
    assert!(!a.refresh(&b, at(t0, 2000)));
    b.failing.borrow_mut().clear();
    assert!(a.refresh(&b, at(t0, 4000)));
    assert!(!text(&a).contains("processes failed"));
    assert!(text(&a).contains("postgres: writer"));
}

#[test]
fn the_footer_always_keeps_help() {
    let b = FakeBackend::new();
    let (a, _) = on_screen(&b, '5');
    let rows = rows_of(&draw(&a, 80, 24));
    assert!(rows[23].contains("? help"), "{}", rows[23]);
    assert!(rows[23].contains("Enter/→ tail"), "{}", rows[23]);
}

#[test]
fn hostile_data_does_not_panic_or_reach_the_terminal_raw() {
    let mut b = FakeBackend::new();
    for s in &mut b.host.samples {
        s.cpu_percent = f64::NAN;
        s.disk_read_bps = f64::INFINITY;
        s.net_rx_bps = 1e300;
        s.load1 = -4.0;
        s.mem_total_bytes = 0;
    }
    b.processes.reported[0].cpu_cores = Some(f64::NAN);
    b.processes.reported[4].name = "k\x1b[31mworker".into();
    b.processes.reported[4].owner = Some("\x1b]0;x\x07".into());
    b.services.services[1].instance = "nginx\x1b[2J".into();
    b.sources.borrow_mut().sources[1].id = "app\x1bc".into();
    b.processes.reported[1].command_line = "evil \x1b]0;pwned\x07 --flag".into();
    b.tail.borrow_mut().push(tail_line(
        4,
        "\x1b[2J",
        "bell \x07 and\ttab and a very long line "
            .repeat(20)
            .as_str(),
    ));
    {
        let mut s = b.status.borrow_mut();
        let s = s.as_mut().unwrap();
        s.uptime_secs = f64::NAN;
        s.components[1]
            .gauges
            .insert("lookout_sink_queue_depth_events".into(), 1e300);
        s.components[1].sent_items = u64::MAX;
        s.components[0].id = "host\x1b[H".into();
        s.version = "\x1b[?1049l".into();
    }
    for d in ['1', '2', '3', '4', '5', '6', '7'] {
        let (mut a, t0) = on_screen(&b, d);
        a.refresh(&b, at(t0, 1000));
        a.refresh(&b, at(t0, 2000));
        for (w, h) in [(80, 24), (1, 1), (300, 80)] {
            let buf = draw(&a, w, h);
            for c in buf.content() {
                assert!(
                    !c.symbol().chars().any(char::is_control),
                    "screen {d}: a control character reached the buffer"
                );
            }
        }
    }
}
