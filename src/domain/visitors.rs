//! Web-widget visitors: a widget key names the channel, a token names the visitor.
//!
//! A visitor costs no row until they write: a new one gets a token the server signs (random
//! part + HMAC under the server key, bound to the channel) and is *pending*; a reload with that
//! token is the same pending visitor, a made-up token is not recognised. The contact row is
//! made with the first message (`contact_for`, in the transaction that opens its session:
//! `inbound::route_first`), keyed by the token's hash, once however many tabs write first at
//! the same time.

use crate::db::{self, channels::Channel, contacts::Contact};
use crate::domain::auth;
use crate::error::{AppError, AppResult};
use crate::secrets::SecretBox;
use diesel_async::AsyncPgConnection;
use rand::RngCore;

/// What `SecretBox::mac` binds a visitor token's signature to.
const TOKEN_LABEL: &str = "visitor token";
/// Hex digits of the random part and of the signature: 64 in all, as tokens always were.
const PART: usize = 32;

/// A visitor with a token and no contact row yet.
#[derive(Debug, Clone)]
pub struct Pending {
    pub project_id: i64,
    pub channel_id: i64,
    pub token: String,
}

impl Pending {
    pub fn token_hash(&self) -> Vec<u8> {
        auth::hash_token(&self.token)
    }
}

pub enum Visitor {
    Contact(Contact),
    Pending(Pending),
}

pub struct Identified {
    pub visitor: Visitor,
    /// The token the visitor holds from now on: the one presented, or a new one.
    pub token: String,
}

/// The visitor a token names: its contact, or a pending visitor when the server issued the
/// token and nobody has written with it yet. Otherwise a new pending visitor with a new token
/// — only if `may_create` agrees, so a caller can limit new visitors whatever token they
/// present. Makes no row.
pub async fn identify(
    conn: &mut AsyncPgConnection,
    secrets: &SecretBox,
    widget_key: &str,
    token: Option<&str>,
    may_create: impl AsyncFnOnce() -> AppResult<()>,
) -> AppResult<Identified> {
    let channel = db::channels::by_widget_key(conn, widget_key)
        .await?
        .ok_or_else(|| AppError::not_found("widget"))?;
    let pending = |token: String| Identified {
        visitor: Visitor::Pending(Pending {
            project_id: channel.project_id,
            channel_id: channel.id,
            token: token.clone(),
        }),
        token,
    };
    if let Some(token) = token.filter(|t| !t.is_empty()) {
        // Looked up whatever its form: tokens issued before visitors were pending are random
        // and unsigned, and their contacts exist.
        if let Some(contact) =
            db::contacts::by_visitor_token(conn, channel.id, &auth::hash_token(token)).await?
        {
            return Ok(Identified {
                visitor: Visitor::Contact(contact),
                token: token.to_owned(),
            });
        }
        if issued(secrets, channel.id, token) {
            return Ok(pending(token.to_owned()));
        }
    }
    may_create().await?;
    Ok(pending(issue_token(secrets, channel.id)))
}

/// The contact of a pending visitor, made now if nobody has written with its token yet (then
/// `true`). Two tabs writing their first messages at once get the same row (the token hash is
/// unique): the second waits on the first's insert until that commits.
pub async fn contact_for(conn: &mut AsyncPgConnection, p: &Pending) -> AppResult<(Contact, bool)> {
    let hash = p.token_hash();
    let (external_id, name) = visitor_names(&p.token);
    if let Some(contact) = db::contacts::insert_visitor_once(
        conn,
        p.project_id,
        p.channel_id,
        &external_id,
        &name,
        &hash,
    )
    .await?
    {
        return Ok((contact, true));
    }
    let contact = db::contacts::by_visitor_token(conn, p.channel_id, &hash)
        .await?
        .ok_or_else(|| AppError::internal("a visitor token's contact is in another channel"))?;
    Ok((contact, false))
}

/// A new visitor of a web channel with a row at once (an automation test run's contact): the
/// contact and the token to hand out (only its hash is stored). Without a `name` it is
/// "Visitor" and the token's first characters.
pub async fn create(
    conn: &mut AsyncPgConnection,
    channel: &Channel,
    name: Option<&str>,
) -> AppResult<(Contact, String)> {
    let (token, hash) = auth::new_token();
    let (external_id, default_name) = visitor_names(&token);
    let name = name.map_or(default_name, str::to_owned);
    let contact = db::contacts::insert_visitor_once(
        conn,
        channel.project_id,
        channel.id,
        &external_id,
        &name,
        &hash,
    )
    .await?
    // The token was made just now: nothing can hold its hash yet.
    .ok_or_else(|| AppError::internal("a new visitor token already had a contact"))?;
    Ok((contact, token))
}

/// The external id and default name a visitor's token gives, the same for every tab.
fn visitor_names(token: &str) -> (String, String) {
    let head = |n: usize| token.get(..n).unwrap_or(token);
    (
        format!("v_{}", head(16)),
        format!("Visitor {}", head(6).to_uppercase()),
    )
}

/// A new token for a visitor of `channel_id`: 32 random hex digits, then 32 of their signature.
pub fn issue_token(secrets: &SecretBox, channel_id: i64) -> String {
    let mut random = [0u8; PART / 2];
    rand::rngs::OsRng.fill_bytes(&mut random);
    let random = hex::encode(random);
    let signature = signature(secrets, channel_id, &random);
    random + &signature
}

/// Whether this server issued `token` for a visitor of `channel_id`.
pub fn issued(secrets: &SecretBox, channel_id: i64, token: &str) -> bool {
    if token.len() != 2 * PART || !token.is_ascii() {
        return false;
    }
    let (random, given) = token.split_at(PART);
    let expected = signature(secrets, channel_id, random);
    // Constant time: a client learns nothing from how long a wrong guess took.
    expected.len() == given.len()
        && expected
            .bytes()
            .zip(given.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

fn signature(secrets: &SecretBox, channel_id: i64, random: &str) -> String {
    let mac = secrets.mac(TOKEN_LABEL, format!("{channel_id}:{random}").as_bytes());
    hex::encode(&mac[..PART / 2])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_issued_token_is_recognised_for_its_channel_only() {
        let secrets = SecretBox::from_key(&[3; 32]);
        let token = issue_token(&secrets, 7);
        assert_eq!(token.len(), 64);
        assert!(issued(&secrets, 7, &token));
        assert!(!issued(&secrets, 8, &token));
        assert!(!issued(&SecretBox::from_key(&[4; 32]), 7, &token));
    }

    #[test]
    fn a_made_up_or_altered_token_is_not_recognised() {
        let secrets = SecretBox::from_key(&[3; 32]);
        let token = issue_token(&secrets, 7);
        let mut altered = token.clone().into_bytes();
        altered[0] = if altered[0] == b'a' { b'b' } else { b'a' };
        assert!(!issued(&secrets, 7, &String::from_utf8(altered).unwrap()));
        assert!(!issued(&secrets, 7, &"0".repeat(64)));
        assert!(!issued(&secrets, 7, "short"));
        assert!(!issued(&secrets, 7, &"é".repeat(32)));
    }

    #[test]
    fn tokens_differ_and_name_their_visitor() {
        let secrets = SecretBox::from_key(&[3; 32]);
        let (a, b) = (issue_token(&secrets, 7), issue_token(&secrets, 7));
        assert_ne!(a, b);
        let (external_id, name) = visitor_names(&a);
        assert_eq!(external_id, format!("v_{}", &a[..16]));
        assert_eq!(name, format!("Visitor {}", a[..6].to_uppercase()));
    }
}
