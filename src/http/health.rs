use crate::state::AppState;
use actix_web::{get, web, HttpResponse};
use diesel_async::RunQueryDsl;

/// 200 when the server and its database answer, 503 otherwise.
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
    let body = serde_json::json!({
        "status": if db_ok { "ok" } else { "degraded" },
        "database": if db_ok { "ok" } else { "unavailable" },
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
