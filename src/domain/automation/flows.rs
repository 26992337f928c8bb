//! Flows as managers edit them: the draft (saved whenever it parses, so work in progress is
//! kept with its problems listed), publishing (an immutable numbered version, only of a draft
//! without problems), enabling, test runs from the editor (a preview version and a visitor to
//! chat as), and the read-only view of runs. Every call needs `automation.manage`.

use super::document::{self, FlowDocument, Position, Problem, Step, StepKind, Trigger};
use crate::db::{
    self,
    enums::{ChannelKind, RunEndReason, RunStatus, TriggerKind},
    flow_runs::{RunRow, StepRow},
    flows::{FlowChanges, ListedFlow, NewFlow, NewVersion},
};
use crate::domain::access::{Access, Permission};
use crate::domain::visitors;
use crate::error::{AppError, AppResult, ErrorCode, NotFoundExt};
use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::Serialize;
use serde_json::Value;

pub const NAME_MAX: usize = 100;
pub const RUNS_DEFAULT: i64 = 50;
pub const RUNS_MAX: i64 = 200;

/// A flow in the list.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FlowSummary {
    pub id: i64,
    pub name: String,
    pub enabled: bool,
    /// The draft's trigger.
    pub trigger_kind: TriggerKind,
    /// The live version's number; none until the first publish.
    pub published_version: Option<i32>,
    /// The draft differs from the published version (always, before the first publish).
    pub has_unpublished_changes: bool,
    /// When the name or draft last changed.
    pub updated_at: DateTime<Utc>,
    pub updated_by_name: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A published version in a flow's history.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VersionSummary {
    pub version: i32,
    pub published_at: DateTime<Utc>,
    pub published_by_name: Option<String>,
}

/// A flow in the editor: the summary, the draft and what keeps it from being published.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FlowDetail {
    #[serde(flatten)]
    pub summary: FlowSummary,
    #[schema(value_type = FlowDocument)]
    pub draft: Value,
    /// Empty when the draft may be published.
    pub problems: Vec<Problem>,
    /// Newest first.
    pub versions: Vec<VersionSummary>,
}

/// One published version, with its document (which never changes).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VersionView {
    pub version: i32,
    #[schema(value_type = FlowDocument)]
    pub document: Value,
    pub published_at: DateTime<Utc>,
    pub published_by_name: Option<String>,
}

/// What the editor needs to chat as the test-run visitor:
/// `/ws/visitor?key=<widget_key>&token=<visitor_token>`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PreviewView {
    pub widget_key: String,
    pub visitor_token: String,
    pub contact_id: i64,
    /// The preview version the visitor's messages run.
    pub flow_version_id: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RunView {
    pub id: i64,
    pub session_id: i64,
    pub contact_id: i64,
    /// The version it runs (0: a preview).
    pub version: i32,
    pub status: RunStatus,
    pub end_reason: Option<RunEndReason>,
    pub current_step: Option<String>,
    pub triggered_at: DateTime<Utc>,
    pub participated_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub preview: bool,
}

/// A step a run entered.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RunStepView {
    pub seq: i32,
    pub step_id: String,
    pub step_type: String,
    pub from_step: Option<String>,
    pub via_port: Option<String>,
    pub entered_at: DateTime<Utc>,
    /// None while the run is there, or where it ended.
    pub left_port: Option<String>,
    pub left_at: Option<DateTime<Utc>>,
}

impl RunView {
    fn new(r: RunRow, version: i32) -> RunView {
        RunView {
            id: r.id,
            session_id: r.session_id,
            contact_id: r.contact_id,
            version,
            status: r.status,
            end_reason: r.end_reason,
            current_step: r.current_step,
            triggered_at: r.triggered_at,
            participated_at: r.participated_at,
            completed_at: r.completed_at,
            preview: r.preview,
        }
    }
}

impl From<StepRow> for RunStepView {
    fn from(s: StepRow) -> RunStepView {
        RunStepView {
            seq: s.seq,
            step_id: s.step_id,
            step_type: s.step_type,
            from_step: s.from_step,
            via_port: s.via_port,
            entered_at: s.entered_at,
            left_port: s.left_port,
            left_at: s.left_at,
        }
    }
}

fn summary(l: &ListedFlow) -> FlowSummary {
    let f = &l.flow;
    FlowSummary {
        id: f.id,
        name: f.name.clone(),
        enabled: f.enabled,
        trigger_kind: f.trigger_kind,
        published_version: f.published_version,
        has_unpublished_changes: l.published_document.as_ref() != Some(&f.draft),
        updated_at: f.updated_at,
        updated_by_name: l.updated_by_name.clone(),
        created_at: f.created_at,
    }
}

/// A new flow's draft: valid as it is, so a manager can publish it straight away.
pub fn default_draft() -> FlowDocument {
    FlowDocument {
        trigger: Trigger::FirstMessage,
        conditions: Default::default(),
        start: "welcome".into(),
        steps: vec![
            Step {
                id: "welcome".into(),
                position: Some(Position { x: 0.0, y: 0.0 }),
                kind: StepKind::Message {
                    text: "Hello! How can we help?".into(),
                    buttons: vec![],
                },
            },
            Step {
                id: "end".into(),
                position: Some(Position { x: 0.0, y: 160.0 }),
                kind: StepKind::End { text: None },
            },
        ],
        edges: vec![document::Edge {
            from: "welcome".into(),
            port: document::PORT_NEXT.into(),
            to: "end".into(),
        }],
    }
}

fn valid_name(name: &str) -> AppResult<String> {
    let name = name.trim();
    let n = name.chars().count();
    if n == 0 || n > NAME_MAX {
        return Err(AppError::validation(format!(
            "name must have 1 to {NAME_MAX} characters"
        )));
    }
    Ok(name.to_owned())
}

/// A draft as it is stored: parsed (a bad shape or an unknown step type is refused here) and
/// written back in its normal form, defaults filled in, so that "has unpublished changes" is a
/// comparison of documents and not of spellings.
fn normal_draft(value: &Value) -> AppResult<(Value, TriggerKind)> {
    let doc = document::parse(value)?;
    let normal = serde_json::to_value(&doc).map_err(AppError::internal)?;
    Ok((normal, doc.trigger.kind()))
}

/// The problems of a stored draft. One stored before the document's shape changed may no
/// longer parse: that is a problem too, not an error that hides the flow.
fn problems_of(draft: &Value) -> Vec<Problem> {
    match document::parse(draft) {
        Ok(doc) => document::problems(&doc),
        Err(e) => vec![Problem {
            step: None,
            code: "invalid_document",
            message: e.message,
        }],
    }
}

async fn detail(conn: &mut AsyncPgConnection, project_id: i64, id: i64) -> AppResult<FlowDetail> {
    let listed = db::flows::find(conn, project_id, id)
        .await
        .or_not_found("flow")?;
    let versions = db::flows::versions(conn, id)
        .await?
        .into_iter()
        .map(|v| VersionSummary {
            version: v.version,
            published_at: v.published_at,
            published_by_name: v.published_by_name,
        })
        .collect();
    Ok(FlowDetail {
        summary: summary(&listed),
        problems: problems_of(&listed.flow.draft),
        draft: listed.flow.draft,
        versions,
    })
}

pub async fn list(conn: &mut AsyncPgConnection, access: &Access) -> AppResult<Vec<FlowSummary>> {
    access.require(Permission::ManageAutomation)?;
    Ok(db::flows::list(conn, access.project_id)
        .await?
        .iter()
        .map(summary)
        .collect())
}

pub async fn get(conn: &mut AsyncPgConnection, access: &Access, id: i64) -> AppResult<FlowDetail> {
    access.require(Permission::ManageAutomation)?;
    detail(conn, access.project_id, id).await
}

/// A new flow, disabled and unpublished; without a draft it gets `default_draft`.
pub async fn create(
    conn: &mut AsyncPgConnection,
    access: &Access,
    name: &str,
    draft: Option<&Value>,
) -> AppResult<FlowDetail> {
    access.require(Permission::ManageAutomation)?;
    let name = valid_name(name)?;
    let (draft, trigger_kind) = match draft {
        Some(d) => normal_draft(d)?,
        None => normal_draft(&serde_json::to_value(default_draft()).map_err(AppError::internal)?)?,
    };
    let id = db::flows::insert(
        conn,
        NewFlow {
            project_id: access.project_id,
            name: &name,
            draft: &draft,
            trigger_kind,
            user_id: access.user_id,
        },
    )
    .await?;
    detail(conn, access.project_id, id).await
}

/// Saves a new name and/or draft. A draft that parses is saved even with problems (they come
/// back in `problems`); one that does not parse is refused and nothing is saved.
pub async fn save(
    conn: &mut AsyncPgConnection,
    access: &Access,
    id: i64,
    name: Option<&str>,
    draft: Option<&Value>,
) -> AppResult<FlowDetail> {
    access.require(Permission::ManageAutomation)?;
    if name.is_none() && draft.is_none() {
        return Err(AppError::validation("give name or draft"));
    }
    let name = name.map(valid_name).transpose()?;
    let draft = draft.map(normal_draft).transpose()?;
    let (draft, trigger_kind) = match draft {
        Some((d, k)) => (Some(d), Some(k)),
        None => (None, None),
    };
    let changes = FlowChanges {
        name,
        draft,
        trigger_kind,
        updated_by: Some(access.user_id),
        updated_at: Some(Utc::now()),
        ..Default::default()
    };
    match db::flows::update(conn, access.project_id, id, &changes).await? {
        0 => Err(AppError::not_found("flow")),
        _ => detail(conn, access.project_id, id).await,
    }
}

/// Publishes the draft as the next version (1, 2, …), which never changes afterwards; runs
/// already going keep the version they started with. A draft with problems is refused
/// (`invalid_flow`, `details.problems`) and nothing is published. The flow row is locked, so
/// two publishes at once make two consecutive versions.
pub async fn publish(
    conn: &mut AsyncPgConnection,
    access: &Access,
    id: i64,
) -> AppResult<FlowDetail> {
    access.require(Permission::ManageAutomation)?;
    let (project_id, user_id) = (access.project_id, access.user_id);
    conn.transaction(async move |conn| {
        let flow = db::flows::lock(conn, project_id, id)
            .await
            .or_not_found("flow")?;
        let doc = document::parse(&flow.draft)?;
        document::validate(&doc)?;
        let version = flow.published_version.unwrap_or(0) + 1;
        db::flows::insert_version(
            conn,
            NewVersion {
                flow_id: id,
                version,
                preview: false,
                document: &flow.draft,
                trigger_kind: doc.trigger.kind(),
                published_by: user_id,
            },
        )
        .await?;
        let changes = FlowChanges {
            published_version: Some(version),
            ..Default::default()
        };
        db::flows::update(conn, project_id, id, &changes).await?;
        // Read under the row lock: after commit a second publish may already have moved
        // `published_version` on, and this answer must describe the version it made.
        detail(conn, project_id, id).await
    })
    .await
}

/// Enables or disables the flow (its published version triggers only while enabled). A flow
/// never published cannot be enabled (`conflict`).
pub async fn set_enabled(
    conn: &mut AsyncPgConnection,
    access: &Access,
    id: i64,
    enabled: bool,
) -> AppResult<FlowDetail> {
    access.require(Permission::ManageAutomation)?;
    let project_id = access.project_id;
    conn.transaction(async move |conn| {
        let flow = db::flows::lock(conn, project_id, id)
            .await
            .or_not_found("flow")?;
        if enabled && flow.published_version.is_none() {
            return Err(AppError::new(
                ErrorCode::Conflict,
                "publish the flow first: only a published version can run",
            ));
        }
        if flow.enabled != enabled {
            let changes = FlowChanges {
                enabled: Some(enabled),
                ..Default::default()
            };
            db::flows::update(conn, project_id, id, &changes).await?;
        }
        detail(conn, project_id, id).await
    })
    .await
}

/// Deletes the flow with its versions and its runs' records.
pub async fn delete(conn: &mut AsyncPgConnection, access: &Access, id: i64) -> AppResult<()> {
    access.require(Permission::ManageAutomation)?;
    match db::flows::delete(conn, access.project_id, id).await? {
        0 => Err(AppError::not_found("flow")),
        _ => Ok(()),
    }
}

/// Published version `version` of the flow.
pub async fn version(
    conn: &mut AsyncPgConnection,
    access: &Access,
    id: i64,
    version: i32,
) -> AppResult<VersionView> {
    // The analytics draw a version's funnel on its graph: reading a published version is
    // viewing automation data (manage includes it).
    access.require(Permission::ViewAutomation)?;
    db::flows::find(conn, access.project_id, id)
        .await
        .or_not_found("flow")?;
    let (v, by) = db::flows::published(conn, id, version)
        .await
        .or_not_found("version")?;
    Ok(VersionView {
        version: v.version,
        document: v.document,
        published_at: v.published_at,
        published_by_name: by,
    })
}

/// A test run of the draft: it must have no problems; it is stored as a preview version, and a
/// new visitor of the project's web channel ("Test run · <flow name>") is linked to it. That
/// visitor's first message starts the preview version, whatever its trigger, and no other
/// flow runs for it.
pub async fn preview(
    conn: &mut AsyncPgConnection,
    access: &Access,
    id: i64,
) -> AppResult<PreviewView> {
    access.require(Permission::ManageAutomation)?;
    let (project_id, user_id) = (access.project_id, access.user_id);
    let flow = db::flows::find(conn, project_id, id)
        .await
        .or_not_found("flow")?
        .flow;
    let doc = document::parse(&flow.draft)?;
    document::validate(&doc)?;
    let channel = db::channels::list(conn, project_id)
        .await?
        .into_iter()
        .find(|c| c.kind == ChannelKind::Web && c.widget_key.is_some())
        .ok_or_else(|| {
            AppError::new(
                ErrorCode::Conflict,
                "the project has no web channel to run the test on",
            )
        })?;
    let widget_key = channel.widget_key.clone().unwrap_or_default();
    let name = format!("Test run · {}", flow.name);
    conn.transaction(async move |conn| {
        let version = db::flows::insert_version(
            conn,
            NewVersion {
                flow_id: id,
                version: 0,
                preview: true,
                document: &flow.draft,
                trigger_kind: doc.trigger.kind(),
                published_by: user_id,
            },
        )
        .await?;
        let (contact, token) = visitors::create(conn, &channel, Some(&name)).await?;
        db::flows::insert_preview(conn, contact.id, version.id).await?;
        Ok(PreviewView {
            widget_key,
            visitor_token: token,
            contact_id: contact.id,
            flow_version_id: version.id,
        })
    })
    .await
}

/// The flow's runs, newest first (previews included, marked).
pub async fn runs(
    conn: &mut AsyncPgConnection,
    access: &Access,
    id: i64,
    limit: Option<i64>,
) -> AppResult<Vec<RunView>> {
    access.require(Permission::ManageAutomation)?;
    let limit = limit.unwrap_or(RUNS_DEFAULT);
    if !(1..=RUNS_MAX).contains(&limit) {
        return Err(AppError::validation(format!("limit is 1 to {RUNS_MAX}")));
    }
    db::flows::find(conn, access.project_id, id)
        .await
        .or_not_found("flow")?;
    Ok(db::flow_runs::of_flow(conn, id, limit)
        .await?
        .into_iter()
        .map(|(r, v)| RunView::new(r, v))
        .collect())
}

/// Every step a run of the project entered, in order.
pub async fn run_steps(
    conn: &mut AsyncPgConnection,
    access: &Access,
    run_id: i64,
) -> AppResult<Vec<RunStepView>> {
    access.require(Permission::ManageAutomation)?;
    let run = db::flow_runs::find(conn, run_id)
        .await
        .or_not_found("run")?;
    if run.project_id != access.project_id {
        return Err(AppError::not_found("run"));
    }
    Ok(db::flow_runs::steps(conn, run_id)
        .await?
        .into_iter()
        .map(RunStepView::from)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_draft_is_a_valid_first_message_flow() {
        let doc = default_draft();
        assert_eq!(document::problems(&doc), vec![]);
        assert_eq!(doc.trigger.kind(), TriggerKind::FirstMessage);
        let (normal, kind) = normal_draft(&serde_json::to_value(&doc).unwrap()).unwrap();
        assert_eq!(kind, TriggerKind::FirstMessage);
        assert_eq!(document::parse(&normal).unwrap(), doc);
    }

    #[test]
    fn a_name_has_1_to_100_characters_trimmed() {
        assert_eq!(valid_name("  Welcome  ").unwrap(), "Welcome");
        assert!(valid_name("   ").is_err());
        assert!(valid_name(&"é".repeat(100)).is_ok());
        assert!(valid_name(&"é".repeat(101)).is_err());
    }

    #[test]
    fn the_example_in_docs_automation_md_is_a_valid_flow() {
        let page = include_str!("../../../docs/automation.md");
        let section = page
            .split("## Flows, versions and the API")
            .nth(1)
            .expect("the section");
        let json = section
            .split("```json")
            .nth(1)
            .and_then(|s| s.split("```").next())
            .expect("a json block");
        let doc = document::parse(&serde_json::from_str(json).unwrap()).unwrap();
        assert_eq!(document::problems(&doc), vec![]);
    }

    #[test]
    fn a_stored_draft_that_no_longer_parses_is_a_problem_not_an_error() {
        let p = problems_of(&serde_json::json!({"steps": "nope"}));
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].code, "invalid_document");
    }
}
