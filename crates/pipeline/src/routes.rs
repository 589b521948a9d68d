//! Pages that components publish on the agent's HTTP server (e.g. a Prometheus exposition).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// A page body and its content type.
#[derive(Debug, Clone)]
pub struct Page {
    /// `Content-Type` header.
    pub content_type: &'static str,
    /// The body.
    pub body: String,
}

type Render = Arc<dyn Fn() -> Page + Send + Sync>;

/// Path → page renderer, shared by the topology (which registers) and the HTTP server (which
/// serves). A reload replaces the renderers atomically.
#[derive(Clone, Default)]
pub struct Routes {
    inner: Arc<RwLock<HashMap<String, Render>>>,
}

impl std::fmt::Debug for Routes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let paths: Vec<String> = self
            .inner
            .read()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        f.debug_struct("Routes").field("paths", &paths).finish()
    }
}

impl Routes {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Publishes a page at `path`.
    pub fn register(&self, path: &str, render: impl Fn() -> Page + Send + Sync + 'static) {
        if let Ok(mut m) = self.inner.write() {
            m.insert(path.to_string(), Arc::new(render));
        }
    }

    /// Replaces the whole table with another's entries (used when a reload swaps topologies).
    pub fn replace_with(&self, other: &Routes) {
        let new = other.inner.read().map(|m| m.clone()).unwrap_or_default();
        if let Ok(mut m) = self.inner.write() {
            *m = new;
        }
    }

    /// Renders the page at `path`, if any.
    pub fn render(&self, path: &str) -> Option<Page> {
        let f = self.inner.read().ok()?.get(path).cloned()?;
        Some(f())
    }

    /// The registered paths.
    pub fn paths(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .inner
            .read()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        v.sort();
        v
    }
}
