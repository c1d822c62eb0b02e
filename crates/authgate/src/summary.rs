//! A secret-free description of a validated configuration: what is enabled, which
//! algorithms, keys (by `kid` and type), issuers, audiences, users and API key ids,
//! and the warnings worth reading before a deploy. Used by `authgate check-config`;
//! a server may log it at start-up.
//!
//! Nothing here holds key material, an HMAC secret, a password hash or an API key
//! digest: only names, counts, types and settings.

use std::fmt;
use std::path::PathBuf;

use crate::config::{AuthConfig, CorsPreflight};
use crate::verify::keys::{Algorithm, Curve, KeyType};

/// What an [`AuthConfig`] enables, without any secret. Made by [`AuthConfig::summary`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConfigSummary {
    /// The realm every challenge names.
    pub realm: String,
    /// The leeway for `exp`, `nbf` and `iat`, in seconds.
    pub leeway_secs: u64,
    /// Bearer tokens longer than this are rejected unparsed.
    pub max_token_bytes: usize,
    /// How CORS preflights are treated.
    pub cors_preflight: CorsPreflight,
    /// Whether error responses carry a problem+json body.
    pub problem_body: bool,
    /// Bearer JWT verification, when enabled.
    pub jwt: Option<JwtSummary>,
    /// The configured API keys (ids and scopes only).
    pub api_keys: Vec<ApiKeySummary>,
    /// Basic authentication, when enabled.
    pub basic: Option<BasicSummary>,
    /// Whether a revocation check is set in code.
    pub revocation_check: bool,
}

/// Bearer JWT settings of a [`ConfigSummary`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct JwtSummary {
    /// The algorithm allow-list, in configuration order.
    pub algorithms: Vec<Algorithm>,
    /// The static keys, in configuration order (a JWK Set counts one entry per key).
    pub keys: Vec<KeySummary>,
    /// The remote key set, when one is configured.
    pub remote: Option<RemoteKeysSummary>,
    /// Expected issuers (`iss`); empty when any issuer is accepted.
    pub issuers: Vec<String>,
    /// Expected audiences (`aud`); empty when none is configured.
    pub audiences: Vec<String>,
    /// Claims every token must carry.
    pub required_claims: Vec<String>,
    /// The claim (or dotted path) holding scopes.
    pub scope_claim: String,
}

/// One static verification key: its id and type, never its material.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeySummary {
    /// The key id tokens name in their `kid` header.
    pub kid: Option<String>,
    /// The type of key.
    pub key_type: KeyType,
    /// For EC keys, the curve (`P-256`, `P-384`) when known.
    pub curve: Option<&'static str>,
    /// The one algorithm a JWK's `alg` restricts the key to.
    pub restricted_to: Option<Algorithm>,
    /// The allowed algorithms this key can verify, in allow-list order.
    pub algorithms: Vec<Algorithm>,
}

/// The remote key source of a [`JwtSummary`]. URLs have any user-info and query
/// string replaced by `[redacted]`, since those sometimes carry credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RemoteKeysSummary {
    /// `jwks_url`, when set.
    pub jwks_url: Option<String>,
    /// `oidc_issuer`, when set (keys through OpenID Connect discovery).
    pub oidc_issuer: Option<String>,
    /// `allow_insecure_http`.
    pub allow_insecure_http: bool,
    /// `jwks_refresh_secs`.
    pub refresh_secs: u64,
    /// `jwks_refetch_cooldown_secs`.
    pub refetch_cooldown_secs: u64,
    /// `jwks_stale_secs`.
    pub stale_secs: u64,
    /// `jwks_timeout_secs`.
    pub timeout_secs: u64,
}

/// One API key of a [`ConfigSummary`]: its id and scopes, never the digest.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApiKeySummary {
    /// The key's id (logged as `auth.key_id`).
    pub id: String,
    /// The scopes the key grants.
    pub scopes: Vec<String>,
}

/// Basic settings of a [`ConfigSummary`]: how many users, never their hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BasicSummary {
    /// Users configured inline and read from htpasswd files (as last read).
    pub users: usize,
    /// The htpasswd files users come from.
    pub htpasswd_files: Vec<PathBuf>,
    /// The kinds of password hash the users have (algorithm and work parameters),
    /// in configuration order. More than one means every failed Basic check pays
    /// one verification of each kind, so that the answer time does not tell which
    /// user-ids exist.
    pub hash_kinds: Vec<HashKindSummary>,
    /// `basic.max_pending`: password checks that may wait for a hashing thread.
    pub max_pending: usize,
}

/// One kind of password hash of a [`BasicSummary`]: an algorithm with its work
/// parameters, and the users whose hash is of that kind. Never a hash or a salt.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct HashKindSummary {
    /// `bcrypt`, `argon2id` or `SHA-512-crypt`.
    pub algorithm: &'static str,
    /// The work parameters, e.g. `cost 10`, `m=19456 KiB, t=2, p=1`, `rounds=5000`.
    pub parameters: String,
    /// The user-ids with a hash of this kind, in configuration order.
    pub users: Vec<String>,
}

impl fmt::Display for HashKindSummary {
    /// `bcrypt cost 10`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.algorithm, self.parameters)
    }
}

impl AuthConfig {
    /// A secret-free description of this configuration (see [`ConfigSummary`]):
    /// schemes, algorithms, keys by `kid` and type, issuers, audiences, API key
    /// ids, the number of Basic users, the remote key source.
    pub fn summary(&self) -> ConfigSummary {
        let jwt = self.jwt.as_ref().map(|jwt| JwtSummary {
            algorithms: jwt.algorithms.clone(),
            keys: jwt
                .keys
                .iter()
                .map(|k| KeySummary {
                    kid: k.kid.clone(),
                    key_type: k.key_type,
                    curve: k.curve.map(|c| match c {
                        Curve::P256 => "P-256",
                        Curve::P384 => "P-384",
                    }),
                    restricted_to: k.alg,
                    algorithms: jwt
                        .algorithms
                        .iter()
                        .copied()
                        .filter(|a| k.fits(*a))
                        .collect(),
                })
                .collect(),
            remote: jwt.has_remote().then(|| RemoteKeysSummary {
                jwks_url: jwt.remote.jwks_url.as_deref().map(redact_url),
                oidc_issuer: jwt.remote.oidc_issuer.as_deref().map(redact_url),
                allow_insecure_http: jwt.remote.allow_insecure_http,
                refresh_secs: jwt.remote.refresh_secs,
                refetch_cooldown_secs: jwt.remote.refetch_cooldown_secs,
                stale_secs: jwt.remote.stale_secs,
                timeout_secs: jwt.remote.timeout_secs,
            }),
            issuers: jwt.issuers.clone(),
            audiences: jwt.audiences.clone(),
            required_claims: jwt.required_claims.clone(),
            scope_claim: jwt.scope_claim.clone(),
        });
        ConfigSummary {
            realm: self.realm.clone(),
            leeway_secs: self.leeway_secs,
            max_token_bytes: self.max_token_bytes,
            cors_preflight: self.cors_preflight,
            problem_body: self.problem_body,
            jwt,
            api_keys: self
                .api_keys
                .iter()
                .map(|k| ApiKeySummary {
                    id: k.id.clone(),
                    scopes: k.scopes.clone(),
                })
                .collect(),
            basic: self.basic.as_ref().map(|b| BasicSummary {
                users: b.user_count(),
                htpasswd_files: b.htpasswd_paths(),
                hash_kinds: b.hash_kinds(),
                max_pending: b.pending_limit(),
            }),
            revocation_check: self.revocation.is_some(),
        }
    }
}

impl ConfigSummary {
    /// The enabled schemes: `bearer (JWT)`, `bearer (API keys)`, `basic`.
    pub fn schemes(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.jwt.is_some() {
            out.push("bearer (JWT)");
        }
        if !self.api_keys.is_empty() {
            out.push("bearer (API keys)");
        }
        if self.basic.is_some() {
            out.push("basic");
        }
        out
    }

    /// Settings that are valid but probably not what was meant, each a sentence
    /// naming the configuration key and what to do: no audience or issuer
    /// configured, `exp` not required, an allowed algorithm no key fits, plain-HTTP
    /// key sets, a large leeway, Basic without users.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(jwt) = &self.jwt {
            if jwt.audiences.is_empty() {
                out.push(
                    "no audience configured (bearer.jwt.audience): tokens that carry `aud` are rejected as audience_mismatch, and tokens without `aud` are accepted whichever service they were issued for; set audience to this service's identifier".to_owned(),
                );
            }
            if jwt.issuers.is_empty() {
                out.push(
                    "no issuer configured (bearer.jwt.issuer): any `iss` is accepted from a token signed by a configured key; set issuer to the expected `iss`".to_owned(),
                );
            }
            if !jwt.required_claims.iter().any(|c| c == "exp") {
                out.push(
                    "`exp` is not in bearer.jwt.required_claims: tokens without an expiry never expire; add \"exp\"".to_owned(),
                );
            }
            if jwt.remote.is_none() {
                for alg in &jwt.algorithms {
                    if !jwt.keys.iter().any(|k| k.algorithms.contains(alg)) {
                        out.push(format!(
                            "{alg} is in bearer.jwt.algorithms but no configured key fits it ({} needed); remove it or add a key",
                            alg.key_type().describe()
                        ));
                    }
                }
            }
            if jwt.remote.as_ref().is_some_and(|r| r.allow_insecure_http) {
                out.push(
                    "bearer.jwt.allow_insecure_http = true: keys may be fetched over plain HTTP, where anyone on the path can substitute them; use it for local development only".to_owned(),
                );
            }
        }
        if self.leeway_secs > 300 {
            out.push(format!(
                "leeway_secs = {}: expired tokens are accepted for up to {} s after `exp`; 30 to 60 s is usual",
                self.leeway_secs, self.leeway_secs
            ));
        }
        if self.basic.as_ref().is_some_and(|b| b.users == 0) {
            out.push(
                "[basic] is on but has no users (the htpasswd file is empty): every Basic request will be rejected".to_owned(),
            );
        }
        if let Some(b) = self.basic.as_ref().filter(|b| b.hash_kinds.len() > 1) {
            out.push(mixed_hash_costs(&b.hash_kinds));
        }
        out
    }
}

impl fmt::Display for CorsPreflight {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CorsPreflight::Allow => "allow",
            CorsPreflight::Authenticate => "authenticate",
        })
    }
}

/// The warning for a Basic store whose hashes differ in algorithm or cost.
fn mixed_hash_costs(kinds: &[HashKindSummary]) -> String {
    /// User-ids named per kind; the rest are counted.
    const NAMED: usize = 3;
    let described: Vec<String> = kinds
        .iter()
        .map(|k| {
            let mut users = k.users[..k.users.len().min(NAMED)].join(", ");
            if k.users.len() > NAMED {
                users.push_str(&format!(" and {} more", k.users.len() - NAMED));
            }
            format!("{k} ({users})")
        })
        .collect();
    format!(
        "[basic] password hashes differ in cost: {}. So that answer times do not tell which user-ids exist, every failed Basic check (wrong password or unknown user-id) runs one verification of each of these {} kinds, so every failure is held to at least the most expensive cost (it pays the sum of all {}). Give every user a hash of one algorithm and cost (e.g. `htpasswd -B -C 12` when each password is next set)",
        described.join("; "),
        kinds.len(),
        kinds.len()
    )
}

/// `scheme://[redacted]@host/path?[redacted]`: user-info and query removed.
pub(crate) fn redact_url(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((s, r)) => (Some(s), r),
        None => (None, url),
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((_, host)) => format!("[redacted]@{host}"),
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, _)) => format!("{path}?[redacted]"),
        None => tail.to_owned(),
    };
    match scheme {
        Some(s) => format!("{s}://{authority}{tail}"),
        None => format!("{authority}{tail}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ApiKey, JwtConfig, JwtKey};

    #[test]
    fn urls_lose_userinfo_and_query() {
        assert_eq!(
            redact_url("https://u:p@id.example.com/jwks?key=s3cret"),
            "https://[redacted]@id.example.com/jwks?[redacted]"
        );
        assert_eq!(
            redact_url("https://id.example.com/.well-known/jwks.json"),
            "https://id.example.com/.well-known/jwks.json"
        );
    }

    #[test]
    fn summary_names_keys_and_warns_without_secrets() {
        let cfg = AuthConfig::builder()
            .jwt(
                JwtConfig::new([Algorithm::HS256, Algorithm::RS256])
                    .key(JwtKey::hmac(b"summary-secret-0123456789abcdef-xyz").with_kid("h1")),
            )
            .api_key(ApiKey::from_key("ci", "ag_api-key-value").scopes(["read"]))
            .build()
            .unwrap();
        let s = cfg.summary();
        assert_eq!(s.schemes(), ["bearer (JWT)", "bearer (API keys)"]);
        let jwt = s.jwt.as_ref().unwrap();
        assert_eq!(jwt.keys[0].kid.as_deref(), Some("h1"));
        assert_eq!(jwt.keys[0].key_type, KeyType::Hmac);
        assert_eq!(jwt.keys[0].algorithms, [Algorithm::HS256]);
        assert_eq!(s.api_keys[0].id, "ci");
        let warnings = s.warnings().join("\n");
        assert!(warnings.contains("no audience configured"), "{warnings}");
        assert!(
            warnings.contains("RS256 is in bearer.jwt.algorithms"),
            "{warnings}"
        );
        let all = format!("{s:?}\n{warnings}");
        assert!(!all.contains("summary-secret") && !all.contains("api-key-value"));
    }
}
