//! Strict JSON for JOSE headers and claim sets (RFC 7515 §4, RFC 7519 §7.2, RFC 8259).
//!
//! `serde_json` already refuses NaN/Infinity, trailing data, lone surrogates, a byte
//! order mark and nesting deeper than 128. It keeps the *last* of two members with
//! the same name, though, and a parser that disagrees with another one about a
//! duplicated `alg` or `exp` is an attack surface (RFC 7515 §4: reject or last-wins;
//! this crate rejects). Every parser here adds that check, at every depth.
//!
//! Two ways in:
//!
//! - [`parse_header`] and [`parse_claims`]: the request path. One pass over the
//!   JSON that keeps only what the verifier's checks read (the registered claims,
//!   borrowed from the input when they have no escapes; the other members are
//!   validated and skipped), so a valid token costs a handful of allocations
//!   instead of a map per JSON object.
//! - [`parse_object`]: the whole object as a `serde_json::Map`, for
//!   `Principal::claims()` (built lazily, on first use) and `authgate explain`.
//!
//! Both accept exactly the same documents (tested below).

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use serde::de::{self, Deserialize, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
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

/// One member's value as the checks need it: strings borrowed from the JSON when
/// they have no escapes, numbers as NumericDates, anything else by its type only
/// (details name the type, never the value: it is attacker text).
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) enum Member<'a> {
    /// The member is not there.
    #[default]
    Absent,
    /// A string.
    Str(Cow<'a, str>),
    /// A number: `Some` when it is a NumericDate (RFC 7519 §2: non-negative,
    /// below 2^64; fractions rounded), `None` for any other number.
    Num(Option<u64>),
    /// An array whose elements are all strings (`aud`, RFC 7519 §4.1.3).
    Strs(Vec<Cow<'a, str>>),
    /// Any other value, by its JSON type: "null", "a boolean", "an array", "an object".
    Other(&'static str),
}

impl Member<'_> {
    /// The string, when the member is one.
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Member::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The JSON type, for details.
    pub(crate) fn describe(&self) -> &'static str {
        match self {
            Member::Absent => "absent",
            Member::Str(_) => "a string",
            Member::Num(_) => "a number",
            Member::Strs(_) => "an array",
            Member::Other(t) => t,
        }
    }

    /// The same value, owning its strings.
    fn from_value(v: &Value) -> Member<'static> {
        match v {
            Value::Null => Member::Other("null"),
            Value::Bool(_) => Member::Other("a boolean"),
            Value::Number(n) => Member::Num(numeric_date(n)),
            Value::String(s) => Member::Str(Cow::Owned(s.clone())),
            Value::Array(items) => items
                .iter()
                .map(|i| i.as_str().map(|s| Cow::Owned(s.to_owned())))
                .collect::<Option<Vec<_>>>()
                .map_or(Member::Other("an array"), Member::Strs),
            Value::Object(_) => Member::Other("an object"),
        }
    }
}

/// A NumericDate (RFC 7519 §2): a JSON number of seconds, possibly fractional,
/// non-negative and below 2^64. Anything else is `None` (a wrong type).
pub(crate) fn numeric_date(n: &Number) -> Option<u64> {
    if let Some(u) = n.as_u64() {
        return Some(u);
    }
    n.as_f64().and_then(numeric_date_f64)
}

fn numeric_date_f64(f: f64) -> Option<u64> {
    // 18446744073709551616.0 is 2^64.
    (0.0..18_446_744_073_709_551_616.0)
        .contains(&f)
        .then(|| f.round() as u64)
}

/// The JOSE header members authgate reads (RFC 7515 §4.1); the others (`jku`,
/// `x5u`, `x5c`, `jwk`, private ones) are validated and ignored: never followed,
/// never trusted.
#[derive(Debug, Default)]
pub(crate) struct Header<'a> {
    pub(crate) alg: Member<'a>,
    pub(crate) kid: Member<'a>,
    pub(crate) typ: Member<'a>,
    pub(crate) cty: Member<'a>,
    /// `crit` is present (RFC 7515 §4.1.11).
    pub(crate) crit: bool,
    /// `b64` is present (RFC 7797).
    pub(crate) b64: bool,
    /// `enc` is present: a JWE (RFC 7516).
    pub(crate) enc: bool,
}

/// Parses a JOSE header: one strict JSON object (see the module docs).
pub(crate) fn parse_header(bytes: &[u8]) -> Result<Header<'_>, ()> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    // Filled in place: the visitor's result is not moved through serde's layers.
    let mut header = Header::default();
    HeaderSeed { out: &mut header }
        .deserialize(&mut de)
        .map_err(|_| ())?;
    de.end().map_err(|_| ())?;
    Ok(header)
}

/// The registered claims (RFC 7519 §4.1) and the scope claim of a claim set,
/// plus the names of all its members (for `required_claims`).
#[derive(Debug)]
pub(crate) struct Claims<'a> {
    pub(crate) exp: Member<'a>,
    pub(crate) nbf: Member<'a>,
    pub(crate) iat: Member<'a>,
    pub(crate) iss: Member<'a>,
    pub(crate) sub: Member<'a>,
    pub(crate) jti: Member<'a>,
    pub(crate) aud: Member<'a>,
    /// The member named by the scope claim path's first segment, whole.
    pub(crate) scope: Option<Value>,
    names: Names<'a>,
}

impl Claims<'_> {
    /// Whether the claim set has a member `name`.
    pub(crate) fn contains(&self, name: &str) -> bool {
        self.names.contains(name)
    }
}

/// Parses a claim set: one strict JSON object (see the module docs). `scope`:
/// the first segment of the scope claim path, a member to keep whole.
pub(crate) fn parse_claims<'a>(bytes: &'a [u8], scope: Option<&str>) -> Result<Claims<'a>, ()> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let mut claims = Claims {
        exp: Member::Absent,
        nbf: Member::Absent,
        iat: Member::Absent,
        iss: Member::Absent,
        sub: Member::Absent,
        jti: Member::Absent,
        aud: Member::Absent,
        scope: None,
        names: Names::new(),
    };
    ClaimsSeed {
        scope,
        out: &mut claims,
    }
    .deserialize(&mut de)
    .map_err(|_| ())?;
    de.end().map_err(|_| ())?;
    Ok(claims)
}

/// The member names of one object, to refuse duplicates. The first few are kept
/// in place (no allocation for a typical token); past that, a hash set, so an
/// object of thousands of tiny members costs linear time, not quadratic.
struct Names<'a> {
    inline: [&'a str; INLINE_NAMES],
    len: usize,
    spill: Option<HashSet<Cow<'a, str>>>,
}

const INLINE_NAMES: usize = 16;

impl fmt::Debug for Names<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Names")
            .field(
                "len",
                &(self.len + self.spill.as_ref().map_or(0, HashSet::len)),
            )
            .finish()
    }
}

impl<'a> Names<'a> {
    fn new() -> Self {
        Names {
            inline: [""; INLINE_NAMES],
            len: 0,
            spill: None,
        }
    }

    fn contains(&self, name: &str) -> bool {
        self.inline[..self.len].contains(&name)
            || self.spill.as_ref().is_some_and(|s| s.contains(name))
    }

    /// Adds `name`; `false` when it was already there.
    fn insert(&mut self, name: Cow<'a, str>) -> bool {
        if self.inline[..self.len].contains(&&*name) {
            return false;
        }
        match name {
            Cow::Borrowed(b) if self.len < INLINE_NAMES && self.spill.is_none() => {
                self.inline[self.len] = b;
                self.len += 1;
                true
            }
            name => self.spill.get_or_insert_with(HashSet::new).insert(name),
        }
    }
}

fn duplicate<E: de::Error>() -> E {
    E::custom("duplicate member name")
}

/// A member name, borrowed from the input when it has no escapes.
struct Name;

impl<'de> DeserializeSeed<'de> for Name {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(NameVisitor)
    }
}

struct NameVisitor;

impl<'de> Visitor<'de> for NameVisitor {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a member name")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
}

/// Any JSON value, validated as strictly as [`parse_object`] does and dropped.
struct Skip;

impl<'de> Deserialize<'de> for Skip {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(SkipVisitor).map(|()| Skip)
    }
}

struct SkipVisitor;

impl<'de> Visitor<'de> for SkipVisitor {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JSON")
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        finite(v).map(|_| ())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element::<Skip>()?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut names = Names::new();
        while let Some(name) = map.next_key_seed(Name)? {
            map.next_value::<Skip>()?;
            if !names.insert(name) {
                return Err(duplicate());
            }
        }
        Ok(())
    }
}

fn finite<E: de::Error>(v: f64) -> Result<f64, E> {
    if v.is_finite() {
        Ok(v)
    } else {
        Err(E::custom("non-finite number"))
    }
}

impl<'de> Deserialize<'de> for Member<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(MemberVisitor)
    }
}

struct MemberVisitor;

impl<'de> Visitor<'de> for MemberVisitor {
    type Value = Member<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JSON")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Member::Other("a boolean"))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Member::Num(u64::try_from(v).ok()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Member::Num(Some(v)))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Member::Num(numeric_date_f64(finite(v)?)))
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Member::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Member::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Member::Str(Cow::Owned(v)))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Member::Other("null"))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut strings = Some(Vec::new());
        while let Some(item) = seq.next_element::<Member<'de>>()? {
            match (item, &mut strings) {
                (Member::Str(s), Some(all)) => all.push(s),
                _ => strings = None,
            }
        }
        Ok(strings.map_or(Member::Other("an array"), Member::Strs))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        SkipVisitor
            .visit_map(map)
            .map(|()| Member::Other("an object"))
    }
}

struct HeaderSeed<'o, 'de> {
    out: &'o mut Header<'de>,
}

impl<'de> DeserializeSeed<'de> for HeaderSeed<'_, 'de> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for HeaderSeed<'_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let h = self.out;
        let mut names = Names::new();
        while let Some(name) = map.next_key_seed(Name)? {
            let slot = match &*name {
                "alg" => Some(&mut h.alg),
                "kid" => Some(&mut h.kid),
                "typ" => Some(&mut h.typ),
                "cty" => Some(&mut h.cty),
                "crit" => {
                    h.crit = true;
                    None
                }
                "b64" => {
                    h.b64 = true;
                    None
                }
                "enc" => {
                    h.enc = true;
                    None
                }
                _ => None,
            };
            match slot {
                Some(slot) => *slot = map.next_value()?,
                None => map.next_value::<Skip>().map(|_| ())?,
            }
            if !names.insert(name) {
                return Err(duplicate());
            }
        }
        Ok(())
    }
}

struct ClaimsSeed<'s, 'o, 'de> {
    scope: Option<&'s str>,
    out: &'o mut Claims<'de>,
}

impl<'de> DeserializeSeed<'de> for ClaimsSeed<'_, '_, 'de> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ClaimsSeed<'_, '_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let c = self.out;
        while let Some(name) = map.next_key_seed(Name)? {
            let slot = match &*name {
                "exp" => Some(&mut c.exp),
                "nbf" => Some(&mut c.nbf),
                "iat" => Some(&mut c.iat),
                "iss" => Some(&mut c.iss),
                "sub" => Some(&mut c.sub),
                "jti" => Some(&mut c.jti),
                "aud" => Some(&mut c.aud),
                _ => None,
            };
            if self.scope == Some(&*name) {
                // Kept whole: the scope path may go further into it. A scope
                // claim that is also a registered one fills both.
                let Strict(v) = map.next_value()?;
                if let Some(slot) = slot {
                    *slot = Member::from_value(&v);
                }
                c.scope = Some(v);
            } else {
                match slot {
                    Some(slot) => *slot = map.next_value()?,
                    None => map.next_value::<Skip>().map(|_| ())?,
                }
            }
            if !c.names.insert(name) {
                return Err(duplicate());
            }
        }
        Ok(())
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

    /// The request path's typed parsers accept exactly what `parse_object` accepts.
    fn same_verdict(doc: &[u8]) {
        let whole = parse_object(doc).is_ok();
        assert_eq!(
            parse_header(doc).is_ok(),
            whole,
            "header: {:?}",
            String::from_utf8_lossy(doc)
        );
        assert_eq!(
            parse_claims(doc, Some("scope")).is_ok(),
            whole,
            "claims: {:?}",
            String::from_utf8_lossy(doc)
        );
    }

    #[test]
    fn typed_parsers_agree_with_the_full_parser() {
        let bases: &[&[u8]] = &[
            br#"{"alg":"HS256","kid":"k\u00e9","typ":"JWT"}"#,
            br#"{"iss":"i","sub":"s","aud":["a","b"],"exp":1.5e9,"nbf":-1,"scope":"a b","x":{"y":[1,{"z":null}]}}"#,
            br#"{"a":{"b":1,"b":2}}"#,
            br#"{"scope":{"r":["x"]},"scope":1}"#,
        ];
        let subst: &[u8] = b"\"{}[],:01eE.-\\ nutfx\x00\xff";
        for base in bases {
            same_verdict(base);
            for i in 0..base.len() {
                for &c in subst {
                    let mut doc = base.to_vec();
                    doc[i] = c;
                    same_verdict(&doc);
                }
                // and with the byte removed
                let mut doc = base.to_vec();
                doc.remove(i);
                same_verdict(&doc);
            }
        }
        let rejected: &[&[u8]] = &[
            br#"{"alg":"RS256","alg":"none"}"#,
            br#"{"a":{"b":1,"b":2}}"#,
            br#"{"a":[{"b":1,"b":2}]}"#,
            br#"{"a\u0062":1,"ab":2}"#,
            br#"[1]"#,
            br#"{"a":1e400}"#,
            br#"{"a":1} x"#,
        ];
        for doc in rejected {
            assert!(
                parse_header(doc).is_err(),
                "{:?}",
                String::from_utf8_lossy(doc)
            );
            assert!(
                parse_claims(doc, Some("scope")).is_err(),
                "{:?}",
                String::from_utf8_lossy(doc)
            );
        }
    }

    /// Member names the parsers treat specially.
    const NAMES: &[&str] = &[
        "exp", "nbf", "iat", "iss", "sub", "jti", "aud", "scope", "alg", "kid", "crit",
    ];

    /// JSON text (not a `Value`: duplicate names must be expressible), with the
    /// registered names, escapes, edge-case numbers and nesting.
    fn json_text(depth: u32) -> proptest::prelude::BoxedStrategy<String> {
        use proptest::prelude::*;
        let name = prop_oneof![
            3 => proptest::sample::select(NAMES),
            1 => prop_oneof![Just("typ"), Just("cty"), Just("b64"), Just("enc"), Just("x"), Just("s\\u0075b")],
            1 => Just("e\\u0078p"),
        ]
        .prop_map(|n| format!("\"{n}\""));
        let scalar = prop_oneof![
            Just("null".to_owned()),
            Just("true".to_owned()),
            Just("0".to_owned()),
            Just("-1".to_owned()),
            Just("1700000000".to_owned()),
            Just("1.5e9".to_owned()),
            Just("1e400".to_owned()),
            Just("18446744073709551616".to_owned()),
            Just("-0.0".to_owned()),
            Just("\"a\"".to_owned()),
            Just("\"a\\nb\"".to_owned()),
            Just("\"\\ud800\"".to_owned()),
            Just("\"\\u00e9\"".to_owned()),
            Just("01".to_owned()),
        ];
        if depth == 0 {
            return scalar.boxed();
        }
        let inner = json_text(depth - 1);
        prop_oneof![
            3 => scalar,
            1 => prop::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(","))),
            2 => object(name, inner, 6),
        ]
        .boxed()
    }

    /// An object at the top, as tokens have.
    fn json_object(depth: u32) -> proptest::prelude::BoxedStrategy<String> {
        use proptest::prelude::*;
        let name = prop_oneof![
            4 => proptest::sample::select(NAMES).prop_map(str::to_owned),
            1 => Just("e\\u0078p".to_owned()),
            2 => "[a-z]{1,3}",
        ]
        .prop_map(|n| format!("\"{n}\""));
        object(name, json_text(depth), 10)
    }

    /// `{name:value,…}` with up to `max - 1` members, names possibly repeated.
    fn object(
        name: impl proptest::strategy::Strategy<Value = String> + 'static,
        value: proptest::prelude::BoxedStrategy<String>,
        max: usize,
    ) -> proptest::prelude::BoxedStrategy<String> {
        use proptest::prelude::*;
        prop::collection::vec((name, value), 0..max)
            .prop_map(|members| {
                let body: Vec<String> = members
                    .into_iter()
                    .map(|(k, v)| format!("{k}:{v}"))
                    .collect();
                format!("{{{}}}", body.join(","))
            })
            .boxed()
    }

    #[test]
    fn enough_random_objects_are_valid() {
        // The property below is worth something only if many documents parse
        // (the rest exercise the rejections: duplicates, 1e400, lone surrogates).
        use proptest::strategy::{Strategy, ValueTree};
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let valid = (0..500)
            .filter(|_| {
                let doc = json_object(2).new_tree(&mut runner).unwrap().current();
                parse_object(doc.as_bytes()).is_ok()
            })
            .count();
        assert!(
            valid >= 100,
            "only {valid} of 500 random objects are valid JSON"
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(2000))]

        /// Same verdict as the full parser on arbitrary objects, and, when valid,
        /// the same registered members and names.
        #[test]
        fn typed_parsers_agree_with_the_full_parser_on_random_json(
            doc in proptest::prop_oneof![1 => json_text(3), 4 => json_object(2)]
        ) {
            let bytes = doc.as_bytes();
            let whole = parse_object(bytes);
            proptest::prop_assert_eq!(parse_header(bytes).is_ok(), whole.is_ok(), "{}", doc);
            let claims = parse_claims(bytes, Some("scope"));
            proptest::prop_assert_eq!(claims.is_ok(), whole.is_ok(), "{}", doc);
            if let (Ok(map), Ok(c)) = (whole, claims) {
                for (name, member) in [("exp", &c.exp), ("nbf", &c.nbf), ("iat", &c.iat),
                    ("iss", &c.iss), ("sub", &c.sub), ("jti", &c.jti), ("aud", &c.aud)] {
                    let want = map.get(name).map_or(Member::Absent, Member::from_value);
                    proptest::prop_assert_eq!(member, &want, "{} in {}", name, doc);
                }
                proptest::prop_assert_eq!(c.scope.as_ref(), map.get("scope"));
                for name in map.keys() {
                    proptest::prop_assert!(c.contains(name), "{} in {}", name, doc);
                }
                proptest::prop_assert!(!c.contains("not-a-member"));
            }
        }
    }

    #[test]
    fn typed_claims_read_the_registered_members() {
        let doc = br#"{"iss":"https:\/\/id","sub":"alice","aud":["a","b"],"exp":1700000000.4,
            "nbf":-5,"iat":"yesterday","jti":7,"scope":"r w","extra":{"k":[true]}}"#;
        let c = parse_claims(doc, Some("scope")).unwrap();
        assert_eq!(c.iss, Member::Str(Cow::Owned("https://id".into())));
        assert!(matches!(c.sub, Member::Str(Cow::Borrowed("alice"))));
        assert_eq!(c.aud, Member::Strs(vec!["a".into(), "b".into()]));
        assert_eq!(c.exp, Member::Num(Some(1_700_000_000)));
        assert_eq!(c.nbf, Member::Num(None));
        assert_eq!(c.iat.describe(), "a string");
        assert_eq!(c.jti.describe(), "a number");
        assert_eq!(c.scope, Some(Value::String("r w".into())));
        assert!(c.contains("extra") && c.contains("iss") && !c.contains("k"));
        // A scope claim that is also a registered claim fills both.
        let c = parse_claims(br#"{"aud":["x"]}"#, Some("aud")).unwrap();
        assert_eq!(c.aud, Member::Strs(vec!["x".into()]));
        assert!(c.scope.is_some());
        let h =
            parse_header(br#"{"alg":1,"crit":["b64"],"enc":"A128GCM","jku":"https://x"}"#).unwrap();
        assert_eq!(h.alg, Member::Num(Some(1)));
        assert!(h.crit && h.enc && !h.b64);
        assert_eq!(h.kid, Member::Absent);
    }

    #[test]
    fn many_members_are_checked_for_duplicates_in_linear_time() {
        // Past the inline names, a hash set: still exact.
        let mut doc = String::from("{");
        for i in 0..5000 {
            doc.push_str(&format!("\"m{i}\":0,"));
        }
        let ok = format!("{}\"last\":1}}", doc);
        assert!(parse_claims(ok.as_bytes(), Some("scope")).is_ok());
        let dup = format!("{}\"m4999\":1}}", doc);
        assert!(parse_claims(dup.as_bytes(), Some("scope")).is_err());
        let dup_inline = format!("{}\"m3\":1}}", doc);
        assert!(parse_claims(dup_inline.as_bytes(), Some("scope")).is_err());
        assert!(parse_object(dup.as_bytes()).is_err());
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let depth = 200;
        let s = format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth));
        assert!(parse_object(s.as_bytes()).is_err());
        assert!(parse_claims(s.as_bytes(), Some("scope")).is_err());
        assert!(parse_header(s.as_bytes()).is_err());
    }
}
