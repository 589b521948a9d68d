//! A serde `Deserializer` over [`Node`]s: every error it produces carries the position of the
//! value that caused it, and unknown keys come with a "did you mean" hint.

use crate::error::ConfigError;
use crate::node::{is_null_text, Mark, Node, Value};
use serde::de::{self, DeserializeSeed, Error as _, IntoDeserializer, Visitor};
use std::fmt;

/// The deserialization error: a message, the mark of the innermost node, an optional hint.
#[derive(Debug)]
pub struct DeError {
    mark: Option<Mark>,
    message: String,
    hint: Option<String>,
}

impl DeError {
    fn or_mark(mut self, mark: &Mark) -> Self {
        if self.mark.is_none() {
            self.mark = Some(mark.clone());
        }
        self
    }
}

impl From<DeError> for ConfigError {
    fn from(e: DeError) -> Self {
        ConfigError {
            mark: e.mark,
            message: e.message,
            hint: e.hint,
        }
    }
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DeError {
            mark: None,
            message: msg.to_string(),
            hint: None,
        }
    }

    fn invalid_type(unexp: de::Unexpected<'_>, exp: &dyn de::Expected) -> Self {
        Self::custom(format_args!("wrong type: expected {exp}, found {unexp}"))
    }

    fn invalid_value(unexp: de::Unexpected<'_>, exp: &dyn de::Expected) -> Self {
        Self::custom(format_args!("invalid value: expected {exp}, found {unexp}"))
    }

    fn unknown_field(field: &str, expected: &'static [&'static str]) -> Self {
        let mut e = Self::custom(format_args!("unknown key `{field}`"));
        let best = expected
            .iter()
            .map(|c| (edit_distance(field, c), *c))
            .filter(|(d, c)| *d <= 2.max(c.len() / 3))
            .min();
        e.hint = Some(match best {
            Some((_, c)) => format!("did you mean `{c}`?"),
            None if expected.is_empty() => "this section takes no keys".to_string(),
            None => format!("valid keys here: {}", expected.join(", ")),
        });
        e
    }

    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> Self {
        let mut e = Self::custom(format_args!("unknown value `{variant}`"));
        e.hint = Some(format!("expected one of: {}", expected.join(", ")));
        e
    }

    fn missing_field(field: &'static str) -> Self {
        let mut e = Self::custom(format_args!("missing required key `{field}`"));
        e.hint = Some(format!("add `{field}:` to this section"));
        e
    }
}

/// Levenshtein distance, for "did you mean" hints.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Deserializes a `T` from a node.
pub fn from_node<'de, T: de::Deserialize<'de>>(node: &Node) -> Result<T, ConfigError> {
    T::deserialize(NodeDe(node)).map_err(Into::into)
}

/// The deserializer over one node.
pub struct NodeDe<'a>(pub &'a Node);

/// Name of the struct that [`crate::Spanned`] asks for; [`NodeDe`] answers it with positions.
pub(crate) const SPANNED: &str = "$__lookout_spanned";
pub(crate) const SPANNED_FIELDS: &[&str] = &["$origin", "$line", "$col", "$value"];

fn parse_int(text: &str) -> Option<i128> {
    let t = text.replace('_', "");
    if let Some(h) = t.strip_prefix("0x") {
        return i128::from_str_radix(h, 16).ok();
    }
    if let Some(o) = t.strip_prefix("0o") {
        return i128::from_str_radix(o, 8).ok();
    }
    t.parse::<i128>().ok()
}

fn parse_float(text: &str) -> Option<f64> {
    match text {
        ".inf" | ".Inf" | "+.inf" => Some(f64::INFINITY),
        "-.inf" | "-.Inf" => Some(f64::NEG_INFINITY),
        ".nan" | ".NaN" => Some(f64::NAN),
        _ if text.chars().any(|c| c.is_ascii_digit()) => text.parse().ok(),
        _ => None,
    }
}

macro_rules! int_method {
    ($method:ident, $ty:ty, $visit:ident, $name:expr) => {
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
            let node = self.0;
            match &node.value {
                Value::Scalar { text, .. } => {
                    match parse_int(text).and_then(|i| <$ty>::try_from(i).ok()) {
                        Some(v) => visitor
                            .$visit(v)
                            .map_err(|e: DeError| e.or_mark(&node.mark)),
                        None => Err(DeError::custom(format_args!(
                            "expected {}, found `{}`",
                            $name, text
                        ))
                        .or_mark(&node.mark)),
                    }
                }
                _ => {
                    Err(
                        DeError::custom(format_args!("expected {}, found {}", $name, node.kind()))
                            .or_mark(&node.mark),
                    )
                }
            }
        }
    };
}

impl<'de> de::Deserializer<'de> for NodeDe<'_> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let node = self.0;
        let r = match &node.value {
            Value::Scalar { text, plain: true } => {
                if is_null_text(text) {
                    visitor.visit_unit()
                } else if text == "true" || text == "True" {
                    visitor.visit_bool(true)
                } else if text == "false" || text == "False" {
                    visitor.visit_bool(false)
                } else if let Some(i) = parse_int(text) {
                    match i64::try_from(i) {
                        Ok(v) => visitor.visit_i64(v),
                        Err(_) => match u64::try_from(i) {
                            Ok(v) => visitor.visit_u64(v),
                            Err(_) => visitor.visit_str(text),
                        },
                    }
                } else if let Some(f) = parse_float(text) {
                    visitor.visit_f64(f)
                } else {
                    visitor.visit_str(text)
                }
            }
            Value::Scalar { text, plain: false } => visitor.visit_str(text),
            Value::Seq(items) => visitor.visit_seq(SeqAccess { iter: items.iter() }),
            Value::Map(entries) => visitor.visit_map(MapAccess {
                iter: entries.iter(),
                value: None,
            }),
        };
        r.map_err(|e| e.or_mark(&node.mark))
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let node = self.0;
        match &node.value {
            Value::Scalar { text, .. } if matches!(text.as_str(), "true" | "True" | "TRUE") => {
                visitor.visit_bool(true)
            }
            Value::Scalar { text, .. } if matches!(text.as_str(), "false" | "False" | "FALSE") => {
                visitor.visit_bool(false)
            }
            Value::Scalar { text, .. } => Err(DeError::custom(format_args!(
                "expected true or false, found `{text}`"
            ))),
            _ => Err(DeError::custom(format_args!(
                "expected true or false, found {}",
                node.kind()
            ))),
        }
        .map_err(|e| e.or_mark(&node.mark))
    }

    int_method!(deserialize_i8, i8, visit_i8, "an integer");
    int_method!(deserialize_i16, i16, visit_i16, "an integer");
    int_method!(deserialize_i32, i32, visit_i32, "an integer");
    int_method!(deserialize_i64, i64, visit_i64, "an integer");
    int_method!(
        deserialize_u8,
        u8,
        visit_u8,
        "a non-negative integer (0-255)"
    );
    int_method!(
        deserialize_u16,
        u16,
        visit_u16,
        "a non-negative integer (0-65535)"
    );
    int_method!(deserialize_u32, u32, visit_u32, "a non-negative integer");
    int_method!(deserialize_u64, u64, visit_u64, "a non-negative integer");

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let node = self.0;
        match &node.value {
            Value::Scalar { text, .. } => match parse_float(text) {
                Some(f) => visitor.visit_f64(f),
                None => Err(DeError::custom(format_args!(
                    "expected a number, found `{text}`"
                ))),
            },
            _ => Err(DeError::custom(format_args!(
                "expected a number, found {}",
                node.kind()
            ))),
        }
        .map_err(|e| e.or_mark(&node.mark))
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let node = self.0;
        match &node.value {
            Value::Scalar { text, .. } => visitor.visit_str(text),
            _ => Err(DeError::custom(format_args!(
                "expected a string, found {}",
                node.kind()
            ))),
        }
        .map_err(|e| e.or_mark(&node.mark))
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        if self.0.is_null() {
            visitor
                .visit_none()
                .map_err(|e: DeError| e.or_mark(&self.0.mark))
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        if self.0.is_null() {
            visitor.visit_unit()
        } else {
            Err(DeError::custom("expected nothing (null)").or_mark(&self.0.mark))
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let node = self.0;
        match &node.value {
            Value::Seq(items) => visitor.visit_seq(SeqAccess { iter: items.iter() }),
            _ if node.is_null() => visitor.visit_seq(SeqAccess { iter: [].iter() }),
            _ => Err(
                DeError::custom(format_args!("expected a list, found {}", node.kind()))
                    .with_list_hint(),
            ),
        }
        .map_err(|e| e.or_mark(&node.mark))
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let node = self.0;
        match &node.value {
            Value::Map(entries) => visitor.visit_map(MapAccess {
                iter: entries.iter(),
                value: None,
            }),
            _ if node.is_null() => visitor.visit_map(MapAccess {
                iter: [].iter(),
                value: None,
            }),
            _ => Err(DeError::custom(format_args!(
                "expected a mapping (key: value lines), found {}",
                node.kind()
            ))),
        }
        .map_err(|e| e.or_mark(&node.mark))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        if name == SPANNED {
            return visitor.visit_map(SpannedAccess {
                node: self.0,
                step: 0,
            });
        }
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let node = self.0;
        match &node.value {
            Value::Scalar { text, .. } => {
                let de: de::value::StrDeserializer<'_, DeError> = text.as_str().into_deserializer();
                visitor.visit_enum(de)
            }
            // `{variant: value}`: a variant that carries a value
            Value::Map(entries) if entries.len() == 1 => visitor.visit_enum(EnumMap {
                key: &entries[0].0,
                value: &entries[0].1,
            }),
            _ => Err(DeError::custom(format_args!(
                "expected one word, found {}",
                node.kind()
            ))),
        }
        .map_err(|e| e.or_mark(&node.mark))
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }
}

impl DeError {
    fn with_list_hint(mut self) -> Self {
        self.hint = Some("write a list as `[a, b]` or as lines starting with `- `".into());
        self
    }
}

/// An enum written as a one-entry map, `{variant: value}`.
struct EnumMap<'a> {
    key: &'a Node,
    value: &'a Node,
}

impl<'de, 'a> de::EnumAccess<'de> for EnumMap<'a> {
    type Error = DeError;
    type Variant = NodeDe<'a>;

    fn variant_seed<V: de::DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, NodeDe<'a>), DeError> {
        let v = seed
            .deserialize(NodeDe(self.key))
            .map_err(|e| e.or_mark(&self.key.mark))?;
        Ok((v, NodeDe(self.value)))
    }
}

impl<'de> de::VariantAccess<'de> for NodeDe<'_> {
    type Error = DeError;

    fn unit_variant(self) -> Result<(), DeError> {
        Err(
            DeError::custom("this variant takes no value; write it as one word")
                .or_mark(&self.0.mark),
        )
    }

    fn newtype_variant_seed<T: de::DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<T::Value, DeError> {
        seed.deserialize(self)
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, DeError> {
        de::Deserializer::deserialize_seq(self, visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        de::Deserializer::deserialize_map(self, visitor)
    }
}

struct SeqAccess<'a> {
    iter: std::slice::Iter<'a, Node>,
}

impl<'de> de::SeqAccess<'de> for SeqAccess<'_> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        match self.iter.next() {
            Some(node) => seed
                .deserialize(NodeDe(node))
                .map(Some)
                .map_err(|e| e.or_mark(&node.mark)),
            None => Ok(None),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

struct MapAccess<'a> {
    iter: std::slice::Iter<'a, (Node, Node)>,
    value: Option<&'a Node>,
}

impl<'de> de::MapAccess<'de> for MapAccess<'_> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        match self.iter.next() {
            Some((k, v)) => {
                self.value = Some(v);
                seed.deserialize(NodeDe(k))
                    .map(Some)
                    .map_err(|e| e.or_mark(&k.mark))
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        match self.value.take() {
            Some(v) => seed.deserialize(NodeDe(v)).map_err(|e| e.or_mark(&v.mark)),
            None => Err(DeError::custom("value requested before key")),
        }
    }
}

struct SpannedAccess<'a> {
    node: &'a Node,
    step: usize,
}

impl<'de> de::MapAccess<'de> for SpannedAccess<'_> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        match SPANNED_FIELDS.get(self.step) {
            Some(f) => {
                let de: de::value::StrDeserializer<'_, DeError> = f.into_deserializer();
                seed.deserialize(de).map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let step = self.step;
        self.step += 1;
        let m = &self.node.mark;
        match step {
            0 => seed.deserialize(de::value::StrDeserializer::<DeError>::new(&m.origin)),
            1 => seed.deserialize(de::value::U64Deserializer::<DeError>::new(m.line as u64)),
            2 => seed.deserialize(de::value::U64Deserializer::<DeError>::new(m.col as u64)),
            _ => seed.deserialize(NodeDe(self.node)),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::node::parse;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct S {
        port: u16,
        name: String,
        #[serde(default)]
        tags: Vec<String>,
        on: Option<bool>,
    }

    #[test]
    fn typed_values() {
        let n = parse("f", "port: 80\nname: 123\ntags: [a, b]\non: true\n").unwrap();
        let s: S = from_node(&n).unwrap();
        assert_eq!(s.port, 80);
        assert_eq!(s.name, "123");
        assert_eq!(s.tags, vec!["a", "b"]);
        assert_eq!(s.on, Some(true));
    }

    #[test]
    fn unknown_key_points_at_key_with_hint() {
        let n = parse("f", "port: 80\nname: x\nnmae: y\n").unwrap();
        let e = from_node::<S>(&n).unwrap_err();
        assert_eq!(e.mark.as_ref().unwrap().line, 3);
        assert_eq!(e.mark.as_ref().unwrap().col, 1);
        assert_eq!(e.message, "unknown key `nmae`");
        assert_eq!(e.hint.as_deref(), Some("did you mean `name`?"));
    }

    #[test]
    fn wrong_type_points_at_value() {
        let n = parse("f", "name: x\nport: eighty\n").unwrap();
        let e = from_node::<S>(&n).unwrap_err();
        assert_eq!(
            (e.mark.as_ref().unwrap().line, e.mark.as_ref().unwrap().col),
            (2, 7)
        );
        assert!(e.message.contains("found `eighty`"), "{}", e.message);
        let n = parse("f", "name: x\nport: 70000\n").unwrap();
        assert!(from_node::<S>(&n).is_err());
    }

    #[test]
    fn missing_key_points_at_mapping() {
        let n = parse("f", "\nname: x\n").unwrap();
        let e = from_node::<S>(&n).unwrap_err();
        assert!(e.message.contains("missing required key `port`"));
    }

    #[test]
    fn distance() {
        assert_eq!(edit_distance("nmae", "name"), 2);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
    }
}
