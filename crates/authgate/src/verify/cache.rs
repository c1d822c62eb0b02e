//! A bounded cache of successfully verified Bearer tokens, modelled on
//! Envoy's `jwt_authn` `jwt_cache_config`: a token seen again is not decoded,
//! parsed or signature-checked again, only its time claims are re-checked.
//!
//! # What is cached, and for how long
//!
//! - **Only valid tokens.** The caller inserts an entry after every check of
//!   verification up to (not including) revocation passed. Rejections are never
//!   cached: a flood of bad tokens costs the full verification each time, and
//!   cannot evict good entries.
//! - **Keyed by SHA-256 of the token's signature.** A token is split at its last
//!   `.`: the signature after it (what makes the token a credential: it cannot
//!   be computed without the signing key) is stored only as its SHA-256, the
//!   map's key; the signed part before it (header and payload as sent, the
//!   same claims the entry keeps decoded anyway) is stored and compared byte for
//!   byte on every hit. So a hit means the token is byte-identical to a verified
//!   one (anything else would need a second SHA-256 preimage of the signature),
//!   and a heap dump of the cache holds no usable token. A token with a cached
//!   signature but another signed part (a tampered payload) is a miss, and does
//!   not disturb the entry. Hashing the signature alone, not the whole token,
//!   makes a hit cheaper: for an RS256 access token of 650 bytes SHA-256 reads
//!   342, for HS256 43.
//! - **Lifetime.** An entry is served until the earliest of the token's `exp`
//!   (without the leeway: between `exp` and `exp + leeway` the token is verified
//!   in full again, which is always correct) and `verified_at + ttl`.
//! - **Time claims re-checked on every hit** against the clock the caller passes
//!   in (it may be an injected one that moves backwards): `exp` (with the leeway:
//!   expired when `now >= exp + leeway`, RFC 7519 §4.1.4), `nbf` and `iat` (not
//!   served while `now + leeway < nbf` or `< iat`). A hit that fails these checks is a
//!   miss: the full verifier then produces the precise reason.
//! - **Key-set generation.** Each entry records the generation of the key set
//!   that verified it; a lookup with another generation is a miss and drops the
//!   entry. The verifier bumps its generation whenever its keys change (a JWKS
//!   refresh that adds, removes or replaces a key), so a token whose key was
//!   removed is never served from the cache again. [`TokenCache::clear`] drops
//!   everything at once.
//! - **Not cached:** revocation. The caller still runs the revocation check (by
//!   `jti`) on every hit, because revocation is decided by the application per
//!   request.
//!
//! # Memory bound
//!
//! At most `max_entries` entries (default [`DEFAULT_MAX_ENTRIES`] = 10 000), each
//! costing [`FIXED_BYTES_PER_ENTRY`] (160) bytes plus `size_of::<V>()` plus the
//! heap that the cached value `V` owns, plus the token's signed part (its length
//! and the allocator's 16). Tokens longer than `max_token_bytes` (default
//! [`DEFAULT_MAX_CACHED_TOKEN_BYTES`] = 4 KiB) are never cached, so the claims of
//! an entry come from at most ~3 KiB of JSON. For authgate's entries that heap
//! is:
//!
//! - the signed part (~250–1 300 bytes for typical access tokens, at most 4 KiB);
//! - the verified claim set as JSON (its decoded size: ¾ of the payload
//!   segment, ~180–1 000 bytes for typical access tokens, at most ~3 KiB), the
//!   `Principal`'s fixed part (~150 bytes), and `kid`/`iss`/`jti` copies;
//! - once a handler or `RequireScopes` has asked for them, the principal's
//!   scopes, and, once a handler has called `Principal::claims()`, the parsed
//!   `serde_json::Map`, which holds about 4× its JSON for a typical token (184
//!   bytes of JSON → 757 bytes) and up to ~10× for a payload of many tiny claims
//!   (6 KiB → 62 KiB; measured by the `allocs` bench, docs/BENCHMARKS.md).
//!
//! So typical tokens cost ~0.7–1.5 KiB per entry (~7–15 MiB for the default
//! 10 000), ~2 KiB when handlers read `claims()`; the worst case (every entry
//! a distinct 4 KiB token of tiny claims, all valid, all read through
//! `claims()`) is ~36 KiB per entry, ~360 MiB. Only the token issuer can mint
//! such tokens, since only verified tokens are inserted; lower `max_entries` or
//! `max_token_bytes` where that matters.
//!
//! # Concurrency and eviction
//!
//! The map is split into up to 16 shards, each a `Mutex<HashMap>` chosen by the
//! digest, so concurrent requests rarely meet on a lock; a lock is held only for a
//! hash lookup, the comparison of the signed part and an `Arc` clone. The digest
//! is already uniformly distributed, so the maps hash with its first 8 bytes
//! instead of SipHash. When a shard is full, an insert first drops the shard's
//! expired entries and entries of another key-set generation; if that frees
//! nothing, it evicts an eighth of the shard in the map's iteration order, which
//! for digest keys is effectively random. Each
//! full sweep is paid for by the `cap / 8` inserts before the next one, so an
//! insert costs O(1) amortized, even under a flood of distinct tokens.

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use sha2::{Digest, Sha256};

/// Default bound on the number of entries.
pub(crate) const DEFAULT_MAX_ENTRIES: usize = 10_000;

/// Default time an entry is served for, whatever its `exp` (the default JWKS
/// refresh interval, so a cached token is re-verified at least that often).
pub(crate) const DEFAULT_TTL: Duration = Duration::from_secs(300);

/// Tokens longer than this are verified every time, never cached: it bounds the
/// memory of one entry.
pub(crate) const DEFAULT_MAX_CACHED_TOKEN_BYTES: usize = 4 * 1024;

#[allow(dead_code)] // used by the tests and benchmarks
/// The bytes one entry costs besides `size_of::<V>()` and the heap `V` owns: the
/// map slot (digest, deadline, pointer) with hashbrown's control byte and load
/// factor (7/8), plus the `Arc`'s two counters and the entry's own fields, plus
/// the allocator's header of the `Arc` allocation.
pub(crate) const FIXED_BYTES_PER_ENTRY: usize = 160;

/// Most shards; fewer when `max_entries` is smaller.
const MAX_SHARDS: usize = 16;

/// The time claims of a verified token, re-checked on every hit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct TimeClaims {
    /// `exp` (NumericDate, seconds), if present.
    pub(crate) exp: Option<u64>,
    /// `nbf`, if present.
    pub(crate) nbf: Option<u64>,
    /// `iat`, if present.
    pub(crate) iat: Option<u64>,
}

impl TimeClaims {
    /// Whether a token with these claims is acceptable at `now`: not expired
    /// (`now < exp + leeway`), and `nbf` and `iat` not more than the leeway ahead.
    pub(crate) fn valid_at(&self, now: u64, leeway: u64) -> bool {
        let expired = self
            .exp
            .is_some_and(|exp| now >= exp.saturating_add(leeway));
        let early = |t: Option<u64>| t.is_some_and(|t| now.saturating_add(leeway) < t);
        !expired && !early(self.nbf) && !early(self.iat)
    }
}

/// What a cache hit returns: the verified result and what is needed to re-check
/// it.
pub(crate) struct CachedEntry<V> {
    /// The verified result (for authgate: the principal and what the success
    /// event and the revocation check need).
    pub(crate) value: V,
    /// The token's time claims.
    pub(crate) time: TimeClaims,
    /// The generation of the key set that verified the token.
    pub(crate) generation: u64,
    /// When the token was verified (unix seconds; the `now` of that verification).
    pub(crate) verified_at: u64,
}

impl<V> CachedEntry<V> {
    /// An entry for a token verified at `verified_at` by key-set `generation`.
    pub(crate) fn new(value: V, time: TimeClaims, generation: u64, verified_at: u64) -> Self {
        CachedEntry {
            value,
            time,
            generation,
            verified_at,
        }
    }
}

impl<V> fmt::Debug for CachedEntry<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The value may hold claims; they are verified, but keep Debug short.
        f.debug_struct("CachedEntry")
            .field("time", &self.time)
            .field("generation", &self.generation)
            .field("verified_at", &self.verified_at)
            .finish_non_exhaustive()
    }
}

/// SHA-256 of a token's signature: the map's key.
type Digest32 = [u8; 32];

/// What a token is looked up by: its signature's SHA-256 and its signed part
/// (see the module docs). Computed once per request; no `Debug` (it borrows the
/// token's signed part).
pub(crate) struct Key<'t> {
    digest: Digest32,
    /// Everything up to and including the last `.` (empty when there is none,
    /// so `x` and `.x` differ).
    signed: &'t [u8],
}

struct Slot<V> {
    entry: Arc<CachedEntry<V>>,
    /// Served while `now < deadline`: `min(exp, verified_at + ttl)`.
    deadline: u64,
    /// The token's signed part, compared on every hit.
    signed: Box<[u8]>,
}

/// Hashes a digest key by its first 8 bytes: SHA-256 output needs no further
/// mixing, and nobody can choose digests (collisions would need a SHA-256 break).
#[derive(Default)]
struct DigestHasher(u64);

impl Hasher for DigestHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // `[u8; 32]: Hash` writes the length first (a usize, via `write_usize`,
        // which lands here by default), then the 32 bytes.
        if let Some(head) = bytes.get(..8) {
            let mut b = [0u8; 8];
            b.copy_from_slice(head);
            self.0 = u64::from_le_bytes(b);
        }
    }

    fn write_usize(&mut self, _len: usize) {}
}

type Map<V> = HashMap<Digest32, Slot<V>, BuildHasherDefault<DigestHasher>>;

struct Shard<V> {
    map: Mutex<Map<V>>,
    cap: usize,
}

/// A bounded, sharded cache of verified tokens. See the module docs.
pub(crate) struct TokenCache<V> {
    shards: Box<[Shard<V>]>,
    max_entries: usize,
    ttl_secs: u64,
    max_token_bytes: usize,
}

impl<V> fmt::Debug for TokenCache<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenCache")
            .field("max_entries", &self.max_entries)
            .field("ttl_secs", &self.ttl_secs)
            .field("max_token_bytes", &self.max_token_bytes)
            .field("len", &self.len())
            .finish()
    }
}

impl<V> TokenCache<V> {
    /// A cache of at most `max_entries` tokens, each served for at most `ttl`
    /// (and never past its `exp`). `max_entries == 0` turns the cache off: `get`
    /// then returns `None` without hashing, and `insert` does nothing.
    pub(crate) fn new(max_entries: usize, ttl: Duration) -> Self {
        let n = max_entries.min(MAX_SHARDS);
        // Shard capacities add up to exactly `max_entries`.
        let shards = (0..n)
            .map(|i| Shard {
                map: Mutex::new(Map::default()),
                cap: max_entries / n + usize::from(i < max_entries % n),
            })
            .collect();
        TokenCache {
            shards,
            max_entries,
            ttl_secs: ttl.as_secs(),
            max_token_bytes: DEFAULT_MAX_CACHED_TOKEN_BYTES,
        }
    }

    #[allow(dead_code)] // used by the tests and benchmarks
    /// Tokens longer than `bytes` are never cached (default
    /// [`DEFAULT_MAX_CACHED_TOKEN_BYTES`]).
    #[must_use]
    pub(crate) fn with_max_token_bytes(mut self, bytes: usize) -> Self {
        self.max_token_bytes = bytes;
        self
    }

    /// Whether the cache stores anything at all.
    pub(crate) fn is_enabled(&self) -> bool {
        !self.shards.is_empty()
    }

    #[allow(dead_code)] // used by the tests and benchmarks
    /// The configured bound on the number of entries.
    pub(crate) fn max_entries(&self) -> usize {
        self.max_entries
    }

    #[cfg(test)]
    /// The verified entry for `token`, if one is cached for key-set `generation`
    /// and its time claims still hold at `now` with `leeway`.
    pub(crate) fn get(
        &self,
        token: &str,
        now: u64,
        leeway: u64,
        generation: u64,
    ) -> Option<Arc<CachedEntry<V>>> {
        self.key_of(token.as_bytes())
            .and_then(|key| self.get_key(&key, now, leeway, generation))
    }

    /// [`get`](Self::get) by the token's key ([`key_of`](Self::key_of)).
    pub(crate) fn get_key(
        &self,
        key: &Key<'_>,
        now: u64,
        leeway: u64,
        generation: u64,
    ) -> Option<Arc<CachedEntry<V>>> {
        let mut map = self.shard(&key.digest);
        let slot = map.get(&key.digest)?;
        if *slot.signed != *key.signed {
            // A cached signature on another header or payload: not this entry's
            // token (a tampered one, most likely). The entry stays; the full
            // verifier rejects the token.
            return None;
        }
        if slot.entry.generation != generation || now >= slot.deadline {
            // Stale for everyone: the key set changed, or the entry outlived its
            // exp or TTL.
            map.remove(&key.digest);
            return None;
        }
        // nbf/iat (and exp with leeway) against this request's clock. A clock
        // that moved backwards may make them fail now and pass later: keep the
        // entry, but do not serve it.
        slot.entry
            .time
            .valid_at(now, leeway)
            .then(|| Arc::clone(&slot.entry))
    }

    #[cfg(test)]
    /// Caches the verified `entry` for `token`. Call it only for tokens that
    /// passed every check; entries that would already be stale are dropped.
    pub(crate) fn insert(&self, token: &str, entry: CachedEntry<V>) {
        if let Some(key) = self.key_of(token.as_bytes()) {
            self.insert_key(&key, entry);
        }
    }

    /// [`insert`](Self::insert) by the token's key ([`key_of`](Self::key_of)).
    pub(crate) fn insert_key(&self, key: &Key<'_>, entry: CachedEntry<V>) {
        let now = entry.verified_at;
        let deadline = entry
            .time
            .exp
            .unwrap_or(u64::MAX)
            .min(now.saturating_add(self.ttl_secs));
        if deadline <= now {
            return;
        }
        let shard = &self.shards[shard_index(&key.digest, self.shards.len())];
        let mut map = lock(&shard.map);
        if map.len() >= shard.cap && !map.contains_key(&key.digest) {
            evict(&mut map, shard.cap, now, entry.generation);
        }
        map.insert(
            key.digest,
            Slot {
                entry: Arc::new(entry),
                deadline,
                signed: key.signed.into(),
            },
        );
    }

    #[allow(dead_code)] // used by the tests and benchmarks
    /// Drops every entry.
    pub(crate) fn clear(&self) {
        for shard in self.shards.iter() {
            lock(&shard.map).clear();
        }
    }

    /// The number of entries (stale ones included until they are dropped).
    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| lock(&s.map).len()).sum()
    }

    /// The key `token` is looked up by (the SHA-256 of its signature, and its
    /// signed part), or `None` when the cache is off or the token too long to
    /// cache.
    pub(crate) fn key_of<'t>(&self, token: &'t [u8]) -> Option<Key<'t>> {
        if !self.is_enabled() || token.len() > self.max_token_bytes {
            return None;
        }
        let split = memchr::memrchr(b'.', token).map_or(0, |dot| dot + 1);
        let (signed, signature) = token.split_at(split);
        Some(Key {
            digest: Sha256::digest(signature).into(),
            signed,
        })
    }

    fn shard(&self, key: &Digest32) -> MutexGuard<'_, Map<V>> {
        lock(&self.shards[shard_index(key, self.shards.len())].map)
    }
}

impl<V> Default for TokenCache<V> {
    fn default() -> Self {
        TokenCache::new(DEFAULT_MAX_ENTRIES, DEFAULT_TTL)
    }
}

/// The shard of a key: bytes 8..16 of the digest (the map hashes bytes 0..8).
fn shard_index(key: &Digest32, shards: usize) -> usize {
    let mut b = [0u8; 8];
    b.copy_from_slice(&key[8..16]);
    // `shards` is at most 16, so the cast and the remainder are exact.
    (u64::from_le_bytes(b) % shards as u64) as usize
}

/// The map stays consistent whatever panicked while holding the lock (no update
/// is split across a panic point), so a poisoned lock is used as is.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Makes room in a full shard: drop stale entries; if that freed nothing, drop an
/// eighth of the shard (at least one entry) in iteration order.
fn evict<V>(map: &mut Map<V>, cap: usize, now: u64, generation: u64) {
    map.retain(|_, s| s.deadline > now && s.entry.generation == generation);
    if map.len() < cap {
        return;
    }
    let victims: Vec<Digest32> = map.keys().take((cap / 8).max(1)).copied().collect();
    for key in &victims {
        map.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_700_000_000;
    const LEEWAY: u64 = 30;

    fn cache(max: usize) -> TokenCache<&'static str> {
        TokenCache::new(max, Duration::from_secs(300))
    }

    fn entry(exp: Option<u64>, generation: u64) -> CachedEntry<&'static str> {
        let time = TimeClaims {
            exp,
            nbf: None,
            iat: Some(NOW),
        };
        CachedEntry::new("principal", time, generation, NOW)
    }

    #[test]
    fn hit_returns_the_entry() {
        let c = cache(10);
        c.insert("a.b.c", entry(Some(NOW + 3600), 1));
        let hit = c.get("a.b.c", NOW + 1, LEEWAY, 1).expect("hit");
        assert_eq!(hit.value, "principal");
        assert!(c.get("a.b.d", NOW + 1, LEEWAY, 1).is_none());
    }

    #[test]
    fn a_cached_signature_on_another_signed_part_is_a_miss() {
        let c = cache(10);
        c.insert("h.p.sig", entry(Some(NOW + 3600), 1));
        // The signature of a verified token on a tampered header or payload.
        for other in ["h.q.sig", "h.p.p.sig", "hp.sig", ".sig", "sig", "h.p.sig."] {
            assert!(c.get(other, NOW, LEEWAY, 1).is_none(), "{other}");
        }
        // The entry is untouched by those lookups.
        assert_eq!(c.len(), 1);
        assert!(c.get("h.p.sig", NOW, LEEWAY, 1).is_some());
        // With no '.', the whole token is the "signature": `x` and `.x` differ.
        c.insert("x", entry(Some(NOW + 3600), 1));
        assert!(c.get("x", NOW, LEEWAY, 1).is_some());
        assert!(c.get(".x", NOW, LEEWAY, 1).is_none());
    }

    #[test]
    fn only_the_digest_of_the_signature_is_kept() {
        let c = cache(10);
        c.insert("header.payload.SIGNATURE", entry(Some(NOW + 3600), 1));
        let expected: Digest32 = Sha256::digest(b"SIGNATURE").into();
        let mut seen = 0;
        for shard in c.shards.iter() {
            for (digest, slot) in lock(&shard.map).iter() {
                assert_eq!(*digest, expected);
                assert_eq!(&*slot.signed, b"header.payload.");
                seen += 1;
            }
        }
        assert_eq!(seen, 1);
    }

    #[test]
    fn expired_token_is_never_served() {
        let c = cache(10);
        let exp = NOW + 10;
        c.insert("t", entry(Some(exp), 1));
        assert!(c.get("t", exp - 1, LEEWAY, 1).is_some());
        // From exp on the entry is gone, although exp + leeway is still ahead:
        // the full verifier decides inside the leeway.
        assert!(c.get("t", exp, LEEWAY, 1).is_none());
        assert!(c.get("t", exp + LEEWAY, LEEWAY, 1).is_none());
        assert!(c.get("t", exp + 10_000, 0, 1).is_none());
        assert_eq!(c.len(), 0, "an expired entry is dropped on lookup");
        // And with no leeway, exactly at exp (RFC 7519 §4.1.4: now must be before exp).
        c.insert("u", entry(Some(exp), 1));
        assert!(c.get("u", exp, 0, 1).is_none());
    }

    #[test]
    fn already_expired_entries_are_not_inserted() {
        let c = cache(10);
        c.insert("t", entry(Some(NOW), 1));
        c.insert("u", entry(Some(NOW - 5), 1));
        assert_eq!(c.len(), 0);
    }

    #[test]
    fn ttl_bounds_the_lifetime() {
        let c = cache(10);
        c.insert("t", entry(None, 1));
        c.insert("u", entry(Some(NOW + 100_000), 1));
        assert!(c.get("t", NOW + 299, LEEWAY, 1).is_some());
        assert!(c.get("u", NOW + 299, LEEWAY, 1).is_some());
        assert!(c.get("t", NOW + 300, LEEWAY, 1).is_none());
        assert!(c.get("u", NOW + 300, LEEWAY, 1).is_none());
    }

    #[test]
    fn key_set_change_invalidates() {
        let c = cache(10);
        c.insert("t", entry(Some(NOW + 3600), 7));
        assert!(c.get("t", NOW, LEEWAY, 7).is_some());
        // A key was removed from the key set: the verifier bumped its generation.
        assert!(c.get("t", NOW, LEEWAY, 8).is_none());
        assert_eq!(c.len(), 0, "the stale entry is dropped");
        // Going back to the old generation number does not resurrect it.
        assert!(c.get("t", NOW, LEEWAY, 7).is_none());
    }

    #[test]
    fn clear_drops_everything() {
        let c = cache(100);
        for i in 0..50 {
            c.insert(&format!("t{i}"), entry(Some(NOW + 3600), 1));
        }
        assert_eq!(c.len(), 50);
        c.clear();
        assert_eq!(c.len(), 0);
        assert!(c.get("t1", NOW, LEEWAY, 1).is_none());
    }

    #[test]
    fn future_nbf_or_iat_is_not_served() {
        let c = cache(10);
        // Verified when the (injected) clock said NOW + 1000; the clock has since
        // moved back.
        let time = TimeClaims {
            exp: Some(NOW + 7200),
            nbf: Some(NOW + 1000),
            iat: None,
        };
        c.insert("t", CachedEntry::new("p", time, 1, NOW + 1000));
        assert!(c.get("t", NOW, LEEWAY, 1).is_none());
        assert!(c.get("t", NOW + 1000 - LEEWAY - 1, LEEWAY, 1).is_none());
        assert!(c.get("t", NOW + 1000 - LEEWAY, LEEWAY, 1).is_some());
        let time = TimeClaims {
            exp: Some(NOW + 7200),
            nbf: None,
            iat: Some(NOW + 500),
        };
        c.insert("u", CachedEntry::new("p", time, 1, NOW + 500));
        assert!(c.get("u", NOW, LEEWAY, 1).is_none());
        assert!(c.get("u", NOW + 500, LEEWAY, 1).is_some());
    }

    #[test]
    fn time_claims_follow_spec_boundaries() {
        let t = TimeClaims {
            exp: Some(100),
            nbf: Some(50),
            iat: Some(40),
        };
        assert!(t.valid_at(99, 0));
        assert!(!t.valid_at(100, 0), "now == exp is expired");
        assert!(t.valid_at(129, 30));
        assert!(!t.valid_at(130, 30));
        assert!(t.valid_at(50, 0), "now == nbf is valid");
        assert!(!t.valid_at(49, 0));
        assert!(t.valid_at(20, 30));
        assert!(!t.valid_at(19, 30));
        assert!(TimeClaims::default().valid_at(u64::MAX, u64::MAX));
    }

    #[test]
    fn bound_holds_under_a_flood_of_distinct_tokens() {
        let c = cache(DEFAULT_MAX_ENTRIES);
        for i in 0..50_000 {
            c.insert(&format!("valid.token.{i}"), entry(Some(NOW + 3600), 1));
            if i % 997 == 0 {
                assert!(c.len() <= DEFAULT_MAX_ENTRIES);
            }
        }
        let len = c.len();
        assert!(len <= DEFAULT_MAX_ENTRIES, "{len} entries");
        // Eviction frees an eighth of a shard at a time, not everything.
        assert!(len >= DEFAULT_MAX_ENTRIES * 3 / 4, "{len} entries");
        // The newest entry is there.
        assert!(c.get("valid.token.49999", NOW, LEEWAY, 1).is_some());
    }

    #[test]
    fn odd_bounds_are_exact() {
        for max in [1, 7, 15, 16, 17, 100, 1001] {
            let c = cache(max);
            for i in 0..max * 5 {
                c.insert(&format!("t{i}"), entry(Some(NOW + 3600), 1));
            }
            assert!(c.len() <= max, "max {max}: {}", c.len());
            assert!(c.len() > 0);
        }
    }

    #[test]
    fn full_shard_drops_stale_entries_first() {
        let c = cache(1);
        c.insert("old", entry(Some(NOW + 3600), 1));
        // A new generation: the old entry goes, the new one stays.
        c.insert("new", entry(Some(NOW + 3600), 2));
        assert_eq!(c.len(), 1);
        assert!(c.get("new", NOW, LEEWAY, 2).is_some());
    }

    #[test]
    fn disabled_cache_stores_nothing() {
        let c = cache(0);
        assert!(!c.is_enabled());
        c.insert("t", entry(Some(NOW + 3600), 1));
        assert_eq!(c.len(), 0);
        assert!(c.get("t", NOW, LEEWAY, 1).is_none());
    }

    #[test]
    fn long_tokens_are_not_cached() {
        let c = cache(10).with_max_token_bytes(16);
        let long = "x".repeat(17);
        c.insert(&long, entry(Some(NOW + 3600), 1));
        assert_eq!(c.len(), 0);
        c.insert("short", entry(Some(NOW + 3600), 1));
        assert_eq!(c.len(), 1);
    }

    #[test]
    fn debug_shows_no_tokens() {
        let c = cache(10);
        c.insert("secret-token-value", entry(Some(NOW + 3600), 1));
        let s = format!("{c:?}");
        assert!(!s.contains("secret-token-value"), "{s}");
        assert!(s.contains("len: 1"), "{s}");
    }

    #[test]
    fn concurrent_use() {
        let c = Arc::new(cache(1000));
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let c = Arc::clone(&c);
                std::thread::spawn(move || {
                    let mut hits = 0;
                    for i in 0..5000 {
                        let token = format!("t{t}.{i}");
                        c.insert(&token, entry(Some(NOW + 3600), 1));
                        // Another thread's insert may evict it in between.
                        hits += usize::from(c.get(&token, NOW, LEEWAY, 1).is_some());
                        assert!(c.get("never.inserted", NOW, LEEWAY, 1).is_none());
                    }
                    hits
                })
            })
            .collect();
        for t in threads {
            let hits = t.join().expect("no panic");
            assert!(hits > 4000, "{hits} of 5000 fresh entries found");
        }
        assert!(c.len() <= 1000);
    }

    #[test]
    fn fixed_cost_per_entry_is_documented_honestly() {
        // Slot in the map + its control byte, at hashbrown's worst load factor
        // (7/8), plus the Arc's counters and the entry's fields other than V.
        let slot = std::mem::size_of::<(Digest32, Slot<()>)>() + 1;
        let arc = 2 * std::mem::size_of::<usize>() + std::mem::size_of::<CachedEntry<()>>();
        let fixed = slot * 8 / 7 + arc;
        assert!(fixed <= FIXED_BYTES_PER_ENTRY, "{fixed}");
    }
}
