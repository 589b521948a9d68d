//! `${env:NAME}`, `${env:NAME:-default}`, `${file:/abs/path}` and `${secret:NAME}` substitution
//! in scalar values. A `file:` reference reads a secret kept in an owner-only file (its content,
//! without the final newline); a file others may read is refused. A `secret:` reference asks the
//! resolver the binary installed ([`set_secret_resolver`]: the encrypted store, then the
//! configured `secret_backend` command).
//!
//! Substitution runs on the parsed tree, value by value, so an environment variable can never
//! change the structure of the document (a value with a `:` or a newline stays one value).
//! `$${` writes a literal `${`.

use crate::error::ConfigError;
use crate::node::{Mark, Node, Value};
use crate::schema::SecretBackendConfig;
use std::sync::{Arc, RwLock};

/// Resolves `${secret:NAME}`: the name and the configured backend, if any; the value or why not
/// (never containing the value).
pub type SecretResolver =
    Arc<dyn Fn(&str, Option<&SecretBackendConfig>) -> Result<String, String> + Send + Sync>;

static RESOLVER: RwLock<Option<SecretResolver>> = RwLock::new(None);

/// Installs how `${secret:NAME}` is resolved (the binary does, at start).
pub fn set_secret_resolver(r: SecretResolver) {
    if let Ok(mut g) = RESOLVER.write() {
        *g = Some(r);
    }
}

fn resolve_secret(name: &str, backend: Option<&SecretBackendConfig>) -> Result<String, String> {
    let r = RESOLVER
        .read()
        .ok()
        .and_then(|g| g.clone())
        .ok_or_else(|| "no secret store is available here".to_string())?;
    r(name, backend)
}

/// Replaces every reference in the tree's scalars, looking variables up with `env`.
pub fn substitute(
    node: &mut Node,
    env: &dyn Fn(&str) -> Option<String>,
    backend: Option<&SecretBackendConfig>,
) -> Result<(), ConfigError> {
    match &mut node.value {
        Value::Scalar { text, .. } => {
            if text.contains('$') {
                *text = expand_with(text, &node.mark, env, backend)?;
            }
            Ok(())
        }
        Value::Seq(items) => items
            .iter_mut()
            .try_for_each(|n| substitute(n, env, backend)),
        Value::Map(entries) => entries
            .iter_mut()
            .try_for_each(|(_, v)| substitute(v, env, backend)),
    }
}

/// Expands the references in one string (no secret backend).
pub fn expand(
    text: &str,
    mark: &Mark,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<String, ConfigError> {
    expand_with(text, mark, env, None)
}

fn expand_with(
    text: &str,
    mark: &Mark,
    env: &dyn Fn(&str) -> Option<String>,
    backend: Option<&SecretBackendConfig>,
) -> Result<String, ConfigError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos..];
        if let Some(tail) = after.strip_prefix("$${") {
            out.push_str("${");
            rest = tail;
            continue;
        }
        let Some(tail) = after.strip_prefix("${") else {
            out.push('$');
            rest = &after[1..];
            continue;
        };
        let Some(end) = tail.find('}') else {
            return Err(ConfigError::at(
                mark,
                format!("unterminated `${{` in `{text}`"),
                Some("close it with `}`, or write `$${` for a literal `${`"),
            ));
        };
        let reference = &tail[..end];
        rest = &tail[end + 1..];
        if let Some(name) = reference.strip_prefix("secret:") {
            out.push_str(&resolve_secret(name, backend).map_err(|e| {
                ConfigError::at(
                    mark,
                    format!("`${{secret:{name}}}`: {e}"),
                    Some("store it with `lookout secrets set NAME` (or configure secret_backend)"),
                )
            })?);
            continue;
        }
        if let Some(path) = reference.strip_prefix("file:") {
            out.push_str(&read_secret_file(path).map_err(|e| {
                ConfigError::at(
                    mark,
                    format!("`${{file:{path}}}`: {e}"),
                    Some("give an absolute path to an existing file readable by its owner only (chmod 600)"),
                )
            })?);
            continue;
        }
        let Some(spec) = reference.strip_prefix("env:") else {
            return Err(ConfigError::at(
                mark,
                format!("unknown substitution `${{{reference}}}`"),
                Some("use `${env:NAME}`, `${env:NAME:-default}`, `${file:/path}` or `${secret:NAME}`"),
            ));
        };
        let (name, default) = match spec.split_once(":-") {
            Some((n, d)) => (n, Some(d)),
            None => (spec, None),
        };
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(ConfigError::at(
                mark,
                format!("invalid environment variable name `{name}`"),
                Some("names use letters, digits and `_`"),
            ));
        }
        match (env(name), default) {
            (Some(v), _) if !v.is_empty() => out.push_str(&v),
            (_, Some(d)) => out.push_str(d),
            (Some(v), None) => out.push_str(&v),
            (None, None) => {
                return Err(ConfigError::at(
                    mark,
                    format!("environment variable `{name}` is not set"),
                    Some(&format!(
                        "export {name}=..., or give a default: `${{env:{name}:-value}}`"
                    )),
                ))
            }
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// The content of an owner-only secret file, without its final newline.
fn read_secret_file(path: &str) -> Result<String, String> {
    use std::io::Read;
    use std::os::unix::fs::MetadataExt;
    let p = std::path::Path::new(path);
    if !p.is_absolute() {
        return Err("the path must be absolute".into());
    }
    let f = std::fs::File::open(p).map_err(|e| format!("cannot open: {e}"))?;
    let meta = f.metadata().map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    if meta.mode() & 0o077 != 0 {
        return Err(format!(
            "the file is readable by others (mode {:o})",
            meta.mode() & 0o777
        ));
    }
    let mut text = String::new();
    f.take(64 * 1024)
        .read_to_string(&mut text)
        .map_err(|e| format!("cannot read: {e}"))?;
    let trimmed = text.trim_end_matches(['\n', '\r']);
    Ok(trimmed.to_string())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn mark() -> Mark {
        Mark {
            origin: Arc::from("f"),
            line: 1,
            col: 1,
        }
    }

    fn env(name: &str) -> Option<String> {
        match name {
            "HOST" => Some("db1".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn expands() {
        assert_eq!(expand("a-${env:HOST}-b", &mark(), &env).unwrap(), "a-db1-b");
        assert_eq!(expand("${env:NOPE:-x:y}", &mark(), &env).unwrap(), "x:y");
        assert_eq!(expand("${env:EMPTY:-d}", &mark(), &env).unwrap(), "d");
        assert_eq!(expand("${env:EMPTY}", &mark(), &env).unwrap(), "");
        assert_eq!(
            expand("$${env:HOST}", &mark(), &env).unwrap(),
            "${env:HOST}"
        );
        assert_eq!(expand("cost $5", &mark(), &env).unwrap(), "cost $5");
    }

    #[test]
    fn errors() {
        let e = expand("${env:NOPE}", &mark(), &env).unwrap_err();
        assert!(e.message.contains("`NOPE` is not set"));
        assert!(expand("${env:HOST", &mark(), &env).is_err());
        assert!(expand("${file:/nonexistent}", &mark(), &env).is_err());
        assert!(expand("${env:BAD-NAME}", &mark(), &env).is_err());
        assert!(expand("${nope:x}", &mark(), &env)
            .unwrap_err()
            .message
            .contains("unknown substitution"));
    }

    #[test]
    fn secrets_come_from_the_resolver_with_the_configured_backend() {
        set_secret_resolver(Arc::new(|name, backend| match (name, backend) {
            ("redis_pw", _) => Ok("s3cret".to_string()),
            ("vaulted", Some(b)) => Ok(format!("from {}", b.command.display())),
            _ => Err("not in the store".to_string()),
        }));
        let text = "secret_backend: {command: /usr/local/bin/vault-helper, args: [-x]}\nsources:\n  r:\n    type: redis\n    password: ${secret:redis_pw}\n  r2:\n    type: redis\n    password: ${secret:vaulted}\nsinks:\n  o: {type: file, path: /dev/null, inputs: [r, r2]}\n";
        let c = crate::load_str("t", text, &[], &|_| None).unwrap();
        let dbg = format!("{c:?}");
        assert!(dbg.contains("s3cret") && dbg.contains("from /usr/local/bin/vault-helper"));
        assert_eq!(c.settings.secret_backend.as_ref().unwrap().args, ["-x"]);
        assert!(!crate::to_yaml(&c).contains("s3cret"));
        let e = crate::load_str("t", &text.replace("redis_pw", "nope"), &[], &|_| None)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("t:5:15") && e.contains("not in the store"),
            "{e}"
        );
        let e = crate::load_str("t", &text.replace("-x]", "\"${env:X}\"]"), &[], &|_| {
            Some("y".into())
        })
        .unwrap_err()
        .to_string();
        assert!(e.contains("read before them"), "{e}");
    }

    #[test]
    fn secret_files_must_be_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("key");
        std::fs::write(&p, "s3cret\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        let r = format!("k=${{file:{}}};", p.display());
        assert_eq!(expand(&r, &mark(), &env).unwrap(), "k=s3cret;");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = expand(&r, &mark(), &env).unwrap_err();
        assert!(e.message.contains("readable by others"), "{}", e.message);
        assert!(!e.message.contains("s3cret"));
        let e = expand("${file:relative}", &mark(), &env).unwrap_err();
        assert!(e.message.contains("absolute"), "{}", e.message);
        let e = expand("${file:/nonexistent/x}", &mark(), &env).unwrap_err();
        assert!(e.message.contains("cannot open"), "{}", e.message);
    }
}
