//! Failed-attempt limits: [`LimitsConfig`] and the per-instance counts.
//!
//! Failures (401 answers other than `missing_credentials`) are counted per key: the
//! Basic user-id of a configured user, and, when enabled, the client address. A key
//! with `max_failures` failures in its current window is answered 429
//! `too_many_attempts` with `Retry-After` (RFC 6585 §4, RFC 9110 §10.2.3) before
//! anything is hashed or verified, so a guesser cannot make the server burn CPU
//! either. The counts live in memory, in a table of fixed capacity: a flood of
//! distinct addresses evicts the least-failed entries first and cannot grow memory
//! without bound.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

use http::header::{AUTHORIZATION, FORWARDED};
use http::{Extensions, HeaderMap};

use crate::config::ConfigError;
use crate::credentials::SchemeLabel;
use crate::principal::{Principal, Scheme};
use crate::reason::Reason;
use crate::rejection::Failure;

/// What failures are counted by (TOML `limits.by`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LimitKey {
    /// The Basic user-id, for configured users only (an unknown user-id is never
    /// stored: it may be a password typed in the wrong field).
    User,
    /// The client address: the peer address of the connection, or the address a
    /// trusted proxy names in `Forwarded` (RFC 7239) / `X-Forwarded-For`.
    ClientIp,
}

impl LimitKey {
    /// The name used in the configuration and in the `auth.limit_key` event field.
    pub fn as_str(self) -> &'static str {
        match self {
            LimitKey::User => "user",
            LimitKey::ClientIp => "client_ip",
        }
    }
}

/// An address block, `192.0.2.0/24` or `2001:db8::/32` (a bare address is a /32 or
/// /128).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Cidr {
    net: IpAddr,
    prefix: u8,
}

impl Cidr {
    fn parse(s: &str) -> Option<Cidr> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let net: IpAddr = addr.trim().parse().ok()?;
        let max = if net.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.trim().parse::<u8>().ok().filter(|p| *p <= max)?,
            None => max,
        };
        Some(Cidr { net, prefix })
    }

    fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        match (self.net, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// An IPv4-mapped IPv6 address (`::ffff:192.0.2.1`, what a dual-stack socket
/// reports) counts as the IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Failed-attempt limits (TOML `[limits]`); set with
/// [`AuthConfigBuilder::limits`](crate::AuthConfigBuilder::limits).
///
/// ```
/// use authgate::{AuthConfig, BasicConfig, LimitKey, LimitsConfig};
/// # let _ = (AuthConfig::builder(), BasicConfig::new());
/// # fn main() -> Result<(), authgate::ConfigError> {
/// let limits = LimitsConfig::new()
///     .max_failures(5)
///     .window_secs(600)
///     .by([LimitKey::User, LimitKey::ClientIp])
///     .trusted_proxy("10.0.0.0/8")?;
/// # let _ = limits;
/// # Ok(())
/// # }
/// ```
#[must_use]
#[derive(Clone, Debug)]
pub struct LimitsConfig {
    pub(crate) max_failures: u32,
    pub(crate) window_secs: u64,
    pub(crate) by_user: bool,
    pub(crate) by_client_ip: bool,
    trusted_proxies: Vec<Cidr>,
    pub(crate) capacity: usize,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig::new()
    }
}

impl LimitsConfig {
    /// Default `max_failures`.
    pub const DEFAULT_MAX_FAILURES: u32 = 10;
    /// Default `window_secs`.
    pub const DEFAULT_WINDOW_SECS: u64 = 300;
    /// Default number of keys kept in memory per instance.
    pub const DEFAULT_CAPACITY: usize = 100_000;
    /// The longest window accepted (one day).
    pub const MAX_WINDOW_SECS: u64 = 86_400;

    /// 10 failures per 300 s, counted by user-id.
    pub fn new() -> Self {
        LimitsConfig {
            max_failures: Self::DEFAULT_MAX_FAILURES,
            window_secs: Self::DEFAULT_WINDOW_SECS,
            by_user: true,
            by_client_ip: false,
            trusted_proxies: Vec::new(),
            capacity: Self::DEFAULT_CAPACITY,
        }
    }

    /// Failures allowed per key and window (default 10); the next request for
    /// that key is answered 429 until the window ends.
    pub fn max_failures(mut self, n: u32) -> Self {
        self.max_failures = n;
        self
    }

    /// Length of the window in seconds (default 300), counted from the key's first
    /// failure.
    pub fn window_secs(mut self, secs: u64) -> Self {
        self.window_secs = secs;
        self
    }

    /// What failures are counted by (default: [`LimitKey::User`] only; the client
    /// address is opt-in because NAT puts many users behind one address).
    pub fn by(mut self, keys: impl IntoIterator<Item = LimitKey>) -> Self {
        self.by_user = false;
        self.by_client_ip = false;
        for key in keys {
            match key {
                LimitKey::User => self.by_user = true,
                LimitKey::ClientIp => self.by_client_ip = true,
            }
        }
        self
    }

    /// A proxy (address or CIDR block) whose `Forwarded` / `X-Forwarded-For` is
    /// believed for the client address. Headers from any other peer are ignored:
    /// a client can write them itself.
    ///
    /// # Errors
    ///
    /// `limits.trusted_proxies` when `cidr` is not an address or `address/prefix`.
    pub fn trusted_proxy(mut self, cidr: &str) -> Result<Self, ConfigError> {
        let parsed = Cidr::parse(cidr).ok_or_else(|| {
            ConfigError::new(
                "limits.trusted_proxies",
                format!(
                    "\"{}\" is not an address block; write it as 10.0.0.0/8, 192.0.2.7 or 2001:db8::/32",
                    crate::event::sanitize_for_message(cidr)
                ),
            )
        })?;
        self.trusted_proxies.push(parsed);
        Ok(self)
    }

    /// How many keys one instance keeps counts for (default 100 000). When the
    /// table is full, expired entries go first, then those with the fewest
    /// failures.
    pub fn capacity(mut self, entries: usize) -> Self {
        self.capacity = entries;
        self
    }

    pub(crate) fn check(&self) -> Result<(), ConfigError> {
        if self.max_failures == 0 {
            return Err(ConfigError::new(
                "limits.max_failures",
                "must be at least 1 (10 is usual); remove [limits] to turn the limits off",
            ));
        }
        if self.window_secs == 0 || self.window_secs > Self::MAX_WINDOW_SECS {
            return Err(ConfigError::new(
                "limits.window_secs",
                format!(
                    "must be between 1 and {} (300 is usual)",
                    Self::MAX_WINDOW_SECS
                ),
            ));
        }
        if !self.by_user && !self.by_client_ip {
            return Err(ConfigError::new(
                "limits.by",
                "name at least one of \"user\" and \"client_ip\"; remove [limits] to turn the limits off",
            ));
        }
        if self.capacity < 16 {
            return Err(ConfigError::new(
                "limits.capacity",
                "must be at least 16 (the default 100000 is a few MiB at most)",
            ));
        }
        Ok(())
    }

    fn trusted(&self, ip: IpAddr) -> bool {
        self.trusted_proxies.iter().any(|c| c.contains(ip))
    }
}

/// A counted key.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Key {
    User(Box<str>),
    Ip(IpAddr),
}

impl Key {
    pub(crate) fn kind(&self) -> LimitKey {
        match self {
            Key::User(_) => LimitKey::User,
            Key::Ip(_) => LimitKey::ClientIp,
        }
    }

    /// The key's name in a shared store (no user-id is ever logged from it).
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn store_name(&self) -> String {
        match self {
            Key::User(u) => format!("u:{u}"),
            Key::Ip(ip) => format!("ip:{ip}"),
        }
    }

    /// The inverse of [`store_name`](Self::store_name).
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn from_store_name(name: &str) -> Option<Key> {
        if let Some(user) = name.strip_prefix("u:") {
            return Some(Key::User(user.into()));
        }
        name.strip_prefix("ip:")?.parse().ok().map(Key::Ip)
    }
}

/// The keys of one request.
#[derive(Debug, Default)]
pub(crate) struct Keys {
    user: Option<Box<str>>,
    ip: Option<IpAddr>,
}

#[derive(Clone, Copy, Debug)]
struct Count {
    /// Unix second at which the window ends.
    window_end: u64,
    failures: u32,
}

/// The per-instance counts: a bounded table.
#[derive(Debug)]
pub(crate) struct LocalCounts {
    map: Mutex<HashMap<Key, Count>>,
    /// Entries in `map`, read without the lock (the common case: none).
    len: AtomicUsize,
    capacity: usize,
}

impl LocalCounts {
    fn new(capacity: usize) -> Self {
        LocalCounts {
            map: Mutex::new(HashMap::new()),
            len: AtomicUsize::new(0),
            capacity,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }

    /// Seconds left in the window when `key` has `max` failures or more.
    fn limited(&self, key: &Key, max: u32, now: u64) -> Option<u64> {
        let map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        let c = map.get(key)?;
        (c.failures >= max && c.window_end > now).then(|| c.window_end - now)
    }

    /// One more failure; the count in the current window.
    fn record(&self, key: Key, window: u64, now: u64, max: u32) -> u32 {
        let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        if !map.contains_key(&key) && map.len() >= self.capacity {
            make_room(&mut map, self.capacity, now, max);
        }
        let c = map.entry(key).or_insert(Count {
            window_end: now + window,
            failures: 0,
        });
        if c.window_end <= now {
            *c = Count {
                window_end: now + window,
                failures: 0,
            };
        }
        c.failures = c.failures.saturating_add(1);
        let failures = c.failures;
        self.len.store(map.len(), Ordering::Relaxed);
        failures
    }

    /// Takes a count known elsewhere (a shared store) when it is higher.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn absorb(&self, key: Key, failures: u32, window_end: u64, now: u64, max: u32) {
        if window_end <= now {
            return;
        }
        let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        if !map.contains_key(&key) && map.len() >= self.capacity {
            make_room(&mut map, self.capacity, now, max);
        }
        let c = map.entry(key).or_insert(Count {
            window_end,
            failures: 0,
        });
        if c.window_end <= now || failures > c.failures {
            *c = Count {
                window_end,
                failures,
            };
        }
        self.len.store(map.len(), Ordering::Relaxed);
    }

    fn remove(&self, key: &Key) {
        if self.len() == 0 {
            return;
        }
        let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        map.remove(key);
        self.len.store(map.len(), Ordering::Relaxed);
    }
}

/// Frees at least half the table: expired windows first, then the entries with the
/// fewest failures (a limited key goes last, so a flood of new addresses does not
/// lift a lock), then any. Amortised O(1) per insert: it runs once per
/// `capacity / 2` new keys at most.
fn make_room(map: &mut HashMap<Key, Count>, capacity: usize, now: u64, max: u32) {
    let target = capacity / 2;
    map.retain(|_, c| c.window_end > now);
    let mut floor = 1;
    while map.len() > target && floor < max {
        map.retain(|_, c| c.failures > floor);
        floor += 1;
    }
    if map.len() > target {
        let extra = map.len() - target;
        let drop: Vec<Key> = map.keys().take(extra).cloned().collect();
        for key in drop {
            map.remove(&key);
        }
    }
}

/// The limits of one layer: configuration, counts, and the shared store if any.
#[derive(Debug)]
pub(crate) struct Limiter {
    pub(crate) cfg: LimitsConfig,
    pub(crate) local: LocalCounts,
}

impl Limiter {
    pub(crate) fn new(cfg: LimitsConfig) -> Self {
        let local = LocalCounts::new(cfg.capacity);
        Limiter { cfg, local }
    }

    /// The keys of a request: its Basic user-id (decoded, not checked against the
    /// users: only configured users ever have a count) and its client address.
    pub(crate) fn keys(&self, headers: &HeaderMap, ext: &Extensions) -> Keys {
        let user = if self.cfg.by_user {
            basic_user(headers)
        } else {
            None
        };
        let ip = if self.cfg.by_client_ip {
            self.client_ip(headers, ext)
        } else {
            None
        };
        Keys { user, ip }
    }

    /// 429 `too_many_attempts` when one of the request's keys is over its limit.
    pub(crate) fn refuse(&self, keys: &Keys, now: u64) -> Option<Failure> {
        if self.local.len() == 0 {
            return None;
        }
        let max = self.cfg.max_failures;
        let (key, left) = self.each(keys).find_map(|k| {
            let left = self.local.limited(&k, max, now)?;
            Some((k, left))
        })?;
        let kind = key.kind();
        let (scheme, detail) = match kind {
            LimitKey::User => (
                SchemeLabel::Basic,
                format!(
                    "{max} failed attempts for this user-id within {} s; refused for {left} s more without checking the password",
                    self.cfg.window_secs
                ),
            ),
            LimitKey::ClientIp => (
                SchemeLabel::None,
                format!(
                    "{max} failed attempts from this client address within {} s; refused for {left} s more without checking the credentials",
                    self.cfg.window_secs
                ),
            ),
        };
        let mut f = Failure::new(Reason::TooManyAttempts, scheme, detail)
            .hint("a client retrying with wrong credentials, or someone guessing them; the count resets when the window ends")
            .retry_after(left.max(1));
        f.limit_key = Some(kind.as_str());
        if let Key::User(u) = &key {
            f.user = Some(u.to_string());
        }
        Some(f)
    }

    fn each<'k>(&self, keys: &'k Keys) -> impl Iterator<Item = Key> + 'k {
        let user = keys.user.clone().map(Key::User);
        let ip = keys.ip.map(Key::Ip);
        user.into_iter().chain(ip)
    }

    /// Whether `f` counts as a failed attempt: a 401 other than
    /// `missing_credentials`.
    pub(crate) fn counts(f: &Failure) -> bool {
        crate::challenge::Responder::status(f) == http::StatusCode::UNAUTHORIZED
            && f.reason != Reason::MissingCredentials
    }

    /// The keys a failure counts for: the user-id when it is a configured user's
    /// (the failure names the user only then), the client address always.
    pub(crate) fn failed_keys(&self, keys: &Keys, f: &Failure) -> Vec<Key> {
        let mut out = Vec::with_capacity(2);
        if self.cfg.by_user
            && f.scheme == SchemeLabel::Basic
            && let (Some(user), Some(known)) = (&keys.user, &f.user)
            && **user == **known
        {
            out.push(Key::User(user.clone()));
        }
        if let Some(ip) = keys.ip {
            out.push(Key::Ip(ip));
        }
        out
    }

    /// Counts a failure locally; returns the counts per key.
    pub(crate) fn record_local(&self, keys: &[Key], now: u64) -> Vec<u32> {
        keys.iter()
            .map(|k| {
                self.local
                    .record(k.clone(), self.cfg.window_secs, now, self.cfg.max_failures)
            })
            .collect()
    }

    /// A success clears the count of the user who proved the password, and of
    /// nothing else: the client address keeps its count (a guesser holding one
    /// valid account of their own cannot wipe the failures of their guesses).
    pub(crate) fn succeeded(&self, keys: &Keys, principal: &Principal) {
        if principal.scheme() == Scheme::Basic
            && let (Some(user), Some(subject)) = (&keys.user, principal.subject())
            && **user == *subject
        {
            self.local.remove(&Key::User(user.clone()));
        }
    }

    /// The client address: the peer's, or — when the peer is a trusted proxy —
    /// the nearest address in `Forwarded` (RFC 7239 §5.2), else in
    /// `X-Forwarded-For`, that is not itself a trusted proxy.
    fn client_ip(&self, headers: &HeaderMap, ext: &Extensions) -> Option<IpAddr> {
        let peer = canonical(peer_addr(ext)?);
        if self.cfg.trusted_proxies.is_empty() || !self.cfg.trusted(peer) {
            return Some(peer);
        }
        let chain = forwarded_chain(headers);
        let mut client = peer;
        // Right to left: each hop was added by the proxy after it; stop at the
        // first address no trusted proxy vouches for.
        for hop in chain.iter().rev() {
            let Some(ip) = hop else {
                // An obfuscated or unparsable hop: the trusted part ends here.
                break;
            };
            client = canonical(*ip);
            if !self.cfg.trusted(client) {
                break;
            }
        }
        Some(client)
    }
}

/// The peer address the server put in the request extensions: axum's
/// `ConnectInfo<SocketAddr>` (`into_make_service_with_connect_info`), or a
/// `SocketAddr` inserted by a hyper server loop.
fn peer_addr(ext: &Extensions) -> Option<IpAddr> {
    #[cfg(feature = "axum")]
    if let Some(info) = ext.get::<axum::extract::ConnectInfo<SocketAddr>>() {
        return Some(info.0.ip());
    }
    ext.get::<SocketAddr>()
        .map(SocketAddr::ip)
        .or_else(|| ext.get::<IpAddr>().copied())
}

/// The `for=` addresses of `Forwarded`, or else the addresses of
/// `X-Forwarded-For`, in order (client first); `None` for a hop that is not an
/// address (`unknown`, an obfuscated identifier).
fn forwarded_chain(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let mut out = Vec::new();
    for value in headers.get_all(FORWARDED) {
        let Ok(value) = value.to_str() else {
            out.push(None);
            continue;
        };
        for element in value.split(',') {
            let hop = element.split(';').find_map(|pair| {
                let (name, v) = pair.split_once('=')?;
                name.trim()
                    .eq_ignore_ascii_case("for")
                    .then(|| parse_node(v.trim().trim_matches('"')))
            });
            if let Some(hop) = hop {
                out.push(hop);
            }
        }
    }
    if !out.is_empty() {
        return out;
    }
    for value in headers.get_all("x-forwarded-for") {
        let Ok(value) = value.to_str() else {
            out.push(None);
            continue;
        };
        out.extend(value.split(',').map(|v| parse_node(v.trim())));
    }
    out
}

/// `192.0.2.1`, `192.0.2.1:4711`, `[2001:db8::1]`, `[2001:db8::1]:4711`, `2001:db8::1`.
fn parse_node(s: &str) -> Option<IpAddr> {
    if let Some(rest) = s.strip_prefix('[') {
        return rest.split_once(']')?.0.parse().ok();
    }
    s.parse::<IpAddr>()
        .ok()
        .or_else(|| s.parse::<SocketAddr>().ok().map(|a| a.ip()))
}

/// The user-id of a Basic `Authorization` header, when there is exactly one and it
/// decodes; the password is wiped at once.
fn basic_user(headers: &HeaderMap) -> Option<Box<str>> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let value = values.next()?;
    if values.next().is_some() {
        return None;
    }
    let (scheme, rest) = value.as_bytes().split_at_checked(6)?;
    if !scheme.eq_ignore_ascii_case(b"basic ") {
        return None;
    }
    use base64::Engine as _;
    let decoded = zeroize::Zeroizing::new(
        base64::engine::general_purpose::STANDARD
            .decode(rest.trim_ascii())
            .ok()?,
    );
    let colon = decoded.iter().position(|b| *b == b':')?;
    let user = std::str::from_utf8(&decoded[..colon]).ok()?;
    Some(user.into())
}

/// Counts the outcome of a decision: a counted failure for its keys, a Basic
/// success clears its own user's count. Without a shared store this is
/// synchronous; with one, a failure waits for the store's count (the request is
/// being refused anyway, and the next one, on any instance, must see it).
pub(crate) fn follow(
    shared: &std::sync::Arc<crate::authenticate::Shared>,
    limiter: &std::sync::Arc<Limiter>,
    keys: Keys,
    decision: crate::authenticate::Decision,
) -> crate::authenticate::Decision {
    use crate::authenticate::Decision;
    match decision {
        Decision::Pass(Some(principal)) => {
            limiter.succeeded(&keys, &principal);
            Decision::Pass(Some(principal))
        }
        Decision::Pass(None) => Decision::Pass(None),
        Decision::Reject(f) => {
            if !Limiter::counts(&f) {
                return Decision::Reject(f);
            }
            let failed = limiter.failed_keys(&keys, &f);
            let now = shared.cfg.now_secs();
            limiter.record_local(&failed, now);
            match shared.state.as_ref().and_then(|s| s.record(failed)) {
                Some(sharing) => Decision::Pending(Box::pin(async move {
                    sharing.await;
                    Err(*f)
                })),
                None => Decision::Reject(f),
            }
        }
        Decision::Pending(pending) => {
            let limiter = std::sync::Arc::clone(limiter);
            let shared = std::sync::Arc::clone(shared);
            Decision::Pending(Box::pin(async move {
                let result = pending.await;
                match &result {
                    Ok(principal) => limiter.succeeded(&keys, principal),
                    Err(f) if Limiter::counts(f) => {
                        let failed = limiter.failed_keys(&keys, f);
                        limiter.record_local(&failed, shared.cfg.now_secs());
                        if let Some(sharing) = shared.state.as_ref().and_then(|s| s.record(failed))
                        {
                            sharing.await;
                        }
                    }
                    Err(_) => {}
                }
                result
            }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidrs_parse_and_match() {
        let c = Cidr::parse("10.0.0.0/8").expect("cidr");
        assert!(c.contains("10.1.2.3".parse().expect("ip")));
        assert!(c.contains("::ffff:10.1.2.3".parse().expect("ip")));
        assert!(!c.contains("11.0.0.1".parse().expect("ip")));
        let c = Cidr::parse("2001:db8::/32").expect("cidr");
        assert!(c.contains("2001:db8:1::1".parse().expect("ip")));
        assert!(!c.contains("2001:db9::1".parse().expect("ip")));
        assert!(
            Cidr::parse("0.0.0.0/0")
                .expect("cidr")
                .contains("8.8.8.8".parse().expect("ip"))
        );
        assert_eq!(Cidr::parse("192.0.2.7").map(|c| c.prefix), Some(32));
        for bad in ["10.0.0.0/33", "nope", "10.0.0/8", "::/129", ""] {
            assert!(Cidr::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn forwarded_nodes_parse() {
        let mut h = HeaderMap::new();
        h.append(
            FORWARDED,
            "for=192.0.2.60;proto=http, for=\"[2001:db8::1]:4711\""
                .parse()
                .expect("value"),
        );
        h.append(FORWARDED, "For=unknown".parse().expect("value"));
        let chain = forwarded_chain(&h);
        assert_eq!(
            chain,
            vec![
                Some("192.0.2.60".parse().expect("ip")),
                Some("2001:db8::1".parse().expect("ip")),
                None
            ]
        );
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            "203.0.113.5, 10.0.0.2:80".parse().expect("value"),
        );
        assert_eq!(
            forwarded_chain(&h),
            vec![
                Some("203.0.113.5".parse().expect("ip")),
                Some("10.0.0.2".parse().expect("ip"))
            ]
        );
    }

    /// A flood of distinct addresses never grows the table past its capacity, and
    /// a limited key survives the evictions it causes.
    #[test]
    fn counts_are_bounded_and_limited_keys_survive_a_flood() {
        let cap = 1_000;
        let counts = LocalCounts::new(cap);
        let max = 3;
        let victim = Key::User("alice".into());
        for _ in 0..max {
            counts.record(victim.clone(), 300, 1_000, max);
        }
        for i in 0..200_000u32 {
            let ip = IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + i));
            counts.record(Key::Ip(ip), 300, 1_000, max);
            assert!(counts.len() <= cap, "{} entries after {i}", counts.len());
        }
        assert!(counts.limited(&victim, max, 1_001).is_some());
        // Expired entries go first.
        counts.record(Key::User("bob".into()), 300, 5_000, max);
        assert!(counts.len() <= cap);
    }
}
