use crate::bus::Link;
use crate::state::AppState;
use actix_web::{get, web, HttpResponse};
use diesel_async::RunQueryDsl;

/// Liveness and readiness. 200 when the server and its database answer, 503 otherwise.
///
/// With several servers (`--redis-url`), `redis` is the cross-server subscriber's state: `ok`
/// (subscribed, its own heartbeats come back), `down` (reconnecting) or `off` (one server),
/// since `redis_since`; `redis_heartbeat_at` is the last of its own heartbeats it saw. Redis
/// being down does not make this a 503: the server still serves its own connections, and
/// they resume from the database once it is back, so a load balancer should keep routing to
/// it. `ready` is false while the database or Redis is down, for a balancer that prefers
/// servers with complete cross-server delivery.
#[utoipa::path(get, path = "/healthz", responses((status = 200), (status = 503)))]
#[get("/healthz")]
pub async fn healthz(st: web::Data<AppState>) -> HttpResponse {
    let db_ok = match st.pool.get().await {
        Ok(mut conn) => diesel::sql_query("SELECT 1")
            .execute(&mut conn)
            .await
            .is_ok(),
        Err(_) => false,
    };
    let (agents, visitors) = st.hub.connection_counts();
    let bus = st.bus.snapshot();
    let body = serde_json::json!({
        "status": if db_ok { "ok" } else { "degraded" },
        "database": if db_ok { "ok" } else { "unavailable" },
        "redis": bus.link,
        "redis_since": bus.since,
        "redis_heartbeat_at": bus.heartbeat_at,
        "ready": db_ok && bus.link != Link::Down,
        "live_sessions": st.sessions.live_count(),
        "agent_connections": agents,
        "visitor_connections": visitors,
    });
    if db_ok {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}
