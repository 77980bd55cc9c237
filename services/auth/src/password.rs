//! Password hashing with argon2id at OWASP's parameters (m=19 MiB, t=2, p=1).
//!
//! Hashing runs on threads of its own behind a semaphore sized to the CPU
//! count, so a flood of logins queues here instead of starving the runtime.
//! Those threads run under the idle scheduling class (`SCHED_IDLE`): argon2
//! gets whatever CPU chat leaves over, so a login storm slows logins (they
//! queue, then are turned away with `resource_exhausted`) and not messages.

use std::sync::Arc;
use std::time::Duration;

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use chat_platform::ServiceError;
use tokio::sync::Semaphore;

#[derive(Clone)]
pub struct PasswordHashing {
    permits: Arc<Semaphore>,
    /// Verified against when the email is unknown, so a miss costs as much as a hit.
    dummy_hash: Arc<str>,
}

/// How long a request waits for a hashing slot before it is turned away.
const QUEUE_TIMEOUT: Duration = Duration::from_secs(10);

impl PasswordHashing {
    pub fn new(concurrency: usize) -> anyhow::Result<Self> {
        let dummy = Argon2::default()
            .hash_password(b"not a real password, only for timing")
            .map_err(|e| anyhow::anyhow!("hashing the timing decoy: {e}"))?
            .to_string();
        Ok(Self {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            dummy_hash: dummy.into(),
        })
    }

    pub async fn hash(&self, password: String) -> Result<String, ServiceError> {
        self.run(move || {
            Argon2::default()
                .hash_password(password.as_bytes())
                .map(|h| h.to_string())
                .map_err(|e| ServiceError::Internal(anyhow::anyhow!("hashing password: {e}")))
        })
        .await
    }

    /// Checks `password` against `hash`, or against a decoy when there is no
    /// user, so both failures take the same time.
    pub async fn verify(&self, password: String, hash: Option<String>) -> Result<bool, ServiceError> {
        let real = hash.is_some();
        let hash = hash.unwrap_or_else(|| self.dummy_hash.to_string());
        let matched = self
            .run(move || {
                Ok(Argon2::default()
                    .verify_password(password.as_bytes(), hash.as_str())
                    .is_ok())
            })
            .await?;
        Ok(real && matched)
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, ServiceError> + Send + 'static,
    ) -> Result<T, ServiceError> {
        let permit = tokio::time::timeout(QUEUE_TIMEOUT, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| {
                ServiceError::ResourceExhausted("too many sign-in attempts right now, try again shortly".into())
            })?
            .map_err(|_| ServiceError::Unavailable("shutting down".into()))?;
        let (done, result) = tokio::sync::oneshot::channel();
        std::thread::Builder::new()
            .name("argon2".into())
            .spawn(move || {
                let _permit = permit;
                yield_to_everything_else();
                let _ = done.send(work());
            })
            .map_err(|e| ServiceError::Internal(anyhow::anyhow!("starting a hashing thread: {e}")))?;
        result
            .await
            .map_err(|_| ServiceError::Internal(anyhow::anyhow!("hashing thread failed")))?
    }
}

/// Puts the calling thread in the idle scheduling class, where it runs only
/// on CPU time no normal thread wants. Where the platform refuses, hashing
/// runs at normal priority (still bounded by the semaphore).
fn yield_to_everything_else() {
    #[cfg(target_os = "linux")]
    {
        use thread_priority::unix::{
            NormalThreadSchedulePolicy, ThreadSchedulePolicy, set_thread_priority_and_policy, thread_native_id,
        };
        if let Err(e) = set_thread_priority_and_policy(
            thread_native_id(),
            thread_priority::ThreadPriority::Min,
            ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle),
        ) {
            tracing::debug!(error = ?e, "could not lower the hashing thread's priority");
        }
    }
}
