//! Per-client limits on what costs the server (or a victim) something: password checks
//! (argon2, and guessing), new visitors (a token each, and at most one contact row when they
//! write) and test e-mails. A token bucket per key: `per_minute` attempts at once, refilled at
//! `per_minute` a minute. Kept in memory per server; with several servers each counts its own
//! clients.

use crate::error::{AppError, AppResult, ErrorCode};
use actix_web::HttpRequest;
use dashmap::DashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Above this many keys, buckets that are full again (idle clients) are dropped.
const SWEEP_ABOVE: usize = 10_000;

struct Bucket {
    tokens: f64,
    at: Instant,
}

pub struct Limiter<K: Eq + Hash> {
    /// 0: no limit.
    per_minute: u32,
    what: &'static str,
    buckets: DashMap<K, Bucket>,
}

impl<K: Eq + Hash + Clone> Limiter<K> {
    pub fn new(per_minute: u32, what: &'static str) -> Self {
        Limiter {
            per_minute,
            what,
            buckets: DashMap::new(),
        }
    }

    /// Takes one attempt for `key`, or says how long to wait (`rate_limited`).
    pub fn check(&self, key: &K) -> AppResult<()> {
        self.check_at(key, Instant::now())
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
            let wait = Duration::from_secs_f64((1.0 - b.tokens) / per_sec);
            Err(AppError::new(
                ErrorCode::RateLimited,
                format!(
                    "too many {}; try again in {} s",
                    self.what,
                    wait.as_secs().max(1)
                ),
            ))
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
    pub fn new(config: &crate::config::Config) -> Self {
        RateLimits {
            logins: Limiter::new(config.logins_per_minute, "login attempts"),
            new_visitors: Limiter::new(config.visitor_signups_per_minute, "new visitors"),
            test_mails: Limiter::new(6, "test e-mails"),
            trust_forwarded_for: config.trust_forwarded_for,
        }
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
        let l: Limiter<u8> = Limiter::new(6, "tries");
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
        let l: Limiter<u8> = Limiter::new(0, "tries");
        let t0 = Instant::now();
        for _ in 0..1000 {
            assert!(l.check_at(&1, t0).is_ok());
        }
        assert!(l.buckets.is_empty());
    }

    #[test]
    fn idle_clients_are_swept_when_the_map_is_large() {
        let l: Limiter<u32> = Limiter::new(60, "tries");
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
