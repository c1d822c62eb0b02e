//! Opaque Bearer tokens checked at an OAuth 2.0 token introspection endpoint
//! (RFC 7662).
//!
//! One POST per token (`token=…&token_type_hint=access_token`), the layer
//! authenticating as a client with HTTP Basic (`client_secret_basic`, RFC 6749
//! §2.3.1). Active answers are cached under the token's SHA-256 digest for
//! `cache_secs`, never past their `exp`; inactive answers for at most
//! [`MAX_INACTIVE_SECS`] of it, in a map of their own (so a flood of made-up
//! tokens costs one call each and cannot push the active answers out);
//! concurrent requests for one token wait for
//! the same call (single-flight: the call runs in a spawned task, so a request
//! that goes away does not cancel it for the others, and every waiter gives up
//! after `timeout_secs`). Cache times use the configuration's clock; the network
//! call has a real timeout.
//!
//! Nothing here logs: the request's one rejection event carries the detail, and
//! the token itself is never written anywhere (the body of the POST aside).

// `Failure` carries every field of the rejection event; it travels only on the
// rejection path (as in `authenticate`).
#![allow(clippy::result_large_err)]

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, USER_AGENT};
use http::{HeaderValue, Request, StatusCode, Uri};
use http_body_util::{BodyExt as _, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Map, Value};
use sha2::Digest as _;
use tokio::sync::watch;
use zeroize::Zeroizing;

use crate::config::{AuthConfig, Clock, ConfigError};
use crate::config_introspection::IntrospectionConfig;
use crate::credentials::SchemeLabel;
use crate::event::{sanitize_for_message as clean, token_fingerprint};
use crate::principal::{Principal, Subject};
use crate::reason::Reason;
use crate::rejection::Failure;

/// Largest introspection answer accepted.
const MAX_ANSWER_BYTES: usize = 64 * 1024;
/// Most cached answers; past it, ended entries are dropped, then any one.
const MAX_CACHED: usize = 10_000;
/// Longest an inactive answer is reused: a token the server has just issued
/// and not yet propagated is refused no longer than this.
const MAX_INACTIVE_SECS: u64 = 30;
/// Most cached inactive answers.
const MAX_CACHED_INACTIVE: usize = 10_000;
/// `Retry-After` of an `introspection_unavailable` answer.
const RETRY_AFTER_SECS: u64 = 5;

type HttpsClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;
type Digest = [u8; 32];

/// What the endpoint said about one token.
#[derive(Clone, Debug)]
enum Answer {
    Active(Arc<Active>),
    Inactive,
    /// The endpoint could not be used: a secret-free sentence, and whether the
    /// endpoint refused the layer's own client credentials.
    Unavailable(Arc<str>, bool),
}

/// An active answer (RFC 7662 §2.2).
#[derive(Debug)]
struct Active {
    /// The answer as JSON (the principal's claims).
    json: Vec<u8>,
    subject: Option<String>,
    exp: Option<u64>,
    nbf: Option<u64>,
    iss: Option<String>,
    aud: Vec<String>,
}

#[derive(Debug)]
struct Cached {
    active: Arc<Active>,
    /// Unix seconds; the entry serves while `now < until`.
    until: u64,
}

/// The introspection endpoint of one layer, shared by its clones.
pub(crate) struct Introspector {
    cfg: IntrospectionConfig,
    uri: Uri,
    host: String,
    authorization: HeaderValue,
    client: HttpsClient,
    clock: Clock,
    leeway_secs: u64,
    issuers: Vec<String>,
    audiences: Vec<String>,
    cache: Mutex<HashMap<Digest, Cached>>,
    /// Inactive answers: the unix second until which each serves.
    inactive: Mutex<HashMap<Digest, u64>>,
    in_flight: Mutex<HashMap<Digest, watch::Receiver<Option<Answer>>>>,
}

impl fmt::Debug for Introspector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Introspector")
            .field("host", &self.host)
            .field("cfg", &self.cfg)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Introspector {
    /// The configuration's introspector, if it has one.
    pub(crate) fn new(cfg: &AuthConfig) -> Result<Option<Arc<Self>>, ConfigError> {
        let Some(intro) = &cfg.introspection else {
            return Ok(None);
        };
        let uri = crate::verify::remote::check_url(
            &intro.url,
            intro.allow_insecure_http,
            "bearer.introspection.url",
        )?;
        let host = uri.host().unwrap_or_default().to_owned();
        // RFC 6749 §2.3.1: the id and secret are form-urlencoded, then joined
        // with ':' and base64-encoded.
        let pair = Zeroizing::new(format!(
            "{}:{}",
            form_urlencoded::byte_serialize(intro.client_id.as_bytes()).collect::<String>(),
            form_urlencoded::byte_serialize(intro.client_secret.as_bytes()).collect::<String>()
        ));
        let encoded =
            Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(pair.as_bytes()));
        let mut authorization = HeaderValue::try_from(format!("Basic {}", encoded.as_str()))
            .map_err(|_| {
                ConfigError::new(
                    "bearer.introspection.client_id",
                    "cannot be sent in an Authorization header",
                )
            })?;
        authorization.set_sensitive(true);
        let jwt = cfg.jwt.as_ref();
        let pick = |own: &Vec<String>, jwt: Option<&Vec<String>>| {
            if own.is_empty() {
                jwt.cloned().unwrap_or_default()
            } else {
                own.clone()
            }
        };
        Ok(Some(Arc::new(Introspector {
            issuers: pick(&intro.issuers, jwt.map(|j| &j.issuers)),
            audiences: pick(&intro.audiences, jwt.map(|j| &j.audiences)),
            client: Client::builder(TokioExecutor::new()).build(
                crate::verify::remote::https_connector(
                    intro.timeout_secs,
                    intro.ca_file.as_deref(),
                    "bearer.introspection.ca_file",
                )?,
            ),
            cfg: intro.clone(),
            uri,
            host,
            authorization,
            clock: Arc::clone(&cfg.clock),
            leeway_secs: cfg.leeway_secs,
            cache: Mutex::new(HashMap::new()),
            inactive: Mutex::new(HashMap::new()),
            in_flight: Mutex::new(HashMap::new()),
        })))
    }

    fn now(&self) -> u64 {
        crate::config::unix_secs(&self.clock)
    }

    /// A cached answer's outcome, without waiting.
    pub(crate) fn cached(&self, token: &str) -> Option<Result<Principal, Failure>> {
        let now = self.now();
        let answer = self.lookup(&digest(token), now)?;
        Some(self.outcome(&answer, token, now))
    }

    fn lookup(&self, key: &Digest, now: u64) -> Option<Answer> {
        {
            let mut cache = lock(&self.cache);
            match cache.get(key) {
                Some(c) if now < c.until => return Some(Answer::Active(Arc::clone(&c.active))),
                Some(_) => {
                    cache.remove(key);
                }
                None => {}
            }
        }
        let mut inactive = lock(&self.inactive);
        match inactive.get(key) {
            Some(until) if now < *until => Some(Answer::Inactive),
            Some(_) => {
                inactive.remove(key);
                None
            }
            None => None,
        }
    }

    /// Keeps an inactive answer for `min(cache_secs, MAX_INACTIVE_SECS)`.
    fn store_inactive(&self, key: Digest) {
        let now = self.now();
        let until = now.saturating_add(self.cfg.cache_secs.min(MAX_INACTIVE_SECS));
        if until <= now {
            return;
        }
        insert_bounded(
            &mut lock(&self.inactive),
            MAX_CACHED_INACTIVE,
            now,
            key,
            until,
            |u| *u,
        );
    }

    fn store(&self, key: Digest, active: &Arc<Active>) {
        let now = self.now();
        let mut until = now.saturating_add(self.cfg.cache_secs);
        if let Some(exp) = active.exp {
            until = until.min(exp);
        }
        if until <= now {
            return;
        }
        insert_bounded(
            &mut lock(&self.cache),
            MAX_CACHED,
            now,
            key,
            Cached {
                active: Arc::clone(active),
                until,
            },
            |c| c.until,
        );
    }

    /// Introspects `token` (one call shared by concurrent requests), then checks
    /// the answer.
    pub(crate) async fn introspect(self: Arc<Self>, token: String) -> Result<Principal, Failure> {
        let token = Zeroizing::new(token);
        let key = digest(&token);
        let mut rx = {
            let mut in_flight = lock(&self.in_flight);
            if let Some(rx) = in_flight.get(&key) {
                rx.clone()
            } else {
                // The call stores its answer before it leaves `in_flight`: a miss
                // here after a hit there cannot happen, but a request that missed
                // the cache just before the answer landed finds it now.
                if let Some(answer) = self.lookup(&key, self.now()) {
                    drop(in_flight);
                    return self.outcome(&answer, &token, self.now());
                }
                let Ok(runtime) = tokio::runtime::Handle::try_current() else {
                    drop(in_flight);
                    let answer =
                        Answer::Unavailable("no tokio runtime to make the call on".into(), false);
                    return self.outcome(&answer, &token, self.now());
                };
                let (tx, rx) = watch::channel(None);
                in_flight.insert(key, rx.clone());
                let this = Arc::clone(&self);
                let sent = Zeroizing::new(token.as_str().to_owned());
                runtime.spawn(async move {
                    let answer = this.call(&sent).await;
                    match &answer {
                        Answer::Active(active) => this.store(key, active),
                        Answer::Inactive => this.store_inactive(key),
                        Answer::Unavailable(..) => {}
                    }
                    lock(&this.in_flight).remove(&key);
                    tx.send_replace(Some(answer));
                });
                rx
            }
        };
        let wait = Duration::from_secs(self.cfg.timeout_secs) + Duration::from_millis(250);
        let answer = match tokio::time::timeout(wait, rx.wait_for(Option::is_some)).await {
            Ok(Ok(answer)) => answer.clone(),
            _ => None,
        }
        .unwrap_or_else(|| {
            Answer::Unavailable(
                format!(
                    "no complete answer within {} s (timeout_secs)",
                    self.cfg.timeout_secs
                )
                .into(),
                false,
            )
        });
        self.outcome(&answer, &token, self.now())
    }

    /// One POST to the endpoint, with the whole-call timeout.
    async fn call(&self, token: &str) -> Answer {
        let timeout = Duration::from_secs(self.cfg.timeout_secs);
        match tokio::time::timeout(timeout, self.post(token)).await {
            Ok(answer) => answer,
            Err(_) => Answer::Unavailable(
                format!(
                    "no complete answer within {} s (timeout_secs)",
                    self.cfg.timeout_secs
                )
                .into(),
                false,
            ),
        }
    }

    async fn post(&self, token: &str) -> Answer {
        let unavailable = |why: String| Answer::Unavailable(why.into(), false);
        let body = Zeroizing::new(
            form_urlencoded::Serializer::new(String::new())
                .append_pair("token", token)
                .append_pair("token_type_hint", "access_token")
                .finish(),
        );
        let req = Request::post(self.uri.clone())
            .header(AUTHORIZATION, self.authorization.clone())
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(ACCEPT, "application/json")
            .header(USER_AGENT, concat!("authgate/", env!("CARGO_PKG_VERSION")))
            .body(Full::new(Bytes::from(body.as_bytes().to_vec())));
        let Ok(req) = req else {
            return unavailable("cannot build the request".to_owned());
        };
        let res = match self.client.request(req).await {
            Ok(res) => res,
            Err(e) => {
                return unavailable(format!(
                    "cannot reach {}: {}",
                    self.host,
                    crate::verify::remote::connect_reason(&e)
                ));
            }
        };
        let status = res.status();
        if status != StatusCode::OK {
            let refused = matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN);
            return Answer::Unavailable(
                format!("{} answered {}", self.host, status.as_u16()).into(),
                refused,
            );
        }
        let body = match Limited::new(res.into_body(), MAX_ANSWER_BYTES)
            .collect()
            .await
        {
            Ok(b) => b.to_bytes(),
            Err(_) => {
                return unavailable(format!(
                    "the answer could not be read whole (at most {MAX_ANSWER_BYTES} bytes)"
                ));
            }
        };
        parse_answer(&body).unwrap_or_else(unavailable)
    }

    /// The request's outcome from an answer, checked at `now`.
    fn outcome(&self, answer: &Answer, token: &str, now: u64) -> Result<Principal, Failure> {
        let fail = |mut f: Failure| {
            f.token_fp = Some(token_fingerprint(token));
            Err(f)
        };
        let active = match answer {
            Answer::Active(active) => active,
            Answer::Inactive => {
                return fail(Failure::new(
                    Reason::TokenInactive,
                    SchemeLabel::Bearer,
                    format!(
                        "the introspection endpoint at {} says the token is not active (RFC 7662 §2.2)",
                        self.host
                    ),
                )
                .hint("the token expired, was revoked, or is not one the authorization server issued (another environment?); get a new token"));
            }
            Answer::Unavailable(why, refused) => {
                let f = Failure::new(
                    Reason::IntrospectionUnavailable,
                    SchemeLabel::Bearer,
                    format!("token introspection failed: {why}"),
                )
                .retry_after(RETRY_AFTER_SECS);
                return fail(if *refused {
                    f.hint("the endpoint refused this service's own client credentials: check bearer.introspection.client_id and the secret in client_secret_env (IntrospectionConfig::new)")
                } else {
                    f.hint("the token may well be valid: the client should retry later; check that the introspection endpoint is up and reachable from this service")
                });
            }
        };
        let leeway = self.leeway_secs;
        if let Some(exp) = active.exp
            && now >= exp.saturating_add(leeway)
        {
            let mut f = Failure::new(
                Reason::TokenExpired,
                SchemeLabel::Bearer,
                format!(
                    "the introspected token expired {} s ago (leeway {leeway} s)",
                    now.saturating_sub(exp)
                ),
            );
            f.skew_secs = i64::try_from(now.saturating_sub(exp)).ok();
            return fail(f);
        }
        if let Some(nbf) = active.nbf
            && nbf > now.saturating_add(leeway)
        {
            let mut f = Failure::new(
                Reason::TokenNotYetValid,
                SchemeLabel::Bearer,
                format!(
                    "the introspected token is valid only in {} s (leeway {leeway} s)",
                    nbf - now
                ),
            );
            f.skew_secs = i64::try_from(nbf - now).ok();
            return fail(f);
        }
        if let Some(iss) = &active.iss
            && !self.issuers.is_empty()
            && !self.issuers.iter().any(|i| i == iss)
        {
            let mut f = Failure::new(
                Reason::IssuerMismatch,
                SchemeLabel::Bearer,
                "the introspection answer's iss is not an expected issuer",
            )
            .hint("the token comes from another authorization server or environment, or bearer.introspection.issuer does not match the server's issuer exactly");
            f.jwt_iss = Some(clean(iss));
            f.expected = Some(self.issuers.join(" "));
            return fail(f);
        }
        if !active.aud.is_empty()
            && !self.audiences.is_empty()
            && !active.aud.iter().any(|a| self.audiences.contains(a))
        {
            let mut f = Failure::new(
                Reason::AudienceMismatch,
                SchemeLabel::Bearer,
                "no aud value of the introspection answer is an expected audience",
            )
            .hint("the token was issued for another service");
            f.jwt_aud = Some(clean(&active.aud.join(" ")));
            f.expected = Some(self.audiences.join(" "));
            return fail(f);
        }
        crate::event::authenticated(
            "bearer",
            active.subject.as_deref(),
            None,
            active.iss.as_deref(),
        );
        let subject = active.subject.clone().map_or(Subject::None, Subject::Owned);
        Ok(Principal::from_jwt(
            active.json.clone(),
            subject,
            Arc::from("scope"),
        ))
    }
}

/// Inserts into a cache of at most `cap` entries: at the cap, ended entries
/// (`until(v) <= now`) are dropped first, then any one.
fn insert_bounded<V>(
    map: &mut HashMap<Digest, V>,
    cap: usize,
    now: u64,
    key: Digest,
    value: V,
    until: impl Fn(&V) -> u64,
) {
    if map.len() >= cap && !map.contains_key(&key) {
        map.retain(|_, v| now < until(v));
        if map.len() >= cap
            && let Some(any) = map.keys().next().copied()
        {
            map.remove(&any);
        }
    }
    map.insert(key, value);
}

fn digest(token: &str) -> Digest {
    sha2::Sha256::digest(token.as_bytes()).into()
}

/// An introspection answer (RFC 7662 §2.2): a JSON object whose `active` is a
/// boolean. `Err` is a secret-free sentence.
fn parse_answer(body: &[u8]) -> Result<Answer, String> {
    let map: Map<String, Value> = crate::verify::json::parse_object(body)
        .map_err(|()| "the answer is not JSON (a JSON object is expected)".to_owned())?;
    match map.get("active") {
        Some(Value::Bool(true)) => {}
        Some(Value::Bool(false)) => return Ok(Answer::Inactive),
        _ => {
            return Err("the answer has no boolean \"active\" member (RFC 7662 §2.2)".to_owned());
        }
    }
    let string = |name: &str| map.get(name).and_then(Value::as_str).map(str::to_owned);
    let number = |name: &str| -> Result<Option<u64>, String> {
        match map.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_u64()
                .or_else(|| v.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
                .map(Some)
                .ok_or_else(|| format!("the answer's \"{name}\" is not a number")),
        }
    };
    let aud = match map.get("aud") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    };
    let active = Active {
        // A client-credentials token has no resource owner: its client is the
        // subject (as RFC 9068 §2.2 has it for JWT access tokens).
        subject: string("sub").or_else(|| string("client_id")),
        exp: number("exp")?,
        nbf: number("nbf")?,
        iss: string("iss"),
        aud,
        json: serde_json::to_vec(&map).map_err(|_| "the answer cannot be kept".to_owned())?,
    };
    Ok(Answer::Active(Arc::new(active)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caches_stay_within_their_bound() {
        let mut map = HashMap::new();
        for i in 0..5u8 {
            insert_bounded(&mut map, 3, 10, [i; 32], 20 + u64::from(i), |u| *u);
            assert!(map.len() <= 3);
        }
        assert!(map.contains_key(&[4; 32]), "the newest entry is kept");
        // Ended entries go first.
        let mut map = HashMap::from([([0; 32], 5u64), ([1; 32], 50), ([2; 32], 50)]);
        insert_bounded(&mut map, 3, 10, [3; 32], 60, |u| *u);
        assert_eq!(map.len(), 3);
        assert!(!map.contains_key(&[0; 32]));
        // Replacing a key at the cap drops nothing else.
        insert_bounded(&mut map, 3, 10, [3; 32], 70, |u| *u);
        assert_eq!((map.len(), map[&[3; 32]]), (3, 70));
    }

    #[test]
    fn answers_are_parsed_strictly() {
        assert!(matches!(
            parse_answer(br#"{"active":false}"#),
            Ok(Answer::Inactive)
        ));
        let Ok(Answer::Active(a)) =
            parse_answer(br#"{"active":true,"client_id":"c","exp":10,"aud":["x","y"],"iss":"i"}"#)
        else {
            panic!("active");
        };
        assert_eq!(a.subject.as_deref(), Some("c"));
        assert_eq!((a.exp, a.aud.len()), (Some(10), 2));
        for bad in [
            &b"<html>"[..],
            br#"{"active":"true"}"#,
            br#"{"scope":"a"}"#,
            br#"[true]"#,
            br#"{"active":true,"active":false}"#,
            br#"{"active":true,"exp":"soon"}"#,
        ] {
            assert!(
                parse_answer(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
