//! Throttles on the sign-in paths, so guessing passwords is slow and one
//! client can't take the service from everyone else:
//!
//! - per client IP, register/login/refresh calls (`AUTH_REQUESTS_PER_MINUTE`);
//! - per account, failed logins (`LOGIN_FAILURES_PER_MINUTE`): once over, the
//!   account refuses logins (even right ones, or guessing would go on) until
//!   the quota refills, which is never longer than the window;
//! - per client IP, password hashes running or queued (`AUTH_HASHES_PER_IP`),
//!   so one address can't fill the argon2 queue that everyone shares.
//!
//! The client IP is the TCP peer, or, when the caller is the gateway (a
//! valid gateway service token), the address the gateway says it served.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chat_platform::limits::{KeyedLimiter, Limits};
use chat_platform::token::TokenVerifier;
use chat_platform::{ServiceError, ServiceResult};
use tonic::Request;

const MINUTE: Duration = Duration::from_secs(60);

pub struct Guard {
    enabled: bool,
    per_ip: KeyedLimiter<IpAddr>,
    failures: KeyedLimiter<String>,
    /// Accounts over their failure quota, until when.
    locked: Mutex<HashMap<String, Instant>>,
    hashes: Arc<Mutex<HashMap<IpAddr, u32>>>,
    max_hashes_per_ip: u32,
}

/// A password hash slot of one client IP; freed when dropped.
pub struct HashSlot {
    ip: Option<IpAddr>,
    hashes: Arc<Mutex<HashMap<IpAddr, u32>>>,
}

impl Drop for HashSlot {
    fn drop(&mut self) {
        if let Some(ip) = self.ip {
            let mut hashes = self.hashes.lock().expect("lock");
            if let Some(n) = hashes.get_mut(&ip) {
                *n -= 1;
                if *n == 0 {
                    hashes.remove(&ip);
                }
            }
        }
    }
}

impl Guard {
    pub fn new(limits: &Limits) -> Arc<Self> {
        let guard = Arc::new(Self {
            enabled: limits.rate_limits,
            per_ip: KeyedLimiter::new(limits.rate_limits, limits.auth_requests_per_minute, MINUTE),
            failures: KeyedLimiter::new(limits.rate_limits, limits.login_failures_per_minute, MINUTE),
            locked: Mutex::new(HashMap::new()),
            hashes: Arc::default(),
            max_hashes_per_ip: limits.auth_hashes_per_ip,
        });
        // Keys are attacker-chosen: forget idle ones so memory stays bounded.
        let weak = Arc::downgrade(&guard);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(MINUTE);
            loop {
                tick.tick().await;
                let Some(guard) = weak.upgrade() else { return };
                guard.per_ip.forget_idle();
                guard.failures.forget_idle();
                let now = Instant::now();
                guard.locked.lock().expect("lock").retain(|_, until| *until > now);
            }
        });
        guard
    }

    /// The client's address: the gateway's word for it when the call carries
    /// the gateway's service token, else the TCP peer.
    pub async fn client_ip<T>(&self, verifier: &TokenVerifier, request: &Request<T>) -> Option<IpAddr> {
        let claimed = request
            .metadata()
            .get(chat_platform::internal::CLIENT_IP_METADATA)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<IpAddr>().ok());
        if let Some(ip) = claimed
            && verifier
                .authenticate_service(request)
                .await
                .is_ok_and(|s| s == "gateway")
        {
            return Some(ip);
        }
        request.remote_addr().map(|a| a.ip())
    }

    /// Counts one register/login/refresh call of `ip`.
    pub fn admit(&self, ip: Option<IpAddr>) -> ServiceResult<()> {
        match ip {
            Some(ip) => self.per_ip.check(&ip).map_err(ServiceError::rate_limited),
            None => Ok(()),
        }
    }

    /// Refuses a login to an account over its failure quota.
    pub fn account_open(&self, email: &str) -> ServiceResult<()> {
        let locked = self.locked.lock().expect("lock");
        match locked.get(email) {
            Some(until) if *until > Instant::now() => Err(ServiceError::rate_limited(*until - Instant::now())),
            _ => Ok(()),
        }
    }

    /// Counts a failed login; `Err` (429) when that put the account over.
    pub fn failed(&self, email: &str) -> ServiceResult<()> {
        self.failures.check(&email.to_owned()).map_err(|wait| {
            self.locked
                .lock()
                .expect("lock")
                .insert(email.to_owned(), Instant::now() + wait);
            ServiceError::rate_limited(wait)
        })
    }

    /// A slot for one password hash of `ip`, or 429 when it has too many.
    pub fn hash_slot(&self, ip: Option<IpAddr>) -> ServiceResult<HashSlot> {
        if let Some(ip) = ip {
            let mut hashes = self.hashes.lock().expect("lock");
            let n = hashes.entry(ip).or_insert(0);
            if self.enabled && *n >= self.max_hashes_per_ip {
                return Err(ServiceError::rate_limited(Duration::from_secs(1)));
            }
            *n += 1;
        }
        // Counted: the slot's drop gives it back.
        Ok(HashSlot {
            ip,
            hashes: self.hashes.clone(),
        })
    }
}
