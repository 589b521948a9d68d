//! The local control socket: `<data_dir>/control.sock`, HTTP/1.1 over a Unix socket, owner-only
//! (0600 in a 0700 directory) and checking the peer's credentials (the agent's own user or
//! root). Versioned paths:
//!
//! - `GET /v1/status`: the `/status` document;
//! - `POST /v1/query` with `{"sql": "...", "limit": 1000, "timeout_ms": 30000}`: a read-only
//!   SQL query on the agent's store, on a connection of its own (the writer is not blocked);
//!   answers the rows (`lookout_store::query::QueryResult`) or `{"error": "..."}` with 400.
//!
//! `lookout query` is its client ([`request`]).

use crate::server::AgentState;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// The socket's path in a data directory.
pub fn socket_path(data_dir: &Path) -> PathBuf {
    data_dir.join("control.sock")
}

/// A query request.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct QueryRequest {
    /// The SQL.
    pub sql: String,
    /// Rows kept at most.
    #[serde(default = "default_limit")]
    pub limit: usize,
    /// Stop the query after this long.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
}

fn default_limit() -> usize {
    1000
}
fn default_timeout_ms() -> u64 {
    30_000
}

fn json(status: StatusCode, v: &serde_json::Value) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(format!("{v}\n"))));
    *r.status_mut() = status;
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    r
}

async fn handle(state: Arc<AgentState>, req: Request<Incoming>) -> Response<Full<Bytes>> {
    match (req.method(), req.uri().path()) {
        (&Method::GET, "/v1/status") => json(StatusCode::OK, &state.status_json()),
        (&Method::POST, "/v1/query") => {
            let body = match Limited::new(req.into_body(), 1 << 20).collect().await {
                Ok(b) => b.to_bytes(),
                Err(e) => {
                    return json(
                        StatusCode::BAD_REQUEST,
                        &serde_json::json!({"error": format!("cannot read the request: {e}")}),
                    )
                }
            };
            let q: QueryRequest = match serde_json::from_slice(&body) {
                Ok(q) => q,
                Err(e) => {
                    return json(
                        StatusCode::BAD_REQUEST,
                        &serde_json::json!({"error": format!("invalid request: {e}")}),
                    )
                }
            };
            let r =
                tokio::task::spawn_blocking(move || {
                    let store = lookout_store::open_stores().into_iter().next().ok_or_else(|| {
                    "this agent has no store: add a sink of type duckdb to its configuration"
                        .to_string()
                })?;
                    let conn = store.connection()?;
                    lookout_store::query::run(
                        &conn,
                        &q.sql,
                        q.limit.clamp(1, 1_000_000),
                        Duration::from_millis(q.timeout_ms.clamp(100, 600_000)),
                    )
                })
                .await
                .unwrap_or_else(|e| Err(format!("the query failed: {e}")));
            match r {
                Ok(res) => json(
                    StatusCode::OK,
                    &serde_json::to_value(res).unwrap_or_default(),
                ),
                Err(e) => json(StatusCode::BAD_REQUEST, &serde_json::json!({"error": e})),
            }
        }
        _ => json(
            StatusCode::NOT_FOUND,
            &serde_json::json!({"error": "unknown path: the control API has GET /v1/status and POST /v1/query"}),
        ),
    }
}

/// Binds the socket (replacing a stale one) owner-only.
pub fn bind(data_dir: &Path) -> anyhow::Result<tokio::net::UnixListener> {
    use std::os::unix::fs::PermissionsExt;
    let path = socket_path(data_dir);
    // the data directory is locked by this agent: a socket left there is stale
    let _ = std::fs::remove_file(&path);
    let l = tokio::net::UnixListener::bind(&path)
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", path.display()))?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    Ok(l)
}

/// Serves until the task is dropped.
pub async fn serve(listener: tokio::net::UnixListener, state: Arc<AgentState>) {
    // SAFETY: geteuid has no preconditions and cannot fail.
    #[allow(unsafe_code)]
    let me = unsafe { libc::geteuid() };
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                tracing::debug!("control socket: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        match stream.peer_cred() {
            Ok(c) if c.uid() == me || c.uid() == 0 => {}
            Ok(c) => {
                tracing::warn!(
                    "control socket: refused a connection from uid {} (only uid {me} and root may use it)",
                    c.uid()
                );
                continue;
            }
            Err(e) => {
                tracing::warn!("control socket: cannot read the peer's credentials: {e}");
                continue;
            }
        }
        let state = state.clone();
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req| {
                let state = state.clone();
                async move { Ok::<_, std::convert::Infallible>(handle(state, req).await) }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(Duration::from_secs(10))
                .serve_connection(TokioIo::new(stream), svc);
            if let Err(e) = conn.await {
                tracing::debug!("control connection ended: {e}");
            }
        });
    }
}

/// A blocking request to a running agent's control socket: (status code, body).
pub fn request(
    data_dir: &Path,
    method: &str,
    path: &str,
    body: Option<&str>,
    timeout: Duration,
) -> Result<(u16, String), String> {
    let sock = socket_path(data_dir);
    let mut s = std::os::unix::net::UnixStream::connect(&sock)
        .map_err(|e| format!("cannot connect to {}: {e}", sock.display()))?;
    s.set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    let body = body.unwrap_or("");
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: lookout\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
    let mut resp = Vec::new();
    s.read_to_end(&mut resp)
        .map_err(|e| format!("no answer from the agent: {e}"))?;
    let text = String::from_utf8_lossy(&resp);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| "a malformed answer from the agent".to_string())?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| "a malformed answer from the agent".to_string())?;
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_string()
    };
    Ok((status, body))
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        let (Some(chunk), Some(after)) = (rest.get(..n), rest.get(n..)) else {
            break;
        };
        if n == 0 {
            break;
        }
        out.push_str(chunk);
        s = after.trim_start_matches("\r\n");
    }
    out
}
