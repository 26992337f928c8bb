//! A channel that stops being able to send (its token was refused, Meta restricted the Page):
//! the health line changes, and the project's channel managers get one e-mail per change — the
//! agents would otherwise only notice when their replies fail. Going back to `connected` (a
//! new token that checks out) sends nothing.

use crate::db;
use crate::db::enums::ChannelHealth;
use crate::db::outbox::NewOutbox;
use crate::domain::access::Permission;
use crate::domain::alerts::{self, Composed, MailEnv};
use crate::error::AppResult;
use diesel_async::AsyncPgConnection;

pub const KIND_CHANNEL_HEALTH: &str = "channel_health";

/// Records `health` (with why) and, when this changed it from a working channel, queues the
/// e-mails in the same transaction as the caller's. Returns the number of e-mails queued.
pub async fn degrade(
    conn: &mut AsyncPgConnection,
    mail: &MailEnv,
    channel_id: i64,
    health: ChannelHealth,
    detail: &str,
) -> AppResult<usize> {
    let Some(ch) = db::channels::change_health(conn, channel_id, health, Some(detail)).await?
    else {
        return Ok(0);
    };
    if health == ChannelHealth::Connected || !mail.configured {
        return Ok(0);
    }
    let managers = db::projects::member_addresses_with_permission(
        conn,
        ch.project_id,
        Permission::ManageChannels.as_str(),
    )
    .await?;
    let host = mail.host();
    let link = format!("{}/settings/messenger", mail.public_url);
    for (user_id, email, name) in &managers {
        let m = compose(&ch.name, health, detail, name, &link);
        db::outbox::insert(
            conn,
            NewOutbox {
                project_id: ch.project_id,
                kind: KIND_CHANNEL_HEALTH,
                session_id: None,
                timer_id: None,
                recipient_user_id: Some(*user_id),
                to_address: email,
                to_name: name,
                subject: &m.subject,
                text_body: &m.text,
                html_body: &m.html,
            },
            |id, pid| alerts::message_id(id, pid, &host),
        )
        .await?;
    }
    tracing::warn!(channel = channel_id, health = %health, recipients = managers.len(),
        "channel cannot send; its managers are told");
    Ok(managers.len())
}

pub fn compose(
    channel: &str,
    health: ChannelHealth,
    detail: &str,
    recipient: &str,
    link: &str,
) -> Composed {
    let what = match health {
        ChannelHealth::NeedsReconnect => {
            "Meta refused its access token: replies to Messenger are not sent until someone \
             pastes a new Page access token"
        }
        ChannelHealth::Restricted => {
            "Meta restricted the Page from sending messages: replies to Messenger fail until \
             the restriction is lifted"
        }
        ChannelHealth::Connected => "it is connected again",
    };
    let one_line = alerts::one_line;
    let (channel, recipient, detail) = (one_line(channel), one_line(recipient), one_line(detail));
    Composed {
        subject: format!("Messenger Page \"{channel}\" needs attention"),
        text: format!(
            "Hello {recipient},\n\nThe Messenger Page \"{channel}\" cannot send: {what}.\n\
             Meta said: {detail}\n\nSettings › Channels › Messenger: {link}\n"
        ),
        html: format!(
            "<!DOCTYPE html>\n<html><body style=\"font-family:sans-serif\">\n<p>Hello {r},</p>\n\
             <p>The Messenger Page &quot;{c}&quot; cannot send: {w}.</p>\n<p>Meta said: {d}</p>\n\
             <p><a href=\"{l}\">Settings › Channels › Messenger</a></p>\n</body></html>\n",
            r = alerts::escape_html(&recipient),
            c = alerts::escape_html(&channel),
            w = alerts::escape_html(what),
            d = alerts::escape_html(&detail),
            l = alerts::escape_html(link),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mail_names_the_page_says_what_to_do_and_escapes_what_meta_said() {
        let m = compose(
            "Acme <Support>",
            ChannelHealth::NeedsReconnect,
            "Graph API error 190/463: Error validating access token\r\nBcc: x@y",
            "Ann",
            "https://sb.example.com/settings/messenger",
        );
        assert_eq!(
            m.subject,
            "Messenger Page \"Acme <Support>\" needs attention"
        );
        assert!(
            m.text.contains("pastes a new Page access token"),
            "{}",
            m.text
        );
        assert!(!m.text.contains("\r\nBcc"), "one line per field");
        assert!(m.html.contains("Acme &lt;Support&gt;"));
        assert!(m.html.contains("https://sb.example.com/settings/messenger"));
    }
}
