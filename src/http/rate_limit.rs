//! Per-client limits on what costs the server (or a victim) something: password checks
//! (argon2, and guessing), new visitors (a token each, and at most one contact row when they
//! write) and test e-mails. A token bucket per key: `per_minute` attempts at once, refilled at
//! `per_minute` a minute.
//!
//! One server counts in memory. With `--redis-url` every server counts in the same bucket in
//! Redis (`BUCKET_SCRIPT`, one atomic script per attempt, on Redis's clock so the servers'
//! clocks do not matter): a client spreading its guesses over several servers gets no more
//! than from one. When Redis cannot be reached the attempt is counted in this server's memory
//! instead — limits stay on, per server, rather than refusing everyone or letting everyone in —
//! and Redis is not asked again for `REDIS_RETRY` (logged, and counted in
//! `switchboard_rate_limit_local_total`).

use crate::error::{AppError, AppResult, ErrorCode};
use actix_web::HttpRequest;
use dashmap::DashMap;
use prometheus_client::metrics::counter::Counter;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::fmt::Display;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Above this many keys, buckets that are full again (idle clients) are dropped.
const SWEEP_ABOVE: usize = 10_000;

/// An attempt never waits longer than this on Redis; past it, it is counted here.
const REDIS_BUDGET: Duration = Duration::from_millis(500);

/// After Redis failed, attempts are counted here this long before Redis is tried again, so
/// an outage costs one slow attempt per interval, not every attempt its budget.
const REDIS_RETRY: Duration = Duration::from_secs(5);

/// The token bucket in Redis: a hash `{t: tokens, at: ms}` per key. ARGV: the capacity (and
/// refill per minute), then the time in ms — empty for Redis's own clock (the tests pass
/// theirs). Returns `{1, 0}` when an attempt is taken, `{0, ms to wait}` when refused. The key
/// expires once the bucket would be full again: a full bucket and no key mean the same.
pub const BUCKET_SCRIPT: &str = r"
local cap = tonumber(ARGV[1])
local per_ms = cap / 60000
local now = tonumber(ARGV[2])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local b = redis.call('HMGET', KEYS[1], 't', 'at')
local tokens = tonumber(b[1])
local at = tonumber(b[2])
if not tokens or not at then
  tokens = cap
  at = now
end
tokens = math.min(cap, tokens + math.max(0, now - at) * per_ms)
local taken = 0
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
  taken = 1
else
  wait = math.ceil((1 - tokens) / per_ms)
end
redis.call('HSET', KEYS[1], 't', tostring(tokens), 'at', now)
redis.call('PEXPIRE', KEYS[1], math.ceil((cap - tokens) / per_ms) + 1000)
return {taken, wait}
";

/// What the shared bucket said about one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taken {
    Yes,
    /// Refused; a token is back after this long.
    No {
        wait: Duration,
    },
}

/// Takes one attempt from the bucket `key` in Redis (`BUCKET_SCRIPT`); `now_ms` `None`: Redis's
/// clock.
pub async fn take_shared(
    conn: &mut impl redis::aio::ConnectionLike,
    script: &redis::Script,
    key: &str,
    per_minute: u32,
    now_ms: Option<u64>,
) -> redis::RedisResult<Taken> {
    let now = now_ms.map(|ms| ms.to_string()).unwrap_or_default();
    let (taken, wait): (i64, i64) = script
        .key(key)
        .arg(per_minute)
        .arg(now)
        .invoke_async(conn)
        .await?;
    Ok(if taken == 1 {
        Taken::Yes
    } else {
        Taken::No {
            wait: Duration::from_millis(u64::try_from(wait).unwrap_or(0)),
        }
    })
}

/// The Redis every limiter of a server counts in, and whether it is usable now.
struct Shared {
    conn: ConnectionManager,
    script: redis::Script,
    /// Set when Redis failed: until then attempts are counted locally.
    down_until: Mutex<Option<Instant>>,
    /// Attempts counted locally because Redis could not be reached.
    local: Counter,
}

impl Shared {
    fn new(url: &str, local: Counter) -> Result<Shared, String> {
        let client =
            redis::Client::open(url).map_err(|e| format!("--redis-url {url:?} is invalid: {e}"))?;
        // Connected on first use: a server starts (and limits locally) while Redis is down.
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(REDIS_BUDGET))
            .set_response_timeout(Some(REDIS_BUDGET))
            .set_number_of_retries(1);
        let conn = ConnectionManager::new_lazy_with_config(client, config)
            .map_err(|e| format!("Redis (--redis-url): {e}"))?;
        Ok(Shared {
            conn,
            script: redis::Script::new(BUCKET_SCRIPT),
            down_until: Mutex::new(None),
            local,
        })
    }

    fn usable(&self) -> bool {
        self.down_until
            .lock()
            .map_or(true, |d| d.is_none_or(|until| Instant::now() >= until))
    }

    /// The attempt in Redis, or `None` when Redis failed (then it is marked down).
    async fn take(&self, key: &str, per_minute: u32) -> Option<Taken> {
        if !self.usable() {
            self.local.inc();
            return None;
        }
        let mut conn = self.conn.clone();
        let res = tokio::time::timeout(
            REDIS_BUDGET,
            take_shared(&mut conn, &self.script, key, per_minute, None),
        )
        .await;
        let error = match res {
            Ok(Ok(taken)) => {
                if let Ok(mut down) = self.down_until.lock() {
                    if down.take().is_some() {
                        tracing::info!("rate limits: Redis is back; counting there again");
                    }
                }
                return Some(taken);
            }
            Ok(Err(e)) => e.to_string(),
            Err(_) => format!("no answer within {} ms", REDIS_BUDGET.as_millis()),
        };
        if let Ok(mut down) = self.down_until.lock() {
            *down = Some(Instant::now() + REDIS_RETRY);
        }
        tracing::warn!(
            "rate limits: Redis unreachable ({error}); counting on this server for {} s",
            REDIS_RETRY.as_secs()
        );
        self.local.inc();
        None
    }
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

pub struct Limiter<K: Eq + Hash> {
    /// 0: no limit.
    per_minute: u32,
    what: &'static str,
    /// The key prefix in Redis: `switchboard:rl:{name}:{key}`.
    name: &'static str,
    /// This server's buckets: all of them alone, the fallback with Redis.
    buckets: DashMap<K, Bucket>,
    shared: Option<Arc<Shared>>,
}

impl<K: Eq + Hash + Clone + Display> Limiter<K> {
    /// Counted in this server's memory.
    pub fn new(per_minute: u32, name: &'static str, what: &'static str) -> Self {
        Limiter {
            per_minute,
            what,
            name,
            buckets: DashMap::new(),
            shared: None,
        }
    }

    fn with_shared(mut self, shared: Option<&Arc<Shared>>) -> Self {
        self.shared = shared.cloned();
        self
    }

    /// Takes one attempt for `key`, or says how long to wait (`rate_limited`).
    pub async fn check(&self, key: &K) -> AppResult<()> {
        if self.per_minute == 0 {
            return Ok(());
        }
        if let Some(shared) = &self.shared {
            let redis_key = format!("switchboard:rl:{}:{key}", self.name);
            match shared.take(&redis_key, self.per_minute).await {
                Some(Taken::Yes) => return Ok(()),
                Some(Taken::No { wait }) => return Err(self.refusal(wait)),
                None => {}
            }
        }
        self.check_at(key, Instant::now())
    }

    fn refusal(&self, wait: Duration) -> AppError {
        AppError::new(
            ErrorCode::RateLimited,
            format!(
                "too many {}; try again in {} s",
                self.what,
                wait.as_secs().max(1)
            ),
        )
    }

    fn check_at(&self, key: &K, now: Instant) -> AppResult<()> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let cap = f64::from(self.per_minute);
        let per_sec = cap / 60.0;
        if self.buckets.len() > SWEEP_ABOVE {
            self.buckets.retain(|_, b| {
                b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * per_sec < cap
            });
        }
        let mut b = self.buckets.entry(key.clone()).or_insert(Bucket {
            tokens: cap,
            at: now,
        });
        let refill = now.saturating_duration_since(b.at).as_secs_f64() * per_sec;
        b.tokens = (b.tokens + refill).min(cap);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(self.refusal(Duration::from_secs_f64((1.0 - b.tokens) / per_sec)))
        }
    }
}

/// The limits of one server.
pub struct RateLimits {
    pub logins: Limiter<IpAddr>,
    pub new_visitors: Limiter<IpAddr>,
    pub test_mails: Limiter<i64>,
    trust_forwarded_for: bool,
}

impl RateLimits {
    /// Counted in Redis when `config.redis_url` is set; `local` counts the attempts that had
    /// to be counted here instead.
    pub fn new(config: &crate::config::Config, local: Counter) -> Result<Self, String> {
        let shared = match &config.redis_url {
            Some(url) => Some(Arc::new(Shared::new(url, local)?)),
            None => None,
        };
        let shared = shared.as_ref();
        Ok(RateLimits {
            logins: Limiter::new(config.logins_per_minute, "login", "login attempts")
                .with_shared(shared),
            new_visitors: Limiter::new(
                config.visitor_signups_per_minute,
                "visitor",
                "new visitors",
            )
            .with_shared(shared),
            test_mails: Limiter::new(6, "test_mail", "test e-mails").with_shared(shared),
            trust_forwarded_for: config.trust_forwarded_for,
        })
    }

    /// The client's address: the TCP peer, or — behind a reverse proxy that sets it, when
    /// configured — the address in `X-Forwarded-For`/`Forwarded`. Unparseable: the peer.
    pub fn client_ip(&self, req: &HttpRequest) -> IpAddr {
        let peer = req
            .peer_addr()
            .map(|a| a.ip())
            .unwrap_or(IpAddr::from([0, 0, 0, 0]));
        if !self.trust_forwarded_for {
            return peer;
        }
        let info = req.connection_info();
        info.realip_remote_addr()
            .and_then(|a| {
                a.parse::<IpAddr>()
                    .ok()
                    .or_else(|| a.parse::<std::net::SocketAddr>().ok().map(|s| s.ip()))
            })
            .unwrap_or(peer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_a_refill_per_second() {
        let l: Limiter<u8> = Limiter::new(6, "t", "tries");
        let t0 = Instant::now();
        for _ in 0..6 {
            assert!(l.check_at(&1, t0).is_ok());
        }
        let e = l.check_at(&1, t0).unwrap_err();
        assert_eq!(e.code, ErrorCode::RateLimited);
        assert_eq!(e.message, "too many tries; try again in 10 s");
        // Another key has its own bucket.
        assert!(l.check_at(&2, t0).is_ok());
        // 6 a minute: one more after 10 s, not before.
        assert!(l.check_at(&1, t0 + Duration::from_secs(9)).is_err());
        assert!(l.check_at(&1, t0 + Duration::from_secs(11)).is_ok());
        assert!(l.check_at(&1, t0 + Duration::from_secs(12)).is_err());
    }

    #[test]
    fn zero_means_no_limit() {
        let l: Limiter<u8> = Limiter::new(0, "t", "tries");
        let t0 = Instant::now();
        for _ in 0..1000 {
            assert!(l.check_at(&1, t0).is_ok());
        }
        assert!(l.buckets.is_empty());
    }

    #[test]
    fn idle_clients_are_swept_when_the_map_is_large() {
        let l: Limiter<u32> = Limiter::new(60, "t", "tries");
        let t0 = Instant::now();
        for k in 0..=SWEEP_ABOVE as u32 {
            assert!(l.check_at(&k, t0).is_ok());
        }
        assert_eq!(l.buckets.len(), SWEEP_ABOVE + 1);
        // A second later every bucket is full again: the next check sweeps them.
        assert!(l.check_at(&u32::MAX, t0 + Duration::from_secs(2)).is_ok());
        assert_eq!(l.buckets.len(), 1);
    }
}
