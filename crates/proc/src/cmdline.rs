//! `/proc/<pid>/cmdline` and `/proc/<pid>/comm`: how a process was started and what it is called.

/// Turns `/proc/<pid>/cmdline` (arguments each ended by a NUL) into one line in `out`: the
/// arguments joined with single spaces, at most `max_len` bytes. Returns whether it was cut.
///
/// `out` is cleared first and its capacity reused. Trailing NULs are ignored (programs that
/// rewrite their title, like PostgreSQL's backends, pad it with NULs), so an empty argument
/// inside the list still shows as two spaces. Invalid UTF-8 is replaced by U+FFFD as
/// [`String::from_utf8_lossy`] does; a cut falls on a character boundary, so `out` may end up to
/// three bytes shorter than `max_len`. Kernel threads and zombies have an empty `cmdline`, and
/// give an empty line.
pub fn parse_cmdline(input: &[u8], max_len: usize, out: &mut String) -> bool {
    out.clear();
    let input = input
        .get(..len_without_trailing_nuls(input))
        .unwrap_or_default();
    for chunk in input.utf8_chunks() {
        let mut args = chunk.valid().split('\0');
        if let Some(first) = args.next() {
            if !push_capped(out, first, max_len) {
                return true;
            }
        }
        for arg in args {
            if !push_capped(out, " ", max_len) || !push_capped(out, arg, max_len) {
                return true;
            }
        }
        if !chunk.invalid().is_empty() && !push_capped(out, "\u{fffd}", max_len) {
            return true;
        }
    }
    false
}

/// Appends as much of `s` as fits in `max_len` bytes, cut on a character boundary; false if not
/// all of it fit.
fn push_capped(out: &mut String, s: &str, max_len: usize) -> bool {
    let room = max_len.saturating_sub(out.len());
    if s.len() <= room {
        out.push_str(s);
        return true;
    }
    let mut cut = room;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    out.push_str(s.get(..cut).unwrap_or_default());
    false
}

/// How many bytes of `cmdline` [`parse_cmdline`] needs to see, beyond its trailing NULs, to give
/// the same result as on the whole file: `max_len` plus the longest UTF-8 sequence, so that no
/// character cut at the end of the read can reach into the kept part.
pub(crate) fn cmdline_bytes_needed(max_len: usize) -> usize {
    max_len.saturating_add(4)
}

/// `input` without the trailing NULs [`parse_cmdline`] ignores: its length.
pub(crate) fn len_without_trailing_nuls(input: &[u8]) -> usize {
    input.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1)
}

/// `/proc/<pid>/comm` without its newline; invalid UTF-8 replaced. Leading and trailing spaces
/// are part of the name and kept.
pub(crate) fn parse_comm(input: &[u8]) -> String {
    let name = input.strip_suffix(b"\n").unwrap_or(input);
    String::from_utf8_lossy(name).into_owned()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::testutil::fixture;

    fn line(input: &[u8], max_len: usize) -> (String, bool) {
        let mut out = String::from("left over");
        let cut = parse_cmdline(input, max_len, &mut out);
        assert!(out.len() <= max_len);
        (out, cut)
    }

    const POSTGRES: &str = "/usr/lib/postgresql/15/bin/postgres -D /var/lib/postgresql/15/main \
        -c config_file=/etc/postgresql/15/main/postgresql.conf";

    #[test]
    fn debian12_fixtures() {
        let (pg, cut) = line(&fixture("proc/2204/cmdline"), 4096);
        assert_eq!((pg.as_str(), cut), (POSTGRES, false));
        assert_eq!(
            line(&fixture("proc/2/cmdline"), 4096),
            (String::new(), false)
        );
        assert_eq!(parse_comm(&fixture("proc/2204/comm")), "postgres");
        assert_eq!(parse_comm(&fixture("proc/2/comm")), "kthreadd");
    }

    #[test]
    fn title_padded_with_nuls() {
        // A PostgreSQL backend of the recording machine: one rewritten argument, then NULs up to
        // the length of the original arguments.
        let mut input = b"postgres: 15/main: checkpointer ".to_vec();
        input.resize(122, 0);
        assert_eq!(
            line(&input, 4096),
            ("postgres: 15/main: checkpointer ".into(), false)
        );
        assert!(!line(&input, 32).1, "exactly max_len is not cut");
        assert_eq!(
            line(&input, 31),
            ("postgres: 15/main: checkpointer".into(), true)
        );
    }

    #[test]
    fn separators_and_empty_arguments() {
        assert_eq!(line(b"a\0b\0", 100), ("a b".into(), false));
        assert_eq!(line(b"a\0b", 100), ("a b".into(), false), "no final NUL");
        assert_eq!(line(b"a\0\0b\0", 100), ("a  b".into(), false));
        assert_eq!(line(b"\0a\0", 100), (" a".into(), false));
        assert_eq!(line(b"a b\0c\0", 100), ("a b c".into(), false));
        assert_eq!(line(b"", 100), (String::new(), false));
        assert_eq!(line(b"\0\0\0", 100), (String::new(), false));
        assert_eq!(line(b"x\0", 0), (String::new(), true));
        assert_eq!(line(b"\0", 0), (String::new(), false));
    }

    #[test]
    fn cut_on_character_boundaries() {
        let input = "ab\0é\0€\0😀\0".as_bytes();
        assert_eq!(line(input, 100), ("ab é € 😀".into(), false));
        assert_eq!(line(input, 14), ("ab é € 😀".into(), false));
        assert_eq!(line(input, 13), ("ab é € ".into(), true));
        assert_eq!(line(input, 10), ("ab é € ".into(), true));
        assert_eq!(line(input, 9), ("ab é €".into(), true));
        assert_eq!(line(input, 8), ("ab é ".into(), true));
        assert_eq!(line(input, 5), ("ab é".into(), true));
        assert_eq!(line(input, 4), ("ab ".into(), true));
        assert_eq!(line(input, 2), ("ab".into(), true));
    }

    #[test]
    fn invalid_utf8_is_replaced() {
        assert_eq!(line(b"a\xff\0b\0", 100), ("a\u{fffd} b".into(), false));
        assert_eq!(line(b"\xe2\x82\0x", 100), ("\u{fffd} x".into(), false));
        assert_eq!(line(b"\xff\xff", 100), ("\u{fffd}\u{fffd}".into(), false));
        assert_eq!(
            line(b"a\xff", 3),
            ("a".into(), true),
            "U+FFFD takes 3 bytes"
        );
        assert_eq!(line(b"a\xff", 4), ("a\u{fffd}".into(), false));
    }

    #[test]
    fn the_same_on_every_prefix_long_enough() {
        // What `ProcFs::read_pid_cmdline` relies on to read no more than it needs.
        let mut input = [
            "/usr/bin/java\0-Dé=€\0\u{1F600}\0-jar\0".as_bytes(),
            b"x\xff\xfe.jar\0",
        ]
        .concat();
        input.resize(input.len() + 20, 0);
        for max_len in 0..input.len() + 2 {
            let whole = line(&input, max_len);
            for end in 0..=input.len() {
                let prefix = &input[..end];
                if len_without_trailing_nuls(prefix) >= cmdline_bytes_needed(max_len) {
                    assert_eq!(line(prefix, max_len), whole, "{max_len} {end}");
                }
            }
        }
    }

    #[test]
    fn the_buffer_is_reused() {
        let mut out = String::with_capacity(256);
        let ptr = out.as_ptr();
        parse_cmdline(POSTGRES.replace(' ', "\0").as_bytes(), 200, &mut out);
        assert_eq!(out, POSTGRES);
        assert_eq!(out.as_ptr(), ptr);
    }

    #[test]
    fn comm() {
        assert_eq!(parse_comm(b"cat\n"), "cat");
        assert_eq!(parse_comm(b" a b \n"), " a b ");
        assert_eq!(parse_comm(b"x\n\n"), "x\n");
        assert_eq!(parse_comm(b"\xff\n"), "\u{fffd}");
        assert_eq!(parse_comm(b""), "");
    }
}
