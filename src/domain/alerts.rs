//! E-mail alerts when a visitor waits for a human reply, and the outbox they go through.
//!
//! A wait (`sessions.alert_wait_since`) starts with the first visitor message after the last
//! human reply and ends with the next human (agent) reply or the end of the session; bot and
//! system messages do not end it. Unlike `awaiting_since` (first-response times), it also runs
//! while a bot hosts the session; whether hosted sessions alert is a project setting.
//!
//! When a wait starts and alerts are on, a durable timer `no_reply_alert` is set for
//! wait start + waiting time ([`wait_started`]); a human reply or the end of the session
//! deletes it ([`wait_ended`]). Writing again during the wait changes nothing, so there is one
//! alert per wait. When the timer fires ([`fire`], in the transaction that marks it fired and
//! with the session row locked) it checks that the same wait is still open and the settings
//! still call for an alert, then writes one outbox row per recipient: the assignee, or every
//! member when the session is unassigned. The mailer (`actors::mailer`) sends them.

use crate::db::enums::{OutboxState, SenderKind};
use crate::db::{self, outbox::NewOutbox, outbox::OutboxRow, sessions::SessionRow};
use crate::db::{timers::TimerRow, users::User};
use crate::domain::settings::{self, ProjectSettings};
use crate::domain::timers::TimerKind;
use crate::error::{AppError, AppResult, ErrorCode, NotFoundExt};
use chrono::{DateTime, Duration, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::{Deserialize, Serialize};

pub const TIMER_NO_REPLY_ALERT: &str = "no_reply_alert";
pub const KIND_NO_REPLY_ALERT: &str = "no_reply_alert";
pub const KIND_TEST: &str = "test";

/// The key of the wait start in a `no_reply_alert` timer's payload.
const PAYLOAD_WAIT_SINCE: &str = "wait_since";

pub const DEFAULT_WAIT_SECS: i64 = 300;
pub const MAX_WAIT_SECS: i64 = 7 * 86_400;
/// Longest excerpt of the visitor's last message in an alert.
const EXCERPT_CHARS: usize = 500;

/// The server's e-mail setup, as the rules need it.
#[derive(Debug, Clone)]
pub struct MailEnv {
    /// Without a trailing slash; chat links are `{public_url}/chats/{session_id}`.
    pub public_url: String,
    /// SMTP is configured: without it no outbox row is written (nothing would send it).
    pub configured: bool,
}

impl MailEnv {
    /// The host of the public URL, the right-hand side of our Message-IDs.
    pub fn host(&self) -> String {
        let rest = self
            .public_url
            .split_once("://")
            .map_or(self.public_url.as_str(), |(_, r)| r);
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        let host = if authority.starts_with('[') {
            authority
                .split_once(']')
                .map_or(authority.to_owned(), |(h, _)| format!("{h}]"))
        } else {
            authority.split(':').next().unwrap_or_default().to_owned()
        };
        if host.is_empty() {
            "switchboard.local".into()
        } else {
            host.to_ascii_lowercase()
        }
    }

    pub fn chat_link(&self, session_id: i64) -> String {
        format!("{}/chats/{session_id}", self.public_url)
    }
}

/// Stable per outbox row, so a resend after a crash is recognisably the same mail.
pub fn message_id(outbox_id: i64, project_id: i64, host: &str) -> String {
    format!("<outbox-{outbox_id}.{project_id}@{host}>")
}

/// A project's alert settings (`projects.settings.notifications`, part of
/// `settings::ProjectSettings`), read leniently: a missing or malformed field has its default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct NotificationSettings {
    /// Send an e-mail when a visitor waits longer than `wait_secs` for a human reply.
    #[serde(deserialize_with = "settings::lenient")]
    pub email_enabled: bool,
    /// The waiting time, in seconds (1 to 604800; the console shows minutes).
    #[serde(deserialize_with = "wait_secs")]
    pub wait_secs: i64,
    /// Sessions hosted by a bot alert too.
    #[serde(deserialize_with = "settings::lenient")]
    pub include_bot_hosted: bool,
}

fn wait_secs<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    let secs: i64 = settings::lenient(d)?;
    Ok(if (1..=MAX_WAIT_SECS).contains(&secs) {
        secs
    } else {
        DEFAULT_WAIT_SECS
    })
}

impl Default for NotificationSettings {
    fn default() -> Self {
        NotificationSettings {
            email_enabled: false,
            wait_secs: DEFAULT_WAIT_SECS,
            include_bot_hosted: false,
        }
    }
}

/// A change to the alert settings; absent fields stay as they are.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NotificationPatch {
    pub email_enabled: Option<bool>,
    /// 1 to 604800.
    pub wait_secs: Option<i64>,
    pub include_bot_hosted: Option<bool>,
}

impl NotificationSettings {
    /// Checks the whole patch first, so a bad field changes nothing.
    pub fn apply(&self, p: &NotificationPatch) -> AppResult<NotificationSettings> {
        if let Some(w) = p.wait_secs {
            if !(1..=MAX_WAIT_SECS).contains(&w) {
                return Err(AppError::validation(format!(
                    "wait_secs must be a whole number of seconds from 1 to {MAX_WAIT_SECS}"
                )));
            }
        }
        Ok(NotificationSettings {
            email_enabled: p.email_enabled.unwrap_or(self.email_enabled),
            wait_secs: p.wait_secs.unwrap_or(self.wait_secs),
            include_bot_hosted: p.include_bot_hosted.unwrap_or(self.include_bot_hosted),
        })
    }

    /// Whether a wait in this session alerts.
    pub fn alerts_for(&self, s: &SessionRow) -> bool {
        self.email_enabled && (!s.bot_hosted || self.include_bot_hosted)
    }
}

/// Changes the alert settings in one transaction. A new waiting time also moves the alerts of
/// waits in progress (to their wait start + the new time).
pub async fn update_settings(
    conn: &mut AsyncPgConnection,
    project_id: i64,
    patch: NotificationPatch,
) -> AppResult<NotificationSettings> {
    conn.transaction(async move |conn| {
        let (written, current) = settings::update_locked(conn, project_id, |s| {
            let current = s.notifications.clone();
            s.notifications = current.apply(&patch)?;
            Ok(current)
        })
        .await?;
        let next = written.notifications;
        if next.wait_secs != current.wait_secs {
            db::timers::reschedule_from_payload(
                conn,
                project_id,
                TIMER_NO_REPLY_ALERT,
                PAYLOAD_WAIT_SINCE,
                next.wait_secs,
            )
            .await?;
        }
        Ok(next)
    })
    .await
}

pub async fn settings(
    conn: &mut AsyncPgConnection,
    project_id: i64,
) -> AppResult<NotificationSettings> {
    Ok(settings::load(conn, project_id).await?.notifications)
}

/// A wait began (`s` is the committed row): set its alert timer if this wait alerts.
/// `project_settings` are the project's settings, read once by the caller.
pub async fn wait_started(
    conn: &AsyncPgConnection,
    s: &SessionRow,
    project_settings: &ProjectSettings,
) -> AppResult<()> {
    let Some(since) = s.alert_wait_since else {
        return Ok(());
    };
    let settings = &project_settings.notifications;
    if settings.alerts_for(s) {
        schedule(
            conn,
            s,
            since,
            since + Duration::seconds(settings.wait_secs),
        )
        .await?;
    }
    Ok(())
}

/// The wait ended (a human replied, the session ended): no alert for it.
pub async fn wait_ended(conn: &AsyncPgConnection, session_id: i64) -> AppResult<()> {
    db::timers::cancel_for_session(conn, session_id, TIMER_NO_REPLY_ALERT).await?;
    Ok(())
}

async fn schedule(
    conn: &AsyncPgConnection,
    s: &SessionRow,
    since: DateTime<Utc>,
    due: DateTime<Utc>,
) -> AppResult<()> {
    db::timers::upsert_for_session(
        conn,
        s.project_id,
        s.id,
        TIMER_NO_REPLY_ALERT,
        due,
        &serde_json::json!({ PAYLOAD_WAIT_SINCE: since }),
    )
    .await?;
    Ok(())
}

/// A `no_reply_alert` timer is due. Runs inside the transaction that marked it fired, with the
/// session row locked. Returns the outbox rows written (none when the wait is over, alerts
/// were turned off, or e-mail is not configured).
/// The e-mail alert when a visitor waits too long: writes the outbox rows (nothing to
/// announce on the sockets).
pub const NO_REPLY_ALERT: TimerKind = TimerKind {
    name: TIMER_NO_REPLY_ALERT,
    fire: |conn, timer, session, env| {
        Box::pin(async move {
            if let Some(s) = session {
                fire(conn, timer, &s, &env.mail).await?;
            }
            Ok(None)
        })
    },
};

pub async fn fire(
    conn: &mut AsyncPgConnection,
    timer: &TimerRow,
    s: &SessionRow,
    env: &MailEnv,
) -> AppResult<Vec<OutboxRow>> {
    let since = timer
        .payload
        .get(PAYLOAD_WAIT_SINCE)
        .and_then(|v| serde_json::from_value::<DateTime<Utc>>(v.clone()).ok());
    let Some(since) = since else {
        tracing::warn!(timer = timer.id, "alert timer without a wait start dropped");
        return Ok(vec![]);
    };
    // The same wait must still be open: a reply or the end of the session closes it.
    if s.status.is_ended() || s.alert_wait_since != Some(since) {
        return Ok(vec![]);
    }
    let settings = settings(conn, s.project_id).await?;
    if !settings.alerts_for(s) {
        return Ok(vec![]);
    }
    let now = Utc::now();
    let due = since + Duration::seconds(settings.wait_secs);
    if due > now {
        // The waiting time was made longer after the timer was set.
        schedule(conn, s, since, due).await?;
        return Ok(vec![]);
    }
    if !env.configured {
        tracing::warn!(
            session = s.id,
            "a visitor waits for a reply but e-mail is not configured (SWITCHBOARD_SMTP_URL)"
        );
        return Ok(vec![]);
    }
    let mut recipients = match s.assignee_id {
        Some(a) => db::projects::member_addresses(conn, s.project_id, Some(a)).await?,
        None => vec![],
    };
    let assigned = !recipients.is_empty();
    if !assigned {
        // Unassigned (or the assignee left the project): everyone in the project.
        recipients = db::projects::member_addresses(conn, s.project_id, None).await?;
    }
    let (name, note) = db::sessions::contact_names(conn, s.contact_id).await?;
    let facts = AlertFacts {
        visitor: display_name(&name, note.as_deref()),
        channel: db::channels::name(conn, s.channel_id).await?,
        project: db::projects::find(conn, s.project_id).await?.name,
        waited_secs: (now - since).num_seconds().max(0),
        last_message: db::messages::last_from(conn, s.id, SenderKind::Visitor)
            .await?
            .map(|m| m.body),
        link: env.chat_link(s.id),
        assigned,
    };
    let host = env.host();
    let mut rows = Vec::with_capacity(recipients.len());
    for (user_id, email, user_name) in recipients {
        let mail = compose_no_reply(&facts, &user_name);
        let row = db::outbox::insert(
            conn,
            NewOutbox {
                project_id: s.project_id,
                kind: KIND_NO_REPLY_ALERT,
                session_id: Some(s.id),
                timer_id: Some(timer.id),
                recipient_user_id: Some(user_id),
                to_address: &email,
                to_name: &user_name,
                subject: &mail.subject,
                text_body: &mail.text,
                html_body: &mail.html,
            },
            |id, pid| message_id(id, pid, &host),
        )
        .await?;
        rows.push(row);
    }
    tracing::info!(
        session = s.id,
        recipients = rows.len(),
        "no-reply alert queued"
    );
    Ok(rows)
}

/// Queues a test e-mail to `user` through the outbox.
pub async fn enqueue_test(
    conn: &mut AsyncPgConnection,
    project_id: i64,
    user: &User,
    env: &MailEnv,
) -> AppResult<OutboxRow> {
    if !env.configured {
        return Err(AppError::new(
            ErrorCode::EmailNotConfigured,
            "e-mail is not configured on this server (set SWITCHBOARD_SMTP_URL and SWITCHBOARD_SMTP_FROM)",
        ));
    }
    let project = db::projects::find(conn, project_id)
        .await
        .or_not_found("project")?;
    let mail = compose_test(&project.name, &user.display_name, &env.public_url);
    let host = env.host();
    Ok(db::outbox::insert(
        conn,
        NewOutbox {
            project_id,
            kind: KIND_TEST,
            session_id: None,
            timer_id: None,
            recipient_user_id: Some(user.id),
            to_address: &user.email,
            to_name: &user.display_name,
            subject: &mail.subject,
            text_body: &mail.text,
            html_body: &mail.html,
        },
        |id, pid| message_id(id, pid, &host),
    )
    .await?)
}

/// An outbox row as the API shows it (without the bodies).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OutboxView {
    pub id: i64,
    /// `no_reply_alert` or `test`.
    pub kind: String,
    pub session_id: Option<i64>,
    pub recipient_user_id: Option<i64>,
    pub to: String,
    pub subject: String,
    pub message_id: String,
    pub state: OutboxState,
    /// Attempts started so far.
    pub attempts: i32,
    /// The error of the most recent failed attempt (kept after a later success).
    pub last_error: Option<String>,
    /// When a pending mail is tried (again).
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub sent_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<&OutboxRow> for OutboxView {
    fn from(r: &OutboxRow) -> Self {
        OutboxView {
            id: r.id,
            kind: r.kind.clone(),
            session_id: r.session_id,
            recipient_user_id: r.recipient_user_id,
            to: r.to_address.clone(),
            subject: r.subject.clone(),
            message_id: r.message_id.clone(),
            state: r.state,
            attempts: r.attempts,
            last_error: r.last_error.clone(),
            next_attempt_at: (r.state == OutboxState::Pending).then_some(r.next_attempt_at),
            sent_at: r.sent_at,
            created_at: r.created_at,
        }
    }
}

/// What an alert says.
#[derive(Debug, Clone)]
pub struct AlertFacts {
    pub visitor: String,
    pub channel: String,
    pub project: String,
    pub waited_secs: i64,
    pub last_message: Option<String>,
    pub link: String,
    /// Sent to the assignee (else to every member of an unassigned session).
    pub assigned: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Composed {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// The name agents know a visitor by: the note name when there is one.
pub fn display_name(name: &str, note_name: Option<&str>) -> String {
    match note_name.map(str::trim).filter(|n| !n.is_empty()) {
        Some(n) => n.to_owned(),
        None if name.trim().is_empty() => "A visitor".into(),
        None => name.trim().to_owned(),
    }
}

pub fn compose_no_reply(f: &AlertFacts, recipient: &str) -> Composed {
    let waited = format_wait(f.waited_secs);
    let visitor = one_line(&f.visitor);
    let channel = one_line(&f.channel);
    let subject = format!("{visitor} has waited {waited} for a reply on {channel}");
    let excerpt = f.last_message.as_deref().map(excerpt);
    let why = if f.assigned {
        "the chat is assigned to you"
    } else {
        "the chat is not assigned to anyone"
    };
    let mut text = format!(
        "Hello {recipient},\n\n{visitor} has waited {waited} for a reply on {channel} ({project}).\n\n",
        recipient = one_line(recipient),
        project = one_line(&f.project),
    );
    if let Some(m) = &excerpt {
        text.push_str("Their last message:\n\n");
        for line in m.lines() {
            text.push_str(&format!("> {line}\n"));
        }
        text.push('\n');
    }
    text.push_str(&format!(
        "Open the chat: {link}\n\n--\nYou get this e-mail because e-mail alerts are on in the project \"{project}\" and {why}.\n",
        link = f.link,
        project = one_line(&f.project),
    ));

    let e = escape_html;
    let mut html = format!(
        "<!DOCTYPE html>\n<html><body style=\"font-family:sans-serif;line-height:1.4\">\n\
         <p>Hello {recipient},</p>\n\
         <p><strong>{visitor}</strong> has waited <strong>{waited}</strong> for a reply on {channel} ({project}).</p>\n",
        recipient = e(&one_line(recipient)),
        visitor = e(&visitor),
        channel = e(&channel),
        project = e(&one_line(&f.project)),
    );
    if let Some(m) = &excerpt {
        html.push_str(&format!(
            "<p>Their last message:</p>\n<blockquote style=\"margin:0 0 1em;padding:.5em 1em;border-left:3px solid #ccc;white-space:pre-wrap\">{}</blockquote>\n",
            e(m)
        ));
    }
    html.push_str(&format!(
        "<p><a href=\"{link}\">Open the chat</a></p>\n\
         <p style=\"color:#666;font-size:small\">You get this e-mail because e-mail alerts are on in the project &quot;{project}&quot; and {why}.</p>\n\
         </body></html>\n",
        link = e(&f.link),
        project = e(&one_line(&f.project)),
    ));
    Composed {
        subject,
        text,
        html,
    }
}

pub fn compose_test(project: &str, recipient: &str, public_url: &str) -> Composed {
    let project = one_line(project);
    let recipient = one_line(recipient);
    Composed {
        subject: format!("Switchboard test e-mail ({project})"),
        text: format!(
            "Hello {recipient},\n\nThis is a test e-mail from Switchboard ({public_url}), project \"{project}\".\nE-mail alerts can reach you.\n"
        ),
        html: format!(
            "<!DOCTYPE html>\n<html><body style=\"font-family:sans-serif\">\n<p>Hello {r},</p>\n<p>This is a test e-mail from Switchboard (<a href=\"{u}\">{u}</a>), project &quot;{p}&quot;.<br>E-mail alerts can reach you.</p>\n</body></html>\n",
            r = escape_html(&recipient),
            u = escape_html(public_url),
            p = escape_html(&project),
        ),
    }
}

/// "45 seconds", "5 minutes", "1 hour 20 minutes", "2 days 3 hours".
pub fn format_wait(secs: i64) -> String {
    fn unit(n: i64, one: &str) -> String {
        if n == 1 {
            format!("1 {one}")
        } else {
            format!("{n} {one}s")
        }
    }
    let secs = secs.max(0);
    match secs {
        0..60 => unit(secs, "second"),
        60..3600 => unit(secs / 60, "minute"),
        3600..86_400 => {
            let (h, m) = (secs / 3600, secs % 3600 / 60);
            if m == 0 {
                unit(h, "hour")
            } else {
                format!("{} {}", unit(h, "hour"), unit(m, "minute"))
            }
        }
        _ => {
            let (d, h) = (secs / 86_400, secs % 86_400 / 3600);
            if h == 0 {
                unit(d, "day")
            } else {
                format!("{} {}", unit(d, "day"), unit(h, "hour"))
            }
        }
    }
}

pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Control characters (line breaks included) become spaces: names go into one-line places.
pub fn one_line(s: &str) -> String {
    let s: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn excerpt(text: &str) -> String {
    let text = text.trim();
    if text.chars().count() <= EXCERPT_CHARS {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(EXCERPT_CHARS).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> AlertFacts {
        AlertFacts {
            visitor: "Ada <VIP> & \"Co\"".into(),
            channel: "Website".into(),
            project: "Demo".into(),
            waited_secs: 305,
            last_message: Some("Is <b>this</b> on?\nSecond line".into()),
            link: "https://chat.example.com/chats/42".into(),
            assigned: true,
        }
    }

    #[test]
    fn an_alert_names_visitor_channel_wait_message_and_link() {
        let c = compose_no_reply(&facts(), "Bob");
        assert_eq!(
            c.subject,
            "Ada <VIP> & \"Co\" has waited 5 minutes for a reply on Website"
        );
        assert!(c.text.contains("Hello Bob,"));
        assert!(c.text.contains("> Is <b>this</b> on?\n> Second line"));
        assert!(c.text.contains("https://chat.example.com/chats/42"));
        assert!(c.text.contains("assigned to you"));
        assert!(c
            .html
            .contains("<strong>Ada &lt;VIP&gt; &amp; &quot;Co&quot;</strong>"));
        assert!(c.html.contains("Is &lt;b&gt;this&lt;/b&gt; on?"));
        assert!(c
            .html
            .contains("<a href=\"https://chat.example.com/chats/42\">"));
        assert!(!c.html.contains("<VIP>") && !c.html.contains("<b>this"));
    }

    #[test]
    fn names_cannot_break_the_subject_line() {
        let mut f = facts();
        f.visitor = "Eve\r\nBcc: x@y.z".into();
        let c = compose_no_reply(&f, "Bob\n");
        assert!(!c.subject.contains('\n') && !c.subject.contains('\r'));
        assert!(c.subject.starts_with("Eve Bcc: x@y.z has waited"));
    }

    #[test]
    fn long_messages_are_cut() {
        let mut f = facts();
        f.last_message = Some("x".repeat(2000));
        let c = compose_no_reply(&f, "Bob");
        assert!(c
            .text
            .contains(&format!("> {}…", "x".repeat(EXCERPT_CHARS))));
    }

    #[test]
    fn note_name_comes_first() {
        assert_eq!(display_name("Visitor 12", Some("Ada")), "Ada");
        assert_eq!(display_name("Visitor 12", Some("  ")), "Visitor 12");
        assert_eq!(display_name("Visitor 12", None), "Visitor 12");
        assert_eq!(display_name("", None), "A visitor");
    }

    #[test]
    fn waits_read_naturally() {
        assert_eq!(format_wait(1), "1 second");
        assert_eq!(format_wait(45), "45 seconds");
        assert_eq!(format_wait(60), "1 minute");
        assert_eq!(format_wait(305), "5 minutes");
        assert_eq!(format_wait(3600), "1 hour");
        assert_eq!(format_wait(4800), "1 hour 20 minutes");
        assert_eq!(format_wait(2 * 86_400 + 3 * 3600 + 5), "2 days 3 hours");
    }

    #[test]
    fn message_id_host_comes_from_the_public_url() {
        let env = |u: &str| MailEnv {
            public_url: u.into(),
            configured: true,
        };
        assert_eq!(env("https://Chat.Example.com").host(), "chat.example.com");
        assert_eq!(env("http://127.0.0.1:8080/sb").host(), "127.0.0.1");
        assert_eq!(env("http://[::1]:8080").host(), "[::1]");
        assert_eq!(env("").host(), "switchboard.local");
        assert_eq!(
            message_id(7, 3, &env("https://x.org").host()),
            "<outbox-7.3@x.org>"
        );
        assert_eq!(
            env("https://x.org/base").chat_link(9),
            "https://x.org/base/chats/9"
        );
    }

    #[test]
    fn settings_read_leniently_and_patches_validate_whole() {
        let read = |v| crate::domain::settings::ProjectSettings::from_value(v).notifications;
        assert_eq!(read(serde_json::json!({})), NotificationSettings::default());
        let s = read(serde_json::json!({
            "notifications": {"email_enabled": true, "wait_secs": 0, "include_bot_hosted": "yes"}
        }));
        assert_eq!(
            s,
            NotificationSettings {
                email_enabled: true,
                wait_secs: DEFAULT_WAIT_SECS,
                include_bot_hosted: false
            }
        );
        let bad = NotificationPatch {
            email_enabled: Some(true),
            wait_secs: Some(0),
            include_bot_hosted: None,
        };
        assert_eq!(s.apply(&bad).unwrap_err().code, ErrorCode::Validation);
        let ok = NotificationPatch {
            wait_secs: Some(60),
            ..Default::default()
        };
        assert_eq!(s.apply(&ok).unwrap().wait_secs, 60);
    }
}
