//! One module per screen: each has its state, its key handling and its drawing.

pub(crate) mod config;
pub(crate) mod diagnostics;
pub(crate) mod help;
pub(crate) mod logs;
pub(crate) mod overview;
pub(crate) mod pipeline;
pub(crate) mod processes;
pub(crate) mod services;
pub(crate) mod setup;

use crate::widgets::{Scroll, TextInput};
use lookout_api::RedactTryResult;

/// What is shown over the screen and takes the keys until closed.
#[derive(Debug)]
pub(crate) enum Overlay {
    /// The help.
    Help(Scroll),
    /// Typing the current screen's search (shown in the footer).
    Search(TextInput),
    /// The add-log-source form.
    AddSource(logs::AddForm),
    /// Remove this log source? (y/n)
    Confirm { question: String, id: String },
    /// Typing a redaction rule's regular expression, to try on `source`.
    RedactPrompt {
        source: String,
        input: TextInput,
        error: Option<String>,
    },
    /// A tried redaction rule's result.
    RedactResult(RedactTryResult, Scroll),
}
