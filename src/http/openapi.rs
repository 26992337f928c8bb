use actix_web::{get, HttpResponse};
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Switchboard API",
        description = "REST API of the Switchboard chat server. Websocket frames: docs/protocol.md."
    ),
    paths(
        super::health::healthz,
        super::auth_routes::login,
        super::auth_routes::logout,
        super::auth_routes::me,
        super::auth_routes::create_token,
        super::projects::create,
        super::projects::get,
        super::projects::patch_settings,
        super::projects::stats,
        super::projects::list_channels,
        super::projects::create_channel,
        super::channels::connect,
        super::channels::update,
        super::webhooks::verify,
        super::webhooks::receive,
        super::projects::list_roles,
        super::projects::list_members,
        super::projects::add_member,
        super::email::get_settings,
        super::email::patch_settings,
        super::email::send_test,
        super::email::list_outbox,
        super::email::get_outbox,
        super::sessions::list,
        super::hosting::switch,
        super::hosting::bulk,
        super::hosting::all_assigned,
        super::hosting::get_settings,
        super::hosting::patch_settings,
        super::sessions::get,
        super::sessions::messages,
        super::sessions::send,
        super::sessions::assign,
        super::sessions::take,
        super::sessions::end,
        super::sessions::retry,
        super::reply_window::get,
        super::reports::records,
        super::reports::summary,
        super::reports::csv,
        super::contacts::list,
        super::contacts::get,
        super::contacts::update,
        super::contacts::changes,
        super::session_tags::list,
        super::session_tags::create,
        super::session_tags::update,
        super::session_tags::delete,
        super::session_tags::set_for_session,
        super::session_tags::of_session,
        super::me::get_preferences,
        super::me::patch_preferences,
        super::team::set_member_role,
        super::team::remove_member,
        super::team::create_role,
        super::team::update_role,
        super::team::delete_role,
        super::sync::start,
        super::sync::latest,
        super::sync::cancel,
    ),
    components(schemas(crate::error::ErrorBody, crate::error::ErrorCode))
)]
pub struct ApiDoc;

#[get("/api/openapi.json")]
pub async fn spec() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}
