//! `authgate explain`: the layer's own answer for one credential, offline.

use std::io::{IsTerminal as _, Read as _};
use std::process::ExitCode;

use authgate::explain::Explanation;
use authgate::{Algorithm, AuthConfig, AuthLayer, JwtConfig, Reason};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::header::AUTHORIZATION;
use http::{HeaderMap, HeaderValue, Method, Uri};
use serde_json::{Map, Value, json};

use crate::util::{
    self, CmdResult, EXIT_OK, EXIT_REJECTED, Fail, clean, now_secs, rfc3339, truncate,
};
use crate::{ExplainArgs, Format};

pub(crate) fn run(args: &ExplainArgs) -> CmdResult {
    let (cfg, source) = config_of(args)?;
    let input = read_input(args.token.as_deref(), args.basic)?;
    let value = authorization_value(&input, args.basic)?;
    drop(input);
    let header = HeaderValue::from_str(&value).map_err(|_| {
        Fail::usage(
            "the credential has characters that cannot be sent in an HTTP header (control characters or line breaks); check what was pasted",
        )
    })?;
    let is_bearer = value
        .split_once(' ')
        .is_some_and(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"));
    drop(value);

    let (at, at_given) = match &args.at {
        Some(t) => (util::parse_time(t).map_err(Fail::usage)?, true),
        None => (now_secs(), false),
    };
    let cfg = if at_given {
        cfg.with_clock(move || util::system_time(at))
    } else {
        cfg
    };
    let remote = cfg.summary().jwt.and_then(|j| j.remote);
    // A key-set URL given on the command line is meant to be fetched.
    let fetch = args.fetch_keys || !source.from_file;
    if let Some(remote) = &remote
        && is_bearer
        && !fetch
    {
        let remote_source = remote
            .jwks_url
            .as_ref()
            .map(|u| format!("jwks_url {u}"))
            .or_else(|| {
                remote
                    .oidc_issuer
                    .as_ref()
                    .map(|i| format!("oidc_issuer {i}"))
            })
            .unwrap_or_default();
        return Err(Fail::usage(format!(
            "{} takes keys from a remote key set ({remote_source}), and explain does not go online on its own.\n  Pass --fetch-keys to fetch them first (as the server does at start-up); the answer is then exactly the server's.",
            source.label
        )));
    }

    // A step-up route's requirement, as `RequireAuthContext` would check it.
    let route = (!args.acr.is_empty() || args.max_age.is_some()).then(|| {
        let layer = authgate::RequireAuthContext::acr(args.acr.iter().cloned());
        match args.max_age {
            Some(secs) => layer.max_age(std::time::Duration::from_secs(secs)),
            None => layer,
        }
    });
    let explanation = explain(
        cfg,
        header,
        fetch && remote.is_some(),
        route.as_ref().map(|l| l.policy()),
    )?;
    match args.format {
        Format::Text => print_text(&explanation, at, at_given, &source.label),
        Format::Json => print_json(&explanation, at),
    }
    Ok(ExitCode::from(if explanation.passed() {
        EXIT_OK
    } else {
        EXIT_REJECTED
    }))
}

/// Where the configuration came from.
struct Source {
    /// The file, or the flags that describe the configuration.
    label: String,
    from_file: bool,
}

/// The configuration: the file of `--config`, or one built from `--jwks-url` /
/// `--oidc-issuer`, `--issuer`, `--audience` and `--algorithm`, for a quick look at
/// an identity provider's token without writing a file.
fn config_of(args: &ExplainArgs) -> Result<(AuthConfig, Source), Fail> {
    if let Some(path) = &args.config {
        let cfg = util::load_config(path)?;
        let label = path.display().to_string();
        return Ok((
            cfg,
            Source {
                label,
                from_file: true,
            },
        ));
    }
    let names: Vec<&str> = if args.algorithms.is_empty() {
        vec!["RS256", "PS256", "ES256", "EdDSA"]
    } else {
        args.algorithms.iter().map(String::as_str).collect()
    };
    let mut algorithms = Vec::with_capacity(names.len());
    for name in names {
        algorithms.push(name.parse::<Algorithm>().map_err(|_| {
            Fail::usage(format!(
                "--algorithm {}: not a JWS algorithm authgate verifies (HS256, RS256, PS256, ES256, ES384, EdDSA, …; case matters, RFC 7515 §4.1.1)",
                clean(&truncate(name, 40))
            ))
        })?);
    }
    let mut jwt = JwtConfig::new(algorithms);
    let mut label = Vec::new();
    if let Some(url) = &args.jwks_url {
        jwt = jwt.jwks_url(url);
        label.push(format!("--jwks-url {url}"));
    }
    if let Some(issuer) = &args.oidc_issuer {
        jwt = jwt.oidc_issuer(issuer);
        label.push(format!("--oidc-issuer {issuer}"));
    }
    for iss in &args.issuer {
        jwt = jwt.issuer(iss);
        label.push(format!("--issuer {iss}"));
    }
    for aud in &args.audience {
        jwt = jwt.audience(aud);
        label.push(format!("--audience {aud}"));
    }
    let cfg = AuthConfig::builder().jwt(jwt).build().map_err(|e| {
        Fail::usage(format!(
            "the flags do not make a usable configuration: {}",
            clean(&e.to_string())
        ))
    })?;
    Ok((
        cfg,
        Source {
            label: clean(&label.join(" ")),
            from_file: false,
        },
    ))
}

/// Runs the credential through `AuthLayer::explain` (a `GET /` with this
/// `Authorization` value): the middleware's own code path.
fn explain(
    cfg: AuthConfig,
    header: HeaderValue,
    fetch: bool,
    route: Option<&authgate::step_up::AuthContextPolicy>,
) -> Result<Explanation, Fail> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Fail::usage(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async move {
        let layer = AuthLayer::new(cfg);
        if fetch {
            match layer.warm_up().await {
                Ok(true) => {}
                Ok(false) => eprintln!(
                    "warning: the remote key set could not be fetched; below is what the server answers while it has no keys"
                ),
                Err(e) => {
                    return Err(Fail::usage(format!(
                        "remote key set: {}",
                        clean(&e.to_string())
                    )));
                }
            }
        }
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, header);
        let (method, uri) = (Method::GET, Uri::from_static("/"));
        Ok(match route {
            Some(policy) => {
                layer
                    .explain_with_policy(&method, &uri, &headers, policy)
                    .await
            }
            None => layer.explain(&method, &uri, &headers).await,
        })
    })
}

/// The credential from the argument or stdin.
fn read_input(arg: Option<&str>, basic: bool) -> Result<String, Fail> {
    let raw = match arg {
        Some(t) if t != "-" => t.to_owned(),
        _ => {
            let stdin = std::io::stdin();
            if stdin.is_terminal() {
                return Err(Fail::usage(
                    "no credential given: pass TOKEN as an argument, or pipe it on stdin (`... | authgate explain --config FILE -`)",
                ));
            }
            let mut s = String::new();
            stdin
                .lock()
                .take(1 << 20)
                .read_to_string(&mut s)
                .map_err(|_| {
                    Fail::usage("cannot read the credential from stdin (is it UTF-8 text?)")
                })?;
            s
        }
    };
    // Only the line ending goes from a Basic user:password (spaces may be part
    // of the password); a token or header value loses surrounding whitespace,
    // as HTTP does (OWS).
    let s = if basic {
        let s = raw.strip_suffix('\n').unwrap_or(&raw);
        s.strip_suffix('\r').unwrap_or(s).to_owned()
    } else {
        raw.trim().to_owned()
    };
    if s.is_empty() {
        return Err(Fail::usage(
            "the credential is empty: pass a token, an Authorization value, or with --basic user:password",
        ));
    }
    Ok(s)
}

/// The `Authorization` value for the input: a whole value as given, a bare token
/// as `Bearer <token>`, `user:password` (with `--basic`) as `Basic base64(…)`.
fn authorization_value(input: &str, basic: bool) -> Result<String, Fail> {
    if basic {
        if !input.contains(':') {
            return Err(Fail::usage(
                "--basic expects user:password (the user-id, a colon, then the password)",
            ));
        }
        return Ok(format!("Basic {}", STANDARD.encode(input)));
    }
    let input = match input.split_once(':') {
        Some((name, rest)) if name.trim().eq_ignore_ascii_case("authorization") => rest.trim(),
        _ => input,
    };
    // A lone scheme name is what a server receives for `Bearer $UNSET` (the
    // trailing space is trimmed as OWS): keep it as the whole value.
    let lone_scheme = input.eq_ignore_ascii_case("bearer") || input.eq_ignore_ascii_case("basic");
    if lone_scheme || input.contains([' ', '\t']) {
        Ok(input.to_owned())
    } else {
        Ok(format!("Bearer {input}"))
    }
}

// ---------------------------------------------------------------------------
// Claim checks
// ---------------------------------------------------------------------------

/// The claims the layer checks after the signature, in the layer's order
/// (docs/reference.md, "Order of checks").
const CHECKED: [(&str, Reason); 5] = [
    ("exp", Reason::TokenExpired),
    ("nbf", Reason::TokenNotYetValid),
    ("iat", Reason::TokenIssuedInFuture),
    ("iss", Reason::IssuerMismatch),
    ("aud", Reason::AudienceMismatch),
];

/// What became of each checked claim present in the token: `passed`, `failed`
/// or `not checked`. Empty when the signature did not verify (nothing is
/// checked after a failed signature).
fn claim_checks(e: &Explanation) -> Vec<(&'static str, &'static str)> {
    let Some(claims) = &e.claims else {
        return Vec::new();
    };
    if !e.signature_verified {
        return Vec::new();
    }
    // Index in CHECKED of the failing check; past the end when all passed.
    let failed_at = match e.reason {
        None | Some(Reason::TokenRevoked) => CHECKED.len(),
        // Presence and types are checked before any value.
        Some(Reason::MissingClaim) => 0,
        Some(r) => CHECKED
            .iter()
            .position(|(_, reason)| *reason == r)
            .unwrap_or(0),
    };
    let mut out = Vec::new();
    for (i, (claim, _)) in CHECKED.iter().enumerate() {
        if !claims.contains_key(*claim) {
            continue;
        }
        let state = match i.cmp(&failed_at) {
            std::cmp::Ordering::Less => "passed",
            std::cmp::Ordering::Equal if e.reason != Some(Reason::MissingClaim) => "FAILED",
            _ => "not checked",
        };
        out.push((*claim, state));
    }
    out
}

fn time_note(claim: &str, value: &Value, at: u64) -> Option<String> {
    if !matches!(claim, "exp" | "nbf" | "iat") {
        return None;
    }
    let t = value
        .as_i64()
        .or_else(|| value.as_f64().map(|f| f as i64))?;
    let at = i64::try_from(at).ok()?;
    Some(format!("{}, {}", rfc3339(t), util::relative(t, at)))
}

// ---------------------------------------------------------------------------
// Output
// ---------------------------------------------------------------------------

fn print_text(e: &Explanation, at: u64, at_given: bool, config: &str) {
    let mut out = String::new();
    let verdict = if e.passed() { "PASS" } else { "REJECTED" };
    match e.reason {
        Some(r) => {
            out.push_str(&format!("{verdict}: {} {}\n", e.status, r.code()));
            if r.public_code() != r.code() {
                out.push_str(&format!(
                    "  (the client sees reason {}; the server's log says {})\n",
                    r.public_code(),
                    r.code()
                ));
            }
        }
        None => out.push_str(&format!(
            "{verdict}: the request would reach the service (status {})\n",
            e.status
        )),
    }
    let mut field = |name: &str, value: &str| {
        out.push_str(&format!("  {name:<11}{}\n", clean(value)));
    };
    if let Some(d) = &e.detail {
        field("detail", d);
    }
    if let Some(h) = &e.hint {
        field("hint", h);
    }
    if e.reason == Some(Reason::InsufficientUserAuthentication) {
        let required = e.required_acr.as_deref().filter(|a| !a.is_empty());
        let login = e
            .auth_age_secs
            .map_or("no auth_time".to_owned(), |s| format!("login {s} s ago"));
        field(
            "step-up",
            &format!(
                "required acr {}; token acr {}; {login}",
                required.unwrap_or("(any)"),
                e.token_acr.as_deref().unwrap_or("(none)"),
            ),
        );
    }
    for c in &e.challenges {
        field("challenge", &format!("WWW-Authenticate: {c}"));
    }
    if let Some(fp) = &e.token_fp {
        field(
            "token_fp",
            &format!("{fp}  (auth.token_fp in the server's log events)"),
        );
    }
    if let Some(p) = &e.principal {
        field(
            "principal",
            &format!(
                "{} subject {}, scopes [{}]",
                p.scheme().as_str(),
                p.subject()
                    .map_or("(none)".to_owned(), |s| format!("{s:?}")),
                p.scopes().join(" ")
            ),
        );
    }
    let when = if at_given {
        format!("{} (--at)", rfc3339(at as i64))
    } else {
        format!("{} (now)", rfc3339(at as i64))
    };
    field("time", &when);
    field("config", config);

    if let Some(header) = &e.header {
        out.push_str("\nheader (decoded; not verified by itself):\n");
        for (k, v) in header {
            out.push_str(&format!(
                "  {}: {}\n",
                clean(k),
                clean(&truncate(&v.to_string(), 200))
            ));
        }
    }
    if let Some(claims) = &e.claims {
        if e.signature_verified {
            out.push_str(
                "\nclaims (VERIFIED: the signature checked out; the values are the issuer's):\n",
            );
        } else {
            out.push_str("\nclaims (NOT verified: the signature was not checked or did not verify; do not trust these values):\n");
        }
        let checks = claim_checks(e);
        let rows: Vec<[String; 4]> = claims
            .iter()
            .map(|(k, v)| {
                let check = checks
                    .iter()
                    .find(|(c, _)| c == k)
                    .map_or("", |(_, state)| state);
                [
                    clean(&truncate(k, 24)),
                    clean(&truncate(&v.to_string(), 72)),
                    check.to_owned(),
                    time_note(k, v, at).unwrap_or_default(),
                ]
            })
            .collect();
        let width = |i: usize| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0);
        let (w0, w1, w2) = (width(0).max(5), width(1).max(5), width(2).max(5));
        let mut table = vec![[
            "claim".to_owned(),
            "value".to_owned(),
            "check".to_owned(),
            String::new(),
        ]];
        table.extend(rows);
        for [k, v, check, note] in table {
            let line = format!("  {k:<w0$}  {v:<w1$}  {check:<w2$}  {note}");
            out.push_str(line.trim_end());
            out.push('\n');
        }
    } else if e.header.is_some() {
        out.push_str("\nclaims: (not decodable)\n");
    }
    print!("{out}");
}

fn print_json(e: &Explanation, at: u64) {
    let principal = e.principal.as_ref().map(|p| {
        json!({
            "scheme": p.scheme().as_str(),
            "subject": p.subject(),
            "scopes": p.scopes(),
        })
    });
    let checks: Map<String, Value> = claim_checks(e)
        .into_iter()
        .map(|(c, s)| (c.to_owned(), Value::from(s.to_lowercase())))
        .collect();
    let out = json!({
        "status": e.status,
        "passed": e.passed(),
        "reason": e.reason.map(Reason::code),
        "public_reason": e.reason.map(Reason::public_code),
        "challenges": e.challenges,
        "detail": e.detail,
        "hint": e.hint,
        "token_fp": e.token_fp,
        "at": at,
        "at_rfc3339": rfc3339(at as i64),
        "principal": principal,
        "header": e.header,
        "claims": e.claims,
        "signature_verified": e.signature_verified,
        "claim_checks": checks,
        "required_acr": e.required_acr,
        "token_acr": e.token_acr,
        "auth_age_secs": e.auth_age_secs,
    });
    println!("{out}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_forms() {
        assert_eq!(
            authorization_value("abc.def.ghi", false).unwrap(),
            "Bearer abc.def.ghi"
        );
        assert_eq!(authorization_value("Bearer x", false).unwrap(), "Bearer x");
        assert_eq!(
            authorization_value("Authorization: Basic YTpi", false).unwrap(),
            "Basic YTpi"
        );
        assert_eq!(authorization_value("a:b", true).unwrap(), "Basic YTpi");
        assert!(authorization_value("nocolon", true).is_err());
        assert_eq!(authorization_value("bearer", false).unwrap(), "bearer");
    }
}
