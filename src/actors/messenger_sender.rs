//! Sends Messenger messages from their durable `channel_outbound` rows through the Send API.
//!
//! One sender for every Page of this server, started once in `app::start`: the rows are the
//! queue, so what a sender holds is only what is in flight. A committed agent or bot message
//! nudges it (`SenderListener`, after the commit); a poll every 500 ms catches the rest (retries
//! that came due, a Page reconnected, rows another server left). Each tick claims due rows with
//! a lease (`sending`, committed before the request), at most one per person at a time, oldest
//! first (`db::channel_outbound::claim_due`), and sends them concurrently across people.
//!
//! Outcomes, by the Graph error's code (`graph::ErrorClass`), never its text: sent (with the
//! mid); temporary or rate-limited → `pending` again after a backoff (1 s, 2 s, 4 s … at most
//! 5 min, at least what `X-Business-Use-Case-Usage` asks), `failed` after 8 attempts; 190 →
//! `failed` and the channel needs reconnecting (its other rows wait, `pending`, until it is
//! reconnected); 551 → `failed` and the contact unreachable; a refusal (window, retired tag,
//! not receiving, Page restricted, thread owned by another app) → `failed` with why. A request
//! that got no answer is `unconfirmed`: it may have arrived, so it is never sent again by
//! itself (an echo carrying our metadata confirms it; an agent may retry it).
//!
//! The guarantee (ARCHITECTURE.md, "Sending through a channel"): at most once.

use crate::context::AppContext;
use crate::db::channel_outbound::ChannelOutbound;
use crate::db::channels::Channel;
use crate::db::enums::{ChannelHealth, ChannelKind, OutboundState, SenderKind};
use crate::db::messages::MessageRow;
use crate::db::{self, retry::with_retry};
use crate::domain::alerts::MailEnv;
use crate::domain::events::Event;
use crate::domain::messenger::buttons;
use crate::domain::messenger::config::MessengerConfig;
use crate::domain::messenger::health;
use crate::domain::views::DeliveryView;
use crate::error::{AppError, AppResult};
use crate::graph::{ErrorClass, GraphError, PageAuth, QuickReply, SendOk, SendRequest};
use actix::prelude::*;
use chrono::Utc;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

const POLL: Duration = Duration::from_millis(500);
/// How often rows left `sending` past their lease are turned `unconfirmed`.
const EXPIRE_EVERY: Duration = Duration::from_secs(60);
/// Requests in flight at once, over all Pages (Meta allows about 300/s per Page).
const MAX_IN_FLIGHT: usize = 64;
/// Attempts before a temporary failure becomes `failed`.
pub const MAX_ATTEMPTS: i32 = 8;
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// The delay before attempt `attempts + 1`, after `attempts` temporary failures: 1 s, 2 s,
/// 4 s … at most 5 min, and at least what the platform asked us to wait.
pub fn backoff(attempts: i32, wait: Option<Duration>) -> Duration {
    let exp = attempts.clamp(1, 20) as u32 - 1;
    let d = Duration::from_secs(1u64 << exp).min(MAX_BACKOFF);
    wait.map_or(d, |w| d.max(w))
}

pub struct MessengerSender {
    ctx: Arc<AppContext>,
    lease: Duration,
    /// A claim tick is running; another one is wanted after it (`again`).
    busy: bool,
    again: bool,
    in_flight: usize,
    /// The Messenger channels seen at the last tick: a nudge for any other channel (the web
    /// widget's) costs nothing.
    known: HashSet<i64>,
    last_expiry: Option<Instant>,
}

/// Something may be due on this channel.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Nudge {
    pub channel_id: i64,
}

impl MessengerSender {
    pub fn new(ctx: Arc<AppContext>, lease: Duration) -> Self {
        MessengerSender {
            ctx,
            lease,
            busy: false,
            again: false,
            in_flight: 0,
            known: HashSet::new(),
            last_expiry: None,
        }
    }

    fn tick(&mut self, ctx: &mut Context<Self>) {
        if self.busy {
            self.again = true;
            return;
        }
        let room = MAX_IN_FLIGHT.saturating_sub(self.in_flight);
        // A short lease (tests) is expired as often as it lasts.
        let every = EXPIRE_EVERY.min(self.lease);
        let expire = self.last_expiry.is_none_or(|t| t.elapsed() >= every);
        if expire {
            self.last_expiry = Some(Instant::now());
        }
        self.busy = true;
        let (app, lease) = (Arc::clone(&self.ctx), self.lease);
        let fut = async move { claim(&app, lease, room, expire).await };
        ctx.spawn(fut.into_actor(self).map(|res, act, ctx| {
            act.busy = false;
            match res {
                Ok(tick) => {
                    act.known = tick.known;
                    for send in tick.claimed {
                        act.in_flight += 1;
                        let app = Arc::clone(&act.ctx);
                        ctx.spawn(
                            async move { send_one(&app, send).await }
                                .into_actor(act)
                                .map(|_, act, ctx| {
                                    act.in_flight -= 1;
                                    // The person's next message may go now.
                                    act.tick(ctx);
                                }),
                        );
                    }
                }
                // One failed tick (database down) must not stop the sender.
                Err(e) => tracing::warn!(error = %e, "messenger sender tick failed"),
            }
            if std::mem::take(&mut act.again) {
                act.tick(ctx);
            }
        }));
    }
}

impl Actor for MessengerSender {
    type Context = Context<Self>;
    fn started(&mut self, ctx: &mut Context<Self>) {
        // The first tick (which expires what a dead server left `sending`) comes after one
        // interval, once `app::start` has set the listeners its events go to.
        ctx.run_interval(POLL, |act, ctx| act.tick(ctx));
    }
}

impl Handler<Nudge> for MessengerSender {
    type Result = ();
    fn handle(&mut self, msg: Nudge, ctx: &mut Context<Self>) {
        if self.known.contains(&msg.channel_id) {
            self.tick(ctx);
        }
    }
}

/// Nudges the sender after the commit of a message it may have to send, or of a retry.
pub struct SenderListener(pub Addr<MessengerSender>);

impl crate::events::Listener for SenderListener {
    fn on_events(&self, events: &[Event]) {
        for e in events {
            let channel_id = match e {
                Event::MessagePosted { after, message, .. }
                    if matches!(message.sender_kind, SenderKind::Agent | SenderKind::Bot)
                        && !message.off_platform =>
                {
                    after.channel_id
                }
                Event::MessageStatus {
                    session, delivery, ..
                } if delivery.state == OutboundState::Pending => session.channel_id,
                _ => continue,
            };
            // A full mailbox already holds a nudge; the poll is the backstop.
            let _ = self.0.try_send(Nudge { channel_id });
        }
    }
}

/// A claimed row with what its request needs.
struct Claimed {
    row: ChannelOutbound,
    page_id: String,
    token: String,
    text: String,
    quick_replies: Vec<QuickReply>,
}

/// What a message sends: its text, and the quick replies of automation's buttons and
/// questions (bot messages only: an agent's reply is text).
fn outgoing(m: MessageRow) -> (String, Vec<QuickReply>) {
    let quick = if m.sender_kind == SenderKind::Bot {
        buttons::quick_replies(m.id, &m.content)
    } else {
        Vec::new()
    };
    (m.body, quick)
}

struct Tick {
    known: HashSet<i64>,
    claimed: Vec<Claimed>,
}

async fn claim(app: &AppContext, lease: Duration, room: usize, expire: bool) -> AppResult<Tick> {
    let mut conn = app.pool.get().await?;
    let mut events = Vec::new();
    if expire {
        for row in db::channel_outbound::expire_sending(&mut conn).await? {
            tracing::warn!(
                message_id = row.message_id,
                "a message was being sent when its server stopped; unconfirmed"
            );
            events.extend(status(&mut conn, &row).await?);
        }
    }
    let channels = db::channels::all_of_kind(&mut conn, ChannelKind::Messenger).await?;
    let known = channels.iter().map(|c| c.id).collect();
    let due: HashSet<i64> = db::channel_outbound::due_channels(&mut conn)
        .await?
        .into_iter()
        .collect();
    let mut claimed = Vec::new();
    for ch in &channels {
        let room = room.saturating_sub(claimed.len());
        if room == 0 {
            break;
        }
        // A Page that needs reconnecting keeps its rows `pending` until it is reconnected.
        if !due.contains(&ch.id) || ch.health == ChannelHealth::NeedsReconnect {
            continue;
        }
        let Some((page_id, token)) = credentials(&mut conn, app, ch).await? else {
            continue;
        };
        // One transaction: the claim commits only with what its requests need (a failure
        // leaves the rows `pending`), and before any request goes out.
        let (rows, texts, statuses) = conn
            .transaction(async |conn| {
                let rows =
                    db::channel_outbound::claim_due(conn, ch.id, lease.as_secs_f64(), room as i64)
                        .await?;
                let ids: Vec<i64> = rows.iter().map(|r| r.message_id).collect();
                let texts: HashMap<i64, (String, Vec<QuickReply>)> =
                    db::messages::of_ids(conn, &ids)
                        .await?
                        .into_iter()
                        .map(|m| (m.id, outgoing(m)))
                        .collect();
                let mut statuses = Vec::with_capacity(rows.len());
                for row in &rows {
                    statuses.extend(status(conn, row).await?);
                }
                Ok::<_, AppError>((rows, texts, statuses))
            })
            .await?;
        events.extend(statuses);
        let mut texts = texts;
        for row in rows {
            let (text, quick_replies) = texts.remove(&row.message_id).unwrap_or_default();
            claimed.push(Claimed {
                text,
                quick_replies,
                page_id: page_id.clone(),
                token: token.clone(),
                row,
            });
        }
    }
    app.events.dispatch(&events);
    Ok(Tick { known, claimed })
}

/// The Page id and its opened access token; `None` (and the channel marked as needing a
/// reconnect) when they are missing or cannot be opened with this server's key.
async fn credentials(
    conn: &mut AsyncPgConnection,
    app: &AppContext,
    ch: &Channel,
) -> AppResult<Option<(String, String)>> {
    let opened = match &ch.external_id {
        Some(page) => MessengerConfig::from_json(&ch.config)
            .page_token(&app.secrets)
            .map(|token| (page.clone(), token)),
        None => Err("the channel has no Page id".to_owned()),
    };
    match opened {
        Ok(c) => Ok(Some(c)),
        Err(why) => {
            tracing::warn!(channel = ch.id, error = %why, "a Messenger channel cannot send");
            health::degrade(conn, &app.mail, ch.id, ChannelHealth::NeedsReconnect, &why).await?;
            Ok(None)
        }
    }
}

/// The `message_status` event of a row, for the agents who see its session.
async fn status(conn: &mut AsyncPgConnection, row: &ChannelOutbound) -> AppResult<Option<Event>> {
    use diesel::OptionalExtension;
    let Some(session) = db::sessions::find(conn, row.session_id).await.optional()? else {
        return Ok(None);
    };
    Ok(Some(Event::MessageStatus {
        session,
        message_id: row.message_id,
        delivery: DeliveryView::from(row),
    }))
}

async fn send_one(app: &AppContext, c: Claimed) {
    let req = SendRequest {
        recipient: c.row.recipient.clone(),
        messaging_type: c.row.messaging_type,
        tag: c.row.tag.clone(),
        text: c.text.clone(),
        metadata: format!("sb:{}", c.row.message_id),
        quick_replies: c.quick_replies.clone(),
    };
    let page = PageAuth {
        page_id: &c.page_id,
        token: &c.token,
    };
    let outcome = app.graph.send(page, &req).await;
    let message_id = c.row.message_id;
    let recorded = with_retry(|| async {
        let mut conn = app.pool.get().await?;
        let (row, outcome) = (&c.row, &outcome);
        conn.transaction(async move |conn| record(conn, &app.mail, row, outcome).await)
            .await
    })
    .await;
    match recorded {
        Ok(events) => app.events.dispatch(&events),
        // The row stays `sending`; its lease lapses and it shows as unconfirmed, unless the
        // echo confirms it: never sent twice.
        Err(e) => tracing::error!(error = %e, message_id, "cannot record a Messenger send"),
    }
}

/// What a send's outcome means for its row.
#[derive(Debug, Clone, PartialEq)]
enum Verdict {
    Sent {
        mid: String,
    },
    /// Temporary: `pending` again after `after`.
    Retry {
        after: Duration,
        error: Failure,
    },
    /// For good, and what else it says about the channel or the person.
    Failed {
        error: Failure,
        also: Option<Also>,
    },
    /// The request went out and no answer came: it may have arrived.
    Unconfirmed {
        text: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
struct Failure {
    code: Option<i32>,
    subcode: Option<i32>,
    text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Also {
    NeedsReconnect,
    Restricted,
    Unreachable,
}

/// Decides by the error's code (never its text) after `attempts` tries.
fn verdict(attempts: i32, tag: Option<&str>, outcome: &Result<SendOk, GraphError>) -> Verdict {
    let e = match outcome {
        Ok(ok) => {
            return Verdict::Sent {
                mid: ok.message_id.clone(),
            }
        }
        Err(e) => e,
    };
    if let GraphError::NoAnswer(_) = e {
        return Verdict::Unconfirmed {
            text: unconfirmed_text(e),
        };
    }
    let (code, subcode) = e
        .code()
        .map_or((None, None), |(c, s)| (Some(c as i32), s.map(|s| s as i32)));
    let class = e.class();
    let failure = |text: String| Failure {
        code,
        subcode,
        text,
    };
    let text = reason(e, class, tag);
    match class {
        ErrorClass::Retry { wait } if attempts < MAX_ATTEMPTS => Verdict::Retry {
            after: backoff(attempts, wait),
            error: failure(text),
        },
        ErrorClass::Retry { .. } => Verdict::Failed {
            error: failure(format!("gave up after {attempts} attempts: {text}")),
            also: None,
        },
        _ => Verdict::Failed {
            error: failure(text),
            also: match class {
                ErrorClass::TokenInvalid => Some(Also::NeedsReconnect),
                ErrorClass::PageRestricted => Some(Also::Restricted),
                ErrorClass::Unreachable => Some(Also::Unreachable),
                _ => None,
            },
        },
    }
}

/// Records a send's outcome; returns what it announces.
async fn record(
    conn: &mut AsyncPgConnection,
    mail: &MailEnv,
    row: &ChannelOutbound,
    outcome: &Result<SendOk, GraphError>,
) -> AppResult<Vec<Event>> {
    let id = row.message_id;
    let v = verdict(row.attempts, row.tag.as_deref(), outcome);
    match &v {
        Verdict::Sent { mid } => tracing::info!(message_id = id, %mid, "messenger message sent"),
        other => tracing::warn!(message_id = id, attempts = row.attempts, verdict = ?other,
            "messenger send not confirmed"),
    }
    let updated = match v {
        Verdict::Sent { mid } => db::channel_outbound::mark_sent(conn, id, &mid).await?,
        Verdict::Unconfirmed { text } => {
            db::channel_outbound::mark_unconfirmed(conn, id, &text).await?
        }
        Verdict::Retry { after, error } => {
            let at = Utc::now()
                + chrono::Duration::from_std(after)
                    .unwrap_or_else(|_| chrono::Duration::minutes(5));
            let err = (error.code, error.subcode, error.text.as_str());
            db::channel_outbound::mark_retry(conn, id, at, err).await?
        }
        Verdict::Failed { error, also } => {
            if let Some(also) = also {
                side_effect(conn, mail, row, also, &error.text).await?;
            }
            let err = (error.code, error.subcode, error.text.as_str());
            db::channel_outbound::mark_failed(conn, id, err).await?
        }
    };
    let Some(updated) = updated else {
        // An echo confirmed it meanwhile, or the row was expired: nothing to add.
        return Ok(Vec::new());
    };
    Ok(status(conn, &updated).await?.into_iter().collect())
}

/// What an error means beyond the message: the channel's health, the contact's reach.
async fn side_effect(
    conn: &mut AsyncPgConnection,
    mail: &MailEnv,
    row: &ChannelOutbound,
    also: Also,
    text: &str,
) -> AppResult<()> {
    match also {
        Also::NeedsReconnect => {
            let health = ChannelHealth::NeedsReconnect;
            health::degrade(conn, mail, row.channel_id, health, text).await?;
        }
        Also::Restricted => {
            let health = ChannelHealth::Restricted;
            health::degrade(conn, mail, row.channel_id, health, text).await?;
        }
        Also::Unreachable => {
            let session = db::sessions::find(conn, row.session_id).await?;
            db::contacts::mark_unreachable(conn, session.contact_id, Utc::now()).await?;
        }
    }
    Ok(())
}

fn unconfirmed_text(e: &GraphError) -> String {
    format!("no answer from the Send API ({e}); the person may have received it")
}

/// Why it failed, as the console shows it on the message.
fn reason(e: &GraphError, class: ErrorClass, tag: Option<&str>) -> String {
    let code = match e.code() {
        Some((c, Some(s))) => format!(" (Graph error {c}/{s})"),
        Some((c, None)) => format!(" (Graph error {c})"),
        None => String::new(),
    };
    let why = match class {
        ErrorClass::Retry { .. } => return e.to_string(),
        ErrorClass::TokenInvalid => {
            "the Page access token is invalid or expired: reconnect the Page in Settings › Channels, then retry"
                .to_owned()
        }
        ErrorClass::OutsideWindow => "Meta refused it: outside the allowed reply window".to_owned(),
        ErrorClass::RetiredTag => format!(
            "Meta refused the message tag {}: it is retired; remove it from the Page's allowed tags",
            tag.unwrap_or("?")
        ),
        ErrorClass::Unreachable => {
            "the person is unavailable (they blocked the Page or their account is deactivated)"
                .to_owned()
        }
        ErrorClass::NotReceiving => "the person isn't receiving messages from this Page".to_owned(),
        ErrorClass::PageRestricted => {
            "the Page is temporarily restricted from sending messages".to_owned()
        }
        ErrorClass::ThreadOwnedElsewhere => {
            "another app controls this conversation (Conversation Routing)".to_owned()
        }
        ErrorClass::Refused => return format!("refused: {e}"),
    };
    format!("{why}{code}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(code: i64, subcode: Option<i64>, wait: Option<Duration>) -> Result<SendOk, GraphError> {
        let body = serde_json::json!({"error": {"message": "m", "code": code,
            "error_subcode": subcode}});
        Err(GraphError::from_body(
            400,
            body.to_string().as_bytes(),
            wait,
        ))
    }

    fn failed(v: Verdict) -> (Failure, Option<Also>) {
        match v {
            Verdict::Failed { error, also } => (error, also),
            other => panic!("expected failed, got {other:?}"),
        }
    }

    fn message(sender_kind: SenderKind, content: serde_json::Value) -> MessageRow {
        MessageRow {
            id: 5,
            session_id: 1,
            seq: 1,
            sender_kind,
            sender_user_id: None,
            client_id: None,
            body: "Pick one".into(),
            off_platform: false,
            external_id: None,
            created_at: Utc::now(),
            channel_id: None,
            content,
            flow_run_id: None,
        }
    }

    #[test]
    fn only_a_bot_message_sends_its_buttons_as_quick_replies() {
        let buttons = serde_json::json!({"buttons": [{"id": "a", "title": "A"}]});
        let (text, quick) = outgoing(message(SenderKind::Bot, buttons.clone()));
        assert_eq!(text, "Pick one");
        assert_eq!(
            quick,
            vec![QuickReply::Text {
                title: "A".into(),
                payload: "sb:btn:5:a".into()
            }]
        );
        assert_eq!(outgoing(message(SenderKind::Agent, buttons)).1, vec![]);
        let plain = outgoing(message(SenderKind::Bot, serde_json::json!({})));
        assert_eq!(plain, ("Pick one".to_owned(), vec![]));
    }

    #[test]
    fn temporary_errors_back_off_until_the_eighth_attempt() {
        let s = Duration::from_secs;
        let retry_after = |v: Verdict| match v {
            Verdict::Retry { after, error } => (after, error.code),
            other => panic!("expected a retry, got {other:?}"),
        };
        assert_eq!(
            retry_after(verdict(1, None, &api(2, None, None))),
            (s(1), Some(2))
        );
        assert_eq!(
            retry_after(verdict(2, None, &api(613, None, Some(s(180))))),
            (s(180), Some(613))
        );
        let no_connection = Err(GraphError::Transport("refused".into()));
        assert_eq!(retry_after(verdict(3, None, &no_connection)), (s(4), None));
        let (e, also) = failed(verdict(MAX_ATTEMPTS, None, &api(4, None, None)));
        assert!(e.text.starts_with("gave up after 8 attempts"), "{}", e.text);
        assert_eq!((e.code, also), (Some(4), None));
    }

    #[test]
    fn refusals_fail_at_once_with_what_they_say_about_the_page_or_the_person() {
        let (e, also) = failed(verdict(1, None, &api(190, Some(463), None)));
        assert_eq!(
            (e.code, e.subcode, also),
            (Some(190), Some(463), Some(Also::NeedsReconnect))
        );
        assert!(e.text.contains("reconnect the Page"), "{}", e.text);
        let (_, also) = failed(verdict(1, None, &api(10, Some(1893063), None)));
        assert_eq!(also, Some(Also::Restricted));
        let (_, also) = failed(verdict(1, None, &api(551, None, None)));
        assert_eq!(also, Some(Also::Unreachable));
        let (e, also) = failed(verdict(
            1,
            Some("ACCOUNT_UPDATE"),
            &api(100, Some(1893061), None),
        ));
        assert!(
            e.text.contains("ACCOUNT_UPDATE") && e.text.contains("retired"),
            "{}",
            e.text
        );
        assert_eq!(also, None);
        for (code, sub, words) in [
            (10, Some(2018278), "outside the allowed reply window"),
            (10, Some(2018300), "another app"),
            (200, None, "isn't receiving"),
            (1, None, "refused"),
        ] {
            let (e, also) = failed(verdict(1, None, &api(code, sub, None)));
            assert!(e.text.contains(words), "{code}: {}", e.text);
            assert_eq!(also, None);
        }
    }

    #[test]
    fn a_request_without_an_answer_is_unconfirmed_and_a_success_sent() {
        let v = verdict(1, None, &Err(GraphError::NoAnswer("timed out".into())));
        assert!(matches!(v, Verdict::Unconfirmed { .. }), "{v:?}");
        let ok = Ok(SendOk {
            recipient_id: None,
            message_id: "m_1".into(),
        });
        assert_eq!(verdict(1, None, &ok), Verdict::Sent { mid: "m_1".into() });
    }

    #[test]
    fn the_backoff_doubles_to_five_minutes_and_honours_the_platform_wait() {
        let s = Duration::from_secs;
        let got: Vec<_> = (1..=10).map(|a| backoff(a, None)).collect();
        assert_eq!(got, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300].map(s).to_vec());
        assert_eq!(backoff(1, Some(s(180))), s(180));
        assert_eq!(backoff(9, Some(s(60))), s(256));
        assert_eq!(backoff(30, Some(s(3600))), s(3600));
    }
}
