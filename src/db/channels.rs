//! Channels: where visitors reach a project (the web widget now; Messenger later).

use super::enums::ChannelKind;
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
