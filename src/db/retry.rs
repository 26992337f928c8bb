//! Retrying work while the database is unreachable (a restart, a failover): a client is told
//! `db_unavailable` (and resends) only after this has given up.

use crate::error::AppResult;
use std::future::Future;
use std::time::{Duration, Instant};

/// How long an operation keeps retrying before its error goes to the client.
const RETRY_FOR: Duration = Duration::from_secs(12);

/// Retries an operation while the database is unavailable, with a capped backoff.
pub async fn with_retry<T, F, Fut>(mut op: F) -> AppResult<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = AppResult<T>>,
{
    let started = Instant::now();
    let mut pause = Duration::from_millis(50);
    loop {
        match op().await {
            Err(e) if e.is_transient() && started.elapsed() < RETRY_FOR => {
                tracing::warn!(error = %e, "database unavailable; retrying");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(1));
            }
            other => return other,
        }
    }
}
