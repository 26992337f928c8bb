//! The run engine. A run is a durable row (`flow_runs`) that moves through the steps of the
//! flow version it started with; every step it enters is a row (`flow_run_steps`: its number,
//! the step it came from and by which port; the row it leaves gets `left_port` / `left_at`).
//! It moves inside the session's own transactions — a visitor's message (`conversation::post`)
//! or a due timer (`flow_wait`, `flow_silence`), both applied by the session's actor — so bot
//! messages take the next sequence numbers and are announced after the commit, in order.
//!
//! A run moves until a step waits (a message with buttons, a question, a wait) or it ends; at
//! most `MAX_STEPS_PER_ACTIVATION` steps in one go (a loop without a wait fails the run with
//! `step_limit`).

use crate::db::enums::{RunEndReason, RunStatus, RunWait, SessionStatus, TriggerKind};
use crate::db::flow_runs::{NewRun, NewStep, RunChanges, RunRow};
use crate::db::flows::FlowVersionRow;
use crate::db::messages::MessageRow;
use crate::db::sessions::{SessionChanges, SessionRow};
use crate::db::{self, contact_changes::NewContactChange, contacts::ContactChanges};
use crate::domain::automation::document::{
    self, AnswerKind, Button, ContactField, FlowDocument, StepKind, PORT_FALLBACK, PORT_FALSE,
    PORT_NEXT, PORT_OTHER, PORT_REPLIED, PORT_TRUE,
};
use crate::domain::automation::triggers::{self, Facts, MessagePlace};
use crate::domain::contacts;
use crate::domain::conversation::{self, Applied, Author, NewPost};
use crate::domain::events::Event;
use crate::domain::hosting;
use crate::domain::settings::{self, ProjectSettings};
use crate::domain::timers::TimerKind;
use crate::error::{AppError, AppResult};
use chrono::{Duration, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde_json::{json, Value};
use std::sync::Arc;

pub const MAX_STEPS_PER_ACTIVATION: usize = 50;
pub const TIMER_FLOW_WAIT: &str = "flow_wait";

/// What a run did to its session in one go: the session row as it is now, the messages it
/// added (in sequence order) and the other events it causes (a contact or its tags changed).
#[derive(Debug)]
pub struct Turn {
    pub session: SessionRow,
    pub messages: Vec<MessageRow>,
    pub more: Vec<Event>,
}

impl Turn {
    pub fn new(session: SessionRow) -> Turn {
        Turn {
            session,
            messages: Vec::new(),
            more: Vec::new(),
        }
    }

    /// A timer's change to the session it found as `before`.
    pub fn into_applied(self, before: SessionRow) -> Applied {
        Applied {
            before,
            after: self.session,
            message: None,
            extra: self.messages,
            duplicate: false,
            more: self.more,
        }
    }
}

/// A run and the document of its version.
struct Run {
    row: RunRow,
    doc: Arc<FlowDocument>,
}

impl Run {
    async fn load(conn: &mut AsyncPgConnection, row: RunRow) -> AppResult<Run> {
        let version = db::flows::version(conn, row.flow_version_id).await?;
        let doc = document::parse_version(&version)?;
        Ok(Run { row, doc })
    }

    async fn set(&mut self, conn: &mut AsyncPgConnection, c: RunChanges) -> AppResult<()> {
        self.row = db::flow_runs::update(conn, self.row.id, &c).await?;
        Ok(())
    }
}

/// A visitor's message, inside its transaction (a savepoint): the running run takes it as its
/// input; with none running, the message may trigger a flow (the oldest that fires wins).
pub async fn on_visitor_message(
    conn: &mut AsyncPgConnection,
    session: SessionRow,
    message: &MessageRow,
    settings: &ProjectSettings,
    probe: db::flows::AutomationProbe,
) -> AppResult<Turn> {
    let mut turn = Turn::new(session);
    // A Messenger thread another app controls (standby) must not be answered: a send into it
    // would be refused, so no flow starts or moves on because of its messages.
    if message.content.get("standby").and_then(|v| v.as_bool()) == Some(true) {
        return Ok(turn);
    }
    // The probe already said what exists: only those rows are read.
    if probe.running {
        if let Some(row) = db::flow_runs::lock_running(conn, turn.session.id).await? {
            let mut run = Run::load(conn, row).await?;
            input(conn, &mut turn, &mut run, message, settings).await?;
            return Ok(turn);
        }
    }
    let place = MessagePlace {
        first_visitor_message: turn.session.visitor_message_count == 1,
        first_message: turn.session.message_count == 1,
    };
    // A test-run visitor runs its preview at its first message, whatever the trigger, and
    // nothing else.
    let preview = match probe.preview {
        true => db::flows::preview_of_contact(conn, turn.session.contact_id).await?,
        false => None,
    };
    if let Some(version) = preview {
        if place.first_visitor_message {
            let doc = document::parse_version(&version)?;
            let trigger = version.trigger_kind;
            start(
                conn,
                &mut turn,
                &version,
                doc,
                trigger,
                Some(message.id),
                settings,
            )
            .await?;
        }
        return Ok(turn);
    }
    if !probe.live {
        return Ok(turn);
    }
    let kinds = [
        TriggerKind::FirstMessage,
        TriggerKind::Keyword,
        TriggerKind::NewSession,
    ];
    let live = db::flows::live(conn, turn.session.project_id, &kinds).await?;
    if live.is_empty() {
        return Ok(turn);
    }
    // Most messages trigger nothing: match the text first, load the contact's facts only for
    // the flows it fires (oldest first; the first whose conditions hold wins).
    let mut fired = Vec::new();
    for flow in live {
        let doc = match document::parse_version(&flow.version) {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(flow = flow.flow_id, error = %e, "a published flow does not parse");
                continue;
            }
        };
        if triggers::message_fires(&doc.trigger, place, &message.body) {
            fired.push((flow, doc));
        }
    }
    if fired.is_empty() {
        return Ok(turn);
    }
    let facts = Facts::load(conn, &turn.session).await?;
    for (flow, doc) in fired {
        if triggers::conditions_hold(&doc.conditions, &facts) {
            let kind = doc.trigger.kind();
            start(
                conn,
                &mut turn,
                &flow.version,
                doc,
                kind,
                Some(message.id),
                settings,
            )
            .await?;
            break;
        }
    }
    Ok(turn)
}

/// Starts a run of `version` in the turn's session and moves it as far as it goes.
pub async fn start(
    conn: &mut AsyncPgConnection,
    turn: &mut Turn,
    version: &FlowVersionRow,
    doc: Arc<FlowDocument>,
    trigger_kind: TriggerKind,
    trigger_message_id: Option<i64>,
    settings: &ProjectSettings,
) -> AppResult<()> {
    let s = &turn.session;
    let row = db::flow_runs::insert(
        conn,
        &NewRun {
            project_id: s.project_id,
            flow_id: version.flow_id,
            flow_version_id: version.id,
            session_id: s.id,
            contact_id: s.contact_id,
            channel_id: s.channel_id,
            preview: version.preview,
            trigger_kind,
            trigger_message_id,
            triggered_at: Utc::now(),
        },
    )
    .await?;
    let first = doc.start.clone();
    let mut run = Run { row, doc };
    counted(turn, &run.row, true);
    advance(conn, turn, &mut run, first, None, settings).await
}

/// Tells the statistics that a run started, first participated or completed (test runs are
/// never counted).
fn counted(turn: &mut Turn, row: &RunRow, started: bool) {
    if row.preview {
        return;
    }
    turn.more.push(Event::FlowRunChanged {
        project_id: row.project_id,
        flow_id: row.flow_id,
        run_id: row.id,
        contact_id: row.contact_id,
        triggered_at: row.triggered_at,
        participated: row.participated_at.is_some(),
        completed: row.completed_at.is_some(),
        started,
    });
}

/// Leaves the run's current step by `port` and moves on.
async fn go(
    conn: &mut AsyncPgConnection,
    turn: &mut Turn,
    run: &mut Run,
    port: &str,
    settings: &ProjectSettings,
) -> AppResult<()> {
    let Some(current) = run.row.current_step.clone() else {
        return end(conn, run, RunStatus::Failed, RunEndReason::Error).await;
    };
    let Some(next) = run.doc.next(&current, port).map(|s| s.id.clone()) else {
        tracing::warn!(
            run = run.row.id,
            step = current,
            port,
            "no edge from this port"
        );
        return end(conn, run, RunStatus::Failed, RunEndReason::Error).await;
    };
    advance(conn, turn, run, next, Some(port.to_owned()), settings).await
}

/// Enters `to` (from the current step by `via`, or as the first step) and carries out steps
/// until one waits or the run ends.
async fn advance(
    conn: &mut AsyncPgConnection,
    turn: &mut Turn,
    run: &mut Run,
    mut to: String,
    mut via: Option<String>,
    settings: &ProjectSettings,
) -> AppResult<()> {
    let mut entered = 0;
    loop {
        let now = Utc::now();
        let from = run.row.current_step.clone();
        if let Some(port) = &via {
            db::flow_runs::leave_step(conn, run.row.id, run.row.step_seq, port, now).await?;
        }
        if entered >= MAX_STEPS_PER_ACTIVATION {
            return end(conn, run, RunStatus::Failed, RunEndReason::StepLimit).await;
        }
        entered += 1;
        let Some(step) = run.doc.step(&to).cloned() else {
            return end(conn, run, RunStatus::Failed, RunEndReason::Error).await;
        };
        let seq = run.row.step_seq + 1;
        db::flow_runs::insert_step(
            conn,
            &NewStep {
                run_id: run.row.id,
                flow_version_id: run.row.flow_version_id,
                seq,
                step_id: &step.id,
                step_type: step.kind.type_name(),
                from_step: via.as_ref().and(from.as_deref()),
                via_port: via.as_deref(),
                entered_at: now,
            },
        )
        .await?;
        run.set(
            conn,
            RunChanges {
                current_step: Some(Some(step.id.clone())),
                step_seq: Some(seq),
                waiting_for: Some(None),
                waiting_message_id: Some(None),
                retries: Some(0),
                ..Default::default()
            },
        )
        .await?;
        let port = match &step.kind {
            StepKind::Message { text, buttons } => {
                if buttons.is_empty() {
                    say(conn, turn, run, text, None, settings).await?;
                    PORT_NEXT
                } else {
                    let content = json!({ "buttons": buttons });
                    let m = say(conn, turn, run, text, Some(content), settings).await?;
                    return wait_for(conn, run, RunWait::Button, Some(m.id)).await;
                }
            }
            StepKind::Question { text, answer, .. } => {
                let m = say(conn, turn, run, text, Some(ask(*answer)), settings).await?;
                return wait_for(conn, run, RunWait::Answer, Some(m.id)).await;
            }
            StepKind::Condition { rule } => {
                let facts = Facts::load(conn, &turn.session).await?;
                if triggers::rule_holds(rule, &facts) {
                    PORT_TRUE
                } else {
                    PORT_FALSE
                }
            }
            StepKind::Wait { seconds } => {
                let s = &turn.session;
                db::timers::upsert_episode(
                    conn,
                    s.project_id,
                    s.id,
                    TIMER_FLOW_WAIT,
                    &format!("run:{}", run.row.id),
                    &seq.to_string(),
                    now + Duration::seconds(*seconds),
                    &json!({ "run_id": run.row.id }),
                )
                .await?;
                return wait_for(conn, run, RunWait::Wait, None).await;
            }
            StepKind::AddLabel { label } => {
                add_label(conn, turn, label).await?;
                PORT_NEXT
            }
            StepKind::AddTag { tag_id } => {
                add_tag(conn, turn, *tag_id).await?;
                PORT_NEXT
            }
            StepKind::Handoff { assignee, text } => {
                if let Some(t) = text.as_deref().filter(|t| !t.trim().is_empty()) {
                    say(conn, turn, run, t, None, settings).await?;
                }
                handoff(conn, turn, *assignee).await?;
                PORT_NEXT
            }
            StepKind::End { text } => {
                if let Some(t) = text.as_deref().filter(|t| !t.trim().is_empty()) {
                    say(conn, turn, run, t, None, settings).await?;
                }
                end(conn, run, RunStatus::Completed, RunEndReason::Completed).await?;
                counted(turn, &run.row, false);
                return Ok(());
            }
        };
        let Some(next) = run.doc.next(&step.id, port).map(|s| s.id.clone()) else {
            tracing::warn!(
                run = run.row.id,
                step = step.id,
                port,
                "no edge from this port"
            );
            return end(conn, run, RunStatus::Failed, RunEndReason::Error).await;
        };
        to = next;
        via = Some(port.to_owned());
    }
}

fn ask(kind: AnswerKind) -> Value {
    let k = match kind {
        AnswerKind::Text => "text",
        AnswerKind::Email => "email",
        AnswerKind::Phone => "phone",
    };
    json!({ "ask": k })
}

async fn wait_for(
    conn: &mut AsyncPgConnection,
    run: &mut Run,
    what: RunWait,
    message_id: Option<i64>,
) -> AppResult<()> {
    run.set(
        conn,
        RunChanges {
            waiting_for: Some(Some(what)),
            waiting_message_id: Some(message_id),
            ..Default::default()
        },
    )
    .await
}

async fn end(
    conn: &mut AsyncPgConnection,
    run: &mut Run,
    status: RunStatus,
    reason: RunEndReason,
) -> AppResult<()> {
    run.row = finish(conn, run.row.id, status, reason).await?;
    Ok(())
}

async fn finish(
    conn: &mut AsyncPgConnection,
    run_id: i64,
    status: RunStatus,
    reason: RunEndReason,
) -> AppResult<RunRow> {
    let now = Utc::now();
    if status == RunStatus::Failed {
        tracing::warn!(
            run = run_id,
            reason = reason.as_str(),
            "automation run failed"
        );
    }
    let c = RunChanges {
        status: Some(status),
        end_reason: Some(Some(reason)),
        waiting_for: Some(None),
        completed_at: (status == RunStatus::Completed).then_some(Some(now)),
        ended_at: Some(Some(now)),
        ..Default::default()
    };
    Ok(db::flow_runs::update(conn, run_id, &c).await?)
}

/// A bot message of the run, posted on the locked session like any other message.
async fn say(
    conn: &mut AsyncPgConnection,
    turn: &mut Turn,
    run: &Run,
    text: &str,
    content: Option<Value>,
    settings: &ProjectSettings,
) -> AppResult<MessageRow> {
    conversation::validate_text(text)?;
    let post = NewPost {
        content,
        ..NewPost::text(Author::Flow { run_id: run.row.id }, None, text.to_owned())
    };
    let applied = conversation::post_locked(conn, turn.session.clone(), &post, settings).await?;
    turn.session = applied.after;
    let m = applied
        .message
        .ok_or_else(|| AppError::internal("a bot message without its row"))?;
    turn.messages.push(m.clone());
    Ok(m)
}

/// The visitor's message while the run waits.
async fn input(
    conn: &mut AsyncPgConnection,
    turn: &mut Turn,
    run: &mut Run,
    message: &MessageRow,
    settings: &ProjectSettings,
) -> AppResult<()> {
    let Some(step) = run
        .row
        .current_step
        .as_deref()
        .and_then(|id| run.doc.step(id))
        .cloned()
    else {
        return end(conn, run, RunStatus::Failed, RunEndReason::Error).await;
    };
    match (run.row.waiting_for, &step.kind) {
        (Some(RunWait::Button), StepKind::Message { buttons, .. }) => {
            match clicked(buttons, run.row.waiting_message_id, message) {
                Some(id) => {
                    participate(conn, turn, run).await?;
                    go(conn, turn, run, &id, settings).await
                }
                None if run.doc.next(&step.id, PORT_OTHER).is_some() => {
                    go(conn, turn, run, PORT_OTHER, settings).await
                }
                // No way on but the buttons: it keeps waiting for one.
                None => Ok(()),
            }
        }
        (
            Some(RunWait::Answer),
            StepKind::Question {
                answer,
                save_to,
                retries,
                retry_text,
                ..
            },
        ) => match valid_answer(*answer, *save_to, &message.body) {
            Ok(value) => {
                if let Some(field) = save_to {
                    save_field(conn, turn, *field, &value).await?;
                }
                let mut vars = run.row.vars.clone();
                if let Some(map) = vars.as_object_mut() {
                    map.insert(step.id.clone(), json!(value));
                }
                run.set(
                    conn,
                    RunChanges {
                        vars: Some(vars),
                        ..Default::default()
                    },
                )
                .await?;
                participate(conn, turn, run).await?;
                go(conn, turn, run, PORT_NEXT, settings).await
            }
            Err(hint) if run.row.retries >= *retries => {
                tracing::debug!(run = run.row.id, hint, "answer retries used up");
                go(conn, turn, run, PORT_FALLBACK, settings).await
            }
            Err(hint) => {
                let text = retry_text
                    .as_deref()
                    .filter(|t| !t.trim().is_empty())
                    .unwrap_or(hint);
                let m = say(conn, turn, run, text, Some(ask(*answer)), settings).await?;
                let retries = run.row.retries + 1;
                run.set(
                    conn,
                    RunChanges {
                        retries: Some(retries),
                        waiting_message_id: Some(Some(m.id)),
                        ..Default::default()
                    },
                )
                .await
            }
        },
        (Some(RunWait::Wait), StepKind::Wait { .. }) => {
            // A reply interrupts the wait; its timer finds the run moved on and is skipped.
            let port = if run.doc.next(&step.id, PORT_REPLIED).is_some() {
                PORT_REPLIED
            } else {
                PORT_NEXT
            };
            go(conn, turn, run, port, settings).await
        }
        _ => Ok(()),
    }
}

/// The button a visitor message chose: a click on the run's message (`content.button`), or its
/// title typed (trimmed, case-insensitive — how Messenger users often answer).
fn clicked(buttons: &[Button], waiting_on: Option<i64>, m: &MessageRow) -> Option<String> {
    if let Some(b) = m.content.get("button") {
        let on = b.get("message_id").and_then(Value::as_i64);
        let id = b.get("id").and_then(Value::as_str);
        if let (Some(on), Some(id)) = (on, id) {
            if Some(on) == waiting_on && buttons.iter().any(|x| x.id == id) {
                return Some(id.to_owned());
            }
        }
    }
    let typed = m.body.trim().to_lowercase();
    buttons
        .iter()
        .find(|b| b.title.trim().to_lowercase() == typed)
        .map(|b| b.id.clone())
}

/// The answer as it is saved, or the hint to ask again with.
fn valid_answer(
    kind: AnswerKind,
    field: Option<ContactField>,
    text: &str,
) -> Result<String, &'static str> {
    let value = match kind {
        AnswerKind::Text => Some(text.trim().to_owned()).filter(|t| !t.is_empty()),
        AnswerKind::Email => contacts::normalize_email(Some(text.to_owned()))
            .ok()
            .flatten(),
        AnswerKind::Phone => contacts::normalize_phone(Some(text.to_owned()))
            .ok()
            .flatten(),
    };
    let hint = match kind {
        AnswerKind::Text => "Please type your answer.",
        AnswerKind::Email => "That does not look like an e-mail address. Please try again.",
        AnswerKind::Phone => {
            "Please enter your phone number with its country code, e.g. +49 30 1234567."
        }
    };
    let value = value.ok_or(hint)?;
    // The field's own rules too (a text answer saved as the e-mail must be one).
    let fits = match field {
        None => true,
        Some(ContactField::NoteName) => contacts::normalize_note_name(Some(value.clone())).is_ok(),
        Some(ContactField::Email) => contacts::normalize_email(Some(value.clone())).is_ok(),
        Some(ContactField::Phone) => contacts::normalize_phone(Some(value.clone())).is_ok(),
    };
    if fits {
        Ok(value)
    } else {
        Err(hint)
    }
}

async fn participate(
    conn: &mut AsyncPgConnection,
    turn: &mut Turn,
    run: &mut Run,
) -> AppResult<()> {
    if run.row.participated_at.is_some() {
        return Ok(());
    }
    run.set(
        conn,
        RunChanges {
            participated_at: Some(Some(Utc::now())),
            ..Default::default()
        },
    )
    .await?;
    counted(turn, &run.row, false);
    Ok(())
}

/// Writes a contact field the way a customer-info edit does (one audit row per change, no
/// member behind it) and announces the contact.
async fn save_field(
    conn: &mut AsyncPgConnection,
    turn: &mut Turn,
    field: ContactField,
    value: &str,
) -> AppResult<()> {
    let s = &turn.session;
    let before = db::contacts::lock(conn, s.project_id, s.contact_id).await?;
    let mut c = ContactChanges::default();
    let (name, old) = match field {
        ContactField::NoteName => {
            c.note_name = Some(Some(value.to_owned()));
            ("note_name", json!(before.note_name))
        }
        ContactField::Email => {
            c.email = Some(Some(value.to_owned()));
            ("email", json!(before.email))
        }
        ContactField::Phone => {
            c.phone = Some(Some(value.to_owned()));
            ("phone", json!(before.phone))
        }
    };
    if old == json!(value) {
        return Ok(());
    }
    write_contact(conn, turn, c, name, old, json!(value)).await
}

async fn write_contact(
    conn: &mut AsyncPgConnection,
    turn: &mut Turn,
    mut c: ContactChanges,
    field: &str,
    old: Value,
    new: Value,
) -> AppResult<()> {
    let s = &turn.session;
    c.updated_at = Some(Utc::now());
    let contact = db::contacts::update(conn, s.project_id, s.contact_id, c).await?;
    db::contact_changes::insert_all(
        conn,
        &[NewContactChange {
            contact_id: s.contact_id,
            user_id: None,
            field: field.to_owned(),
            old,
            new,
        }],
    )
    .await?;
    let (session_ids, sessions): (Vec<i64>, Vec<_>) = db::contacts::sessions_of(conn, s.contact_id)
        .await?
        .into_iter()
        .map(|(id, status, assignee)| (id, (status, assignee)))
        .unzip();
    turn.more.push(Event::ContactChanged {
        contact,
        sessions,
        session_ids,
    });
    Ok(())
}

async fn add_label(conn: &mut AsyncPgConnection, turn: &mut Turn, label: &str) -> AppResult<()> {
    let s = &turn.session;
    let before = db::contacts::lock(conn, s.project_id, s.contact_id).await?;
    if before
        .labels
        .iter()
        .any(|l| l.eq_ignore_ascii_case(label.trim()))
    {
        return Ok(());
    }
    let mut labels = before.labels.clone();
    labels.push(label.to_owned());
    let Ok(labels) = contacts::normalize_labels(labels) else {
        // Full, or a label the contact rules refuse: the run goes on without it.
        tracing::warn!(contact = s.contact_id, label, "label not added");
        return Ok(());
    };
    let c = ContactChanges {
        labels: Some(labels.clone()),
        ..Default::default()
    };
    write_contact(conn, turn, c, "labels", json!(before.labels), json!(labels)).await
}

async fn add_tag(conn: &mut AsyncPgConnection, turn: &mut Turn, tag_id: i64) -> AppResult<()> {
    let s = turn.session.clone();
    if db::session_tags::find_many(conn, s.project_id, &[tag_id])
        .await?
        .is_empty()
    {
        // Deleted since the flow was published: nothing to add.
        tracing::warn!(session = s.id, tag_id, "session tag not found");
        return Ok(());
    }
    let current = db::session_tags::for_session(conn, s.id).await?;
    if current.iter().any(|t| t.id == tag_id) {
        return Ok(());
    }
    let mut ids: Vec<i64> = current.iter().map(|t| t.id).collect();
    ids.push(tag_id);
    db::session_tags::set_for_session(conn, s.id, &ids).await?;
    let tags = db::session_tags::for_session(conn, s.id).await?;
    turn.more
        .push(crate::domain::session_tags::tags_changed(&s, &tags));
    Ok(())
}

/// Gives the session to a person: the assignee (when still a member) or the queue, and robot
/// hosting off (with its system line and audit row).
async fn handoff(
    conn: &mut AsyncPgConnection,
    turn: &mut Turn,
    assignee: Option<i64>,
) -> AppResult<()> {
    let s = turn.session.clone();
    let now = Utc::now();
    let member = match assignee {
        Some(u) => db::projects::membership(conn, s.project_id, u)
            .await?
            .map(|_| u),
        None => None,
    };
    let mut c = SessionChanges::at(now);
    match member {
        Some(u) => {
            c.status = Some(SessionStatus::Assigned);
            c.assignee_id = Some(Some(u));
            if s.received_at.is_none() {
                c.received_at = Some(Some(now));
            }
        }
        None => {
            c.status = Some(SessionStatus::Unassigned);
            c.assignee_id = Some(None);
        }
    }
    if s.bot_hosted {
        let seq = s.last_seq + 1;
        let line = hosting::flow_handoff(conn, &s, seq, now).await?;
        c.bot_hosted = Some(false);
        c.last_seq = Some(seq);
        c.last_message_at = Some(now);
        turn.messages.push(line);
    }
    turn.session = db::sessions::update(conn, s.id, &c).await?;
    Ok(())
}

/// A wait step's time is up: the run goes `next`, unless it moved on since (a reply
/// interrupted the wait) or stopped.
pub const FLOW_WAIT: TimerKind = TimerKind {
    name: TIMER_FLOW_WAIT,
    fire: |conn, timer, session, _| Box::pin(fire_wait(conn, timer, session)),
};

async fn fire_wait(
    conn: &mut AsyncPgConnection,
    timer: &db::timers::TimerRow,
    session: Option<SessionRow>,
) -> AppResult<Option<Applied>> {
    let skip = async |conn: &mut AsyncPgConnection, reason: &str| -> AppResult<Option<Applied>> {
        db::timers::mark_skipped(conn, timer.id, reason).await?;
        Ok(None)
    };
    let Some(s) = session else {
        return skip(conn, "no_session").await;
    };
    if s.status.is_ended() {
        return skip(conn, "session_ended").await;
    }
    let run_id = timer
        .key
        .strip_prefix("run:")
        .and_then(|id| id.parse::<i64>().ok());
    let Some(row) = db::flow_runs::lock_running(conn, s.id).await? else {
        return skip(conn, "run_not_running").await;
    };
    if Some(row.id) != run_id {
        return skip(conn, "run_not_running").await;
    }
    if row.waiting_for != Some(RunWait::Wait) || row.step_seq.to_string() != timer.episode {
        return skip(conn, "run_moved_on").await;
    }
    let settings = settings::load(conn, s.project_id).await?;
    let before = s.clone();
    let moved = conn
        .transaction(async |conn| {
            let mut turn = Turn::new(s.clone());
            let mut run = Run::load(conn, row.clone()).await?;
            go(conn, &mut turn, &mut run, PORT_NEXT, &settings).await?;
            Ok::<_, AppError>(turn)
        })
        .await;
    match moved {
        Ok(turn) => Ok(Some(turn.into_applied(before))),
        Err(e) => {
            // Retrying a step that cannot be carried out would fail again: the run fails.
            tracing::error!(error = %e, run = row.id, "a wait step's next step failed");
            finish(conn, row.id, RunStatus::Failed, RunEndReason::Error).await?;
            skip(conn, "error").await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::enums::SenderKind;

    fn message(body: &str, content: Value) -> MessageRow {
        MessageRow {
            id: 9,
            session_id: 1,
            seq: 3,
            sender_kind: SenderKind::Visitor,
            sender_user_id: None,
            client_id: None,
            body: body.into(),
            off_platform: false,
            external_id: None,
            created_at: Utc::now(),
            channel_id: None,
            content,
            flow_run_id: None,
        }
    }

    fn buttons() -> Vec<Button> {
        vec![
            Button {
                id: "price".into(),
                title: "Pricing".into(),
            },
            Button {
                id: "bug".into(),
                title: "A bug".into(),
            },
        ]
    }

    #[test]
    fn a_click_names_the_waiting_message_or_the_title_is_typed() {
        let click = json!({"button": {"message_id": 5, "id": "bug"}});
        assert_eq!(
            clicked(&buttons(), Some(5), &message("A bug", click.clone())),
            Some("bug".into())
        );
        // A click on an older message is no click; its text is no title either.
        assert_eq!(clicked(&buttons(), Some(6), &message("x", click)), None);
        assert_eq!(
            clicked(&buttons(), Some(6), &message("  pricing ", json!({}))),
            Some("price".into())
        );
        assert_eq!(
            clicked(&buttons(), Some(6), &message("hello", json!({}))),
            None
        );
    }

    #[test]
    fn answers_are_validated_like_contact_fields() {
        assert_eq!(
            valid_answer(
                AnswerKind::Phone,
                Some(ContactField::Phone),
                "+49 (30) 123-4567"
            ),
            Ok("+49301234567".into())
        );
        assert!(valid_answer(AnswerKind::Phone, None, "030 1234567").is_err());
        assert!(valid_answer(AnswerKind::Email, Some(ContactField::Email), "ann@").is_err());
        assert!(valid_answer(AnswerKind::Email, None, "ann@example.com").is_ok());
        assert!(valid_answer(AnswerKind::Text, None, "   ").is_err());
        // A text answer saved as the e-mail must be one.
        assert!(valid_answer(AnswerKind::Text, Some(ContactField::Email), "hello").is_err());
        let long = "x".repeat(200);
        assert!(valid_answer(AnswerKind::Text, Some(ContactField::NoteName), &long).is_err());
    }
}
