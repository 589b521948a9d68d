//! The key table: the one place that says which key does what. Key handling looks commands up
//! here, and the footer and the help overlay are generated from it, so what is shown is what
//! works.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Where a binding applies. A key is looked up in the scopes of the current context in order
/// (the most specific first), so a screen can give a list key a meaning of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Everywhere, even while typing.
    Always,
    /// Everywhere but while typing or in an overlay.
    Global,
    /// Screens with a list or a scrollable text.
    Lists,
    /// The Overview screen.
    Overview,
    /// The Processes screen.
    Processes,
    /// The Pipeline screen.
    Pipeline,
    /// The Services screen.
    Services,
    /// The Logs screen.
    Logs,
    /// The Config screen.
    Config,
    /// A proposed configuration change, shown as a diff.
    Review,
    /// The in-place configuration editor.
    Editor,
    /// The Diagnostics screen.
    Diagnostics,
    /// The help overlay.
    Help,
    /// A one-line prompt (search, regular expression).
    Prompt,
    /// The add-source form.
    Form,
    /// A yes/no question.
    Confirm,
    /// A result shown over the screen.
    Popup,
    /// The guided first run.
    Setup,
}

impl Scope {
    /// The heading of its section in the help overlay.
    pub fn title(self) -> &'static str {
        match self {
            Scope::Always => "Anywhere",
            Scope::Global => "Global",
            Scope::Lists => "Lists and text",
            Scope::Overview => "Overview",
            Scope::Processes => "Processes",
            Scope::Pipeline => "Pipeline",
            Scope::Services => "Services",
            Scope::Logs => "Logs",
            Scope::Config => "Config",
            Scope::Review => "Config: reviewing a change",
            Scope::Editor => "Config: editing in place",
            Scope::Diagnostics => "Diagnostics",
            Scope::Help => "Help",
            Scope::Prompt => "Prompts (search, regex)",
            Scope::Form => "Add log source form",
            Scope::Confirm => "Questions",
            Scope::Popup => "Results",
            Scope::Setup => "Guided first run",
        }
    }
}

/// What a key asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmd {
    /// Leave the UI.
    Quit,
    /// Open (or close) the help overlay.
    Help,
    /// Go to the screen of the digit pressed.
    Goto,
    /// Next screen.
    NextScreen,
    /// Previous screen.
    PrevScreen,
    /// Search the current list.
    Filter,
    /// Close, clear or go back.
    Back,
    /// Selection or scroll up.
    Up,
    /// Selection or scroll down.
    Down,
    /// A page up.
    PageUp,
    /// A page down.
    PageDown,
    /// The first row.
    Home,
    /// The last row.
    End,
    /// Next sort column.
    Sort,
    /// Reverse the sort.
    Reverse,
    /// Tree view on or off.
    Tree,
    /// Enable the selected service.
    Enable,
    /// Disable the selected service.
    Disable,
    /// Tail the selected log source.
    Choose,
    /// Pause or resume the tail view.
    PauseView,
    /// Open the add-source form.
    AddSource,
    /// Remove the selected log source.
    RemoveSource,
    /// Pause or resume the selected log source.
    ToggleSource,
    /// Try a redaction rule on the selected source.
    TryRedact,
    /// Scroll the tail back.
    TailBack,
    /// Scroll the tail forward.
    TailForward,
    /// Follow the tail's end again.
    Follow,
    /// Show the effective configuration instead of the file.
    Effective,
    /// Edit the configuration in `$VISUAL`/`$EDITOR`.
    EditExternal,
    /// Edit the configuration in place.
    EditInPlace,
    /// Apply the reviewed change.
    Apply,
    /// Check the edited configuration.
    Validate,
    /// Run the diagnose checks again.
    Rerun,
    /// Verbose agent logging on or off.
    Verbose,
    /// Confirm a prompt or form.
    Submit,
    /// Next form field.
    NextField,
    /// Answer yes.
    Yes,
    /// Answer no.
    No,
    /// Tick or untick the selected item.
    Toggle,
    /// Switch the New Relic region.
    Region,
    /// Documentation only: keys that edit text.
    Typing,
}

/// A key: its code and the modifiers it needs (Shift is ignored: it is in the character).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    code: KeyCode,
    mods: KeyModifiers,
}

const fn ch(c: char) -> Key {
    Key {
        code: KeyCode::Char(c),
        mods: KeyModifiers::NONE,
    }
}

const fn ctrl(c: char) -> Key {
    Key {
        code: KeyCode::Char(c),
        mods: KeyModifiers::CONTROL,
    }
}

const fn code(code: KeyCode) -> Key {
    Key {
        code,
        mods: KeyModifiers::NONE,
    }
}

impl Key {
    /// Whether `ev` is this key. Shift is dropped on both sides: terminals report `?` or `E`
    /// with or without it, and `BackTab` always with it.
    pub fn matches(&self, ev: &KeyEvent) -> bool {
        let strip = |m: KeyModifiers| m - KeyModifiers::SHIFT;
        ev.code == self.code && strip(ev.modifiers) == strip(self.mods)
    }
}

/// One row of the key table.
#[derive(Debug)]
pub struct Binding {
    /// Where it applies.
    pub scope: Scope,
    /// The keys (any of them).
    pub keys: &'static [Key],
    /// How the keys are written in the footer and the help.
    pub label: &'static str,
    /// What they do (the help's wording).
    pub what: &'static str,
    /// The footer's shorter wording, when it is shown there.
    pub footer: Option<&'static str>,
    /// The command.
    pub cmd: Cmd,
}

const fn b(
    scope: Scope,
    keys: &'static [Key],
    label: &'static str,
    what: &'static str,
    footer: Option<&'static str>,
    cmd: Cmd,
) -> Binding {
    Binding {
        scope,
        keys,
        label,
        what,
        footer,
        cmd,
    }
}

use KeyCode::{BackTab, End, Enter, Esc, Home, PageDown, PageUp, Right, Tab};
use Scope as S;

const NO: Option<&str> = None;

/// Every binding, in the order the help lists them. (One line each: it reads as a table.)
#[rustfmt::skip]
pub static BINDINGS: &[Binding] = &[
    b(S::Always, &[ctrl('c')], "Ctrl-C", "quit, even while typing", NO, Cmd::Quit),
    b(S::Global, &[ch('/')], "/", "search: filter the current list or tail", Some("search"), Cmd::Filter),
    b(S::Global, &[ch('?')], "?", "help: every key", Some("help"), Cmd::Help),
    b(S::Global, &[ch('q')], "q", "quit", Some("quit"), Cmd::Quit),
    b(S::Global, &[ch('1'), ch('2'), ch('3'), ch('4'), ch('5'), ch('6'), ch('7')], "1-7", "go to a screen", NO, Cmd::Goto),
    b(S::Global, &[code(Tab)], "Tab", "next screen", NO, Cmd::NextScreen),
    b(S::Global, &[code(BackTab)], "Shift-Tab", "previous screen", NO, Cmd::PrevScreen),
    b(S::Global, &[code(Esc)], "Esc", "clear the search", NO, Cmd::Back),
    b(S::Lists, &[code(KeyCode::Up), ch('k')], "↑/k", "up", NO, Cmd::Up),
    b(S::Lists, &[code(KeyCode::Down), ch('j')], "↓/j", "down", NO, Cmd::Down),
    b(S::Lists, &[code(PageUp)], "PgUp", "a page up", NO, Cmd::PageUp),
    b(S::Lists, &[code(PageDown)], "PgDn", "a page down", NO, Cmd::PageDown),
    b(S::Lists, &[code(Home)], "Home", "the first row", NO, Cmd::Home),
    b(S::Lists, &[code(End)], "End", "the last row", NO, Cmd::End),
    b(S::Processes, &[ch('s')], "s", "sort by the next column: cpu, mem, pid, name", Some("sort"), Cmd::Sort),
    b(S::Processes, &[ch('r')], "r", "reverse the sort", Some("reverse"), Cmd::Reverse),
    b(S::Processes, &[ch('t')], "t", "tree view on/off", Some("tree"), Cmd::Tree),
    b(S::Services, &[ch('e')], "e", "enable the selected service", Some("enable"), Cmd::Enable),
    b(S::Services, &[ch('d')], "d", "disable the selected service", Some("disable"), Cmd::Disable),
    b(S::Logs, &[code(Enter), code(Right)], "Enter/→", "tail the selected source", Some("tail"), Cmd::Choose),
    b(S::Logs, &[ch(' ')], "space", "pause/resume the view (the agent keeps reading)", Some("pause view"), Cmd::PauseView),
    b(S::Logs, &[ch('a')], "a", "add a files source", Some("add"), Cmd::AddSource),
    b(S::Logs, &[ch('x')], "x", "remove the selected source (added ones)", Some("remove"), Cmd::RemoveSource),
    b(S::Logs, &[ch('p')], "p", "stop/start reading the selected source", Some("stop/start"), Cmd::ToggleSource),
    b(S::Logs, &[ch('R')], "R", "try a redaction rule on the selected source", Some("redact"), Cmd::TryRedact),
    b(S::Logs, &[code(PageUp)], "PgUp", "scroll the tail back", NO, Cmd::TailBack),
    b(S::Logs, &[code(PageDown)], "PgDn", "scroll the tail forward", NO, Cmd::TailForward),
    b(S::Logs, &[code(End)], "End", "follow the tail's end", NO, Cmd::Follow),
    b(S::Config, &[ch('e')], "e", "edit in $VISUAL or $EDITOR", Some("edit"), Cmd::EditExternal),
    b(S::Config, &[ch('i')], "i", "edit here, in place", Some("edit here"), Cmd::EditInPlace),
    b(S::Config, &[ch('E')], "E", "show the file or the effective configuration", Some("effective"), Cmd::Effective),
    b(S::Review, &[ch('y')], "y", "apply the change", Some("apply"), Cmd::Apply),
    b(S::Review, &[ch('n'), code(Esc)], "n/Esc", "discard the change", Some("discard"), Cmd::Back),
    b(S::Review, &[ch('i')], "i", "edit the change again", Some("edit again"), Cmd::EditInPlace),
    b(S::Editor, &[ctrl('s')], "Ctrl-S", "check the change, then review it", Some("check"), Cmd::Validate),
    b(S::Editor, &[code(Esc)], "Esc", "cancel the edit", Some("cancel"), Cmd::Back),
    b(S::Editor, &[], "arrows", "move (also Home/End, PgUp/PgDn)", NO, Cmd::Typing),
    b(S::Editor, &[], "typing", "edits (Enter, Backspace, Delete; Tab: two spaces)", NO, Cmd::Typing),
    b(S::Diagnostics, &[ch('r')], "r", "run the checks again", Some("rerun"), Cmd::Rerun),
    b(S::Diagnostics, &[ch('v')], "v", "verbose agent logging on/off (debug, 10 min)", Some("verbose"), Cmd::Verbose),
    b(S::Help, &[code(Esc), ch('?'), ch('q')], "Esc", "close the help", Some("close"), Cmd::Back),
    b(S::Prompt, &[code(Enter)], "Enter", "done", Some("done"), Cmd::Submit),
    b(S::Prompt, &[code(Esc)], "Esc", "cancel (a search is cleared)", Some("cancel"), Cmd::Back),
    b(S::Form, &[code(Tab), code(BackTab)], "Tab", "next field", Some("next field"), Cmd::NextField),
    b(S::Form, &[code(Enter)], "Enter", "add the source", Some("add"), Cmd::Submit),
    b(S::Form, &[code(Esc)], "Esc", "cancel", Some("cancel"), Cmd::Back),
    b(S::Confirm, &[ch('y')], "y", "yes", Some("yes"), Cmd::Yes),
    b(S::Confirm, &[ch('n'), code(Esc)], "n/Esc", "no", Some("no"), Cmd::No),
    b(S::Popup, &[code(Esc), code(Enter)], "Esc", "close", Some("close"), Cmd::Back),
    b(S::Setup, &[code(Enter)], "Enter", "next step", Some("next"), Cmd::Submit),
    b(S::Setup, &[code(Esc)], "Esc", "previous step", Some("back"), Cmd::Back),
    b(S::Setup, &[ch(' ')], "space", "tick or untick a service", Some("tick"), Cmd::Toggle),
    b(S::Setup, &[code(Tab)], "Tab", "switch the New Relic region", NO, Cmd::Region),
    b(S::Setup, &[ch('q')], "q", "quit (on the first step)", Some("quit"), Cmd::Quit),
];

/// The command `ev` means in a context whose scopes are `scopes` (most specific first).
/// [`Scope::Always`] comes first whether listed or not.
pub fn lookup(scopes: &[Scope], ev: &KeyEvent) -> Option<Cmd> {
    std::iter::once(&Scope::Always)
        .chain(scopes)
        .find_map(|&scope| {
            BINDINGS
                .iter()
                .filter(|b| b.scope == scope)
                .find(|b| b.keys.iter().any(|k| k.matches(ev)))
                .map(|b| b.cmd)
        })
}

/// [`lookup`] while the operator types: a plain character is text, never a command.
pub fn lookup_typing(scopes: &[Scope], ev: &KeyEvent) -> Option<Cmd> {
    let plain =
        matches!(ev.code, KeyCode::Char(_)) && (ev.modifiers - KeyModifiers::SHIFT).is_empty();
    if plain {
        return lookup(&[], ev);
    }
    lookup(scopes, ev)
}

/// The footer's bindings for a context: `(label, words)`, most specific first.
pub fn footer(scopes: &[Scope]) -> Vec<(&'static str, &'static str)> {
    scopes
        .iter()
        .flat_map(|&scope| {
            BINDINGS
                .iter()
                .filter(move |b| b.scope == scope)
                .filter_map(|b| b.footer.map(|f| (b.label, f)))
        })
        .collect()
}

/// The scopes listed in the help overlay, in order (each once).
pub fn help_scopes() -> Vec<Scope> {
    let mut out: Vec<Scope> = Vec::new();
    for b in BINDINGS {
        if !out.contains(&b.scope) {
            out.push(b.scope);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::KeyEvent;

    #[test]
    fn shift_is_ignored_but_control_is_not() {
        let shifted = KeyEvent::new(KeyCode::Char('R'), KeyModifiers::SHIFT);
        assert_eq!(lookup(&[Scope::Logs], &shifted), Some(Cmd::TryRedact));
        let ctrl_q = KeyEvent::new(KeyCode::Char('q'), KeyModifiers::CONTROL);
        assert_eq!(lookup(&[Scope::Global], &ctrl_q), None);
        let back_tab = KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT);
        assert_eq!(lookup(&[Scope::Global], &back_tab), Some(Cmd::PrevScreen));
    }

    #[test]
    fn the_most_specific_scope_wins() {
        let pgup = KeyEvent::new(KeyCode::PageUp, KeyModifiers::NONE);
        assert_eq!(
            lookup(&[Scope::Logs, Scope::Lists], &pgup),
            Some(Cmd::TailBack)
        );
        assert_eq!(
            lookup(&[Scope::Processes, Scope::Lists], &pgup),
            Some(Cmd::PageUp)
        );
    }

    #[test]
    fn typing_keeps_plain_characters() {
        let q = KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE);
        assert_eq!(lookup_typing(&[Scope::Setup], &q), None);
        let enter = KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE);
        assert_eq!(lookup_typing(&[Scope::Setup], &enter), Some(Cmd::Submit));
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(lookup_typing(&[Scope::Prompt], &ctrl_c), Some(Cmd::Quit));
    }

    #[test]
    fn footer_words_are_short() {
        let f = footer(&[Scope::Processes, Scope::Global]);
        assert_eq!(f.first(), Some(&("s", "sort")), "{f:?}");
        assert!(f.contains(&("q", "quit")), "{f:?}");
        assert!(f.contains(&("/", "search")), "{f:?}");
    }

    #[test]
    fn no_key_is_bound_twice_in_one_scope() {
        for (i, a) in BINDINGS.iter().enumerate() {
            for b in BINDINGS.iter().skip(i + 1) {
                if a.scope == b.scope {
                    for k in a.keys {
                        assert!(!b.keys.contains(k), "{:?} twice in {:?}", k, a.scope);
                    }
                }
            }
        }
    }
}
