//! Processes: sorting, reversing, the tree, selection.

use super::*;

/// The rows of the processes, top to bottom, as the pids they show.
fn pids(a: &App) -> Vec<u32> {
    let rows = screen(a);
    let head = row_of(&rows, "PID");
    rows[head + 1..]
        .iter()
        .filter_map(|r| {
            r.trim_start_matches(['│', ' '])
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .collect()
}

#[test]
fn sorted_by_cpu_then_mem_pid_and_name() {
    let b = FakeBackend::new();
    let (mut a, _) = on_screen(&b, '2');
    let t = text(&a);
    assert!(
        t.contains("312 processes on host, 5 shown, sort: cpu"),
        "{t}"
    );
    assert!(t.contains("CPU%↓"), "{t}");
    assert_eq!(pids(&a), [100, 50, 101, 1, 7]);
    a.handle_key(key('s'), &b);
    assert!(text(&a).contains("sort: mem"));
    assert!(text(&a).contains("RSS↓"));
    assert_eq!(pids(&a), [101, 100, 50, 1, 7]);
    a.handle_key(key('s'), &b);
    assert!(text(&a).contains("PID↑"));
    assert_eq!(pids(&a), [1, 7, 50, 100, 101]);
    a.handle_key(key('r'), &b);
    assert!(text(&a).contains("PID↓"));
    assert_eq!(pids(&a), [101, 100, 50, 7, 1]);
    a.handle_key(key('s'), &b);
    // Name: kworker, lookout, postgres (100 before 101), systemd.
    assert_eq!(pids(&a), [7, 50, 100, 101, 1]);
    a.handle_key(key('s'), &b);
    assert_eq!(pids(&a), [100, 50, 101, 1, 7]);
}

#[test]
fn columns_show_top_like_values() {
    let b = FakeBackend::new();
    let (a, _) = on_screen(&b, '2');
    let rows = screen(&a);
    let r = &rows[row_of(&rows, "postgres -D")];
    for want in ["100", "root", "50.0", "500 MiB", "S"] {
        assert!(r.contains(want), "{want:?} not in {r}");
    }
    // No command line: the name in brackets, as ps does for kernel threads.
    assert!(rows.join("\n").contains("[kworker]"));
    let r = &rows[row_of(&rows, "[kworker]")];
    assert!(r.contains(" - "), "no cpu reads -: {r}");
}

#[test]
fn tree_view_indents_children_under_parents() {
    let b = FakeBackend::new();
    let (mut a, _) = on_screen(&b, '2');
    a.handle_key(key('t'), &b);
    let rows = screen(&a);
    assert!(rows.join("\n").contains(", tree"));
    let init = row_of(&rows, "/sbin/init");
    let pg = row_of(&rows, "└ postgres -D");
    let writer = row_of(&rows, "└ postgres: writer");
    let lookout = row_of(&rows, "└ [lookout]");
    let kworker = row_of(&rows, "[kworker]");
    // Parents first, children by cpu under them, the orphan root last.
    assert!(
        init < pg && pg < writer && writer < lookout && lookout < kworker,
        "{rows:#?}"
    );
    let col = |r: usize, s: &str| rows[r].find(s).unwrap();
    assert!(col(writer, "└") > col(pg, "└"), "the grandchild is deeper");
    assert_eq!(pids(&a), [1, 100, 101, 50, 7]);
}

#[test]
fn tree_survives_a_parent_loop() {
    let b = FakeBackend::new();
    let mut a = app();
    a.handle_key(key('2'), &b);
    a.refresh(&b, Instant::now());
    let p = a.processes.as_mut().unwrap();
    p.reported = vec![
        process(10, 11, "a", "a", Some(0.1), 1),
        process(11, 10, "b", "b", Some(0.2), 1),
        process(12, 12, "c", "c", Some(0.3), 1),
    ];
    a.handle_key(key('t'), &b);
    let mut got = pids(&a);
    got.sort();
    assert_eq!(got, [10, 11, 12]);
}

#[test]
fn selection_moves_and_stays_in_the_list() {
    let b = FakeBackend::new();
    let (mut a, _) = on_screen(&b, '2');
    a.handle_key(code(KeyCode::Down), &b);
    a.handle_key(code(KeyCode::Down), &b);
    assert_eq!(a.procs_ui.cursor.pos, 2);
    a.handle_key(code(KeyCode::End), &b);
    a.handle_key(code(KeyCode::PageDown), &b);
    assert_eq!(a.procs_ui.cursor.pos, 4);
    a.handle_key(code(KeyCode::Home), &b);
    a.handle_key(code(KeyCode::Up), &b);
    assert_eq!(a.procs_ui.cursor.pos, 0);
    // The selected row is drawn reversed.
    a.handle_key(key('j'), &b);
    let buf = draw(&a, 100, 30);
    let rows = rows_of(&buf);
    let y = row_of(&rows, "[lookout]") as u16;
    let x = rows[y as usize].find("50").unwrap() as u16;
    assert!(buf
        .cell((x, y))
        .unwrap()
        .modifier
        .contains(ratatui::style::Modifier::REVERSED));
}

#[test]
fn a_long_list_scrolls_with_the_selection_and_draws_only_its_page() {
    let mut b = FakeBackend::new();
    b.processes.reported = (0..1000u32)
        .map(|i| {
            process(
                10_000 + i,
                1,
                "w",
                &format!("worker {i}"),
                None,
                u64::from(i),
            )
        })
        .collect();
    let (mut a, _) = on_screen(&b, '2');
    a.handle_key(key('s'), &b); // by memory: pid 10999 first
    assert_eq!(pids(&a).first(), Some(&10_999));
    let page = pids(&a).len();
    assert!(page > 5 && page < 40, "{page}");
    a.handle_key(code(KeyCode::End), &b);
    let shown = pids(&a);
    assert_eq!(shown.last(), Some(&10_000), "the last row is on the page");
    assert_eq!(shown.len(), page);
    a.handle_key(code(KeyCode::PageUp), &b);
    a.handle_key(code(KeyCode::Up), &b);
    // the page keeps its place while the selection moves inside it, until it leaves it
    let after = pids(&a);
    assert_eq!(after.len(), page);
    assert!(after.iter().all(|p| (10_000..11_000).contains(p)));
    a.handle_key(code(KeyCode::Home), &b);
    assert_eq!(pids(&a).first(), Some(&10_999));
}
