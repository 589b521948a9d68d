//! `logging.d/`: `logs:` entries become lookout log sources; a `pattern` becomes a filter
//! processor in front of the sink.

use crate::yaml::Y;
use crate::{Cx, SourceFile, Status};
use lookout_config::node::Value;
use lookout_config::ConfigError;

pub(crate) fn convert(cx: &mut Cx, f: &SourceFile) -> Result<(), ConfigError> {
    crate::check_tabs(f)?;
    let root = lookout_config::node::parse(&f.path, &f.text)?;
    let Some(list) = root.get("logs") else {
        if root.is_null() || root.entries().is_empty() {
            return Ok(());
        }
        return Err(ConfigError::at(
            &root.mark,
            "no `logs:` list",
            Some("a logging.d file holds `logs:` followed by `- name: ...` entries"),
        ));
    };
    let Value::Seq(items) = &list.value else {
        return Err(ConfigError::at(
            &list.mark,
            "`logs` must be a list",
            Some("write `logs:` followed by `- name: ...` entries"),
        ));
    };
    for (i, item) in items.iter().enumerate() {
        let name = item
            .get("name")
            .and_then(|n| n.as_str())
            .unwrap_or("unnamed")
            .to_string();
        let key = format!("logs[{i}] ({name})");
        let mut src = Y::map();
        let mut kind_found = false;
        for (k, v) in item.entries() {
            let kn = k.as_str().unwrap_or_default();
            match kn {
                "name" | "attributes" | "pattern" | "max_line_kb" | "multilineParser"
                | "multiline_parser" => {}
                "file" => {
                    let path = v.as_str().unwrap_or_default().to_string();
                    if !path.starts_with('/') {
                        return Err(ConfigError::at(
                            &v.mark,
                            format!("`file` {path:?} is not an absolute path"),
                            Some("write the whole path, e.g. /var/log/app/*.log"),
                        ));
                    }
                    src.set("type", Y::s("files"));
                    src.set("include", Y::Seq(vec![Y::s(path)]));
                    src.set("start_at", Y::s("end"));
                    kind_found = true;
                    cx.row(&k.mark, format!("{key}.file"), "type: files, include", Status::Mapped, "read from the end at the first start, as the agent's tail does; rotation followed");
                }
                "systemd" => {
                    let unit = v.as_str().unwrap_or_default().to_string();
                    let unit = if unit.contains('.') {
                        unit
                    } else {
                        format!("{unit}.service")
                    };
                    src.set("type", Y::s("journald"));
                    src.set("units", Y::Seq(vec![Y::s(unit)]));
                    kind_found = true;
                    cx.row(
                        &k.mark,
                        format!("{key}.systemd"),
                        "type: journald, units",
                        Status::Mapped,
                        "",
                    );
                }
                "syslog" | "tcp" => {
                    cx.row(&k.mark, format!("{key}.{kn}"), "", Status::NotMapped, "lookout has no syslog or raw TCP log listener: point the sender at a file lookout reads, or at its OTLP receiver");
                    kind_found = true;
                }
                "fluentbit" => {
                    cx.row(&k.mark, format!("{key}.fluentbit"), "", Status::NotMapped, "a Fluent Bit configuration passed through by the agent: lookout does not run Fluent Bit; convert its inputs by hand");
                    kind_found = true;
                }
                "winlog" | "winevtlog" => {
                    cx.row(
                        &k.mark,
                        format!("{key}.{kn}"),
                        "",
                        Status::NotMapped,
                        "Windows only",
                    );
                    kind_found = true;
                }
                other => cx.row(
                    &k.mark,
                    format!("{key}.{other}"),
                    "",
                    Status::NotMapped,
                    "not a key of a logging.d entry",
                ),
            }
        }
        if !kind_found {
            return Err(ConfigError::at(
                &item.mark,
                format!("the log entry {name:?} names no input"),
                Some("give it one of file, systemd, syslog, tcp, fluentbit"),
            ));
        }
        if src.get("type").is_none() {
            continue;
        }
        let is_file = matches!(src.get("type"), Some(Y::Str(t)) if t == "files");
        if let Some(attrs) = item.get("attributes") {
            for (ak, av) in attrs.entries() {
                let a = ak.as_str().unwrap_or_default().to_string();
                src.entry("attributes")
                    .set(&a, Y::s(av.as_str().unwrap_or_default()));
            }
            if is_file {
                cx.row(
                    &attrs.mark,
                    format!("{key}.attributes"),
                    "attributes",
                    Status::Mapped,
                    "on every record",
                );
            } else {
                src.set("attributes", Y::map());
                cx.row(&attrs.mark, format!("{key}.attributes"), "", Status::NotMapped, "lookout's journald source adds no attributes; the journal's own fields are kept");
            }
        }
        if matches!(src.get("attributes"), Some(Y::Map(e)) if e.is_empty()) {
            if let Y::Map(entries) = &mut src {
                entries.retain(|(k, _)| k != "attributes");
            }
        }
        if let Some(v) = item.get("max_line_kb") {
            let kb: u64 = v
                .as_str()
                .and_then(|t| t.trim().parse().ok())
                .ok_or_else(|| {
                    ConfigError::at(
                        &v.mark,
                        "`max_line_kb` must be a number of KiB",
                        Some("e.g. 128"),
                    )
                })?;
            if is_file {
                src.set("max_line_bytes", Y::Int((kb * 1024) as i64));
                cx.row(
                    &v.mark,
                    format!("{key}.max_line_kb"),
                    "max_line_bytes",
                    Status::Mapped,
                    "longer lines are cut and flagged",
                );
            } else {
                cx.row(
                    &v.mark,
                    format!("{key}.max_line_kb"),
                    "",
                    Status::NotMapped,
                    "journal entries are taken whole",
                );
            }
        }
        for k in ["multilineParser", "multiline_parser"] {
            if let Some(v) = item.get(k) {
                let p = v.as_str().unwrap_or_default();
                if is_file && matches!(p, "java" | "python" | "go") {
                    src.set("multiline", Y::s("auto"));
                    cx.row(
                        &v.mark,
                        format!("{key}.{k}"),
                        "multiline: auto",
                        Status::Mapped,
                        "lookout's auto mode joins Java, Python and Go stack traces",
                    );
                } else {
                    cx.row(&v.mark, format!("{key}.{k}"), "", Status::NotMapped, "only the java, python and go parsers have a lookout equivalent (multiline: auto); write `multiline: {start: REGEX}`");
                }
            }
        }
        let id = cx.fresh_id(&format!("log_{}", crate::sanitize_id(&name)));
        cx.row(
            &item.mark,
            key.clone(),
            format!("sources.{id}"),
            Status::Mapped,
            "",
        );
        cx.doc.entry("sources").set(&id, src);
        match item.get("pattern") {
            Some(p) => {
                let re = p.as_str().unwrap_or_default().to_string();
                if regex::Regex::new(&re).is_err() {
                    return Err(ConfigError::at(
                        &p.mark,
                        format!("`pattern` {re:?} is not a regular expression lookout can read"),
                        Some(
                            "lookout uses Rust's regex syntax (no look-around or back-references)",
                        ),
                    ));
                }
                let pid = cx.fresh_id(&format!("{id}_pattern"));
                let mut proc_ = Y::map();
                proc_.set("type", Y::s("filter"));
                proc_.set("inputs", Y::Seq(vec![Y::s(id.clone())]));
                proc_.set("include", Y::Seq(vec![Y::s(re)]));
                cx.doc.entry("processors").set(&pid, proc_);
                cx.outputs.push(pid.clone());
                cx.row(
                    &p.mark,
                    format!("{key}.pattern"),
                    format!("processors.{pid}.include"),
                    Status::Mapped,
                    "only records whose body matches are sent",
                );
            }
            None => cx.outputs.push(id),
        }
    }
    Ok(())
}
