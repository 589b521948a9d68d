//! Result sets as text, the common currency of the SQL integrations ([`crate::mysql`],
//! [`crate::postgresql`]): the clients turn every value into text (or NULL), and the pure metric
//! builders read [`Rows`] by column name, so they can be tested and fuzzed without a server.
//!
//! [`Rows::parse_delimited`] reads the batch output of the command-line clients
//! (`mysql -B`: tab-separated, `NULL`; `psql -A`: `|`-separated, empty for NULL), which is how
//! the tests write realistic server answers.
//!
//! ```
//! use lookout_integrations::rows::Rows;
//! let rows = Rows::parse_delimited("Variable_name\tValue\nUptime\t3600\nQueries\t42\n", '\t', "NULL");
//! assert_eq!(rows.len(), 2);
//! let first = rows.iter().next().unwrap();
//! assert_eq!(first.text("variable_name"), Some("Uptime"));
//! assert_eq!(first.int("Value"), Some(3600));
//! ```

use crate::{parse_f64, parse_int};

/// A result set: column names and rows of optional text values (`None` is SQL NULL). Every row
/// has exactly one value per column.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rows {
    columns: Vec<String>,
    rows: Vec<Vec<Option<String>>>,
}

impl Rows {
    /// An empty result set with these columns.
    pub fn new<I, S>(columns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Rows {
            columns: columns.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row; missing values are NULL and values beyond the last column are dropped.
    pub fn push(&mut self, mut values: Vec<Option<String>>) {
        values.resize(self.columns.len(), None);
        self.rows.push(values);
    }

    /// The column names, in order.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// The number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when there is no row.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The index of the first column called `name` (ASCII case-insensitive).
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns
            .iter()
            .position(|c| c.eq_ignore_ascii_case(name))
    }

    /// The rows, in order.
    pub fn iter(&self) -> impl Iterator<Item = Row<'_>> {
        self.rows
            .iter()
            .map(move |values| Row { rows: self, values })
    }

    /// The non-NULL `(first column, second column)` pairs: the shape of `SHOW STATUS` and
    /// `SHOW VARIABLES`.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.rows
            .iter()
            .filter_map(|r| match (r.first(), r.get(1)) {
                (Some(Some(k)), Some(Some(v))) => Some((k.as_str(), v.as_str())),
                _ => None,
            })
    }

    /// Parses the batch output of a command-line client: a header line of column names, then
    /// one line per row, fields separated by `sep`; a field equal to `null` is NULL. Blank lines
    /// and `psql`'s `(N rows)` footer are skipped. Never fails: odd lines become short or long
    /// rows, padded or cut to the header.
    pub fn parse_delimited(text: &str, sep: char, null: &str) -> Rows {
        let mut lines = text
            .lines()
            .map(|l| l.strip_suffix('\r').unwrap_or(l))
            .filter(|l| !l.trim().is_empty() && !is_row_count_footer(l));
        let Some(header) = lines.next() else {
            return Rows::default();
        };
        let mut rows = Rows::new(header.split(sep).map(str::trim));
        for line in lines {
            rows.push(
                line.split(sep)
                    .map(|f| (f != null).then(|| f.to_string()))
                    .collect(),
            );
        }
        rows
    }
}

/// `(3 rows)`, `(1 row)`.
fn is_row_count_footer(line: &str) -> bool {
    let Some(inner) = line
        .trim()
        .strip_prefix('(')
        .and_then(|l| l.strip_suffix(')'))
    else {
        return false;
    };
    let mut parts = inner.split(' ');
    matches!(
        (parts.next(), parts.next(), parts.next()),
        (Some(n), Some("row" | "rows"), None) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())
    )
}

/// One row of a [`Rows`], read by column name.
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    rows: &'a Rows,
    values: &'a [Option<String>],
}

impl<'a> Row<'a> {
    /// The value at `index`, `None` for NULL or a missing column.
    pub fn get(&self, index: usize) -> Option<&'a str> {
        self.values.get(index).and_then(|v| v.as_deref())
    }

    /// The value of column `name` (ASCII case-insensitive), `None` for NULL or a missing column.
    pub fn text(&self, name: &str) -> Option<&'a str> {
        self.rows.column(name).and_then(|i| self.get(i))
    }

    /// The value of column `name` as an integer (clamped to `i64`, decimals truncated).
    pub fn int(&self, name: &str) -> Option<i64> {
        self.text(name).and_then(parse_int)
    }

    /// The value of column `name` as a finite float.
    pub fn float(&self, name: &str) -> Option<f64> {
        self.text(name).and_then(parse_f64)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_psql_unaligned_output() {
        let text = "datname|numbackends|size\npostgres|1|7869231\ntest||8000000\n(2 rows)\n";
        let rows = Rows::parse_delimited(text, '|', "");
        assert_eq!(rows.columns(), ["datname", "numbackends", "size"]);
        assert_eq!(rows.len(), 2);
        let r: Vec<Row<'_>> = rows.iter().collect();
        assert_eq!(r[0].text("DATNAME"), Some("postgres"));
        assert_eq!(r[1].int("numbackends"), None);
        assert_eq!(r[1].int("size"), Some(8_000_000));
        assert_eq!(r[1].text("nope"), None);
        assert_eq!(r[0].get(9), None);
    }

    #[test]
    fn odd_lines_are_padded_or_cut() {
        let rows = Rows::parse_delimited("a\tb\r\n1\n1\t2\t3\n\n(x rows)\n", '\t', "NULL");
        assert_eq!(rows.len(), 3);
        let r: Vec<Row<'_>> = rows.iter().collect();
        assert_eq!(r[0].text("b"), None);
        assert_eq!(r[1].text("b"), Some("2"));
        assert_eq!(r[2].text("a"), Some("(x rows)"));
        assert!(Rows::parse_delimited("", '\t', "NULL").is_empty());
        assert!(Rows::parse_delimited("(1 row)\n", '|', "")
            .columns()
            .is_empty());
    }

    #[test]
    fn pairs_skip_nulls() {
        let rows = Rows::parse_delimited("k\tv\na\t1\nb\tNULL\nc\t3\n", '\t', "NULL");
        let pairs: Vec<(&str, &str)> = rows.pairs().collect();
        assert_eq!(pairs, [("a", "1"), ("c", "3")]);
    }
}
