//! Syslog: RFC 5424 and BSD (RFC 3164, with or without `<PRI>`).

use crate::{severity, time, Body, Format, Parsed, Value};

/// `<PRI>` at the start: the priority (0..=191) and the rest of the line.
fn pri(line: &str) -> Option<(u8, &str)> {
    let rest = line.strip_prefix('<')?;
    let end = rest.find('>')?;
    let digits = &rest[..end];
    if digits.is_empty() || digits.len() > 3 || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let p: u8 = digits.parse().ok()?;
    (p <= 191).then_some((p, &rest[end + 1..]))
}

fn start(pri: Option<u8>, format: Format) -> Parsed {
    let mut p = Parsed {
        format,
        timestamp_nanos: None,
        severity: None,
        body: Body::Str(String::new()),
        attributes: Vec::new(),
    };
    if let Some(pri) = pri {
        let (n, text) = severity::from_syslog(pri & 7);
        p.severity = Some((n, text.to_string()));
        p.attributes
            .push(("syslog.facility".into(), Value::Int(i64::from(pri >> 3))));
    }
    p
}

fn push_str(p: &mut Parsed, key: &str, v: &str) {
    if !v.is_empty() && v != "-" {
        p.attributes
            .push((key.to_string(), Value::Str(v.to_string())));
    }
}

fn push_pid(p: &mut Parsed, v: &str) {
    match v.parse::<i64>() {
        Ok(pid) => p.attributes.push(("process.pid".into(), Value::Int(pid))),
        Err(_) => push_str(p, "syslog.procid", v),
    }
}

/// Splits off the first space-separated token.
fn token(s: &str) -> (&str, &str) {
    match s.find(' ') {
        Some(i) => (&s[..i], &s[i + 1..]),
        None => (s, ""),
    }
}

pub(crate) fn parse_5424(line: &str) -> Option<Parsed> {
    let (prio, rest) = pri(line)?;
    let rest = rest.strip_prefix("1 ")?;
    let mut p = start(Some(prio), Format::Syslog5424);
    let (ts, rest) = token(rest);
    if ts != "-" {
        let (t, n) = time::iso(ts)?;
        if n != ts.len() {
            return None;
        }
        p.timestamp_nanos = Some(t);
    }
    let (host, rest) = token(rest);
    let (app, rest) = token(rest);
    let (procid, rest) = token(rest);
    let (msgid, rest) = token(rest);
    if msgid.is_empty() {
        return None;
    }
    push_str(&mut p, "host.name", host);
    push_str(&mut p, "syslog.appname", app);
    if procid != "-" {
        push_pid(&mut p, procid);
    }
    push_str(&mut p, "syslog.msgid", msgid);
    let msg = if let Some(r) = rest.strip_prefix('-') {
        r
    } else if rest.starts_with('[') {
        structured_data(rest, &mut p)?
    } else {
        return None;
    };
    let msg = match msg {
        "" => "",
        m => m.strip_prefix(' ')?,
    };
    let msg = msg.strip_prefix('\u{feff}').unwrap_or(msg);
    p.body = Body::Str(msg.to_string());
    Some(p)
}

/// Reads `[id name="value" …]…`, adding `syslog.sd.<id>.<name>` attributes; returns the rest.
fn structured_data<'a>(mut s: &'a str, p: &mut Parsed) -> Option<&'a str> {
    while let Some(inner) = s.strip_prefix('[') {
        let id_end = inner.find([' ', ']'])?;
        let id = &inner[..id_end];
        if id.is_empty() {
            return None;
        }
        let mut r = &inner[id_end..];
        loop {
            if let Some(after) = r.strip_prefix(']') {
                s = after;
                break;
            }
            r = r.strip_prefix(' ')?;
            let eq = r.find('=')?;
            let name = &r[..eq];
            if name.is_empty() || name.contains([' ', ']', '"']) {
                return None;
            }
            let v = r[eq + 1..].strip_prefix('"')?;
            let mut value = String::new();
            let mut end = None;
            let mut chars = v.char_indices();
            while let Some((i, c)) = chars.next() {
                match c {
                    '"' => {
                        end = Some(i + 1);
                        break;
                    }
                    '\\' => match chars.next() {
                        Some((_, e @ ('"' | '\\' | ']'))) => value.push(e),
                        Some((_, e)) => {
                            value.push('\\');
                            value.push(e);
                        }
                        None => return None,
                    },
                    c => value.push(c),
                }
            }
            p.attributes
                .push((format!("syslog.sd.{id}.{name}"), Value::Str(value)));
            r = &v[end?..];
        }
    }
    Some(s)
}

/// `name[pid]:` → name and pid.
fn tag(tok: &str) -> Option<(&str, Option<&str>)> {
    let t = tok.strip_suffix(':')?;
    let (name, pid) = match t.strip_suffix(']') {
        Some(t2) => {
            let open = t2.rfind('[')?;
            (&t2[..open], Some(&t2[open + 1..]))
        }
        None => (t, None),
    };
    if name.is_empty() || name.contains([':', '[', ']']) {
        return None;
    }
    Some((name, pid))
}

fn hostname_like(h: &str) -> bool {
    !h.is_empty()
        && h.bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_' | b':'))
        && !h.bytes().all(|c| c.is_ascii_digit())
        && severity::from_text(h).is_none()
}

pub(crate) fn parse_3164(line: &str, auto: bool, now: u64) -> Option<Parsed> {
    let (prio, rest) = match pri(line) {
        Some((p, r)) => (Some(p), r),
        None => (None, line),
    };
    let strict = auto && prio.is_none();
    let (ts, rest) = if let Some((t, n)) = time::bsd(rest, now) {
        (Some(t), &rest[n..])
    } else if let Some((t, n)) = time::iso(rest) {
        if strict && rest.as_bytes().get(10) != Some(&b'T') {
            return None;
        }
        (Some(t), &rest[n..])
    } else if prio.is_some() {
        (None, rest)
    } else {
        return None;
    };
    if ts.is_some() && !(rest.is_empty() || rest.starts_with(' ')) {
        return None;
    }
    let rest = rest.trim_start_matches(' ');
    let mut p = start(prio, Format::Syslog3164);
    p.timestamp_nanos = ts;

    let (first, after_first) = token(rest);
    let (host, tag_tok, msg_rest) = if tag(first).is_some() || first.contains('[') {
        (None, first, after_first)
    } else {
        let (second, after_second) = token(after_first);
        (Some(first), second, after_second)
    };
    let tagged = tag(tag_tok);
    if strict {
        match (host, tagged) {
            (Some(h), Some(_)) if hostname_like(h) => {}
            _ => return None,
        }
    }
    if let Some(h) = host {
        if tagged.is_none() && !hostname_like(h) {
            // No recognisable header after the time: the rest is the message.
            p.body = Body::Str(rest.to_string());
            return Some(p);
        }
        push_str(&mut p, "host.name", h);
    }
    let msg = match tagged {
        Some((name, pid)) => {
            push_str(&mut p, "syslog.appname", name);
            if let Some(pid) = pid {
                push_pid(&mut p, pid);
            }
            msg_rest
        }
        None if host.is_some() => after_first,
        None => rest,
    };
    if p.severity.is_none() {
        p.severity = severity::scan(msg);
    }
    p.body = Body::Str(msg.to_string());
    Some(p)
}
