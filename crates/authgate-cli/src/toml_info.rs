//! What the library's configuration model does not keep: where each key came from
//! (file path or environment variable NAME), read from the TOML text itself. Only
//! names and paths are read here; the library does all validation.

use std::path::Path;

use authgate::JwtKey;
use toml::{Table, Value};

/// Where one `[[bearer.jwt.keys]]` entry takes its key(s) from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KeySource {
    /// `public_key_pem_file`.
    Pem(String),
    /// `secret_env` (the variable's name) and whether `secret_encoding = "base64"`.
    Env { var: String, base64: bool },
    /// `jwk_file`.
    Jwk(String),
    /// Anything else (the loader rejects it).
    Unknown,
}

/// One `[[bearer.jwt.keys]]` entry of the file.
#[derive(Debug, Clone)]
pub(crate) struct KeyEntry {
    pub(crate) index: usize,
    pub(crate) kid: Option<String>,
    pub(crate) source: KeySource,
}

impl KeyEntry {
    /// `bearer.jwt.keys[i]`.
    pub(crate) fn key_path(&self) -> String {
        format!("bearer.jwt.keys[{}]", self.index)
    }
}

/// The `[[bearer.jwt.keys]]` entries of a configuration text, or none when it does
/// not parse (the loader then reports why).
pub(crate) fn key_entries(text: &str) -> Vec<KeyEntry> {
    let Ok(table) = text.parse::<Table>() else {
        return Vec::new();
    };
    let Some(keys) = table
        .get("bearer")
        .and_then(|b| b.get("jwt"))
        .and_then(|j| j.get("keys"))
        .and_then(Value::as_array)
    else {
        return Vec::new();
    };
    keys.iter()
        .enumerate()
        .map(|(index, entry)| {
            let s = |k: &str| entry.get(k).and_then(Value::as_str).map(str::to_owned);
            let source = match (s("public_key_pem_file"), s("secret_env"), s("jwk_file")) {
                (Some(p), None, None) => KeySource::Pem(p),
                (None, Some(var), None) => KeySource::Env {
                    var,
                    base64: s("secret_encoding").as_deref() == Some("base64"),
                },
                (None, None, Some(j)) => KeySource::Jwk(j),
                _ => KeySource::Unknown,
            };
            KeyEntry {
                index,
                kid: s("kid"),
                source,
            }
        })
        .collect()
}

/// For each key the loader builds from the entries (a JWK Set expands to one key
/// per JWK), its entry and a description of its source. `None` when the count
/// cannot be told.
pub(crate) fn key_origins(entries: &[KeyEntry], base_dir: &Path) -> Option<Vec<(usize, String)>> {
    let mut out = Vec::new();
    for e in entries {
        match &e.source {
            KeySource::Pem(p) => out.push((e.index, format!("public_key_pem_file {p:?}"))),
            KeySource::Env { var, .. } => {
                // Only a variable that exists is named: an unset name may be a
                // secret pasted where the name belongs.
                let what = match std::env::var_os(var) {
                    Some(v) if !v.is_empty() => format!("secret_env {var} (set)"),
                    Some(_) => format!("{}.secret_env (set but EMPTY)", e.key_path()),
                    None => format!("{}.secret_env (NOT SET)", e.key_path()),
                };
                out.push((e.index, what));
            }
            KeySource::Jwk(file) => {
                let n = if e.kid.is_some() {
                    1
                } else {
                    let text = std::fs::read_to_string(base_dir.join(file)).ok()?;
                    JwtKey::from_jwk_json(&text).ok()?.len()
                };
                for j in 0..n {
                    let what = if n == 1 {
                        format!("jwk_file {file:?}")
                    } else {
                        format!("jwk_file {file:?} (key {} of {n})", j + 1)
                    };
                    out.push((e.index, what));
                }
            }
            KeySource::Unknown => return None,
        }
    }
    Some(out)
}

/// The configuration text with its remote key set removed (`jwks_url`,
/// `oidc_issuer` and their settings), for verifying against static keys only
/// without touching the network. An `oidc_issuer` stays the expected issuer, as
/// the loader makes it. `None` when the text does not parse.
pub(crate) fn without_remote_keys(text: &str) -> Option<String> {
    let mut table = text.parse::<Table>().ok()?;
    let jwt = table
        .get_mut("bearer")
        .and_then(Value::as_table_mut)
        .and_then(|b| b.get_mut("jwt"))
        .and_then(Value::as_table_mut)?;
    let issuer = jwt.remove("oidc_issuer");
    for key in [
        "jwks_url",
        "allow_insecure_http",
        "jwks_refresh_secs",
        "jwks_refetch_cooldown_secs",
        "jwks_stale_secs",
        "jwks_timeout_secs",
    ] {
        jwt.remove(key);
    }
    if let Some(issuer) = issuer
        && !jwt.contains_key("issuer")
    {
        jwt.insert("issuer".to_owned(), issuer);
    }
    toml::to_string(&table).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"
[bearer.jwt]
algorithms = ["RS256", "HS256"]
oidc_issuer = "https://id.example.com/"
jwks_timeout_secs = 3
[[bearer.jwt.keys]]
kid = "r"
public_key_pem_file = "rsa.pub.pem"
[[bearer.jwt.keys]]
kid = "h"
secret_env = "SOME_VAR"
secret_encoding = "base64"
"#;

    #[test]
    fn entries_and_sources() {
        let e = key_entries(TEXT);
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].source, KeySource::Pem("rsa.pub.pem".into()));
        assert_eq!(
            e[1].source,
            KeySource::Env {
                var: "SOME_VAR".into(),
                base64: true
            }
        );
        assert_eq!(e[1].key_path(), "bearer.jwt.keys[1]");
    }

    #[test]
    fn remote_keys_are_removed_and_issuer_kept() {
        let text = without_remote_keys(TEXT).unwrap();
        let t: Table = text.parse().unwrap();
        let jwt = t["bearer"]["jwt"].as_table().unwrap();
        assert!(!jwt.contains_key("oidc_issuer") && !jwt.contains_key("jwks_timeout_secs"));
        assert_eq!(jwt["issuer"].as_str(), Some("https://id.example.com/"));
        assert_eq!(jwt["keys"].as_array().unwrap().len(), 2);
    }
}
