//! The Redis store: one background task per layer keeps the revocation set in
//! memory current (publish/subscribe, a periodic full resync) and publishes the
//! revocations made here; failed-attempt counts are shared by a Lua script
//! (increment and expiry in one atomic step).
//!
//! Layout, under the configured prefix `P`:
//! - `P revoked` — a hash: field `j:<jti>` or `k:<api key id>`, value the unix
//!   second the revocation ends (`u64::MAX` for API keys);
//! - `P events` — the channel: `r <kind> <until> <id>` for a revocation,
//!   `l <failures> <window end> <key>` when a key reaches its limit;
//! - `P f:<key>` — a failure count with the window as its expiry.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock, Weak};
use std::time::Duration;

use futures_util::StreamExt as _;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::mpsc;

use super::{OnUnavailable, StateConfig, redact_url};
use crate::config::Clock;
use crate::credentials::SchemeLabel;
use crate::limits::{Key, Limiter};
use crate::reason::Reason;
use crate::rejection::Failure;
use crate::revocation::{Kind, Publish, Revocations};

const STARTING: u8 = 0;
const UP: u8 = 1;
const DOWN: u8 = 2;

/// Each store command waits at most this long: the request path never waits on
/// it, and a refused request (the only one that does) should not hang.
const COMMAND_TIMEOUT: Duration = Duration::from_millis(500);

/// Increment, expiry set on the first failure of a window, and the time left.
const COUNT_SCRIPT: &str = r"
local n = redis.call('INCR', KEYS[1])
local ttl = redis.call('TTL', KEYS[1])
if ttl < 0 then
  redis.call('EXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {n, ttl}
";

/// The shared store of a layer.
#[derive(Debug)]
pub(crate) struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    client: Option<redis::Client>,
    url: String,
    hash: String,
    channel: String,
    count_prefix: String,
    resync: Duration,
    on_unavailable: OnUnavailable,
    status: AtomicU8,
    revocations: Revocations,
    limiter: Option<Arc<Limiter>>,
    clock: Clock,
    conn: RwLock<Option<ConnectionManager>>,
    /// Revocations made here that the store has not confirmed yet (replayed on
    /// reconnect).
    unsent: Mutex<Vec<(Kind, String, u64)>>,
    /// The background task, once a Tokio runtime was there to start it.
    task: Mutex<Option<mpsc::UnboundedReceiver<(Kind, String, u64)>>>,
    count_script: redis::Script,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("url", &redact_url(&self.url))
            .field("status", &self.status.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// Hands the revocations made through the layer's handle to the task.
#[derive(Debug)]
struct Sender(mpsc::UnboundedSender<(Kind, String, u64)>);

impl Publish for Sender {
    fn publish(&self, kind: Kind, id: &str, until: u64) {
        // The task is gone only when the layer is: nothing left to tell.
        let _ = self.0.send((kind, id.to_owned(), until));
    }
}

impl Store {
    pub(crate) fn new(
        cfg: &StateConfig,
        revocations: &Revocations,
        limiter: Option<Arc<Limiter>>,
        clock: &Clock,
    ) -> Self {
        let client = redis::Client::open(cfg.redis_url.as_str())
            .inspect_err(|e| {
                tracing::error!(target: "authgate", "shared state disabled: the redis_url does not parse ({:?})", e.kind());
            })
            .ok();
        let (tx, rx) = mpsc::unbounded_channel();
        revocations.set_publisher(Arc::new(Sender(tx)));
        let p = &cfg.key_prefix;
        let store = Store {
            inner: Arc::new(Inner {
                client,
                url: cfg.redis_url.clone(),
                hash: format!("{p}revoked"),
                channel: format!("{p}events"),
                count_prefix: format!("{p}f:"),
                resync: Duration::from_secs(cfg.resync_secs),
                on_unavailable: cfg.on_unavailable,
                status: AtomicU8::new(STARTING),
                revocations: revocations.clone(),
                limiter,
                clock: Arc::clone(clock),
                conn: RwLock::new(None),
                unsent: Mutex::new(Vec::new()),
                task: Mutex::new(Some(rx)),
                count_script: redis::Script::new(COUNT_SCRIPT),
            }),
        };
        store.start();
        store
    }

    /// Starts the background task when a Tokio runtime is at hand (at once, or
    /// on the first request).
    fn start(&self) {
        let mut task = self
            .inner
            .task
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if task.is_none() {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let Some(rx) = task.take() else { return };
        runtime.spawn(run(Arc::downgrade(&self.inner), rx));
    }

    /// 503 `state_unavailable` while the store cannot be reached and the
    /// configuration fails closed.
    pub(crate) fn refuse(&self) -> Option<Failure> {
        self.start();
        if self.inner.on_unavailable != OnUnavailable::Closed
            || self.inner.status.load(Ordering::Acquire) == UP
        {
            return None;
        }
        Some(
            Failure::new(
                Reason::StateUnavailable,
                SchemeLabel::None,
                "the shared state store cannot be reached and the configuration fails closed (state.on_unavailable = \"closed\")",
            )
            .hint("check that Redis is running and reachable from this instance; with on_unavailable = \"open\" requests are served on the last synced state meanwhile")
            .retry_after(1),
        )
    }

    /// Shares a failure's counts: each key's count in the store, taken into the
    /// local table; a key reaching its limit is announced to every instance.
    pub(crate) fn record(
        &self,
        keys: Vec<Key>,
    ) -> Option<Pin<Box<dyn Future<Output = ()> + Send>>> {
        if keys.is_empty() || self.inner.status.load(Ordering::Acquire) != UP {
            return None;
        }
        let inner = Arc::clone(&self.inner);
        Some(Box::pin(async move {
            let Some(mut conn) = inner.connection() else {
                return;
            };
            let Some(limiter) = inner.limiter.clone() else {
                return;
            };
            let window = limiter.cfg.window_secs;
            let max = limiter.cfg.max_failures;
            for key in keys {
                let name = key.store_name();
                let mut call = inner
                    .count_script
                    .key(format!("{}{name}", inner.count_prefix));
                call.arg(window);
                let counted: Result<Result<(u32, u64), redis::RedisError>, _> =
                    tokio::time::timeout(COMMAND_TIMEOUT, call.invoke_async(&mut conn)).await;
                let (failures, ttl) = match counted {
                    Ok(Ok(v)) => v,
                    Ok(Err(e)) => return inner.down(&format!("{:?}", e.kind())),
                    Err(_) => return inner.down("timed out"),
                };
                let now = inner.now();
                let end = now + ttl.max(1);
                limiter.local.absorb(key, failures, end, now, max);
                if failures >= max {
                    let msg = format!("l {failures} {end} {name}");
                    let _ = tokio::time::timeout(
                        COMMAND_TIMEOUT,
                        redis::cmd("PUBLISH")
                            .arg(&inner.channel)
                            .arg(msg)
                            .query_async::<i64>(&mut conn),
                    )
                    .await;
                }
            }
        }))
    }
}

impl Inner {
    fn now(&self) -> u64 {
        crate::config::unix_secs(&self.clock)
    }

    fn connection(&self) -> Option<ConnectionManager> {
        self.conn
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Marks the store down: one WARN per outage.
    fn down(&self, why: &str) {
        let before = self.status.swap(DOWN, Ordering::AcqRel);
        *self.conn.write().unwrap_or_else(PoisonError::into_inner) = None;
        if before != DOWN {
            let mode = match self.on_unavailable {
                OnUnavailable::Open => {
                    "serving on the last synced revocation set and per-instance counts"
                }
                OnUnavailable::Closed => "answering 503 state_unavailable",
            };
            tracing::warn!(
                target: "authgate",
                url = %redact_url(&self.url),
                "shared state store unreachable ({why}); {mode} until it returns"
            );
        }
    }

    fn up(&self, conn: ConnectionManager) {
        *self.conn.write().unwrap_or_else(PoisonError::into_inner) = Some(conn);
        let before = self.status.swap(UP, Ordering::AcqRel);
        match before {
            DOWN => tracing::info!(
                target: "authgate",
                url = %redact_url(&self.url),
                "shared state store reachable again; revocation set resynced"
            ),
            STARTING => tracing::info!(
                target: "authgate",
                url = %redact_url(&self.url),
                "shared state store connected; revocation set synced"
            ),
            _ => {}
        }
    }

    /// Applies one message of the channel.
    fn on_message(&self, payload: &str) {
        let mut parts = payload.splitn(4, ' ');
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some("r"), Some(kind), Some(until), Some(id)) => {
                if let (Some(kind), Ok(until)) = (kind_of(kind), until.parse()) {
                    self.revocations.apply(kind, id, until);
                }
            }
            (Some("l"), Some(failures), Some(end), Some(name)) => {
                if let (Some(limiter), Ok(failures), Ok(end), Some(key)) = (
                    &self.limiter,
                    failures.parse(),
                    end.parse(),
                    Key::from_store_name(name),
                ) {
                    let now = self.now();
                    limiter
                        .local
                        .absorb(key, failures, end, now, limiter.cfg.max_failures);
                }
            }
            _ => {}
        }
    }

    /// Reads the whole set; drops the expired entries from the store.
    async fn resync(&self, conn: &mut ConnectionManager) -> Result<(), String> {
        let all = timed(
            redis::cmd("HGETALL")
                .arg(&self.hash)
                .query_async::<std::collections::HashMap<String, u64>>(conn),
        )
        .await?;
        let now = self.now();
        let mut expired = Vec::new();
        for (field, until) in all {
            let Some((kind, id)) = field.split_once(':') else {
                continue;
            };
            let Some(kind) = kind_of(kind) else { continue };
            if until <= now {
                expired.push(field);
                continue;
            }
            self.revocations.apply(kind, id, until);
        }
        if !expired.is_empty() {
            timed(
                redis::cmd("HDEL")
                    .arg(&self.hash)
                    .arg(expired)
                    .query_async::<i64>(conn),
            )
            .await?;
        }
        Ok(())
    }

    /// Stores and announces one revocation.
    async fn send(
        &self,
        conn: &mut ConnectionManager,
        kind: Kind,
        id: &str,
        until: u64,
    ) -> Result<(), String> {
        let field = format!("{}:{id}", kind.tag());
        let msg = format!("r {} {until} {id}", kind.tag());
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("HSET")
            .arg(&self.hash)
            .arg(field)
            .arg(until)
            .ignore()
            .cmd("PUBLISH")
            .arg(&self.channel)
            .arg(msg)
            .ignore();
        timed(pipe.query_async::<()>(conn)).await
    }

    /// After a reconnect: the revocations made meanwhile, then the whole set.
    async fn replay(&self, conn: &mut ConnectionManager) -> Result<(), String> {
        let unsent =
            std::mem::take(&mut *self.unsent.lock().unwrap_or_else(PoisonError::into_inner));
        for (i, (kind, id, until)) in unsent.iter().enumerate() {
            if let Err(e) = self.send(conn, *kind, id, *until).await {
                self.unsent
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .extend(unsent[i..].iter().cloned());
                return Err(e);
            }
        }
        self.resync(conn).await
    }
}

async fn timed<T>(f: impl Future<Output = redis::RedisResult<T>>) -> Result<T, String> {
    match tokio::time::timeout(COMMAND_TIMEOUT, f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(format!("{:?}", e.kind())),
        Err(_) => Err("timed out".to_owned()),
    }
}

fn kind_of(tag: &str) -> Option<Kind> {
    match tag {
        "j" => Some(Kind::Jti),
        "k" => Some(Kind::ApiKey),
        _ => None,
    }
}

/// The background task: connect, subscribe, replay, resync, then follow the
/// channel and the resync timer; on any error mark the store down and try again
/// with a growing delay (at most 2 s). Ends when the layer is dropped.
async fn run(inner: Weak<Inner>, mut rx: mpsc::UnboundedReceiver<(Kind, String, u64)>) {
    let mut delay = Duration::from_millis(100);
    loop {
        let Some(this) = inner.upgrade() else { return };
        let Some(client) = this.client.clone() else {
            this.down("the redis_url does not parse");
            return;
        };
        let why = session(&this, client, &mut rx).await;
        if let Err(why) = why {
            this.down(&why);
        } else {
            return;
        }
        drop(this);
        // Revocations made while down: take them in now, so they are replayed.
        while let Ok(r) = rx.try_recv() {
            if let Some(this) = inner.upgrade() {
                this.unsent
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(r);
            }
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(2));
        if inner
            .upgrade()
            .is_some_and(|i| i.status.load(Ordering::Acquire) == UP)
        {
            delay = Duration::from_millis(100);
        }
    }
}

/// One connected session; `Ok` only when the layer is gone.
async fn session(
    this: &Arc<Inner>,
    client: redis::Client,
    rx: &mut mpsc::UnboundedReceiver<(Kind, String, u64)>,
) -> Result<(), String> {
    let config = ConnectionManagerConfig::new()
        .set_number_of_retries(1)
        .set_connection_timeout(Some(Duration::from_secs(1)))
        .set_response_timeout(Some(COMMAND_TIMEOUT));
    let mut conn = timed(ConnectionManager::new_with_config(client.clone(), config)).await?;
    let mut pubsub = timed(client.get_async_pubsub()).await?;
    timed(pubsub.subscribe(&this.channel)).await?;
    // Subscribed before the resync: nothing published in between is missed.
    this.replay(&mut conn).await?;
    this.up(conn.clone());
    let mut messages = pubsub.into_on_message();
    let mut tick = tokio::time::interval(this.resync);
    tick.tick().await;
    loop {
        tokio::select! {
            msg = messages.next() => {
                let Some(msg) = msg else {
                    return Err("the subscription connection closed".to_owned());
                };
                if let Ok(payload) = std::str::from_utf8(msg.get_payload_bytes()) {
                    this.on_message(payload);
                }
            }
            revocation = rx.recv() => {
                let Some((kind, id, until)) = revocation else { return Ok(()) };
                if let Err(e) = this.send(&mut conn, kind, &id, until).await {
                    this.unsent.lock().unwrap_or_else(PoisonError::into_inner).push((kind, id, until));
                    return Err(e);
                }
            }
            _ = tick.tick() => {
                this.resync(&mut conn).await?;
            }
        }
        if Arc::strong_count(this) == 1 {
            // Only this task holds the store: the layer is gone.
            return Ok(());
        }
    }
}
