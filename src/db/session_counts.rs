//! `session_count_deltas`: sessions per project and status, kept by a trigger (migration
//! 000006) as +1/-1 rows and folded back by [`compact`]. Raw SQL because the table has no key.

use super::enums::SessionStatus;
use diesel::sql_types::{BigInt, Text};
use diesel::QueryableByName;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    project_id: i64,
    #[diesel(sql_type = Text)]
    status: SessionStatus,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// (status, sessions) for one project.
pub async fn for_project(
    conn: &mut AsyncPgConnection,
    project_id: i64,
) -> diesel::QueryResult<Vec<(SessionStatus, i64)>> {
    let rows: Vec<Count> = diesel::sql_query(
        "SELECT project_id, status, sum(n)::bigint AS n FROM session_count_deltas \
         WHERE project_id = $1 GROUP BY project_id, status",
    )
    .bind::<BigInt, _>(project_id)
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|c| (c.status, c.n)).collect())
}

/// (project, status, sessions) for every project.
pub async fn all(
    conn: &mut AsyncPgConnection,
) -> diesel::QueryResult<Vec<(i64, SessionStatus, i64)>> {
    let rows: Vec<Count> = diesel::sql_query(
        "SELECT project_id, status, sum(n)::bigint AS n FROM session_count_deltas \
         GROUP BY project_id, status",
    )
    .load(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|c| (c.project_id, c.status, c.n))
        .collect())
}

/// Folds the rows into one per project and status, in one statement so a reader sees either
/// all the old rows or the folded ones. A concurrent fold blocks on the rows being deleted and
/// then finds them gone. Returns the rows left (statuses with a non-zero count).
pub async fn compact(conn: &mut AsyncPgConnection) -> diesel::QueryResult<usize> {
    diesel::sql_query(
        "WITH gone AS (DELETE FROM session_count_deltas RETURNING project_id, status, n) \
         INSERT INTO session_count_deltas (project_id, status, n) \
         SELECT project_id, status, sum(n) FROM gone GROUP BY project_id, status \
         HAVING sum(n) <> 0",
    )
    .execute(conn)
    .await
}
