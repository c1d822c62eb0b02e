//! `authgate token mint`: a signed JWT for local testing, verified through the
//! layer before it is printed.

use std::path::Path;
use std::process::ExitCode;

use authgate::summary::KeySummary;
use authgate::{Algorithm, AuthConfig, AuthLayer, KeyType, Reason};
use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use http::header::AUTHORIZATION;
use http::{HeaderMap, HeaderValue, Method, Uri};
use jsonwebtoken::{EncodingKey, Header};
use serde_json::{Map, Value};

use crate::MintArgs;
use crate::toml_info::{self, KeyEntry, KeySource};
use crate::util::{self, CmdResult, EXIT_OK, Fail, clean};

pub(crate) fn run(args: &MintArgs) -> CmdResult {
    let path = &args.config;
    let text = util::read_config_text(path)?;
    let base = util::base_dir(path);
    // Only the key being minted with needs its material: an HMAC key's unset
    // variable elsewhere in the file gets a placeholder (an HMAC key minted
    // with reads its real secret in `hmac_secret`, which refuses an unset one).
    let cfg = AuthConfig::from_toml_str_with_env(&text, &base, &util::env_or_placeholder)
        .map_err(|e| Fail::config(path, &e))?;
    let summary = cfg.summary();
    let Some(jwt) = &summary.jwt else {
        return Err(Fail::usage(format!(
            "{} has no [bearer.jwt] section, so no token could verify; add one with a key",
            path.display()
        )));
    };
    let Some(key) = jwt
        .keys
        .iter()
        .find(|k| k.kid.as_deref() == Some(&args.kid))
    else {
        let kids: Vec<String> = jwt
            .keys
            .iter()
            .filter_map(|k| k.kid.as_deref().map(|k| format!("{:?}", clean(k))))
            .collect();
        return Err(Fail::usage(format!(
            "{} has no key with kid {:?} (keys with a kid: {}); a token for it could not verify. Pass --key with one of them, or add the key to [[bearer.jwt.keys]]",
            path.display(),
            clean(&args.kid),
            if kids.is_empty() {
                "none".to_owned()
            } else {
                kids.join(", ")
            }
        )));
    };
    let alg = choose_alg(key, args.alg.as_deref())?;
    let entries = toml_info::key_entries(&text);
    let encoding = encoding_key(key, &args.kid, &entries, &base, args.private_key.as_deref())?;

    let lifetime =
        util::parse_duration(&args.exp).map_err(|e| Fail::usage(format!("--exp: {e}")))?;
    let now = util::now_secs();
    let mut claims = Map::new();
    claims.insert("sub".into(), "test".into());
    claims.insert("iat".into(), now.into());
    claims.insert("exp".into(), now.saturating_add(lifetime).into());
    if let Some(iss) = jwt.issuers.first() {
        claims.insert("iss".into(), iss.clone().into());
    }
    if let Some(aud) = jwt.audiences.first() {
        claims.insert("aud".into(), aud.clone().into());
    }
    if let Some(extra) = &args.claims {
        let extra: Value = serde_json::from_str(extra).map_err(|e| {
            Fail::usage(format!(
                "--claims is not valid JSON ({e}); pass an object such as '{{\"sub\":\"alice\",\"scope\":\"admin\"}}'"
            ))
        })?;
        let Value::Object(extra) = extra else {
            return Err(Fail::usage(
                "--claims must be a JSON object such as '{\"sub\":\"alice\"}'",
            ));
        };
        for (k, v) in extra {
            if v.is_null() {
                claims.remove(&k);
            } else {
                claims.insert(k, v);
            }
        }
    }

    let jwt_alg: jsonwebtoken::Algorithm = alg
        .as_str()
        .parse()
        .map_err(|_| Fail::usage(format!("{alg} is not supported for signing")))?;
    let mut header = Header::new(jwt_alg);
    header.kid = Some(args.kid.clone());
    let token = jsonwebtoken::encode(&header, &Value::Object(claims), &encoding).map_err(|_| {
        Fail::usage(format!(
            "signing with {alg} failed: the key does not fit {alg} (for an EC key, P-256 signs ES256 and P-384 signs ES384)"
        ))
    })?;

    // Verify through the layer, offline: a configuration with a remote key set is
    // checked with its static keys only (the key of --key is one of them).
    let verify_cfg = if jwt.remote.is_some() {
        let text = toml_info::without_remote_keys(&text).ok_or_else(|| {
            Fail::usage("cannot re-read the configuration without its remote key set")
        })?;
        AuthConfig::from_toml_str_with_env(&text, &base, &util::env_or_placeholder)
            .map_err(|e| Fail::config(path, &e))?
    } else {
        cfg
    };
    let e = verify(verify_cfg, &token)?;
    if !e.signature_verified {
        let reason = e.reason.map_or("", Reason::code);
        let detail = clean(e.detail.as_deref().unwrap_or(""));
        let why = match (&args.private_key, e.reason) {
            (Some(pk), Some(Reason::SignatureInvalid)) => format!(
                "the private key {} does not match the public key configured for kid {:?}; pass the private key of that public key",
                pk.display(),
                clean(&args.kid)
            ),
            (None, Some(Reason::SignatureInvalid)) => format!(
                "the secret read for kid {:?} does not verify with the configured key",
                clean(&args.kid)
            ),
            _ => "the configuration would not verify it".to_owned(),
        };
        return Err(Fail::usage(format!(
            "refusing to print the token: the server would reject it as {reason} ({detail}): {why}"
        )));
    }
    println!("{token}");
    let exp = e
        .claims
        .as_ref()
        .and_then(|c| c.get("exp"))
        .and_then(Value::as_i64)
        .map(|t| {
            format!(
                ", exp {} ({})",
                util::rfc3339(t),
                util::relative(t, now as i64)
            )
        })
        .unwrap_or_default();
    eprintln!(
        "minted a {alg} token for kid {:?}{exp}; auth.token_fp {}",
        clean(&args.kid),
        e.token_fp.as_deref().unwrap_or("-")
    );
    if let Some(reason) = e.reason {
        eprintln!(
            "warning: the signature verifies, but the server would reject this token now: {} ({})",
            reason.code(),
            clean(e.detail.as_deref().unwrap_or(""))
        );
    }
    Ok(ExitCode::from(EXIT_OK))
}

/// `--alg`, or the first allowed algorithm the key fits.
fn choose_alg(key: &KeySummary, wanted: Option<&str>) -> Result<Algorithm, Fail> {
    let fits: Vec<&str> = key.algorithms.iter().map(|a| a.as_str()).collect();
    match wanted {
        None => key.algorithms.first().copied().ok_or_else(|| {
            Fail::usage("the key fits none of the allowed algorithms (bearer.jwt.algorithms)")
        }),
        Some(name) => {
            let alg: Algorithm = name
                .parse()
                .map_err(|e| Fail::usage(format!("--alg: {e}")))?;
            if key.algorithms.contains(&alg) {
                Ok(alg)
            } else {
                Err(Fail::usage(format!(
                    "--alg {alg} is not allowed for this key; it verifies {}",
                    fits.join(", ")
                )))
            }
        }
    }
}

/// The signing key: an HMAC secret from the variable its `secret_env` names (or
/// the `k` of a JWK file), or the private key file for RSA / EC / Ed25519 keys.
fn encoding_key(
    key: &KeySummary,
    kid: &str,
    entries: &[KeyEntry],
    base: &Path,
    private_key: Option<&Path>,
) -> Result<EncodingKey, Fail> {
    if key.key_type == KeyType::Hmac {
        if private_key.is_some() {
            return Err(Fail::usage(format!(
                "kid {:?} is an HMAC key: its secret comes from the configuration's secret_env, so --private-key does not apply; drop it",
                clean(kid)
            )));
        }
        return hmac_secret(kid, entries, base).map(|s| EncodingKey::from_secret(&s));
    }
    let describe = match key.key_type {
        KeyType::Rsa => "an RSA",
        KeyType::Ec => "an EC",
        _ => "an Ed25519",
    };
    let Some(file) = private_key else {
        return Err(Fail::usage(format!(
            "kid {:?} is {describe} public key: pass the matching private key with --private-key FILE (PEM)",
            clean(kid)
        )));
    };
    let pem = std::fs::read(file).map_err(|e| {
        Fail::usage(format!(
            "cannot read the private key {} ({}); check the path",
            file.display(),
            e.kind()
        ))
    })?;
    let loaded = match key.key_type {
        KeyType::Rsa => EncodingKey::from_rsa_pem(&pem),
        KeyType::Ec => EncodingKey::from_ec_pem(&pem),
        _ => EncodingKey::from_ed_pem(&pem),
    };
    loaded.map_err(|_| {
        Fail::usage(format!(
            "{} is not {describe} private key in PEM (PKCS#8 `BEGIN PRIVATE KEY`{}); kid {:?} is {describe} public key",
            file.display(),
            if key.key_type == KeyType::Rsa { ", or PKCS#1 `BEGIN RSA PRIVATE KEY`" } else { "" },
            clean(kid)
        ))
    })
}

const LENIENT: GeneralPurposeConfig =
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
static BASE64_STANDARD: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::STANDARD, LENIENT);
static BASE64_URL: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::URL_SAFE, LENIENT);

/// The HMAC secret of key `kid`, decoded as the loader decodes it.
fn hmac_secret(kid: &str, entries: &[KeyEntry], base: &Path) -> Result<Vec<u8>, Fail> {
    for e in entries {
        match &e.source {
            KeySource::Env { var, base64 } if e.kid.as_deref() == Some(kid) => {
                // The variable is named by its key path, never by its value (which
                // may be a secret pasted where the name belongs).
                let value = std::env::var(var).ok().filter(|v| !v.is_empty()).ok_or_else(|| {
                    Fail::usage(format!(
                        "{}.secret_env (kid {:?}): the environment variable named there is not set; set it to the HMAC secret",
                        e.key_path(),
                        clean(kid)
                    ))
                })?;
                if !base64 {
                    return Ok(value.into_bytes());
                }
                let compact: String = value.chars().filter(|c| !c.is_ascii_whitespace()).collect();
                let engine = if compact.contains(['-', '_']) {
                    &BASE64_URL
                } else {
                    &BASE64_STANDARD
                };
                return engine.decode(compact.as_bytes()).map_err(|_| {
                    Fail::usage(format!("environment variable {var} is not valid base64"))
                });
            }
            KeySource::Jwk(file) => {
                if let Some(secret) = jwk_secret(&base.join(file), e.kid.as_deref(), kid) {
                    return Ok(secret);
                }
            }
            _ => {}
        }
    }
    Err(Fail::usage(format!(
        "cannot find the HMAC secret of kid {:?} in the configuration (expected a [[bearer.jwt.keys]] entry with this kid and secret_env, or an oct JWK)",
        clean(kid)
    )))
}

/// The `k` of the `oct` JWK with `kid` in a JWK (Set) file.
fn jwk_secret(path: &Path, entry_kid: Option<&str>, kid: &str) -> Option<Vec<u8>> {
    let value: Value = serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
    let jwks: Vec<&Value> = match value.get("keys").and_then(Value::as_array) {
        Some(keys) => keys.iter().collect(),
        None => vec![&value],
    };
    jwks.into_iter().find_map(|jwk| {
        let this_kid = entry_kid.or_else(|| jwk.get("kid").and_then(Value::as_str));
        if this_kid != Some(kid) || jwk.get("kty").and_then(Value::as_str) != Some("oct") {
            return None;
        }
        let k = jwk.get("k").and_then(Value::as_str)?;
        BASE64_URL.decode(k.trim_end_matches('=')).ok()
    })
}

fn verify(cfg: AuthConfig, token: &str) -> Result<authgate::explain::Explanation, Fail> {
    let value = HeaderValue::from_str(&format!("Bearer {token}"))
        .map_err(|_| Fail::usage("the minted token is not a valid header value"))?;
    let mut headers = HeaderMap::new();
    headers.insert(AUTHORIZATION, value);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Fail::usage(format!("cannot start the async runtime: {e}")))?;
    Ok(runtime.block_on(async {
        AuthLayer::new(cfg)
            .explain(&Method::GET, &Uri::from_static("/"), &headers)
            .await
    }))
}
