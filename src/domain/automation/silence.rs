//! The trigger "visitor timed out and did not reply". After each of our messages — an
//! agent's, a bot's, and a native reply (an agent's answer sent outside Switchboard, marked
//! off-platform) only for flows whose `off_platform` option is on — every enabled silence flow
//! gets its durable timer `flow_silence` (key `flow:<flow id>`) moved to that message's time +
//! the flow's minutes, its episode that message's id. A flow's own run's messages never set
//! its timer, so a flow never triggers itself.
//!
//! When the timer fires it re-checks its episode: the session is open, no visitor message came
//! after the episode's message, nor a later message of ours that counts for this flow, no run
//! is running, and the flow's options (new / returning visitors, session states) and
//! conditions hold. Otherwise it is marked with a `skip_reason`. A timer fires once, so a flow
//! triggers at most once per silence.

use crate::db::enums::{SenderKind, TriggerKind};
use crate::db::messages::MessageRow;
use crate::db::sessions::SessionRow;
use crate::db::{self, timers::TimerRow};
use crate::domain::automation::document::{self, Trigger};
use crate::domain::automation::engine::{self, Turn};
use crate::domain::automation::triggers::{self, Facts};
use crate::domain::conversation::{Applied, Author};
use crate::domain::settings;
use crate::domain::timers::TimerKind;
use crate::error::{AppError, AppResult};
use chrono::Duration;
use diesel_async::{AsyncConnection, AsyncPgConnection};

pub const TIMER_FLOW_SILENCE: &str = "flow_silence";

pub fn key_of(flow_id: i64) -> String {
    format!("flow:{flow_id}")
}

/// One of our messages was stored in the session (inside its transaction).
pub async fn on_our_message(
    conn: &mut AsyncPgConnection,
    session: &SessionRow,
    message: &MessageRow,
    author: &Author,
) -> AppResult<()> {
    let flows = db::flows::live(conn, session.project_id, &[TriggerKind::VisitorSilent]).await?;
    if flows.is_empty() {
        return Ok(());
    }
    // A test-run visitor runs its preview and nothing else.
    if db::flows::preview_of_contact(conn, session.contact_id)
        .await?
        .is_some()
    {
        return Ok(());
    }
    let own_flow = match author {
        Author::Flow { run_id } => db::flow_runs::flow_of(conn, *run_id).await?,
        _ => None,
    };
    for flow in flows {
        let Ok(doc) = document::parse_version(&flow.version) else {
            continue;
        };
        let Trigger::VisitorSilent {
            minutes,
            off_platform,
            ..
        } = doc.trigger
        else {
            continue;
        };
        if own_flow == Some(flow.flow_id) || (message.off_platform && !off_platform) {
            continue;
        }
        db::timers::upsert_episode(
            conn,
            session.project_id,
            session.id,
            TIMER_FLOW_SILENCE,
            &key_of(flow.flow_id),
            &message.id.to_string(),
            message.created_at + Duration::minutes(minutes),
            &serde_json::json!({ "flow_id": flow.flow_id }),
        )
        .await?;
    }
    Ok(())
}

pub const FLOW_SILENCE: TimerKind = TimerKind {
    name: TIMER_FLOW_SILENCE,
    fire: |conn, timer, session, _| Box::pin(fire(conn, timer, session)),
};

/// Whether a later message of ours restarts this flow's silence.
async fn counts(
    conn: &mut AsyncPgConnection,
    m: &MessageRow,
    flow_id: i64,
    off_platform: bool,
) -> AppResult<bool> {
    Ok(match m.sender_kind {
        SenderKind::Agent => !m.off_platform || off_platform,
        SenderKind::Bot => match m.flow_run_id {
            Some(run) => db::flow_runs::flow_of(conn, run).await? != Some(flow_id),
            None => true,
        },
        SenderKind::Visitor | SenderKind::System => false,
    })
}

async fn fire(
    conn: &mut AsyncPgConnection,
    timer: &TimerRow,
    session: Option<SessionRow>,
) -> AppResult<Option<Applied>> {
    let Some(s) = session else {
        db::timers::mark_skipped(conn, timer.id, "no_session").await?;
        return Ok(None);
    };
    match check(conn, timer, &s).await? {
        Err(reason) => {
            db::timers::mark_skipped(conn, timer.id, reason).await?;
            Ok(None)
        }
        Ok((version, doc, message_id)) => {
            let settings = settings::load(conn, s.project_id).await?;
            let started = conn
                .transaction(async |conn| {
                    let mut turn = Turn::new(s.clone());
                    engine::start(
                        conn,
                        &mut turn,
                        &version,
                        doc,
                        TriggerKind::VisitorSilent,
                        Some(message_id),
                        &settings,
                    )
                    .await?;
                    Ok::<_, AppError>(turn)
                })
                .await;
            match started {
                Ok(turn) => Ok(Some(turn.into_applied(s))),
                Err(e) => {
                    tracing::error!(error = %e, timer = timer.id, "a silence flow failed to start");
                    db::timers::mark_skipped(conn, timer.id, "error").await?;
                    Ok(None)
                }
            }
        }
    }
}

type Start = (
    db::flows::FlowVersionRow,
    std::sync::Arc<document::FlowDocument>,
    i64,
);

/// The flow to start, or why the timer no longer applies.
async fn check(
    conn: &mut AsyncPgConnection,
    timer: &TimerRow,
    s: &SessionRow,
) -> AppResult<Result<Start, &'static str>> {
    if s.status.is_ended() {
        return Ok(Err("session_ended"));
    }
    let flow_id = timer
        .key
        .strip_prefix("flow:")
        .and_then(|id| id.parse::<i64>().ok());
    let live = db::flows::live(conn, s.project_id, &[TriggerKind::VisitorSilent]).await?;
    let Some(flow) = live.into_iter().find(|f| Some(f.flow_id) == flow_id) else {
        return Ok(Err("flow_not_live"));
    };
    let Ok(doc) = document::parse_version(&flow.version) else {
        return Ok(Err("flow_invalid"));
    };
    let Trigger::VisitorSilent {
        visitors,
        session_states,
        off_platform,
        ..
    } = doc.trigger.clone()
    else {
        return Ok(Err("flow_not_live"));
    };
    let Some(message_id) = timer.episode.parse::<i64>().ok() else {
        return Ok(Err("episode_moved"));
    };
    let Some(episode) = db::messages::of_ids(conn, &[message_id]).await?.pop() else {
        return Ok(Err("episode_moved"));
    };
    for m in db::messages::after(conn, s.id, episode.seq, 10_000).await? {
        if m.sender_kind == SenderKind::Visitor {
            return Ok(Err("visitor_replied"));
        }
        if counts(conn, &m, flow.flow_id, off_platform).await? {
            return Ok(Err("episode_moved"));
        }
    }
    if db::flow_runs::lock_running(conn, s.id).await?.is_some() {
        return Ok(Err("run_running"));
    }
    let facts = Facts::load(conn, s).await?;
    if !triggers::visitors_match(visitors, facts.returning) {
        return Ok(Err("visitors"));
    }
    if !triggers::state_allowed(&session_states, s) {
        return Ok(Err("session_state"));
    }
    if !triggers::conditions_hold(&doc.conditions, &facts) {
        return Ok(Err("conditions"));
    }
    Ok(Ok((flow.version, doc, message_id)))
}
