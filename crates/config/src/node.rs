//! A YAML document as a tree of [`Node`]s that remember where they were written.
//!
//! `yaml-rust2` gives parse events with positions; this module folds them into a tree so that
//! every later stage (substitution, `--set`, deserialization, validation) can point at the
//! exact file, line and column of the value it complains about.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use crate::error::ConfigError;

/// Where a node was written: a file (or `--set` argument) name, a 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mark {
    /// The file path, `<embedded default>` or `--set`.
    pub origin: Arc<str>,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub col: usize,
}

impl fmt::Display for Mark {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.origin, self.line, self.col)
    }
}

impl Mark {
    fn from_marker(origin: &Arc<str>, m: &Marker) -> Self {
        Mark {
            origin: origin.clone(),
            line: m.line().max(1),
            col: m.col() + 1,
        }
    }
}

/// The value of a node.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A scalar's text; `plain` is false when it was quoted or a block (so it is always a string).
    Scalar {
        /// The scalar's text.
        text: String,
        /// Whether it was written unquoted (and may be a number, bool or null).
        plain: bool,
    },
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in file order. Keys are scalars (checked at load).
    Map(Vec<(Node, Node)>),
}

/// A YAML node with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The value.
    pub value: Value,
    /// Where it was written.
    pub mark: Mark,
}

impl Node {
    /// A plain scalar at a given mark.
    pub fn scalar(text: impl Into<String>, plain: bool, mark: Mark) -> Node {
        Node {
            value: Value::Scalar {
                text: text.into(),
                plain,
            },
            mark,
        }
    }

    /// An empty mapping at a given mark.
    pub fn empty_map(mark: Mark) -> Node {
        Node {
            value: Value::Map(Vec::new()),
            mark,
        }
    }

    /// The scalar text, if this is a scalar.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    /// True for `null`, `~` or an empty plain scalar.
    pub fn is_null(&self) -> bool {
        matches!(&self.value, Value::Scalar { text, plain: true } if is_null_text(text))
    }

    /// The `i`th element of a sequence.
    pub fn index(&self, i: usize) -> Option<&Node> {
        match &self.value {
            Value::Seq(items) => items.get(i),
            _ => None,
        }
    }

    /// Looks up a key in a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// Looks up a key in a mapping, mutably.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Node> {
        match &mut self.value {
            Value::Map(entries) => entries
                .iter_mut()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// Removes a key from a mapping and returns its value.
    pub fn remove(&mut self, key: &str) -> Option<(Node, Node)> {
        match &mut self.value {
            Value::Map(entries) => {
                let idx = entries.iter().position(|(k, _)| k.as_str() == Some(key))?;
                Some(entries.remove(idx))
            }
            _ => None,
        }
    }

    /// The entries of a mapping (empty for anything else).
    pub fn entries(&self) -> &[(Node, Node)] {
        match &self.value {
            Value::Map(entries) => entries,
            _ => &[],
        }
    }

    /// A short name of the node's kind, for error messages.
    pub fn kind(&self) -> &'static str {
        match &self.value {
            Value::Scalar { .. } if self.is_null() => "null",
            Value::Scalar { .. } => "a scalar",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
}

pub(crate) fn is_null_text(text: &str) -> bool {
    matches!(text, "" | "~" | "null" | "Null" | "NULL")
}

enum Frame {
    Seq(Mark, usize, Vec<Node>),
    Map(Mark, usize, Vec<(Node, Node)>, Option<Node>),
}

struct Builder {
    origin: Arc<str>,
    stack: Vec<Frame>,
    anchors: HashMap<usize, Node>,
    root: Option<Node>,
    error: Option<ConfigError>,
    documents: usize,
}

impl Builder {
    fn push_node(&mut self, node: Node, anchor: usize) {
        if anchor > 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            None => {
                self.root = Some(node);
            }
            Some(Frame::Seq(_, _, items)) => items.push(node),
            Some(Frame::Map(_, _, entries, pending)) => match pending.take() {
                None => {
                    if node.as_str().is_none() {
                        self.set_error(ConfigError::at(
                            &node.mark,
                            "a mapping key must be a plain value, not a list or a mapping",
                            None,
                        ));
                        return;
                    }
                    if let Some((first, _)) =
                        entries.iter().find(|(k, _)| k.as_str() == node.as_str())
                    {
                        let msg = format!(
                            "duplicate key `{}` (first defined at line {})",
                            node.as_str().unwrap_or_default(),
                            first.mark.line
                        );
                        let mark = node.mark.clone();
                        self.set_error(ConfigError::at(
                            &mark,
                            msg,
                            Some("each key may appear once in a mapping; merge the two entries"),
                        ));
                        return;
                    }
                    *pending = Some(node);
                }
                Some(key) => entries.push((key, node)),
            },
        }
    }

    fn set_error(&mut self, e: ConfigError) {
        if self.error.is_none() {
            self.error = Some(e);
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, marker: Marker) {
        let mark = Mark::from_marker(&self.origin, &marker);
        match ev {
            Event::DocumentStart => {
                self.documents += 1;
                if self.documents > 1 {
                    self.set_error(ConfigError::at(
                        &mark,
                        "a config file holds exactly one YAML document",
                        Some("remove the second `---` document"),
                    ));
                }
            }
            Event::Scalar(text, style, anchor, _tag) => {
                let plain = style == TScalarStyle::Plain;
                self.push_node(Node::scalar(text, plain, mark), anchor);
            }
            Event::SequenceStart(anchor, _) => {
                self.stack.push(Frame::Seq(mark, anchor, Vec::new()))
            }
            Event::MappingStart(anchor, _) => {
                self.stack.push(Frame::Map(mark, anchor, Vec::new(), None))
            }
            Event::SequenceEnd => {
                if let Some(Frame::Seq(m, anchor, items)) = self.stack.pop() {
                    self.push_node(
                        Node {
                            value: Value::Seq(items),
                            mark: m,
                        },
                        anchor,
                    );
                }
            }
            Event::MappingEnd => {
                if let Some(Frame::Map(m, anchor, entries, _)) = self.stack.pop() {
                    self.push_node(
                        Node {
                            value: Value::Map(entries),
                            mark: m,
                        },
                        anchor,
                    );
                }
            }
            Event::Alias(id) => match self.anchors.get(&id).cloned() {
                Some(mut node) => {
                    node.mark = mark;
                    self.push_node(node, 0);
                }
                None => self.set_error(ConfigError::at(&mark, "unknown alias", None)),
            },
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => {}
        }
    }
}

/// Parses YAML text into a node tree. An empty document gives an empty mapping.
pub fn parse(origin: &str, text: &str) -> Result<Node, ConfigError> {
    let origin: Arc<str> = Arc::from(origin);
    let mut builder = Builder {
        origin: origin.clone(),
        stack: Vec::new(),
        anchors: HashMap::new(),
        root: None,
        error: None,
        documents: 0,
    };
    let mut parser = Parser::new_from_str(text);
    if let Err(e) = parser.load(&mut builder, true) {
        let mark = Mark::from_marker(&origin, e.marker());
        return Err(ConfigError::at(
            &mark,
            format!("invalid YAML: {}", e.info()),
            Some("check the indentation and quoting around this position"),
        ));
    }
    if let Some(e) = builder.error {
        return Err(e);
    }
    let start = Mark {
        origin,
        line: 1,
        col: 1,
    };
    Ok(match builder.root {
        Some(n) if n.is_null() => Node::empty_map(start),
        Some(n) => n,
        None => Node::empty_map(start),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn marks_are_one_based() {
        let n = parse("f.yaml", "a:\n  b: 3\n").unwrap();
        let b = n.get("a").unwrap().get("b").unwrap();
        assert_eq!(b.as_str(), Some("3"));
        assert_eq!((b.mark.line, b.mark.col), (2, 6));
        assert_eq!(b.mark.to_string(), "f.yaml:2:6");
    }

    #[test]
    fn duplicate_keys_rejected() {
        let e = parse("f.yaml", "a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!(e.mark.as_ref().unwrap().line, 3);
        assert!(e.message.contains("duplicate key `a`"), "{}", e.message);
    }

    #[test]
    fn syntax_error_has_position() {
        let e = parse("f.yaml", "a: [1, 2\nb: 3\n").unwrap_err();
        assert!(e.mark.is_some());
        assert!(e.message.starts_with("invalid YAML"));
    }

    #[test]
    fn empty_is_empty_map() {
        assert!(parse("f", "").unwrap().entries().is_empty());
        assert!(parse("f", "# only a comment\n")
            .unwrap()
            .entries()
            .is_empty());
    }

    #[test]
    fn quoted_is_not_plain() {
        let n = parse("f", "a: '1'\nb: 1\n").unwrap();
        assert_eq!(
            n.get("a").unwrap().value,
            Value::Scalar {
                text: "1".into(),
                plain: false
            }
        );
        assert!(matches!(
            n.get("b").unwrap().value,
            Value::Scalar { plain: true, .. }
        ));
    }

    #[test]
    fn aliases_resolve() {
        let n = parse("f", "a: &x {k: 1}\nb: *x\n").unwrap();
        assert_eq!(n.get("b").unwrap().get("k").unwrap().as_str(), Some("1"));
    }
}
