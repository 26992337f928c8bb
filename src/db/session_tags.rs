//! Session tags (a project's labels for conversations) and their links to sessions.

use super::schema::{session_tag_links, session_tags};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};

#[derive(
    Debug, Clone, PartialEq, Eq, Queryable, Selectable, Serialize, Deserialize, utoipa::ToSchema,
)]
#[diesel(table_name = session_tags)]
pub struct SessionTag {
    pub id: i64,
    /// Not in the API's shape; a tag read back from another server's event (`crate::bus`) has
    /// 0 here, which nothing on that path reads (its frame shows id, name and color).
    #[serde(skip)]
    pub project_id: i64,
    pub name: String,
    /// `#rrggbb`.
    pub color: String,
}

pub async fn list(conn: &mut AsyncPgConnection, project_id: i64) -> QueryResult<Vec<SessionTag>> {
    session_tags::table
        .filter(session_tags::project_id.eq(project_id))
        .order(session_tags::name.asc())
        .select(SessionTag::as_select())
        .load(conn)
        .await
}

/// The project's tags among `ids` (ids of other projects are left out).
pub async fn find_many(
    conn: &mut AsyncPgConnection,
    project_id: i64,
    ids: &[i64],
) -> QueryResult<Vec<SessionTag>> {
    session_tags::table
        .filter(session_tags::project_id.eq(project_id))
        .filter(session_tags::id.eq_any(ids))
        .order(session_tags::name.asc())
        .select(SessionTag::as_select())
        .load(conn)
        .await
}

pub async fn insert(
    conn: &mut AsyncPgConnection,
    project_id: i64,
    name: &str,
    color: &str,
) -> QueryResult<SessionTag> {
    diesel::insert_into(session_tags::table)
        .values((
            session_tags::project_id.eq(project_id),
            session_tags::name.eq(name),
            session_tags::color.eq(color),
        ))
        .returning(SessionTag::as_returning())
        .get_result(conn)
        .await
}

#[derive(AsChangeset, Default)]
#[diesel(table_name = session_tags)]
pub struct TagChanges {
    pub name: Option<String>,
    pub color: Option<String>,
}

pub async fn update(
    conn: &mut AsyncPgConnection,
    project_id: i64,
    id: i64,
    changes: &TagChanges,
) -> QueryResult<SessionTag> {
    diesel::update(
        session_tags::table
            .filter(session_tags::project_id.eq(project_id))
            .filter(session_tags::id.eq(id)),
    )
    .set(changes)
    .returning(SessionTag::as_returning())
    .get_result(conn)
    .await
}

/// Deletes a tag (its links go with it); the number of rows deleted.
pub async fn delete(conn: &mut AsyncPgConnection, project_id: i64, id: i64) -> QueryResult<usize> {
    diesel::delete(
        session_tags::table
            .filter(session_tags::project_id.eq(project_id))
            .filter(session_tags::id.eq(id)),
    )
    .execute(conn)
    .await
}

/// Replaces the session's tags with `tag_ids`.
pub async fn set_for_session(
    conn: &mut AsyncPgConnection,
    session_id: i64,
    tag_ids: &[i64],
) -> QueryResult<()> {
    diesel::delete(session_tag_links::table.filter(session_tag_links::session_id.eq(session_id)))
        .execute(conn)
        .await?;
    let rows: Vec<_> = tag_ids
        .iter()
        .map(|t| {
            (
                session_tag_links::session_id.eq(session_id),
                session_tag_links::tag_id.eq(*t),
            )
        })
        .collect();
    if !rows.is_empty() {
        diesel::insert_into(session_tag_links::table)
            .values(rows)
            .execute(conn)
            .await?;
    }
    Ok(())
}

pub async fn for_session(
    conn: &mut AsyncPgConnection,
    session_id: i64,
) -> QueryResult<Vec<SessionTag>> {
    session_tag_links::table
        .inner_join(session_tags::table)
        .filter(session_tag_links::session_id.eq(session_id))
        .order(session_tags::name.asc())
        .select(SessionTag::as_select())
        .load(conn)
        .await
}
