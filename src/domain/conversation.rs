//! The rules of a conversation, each applied in one transaction that first locks the session
//! row: posting a message (sequence number, idempotency by client id, counters, waits),
//! assigning, ending, and the effect of a due timer. The session actor calls these; nothing is
//! acknowledged or fanned out before they commit.

use crate::db::enums::{RunEndReason, SenderKind, SessionStatus};
use crate::db::{self, messages::MessageRow, sessions::SessionChanges, sessions::SessionRow};
use crate::domain::access::Access;
use crate::domain::alerts;
use crate::domain::automation;
use crate::domain::channel_out;
use crate::domain::events::{Event, Names};
use crate::domain::hosting;
use crate::domain::settings::{self, ProjectSettings};
use crate::domain::timers::TimerKind;
use crate::error::{AppError, AppResult, ErrorCode, NotFoundExt};
use chrono::{DateTime, Duration, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};

pub const MAX_TEXT_CHARS: usize = 8000;
pub const MAX_CLIENT_ID_CHARS: usize = 64;
pub const TIMER_AUTO_END: &str = "auto_end";
/// Due at once when a member leaves the project: puts each session still assigned to them
/// (`payload.user_id`) back in the queue, through the session actor like any other change.
pub const TIMER_RELEASE_ASSIGNEE: &str = "release_assignee";

/// Who writes a message.
#[derive(Debug, Clone)]
pub enum Author {
    Visitor {
        contact_id: i64,
    },
    Agent(Access),
    /// A reply a person sent outside Switchboard (the Page inbox, the Messenger app), learnt
    /// from the channel's echo: an agent message marked off-platform, with no member behind it.
    NativeReply,
    Bot,
    /// A message an automation run sends (a bot message that names its run, so the run's own
    /// flow is never triggered by it).
    Flow {
        run_id: i64,
    },
    System,
}

impl Author {
    fn kind(&self) -> SenderKind {
        match self {
            Author::Visitor { .. } => SenderKind::Visitor,
            Author::Agent(_) | Author::NativeReply => SenderKind::Agent,
            Author::Bot | Author::Flow { .. } => SenderKind::Bot,
            Author::System => SenderKind::System,
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewPost {
    pub author: Author,
    pub client_id: Option<String>,
    /// The channel's own id for an inbound message (a Messenger `mid`): stored once per
    /// contact however often the channel redelivers it.
    pub external_id: Option<String>,
    pub text: String,
    /// What is not text (see `MessageRow::content`); `None` for plain text.
    pub content: Option<serde_json::Value>,
    /// The message tag an agent picked for a channel reply past its platform's tagged window.
    pub tag: Option<String>,
}

impl NewPost {
    /// A plain text message.
    pub fn text(author: Author, client_id: Option<String>, text: String) -> NewPost {
        NewPost {
            author,
            client_id,
            external_id: None,
            text,
            content: None,
            tag: None,
        }
    }
}

/// The message a repeated post already stored. A visitor's is looked for across the contact's
/// recent sessions (a resend can land in a newer session than its original, when the ack was
/// lost and the session ended meanwhile); anyone else's in the session.
pub async fn original_of(
    conn: &AsyncPgConnection,
    post: &NewPost,
    session_id: Option<i64>,
) -> AppResult<Option<MessageRow>> {
    use db::messages::{Key, Within};
    let key = match (&post.external_id, &post.client_id) {
        (Some(e), _) => Key::ExternalId(e),
        (None, Some(c)) => Key::ClientId(c),
        (None, None) => return Ok(None),
    };
    // A native reply learnt twice (the channel redelivered its echo, or a retry after a lost
    // COMMIT answer) is found by its channel id like any other post by its client id.
    let within = match (&post.author, session_id) {
        (Author::Visitor { contact_id }, _) => Within::Contact(*contact_id),
        (_, Some(sid)) => Within::Session(sid),
        (_, None) => return Ok(None),
    };
    Ok(db::messages::by_key(conn, within, key).await?)
}

/// A committed change to a session: the row before and after, and the message it added.
#[derive(Debug, Clone)]
pub struct Applied {
    pub before: SessionRow,
    pub after: SessionRow,
    pub message: Option<MessageRow>,
    /// Messages the change added after `message`, in sequence order (the system line of a
    /// reply that switched robot hosting off).
    pub extra: Vec<MessageRow>,
    /// The client id was seen before: nothing was stored, `message` is the original.
    pub duplicate: bool,
    /// Other events of the change, announced after the session's (an automation step that
    /// labelled the contact or tagged the session).
    pub more: Vec<Event>,
}

impl Applied {
    /// What this change announces: the message, and the session as the list shows it when
    /// that changed. A repeated client id announces nothing.
    pub fn events(&self, names: &Names) -> Vec<Event> {
        let mut out = Vec::new();
        if self.duplicate {
            return out;
        }
        let (before, after) = (&self.before, &self.after);
        for m in self.message.iter().chain(&self.extra) {
            out.push(Event::MessagePosted {
                before: before.clone(),
                after: after.clone(),
                message: m.clone(),
            });
        }
        let list_changed = before.status != after.status
            || before.assignee_id != after.assignee_id
            || before.bot_hosted != after.bot_hosted
            || before.message_count == 0 && after.message_count > 0
            // Session management shows first response times live.
            || before.first_response_at != after.first_response_at;
        if list_changed {
            out.push(Event::SessionChanged {
                before: before.clone(),
                after: after.clone(),
                names: names.clone(),
            });
        }
        out.extend(self.more.iter().cloned());
        out
    }
}

pub fn validate_text(text: &str) -> AppResult<()> {
    if text.trim().is_empty() {
        return Err(AppError::validation("text is empty"));
    }
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(AppError::new(
            ErrorCode::TextTooLong,
            format!("text is longer than {MAX_TEXT_CHARS} characters"),
        ));
    }
    Ok(())
}

pub fn validate_client_id(id: &str) -> AppResult<()> {
    let n = id.chars().count();
    if n == 0 || n > MAX_CLIENT_ID_CHARS {
        return Err(AppError::validation(format!(
            "client_id must have 1 to {MAX_CLIENT_ID_CHARS} characters"
        )));
    }
    Ok(())
}

pub(crate) fn check_author(author: &Author, s: &SessionRow) -> AppResult<()> {
    match author {
        Author::Visitor { contact_id } if *contact_id != s.contact_id => {
            Err(AppError::not_found("session"))
        }
        Author::Agent(access) => access.check_session(s),
        _ => Ok(()),
    }
}

/// The session exists and the agent may see it (its data scope), checked before a command
/// for it is sent to the session's actor.
pub async fn visible_session(
    conn: &mut AsyncPgConnection,
    access: &Access,
    session_id: i64,
) -> AppResult<()> {
    let session = db::sessions::find(conn, session_id)
        .await
        .or_not_found("session")?;
    access.check_session(&session)
}

/// Stores a message in order. A repeated client id returns the original message and stores
/// nothing. An agent replying to an unassigned session takes it.
pub async fn post(
    conn: &mut AsyncPgConnection,
    session_id: i64,
    post: NewPost,
) -> AppResult<Applied> {
    conn.transaction(async move |conn| post_in(conn, session_id, &post).await)
        .await
}

/// `post` inside the caller's transaction: the committer runs many of these, for different
/// sessions, in one transaction. An error leaves this post's writes in the transaction, so the
/// caller rolls it back.
pub(crate) async fn post_in(
    conn: &mut AsyncPgConnection,
    session_id: i64,
    post: &NewPost,
) -> AppResult<Applied> {
    validate_text(&post.text)?;
    if let Some(cid) = &post.client_id {
        validate_client_id(cid)?;
    }
    let before = db::sessions::lock(conn, session_id)
        .await
        .or_not_found("session")?;
    check_author(&post.author, &before)?;
    if let Some(original) = original_of(conn, post, Some(session_id)).await? {
        return Ok(Applied {
            after: before.clone(),
            before,
            message: Some(original),
            extra: Vec::new(),
            duplicate: true,
            more: Vec::new(),
        });
    }
    if before.status.is_ended() {
        return Err(AppError::new(
            ErrorCode::SessionEnded,
            "the session has ended",
        ));
    }
    let settings = settings::load(conn, before.project_id).await?;
    let mut applied = post_locked(conn, before, post, &settings).await?;
    let visitor_message = match (&post.author, &applied.message) {
        (Author::Visitor { .. }, Some(m)) => Some(m.clone()),
        _ => None,
    };
    let probe = match &visitor_message {
        Some(_) => {
            let s = &applied.after;
            Some(db::flows::automation_probe(conn, s.project_id, s.id, s.contact_id).await?)
        }
        None => None,
    };
    if let (Some(probe), Some(message)) = (probe.filter(|p| p.applies()), visitor_message) {
        // In a savepoint: an automation failure is logged and costs the visitor's message
        // nothing.
        let session = applied.after.clone();
        let run = conn
            .transaction(async |conn| {
                automation::engine::on_visitor_message(conn, session, &message, &settings, probe)
                    .await
            })
            .await;
        match run {
            Ok(turn) => {
                applied.after = turn.session;
                applied.extra.extend(turn.messages);
                applied.more.extend(turn.more);
            }
            Err(e) => {
                tracing::error!(error = %e, session_id, "automation failed on a visitor message")
            }
        }
    }
    Ok(applied)
}

/// Stores a message on a session already locked in the caller's transaction (`post`, an
/// automation step): the next sequence number, the channel's send row, counters and waits,
/// a reply's hand-off, timers. The caller checked the author and the session's state.
pub(crate) async fn post_locked(
    conn: &mut AsyncPgConnection,
    before: SessionRow,
    post: &NewPost,
    settings: &ProjectSettings,
) -> AppResult<Applied> {
    let session_id = before.id;
    let now = Utc::now();
    let seq = before.last_seq + 1;
    let empty = serde_json::json!({});
    let message = db::messages::insert(conn, new_message(&before, post, seq, now, &empty)).await?;
    // A channel with its own platform sends the message from a durable row written here,
    // or refuses it (its reply window has closed) before anything is stored.
    channel_out::enqueue(conn, &before, &message, post).await?;
    let mut changes = message_changes(&before, &post.author, seq, now);
    let mut extra = Vec::new();
    if let Author::Agent(access) = &post.author {
        if before.bot_hosted && settings.hosting.agent_reply_hands_off {
            // The line follows the reply that caused it, so it takes the next number.
            let line = hosting::reply_handoff(conn, &before, access, seq + 1, now).await?;
            changes.bot_hosted = Some(false);
            changes.last_seq = Some(seq + 1);
            extra.push(line);
        }
    }
    let after = db::sessions::update(conn, session_id, &changes).await?;
    timers_after_message(conn, &before, &after, now, settings).await?;
    if matches!(post.author, Author::Agent(_) | Author::NativeReply) {
        // A person took over: the bot's run stops where it is.
        db::flow_runs::stop_running(conn, session_id, RunEndReason::AgentReplied, now).await?;
    }
    if !matches!(post.author, Author::Visitor { .. } | Author::System) {
        automation::silence::on_our_message(conn, &after, &message, &post.author).await?;
    }
    Ok(Applied {
        before,
        after,
        message: Some(message),
        extra,
        duplicate: false,
        more: Vec::new(),
    })
}

/// The row of the message `post` adds to `before` as number `seq`.
pub(crate) fn new_message<'a>(
    before: &SessionRow,
    post: &'a NewPost,
    seq: i64,
    now: DateTime<Utc>,
    empty: &'a serde_json::Value,
) -> db::messages::NewMessage<'a> {
    db::messages::NewMessage {
        session_id: before.id,
        seq,
        sender_kind: post.author.kind(),
        sender_user_id: match &post.author {
            Author::Agent(a) => Some(a.user_id),
            _ => None,
        },
        client_id: post.client_id.as_deref(),
        body: &post.text,
        off_platform: matches!(post.author, Author::NativeReply),
        external_id: post.external_id.as_deref(),
        created_at: now,
        channel_id: post.external_id.as_ref().map(|_| before.channel_id),
        content: post.content.as_ref().unwrap_or(empty),
        flow_run_id: match &post.author {
            Author::Flow { run_id } => Some(*run_id),
            _ => None,
        },
    }
}

/// The timers a stored message moves: the auto-end countdown starts again, and the e-mail
/// alert's wait starts or ends with the session's. Independent writes: they share one round
/// trip.
pub(crate) async fn timers_after_message(
    conn: &AsyncPgConnection,
    before: &SessionRow,
    after: &SessionRow,
    now: DateTime<Utc>,
    settings: &ProjectSettings,
) -> AppResult<()> {
    let alert = async {
        match (before.alert_wait_since, after.alert_wait_since) {
            (None, Some(_)) => alerts::wait_started(conn, after, settings).await,
            (Some(_), None) => alerts::wait_ended(conn, after.id).await,
            _ => Ok(()),
        }
    };
    futures_util::try_join!(schedule_auto_end(conn, after, now, settings), alert)?;
    Ok(())
}

/// How one new message moves the session's counters, waits and assignment.
pub(crate) fn message_changes(
    s: &SessionRow,
    author: &Author,
    seq: i64,
    now: DateTime<Utc>,
) -> SessionChanges {
    let mut c = SessionChanges::at(now);
    c.last_seq = Some(seq);
    c.last_message_at = Some(now);
    if !matches!(author, Author::System) {
        c.message_count = Some(s.message_count + 1);
    }
    match author {
        Author::Visitor { .. } => {
            c.visitor_message_count = Some(s.visitor_message_count + 1);
            // The wait for a human that e-mail alerts count runs while a bot hosts, too.
            if s.alert_wait_since.is_none() {
                c.alert_wait_since = Some(Some(now));
            }
            // A hosted session is answered by the bot: no human wait starts until it hands off.
            if !s.bot_hosted && s.awaiting_since.is_none() {
                c.awaiting_since = Some(Some(now));
                if s.first_wait_at.is_none() {
                    c.first_wait_at = Some(Some(now));
                }
            }
        }
        Author::Agent(_) | Author::NativeReply => {
            c.agent_message_count = Some(s.agent_message_count + 1);
            c.awaiting_since = Some(None);
            c.alert_wait_since = Some(None);
            if s.first_response_at.is_none() && s.first_wait_at.is_some() {
                c.first_response_at = Some(Some(now));
            }
        }
        Author::Bot | Author::Flow { .. } | Author::System => {}
    }
    // A member replying to a waiting session takes it; a native reply has no member to take it.
    if let Author::Agent(access) = author {
        if s.status == SessionStatus::Unassigned {
            c.status = Some(SessionStatus::Assigned);
            c.assignee_id = Some(Some(access.user_id));
            if s.received_at.is_none() {
                c.received_at = Some(Some(now));
            }
        }
    }
    c
}

/// Project setting `auto_end_after_secs` (> 0): end a session after that long without messages.
async fn schedule_auto_end(
    conn: &AsyncPgConnection,
    s: &SessionRow,
    now: DateTime<Utc>,
    settings: &ProjectSettings,
) -> AppResult<()> {
    if let Some(secs) = settings.auto_end() {
        db::timers::upsert_for_session(
            conn,
            s.project_id,
            s.id,
            TIMER_AUTO_END,
            now + Duration::seconds(secs),
            &serde_json::json!({}),
        )
        .await?;
    }
    Ok(())
}

/// Assigns the session to `to` (a project member), or back to the queue with `None`.
pub async fn assign(
    conn: &mut AsyncPgConnection,
    session_id: i64,
    by: &Access,
    to: Option<i64>,
) -> AppResult<Applied> {
    let by = by.clone();
    conn.transaction(async move |conn| {
        let before = db::sessions::lock(conn, session_id)
            .await
            .or_not_found("session")?;
        by.check_session(&before)?;
        if before.status.is_ended() {
            return Err(AppError::new(
                ErrorCode::SessionEnded,
                "the session has ended",
            ));
        }
        if let Some(user) = to {
            if db::projects::membership(conn, before.project_id, user)
                .await?
                .is_none()
            {
                return Err(AppError::validation(
                    "the assignee is not a member of this project",
                ));
            }
        }
        let now = Utc::now();
        let mut c = SessionChanges::at(now);
        c.assignee_id = Some(to);
        c.status = Some(if to.is_some() {
            SessionStatus::Assigned
        } else {
            SessionStatus::Unassigned
        });
        if to.is_some() && before.received_at.is_none() {
            c.received_at = Some(Some(now));
        }
        let after = db::sessions::update(conn, session_id, &c).await?;
        Ok(Applied {
            before,
            after,
            message: None,
            extra: Vec::new(),
            duplicate: false,
            more: Vec::new(),
        })
    })
    .await
}

/// Ends the session. `by` is `None` when the system ends it (auto-end).
pub async fn end(
    conn: &mut AsyncPgConnection,
    session_id: i64,
    by: Option<&Access>,
) -> AppResult<Applied> {
    let by = by.cloned();
    conn.transaction(async move |conn| {
        let before = db::sessions::lock(conn, session_id)
            .await
            .or_not_found("session")?;
        if let Some(a) = &by {
            a.check_session(&before)?;
        }
        end_locked(conn, before, None).await
    })
    .await
}

/// A line the server writes in the chat (sender `system`, not counted as a message) at `seq`;
/// the caller moves the session's `last_seq` and `last_message_at` with it.
pub(crate) async fn system_line(
    conn: &mut AsyncPgConnection,
    session_id: i64,
    seq: i64,
    text: &str,
    now: DateTime<Utc>,
) -> AppResult<MessageRow> {
    Ok(db::messages::insert(
        conn,
        db::messages::NewMessage {
            session_id,
            seq,
            sender_kind: SenderKind::System,
            sender_user_id: None,
            client_id: None,
            body: text,
            off_platform: false,
            external_id: None,
            created_at: now,
            channel_id: None,
            content: &serde_json::json!({}),
            flow_run_id: None,
        },
    )
    .await?)
}

async fn end_locked(
    conn: &mut AsyncPgConnection,
    before: SessionRow,
    note: Option<&str>,
) -> AppResult<Applied> {
    if before.status.is_ended() {
        return Err(AppError::new(
            ErrorCode::SessionEnded,
            "the session has already ended",
        ));
    }
    let now = Utc::now();
    let mut message = None;
    let mut c = SessionChanges::at(now);
    if let Some(text) = note {
        let seq = before.last_seq + 1;
        message = Some(system_line(conn, before.id, seq, text, now).await?);
        c.last_seq = Some(seq);
        c.last_message_at = Some(now);
    }
    c.status = Some(SessionStatus::Ended);
    c.ended_at = Some(Some(now));
    c.awaiting_since = Some(None);
    c.alert_wait_since = Some(None);
    let after = db::sessions::update(conn, before.id, &c).await?;
    db::timers::cancel_for_session(conn, before.id, TIMER_AUTO_END).await?;
    db::flow_runs::stop_running(conn, before.id, RunEndReason::SessionEnded, now).await?;
    automation::cancel_timers(conn, before.id).await?;
    if before.alert_wait_since.is_some() {
        alerts::wait_ended(conn, before.id).await?;
    }
    Ok(Applied {
        before,
        after,
        message,
        extra: Vec::new(),
        duplicate: false,
        more: Vec::new(),
    })
}

/// Ends a session after the project's `auto_end_after_secs` without messages.
pub const AUTO_END: TimerKind = TimerKind {
    name: TIMER_AUTO_END,
    fire: |conn, _, session, _| Box::pin(fire_auto_end(conn, session)),
};

/// Puts a removed member's session back in the queue (`payload.user_id`).
pub const RELEASE_ASSIGNEE: TimerKind = TimerKind {
    name: TIMER_RELEASE_ASSIGNEE,
    fire: |conn, timer, session, _| {
        let user = timer.payload.get("user_id").and_then(|v| v.as_i64());
        Box::pin(fire_release(conn, session, user))
    },
};

async fn fire_auto_end(
    conn: &mut AsyncPgConnection,
    s: Option<SessionRow>,
) -> AppResult<Option<Applied>> {
    let Some(s) = s else {
        return Ok(None);
    };
    if s.status.is_ended() {
        return Ok(None);
    }
    let Some(secs) = settings::load(conn, s.project_id).await?.auto_end() else {
        return Ok(None);
    };
    let quiet_until = s.last_message_at + Duration::seconds(secs);
    if quiet_until > Utc::now() {
        // Activity since the timer was set: wait for the rest of the quiet period.
        db::timers::upsert_for_session(
            conn,
            s.project_id,
            s.id,
            TIMER_AUTO_END,
            quiet_until,
            &serde_json::json!({}),
        )
        .await?;
        return Ok(None);
    }
    let note = format!("Session ended after {secs} seconds without messages.");
    end_locked(conn, s, Some(&note)).await.map(Some)
}

async fn fire_release(
    conn: &mut AsyncPgConnection,
    s: Option<SessionRow>,
    user: Option<i64>,
) -> AppResult<Option<Applied>> {
    let (Some(s), Some(user)) = (s, user) else {
        return Ok(None);
    };
    if s.status != SessionStatus::Assigned || s.assignee_id != Some(user) {
        return Ok(None);
    }
    // Added back to the team since: the session stays theirs.
    if db::projects::membership(conn, s.project_id, user)
        .await?
        .is_some()
    {
        return Ok(None);
    }
    let mut c = SessionChanges::at(Utc::now());
    c.assignee_id = Some(None);
    c.status = Some(SessionStatus::Unassigned);
    let after = db::sessions::update(conn, s.id, &c).await?;
    Ok(Some(Applied {
        before: s,
        after,
        message: None,
        extra: Vec::new(),
        duplicate: false,
        more: Vec::new(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::access::DataScope;

    fn session(bot_hosted: bool) -> SessionRow {
        SessionRow {
            bot_hosted,
            ..SessionRow::sample(SessionStatus::Unassigned, None)
        }
    }

    fn agent() -> Author {
        Author::Agent(Access {
            user_id: 7,
            project_id: 1,
            role: "agent".into(),
            permissions: vec![],
            scope: DataScope::All,
        })
    }

    #[test]
    fn the_alert_wait_starts_once_and_only_a_human_reply_ends_it() {
        let visitor = Author::Visitor { contact_id: 1 };
        let t0 = Utc::now();
        let mut s = session(false);
        let c = message_changes(&s, &visitor, 1, t0);
        assert_eq!(c.alert_wait_since, Some(Some(t0)));
        assert_eq!(c.awaiting_since, Some(Some(t0)));
        s.alert_wait_since = Some(t0);
        let later = t0 + Duration::seconds(5);
        assert_eq!(
            message_changes(&s, &visitor, 2, later).alert_wait_since,
            None
        );
        assert_eq!(
            message_changes(&s, &Author::Bot, 2, later).alert_wait_since,
            None
        );
        assert_eq!(
            message_changes(&s, &Author::System, 2, later).alert_wait_since,
            None
        );
        assert_eq!(
            message_changes(&s, &agent(), 2, later).alert_wait_since,
            Some(None)
        );
    }

    #[test]
    fn a_hosted_session_starts_an_alert_wait_but_no_first_response_wait() {
        let t0 = Utc::now();
        let c = message_changes(&session(true), &Author::Visitor { contact_id: 1 }, 1, t0);
        assert_eq!(c.alert_wait_since, Some(Some(t0)));
        assert_eq!(c.awaiting_since, None);
        assert_eq!(c.first_wait_at, None);
    }
}
