//! Docker's json-file log driver: the records of `<id>-json.log`, the merge of the partial
//! records of long lines, and the container metadata of `config.v2.json`.

use std::fmt;

use serde_json::Value as Json;

use crate::{time, Value};

/// The stream a container wrote a line to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

impl Stream {
    /// `stdout` or `stderr`, as Docker writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }

    fn index(self) -> usize {
        match self {
            Stream::Stdout => 0,
            Stream::Stderr => 1,
        }
    }
}

/// Why Docker input could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DockerError {
    /// Not a JSON object.
    NotJson,
    /// A log record without a `log` string.
    MissingLog,
    /// A log record whose `stream` is missing or neither `stdout` nor `stderr`.
    BadStream,
    /// A log record whose `time` is missing or not RFC 3339.
    BadTime,
    /// A container configuration without an `ID`.
    MissingId,
}

impl DockerError {
    /// A stable snake_case label for counters: `not_json`, `missing_log`, `bad_stream`,
    /// `bad_time`, `missing_id`.
    pub fn reason(&self) -> &'static str {
        match self {
            DockerError::NotJson => "not_json",
            DockerError::MissingLog => "missing_log",
            DockerError::BadStream => "bad_stream",
            DockerError::BadTime => "bad_time",
            DockerError::MissingId => "missing_id",
        }
    }
}

impl fmt::Display for DockerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DockerError::NotJson => "docker record is not a JSON object",
            DockerError::MissingLog => "docker record has no \"log\" string",
            DockerError::BadStream => "docker record has no \"stream\" of stdout or stderr",
            DockerError::BadTime => "docker record has no RFC 3339 \"time\"",
            DockerError::MissingId => "docker container configuration has no \"ID\"",
        })
    }
}

impl std::error::Error for DockerError {}

/// One record of a json-file log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DockerLine {
    /// The text, without its trailing `\n` (and a `\r` before it).
    pub log: String,
    /// The text did not end with `\n`: a part of a line longer than Docker's 16 KiB buffer,
    /// continued by the next record of the same stream.
    pub partial: bool,
    /// Where the container wrote it.
    pub stream: Stream,
    /// When Docker read it, in nanoseconds since the epoch.
    pub time_nanos: u64,
}

fn object(json: &[u8]) -> Result<serde_json::Map<String, Json>, DockerError> {
    match serde_json::from_slice(json) {
        Ok(Json::Object(m)) => Ok(m),
        _ => Err(DockerError::NotJson),
    }
}

/// Parses one line of a json-file log:
/// `{"log":"text\n","stream":"stdout","time":"2024-01-02T03:04:05.123456789Z"}`.
pub fn parse_docker_line(line: &[u8]) -> Result<DockerLine, DockerError> {
    let mut m = object(line)?;
    let Some(Json::String(mut log)) = m.remove("log") else {
        return Err(DockerError::MissingLog);
    };
    let stream = match m.get("stream").and_then(Json::as_str) {
        Some("stdout") => Stream::Stdout,
        Some("stderr") => Stream::Stderr,
        _ => return Err(DockerError::BadStream),
    };
    let time_nanos = m
        .get("time")
        .and_then(Json::as_str)
        .and_then(|t| match time::iso(t) {
            Some((nanos, used)) if used == t.len() => Some(nanos),
            _ => None,
        })
        .ok_or(DockerError::BadTime)?;
    let partial = !log.ends_with('\n');
    if !partial {
        log.pop();
        if log.ends_with('\r') {
            log.pop();
        }
    }
    Ok(DockerLine {
        log,
        partial,
        stream,
        time_nanos,
    })
}

/// A complete line from [`PartialMerger`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergedLine {
    /// The text, without its trailing `\n` / `\r\n`.
    pub log: String,
    /// Where the container wrote it.
    pub stream: Stream,
    /// The time of its first part.
    pub time_nanos: u64,
    /// Cut at the merger's byte bound.
    pub truncated: bool,
    /// How many records it was made of.
    pub parts: u32,
}

/// Counters of a [`PartialMerger`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PartialMergerStats {
    /// Records pushed.
    pub records: u64,
    /// Lines returned (by [`PartialMerger::push`] and [`PartialMerger::flush`]).
    pub lines: u64,
    /// Lines made of more than one record.
    pub merged_lines: u64,
    /// Lines cut at the byte bound.
    pub truncated_lines: u64,
    /// Records dropped whole because their line had already been cut.
    pub dropped_parts: u64,
    /// Bytes dropped by the cuts.
    pub dropped_bytes: u64,
    /// Incomplete lines returned by [`PartialMerger::flush`].
    pub flushed_lines: u64,
}

#[derive(Debug)]
struct Pending {
    log: String,
    time_nanos: u64,
    parts: u32,
    truncated: bool,
}

/// Joins the partial records of Docker's long lines (stdout and stderr each on their own, as
/// they interleave) into [`MergedLine`]s of at most `max_bytes` bytes.
#[derive(Debug)]
pub struct PartialMerger {
    max_bytes: usize,
    pending: [Option<Pending>; 2],
    stats: PartialMergerStats,
}

impl PartialMerger {
    /// A merger whose lines are cut at `max_bytes` (at least 1), on a character boundary.
    pub fn new(max_bytes: usize) -> Self {
        PartialMerger {
            max_bytes: max_bytes.max(1),
            pending: [None, None],
            stats: PartialMergerStats::default(),
        }
    }

    /// Adds a record; returns the line it completes (when it is not partial): the earlier
    /// partial records of its stream and this one joined, with the time of the first.
    pub fn push(&mut self, l: DockerLine) -> Option<MergedLine> {
        self.stats.records += 1;
        let slot = &mut self.pending[l.stream.index()];
        let p = slot.get_or_insert_with(|| Pending {
            log: String::new(),
            time_nanos: l.time_nanos,
            parts: 0,
            truncated: false,
        });
        p.parts = p.parts.saturating_add(1);
        if p.truncated {
            self.stats.dropped_parts += 1;
            self.stats.dropped_bytes += l.log.len() as u64;
        } else if l.log.is_empty() && !l.partial && p.log.ends_with('\r') {
            // The `\n` of a `\r\n` came alone in the last part.
            p.log.pop();
        } else {
            let room = self.max_bytes.saturating_sub(p.log.len());
            if l.log.len() <= room {
                p.log.push_str(&l.log);
            } else {
                let mut cut = room;
                while !l.log.is_char_boundary(cut) {
                    cut -= 1;
                }
                p.log.push_str(&l.log[..cut]);
                p.truncated = true;
                self.stats.truncated_lines += 1;
                self.stats.dropped_bytes += (l.log.len() - cut) as u64;
            }
        }
        if l.partial {
            return None;
        }
        let p = slot.take()?;
        Some(self.finish(p, l.stream))
    }

    /// Returns the lines still waiting for their last part (when the container is gone),
    /// oldest first.
    pub fn flush(&mut self) -> Vec<MergedLine> {
        let mut out = Vec::new();
        for stream in [Stream::Stdout, Stream::Stderr] {
            if let Some(p) = self.pending[stream.index()].take() {
                self.stats.flushed_lines += 1;
                out.push(self.finish(p, stream));
            }
        }
        out.sort_by_key(|l| l.time_nanos);
        out
    }

    /// True when a stream has partial records waiting.
    pub fn has_pending(&self) -> bool {
        self.pending.iter().any(Option::is_some)
    }

    /// The counters.
    pub fn stats(&self) -> PartialMergerStats {
        self.stats
    }

    fn finish(&mut self, p: Pending, stream: Stream) -> MergedLine {
        self.stats.lines += 1;
        if p.parts > 1 {
            self.stats.merged_lines += 1;
        }
        MergedLine {
            log: p.log,
            stream,
            time_nanos: p.time_nanos,
            truncated: p.truncated,
            parts: p.parts,
        }
    }
}

/// A container, from Docker's `/var/lib/docker/containers/<id>/config.v2.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerMeta {
    /// The full container ID.
    pub id: String,
    /// The name, without Docker's leading `/`.
    pub name: String,
    /// The image reference it was created from (`Config.Image`: `nginx:1.25`,
    /// `registry:5000/app@sha256:…`).
    pub image: String,
    /// The image ID (`Image`: `sha256:…`).
    pub image_id: String,
    /// Its labels, sorted by key.
    pub labels: Vec<(String, String)>,
    /// The container's own hostname (`Config.Hostname`).
    pub hostname: Option<String>,
    /// Running when the file was written.
    pub running: bool,
    /// Its json-file log (`LogPath`; none with other log drivers).
    pub log_path: Option<String>,
}

fn nonempty(v: Option<&Json>) -> Option<String> {
    v.and_then(Json::as_str)
        .filter(|s| !s.is_empty())
        .map(String::from)
}

/// Reads Docker's `config.v2.json` of a container. Only `ID` is required; other missing keys
/// are left empty.
pub fn parse_container_config(json: &[u8]) -> Result<ContainerMeta, DockerError> {
    let m = object(json)?;
    let id = nonempty(m.get("ID")).ok_or(DockerError::MissingId)?;
    let config = m.get("Config");
    let at = |key: &str| config.and_then(|c| c.get(key));
    let name = nonempty(m.get("Name")).unwrap_or_default();
    let mut labels: Vec<(String, String)> = match at("Labels") {
        Some(Json::Object(l)) => l
            .iter()
            .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
            .collect(),
        _ => Vec::new(),
    };
    labels.sort();
    Ok(ContainerMeta {
        id,
        name: name.strip_prefix('/').map(String::from).unwrap_or(name),
        image: nonempty(at("Image")).unwrap_or_default(),
        image_id: nonempty(m.get("Image")).unwrap_or_default(),
        labels,
        hostname: nonempty(at("Hostname")),
        running: m
            .get("State")
            .and_then(|s| s.get("Running"))
            .and_then(Json::as_bool)
            .unwrap_or(false),
        log_path: nonempty(m.get("LogPath")),
    })
}

/// Splits an image reference into its name and tag: `localhost:5000/app:1.2` →
/// (`localhost:5000/app`, `1.2`), `app@sha256:…` → (`app`, none), `app:1@sha256:…` →
/// (`app`, `1`). A bare image ID (`sha256:…`) is kept whole.
fn split_image(reference: &str) -> (&str, Option<&str>) {
    if let Some(hex) = reference.strip_prefix("sha256:") {
        if hex.bytes().all(|c| c.is_ascii_hexdigit()) {
            return (reference, None);
        }
    }
    let named = reference.split_once('@').map_or(reference, |(n, _)| n);
    let last_slash = named.rfind('/').map_or(0, |i| i + 1);
    match named[last_slash..].rfind(':') {
        Some(i) => {
            let colon = last_slash + i;
            let tag = &named[colon + 1..];
            (&named[..colon], (!tag.is_empty()).then_some(tag))
        }
        None => (named, None),
    }
}

impl ContainerMeta {
    /// Its OpenTelemetry resource attributes: `container.id`, `container.name`,
    /// `container.image.name` (the reference without tag or digest),
    /// `container.image.tags` (the tag, when the reference has one), `container.image.id`,
    /// `container.runtime` (`docker`) and each label as `container.label.<key>`. Empty values
    /// are left out.
    pub fn resource_attributes(&self) -> Vec<(String, Value)> {
        let mut out = vec![("container.id".to_string(), Value::Str(self.id.clone()))];
        if !self.name.is_empty() {
            out.push(("container.name".into(), Value::Str(self.name.clone())));
        }
        let (image, tag) = split_image(&self.image);
        if !image.is_empty() {
            out.push(("container.image.name".into(), Value::Str(image.to_string())));
        }
        if let Some(tag) = tag {
            out.push((
                "container.image.tags".into(),
                Value::Array(vec![Value::Str(tag.to_string())]),
            ));
        }
        if !self.image_id.is_empty() {
            out.push((
                "container.image.id".into(),
                Value::Str(self.image_id.clone()),
            ));
        }
        out.push(("container.runtime".into(), Value::Str("docker".into())));
        for (k, v) in &self.labels {
            out.push((format!("container.label.{k}"), Value::Str(v.clone())));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// 2024-01-02T03:04:05Z
    const T0: u64 = 1_704_164_645_000_000_000;

    fn record(log: &str, stream: &str, time: &str) -> Vec<u8> {
        let v = serde_json::json!({"log": log, "stream": stream, "time": time});
        serde_json::to_vec(&v).unwrap()
    }

    fn line(log: &str, partial: bool, stream: Stream, time_nanos: u64) -> DockerLine {
        DockerLine {
            log: log.into(),
            partial,
            stream,
            time_nanos,
        }
    }

    #[test]
    fn records() {
        let l = parse_docker_line(
            br#"{"log":"GET /healthz 200\n","stream":"stdout","time":"2024-01-02T03:04:05.123456789Z"}"#,
        )
        .unwrap();
        assert_eq!(
            l,
            line("GET /healthz 200", false, Stream::Stdout, T0 + 123_456_789)
        );
        assert_eq!(l.stream.as_str(), "stdout");

        // CRLF, stderr, a zone offset, a trailing newline after the record.
        let l = parse_docker_line(
            b"{\"log\":\"Traceback (most recent call last):\\r\\n\",\"stream\":\"stderr\",\"time\":\"2024-01-02T04:04:05.5+01:00\"}\n",
        )
        .unwrap();
        assert_eq!(
            l,
            line(
                "Traceback (most recent call last):",
                false,
                Stream::Stderr,
                T0 + 500_000_000
            )
        );

        // A partial record keeps everything.
        let l = parse_docker_line(&record("part\r", "stdout", "2024-01-02T03:04:05Z")).unwrap();
        assert_eq!(l, line("part\r", true, Stream::Stdout, T0));
        let l = parse_docker_line(&record("\n", "stdout", "2024-01-02T03:04:05Z")).unwrap();
        assert_eq!(l, line("", false, Stream::Stdout, T0));
        let l = parse_docker_line(&record("héllo ✓\n", "stdout", "2024-01-02T03:04:05Z")).unwrap();
        assert_eq!(l.log, "héllo ✓");
    }

    #[test]
    fn record_errors() {
        let t = "2024-01-02T03:04:05Z";
        let cases: Vec<(Vec<u8>, DockerError)> = vec![
            (b"".to_vec(), DockerError::NotJson),
            (b"not json".to_vec(), DockerError::NotJson),
            (
                br#"{"log":"x\n","stream":"stdout""#.to_vec(),
                DockerError::NotJson,
            ),
            (b"[\"log\"]".to_vec(), DockerError::NotJson),
            (
                br#"{"stream":"stdout","time":"2024-01-02T03:04:05Z"}"#.to_vec(),
                DockerError::MissingLog,
            ),
            (
                br#"{"log":7,"stream":"stdout","time":"2024-01-02T03:04:05Z"}"#.to_vec(),
                DockerError::MissingLog,
            ),
            (
                br#"{"log":"x\n","time":"2024-01-02T03:04:05Z"}"#.to_vec(),
                DockerError::BadStream,
            ),
            (record("x\n", "stdin", t), DockerError::BadStream),
            (
                br#"{"log":"x\n","stream":"stdout"}"#.to_vec(),
                DockerError::BadTime,
            ),
            (record("x\n", "stdout", "yesterday"), DockerError::BadTime),
            (
                record("x\n", "stdout", "2024-01-02T03:04:05Z junk"),
                DockerError::BadTime,
            ),
            (
                record("x\n", "stdout", "2024-02-31T25:04:05Z"),
                DockerError::BadTime,
            ),
        ];
        for (l, want) in cases {
            assert_eq!(
                parse_docker_line(&l).unwrap_err(),
                want,
                "{}",
                String::from_utf8_lossy(&l)
            );
        }
        assert_eq!(DockerError::BadStream.reason(), "bad_stream");
        assert_eq!(DockerError::MissingLog.reason(), "missing_log");
        assert!(DockerError::BadTime.to_string().contains("RFC 3339"));
    }

    /// A 40 KiB line as Docker writes it: two 16 KiB partial records and the rest.
    #[test]
    fn long_line_in_16k_parts() {
        let text: String = (0..40 * 1024)
            .map(|i| char::from(b'a' + (i % 26) as u8))
            .collect();
        let parts = [&text[..16384], &text[16384..32768], &text[32768..]];
        let mut m = PartialMerger::new(64 * 1024);
        let mut out = Vec::new();
        for (i, p) in parts.iter().enumerate() {
            let last = i == parts.len() - 1;
            let log = if last {
                format!("{p}\n")
            } else {
                p.to_string()
            };
            let time = format!("2024-01-02T03:04:05.00000000{i}Z");
            let l = parse_docker_line(&record(&log, "stdout", &time)).unwrap();
            assert_eq!(l.partial, !last);
            out.extend(m.push(l));
        }
        assert_eq!(out.len(), 1);
        let l = &out[0];
        assert_eq!(l.log, text);
        assert_eq!((l.parts, l.truncated, l.time_nanos), (3, false, T0));
        assert!(!m.has_pending());
        let s = m.stats();
        assert_eq!(
            (s.records, s.lines, s.merged_lines, s.truncated_lines),
            (3, 1, 1, 0)
        );
    }

    #[test]
    fn interleaved_streams() {
        let mut m = PartialMerger::new(1024);
        assert_eq!(m.push(line("out-a ", true, Stream::Stdout, 1)), None);
        assert_eq!(m.push(line("err-a ", true, Stream::Stderr, 2)), None);
        assert_eq!(m.push(line("out-b ", true, Stream::Stdout, 3)), None);
        let e = m.push(line("err-end", false, Stream::Stderr, 4)).unwrap();
        assert_eq!(
            e,
            MergedLine {
                log: "err-a err-end".into(),
                stream: Stream::Stderr,
                time_nanos: 2,
                truncated: false,
                parts: 2
            }
        );
        // A complete stderr line while stdout is still partial.
        let e = m.push(line("whole", false, Stream::Stderr, 5)).unwrap();
        assert_eq!((e.log.as_str(), e.parts, e.time_nanos), ("whole", 1, 5));
        let o = m.push(line("out-end", false, Stream::Stdout, 6)).unwrap();
        assert_eq!(o.log, "out-a out-b out-end");
        assert_eq!((o.stream, o.time_nanos, o.parts), (Stream::Stdout, 1, 3));
        assert!(m.flush().is_empty());
    }

    #[test]
    fn crlf_split_across_parts() {
        let mut m = PartialMerger::new(1024);
        assert_eq!(
            m.push(line("windows line\r", true, Stream::Stdout, 1)),
            None
        );
        let l = m.push(line("", false, Stream::Stdout, 2)).unwrap();
        assert_eq!((l.log.as_str(), l.parts), ("windows line", 2));
        // A lone complete empty line stays empty.
        let l = m.push(line("", false, Stream::Stdout, 3)).unwrap();
        assert_eq!((l.log.as_str(), l.parts), ("", 1));
    }

    #[test]
    fn truncation_respects_char_boundaries() {
        // "é" is 2 bytes, "✓" 3: a 10-byte bound falls inside a character.
        let mut m = PartialMerger::new(10);
        assert_eq!(m.push(line("éééé", true, Stream::Stdout, 1)), None); // 8 bytes
        assert_eq!(m.push(line("✓✓", true, Stream::Stdout, 2)), None); // cut: room 2 < 3
        assert_eq!(m.push(line("dropped", true, Stream::Stdout, 3)), None);
        let l = m.push(line("end", false, Stream::Stdout, 4)).unwrap();
        assert_eq!(l.log, "éééé");
        assert!(l.truncated);
        assert_eq!((l.parts, l.time_nanos), (4, 1));
        let s = m.stats();
        assert_eq!(s.truncated_lines, 1);
        assert_eq!(s.dropped_parts, 2);
        assert_eq!(s.dropped_bytes, 6 + 7 + 3);

        // A single long record is cut too; the next line starts afresh.
        let l = m
            .push(line("0123456789abc", false, Stream::Stderr, 5))
            .unwrap();
        assert_eq!(
            (l.log.as_str(), l.truncated, l.parts),
            ("0123456789", true, 1)
        );
        let l = m.push(line("short", false, Stream::Stderr, 6)).unwrap();
        assert_eq!((l.log.as_str(), l.truncated), ("short", false));
        let l = m.push(line("aé", false, Stream::Stderr, 7)).unwrap();
        assert!(!l.truncated);

        let mut m = PartialMerger::new(0);
        let l = m.push(line("✓", false, Stream::Stdout, 1)).unwrap();
        assert_eq!((l.log.as_str(), l.truncated), ("", true));
    }

    #[test]
    fn flush_pending() {
        let mut m = PartialMerger::new(100);
        assert_eq!(m.push(line("late out", true, Stream::Stdout, 20)), None);
        assert_eq!(m.push(line("early err", true, Stream::Stderr, 10)), None);
        assert!(m.has_pending());
        let f = m.flush();
        assert_eq!(f.len(), 2);
        assert_eq!(
            (f[0].log.as_str(), f[0].stream),
            ("early err", Stream::Stderr)
        );
        assert_eq!(
            (f[1].log.as_str(), f[1].stream),
            ("late out", Stream::Stdout)
        );
        assert!(!m.has_pending());
        assert!(m.flush().is_empty());
        assert_eq!(m.stats().flushed_lines, 2);
        assert_eq!(m.stats().lines, 2);
    }

    const CONFIG: &str = r#"{"StreamConfig":{},"State":{"Running":true,"Paused":false,"Restarting":false,"OOMKilled":false,"RemovalInProgress":false,"Dead":false,"Pid":31337,"ExitCode":0,"Error":"","StartedAt":"2024-01-02T03:04:05.123456789Z","FinishedAt":"0001-01-01T00:00:00Z","Health":null},"ID":"4b8c1f9e2d3a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4","Created":"2024-01-02T03:04:04.5Z","Managed":false,"Path":"/docker-entrypoint.sh","Args":["nginx","-g","daemon off;"],"Config":{"Hostname":"4b8c1f9e2d3a","Domainname":"","User":"","AttachStdin":false,"AttachStdout":true,"AttachStderr":true,"ExposedPorts":{"80/tcp":{}},"Tty":false,"Env":["PATH=/usr/local/sbin:/usr/local/bin"],"Cmd":["nginx","-g","daemon off;"],"Image":"localhost:5000/shop/web:1.25.3","Volumes":null,"WorkingDir":"","Entrypoint":["/docker-entrypoint.sh"],"OnBuild":null,"Labels":{"maintainer":"NGINX Docker Maintainers","com.docker.compose.service":"web","com.docker.compose.project":"shop"},"StopSignal":"SIGQUIT"},"Image":"sha256:a8758716bb6aa4d90071160d27028fe4eaee7ce8166221a97d30440c8eac2be6","NetworkSettings":{},"LogPath":"/var/lib/docker/containers/4b8c1f9e2d3a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4/4b8c1f9e2d3a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4-json.log","Name":"/shop-web-1","Driver":"overlay2","OS":"linux","RestartCount":0,"HostConfig":{}}"#;

    #[test]
    fn container_config() {
        let c = parse_container_config(CONFIG.as_bytes()).unwrap();
        assert!(c.id.starts_with("4b8c1f9e2d3a") && c.id.len() == 64);
        assert_eq!(c.name, "shop-web-1");
        assert_eq!(c.image, "localhost:5000/shop/web:1.25.3");
        assert!(c.image_id.starts_with("sha256:a8758716"));
        assert_eq!(c.hostname.as_deref(), Some("4b8c1f9e2d3a"));
        assert!(c.running);
        assert!(c.log_path.as_deref().unwrap().ends_with("-json.log"));
        let keys: Vec<&str> = c.labels.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "com.docker.compose.project",
                "com.docker.compose.service",
                "maintainer"
            ]
        );

        let a = c.resource_attributes();
        let get = |k: &str| a.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
        let s = |k: &str| match get(k) {
            Some(Value::Str(s)) => s,
            other => panic!("{k}: {other:?}"),
        };
        assert_eq!(s("container.id"), c.id);
        assert_eq!(s("container.name"), "shop-web-1");
        assert_eq!(s("container.image.name"), "localhost:5000/shop/web");
        assert_eq!(
            get("container.image.tags"),
            Some(Value::Array(vec![Value::Str("1.25.3".into())]))
        );
        assert_eq!(s("container.image.id"), c.image_id);
        assert_eq!(s("container.runtime"), "docker");
        assert_eq!(s("container.label.com.docker.compose.service"), "web");
        assert_eq!(s("container.label.maintainer"), "NGINX Docker Maintainers");
        assert_eq!(a.len(), 6 + 3);
    }

    #[test]
    fn container_config_minimal_and_errors() {
        let c = parse_container_config(
            br#"{"ID":"abc","Name":"db","Config":{"Image":"postgres","Labels":null,"Hostname":""},"State":{"Running":false},"LogPath":""}"#,
        )
        .unwrap();
        assert_eq!(c.name, "db");
        assert!(c.labels.is_empty() && c.hostname.is_none() && c.log_path.is_none());
        assert!(!c.running);
        let a = c.resource_attributes();
        let keys: Vec<&str> = a.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "container.id",
                "container.name",
                "container.image.name",
                "container.runtime"
            ]
        );

        let c = parse_container_config(br#"{"ID":"x"}"#).unwrap();
        assert_eq!(
            c,
            ContainerMeta {
                id: "x".into(),
                ..Default::default()
            }
        );
        assert_eq!(c.resource_attributes().len(), 2);

        assert_eq!(
            parse_container_config(b"{}").unwrap_err(),
            DockerError::MissingId
        );
        assert_eq!(
            parse_container_config(br#"{"ID":""}"#).unwrap_err(),
            DockerError::MissingId
        );
        assert_eq!(
            parse_container_config(br#"{"ID":1}"#).unwrap_err(),
            DockerError::MissingId
        );
        assert_eq!(
            parse_container_config(b"[]").unwrap_err(),
            DockerError::NotJson
        );
        assert_eq!(
            parse_container_config(b"{").unwrap_err(),
            DockerError::NotJson
        );
        assert_eq!(DockerError::MissingId.reason(), "missing_id");
    }

    /// Truncations and byte substitutions of realistic input through [`crate::fuzz_one`].
    #[test]
    fn fuzz_mutations() {
        let mut seed = CONFIG.as_bytes().to_vec();
        seed.push(b'\n');
        for i in 0..3 {
            seed.extend_from_slice(&record(
                &"é".repeat(40),
                if i % 2 == 0 { "stdout" } else { "stderr" },
                "2024-01-02T03:04:05Z",
            ));
            seed.push(b'\n');
        }
        seed.extend_from_slice(&record("end\r\n", "stdout", "2024-01-02T03:04:06Z"));
        for cut in (0..=seed.len()).step_by(7) {
            crate::fuzz_one(&seed[..cut]);
        }
        for (i, b) in [b'"', b'{', b'}', b'\\', b'\n', 0xff, b'0', b':']
            .into_iter()
            .cycle()
            .take(200)
            .enumerate()
        {
            let mut d = seed.clone();
            let at = (i * 131) % d.len();
            d[at] = b;
            crate::fuzz_one(&d);
        }
    }

    #[test]
    fn image_references() {
        let d = "sha256:a8758716bb6aa4d90071160d27028fe4eaee7ce8166221a97d30440c8eac2be6";
        let app_digest = format!("app@{d}");
        let tagged_digest = format!("ghcr.io/org/app:2.0@{d}");
        let cases: [(&str, (&str, Option<&str>)); 9] = [
            ("nginx", ("nginx", None)),
            ("nginx:1.25", ("nginx", Some("1.25"))),
            ("library/nginx:latest", ("library/nginx", Some("latest"))),
            (
                "localhost:5000/app:1.2",
                ("localhost:5000/app", Some("1.2")),
            ),
            ("localhost:5000/app", ("localhost:5000/app", None)),
            (&app_digest, ("app", None)),
            (&tagged_digest, ("ghcr.io/org/app", Some("2.0"))),
            (d, (d, None)),
            ("", ("", None)),
        ];
        for (r, want) in cases {
            assert_eq!(split_image(r), want, "{r}");
        }
    }
}
