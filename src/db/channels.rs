//! Channels: where visitors reach a project (the web widget now; Messenger later).

use super::enums::{ChannelHealth, ChannelKind};
use super::schema::channels;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

/// A channel row. Not serialisable on purpose: `config` holds write-only secrets; the API
/// shows `domain::views::ChannelView`.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = channels)]
pub struct Channel {
    pub id: i64,
    pub project_id: i64,
    pub kind: ChannelKind,
    pub name: String,
    pub widget_key: Option<String>,
    pub config: serde_json::Value,
    pub created_at: DateTime<Utc>,
    /// The channel's id on its platform (a Messenger Page id).
    pub external_id: Option<String>,
    pub health: ChannelHealth,
    pub health_detail: Option<String>,
    pub health_at: Option<DateTime<Utc>>,
}

pub async fn insert(
    conn: &mut AsyncPgConnection,
    project_id: i64,
    kind: ChannelKind,
    name: &str,
    widget_key: Option<&str>,
) -> QueryResult<Channel> {
    diesel::insert_into(channels::table)
        .values((
            channels::project_id.eq(project_id),
            channels::kind.eq(kind),
            channels::name.eq(name),
            channels::widget_key.eq(widget_key),
        ))
        .returning(Channel::as_returning())
        .get_result(conn)
        .await
}

pub async fn by_widget_key(
    conn: &mut AsyncPgConnection,
    key: &str,
) -> QueryResult<Option<Channel>> {
    channels::table
        .filter(channels::widget_key.eq(key))
        .select(Channel::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn name(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<String> {
    channels::table
        .find(id)
        .select(channels::name)
        .first(conn)
        .await
}

pub async fn list(conn: &mut AsyncPgConnection, project_id: i64) -> QueryResult<Vec<Channel>> {
    channels::table
        .filter(channels::project_id.eq(project_id))
        .order(channels::id.asc())
        .select(Channel::as_select())
        .load(conn)
        .await
}

/// A channel's kind, which never changes once created: cached per process, so the hot path of
/// posting a message (which asks whether its channel sends through a platform) costs no query
/// after the first.
pub async fn kind_of(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<ChannelKind> {
    if let Some(k) = cached_kind(id) {
        return Ok(k);
    }
    let kind = channels::table
        .find(id)
        .select(channels::kind)
        .first::<ChannelKind>(conn)
        .await?;
    known_kinds().insert(id, kind);
    Ok(kind)
}

/// The kind of a channel `kind_of` has read before, without a query.
pub fn cached_kind(id: i64) -> Option<ChannelKind> {
    known_kinds().get(&id).map(|k| *k)
}

/// For unit tests of the rules that read the cache.
#[cfg(test)]
pub(crate) fn remember_kind(id: i64, kind: ChannelKind) {
    known_kinds().insert(id, kind);
}

fn known_kinds() -> &'static dashmap::DashMap<i64, ChannelKind> {
    static KINDS: std::sync::OnceLock<dashmap::DashMap<i64, ChannelKind>> =
        std::sync::OnceLock::new();
    KINDS.get_or_init(dashmap::DashMap::new)
}

pub async fn find(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<Channel> {
    channels::table
        .find(id)
        .select(Channel::as_select())
        .first(conn)
        .await
}

/// A Messenger channel: its Page id in `external_id`, its settings (secrets sealed) in
/// `config`. Unique per kind and Page id (`channels_external_id`): a second connection of the
/// same Page is a unique violation.
pub async fn insert_messenger(
    conn: &mut AsyncPgConnection,
    project_id: i64,
    name: &str,
    page_id: &str,
    config: &serde_json::Value,
    health_detail: Option<&str>,
) -> QueryResult<Channel> {
    diesel::insert_into(channels::table)
        .values((
            channels::project_id.eq(project_id),
            channels::kind.eq(ChannelKind::Messenger),
            channels::name.eq(name),
            channels::external_id.eq(page_id),
            channels::config.eq(config),
            channels::health.eq(ChannelHealth::Connected),
            channels::health_detail.eq(health_detail),
            channels::health_at.eq(Utc::now()),
        ))
        .returning(Channel::as_returning())
        .get_result(conn)
        .await
}

/// The row, locked for a read-modify-write of its config.
pub async fn lock(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<Channel> {
    channels::table
        .find(id)
        .for_update()
        .select(Channel::as_select())
        .first(conn)
        .await
}

/// The one write of a channel's settings: name, platform id and config together.
pub async fn update_config(
    conn: &mut AsyncPgConnection,
    id: i64,
    name: &str,
    external_id: Option<&str>,
    config: &serde_json::Value,
) -> QueryResult<Channel> {
    diesel::update(channels::table.find(id))
        .set((
            channels::name.eq(name),
            channels::external_id.eq(external_id),
            channels::config.eq(config),
        ))
        .returning(Channel::as_returning())
        .get_result(conn)
        .await
}

/// The channel of a platform id (a Messenger Page).
pub async fn by_external_id(
    conn: &mut AsyncPgConnection,
    kind: ChannelKind,
    external_id: &str,
) -> QueryResult<Option<Channel>> {
    channels::table
        .filter(channels::kind.eq(kind))
        .filter(channels::external_id.eq(external_id))
        .select(Channel::as_select())
        .first(conn)
        .await
        .optional()
}

/// The channels of several platform ids, in one query (a webhook POST may name several Pages).
pub async fn by_external_ids(
    conn: &mut AsyncPgConnection,
    kind: ChannelKind,
    external_ids: &[String],
) -> QueryResult<Vec<Channel>> {
    channels::table
        .filter(channels::kind.eq(kind))
        .filter(channels::external_id.eq_any(external_ids))
        .select(Channel::as_select())
        .load(conn)
        .await
}

/// Every channel of a kind, across projects (the webhook's verification checks them all).
pub async fn all_of_kind(
    conn: &mut AsyncPgConnection,
    kind: ChannelKind,
) -> QueryResult<Vec<Channel>> {
    channels::table
        .filter(channels::kind.eq(kind))
        .order(channels::id.asc())
        .select(Channel::as_select())
        .load(conn)
        .await
}

/// Moves the channel to `health` unless it is there already; the channel as it is now, only
/// when this call changed it (of two servers finding the same failure, one is told).
pub async fn change_health(
    conn: &mut AsyncPgConnection,
    id: i64,
    health: ChannelHealth,
    detail: Option<&str>,
) -> QueryResult<Option<Channel>> {
    diesel::update(channels::table.find(id).filter(channels::health.ne(health)))
        .set((
            channels::health.eq(health),
            channels::health_detail.eq(detail),
            channels::health_at.eq(Utc::now()),
        ))
        .returning(Channel::as_returning())
        .get_result(conn)
        .await
        .optional()
}

/// Records what the platform said about the channel (connected again, token invalid,
/// restricted) and since when; `None` when the channel is gone.
pub async fn set_health(
    conn: &mut AsyncPgConnection,
    id: i64,
    health: ChannelHealth,
    detail: Option<&str>,
) -> QueryResult<Option<Channel>> {
    diesel::update(channels::table.find(id))
        .set((
            channels::health.eq(health),
            channels::health_detail.eq(detail),
            channels::health_at.eq(Utc::now()),
        ))
        .returning(Channel::as_returning())
        .get_result(conn)
        .await
        .optional()
}
