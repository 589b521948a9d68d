//! Small value types used by the schema: [`Spanned`], [`Duration`], [`Endpoint`], [`Pattern`].

use crate::de::{SPANNED, SPANNED_FIELDS};
use crate::node::Mark;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

/// A value together with the place it was written, for checks that run after parsing (a
/// reference to a component that does not exist, an id used twice).
#[derive(Debug, Clone)]
pub struct Spanned<T> {
    /// The value.
    pub value: T,
    /// Where it was written (None when built in code).
    pub mark: Option<Mark>,
}

impl<T> Spanned<T> {
    /// A value with no position.
    pub fn new(value: T) -> Self {
        Spanned { value, mark: None }
    }
}

impl<T: PartialEq> PartialEq for Spanned<T> {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}

impl<T: Serialize> Serialize for Spanned<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(s)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Spanned<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Spanned<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a value with a position")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Spanned<T>, A::Error> {
                let mut origin: Option<String> = None;
                let mut line = 0u64;
                let mut col = 0u64;
                let mut value = None;
                while let Some(k) = map.next_key::<String>()? {
                    match k.as_str() {
                        "$origin" => origin = Some(map.next_value()?),
                        "$line" => line = map.next_value()?,
                        "$col" => col = map.next_value()?,
                        "$value" => value = Some(map.next_value()?),
                        other => return Err(de::Error::unknown_field(other, SPANNED_FIELDS)),
                    }
                }
                let value = value.ok_or_else(|| de::Error::missing_field("$value"))?;
                Ok(Spanned {
                    value,
                    mark: origin.map(|o| Mark {
                        origin: Arc::from(o.as_str()),
                        line: line as usize,
                        col: col as usize,
                    }),
                })
            }
        }
        d.deserialize_struct(SPANNED, SPANNED_FIELDS, V(PhantomData))
    }
}

/// A duration written as a number and a unit: `500ms`, `10s`, `5m`, `1h`, or combined `1m30s`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Duration(pub std::time::Duration);

impl Duration {
    /// From whole seconds.
    pub const fn from_secs(s: u64) -> Self {
        Duration(std::time::Duration::from_secs(s))
    }

    /// From milliseconds.
    pub const fn from_millis(ms: u64) -> Self {
        Duration(std::time::Duration::from_millis(ms))
    }

    /// Parses `10s`, `1m30s`, `250ms`, `2h`, `1d`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = || {
            format!("invalid duration `{text}`: write a number followed by ms, s, m, h or d (e.g. `10s`, `1m30s`)")
        };
        let t = text.trim();
        if t.is_empty() {
            return Err(bad());
        }
        let mut total = std::time::Duration::ZERO;
        let mut rest = t;
        while !rest.is_empty() {
            let digits = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .ok_or_else(bad)?;
            if digits == 0 {
                return Err(bad());
            }
            let number: f64 = rest[..digits].parse().map_err(|_| bad())?;
            rest = &rest[digits..];
            let unit_len = rest
                .find(|c: char| c.is_ascii_digit())
                .unwrap_or(rest.len());
            let unit = &rest[..unit_len];
            rest = &rest[unit_len..];
            let secs = match unit {
                "ms" => number / 1000.0,
                "s" => number,
                "m" => number * 60.0,
                "h" => number * 3600.0,
                "d" => number * 86400.0,
                _ => return Err(bad()),
            };
            total += std::time::Duration::try_from_secs_f64(secs).map_err(|_| bad())?;
        }
        Ok(Duration(total))
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0.as_millis();
        if !ms.is_multiple_of(1000) {
            write!(f, "{ms}ms")
        } else if ms.is_multiple_of(3_600_000) && ms > 0 {
            write!(f, "{}h", ms / 3_600_000)
        } else if ms.is_multiple_of(60_000) && ms > 0 {
            write!(f, "{}m", ms / 60_000)
        } else {
            write!(f, "{}s", ms / 1000)
        }
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Duration::parse(&s).map_err(de::Error::custom)
    }
}

/// An HTTP(S) endpoint URL, checked when the config is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint(pub url::Url);

impl Serialize for Endpoint {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Endpoint {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let url = url::Url::parse(&s).map_err(|e| {
            de::Error::custom(format!(
                "invalid URL `{s}`: {e} (write it in full, e.g. `http://127.0.0.1:4318`)"
            ))
        })?;
        if url.scheme() != "http" && url.scheme() != "https" {
            return Err(de::Error::custom(format!(
                "invalid URL `{s}`: the scheme must be http or https, not `{}`",
                url.scheme()
            )));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(de::Error::custom(format!("invalid URL `{s}`: no host")));
        }
        Ok(Endpoint(url))
    }
}

/// A name pattern for include/exclude lists: a glob with `*` and `?`, or `regex:<expr>` is not
/// supported (kept simple and fast: these run on every scrape).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Pattern(pub String);

impl<'de> Deserialize<'de> for Pattern {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s.is_empty() {
            return Err(de::Error::custom(
                "an empty pattern matches nothing; remove it",
            ));
        }
        Ok(Pattern(s))
    }
}

impl Pattern {
    /// Whether `name` matches this glob.
    pub fn matches(&self, name: &str) -> bool {
        glob_match(self.0.as_bytes(), name.as_bytes())
    }
}

fn glob_match(p: &[u8], s: &[u8]) -> bool {
    let (mut pi, mut si) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        if pi < p.len() && (p[pi] == b'?' || p[pi] == s[si]) {
            pi += 1;
            si += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, si));
            pi += 1;
        } else if let Some((sp, ss)) = star {
            pi = sp + 1;
            si = ss + 1;
            star = Some((sp, ss + 1));
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == b'*' {
        pi += 1;
    }
    pi == p.len()
}

/// Include and exclude lists: a name passes when it matches an include pattern (or the include
/// list is empty) and matches no exclude pattern.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    /// Names to keep (all when empty).
    #[serde(default)]
    pub include: Vec<Pattern>,
    /// Names to drop.
    #[serde(default)]
    pub exclude: Vec<Pattern>,
}

impl Filter {
    /// Whether `name` passes the filter.
    pub fn allows(&self, name: &str) -> bool {
        (self.include.is_empty() || self.include.iter().any(|p| p.matches(name)))
            && !self.exclude.iter().any(|p| p.matches(name))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(Duration::parse("10s").unwrap(), Duration::from_secs(10));
        assert_eq!(
            Duration::parse("250ms").unwrap(),
            Duration::from_millis(250)
        );
        assert_eq!(Duration::parse("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(
            Duration::parse("1.5s").unwrap(),
            Duration::from_millis(1500)
        );
        for bad in ["", "10", "s", "10x", "-1s", "1s2", "ten seconds"] {
            assert!(Duration::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Duration::from_secs(90).to_string(), "90s");
        assert_eq!(Duration::from_secs(120).to_string(), "2m");
        assert_eq!(Duration::from_millis(1500).to_string(), "1500ms");
    }

    #[test]
    fn globs() {
        let f = Filter {
            include: vec![Pattern("eth*".into()), Pattern("lo".into())],
            exclude: vec![Pattern("eth?9".into())],
        };
        assert!(f.allows("eth0"));
        assert!(f.allows("lo"));
        assert!(!f.allows("eth09"));
        assert!(!f.allows("wlan0"));
        assert!(Filter::default().allows("anything"));
        assert!(Pattern("*a*b".into()).matches("xxaxxb"));
        assert!(!Pattern("*a*b".into()).matches("xxaxxc"));
    }
}
