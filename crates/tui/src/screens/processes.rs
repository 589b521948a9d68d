//! Processes: the agent's top processes, sortable, as a list or a tree.

use crate::app::{Action, App};
use crate::fmt;
use crate::keys::Cmd;
use crate::widgets::{clean, found, needle, panel, table, title_with_filter, Cursor};
use lookout_api::Process;
use ratatui::layout::{Constraint, Rect};
use ratatui::widgets::{Cell, Row};
use ratatui::Frame;
use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};

/// What the list is sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum SortKey {
    #[default]
    Cpu,
    Mem,
    Pid,
    Name,
}

impl SortKey {
    fn next(self) -> SortKey {
        match self {
            SortKey::Cpu => SortKey::Mem,
            SortKey::Mem => SortKey::Pid,
            SortKey::Pid => SortKey::Name,
            SortKey::Name => SortKey::Cpu,
        }
    }

    fn name(self) -> &'static str {
        match self {
            SortKey::Cpu => "cpu",
            SortKey::Mem => "mem",
            SortKey::Pid => "pid",
            SortKey::Name => "name",
        }
    }

    /// Biggest first for amounts, smallest first for identities (as `top` does).
    fn descending(self) -> bool {
        matches!(self, SortKey::Cpu | SortKey::Mem)
    }

    fn compare(self, a: &Process, b: &Process) -> Ordering {
        let by = match self {
            SortKey::Cpu => {
                let c = |p: &Process| p.cpu_cores.filter(|c| c.is_finite()).unwrap_or(-1.0);
                c(a).total_cmp(&c(b))
            }
            SortKey::Mem => a.rss_bytes.cmp(&b.rss_bytes),
            SortKey::Pid => a.pid.cmp(&b.pid),
            SortKey::Name => a.name.to_lowercase().cmp(&b.name.to_lowercase()),
        };
        // Ties go by pid so that equal rows keep still between refreshes.
        let by = if self.descending() { by.reverse() } else { by };
        by.then(a.pid.cmp(&b.pid))
    }
}

/// The Processes screen's state.
#[derive(Debug, Default)]
pub(crate) struct State {
    pub sort: SortKey,
    pub reverse: bool,
    pub tree: bool,
    pub cursor: Cursor,
}

/// The processes in display order, with their depth in the tree (0 in a list).
pub(crate) fn ordered<'a>(procs: &'a [Process], st: &State) -> Vec<(usize, &'a Process)> {
    let mut sorted: Vec<&Process> = procs.iter().collect();
    sorted.sort_by(|a, b| {
        let o = st.sort.compare(a, b);
        if st.reverse {
            o.reverse()
        } else {
            o
        }
    });
    if !st.tree {
        return sorted.into_iter().map(|p| (0, p)).collect();
    }
    let pids: HashSet<u32> = procs.iter().map(|p| p.pid).collect();
    let mut children: HashMap<u32, Vec<&Process>> = HashMap::new();
    let mut roots = Vec::new();
    for p in &sorted {
        // Only the top processes are reported: a parent that is not among them makes its
        // child a root.
        if p.ppid != p.pid && pids.contains(&p.ppid) {
            children.entry(p.ppid).or_default().push(p);
        } else {
            roots.push(*p);
        }
    }
    let mut out = Vec::with_capacity(procs.len());
    let mut seen = HashSet::new();
    let mut stack: Vec<(usize, &Process)> = roots.into_iter().rev().map(|p| (0, p)).collect();
    while let Some((depth, p)) = stack.pop() {
        if !seen.insert(p.pid) {
            continue;
        }
        out.push((depth, p));
        if let Some(kids) = children.get(&p.pid) {
            stack.extend(kids.iter().rev().map(|k| (depth + 1, *k)));
        }
    }
    // A parent loop (pid reuse) leaves processes unreached: list them rather than lose them.
    for p in sorted {
        if !seen.contains(&p.pid) {
            seen.insert(p.pid);
            out.push((0, p));
        }
    }
    out
}

fn command(p: &Process) -> String {
    if p.command_line.trim().is_empty() {
        format!("[{}]", p.name)
    } else {
        clean(&p.command_line)
    }
}

fn matches(p: &Process, n: Option<&str>) -> bool {
    if n.is_none() {
        return true;
    }
    let owner = p.owner.as_deref().unwrap_or("");
    found(
        &format!("{} {owner} {} {}", p.pid, p.name, p.command_line),
        n,
    )
}

/// The rows shown: ordered, then searched.
pub(crate) fn rows(app: &App) -> Vec<(usize, &Process)> {
    let Some(p) = &app.processes else {
        return Vec::new();
    };
    let n = needle(app.filter());
    ordered(&p.reported, &app.procs_ui)
        .into_iter()
        .filter(|(_, p)| matches(p, n.as_deref()))
        .collect()
}

pub(crate) fn on_cmd(app: &mut App, cmd: Cmd) -> Action {
    let st = &mut app.procs_ui;
    match cmd {
        Cmd::Sort => {
            st.sort = st.sort.next();
            st.reverse = false;
        }
        Cmd::Reverse => st.reverse = !st.reverse,
        Cmd::Tree => st.tree = !st.tree,
        c => {
            let len = rows(app).len();
            if !app.procs_ui.cursor.apply(c, len) {
                return Action::None;
            }
        }
    }
    Action::Redraw
}

pub(crate) fn render(app: &App, f: &mut Frame, area: Rect) {
    let t = &app.theme;
    let st = &app.procs_ui;
    let shown = rows(app);
    let on_host = app.processes.as_ref().map_or(0, |p| p.processes);
    let mut name = format!(
        "{} on host, {} shown, sort: {}",
        fmt::plural(usize::try_from(on_host).unwrap_or(usize::MAX), "process"),
        shown.len(),
        st.sort.name()
    );
    if st.reverse {
        name.push_str(" (reversed)");
    }
    if st.tree {
        name.push_str(", tree");
    }
    let descending = st.sort.descending() != st.reverse;
    let arrow = if descending { "↓" } else { "↑" };
    let head = |label: &str, key: SortKey| {
        if st.sort == key {
            format!("{label}{arrow}")
        } else {
            label.to_string()
        }
    };
    let header = vec![
        head("PID", SortKey::Pid),
        "USER".to_string(),
        head("CPU%", SortKey::Cpu),
        head("RSS", SortKey::Mem),
        "THR".to_string(),
        "S".to_string(),
        head("COMMAND", SortKey::Name),
    ];
    // only the rows on the page are built: 1,000 processes cost what 30 do
    let len = shown.len();
    let (start, end) = st.cursor.window(area, len, 3);
    let rows: Vec<Row> = shown[start..end]
        .iter()
        .map(|(depth, p)| {
            let cmd = if *depth > 0 {
                format!("{}└ {}", "  ".repeat(depth - 1), command(p))
            } else {
                command(p)
            };
            Row::new(vec![
                Cell::from(p.pid.to_string()),
                Cell::from(p.owner.clone().unwrap_or_else(|| "-".to_string())),
                Cell::from(
                    p.cpu_cores
                        .map_or_else(|| "-".to_string(), |c| format!("{:.1}", c * 100.0)),
                ),
                Cell::from(fmt::bytes(p.rss_bytes)),
                Cell::from(p.threads.to_string()),
                Cell::from(p.state.clone()),
                Cell::from(cmd),
            ])
        })
        .collect();
    let widths = vec![
        Constraint::Length(7),
        Constraint::Length(9),
        Constraint::Length(6),
        Constraint::Length(9),
        Constraint::Length(4),
        Constraint::Length(1),
        Constraint::Fill(1),
    ];
    let tbl = table(header, rows, widths, t).block(panel(title_with_filter(name, app.filter()), t));
    st.cursor.render_window(f, area, tbl, (start, len), 3);
}
