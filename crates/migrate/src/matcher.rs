//! The agent's process matchers (`include_matching_metrics`, `exclude_matching_metrics`) as
//! lookout's executable-name globs (`*` any run, `?` one character).
//!
//! The agent takes, for `process.name` and `process.executable`, a literal (equal), a string
//! with `*` (a wildcard over the whole value) or `regex "..."` (a Go regular expression that
//! may match anywhere). Literals and wildcards become globs as they are; a regular expression
//! becomes globs when it is made of literal text, `.`, `.*`, `.+`, anchors and a top-level
//! alternation, and is otherwise not mapped (said in the report).

/// The longest name the kernel keeps for a process (`comm`, 15 bytes).
const COMM_LEN: usize = 15;

/// What one matcher value became.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Converted {
    /// The same set of names.
    Exact(Vec<String>),
    /// Close, with the difference.
    Approx(Vec<String>, String),
    /// Not expressible; why.
    No(String),
}

/// Splits `regex "..."` from the other forms.
fn regex_body(v: &str) -> Option<&str> {
    let rest = v.trim().strip_prefix("regex")?.trim_start();
    let inner = rest.strip_prefix('"')?.strip_suffix('"')?;
    Some(inner)
}

/// A `process.name` matcher.
pub(crate) fn name(v: &str) -> Converted {
    match regex_body(v) {
        Some(re) => match regex_to_globs(re) {
            Some(globs) => cut(globs),
            None => Converted::No(format!(
                "the regular expression {re:?} has no glob equivalent (lookout matches names by `*`/`?` globs); write the names it should match"
            )),
        },
        None if v.contains('?') => Converted::Approx(
            vec![v.to_string()],
            "`?` is literal for the agent and any one character for lookout".into(),
        ),
        None => cut(vec![v.to_string()]),
    }
}

/// Glob names longer than the kernel's 15 bytes are cut to them (lookout compares the
/// kernel's name).
fn cut(globs: Vec<String>) -> Converted {
    let mut approx = false;
    let out = globs
        .into_iter()
        .map(|g| {
            if g.len() > COMM_LEN && !g.contains('*') {
                approx = true;
                let mut end = COMM_LEN;
                while !g.is_char_boundary(end) {
                    end -= 1;
                }
                format!("{}*", &g[..end])
            } else {
                g
            }
        })
        .collect();
    if approx {
        Converted::Approx(
            out,
            "longer than the 15 bytes the kernel keeps of a process name: matched on those".into(),
        )
    } else {
        Converted::Exact(out)
    }
}

/// A `process.executable` matcher: the agent compares the executable's full path, lookout
/// the process name, so a path is matched by its file name.
pub(crate) fn executable(v: &str) -> Converted {
    if let Some(re) = regex_body(v) {
        return Converted::No(format!(
            "a regular expression over executable paths ({re:?}) cannot be matched on process names; write the names"
        ));
    }
    let file = v.rsplit('/').next().unwrap_or(v);
    if file.is_empty() || file == "*" {
        return Converted::No(
            "matches a directory of executables, which lookout cannot tell from process names"
                .into(),
        );
    }
    let note = "matched on the executable's file name, not its whole path";
    match cut(vec![file.to_string()]) {
        Converted::Exact(g) => Converted::Approx(g, note.into()),
        Converted::Approx(g, n) => Converted::Approx(g, format!("{note}; {n}")),
        no => no,
    }
}

/// Converts a regular expression made of literals, `.`, `.*`, `.+`, `^`, `$`, a top-level
/// `|` (or one group around it all) into globs; `None` for anything else.
pub(crate) fn regex_to_globs(re: &str) -> Option<Vec<String>> {
    let mut body = re;
    let mut start = false;
    let mut end = false;
    if let Some(b) = body.strip_prefix('^') {
        body = b;
        start = true;
    }
    if let Some(b) = body.strip_suffix('$') {
        if !b.ends_with('\\') {
            body = b;
            end = true;
        }
    }
    if let Some(inner) = body.strip_prefix('(').and_then(|b| b.strip_suffix(')')) {
        if !inner.contains(['(', ')']) {
            body = inner.strip_prefix("?:").unwrap_or(inner);
        }
    }
    let mut out = Vec::new();
    for alt in body.split('|') {
        if alt.is_empty() {
            return None;
        }
        let mut g = String::new();
        if !start {
            g.push('*');
        }
        let mut chars = alt.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some(e) if !e.is_ascii_alphanumeric() && e != '*' && e != '?' => g.push(e),
                    _ => return None,
                },
                '.' => match chars.peek() {
                    Some('*') => {
                        chars.next();
                        g.push('*');
                    }
                    Some('+') => {
                        chars.next();
                        g.push_str("?*");
                    }
                    _ => g.push('?'),
                },
                c if c.is_alphanumeric()
                    || matches!(c, '-' | '_' | '/' | ' ' | ':' | '@' | '=' | ',') =>
                {
                    g.push(c);
                }
                _ => return None,
            }
        }
        if !end {
            g.push('*');
        }
        while g.contains("**") {
            g = g.replace("**", "*");
        }
        out.push(g);
    }
    Some(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn globs(c: Converted) -> Vec<String> {
        match c {
            Converted::Exact(g) | Converted::Approx(g, _) => g,
            Converted::No(why) => panic!("not converted: {why}"),
        }
    }

    #[test]
    fn regular_expressions_become_globs_where_they_can() {
        let cases: &[(&str, Option<&[&str]>)] = &[
            ("^java$", Some(&["java"])),
            ("^java", Some(&["java*"])),
            ("java", Some(&["*java*"])),
            ("^(mysqld|postgres)$", Some(&["mysqld", "postgres"])),
            ("^nginx.*worker$", Some(&["nginx*worker"])),
            ("^python.\\..+$", Some(&["python?.?*"])),
            ("^kworker/\\d+", None),
            ("^[ab]c$", None),
            ("a(b|c)d", None),
            ("x+", None),
            ("a||b", None),
        ];
        for (re, want) in cases {
            let got = regex_to_globs(re);
            let want: Option<Vec<String>> = want.map(|w| w.iter().map(|s| s.to_string()).collect());
            assert_eq!(got, want, "{re}");
        }
    }

    #[test]
    fn name_and_executable_matchers() {
        assert_eq!(name("nginx"), Converted::Exact(vec!["nginx".into()]));
        assert_eq!(name("ngin*"), Converted::Exact(vec!["ngin*".into()]));
        assert_eq!(
            name("regex \"^redis\""),
            Converted::Exact(vec!["redis*".into()])
        );
        assert!(matches!(name("regex \"^r[e]dis\""), Converted::No(_)));
        let long = globs(name("a-very-long-process-name"));
        assert_eq!(long, vec!["a-very-long-pro*"]);
        assert!(matches!(name("a?b"), Converted::Approx(..)));
        assert_eq!(globs(executable("/usr/sbin/mysqld")), vec!["mysqld"]);
        assert!(matches!(executable("/usr/bin/*"), Converted::No(_)));
        assert!(matches!(executable("regex \"^/opt\""), Converted::No(_)));
    }
}
