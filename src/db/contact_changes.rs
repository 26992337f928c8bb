//! The audit trail of edits to contacts: one row per changed field.

use super::schema::contact_changes;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = contact_changes)]
pub struct ContactChange {
    pub id: i64,
    pub contact_id: i64,
    /// The member who changed it (null once the account is deleted).
    pub user_id: Option<i64>,
    /// `note_name`, `phone`, `email` or `labels`.
    pub field: String,
    #[schema(value_type = Object)]
    pub old: serde_json::Value,
    #[schema(value_type = Object)]
    pub new: serde_json::Value,
    pub at: DateTime<Utc>,
}

#[derive(Insertable)]
#[diesel(table_name = contact_changes)]
pub struct NewContactChange {
    pub contact_id: i64,
    pub user_id: Option<i64>,
    pub field: String,
    pub old: serde_json::Value,
    pub new: serde_json::Value,
}

pub async fn insert_all(
    conn: &mut AsyncPgConnection,
    rows: &[NewContactChange],
) -> QueryResult<usize> {
    if rows.is_empty() {
        return Ok(0);
    }
    diesel::insert_into(contact_changes::table)
        .values(rows)
        .execute(conn)
        .await
}

/// Newest first, paged by id.
pub async fn list(
    conn: &mut AsyncPgConnection,
    contact_id: i64,
    before_id: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<ContactChange>> {
    let mut q = contact_changes::table
        .filter(contact_changes::contact_id.eq(contact_id))
        .select(ContactChange::as_select())
        .order(contact_changes::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(before) = before_id {
        q = q.filter(contact_changes::id.lt(before));
    }
    q.load(conn).await
}
