//! Web-widget visitors: a widget key names the channel, a token names the visitor.

use crate::db::{self, channels::Channel, contacts::Contact};
use crate::domain::auth;
use crate::error::{AppError, AppResult};
use diesel_async::AsyncPgConnection;

pub struct Identified {
    pub channel: Channel,
    pub contact: Contact,
    /// Set when a new visitor was made: the token to hand out (only its hash is stored).
    pub new_token: Option<String>,
}

/// The visitor a token names, or a new one (a contact row) — only if `may_create` agrees, so a
/// caller can limit new visitors whatever token they present.
pub async fn identify(
    conn: &mut AsyncPgConnection,
    widget_key: &str,
    token: Option<&str>,
    may_create: impl FnOnce() -> AppResult<()>,
) -> AppResult<Identified> {
    let channel = db::channels::by_widget_key(conn, widget_key)
        .await?
        .ok_or_else(|| AppError::not_found("widget"))?;
    if let Some(token) = token.filter(|t| !t.is_empty()) {
        if let Some(contact) =
            db::contacts::by_visitor_token(conn, channel.id, &auth::hash_token(token)).await?
        {
            return Ok(Identified {
                channel,
                contact,
                new_token: None,
            });
        }
    }
    may_create()?;
    let (contact, token) = create(conn, &channel, None).await?;
    Ok(Identified {
        channel,
        contact,
        new_token: Some(token),
    })
}

/// A new visitor of a web channel: the contact row and the token to hand out (only its hash
/// is stored). Without a `name` it is "Visitor" and the token's first characters.
pub async fn create(
    conn: &mut AsyncPgConnection,
    channel: &Channel,
    name: Option<&str>,
) -> AppResult<(Contact, String)> {
    let (token, hash) = auth::new_token();
    let external_id = format!("v_{}", &token[..16]);
    let name = match name {
        Some(n) => n.to_owned(),
        None => format!("Visitor {}", &token[..6].to_uppercase()),
    };
    let contact = db::contacts::insert_visitor(
        conn,
        channel.project_id,
        channel.id,
        &external_id,
        &name,
        &hash,
    )
    .await?;
    Ok((contact, token))
}
