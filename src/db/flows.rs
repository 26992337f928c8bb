//! Automation flows: the editable draft (`flows`), the immutable published versions and
//! previews (`flow_versions`), and the contacts of editor test runs (`flow_previews`).

use super::enums::TriggerKind;
use super::prepared::prepared;
use super::schema::{flow_previews, flow_versions, flows, users};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = flows)]
pub struct FlowRow {
    pub id: i64,
    pub project_id: i64,
    pub name: String,
    pub enabled: bool,
    pub draft: serde_json::Value,
    pub trigger_kind: TriggerKind,
    pub published_version: Option<i32>,
    pub created_by: Option<i64>,
    pub updated_by: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = flow_versions)]
pub struct FlowVersionRow {
    pub id: i64,
    pub flow_id: i64,
    /// 1, 2, … for published versions; 0 for a preview.
    pub version: i32,
    pub preview: bool,
    pub document: serde_json::Value,
    pub trigger_kind: TriggerKind,
    pub published_by: Option<i64>,
    pub published_at: DateTime<Utc>,
}

/// A flow as the editor lists it: who changed its draft last, and its published version's
/// document (to tell whether the draft has changes that are not published).
#[derive(Debug, Clone)]
pub struct ListedFlow {
    pub flow: FlowRow,
    pub updated_by_name: Option<String>,
    pub published_document: Option<serde_json::Value>,
}

/// The project's flows (or the one with `only`), oldest first.
async fn listed(
    conn: &mut AsyncPgConnection,
    project_id: i64,
    only: Option<i64>,
) -> QueryResult<Vec<ListedFlow>> {
    let mut q = flows::table
        .left_join(users::table.on(users::id.nullable().eq(flows::updated_by)))
        .left_join(
            flow_versions::table.on(flow_versions::flow_id
                .eq(flows::id)
                .and(flows::published_version.eq(flow_versions::version.nullable()))
                .and(flow_versions::preview.eq(false))),
        )
        .filter(flows::project_id.eq(project_id))
        .into_boxed();
    if let Some(id) = only {
        q = q.filter(flows::id.eq(id));
    }
    let rows: Vec<(FlowRow, Option<String>, Option<serde_json::Value>)> = q
        .order(flows::id)
        .select((
            FlowRow::as_select(),
            users::display_name.nullable(),
            flow_versions::document.nullable(),
        ))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(flow, updated_by_name, published_document)| ListedFlow {
            flow,
            updated_by_name,
            published_document,
        })
        .collect())
}

pub async fn list(conn: &mut AsyncPgConnection, project_id: i64) -> QueryResult<Vec<ListedFlow>> {
    listed(conn, project_id, None).await
}

/// One flow of the project (`NotFound` when it is not the project's).
pub async fn find(
    conn: &mut AsyncPgConnection,
    project_id: i64,
    id: i64,
) -> QueryResult<ListedFlow> {
    listed(conn, project_id, Some(id))
        .await?
        .pop()
        .ok_or(diesel::result::Error::NotFound)
}

/// The flow row, locked: publishing and enabling decide on it.
pub async fn lock(conn: &mut AsyncPgConnection, project_id: i64, id: i64) -> QueryResult<FlowRow> {
    flows::table
        .filter(flows::project_id.eq(project_id))
        .filter(flows::id.eq(id))
        .for_update()
        .select(FlowRow::as_select())
        .first(conn)
        .await
}

pub struct NewFlow<'a> {
    pub project_id: i64,
    pub name: &'a str,
    pub draft: &'a serde_json::Value,
    pub trigger_kind: TriggerKind,
    pub user_id: i64,
}

/// Inserts a flow (disabled, never published); returns its id.
pub async fn insert(conn: &mut AsyncPgConnection, f: NewFlow<'_>) -> QueryResult<i64> {
    diesel::insert_into(flows::table)
        .values((
            flows::project_id.eq(f.project_id),
            flows::name.eq(f.name),
            flows::draft.eq(f.draft),
            flows::trigger_kind.eq(f.trigger_kind),
            flows::created_by.eq(Some(f.user_id)),
            flows::updated_by.eq(Some(f.user_id)),
        ))
        .returning(flows::id)
        .get_result(conn)
        .await
}

/// What a change sets; `None` leaves a column as it is.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = flows)]
pub struct FlowChanges {
    pub name: Option<String>,
    pub draft: Option<serde_json::Value>,
    pub trigger_kind: Option<TriggerKind>,
    pub enabled: Option<bool>,
    pub published_version: Option<i32>,
    pub updated_by: Option<i64>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// Changes the project's flow; how many rows changed (0: no such flow).
pub async fn update(
    conn: &mut AsyncPgConnection,
    project_id: i64,
    id: i64,
    changes: &FlowChanges,
) -> QueryResult<usize> {
    diesel::update(
        flows::table
            .filter(flows::project_id.eq(project_id))
            .filter(flows::id.eq(id)),
    )
    .set(changes)
    .execute(conn)
    .await
}

/// Deletes the flow with its versions, previews and runs (cascade); how many rows went.
pub async fn delete(conn: &mut AsyncPgConnection, project_id: i64, id: i64) -> QueryResult<usize> {
    diesel::delete(
        flows::table
            .filter(flows::project_id.eq(project_id))
            .filter(flows::id.eq(id)),
    )
    .execute(conn)
    .await
}

pub struct NewVersion<'a> {
    pub flow_id: i64,
    /// The next number for a published version; 0 for a preview.
    pub version: i32,
    pub preview: bool,
    pub document: &'a serde_json::Value,
    pub trigger_kind: TriggerKind,
    pub published_by: i64,
}

pub async fn insert_version(
    conn: &mut AsyncPgConnection,
    v: NewVersion<'_>,
) -> QueryResult<FlowVersionRow> {
    diesel::insert_into(flow_versions::table)
        .values((
            flow_versions::flow_id.eq(v.flow_id),
            flow_versions::version.eq(v.version),
            flow_versions::preview.eq(v.preview),
            flow_versions::document.eq(v.document),
            flow_versions::trigger_kind.eq(v.trigger_kind),
            flow_versions::published_by.eq(Some(v.published_by)),
        ))
        .returning(FlowVersionRow::as_returning())
        .get_result(conn)
        .await
}

/// A published version without its document, for lists.
#[derive(Debug, Clone, Queryable)]
pub struct VersionInfo {
    pub version: i32,
    pub published_at: DateTime<Utc>,
    pub published_by_name: Option<String>,
}

/// The flow's published versions (not previews), newest first.
pub async fn versions(conn: &mut AsyncPgConnection, flow_id: i64) -> QueryResult<Vec<VersionInfo>> {
    flow_versions::table
        .left_join(users::table.on(users::id.nullable().eq(flow_versions::published_by)))
        .filter(flow_versions::flow_id.eq(flow_id))
        .filter(flow_versions::preview.eq(false))
        .order(flow_versions::version.desc())
        .select((
            flow_versions::version,
            flow_versions::published_at,
            users::display_name.nullable(),
        ))
        .load(conn)
        .await
}

/// Published version `version` of the flow, with the name of who published it.
pub async fn published(
    conn: &mut AsyncPgConnection,
    flow_id: i64,
    version: i32,
) -> QueryResult<(FlowVersionRow, Option<String>)> {
    flow_versions::table
        .left_join(users::table.on(users::id.nullable().eq(flow_versions::published_by)))
        .filter(flow_versions::flow_id.eq(flow_id))
        .filter(flow_versions::version.eq(version))
        .filter(flow_versions::preview.eq(false))
        .select((FlowVersionRow::as_select(), users::display_name.nullable()))
        .first(conn)
        .await
}

/// Links a test-run contact to the preview version it runs.
pub async fn insert_preview(
    conn: &mut AsyncPgConnection,
    contact_id: i64,
    flow_version_id: i64,
) -> QueryResult<()> {
    diesel::insert_into(flow_previews::table)
        .values((
            flow_previews::contact_id.eq(contact_id),
            flow_previews::flow_version_id.eq(flow_version_id),
        ))
        .execute(conn)
        .await
        .map(|_| ())
}

/// A flow that may trigger: enabled, with its published version.
#[derive(Debug, Clone)]
pub struct LiveFlow {
    pub flow_id: i64,
    pub version: FlowVersionRow,
}

/// The enabled flows of a project with a published version whose trigger is one of `kinds`,
/// oldest flow first (the order in which one wins when several trigger at once).
pub async fn live(
    conn: &mut AsyncPgConnection,
    project_id: i64,
    kinds: &[TriggerKind],
) -> QueryResult<Vec<LiveFlow>> {
    let rows: Vec<(i64, FlowVersionRow)> = flows::table
        .inner_join(
            flow_versions::table.on(flow_versions::flow_id
                .eq(flows::id)
                .and(flows::published_version.eq(flow_versions::version.nullable()))
                .and(flow_versions::preview.eq(false))),
        )
        .filter(flows::project_id.eq(project_id))
        .filter(flows::enabled.eq(true))
        .filter(flow_versions::trigger_kind.eq_any(kinds.to_vec()))
        .order(flows::id)
        .select((flows::id, FlowVersionRow::as_select()))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(flow_id, version)| LiveFlow { flow_id, version })
        .collect())
}

pub async fn version(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<FlowVersionRow> {
    flow_versions::table
        .find(id)
        .select(FlowVersionRow::as_select())
        .first(conn)
        .await
}

/// The preview version a test-run contact runs, if it is one.
pub async fn preview_of_contact(
    conn: &mut AsyncPgConnection,
    contact_id: i64,
) -> QueryResult<Option<FlowVersionRow>> {
    flow_previews::table
        .inner_join(flow_versions::table)
        .filter(flow_previews::contact_id.eq(contact_id))
        .select(FlowVersionRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// What a visitor's message may concern, read in one round trip on the locked session: a run
/// is running in it, its contact is a test-run visitor, the project has a live flow. Runs are
/// started only under the session's lock, so the answer holds for the rest of the transaction.
#[derive(Debug, Clone, Copy, QueryableByName)]
pub struct AutomationProbe {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    pub running: bool,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    pub preview: bool,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    pub live: bool,
}

impl AutomationProbe {
    /// Most messages of most projects need none of the engine's reads.
    pub fn applies(&self) -> bool {
        self.running || self.preview || self.live
    }
}

/// What the committer's rules read for each session of a batch besides its row: its
/// project's settings and [`automation_probe`], in one statement.
#[derive(Debug, Clone, QueryableByName)]
pub struct SessionProbe {
    #[diesel(sql_type = diesel::sql_types::Int8)]
    pub session_id: i64,
    #[diesel(sql_type = diesel::sql_types::Int8)]
    pub project_id: i64,
    #[diesel(sql_type = diesel::sql_types::Jsonb)]
    pub settings: serde_json::Value,
    #[diesel(embed)]
    pub probe: AutomationProbe,
}

/// Run after the sessions are locked (in the same transaction), so `running` holds for the
/// rest of it: runs start only under the session's lock.
pub async fn automation_probes(
    mut conn: &AsyncPgConnection,
    session_ids: &[i64],
) -> QueryResult<Vec<SessionProbe>> {
    use diesel::sql_types::{Array, Int8};
    macro_rules! probes_where {
        ($cond:literal) => {
            concat!(
                "SELECT s.id AS session_id, s.project_id, p.settings,
            EXISTS (SELECT 1 FROM flow_runs r WHERE r.session_id = s.id AND r.status = 'running')
                AS running,
            EXISTS (SELECT 1 FROM flow_previews v WHERE v.contact_id = s.contact_id) AS preview,
            EXISTS (SELECT 1 FROM flows f WHERE f.project_id = s.project_id AND f.enabled
                                           AND f.published_version IS NOT NULL) AS live
         FROM sessions s JOIN projects p ON p.id = s.project_id
         WHERE ",
                $cond
            )
        };
    }
    // One session by `= $1`, as `sessions::lock_many` (its generic plan is kept).
    const ONE: &str = probes_where!("s.id = $1");
    const MANY: &str = probes_where!("s.id = ANY($1)");
    match session_ids {
        [id] => {
            prepared(diesel::sql_query(ONE).bind::<Int8, _>(*id))
                .load(&mut conn)
                .await
        }
        _ => {
            prepared(diesel::sql_query(MANY).bind::<Array<Int8>, _>(session_ids))
                .load(&mut conn)
                .await
        }
    }
}

pub async fn automation_probe(
    conn: &mut AsyncPgConnection,
    project_id: i64,
    session_id: i64,
    contact_id: i64,
) -> QueryResult<AutomationProbe> {
    prepared(
        diesel::sql_query(
            "SELECT EXISTS (SELECT 1 FROM flow_runs WHERE session_id = $2 AND status = 'running')
                    AS running,
                EXISTS (SELECT 1 FROM flow_previews WHERE contact_id = $3) AS preview,
                EXISTS (SELECT 1 FROM flows WHERE project_id = $1 AND enabled
                                             AND published_version IS NOT NULL) AS live",
        )
        .bind::<diesel::sql_types::Int8, _>(project_id)
        .bind::<diesel::sql_types::Int8, _>(session_id)
        .bind::<diesel::sql_types::Int8, _>(contact_id),
    )
    .get_result(conn)
    .await
}
