//! Database access: the connection pool, migrations, and one module of queries per table group.
//! Queries take `&mut AsyncPgConnection`, so the same function runs on a pooled connection or
//! inside a transaction.

pub mod embedded;
pub mod enums;
pub mod flow_runs;
pub mod flow_stats;
pub mod flows;
pub mod schema;

pub mod channel_outbound;
pub mod channels;
pub mod contact_changes;
pub mod contacts;
pub mod hosting_changes;
pub mod jobs;
pub mod messages;
pub mod outbox;
pub mod prepared;
pub mod projects;
pub mod reports;
pub mod retry;
pub mod session_counts;
pub mod session_tags;
pub mod sessions;
pub mod timers;
pub mod users;
pub mod webhook_events;

use diesel_async::pooled_connection::deadpool::{self, Object};
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::AsyncPgConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use std::time::Duration;

pub use diesel_async::pooled_connection::deadpool::PoolError;
pub type Pool = deadpool::Pool<AsyncPgConnection>;
pub type Conn = Object<AsyncPgConnection>;

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Serialises migration runs across servers that share one database.
const MIGRATION_LOCK_KEY: i64 = 0x5357_4254_4d49_4752; // "SWBTMIGR"

pub fn build_pool(url: &str, max_size: usize) -> Result<Pool, String> {
    // `Fast`: a checkout costs no `SELECT 1` round trip (the default, `Verified`, sent one per
    // checkout: 13,423 of them for 8,065 messages, docs/performance.md). A connection that
    // died while idle fails its first query with `db_unavailable`, which callers retry; one
    // that broke in use is discarded by the pool either way.
    let mut config = ManagerConfig::default();
    config.recycling_method = RecyclingMethod::Fast;
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(url, config);
    deadpool::Pool::builder(manager)
        .max_size(max_size.max(4))
        // A bounded wait turns an exhausted pool or a dead database into a quick
        // `db_unavailable` instead of a request that hangs.
        .wait_timeout(Some(Duration::from_secs(5)))
        .create_timeout(Some(Duration::from_secs(5)))
        .recycle_timeout(Some(Duration::from_secs(5)))
        .runtime(::deadpool::Runtime::Tokio1)
        .build()
        .map_err(|e| format!("cannot build the database pool: {e}"))
}

/// Runs pending migrations, holding a Postgres advisory lock so that two servers starting
/// together do not race. Returns the versions applied.
pub async fn run_migrations(url: &str) -> Result<Vec<String>, String> {
    let url = url.to_owned();
    // The migration harness is synchronous; the wrapper drives the async connection from a
    // blocking thread.
    tokio::task::spawn_blocking(move || {
        use diesel::connection::SimpleConnection;
        use diesel::Connection;
        use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
        let mut conn = AsyncConnectionWrapper::<AsyncPgConnection>::establish(&url)
            .map_err(|e| format!("cannot connect to the database: {e}"))?;
        conn.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))
            .map_err(|e| format!("cannot take the migration lock: {e}"))?;
        let result = conn
            .run_pending_migrations(MIGRATIONS)
            .map(|v| v.iter().map(|m| m.to_string()).collect::<Vec<_>>())
            .map_err(|e| format!("migration failed: {e}"));
        let _ = conn.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"));
        result
    })
    .await
    .map_err(|e| format!("migration task failed: {e}"))?
}
