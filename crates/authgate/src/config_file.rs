//! Loading [`AuthConfig`] from TOML, behind the `toml` feature.
//!
//! The file is deserialized into private serde structs that mirror the file
//! format key for key (`deny_unknown_fields` on every table, so a typo is an
//! error naming the key), then turned into builder calls, so every check of
//! [`AuthConfigBuilder::build`](crate::AuthConfigBuilder::build) applies.
//!
//! Secrets are never inline: an HMAC secret comes from the environment variable
//! that `secret_env` names, public keys from files. No struct here holds a
//! secret; none derives `Debug`.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use toml::de::{DeTable, DeValue};

use crate::config::{AuthConfig, ConfigError, ConfigErrorKind, CorsPreflight, JwtConfig};
use crate::event::sanitize_for_message;
use crate::verify::api_key::ApiKey;
use crate::verify::basic::BasicConfig;
use crate::verify::keys::{ALL_ALGORITHMS, Algorithm, JwtKey};

impl AuthConfig {
    /// Loads the configuration from a TOML file (every key is listed in the
    /// repository's `docs/reference.md`). Relative paths in the file
    /// (`public_key_pem_file`, `jwk_file`, `htpasswd_file`) are resolved against
    /// the file's directory; `secret_env` is read from the process
    /// environment.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the key at fault (e.g. `bearer.jwt.algorithms`)
    /// and the fix: the file cannot be read, is not valid TOML, has an unknown key
    /// or a value of the wrong type, names a key file that cannot be read or an
    /// environment variable that is unset, or fails any check of
    /// [`AuthConfigBuilder::build`](crate::AuthConfigBuilder::build). No error
    /// ever contains a secret's value.
    ///
    /// ```
    /// use authgate::{AuthConfig, AuthLayer};
    /// use http::{Request, Response, StatusCode, header};
    /// use tower::{Layer, Service, ServiceExt};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let ok = || tower::service_fn(|_req: Request<()>| async {
    /// #     Ok::<_, std::convert::Infallible>(Response::new(http_body_util::Empty::<bytes::Bytes>::new()))
    /// # });
    /// let dir = std::env::temp_dir().join(format!("authgate-doc-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// let path = dir.join("authgate.toml");
    /// std::fs::write(&path, r#"
    /// realm = "orders"
    /// [[bearer.api_keys]]
    /// id = "ci-bot"
    /// sha256 = "54705c8b0c921341fc0be57454631ebb696c8f069c010cca5563d56e4da7834e"
    /// "#)?;
    /// let cfg = AuthConfig::from_toml_file(&path)?;
    /// let mut svc = AuthLayer::new(cfg).layer(ok());
    /// let res = svc.ready().await?.call(Request::new(())).await?;
    /// assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    /// assert_eq!(res.headers()[header::WWW_AUTHENTICATE], r#"Bearer realm="orders""#);
    ///
    /// // A typo names the key and the line.
    /// std::fs::write(&path, "realm = \"orders\"\nleway_secs = 5\n")?;
    /// let err = AuthConfig::from_toml_file(&path).unwrap_err();
    /// assert_eq!(err.key(), "leway_secs");
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok(())
    /// # }
    /// ```
    #[cfg_attr(docsrs, doc(cfg(feature = "toml")))]
    pub fn from_toml_file(path: impl AsRef<Path>) -> Result<AuthConfig, ConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigError::new(
                path.display().to_string(),
                format!(
                    "cannot read the configuration file ({}); check the path",
                    e.kind()
                ),
            )
            .with_kind(ConfigErrorKind::Io)
        })?;
        let base_dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        Self::from_toml_str(&text, base_dir)
    }

    /// Parses the configuration from TOML text. Relative paths resolve
    /// against `base_dir` (normally the directory of the file the text came
    /// from); `secret_env` is read from the process environment.
    ///
    /// # Errors
    ///
    /// As [`AuthConfig::from_toml_file`].
    #[cfg_attr(docsrs, doc(cfg(feature = "toml")))]
    pub fn from_toml_str(text: &str, base_dir: &Path) -> Result<AuthConfig, ConfigError> {
        Self::from_toml_str_with_env(text, base_dir, &|name| std::env::var(name).ok())
    }

    /// As [`AuthConfig::from_toml_str`], with the environment given as a lookup
    /// function: `env(name)` returns the value of variable `name`, or `None` when
    /// it is unset. Useful for tests and for secrets that come from elsewhere
    /// (a secret manager) under environment-variable names.
    ///
    /// # Errors
    ///
    /// As [`AuthConfig::from_toml_file`].
    #[cfg_attr(docsrs, doc(cfg(feature = "toml")))]
    pub fn from_toml_str_with_env(
        text: &str,
        base_dir: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<AuthConfig, ConfigError> {
        let file = parse(text)?;
        Loader { base_dir, env }.load(file)
    }
}

// ---------------------------------------------------------------------------
// The schema: the file format, key for key.
// ---------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    realm: Option<String>,
    leeway_secs: Option<u64>,
    cors_preflight: Option<PreflightMode>,
    problem_body: Option<bool>,
    max_token_bytes: Option<usize>,
    bearer: Option<BearerSection>,
    basic: Option<BasicSection>,
    resource: Option<ResourceSection>,
    limits: Option<LimitsSection>,
    state: Option<StateSection>,
}

/// `[resource]`: the protected resource (RFC 9728).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResourceSection {
    id: String,
    authorization_servers: Vec<String>,
    #[serde(default)]
    scopes_supported: Vec<String>,
    name: Option<String>,
    documentation: Option<String>,
    jwks_uri: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitsSection {
    max_failures: Option<u32>,
    window_secs: Option<u64>,
    by: Option<Vec<LimitBy>>,
    #[serde(default)]
    trusted_proxies: Vec<String>,
    capacity: Option<usize>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum LimitBy {
    User,
    ClientIp,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StateSection {
    redis_url: String,
    key_prefix: Option<String>,
    on_unavailable: Option<UnavailableMode>,
    resync_secs: Option<u64>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum UnavailableMode {
    Open,
    Closed,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum PreflightMode {
    Allow,
    Authenticate,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BearerSection {
    jwt: Option<JwtSection>,
    #[serde(default)]
    api_keys: Vec<ApiKeyEntry>,
    introspection: Option<IntrospectionSection>,
}

/// `[bearer.introspection]` (RFC 7662); the secret comes from `client_secret_env`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IntrospectionSection {
    url: String,
    client_id: String,
    client_secret_env: String,
    cache_secs: Option<u64>,
    timeout_secs: Option<u64>,
    allow_insecure_http: Option<bool>,
    issuer: Option<StringOrList>,
    audience: Option<StringOrList>,
    ca_file: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JwtSection {
    algorithms: Vec<String>,
    issuer: Option<StringOrList>,
    audience: Option<StringOrList>,
    required_claims: Option<Vec<String>>,
    scope_claim: Option<String>,
    jwks_url: Option<String>,
    oidc_issuer: Option<String>,
    // Remote key settings (feature `jwks`), handed to the builder below.
    #[allow(dead_code)]
    allow_insecure_http: Option<bool>,
    #[allow(dead_code)]
    jwks_refresh_secs: Option<u64>,
    #[allow(dead_code)]
    jwks_refetch_cooldown_secs: Option<u64>,
    #[allow(dead_code)]
    jwks_stale_secs: Option<u64>,
    #[allow(dead_code)]
    jwks_timeout_secs: Option<u64>,
    jwks_ca_file: Option<String>,
    #[serde(default)]
    keys: Vec<KeyEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyEntry {
    kid: Option<String>,
    public_key_pem_file: Option<String>,
    /// The NAME of the environment variable holding the secret, never the secret.
    secret_env: Option<String>,
    secret_encoding: Option<SecretEncoding>,
    jwk_file: Option<String>,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum SecretEncoding {
    Raw,
    Base64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ApiKeyEntry {
    id: String,
    /// The SHA-256 digest of the key (not a secret: the key cannot be recovered).
    sha256: String,
    #[serde(default)]
    scopes: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BasicSection {
    htpasswd_file: Option<String>,
    /// Signed, so that a negative value gets the same message as 0.
    max_pending: Option<i64>,
    #[serde(default)]
    users: Vec<UserEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserEntry {
    name: String,
    password_hash: String,
    #[serde(default)]
    scopes: Vec<String>,
}

/// `issuer` / `audience`: one string or a list of strings.
struct StringOrList(Vec<String>);

impl<'de> Deserialize<'de> for StringOrList {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = StringOrList;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or a list of strings")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<StringOrList, E> {
                Ok(StringOrList(vec![v.to_owned()]))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<StringOrList, A::Error> {
                let mut out = Vec::new();
                while let Some(s) = seq.next_element::<String>()? {
                    out.push(s);
                }
                Ok(StringOrList(out))
            }
        }
        deserializer.deserialize_any(V)
    }
}

// ---------------------------------------------------------------------------
// Parsing, with errors that name the dotted key.
// ---------------------------------------------------------------------------

fn parse(text: &str) -> Result<FileConfig, ConfigError> {
    let table = DeTable::parse(text).map_err(|e| {
        // A syntax error has no key yet: name its place instead.
        let key = match e.span() {
            Some(span) => {
                let (line, col) = line_col(text, span.start);
                format!("line {line}, column {col}")
            }
            None => "(document)".to_owned(),
        };
        ConfigError::new(
            key,
            format!("not valid TOML: {}", clean_message(e.message())),
        )
        .with_kind(ConfigErrorKind::Syntax)
    })?;
    FileConfig::deserialize(toml::de::Deserializer::from(table)).map_err(|e| {
        // The document parsed a moment ago: parse it again to map the error's
        // span to a key (cheaper than keeping a copy on the success path).
        match DeTable::parse(text) {
            Ok(doc) => schema_error(text, doc.get_ref(), &e),
            Err(_) => schema_error(text, &DeTable::new(), &e),
        }
        .with_kind(ConfigErrorKind::Syntax)
    })
}

/// A serde error as a [`ConfigError`] keyed by the dotted path of the offending
/// key, e.g. `bearer.jwt.keys[1].secrt_env`.
fn schema_error(text: &str, doc: &DeTable<'_>, e: &toml::de::Error) -> ConfigError {
    let message = clean_message(e.message());
    let Some(span) = e.span() else {
        return ConfigError::new("(document)", message);
    };
    let mut path = Vec::new();
    let mut best = None;
    find_path(doc, &span, &mut path, &mut best);
    let mut key = best.map(|(_, p)| p).unwrap_or_default();
    let (line, _) = line_col(text, span.start);
    // serde: "missing field `x`" is reported on the table that lacks it.
    if let Some(field) = message
        .strip_prefix("missing field `")
        .and_then(|m| m.strip_suffix('`'))
    {
        if !key.is_empty() {
            key.push('.');
        }
        key.push_str(field);
        let hint = if field == "algorithms" {
            " (an explicit allow-list, e.g. algorithms = [\"RS256\"]; RFC 8725 §3.1)"
        } else {
            ""
        };
        return ConfigError::new(
            key,
            format!("required key is missing from the table at line {line}; add it{hint}"),
        );
    }
    if key.is_empty() {
        key = "(document)".to_owned();
    }
    let fix = if message.starts_with("unknown field") {
        "; fix the spelling or remove the key"
    } else {
        ""
    };
    ConfigError::new(key, format!("{message}{fix} (line {line})"))
}

enum Segment {
    Key(String),
    Index(usize),
}

fn render(path: &[Segment]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Segment::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Segment::Index(i) => {
                out.push('[');
                out.push_str(&i.to_string());
                out.push(']');
            }
        }
    }
    out
}

fn contains(outer: &Range<usize>, inner: &Range<usize>) -> bool {
    outer.start <= inner.start && inner.end <= outer.end
}

/// Finds the node (key or value) with the smallest span containing `span`; on a
/// tie the deeper one wins. Spans of `[header]` tables cover only the header,
/// so the whole tree is searched rather than descended by containment.
fn find_path(
    table: &DeTable<'_>,
    span: &Range<usize>,
    path: &mut Vec<Segment>,
    best: &mut Option<(usize, String)>,
) {
    for (k, v) in table.iter() {
        path.push(Segment::Key(k.get_ref().to_string()));
        for candidate in [k.span(), v.span()] {
            consider(&candidate, span, path, best);
        }
        find_in_value(v.get_ref(), span, path, best);
        path.pop();
    }
}

fn find_in_value(
    value: &DeValue<'_>,
    span: &Range<usize>,
    path: &mut Vec<Segment>,
    best: &mut Option<(usize, String)>,
) {
    match value {
        DeValue::Table(t) => find_path(t, span, path, best),
        DeValue::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(Segment::Index(i));
                consider(&item.span(), span, path, best);
                find_in_value(item.get_ref(), span, path, best);
                path.pop();
            }
        }
        _ => {}
    }
}

fn consider(
    candidate: &Range<usize>,
    span: &Range<usize>,
    path: &[Segment],
    best: &mut Option<(usize, String)>,
) {
    if !contains(candidate, span) {
        return;
    }
    let len = candidate.end - candidate.start;
    // `<=`: a later (deeper) node with an equal span wins.
    if best.as_ref().is_none_or(|(l, _)| len <= *l) {
        *best = Some((len, render(path)));
    }
}

/// 1-based line and column (in characters) of byte offset `at`.
fn line_col(text: &str, at: usize) -> (usize, usize) {
    let at = at.min(text.len());
    let before = text.get(..at).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// serde's messages quote string values (`invalid type: string "…"`); a value in
/// the wrong place may be a secret pasted inline, so quoted string values are
/// dropped. Control characters are escaped so a message is one line.
fn clean_message(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(at) = rest.find("string \"") {
        out.push_str(&rest[..at + "string".len()]);
        let quoted = &rest[at + "string ".len() + 1..];
        let mut end = quoted.len();
        let mut escaped = false;
        for (i, c) in quoted.char_indices() {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                end = i + 1;
                break;
            }
        }
        rest = &quoted[end..];
    }
    out.push_str(rest);
    out.chars()
        .flat_map(|c| {
            let esc: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            esc
        })
        .collect()
}

// ---------------------------------------------------------------------------
// From the schema to the builder.
// ---------------------------------------------------------------------------

struct Loader<'a> {
    base_dir: &'a Path,
    env: &'a dyn Fn(&str) -> Option<String>,
}

/// Where a [`JwtKey`] handed to the builder came from, to re-key its errors.
struct KeyOrigin {
    entry: usize,
    source: String,
}

impl Loader<'_> {
    fn load(&self, file: FileConfig) -> Result<AuthConfig, ConfigError> {
        let mut builder = AuthConfig::builder();
        if let Some(realm) = file.realm {
            builder = builder.realm(realm);
        }
        if let Some(secs) = file.leeway_secs {
            builder = builder.leeway_secs(secs);
        }
        if let Some(mode) = file.cors_preflight {
            builder = builder.cors_preflight(match mode {
                PreflightMode::Allow => CorsPreflight::Allow,
                PreflightMode::Authenticate => CorsPreflight::Authenticate,
            });
        }
        if let Some(on) = file.problem_body {
            builder = builder.problem_body(on);
        }
        if let Some(bytes) = file.max_token_bytes {
            builder = builder.max_token_bytes(bytes);
        }
        let mut origins = Vec::new();
        if let Some(bearer) = file.bearer {
            if let Some(jwt) = bearer.jwt {
                let (cfg, o) = self.jwt(jwt)?;
                origins = o;
                builder = builder.jwt(cfg);
            }
            for (i, entry) in bearer.api_keys.into_iter().enumerate() {
                builder = builder.api_key(api_key(i, entry)?);
            }
            if let Some(section) = bearer.introspection {
                builder = builder.introspection(self.introspection(section)?);
            }
        }
        if let Some(basic) = file.basic {
            builder = builder.basic(self.basic(basic)?);
        }
        if let Some(r) = file.resource {
            let mut resource = crate::metadata::ProtectedResource::new(r.id)
                .authorization_servers(r.authorization_servers)
                .scopes_supported(r.scopes_supported);
            if let Some(name) = r.name {
                resource = resource.name(name);
            }
            if let Some(url) = r.documentation {
                resource = resource.documentation(url);
            }
            if let Some(url) = r.jwks_uri {
                resource = resource.jwks_uri(url);
            }
            builder = builder.resource(resource);
        }
        if let Some(limits) = file.limits {
            builder = builder.limits(limits_config(limits)?);
        }
        if let Some(state) = file.state {
            builder = builder.state(state_config(state));
        }
        builder
            .build()
            .map_err(|e| rekey_builder_error(e, &origins))
    }

    fn resolve(&self, path: &str) -> PathBuf {
        self.base_dir.join(path)
    }

    fn jwt(&self, jwt: JwtSection) -> Result<(JwtConfig, Vec<KeyOrigin>), ConfigError> {
        let mut algorithms = Vec::with_capacity(jwt.algorithms.len());
        for name in &jwt.algorithms {
            let alg: Algorithm = name.parse().map_err(|_| {
                let valid: Vec<&str> = ALL_ALGORITHMS.iter().map(|a| a.as_str()).collect();
                ConfigError::new(
                    "bearer.jwt.algorithms",
                    format!(
                        "unknown algorithm \"{}\"; expected one of {} (names are case-sensitive; \"none\" is never accepted)",
                        sanitize_for_message(name),
                        valid.join(", ")
                    ),
                )
            })?;
            if !algorithms.contains(&alg) {
                algorithms.push(alg);
            }
        }
        let mut cfg = JwtConfig::new(algorithms);
        for issuer in jwt.issuer.map(|s| s.0).unwrap_or_default() {
            cfg = cfg.issuer(issuer);
        }
        for audience in jwt.audience.map(|s| s.0).unwrap_or_default() {
            cfg = cfg.audience(audience);
        }
        if let Some(claims) = jwt.required_claims {
            cfg = cfg.required_claims(claims);
        }
        if let Some(claim) = jwt.scope_claim {
            cfg = cfg.scope_claim(claim);
        }
        // Remote keys (feature `jwks`; the builder says so when it is off).
        if let Some(url) = jwt.jwks_url {
            cfg = cfg.jwks_url(url);
        }
        if let Some(issuer) = jwt.oidc_issuer {
            cfg = cfg.oidc_issuer(issuer);
        }
        if let Some(allow) = jwt.allow_insecure_http {
            cfg = cfg.allow_insecure_http(allow);
        }
        if let Some(secs) = jwt.jwks_refresh_secs {
            cfg = cfg.jwks_refresh_secs(secs);
        }
        if let Some(secs) = jwt.jwks_refetch_cooldown_secs {
            cfg = cfg.jwks_refetch_cooldown_secs(secs);
        }
        if let Some(secs) = jwt.jwks_stale_secs {
            cfg = cfg.jwks_stale_secs(secs);
        }
        if let Some(secs) = jwt.jwks_timeout_secs {
            cfg = cfg.jwks_timeout_secs(secs);
        }
        if let Some(file) = jwt.jwks_ca_file {
            cfg = cfg.jwks_ca_file(self.resolve(&file));
        }
        let mut origins = Vec::new();
        for (i, entry) in jwt.keys.into_iter().enumerate() {
            for (key, source) in self.jwt_keys(i, entry)? {
                origins.push(KeyOrigin { entry: i, source });
                cfg = cfg.key(key);
            }
        }
        Ok((cfg, origins))
    }

    /// The keys of one `[[bearer.jwt.keys]]` entry, each with a description of
    /// its source for error messages.
    fn jwt_keys(&self, i: usize, entry: KeyEntry) -> Result<Vec<(JwtKey, String)>, ConfigError> {
        let at = format!("bearer.jwt.keys[{i}]");
        let sources: Vec<&str> = [
            ("public_key_pem_file", entry.public_key_pem_file.is_some()),
            ("secret_env", entry.secret_env.is_some()),
            ("jwk_file", entry.jwk_file.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, set)| set.then_some(name))
        .collect();
        if sources.len() != 1 {
            let what = if sources.is_empty() {
                "has no key source".to_owned()
            } else {
                format!("has {} key sources ({})", sources.len(), sources.join(", "))
            };
            return Err(ConfigError::new(
                at,
                format!(
                    "{what}; set exactly one of public_key_pem_file, secret_env or jwk_file (use one [[bearer.jwt.keys]] entry per key)"
                ),
            ));
        }
        if entry.secret_encoding.is_some() && entry.secret_env.is_none() {
            return Err(ConfigError::new(
                format!("{at}.secret_encoding"),
                "applies only to secret_env; remove it",
            ));
        }
        if let Some(file) = &entry.public_key_pem_file {
            let key_name = format!("{at}.public_key_pem_file");
            let bytes = self.read(&key_name, file)?;
            let key = JwtKey::from_pem(bytes)
                .map_err(|e| e.rekeyed(&key_name, format!("{file}: {}", e.message())))?;
            let key = match entry.kid {
                Some(kid) => key.with_kid(kid),
                None => key,
            };
            return Ok(vec![(key, format!("public_key_pem_file \"{file}\""))]);
        }
        if let Some(var) = &entry.secret_env {
            let encoding = entry.secret_encoding.unwrap_or(SecretEncoding::Raw);
            let secret = self
                .secret(&format!("{at}.secret_env"), var, encoding)
                .map_err(|e| e.with_kind(ConfigErrorKind::Environment))?;
            let key = JwtKey::hmac(&secret);
            let key = match entry.kid {
                Some(kid) => key.with_kid(kid),
                None => key,
            };
            return Ok(vec![(
                key,
                format!("the secret in environment variable {var}"),
            )]);
        }
        let file = entry.jwk_file.unwrap_or_default();
        let key_name = format!("{at}.jwk_file");
        let bytes = self.read(&key_name, &file)?;
        let text = String::from_utf8(bytes).map_err(|_| {
            ConfigError::new(
                &key_name,
                format!("{file}: not UTF-8 text; expected a JWK or a JWK Set in JSON"),
            )
        })?;
        let keys = JwtKey::from_jwk_json(&text)
            .map_err(|e| e.rekeyed(&key_name, format!("{file}: {}", e.message())))?;
        let n = keys.len();
        if let Some(kid) = entry.kid {
            if n != 1 {
                return Err(ConfigError::new(
                    format!("{at}.kid"),
                    format!(
                        "{file} holds {n} keys; kid can override the key id only of a single JWK. Remove kid here and set \"kid\" in each JWK"
                    ),
                ));
            }
            let key = keys.into_iter().next().map(|k| k.with_kid(kid));
            return Ok(key
                .into_iter()
                .map(|k| (k, format!("jwk_file \"{file}\"")))
                .collect());
        }
        Ok(keys
            .into_iter()
            .enumerate()
            .map(|(j, k)| {
                let source = if n == 1 {
                    format!("jwk_file \"{file}\"")
                } else {
                    format!("jwk_file \"{file}\" (key {} of {n})", j + 1)
                };
                (k, source)
            })
            .collect())
    }

    /// Reads a file named by configuration key `key`; errors name the key, the
    /// resolved path and the OS error kind.
    fn read(&self, key: &str, file: &str) -> Result<Vec<u8>, ConfigError> {
        let path = self.resolve(file);
        std::fs::read(&path).map_err(|e| {
            ConfigError::new(
                key,
                format!(
                    "cannot read {} ({}); check the path (relative paths are resolved against the configuration file's directory)",
                    path.display(),
                    e.kind()
                ),
            )
            .with_kind(ConfigErrorKind::Io)
        })
    }

    /// The HMAC secret from environment variable `var`. Errors name the variable,
    /// never its value.
    fn secret(
        &self,
        key: &str,
        var: &str,
        encoding: SecretEncoding,
    ) -> Result<Vec<u8>, ConfigError> {
        if !is_env_name(var) {
            // Don't echo it: it may be the secret itself pasted in the wrong place.
            return Err(ConfigError::new(
                key,
                "must be the NAME of an environment variable (letters, digits and '_', not starting with a digit); secrets are never written in the file",
            ));
        }
        let value = match (self.env)(var) {
            Some(v) if !v.is_empty() => v,
            Some(_) => {
                return Err(ConfigError::new(
                    key,
                    "the environment variable named there is set but empty; set it to the HMAC secret",
                ));
            }
            None => {
                // The value is not echoed even here: a secret pasted where the
                // variable's name belongs has the shape of a name more often than
                // not, and this message goes to logs and terminals.
                return Err(ConfigError::new(
                    key,
                    "the environment variable named there is not set (or not valid UTF-8); set it to the HMAC secret. If you wrote the secret itself there, remove it from the file, rotate it, and write the variable's name instead",
                ));
            }
        };
        match encoding {
            SecretEncoding::Raw => Ok(value.into_bytes()),
            SecretEncoding::Base64 => {
                let compact: String = value.chars().filter(|c| !c.is_ascii_whitespace()).collect();
                let engine = if compact.contains(['-', '_']) {
                    &BASE64_URL
                } else {
                    &BASE64_STANDARD
                };
                let bytes = engine.decode(compact.as_bytes()).map_err(|_| {
                    ConfigError::new(
                        key,
                        format!(
                            "environment variable {var} is not valid base64 (secret_encoding = \"base64\"); \
                             set it to base64 text (e.g. from `openssl rand -base64 32`) or use secret_encoding = \"raw\""
                        ),
                    )
                })?;
                if bytes.is_empty() {
                    return Err(ConfigError::new(
                        key,
                        format!("environment variable {var} decodes to an empty secret"),
                    ));
                }
                Ok(bytes)
            }
        }
    }

    fn introspection(
        &self,
        section: IntrospectionSection,
    ) -> Result<crate::IntrospectionConfig, ConfigError> {
        let key = "bearer.introspection.client_secret_env";
        let var = &section.client_secret_env;
        if !is_env_name(var) {
            // Not echoed: it may be the secret itself, written where its
            // variable's name belongs.
            return Err(ConfigError::new(
                key,
                "must be the NAME of an environment variable (letters, digits and '_', not starting with a digit); secrets are never written in the file",
            ));
        }
        let secret = match (self.env)(var) {
            Some(v) if !v.is_empty() => zeroize::Zeroizing::new(v),
            _ => {
                return Err(ConfigError::new(
                    key,
                    "the environment variable named there is not set, empty or not UTF-8; set it to the introspecting client's secret",
                ));
            }
        };
        let mut cfg =
            crate::IntrospectionConfig::new(section.url, section.client_id, secret.as_str());
        if let Some(secs) = section.cache_secs {
            cfg = cfg.cache_secs(secs);
        }
        if let Some(secs) = section.timeout_secs {
            cfg = cfg.timeout_secs(secs);
        }
        if let Some(allow) = section.allow_insecure_http {
            cfg = cfg.allow_insecure_http(allow);
        }
        for issuer in section.issuer.map(|l| l.0).unwrap_or_default() {
            cfg = cfg.issuer(issuer);
        }
        for audience in section.audience.map(|l| l.0).unwrap_or_default() {
            cfg = cfg.audience(audience);
        }
        if let Some(file) = section.ca_file {
            cfg = cfg.ca_file(self.resolve(&file));
        }
        Ok(cfg)
    }

    fn basic(&self, basic: BasicSection) -> Result<BasicConfig, ConfigError> {
        if basic.htpasswd_file.is_none() && basic.users.is_empty() {
            return Err(ConfigError::new(
                "basic",
                "the section has no users; set htpasswd_file or add [[basic.users]] entries (or remove [basic] to turn Basic off)",
            ));
        }
        let mut cfg = BasicConfig::new();
        if let Some(n) = basic.max_pending {
            // Out of range (negative, or beyond usize): 0 gets the builder's message.
            cfg = cfg.max_pending(usize::try_from(n).unwrap_or(0))?;
        }
        if let Some(file) = &basic.htpasswd_file {
            let path = self.resolve(file);
            // Checked here so the message has the same shape as for key files.
            if let Err(e) = std::fs::File::open(&path) {
                return Err(ConfigError::new(
                    "basic.htpasswd_file",
                    format!(
                        "cannot read {} ({}); check the path (relative paths are resolved against the configuration file's directory)",
                        path.display(),
                        e.kind()
                    ),
                ));
            }
            cfg = cfg.htpasswd_file(&path)?;
        }
        for (i, user) in basic.users.into_iter().enumerate() {
            cfg = cfg
                .user(&user.name, &user.password_hash, user.scopes)
                .map_err(|e| {
                    let key = match e.key().strip_prefix("basic.users") {
                        Some(rest) if !rest.starts_with('[') => format!("basic.users[{i}]{rest}"),
                        _ => e.key().to_owned(),
                    };
                    ConfigError::new(key, e.message())
                })?;
        }
        Ok(cfg)
    }
}

fn limits_config(section: LimitsSection) -> Result<crate::LimitsConfig, ConfigError> {
    let mut limits = crate::LimitsConfig::new();
    if let Some(n) = section.max_failures {
        limits = limits.max_failures(n);
    }
    if let Some(secs) = section.window_secs {
        limits = limits.window_secs(secs);
    }
    if let Some(by) = section.by {
        limits = limits.by(by.into_iter().map(|b| match b {
            LimitBy::User => crate::LimitKey::User,
            LimitBy::ClientIp => crate::LimitKey::ClientIp,
        }));
    }
    for cidr in &section.trusted_proxies {
        limits = limits.trusted_proxy(cidr)?;
    }
    if let Some(n) = section.capacity {
        limits = limits.capacity(n);
    }
    Ok(limits)
}

fn state_config(section: StateSection) -> crate::StateConfig {
    let mut state = crate::StateConfig::redis(section.redis_url);
    if let Some(prefix) = section.key_prefix {
        state = state.key_prefix(prefix);
    }
    if let Some(mode) = section.on_unavailable {
        state = state.on_unavailable(match mode {
            UnavailableMode::Open => crate::OnUnavailable::Open,
            UnavailableMode::Closed => crate::OnUnavailable::Closed,
        });
    }
    if let Some(secs) = section.resync_secs {
        state = state.resync_secs(secs);
    }
    state
}

fn api_key(i: usize, entry: ApiKeyEntry) -> Result<ApiKey, ConfigError> {
    let at = format!("bearer.api_keys[{i}]");
    ApiKey::from_sha256_hex(entry.id.clone(), &entry.sha256)
        .map(|k| k.scopes(entry.scopes))
        .map_err(|e| {
            if entry.id.is_empty() {
                ConfigError::new(format!("{at}.id"), e.message())
            } else {
                ConfigError::new(
                    format!("{at}.sha256"),
                    format!(
                        "API key \"{}\": {}",
                        sanitize_for_message(&entry.id),
                        e.message()
                    ),
                )
            }
        })
}

/// Maps the builder's `bearer.jwt.keys[N]…` (N counts keys after JWK Sets are
/// expanded) back to the file's `[[bearer.jwt.keys]]` entry and names the
/// key's source.
fn rekey_builder_error(e: ConfigError, origins: &[KeyOrigin]) -> ConfigError {
    let Some(rest) = e.key().strip_prefix("bearer.jwt.keys[") else {
        return e;
    };
    let Some((index, suffix)) = rest.split_once(']') else {
        return e;
    };
    let Some(origin) = index.parse::<usize>().ok().and_then(|n| origins.get(n)) else {
        return e;
    };
    ConfigError::new(
        format!("bearer.jwt.keys[{}]{suffix}", origin.entry),
        format!("{}: {}", origin.source, e.message()),
    )
}

fn is_env_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b) if b == b'_' || b.is_ascii_alphabetic())
        && bytes.all(|b| b == b'_' || b.is_ascii_alphanumeric())
}

const LENIENT: base64::engine::GeneralPurposeConfig = base64::engine::GeneralPurposeConfig::new()
    .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent);
static BASE64_STANDARD: base64::engine::GeneralPurpose =
    base64::engine::GeneralPurpose::new(&base64::alphabet::STANDARD, LENIENT);
static BASE64_URL: base64::engine::GeneralPurpose =
    base64::engine::GeneralPurpose::new(&base64::alphabet::URL_SAFE, LENIENT);

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn errors_say_their_kind() {
        let kind = |text: &str| {
            AuthConfig::from_toml_str_with_env(text, Path::new("/nonexistent"), &no_env)
                .unwrap_err()
                .kind()
        };
        assert_eq!(kind("realm = "), ConfigErrorKind::Syntax);
        assert_eq!(
            kind("[bearer.jwt]\nalgoritms = [\"HS256\"]\n"),
            ConfigErrorKind::Syntax
        );
        assert_eq!(
            kind(
                "[bearer.jwt]\nalgorithms = [\"HS256\"]\n[[bearer.jwt.keys]]\nsecret_env = \"UNSET_X\"\n"
            ),
            ConfigErrorKind::Environment
        );
        assert_eq!(
            kind(
                "[bearer.jwt]\nalgorithms = [\"RS256\"]\n[[bearer.jwt.keys]]\npublic_key_pem_file = \"k.pem\"\n"
            ),
            ConfigErrorKind::Io
        );
        assert_eq!(
            kind("realm = \"a\\\"b\"\n[basic]\n"),
            ConfigErrorKind::InvalidValue
        );
        assert_eq!(
            JwtKey::from_pem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
                .unwrap_err()
                .kind(),
            ConfigErrorKind::UnusableKey
        );
    }

    fn load(text: &str) -> Result<AuthConfig, ConfigError> {
        AuthConfig::from_toml_str_with_env(text, Path::new("."), &no_env)
    }

    #[test]
    fn clean_message_drops_quoted_strings_and_control_chars() {
        assert_eq!(
            clean_message(r#"invalid type: string "hunter\"2", expected u64"#),
            "invalid type: string, expected u64"
        );
        assert_eq!(clean_message("a\nb"), "a\\nb");
        assert_eq!(clean_message("unknown field `x`"), "unknown field `x`");
    }

    #[test]
    fn wrong_type_names_key_and_hides_string_value() {
        let err = load("leeway_secs = \"s3cr3t-value\"\n[bearer]\n").unwrap_err();
        assert_eq!(err.key(), "leeway_secs");
        assert!(!err.to_string().contains("s3cr3t"), "{err}");
        assert!(err.message().contains("expected u64"), "{err}");
    }

    #[test]
    fn missing_required_key_is_named() {
        let err = load("[bearer.jwt]\nissuer = \"x\"\n").unwrap_err();
        assert_eq!(err.key(), "bearer.jwt.algorithms");
        let err = load("[[bearer.api_keys]]\nid = \"a\"\n").unwrap_err();
        assert_eq!(err.key(), "bearer.api_keys[0].sha256");
    }

    #[test]
    fn syntax_error_names_line_and_column() {
        let err = load("realm = \n").unwrap_err();
        assert_eq!(err.key(), "line 1, column 9");
        assert!(err.message().starts_with("not valid TOML"), "{err}");
    }

    #[test]
    fn inline_tables_and_arrays_get_indexed_paths() {
        let err = load(
            "[bearer.jwt]\nalgorithms = [\"HS256\"]\nkeys = [{secret_env = \"A\"}, {secret_envv = \"B\"}]\n",
        )
        .unwrap_err();
        assert_eq!(err.key(), "bearer.jwt.keys[1].secret_envv");
        let err = load("[bearer.jwt]\nalgorithms = [\"HS256\", 3]\n").unwrap_err();
        assert_eq!(err.key(), "bearer.jwt.algorithms[1]");
    }

    #[test]
    fn issuer_and_audience_take_string_or_list() {
        let env = |_: &str| Some("k".repeat(32));
        for (iss, aud) in [("\"a\"", "[\"b\", \"c\"]"), ("[\"a\"]", "\"b\"")] {
            let text = format!(
                "[bearer.jwt]\nalgorithms = [\"HS256\"]\nissuer = {iss}\naudience = {aud}\n[[bearer.jwt.keys]]\nsecret_env = \"S\"\n"
            );
            let cfg = AuthConfig::from_toml_str_with_env(&text, Path::new("."), &env).unwrap();
            let jwt = cfg.jwt.unwrap();
            assert_eq!(jwt.issuers[0], "a");
            assert_eq!(jwt.audiences[0], "b");
        }
        let err = load("[bearer.jwt]\nalgorithms = [\"HS256\"]\nissuer = 3\n").unwrap_err();
        assert_eq!(err.key(), "bearer.jwt.issuer");
        assert!(
            err.message().contains("a string or a list of strings"),
            "{err}"
        );
    }

    #[test]
    fn secret_env_holding_a_secret_is_not_echoed() {
        let err = load(
            "[bearer.jwt]\nalgorithms = [\"HS256\"]\n[[bearer.jwt.keys]]\nsecret_env = \"pa$$w0rd-not-a-name\"\n",
        )
        .unwrap_err();
        assert_eq!(err.key(), "bearer.jwt.keys[0].secret_env");
        assert!(!err.to_string().contains("pa$$w0rd"), "{err}");
        // A secret with the shape of a variable name, unset or set but empty.
        for value in [None, Some(String::new())] {
            let env = move |_: &str| value.clone();
            let err = AuthConfig::from_toml_str_with_env(
                "[bearer.jwt]\nalgorithms = [\"HS256\"]\n[[bearer.jwt.keys]]\nsecret_env = \"Kq7vXh2mP9sLw3NtR8yB5zC1dF6gJ4aE\"\n",
                Path::new("."),
                &env,
            )
            .unwrap_err();
            assert_eq!(err.key(), "bearer.jwt.keys[0].secret_env");
            assert!(!err.to_string().contains("Kq7v"), "{err}");
        }
    }

    #[test]
    fn base64_secrets_decode_in_both_alphabets() {
        for value in ["+/+/" /* 3 bytes */, "-_-_", "AAEC\n", "AAE"] {
            let env = |_: &str| Some(value.to_owned());
            let loader = Loader {
                base_dir: Path::new("."),
                env: &env,
            };
            assert!(
                loader.secret("k", "V", SecretEncoding::Base64).is_ok(),
                "{value}"
            );
        }
    }

    #[test]
    fn resource_section() {
        let env = |name: &str| (name == "S").then(|| "s".repeat(32));
        let cfg = AuthConfig::from_toml_str_with_env(
            r#"
[bearer.jwt]
algorithms = ["HS256"]
audience = "orders-api"
[[bearer.jwt.keys]]
secret_env = "S"
[resource]
id = "https://api.example.com/mcp"
authorization_servers = ["https://id.example.com/"]
scopes_supported = ["tools:call"]
name = "Tools"
documentation = "https://docs.example.com/"
"#,
            Path::new("."),
            &env,
        )
        .unwrap();
        let r = cfg.resource().unwrap();
        assert_eq!(r.id(), "https://api.example.com/mcp");
        assert_eq!(
            r.metadata_url(),
            "https://api.example.com/.well-known/oauth-protected-resource/mcp"
        );
        let jwt = cfg.jwt.as_ref().unwrap();
        assert_eq!(jwt.audiences, ["orders-api", "https://api.example.com/mcp"]);
        let e = load("[[bearer.api_keys]]\nid = \"a\"\nsha256 = \"54705c8b0c921341fc0be57454631ebb696c8f069c010cca5563d56e4da7834e\"\n[resource]\nid = \"https://a.example/#x\"\nauthorization_servers = [\"https://id.example/\"]\n").unwrap_err();
        assert_eq!(e.key(), "resource.id");
        let e = load("[[bearer.api_keys]]\nid = \"a\"\nsha256 = \"54705c8b0c921341fc0be57454631ebb696c8f069c010cca5563d56e4da7834e\"\n[resource]\nid = \"https://a.example/\"\nauthorization_servers = [\"https://id.example/\"]\nscope = 1\n").unwrap_err();
        assert_eq!(e.key(), "resource.scope");
    }

    #[test]
    fn cors_and_scalars() {
        let env = |_: &str| Some("k".repeat(32));
        let text = "realm = \"r\"\nleeway_secs = 5\ncors_preflight = \"authenticate\"\nproblem_body = false\nmax_token_bytes = 100\n[bearer.jwt]\nalgorithms = [\"HS256\"]\nrequired_claims = [\"exp\", \"sub\"]\nscope_claim = \"scp\"\n[[bearer.jwt.keys]]\nsecret_env = \"S\"\n";
        let cfg = AuthConfig::from_toml_str_with_env(text, Path::new("."), &env).unwrap();
        assert_eq!(cfg.realm, "r");
        assert_eq!(cfg.leeway_secs, 5);
        assert_eq!(cfg.cors_preflight, CorsPreflight::Authenticate);
        assert!(!cfg.problem_body);
        assert_eq!(cfg.max_token_bytes, 100);
        let jwt = cfg.jwt.unwrap();
        assert_eq!(jwt.required_claims, ["exp", "sub"]);
        assert_eq!(jwt.scope_claim, "scp");
        let err = load("cors_preflight = \"deny\"\n").unwrap_err();
        assert_eq!(err.key(), "cors_preflight");
        assert!(err.message().contains("`allow` or `authenticate`"), "{err}");
    }
}
