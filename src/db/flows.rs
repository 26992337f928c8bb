//! Automation flows: the editable draft (`flows`), the immutable published versions and
//! previews (`flow_versions`), and the contacts of editor test runs (`flow_previews`).

use super::enums::TriggerKind;
use super::schema::{flow_previews, flow_versions, flows};
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
