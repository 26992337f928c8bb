//! The audit trail of robot hosting: one row per change of a session's `bot_hosted`.

use super::enums::HostingReason;
use super::schema::hosting_changes;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = hosting_changes)]
pub struct HostingChange {
    pub id: i64,
    pub session_id: i64,
    /// The member who made the change (null for none, or once the account is deleted).
    pub user_id: Option<i64>,
    pub hosted: bool,
    pub reason: HostingReason,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = hosting_changes)]
pub struct NewHostingChange {
    pub session_id: i64,
    pub user_id: Option<i64>,
    pub hosted: bool,
    pub reason: HostingReason,
    pub at: DateTime<Utc>,
}

pub async fn insert(conn: &mut AsyncPgConnection, row: &NewHostingChange) -> QueryResult<usize> {
    diesel::insert_into(hosting_changes::table)
        .values(row)
        .execute(conn)
        .await
}

pub async fn insert_all(
    conn: &mut AsyncPgConnection,
    rows: &[NewHostingChange],
) -> QueryResult<usize> {
    if rows.is_empty() {
        return Ok(0);
    }
    diesel::insert_into(hosting_changes::table)
        .values(rows)
        .execute(conn)
        .await
}

/// A session's changes, oldest first.
pub async fn of_session(
    conn: &mut AsyncPgConnection,
    session_id: i64,
) -> QueryResult<Vec<HostingChange>> {
    hosting_changes::table
        .filter(hosting_changes::session_id.eq(session_id))
        .order(hosting_changes::id.asc())
        .select(HostingChange::as_select())
        .load(conn)
        .await
}
