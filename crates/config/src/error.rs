//! Configuration errors: one message, where it was written, and a hint.

use crate::node::Mark;
use std::fmt;

/// One problem in a configuration, pointing at the file, line and column that caused it.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError {
    /// Where the offending value was written, when known.
    pub mark: Option<Mark>,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub hint: Option<String>,
}

impl ConfigError {
    /// An error at a position.
    pub fn at(mark: &Mark, message: impl Into<String>, hint: Option<&str>) -> Self {
        ConfigError {
            mark: Some(mark.clone()),
            message: message.into(),
            hint: hint.map(str::to_string),
        }
    }

    /// An error with no position (e.g. a file that cannot be read).
    pub fn plain(message: impl Into<String>) -> Self {
        ConfigError {
            mark: None,
            message: message.into(),
            hint: None,
        }
    }

    /// Adds a hint.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.mark {
            Some(m) => write!(f, "{m}: {}", self.message)?,
            None => write!(f, "{}", self.message)?,
        }
        if let Some(h) = &self.hint {
            write!(f, "\n  hint: {h}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}
