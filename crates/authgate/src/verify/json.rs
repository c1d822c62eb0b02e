//! Strict JSON for JOSE headers and claim sets (RFC 7515 §4, RFC 7519 §7.2, RFC 8259).
//!
//! `serde_json` already refuses NaN/Infinity, trailing data, lone surrogates, a byte
//! order mark and nesting deeper than 128. It keeps the *last* of two members with
//! the same name, though, and a parser that disagrees with another one about a
//! duplicated `alg` or `exp` is an attack surface (RFC 7515 §4: reject or last-wins;
//! we reject). This wrapper adds that check while building a `serde_json::Value`.

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// Parses `bytes` as one JSON object with no duplicate member names at any depth.
/// The error is deliberately unit: serde's messages echo attacker input.
pub(crate) fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, ()> {
    match serde_json::from_slice::<Strict>(bytes) {
        Ok(Strict(Value::Object(map))) => Ok(map),
        _ => Err(()),
    }
}

struct Strict(Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JSON")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("non-finite number"))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(Strict(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let Strict(value) = map.next_value()?;
            if out.insert(key, value).is_some() {
                return Err(de::Error::custom("duplicate member name"));
            }
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_objects() {
        let m = parse_object(br#"{"a":1,"b":[1,2,{"c":null}],"d":1.5,"e":"x"}"#).unwrap();
        assert_eq!(m.len(), 4);
    }

    #[test]
    fn rejects_what_rfc8259_or_7515_forbid() {
        let bad: &[&[u8]] = &[
            br#"{"alg":"RS256","alg":"none"}"#,
            br#"{"a":{"b":1,"b":2}}"#,
            br#"[1]"#,
            br#""x""#,
            br#"42"#,
            br#"{"a":NaN}"#,
            br#"{"a":1} x"#,
            br#"{"a":"\ud800"}"#,
            b"\xef\xbb\xbf{}",
            b"{\"a\":\"\xc0\xaf\"}",
            br#"{"a":1e400}"#,
            b"",
        ];
        for b in bad {
            assert!(parse_object(b).is_err(), "{:?}", String::from_utf8_lossy(b));
        }
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let depth = 200;
        let s = format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth));
        assert!(parse_object(s.as_bytes()).is_err());
    }
}
