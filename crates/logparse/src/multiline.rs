//! Joins physical lines into records (stack traces, tracebacks, panics).

use regex::Regex;

/// The default bound of one record, in bytes.
pub const DEFAULT_MAX_BYTES: usize = 64 * 1024;

/// How [`Multiline`] decides where a record starts.
#[derive(Debug, Clone)]
pub enum MultilineRule {
    /// Every line is a record.
    None,
    /// A line matching starts a record; any other line continues the current one.
    StartPattern(Regex),
    /// A line matching continues the current record; any other line starts one.
    Continuation(Regex),
    /// Built-in rules. A line continues the current record when it:
    /// - starts with a space or a tab (Java `\tat …`, Python `  File …`, Go `\t/src/x.go:12`);
    /// - is a Java `Caused by: …`, `... N more` / `... N common frames omitted`, or a Java
    ///   exception header `pkg.Name(Exception|Error)[: msg]` right after a log line;
    /// - is Python's `Traceback (most recent call last):` or a chaining sentence (`During
    ///   handling of the above exception…`, `The above exception was the direct cause…`), and,
    ///   inside a traceback, its final unindented `XxxError: msg` line and blank lines;
    /// - is Go's `goroutine N [state]:`, or inside a panic (after `panic: ` or `fatal error: `),
    ///   a blank line, a frame `pkg.fn(…)`, `created by …`, `[signal …` or `exit status N`.
    ///
    /// Blank lines outside a traceback or panic are dropped. Trailing blank lines of a record
    /// are removed.
    Auto,
    /// The MySQL/MariaDB slow query log: a record starts at `# Time:`, or at `# User@Host:`
    /// unless it follows the record's own `# Time:` line.
    MysqlSlow,
    /// PostgreSQL's stderr log: indented lines and `DETAIL:`/`HINT:`/`STATEMENT:`/`CONTEXT:`/
    /// `QUERY:`/`LOCATION:` lines continue the record.
    Postgresql,
    /// CSV records whose quoted fields may hold newlines (PostgreSQL's csvlog): a line continues
    /// the record while the record so far has an odd number of `"` (a quoted field is open;
    /// `""` counts as two). Quotes are counted once per line as it is pushed. Blank lines
    /// outside a quoted field are dropped. A quote that is never closed keeps joining lines
    /// until the byte bound cuts the record or [`Multiline::flush_due`] ends it.
    CsvQuotes,
}

/// Counters of a [`Multiline`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MultilineStats {
    /// Lines pushed.
    pub lines: u64,
    /// Records completed (returned).
    pub records: u64,
    /// Records cut at the byte bound.
    pub truncated_records: u64,
    /// Bytes dropped by those cuts.
    pub dropped_bytes: u64,
    /// Records completed by [`Multiline::flush_due`] because they were idle.
    pub idle_flushes: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Normal,
    Python,
    PythonDone,
    Go,
}

/// A multi-line joiner: push lines in order, get records back as they complete.
#[derive(Debug)]
pub struct Multiline {
    rule: MultilineRule,
    max_bytes: usize,
    pending: Option<String>,
    truncated: bool,
    last_nanos: u64,
    state: State,
    /// [`MultilineRule::CsvQuotes`]: the lines pushed into the pending record hold an odd
    /// number of `"`.
    quote_open: bool,
    stats: MultilineStats,
}

impl Multiline {
    /// A joiner with [`DEFAULT_MAX_BYTES`].
    pub fn new(rule: MultilineRule) -> Self {
        Multiline {
            rule,
            max_bytes: DEFAULT_MAX_BYTES,
            pending: None,
            truncated: false,
            last_nanos: 0,
            state: State::Normal,
            quote_open: false,
            stats: MultilineStats::default(),
        }
    }

    /// Sets the byte bound of a record (at least 1): a longer record is cut there (on a
    /// character boundary) and the cut is counted.
    pub fn with_max_bytes(mut self, max_bytes: usize) -> Self {
        self.max_bytes = max_bytes.max(1);
        self
    }

    /// The counters.
    pub fn stats(&self) -> MultilineStats {
        self.stats
    }

    /// True when a record is being joined.
    pub fn has_pending(&self) -> bool {
        self.pending.is_some()
    }

    /// Adds one line (a trailing `\n`/`\r` is ignored) read at `now_nanos`; returns the record
    /// this line completed, if any (not the line's own record, which stays pending until a line
    /// starts the next one, [`Multiline::flush_due`] or [`Multiline::flush`]). With
    /// [`MultilineRule::None`] the line itself is returned at once.
    pub fn push(&mut self, line: &str, now_nanos: u64) -> Option<String> {
        let line = line.trim_end_matches(['\n', '\r']);
        self.stats.lines += 1;
        let continues = match &self.rule {
            MultilineRule::None => {
                let out = self.flush();
                self.start(line, now_nanos);
                return out.or_else(|| self.flush());
            }
            MultilineRule::StartPattern(re) => !re.is_match(line),
            MultilineRule::Continuation(re) => re.is_match(line),
            MultilineRule::MysqlSlow => {
                let header_only = self
                    .pending
                    .as_deref()
                    .is_some_and(|p| p.lines().all(|l| l.starts_with("# Time:")));
                !(line.starts_with("# Time:") || (line.starts_with("# User@Host:") && !header_only))
            }
            MultilineRule::Postgresql => crate::services::pg_continues(line),
            MultilineRule::CsvQuotes => {
                if !self.quote_open && line.trim().is_empty() {
                    return None;
                }
                self.quote_open
            }
            MultilineRule::Auto => {
                if line.trim().is_empty() && self.state == State::Normal {
                    return None;
                }
                self.auto_continues(line)
            }
        };
        let odd_quotes = matches!(self.rule, MultilineRule::CsvQuotes)
            && memchr::memchr_iter(b'"', line.as_bytes()).count() % 2 == 1;
        if continues && self.pending.is_some() {
            self.append(line, now_nanos);
            self.quote_open ^= odd_quotes;
            None
        } else {
            let state = self.state;
            let out = self.take();
            self.state = state;
            self.start(line, now_nanos);
            self.quote_open = odd_quotes;
            out
        }
    }

    /// Completes the pending record if nothing was added to it for `idle_nanos` or more.
    pub fn flush_due(&mut self, now_nanos: u64, idle_nanos: u64) -> Option<String> {
        if self.pending.is_some() && now_nanos.saturating_sub(self.last_nanos) >= idle_nanos {
            let out = self.take();
            if out.is_some() {
                self.stats.idle_flushes += 1;
            }
            out
        } else {
            None
        }
    }

    /// Completes the pending record now (end of input).
    pub fn flush(&mut self) -> Option<String> {
        self.take()
    }

    fn take(&mut self) -> Option<String> {
        self.state = State::Normal;
        self.quote_open = false;
        self.truncated = false;
        let mut rec = self.pending.take()?;
        let keep = rec.trim_end_matches(['\n', '\r', ' ', '\t']).len();
        rec.truncate(keep);
        self.stats.records += 1;
        Some(rec)
    }

    fn start(&mut self, line: &str, now: u64) {
        self.pending = Some(String::with_capacity(line.len().min(self.max_bytes)));
        self.truncated = false;
        self.add(line, now);
    }

    fn append(&mut self, line: &str, now: u64) {
        if let Some(p) = self.pending.as_mut() {
            if !self.truncated && p.len() < self.max_bytes {
                p.push('\n');
            } else {
                self.stats.dropped_bytes += 1;
            }
        }
        self.add(line, now);
    }

    fn add(&mut self, line: &str, now: u64) {
        self.last_nanos = now;
        let Some(p) = self.pending.as_mut() else {
            return;
        };
        if self.truncated {
            self.stats.dropped_bytes += line.len() as u64;
            return;
        }
        let room = self.max_bytes.saturating_sub(p.len());
        if line.len() <= room {
            p.push_str(line);
            return;
        }
        let mut cut = room;
        while !line.is_char_boundary(cut) {
            cut -= 1;
        }
        p.push_str(&line[..cut]);
        self.stats.dropped_bytes += (line.len() - cut) as u64;
        self.stats.truncated_records += 1;
        self.truncated = true;
    }

    fn auto_continues(&mut self, line: &str) -> bool {
        let blank = line.trim().is_empty();
        let indented = line.starts_with([' ', '\t']);
        if line.starts_with("Traceback (most recent call last):") {
            self.state = State::Python;
            return true;
        }
        if line.starts_with("panic: ") || line.starts_with("fatal error: ") {
            self.state = State::Go;
            return false;
        }
        if is_goroutine_header(line) {
            self.state = State::Go;
            return true;
        }
        if indented || is_java_continuation(line) {
            return true;
        }
        let cont = match self.state {
            State::Python if is_python_exception(line) => {
                self.state = State::PythonDone;
                true
            }
            State::Python | State::PythonDone => {
                blank
                    || line.starts_with("During handling of the above exception")
                    || line.starts_with("The above exception was the direct cause")
            }
            State::Go => {
                blank
                    || line.starts_with("created by ")
                    || line.starts_with("[signal ")
                    || line.starts_with("exit status ")
                    || is_go_frame(line)
            }
            State::Normal => false,
        };
        if !cont {
            self.state = State::Normal;
        }
        cont
    }
}

fn is_goroutine_header(line: &str) -> bool {
    line.strip_prefix("goroutine ").is_some_and(|r| {
        let d = r.bytes().take_while(u8::is_ascii_digit).count();
        d > 0 && r[d..].starts_with(" [")
    })
}

fn is_java_continuation(line: &str) -> bool {
    if line.starts_with("Caused by: ") {
        return true;
    }
    if let Some(r) = line.strip_prefix("... ") {
        let d = r.bytes().take_while(u8::is_ascii_digit).count();
        return d > 0 && (r[d..] == *" more" || r[d..].starts_with(" common frames omitted"));
    }
    // `java.lang.IllegalStateException: msg` (a dotted class name ending in Exception/Error).
    let head = line.split([':', ' ']).next().unwrap_or("");
    head.contains('.')
        && (head.ends_with("Exception") || head.ends_with("Error") || head.ends_with("Throwable"))
        && head
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'$'))
        && (line.len() == head.len() || line[head.len()..].starts_with(':'))
}

/// Python's last traceback line: `ValueError: msg`, `mod.CustomError`, `KeyboardInterrupt`.
fn is_python_exception(line: &str) -> bool {
    let head = match line.find(':') {
        Some(i) => &line[..i],
        None => line,
    };
    !head.is_empty()
        && head.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && head
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'.')
        && head.bytes().any(|c| c.is_ascii_uppercase())
}

/// A Go stack frame line: `main.main()`, `net/http.(*conn).serve(0xc0001)`.
fn is_go_frame(line: &str) -> bool {
    match line.split_once('(') {
        Some((f, _)) => line.ends_with(')') && f.contains('.') && !f.contains([' ', '\t']),
        None => false,
    }
}
