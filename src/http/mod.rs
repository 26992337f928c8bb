//! The HTTP surface: one route table, thin handlers that call the domain or an actor.

mod assets;
mod auth_routes;
mod channels;
mod contacts;
mod email;
pub mod extract;
mod flow_stats;
mod flows;
mod health;
mod hosting;
pub mod input;
mod me;
mod metrics;
mod openapi;
mod projects;
pub mod rate_limit;
mod reply_window;
mod reports;
pub mod security_headers;
mod session_tags;
mod sessions;
mod sync;
mod team;
mod webhooks;
mod ws_routes;

use crate::error::{AppError, ErrorCode};
use actix_web::web;

pub use openapi::ApiDoc;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.app_data(json_config())
        .service(health::healthz)
        .service(metrics::metrics)
        .service(openapi::spec)
        .service(auth_routes::login)
        .service(auth_routes::logout)
        .service(auth_routes::me)
        .service(auth_routes::create_token)
        .service(projects::create)
        .service(projects::get)
        .service(projects::patch_settings)
        .service(projects::stats)
        .service(projects::list_channels)
        .service(projects::create_channel)
        .service(channels::connect)
        .service(channels::update)
        .service(projects::list_roles)
        .service(projects::list_members)
        .service(projects::add_member)
        .service(email::get_settings)
        .service(email::patch_settings)
        .service(email::send_test)
        .service(email::list_outbox)
        .service(email::get_outbox)
        .service(hosting::switch)
        .service(hosting::bulk)
        .service(hosting::all_assigned)
        .service(hosting::get_settings)
        .service(hosting::patch_settings)
        .service(sessions::list)
        .service(sessions::get)
        .service(sessions::messages)
        .service(sessions::send)
        .service(sessions::assign)
        .service(sessions::take)
        .service(sessions::end)
        .service(sessions::retry)
        .service(reply_window::get)
        .service(reports::records)
        .service(reports::summary)
        .service(reports::csv)
        .service(contacts::list)
        .service(contacts::get)
        .service(contacts::update)
        .service(contacts::changes)
        .service(session_tags::list)
        .service(session_tags::create)
        .service(session_tags::update)
        .service(session_tags::delete)
        .service(session_tags::set_for_session)
        .service(session_tags::of_session)
        .service(me::get_preferences)
        .service(me::patch_preferences)
        .service(team::set_member_role)
        .service(team::remove_member)
        .service(team::create_role)
        .service(team::update_role)
        .service(team::delete_role)
        .service(flows::list)
        .service(flows::create)
        .service(flows::get)
        .service(flows::save)
        .service(flows::switch)
        .service(flows::delete)
        .service(flows::publish)
        .service(flows::version)
        .service(flows::preview)
        .service(flows::runs)
        .service(flows::run_steps)
        .service(flow_stats::stats)
        .service(flow_stats::visitors)
        .service(flow_stats::visitors_csv)
        .service(flow_stats::funnel)
        .service(sync::start)
        .service(sync::latest)
        .service(sync::cancel)
        .service(webhooks::verify)
        .service(webhooks::receive)
        .service(ws_routes::agent)
        .service(ws_routes::visitor)
        .service(assets::widget)
        .service(assets::hashed)
        .service(assets::demo)
        .default_service(web::to(assets::fallback));
}

/// Malformed JSON bodies get our error shape and a stable code, not actix's plain text
/// (`input::Json` parses under this configuration).
fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(256 * 1024)
        .error_handler(|err, _| {
            let code = match &err {
                actix_web::error::JsonPayloadError::Deserialize(e) if e.is_data() => {
                    ErrorCode::Validation
                }
                _ => ErrorCode::InvalidJson,
            };
            AppError::new(code, err.to_string()).into()
        })
}
