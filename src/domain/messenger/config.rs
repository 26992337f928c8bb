//! A Messenger channel's settings, as stored in `channels.config` (kind `messenger`, the Page id
//! in `channels.external_id`):
//! `{"page_name", "app_id", "human_agent", "allowed_tags", "page_token", "app_secret",
//! "verify_token"}`, the last three sealed with the server's key (`crate::secrets`, label = the
//! field's name). Validation of what an admin sends to connect a Page or change it, sealing
//! and opening. Secrets are write-only: nothing here hands them to a view.

use crate::db;
use crate::db::channels::Channel;
use crate::db::enums::{ChannelHealth, ChannelKind};
use crate::error::{AppError, AppResult, ErrorCode, NotFoundExt};
use crate::graph::{ErrorClass, Graph, PageAuth};
use crate::secrets::SecretBox;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::{Deserialize, Serialize};

pub const MAX_TAGS: usize = 20;
pub const MAX_TAG_CHARS: usize = 64;
const MAX_ID_DIGITS: usize = 32;
const MAX_NAME_CHARS: usize = 200;
/// A Page token is about 200 characters; this is only a bound on what is stored.
const MAX_SECRET_CHARS: usize = 4096;

pub const LABEL_PAGE_TOKEN: &str = "page_token";
pub const LABEL_APP_SECRET: &str = "app_secret";
pub const LABEL_VERIFY_TOKEN: &str = "verify_token";

/// The typed view of a Messenger channel's `config`. The secret fields hold sealed text.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MessengerConfig {
    #[serde(default)]
    pub page_name: String,
    /// Our Meta app's id (digits): an echo with this `app_id` is one of our sends.
    #[serde(default)]
    pub app_id: String,
    /// The app has Meta's Human Agent permission: human replies may use the 7-day tag.
    #[serde(default)]
    pub human_agent: bool,
    /// Message tags an agent may pick past 7 days (none by default: Meta retired the old ones).
    #[serde(default)]
    pub allowed_tags: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_secret: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify_token: Option<String>,
}

impl MessengerConfig {
    /// Read leniently: a missing or malformed key is its default (an unset secret opens as an
    /// error, which fails closed where it is used).
    pub fn from_json(v: &serde_json::Value) -> MessengerConfig {
        serde_json::from_value(v.clone()).unwrap_or_default()
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_else(|_| serde_json::json!({}))
    }

    pub fn page_token(&self, secrets: &SecretBox) -> Result<String, String> {
        open(secrets, LABEL_PAGE_TOKEN, self.page_token.as_deref())
    }

    pub fn app_secret(&self, secrets: &SecretBox) -> Result<String, String> {
        open(secrets, LABEL_APP_SECRET, self.app_secret.as_deref())
    }

    pub fn verify_token(&self, secrets: &SecretBox) -> Result<String, String> {
        open(secrets, LABEL_VERIFY_TOKEN, self.verify_token.as_deref())
    }

    pub fn has_page_token(&self) -> bool {
        is_set(&self.page_token)
    }

    pub fn has_app_secret(&self) -> bool {
        is_set(&self.app_secret)
    }

    pub fn has_verify_token(&self) -> bool {
        is_set(&self.verify_token)
    }
}

fn is_set(v: &Option<String>) -> bool {
    v.as_deref().is_some_and(|s| !s.is_empty())
}

/// An empty secret is no secret: it never opens (the webhook fails closed on it).
fn open(secrets: &SecretBox, label: &str, sealed: Option<&str>) -> Result<String, String> {
    let sealed = sealed
        .filter(|s| !s.is_empty())
        .ok_or_else(|| format!("no {label} is set"))?;
    let plain = secrets.open(label, sealed)?;
    if plain.is_empty() {
        return Err(format!("the {label} is empty"));
    }
    Ok(plain)
}

/// `POST /api/projects/{pid}/channels/messenger`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectMessenger {
    /// The Page id (digits).
    pub page_id: String,
    /// Shown in the console; the Graph API's name of the Page when omitted.
    #[serde(default)]
    pub page_name: Option<String>,
    pub page_access_token: String,
    pub app_id: String,
    pub app_secret: String,
    pub verify_token: String,
    #[serde(default)]
    pub human_agent: bool,
    #[serde(default)]
    pub allowed_tags: Vec<String>,
}

/// `PATCH /api/projects/{pid}/channels/{cid}/messenger`: any subset; an omitted secret stays.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchMessenger {
    pub page_id: Option<String>,
    pub page_name: Option<String>,
    pub page_access_token: Option<String>,
    pub app_id: Option<String>,
    pub app_secret: Option<String>,
    pub verify_token: Option<String>,
    pub human_agent: Option<bool>,
    pub allowed_tags: Option<Vec<String>>,
}

impl From<ConnectMessenger> for PatchMessenger {
    fn from(c: ConnectMessenger) -> Self {
        PatchMessenger {
            page_id: Some(c.page_id),
            page_name: c.page_name,
            page_access_token: Some(c.page_access_token),
            app_id: Some(c.app_id),
            app_secret: Some(c.app_secret),
            verify_token: Some(c.verify_token),
            human_agent: Some(c.human_agent),
            allowed_tags: Some(c.allowed_tags),
        }
    }
}

/// A validated change, secrets still in plain text (sealed by `apply`).
#[derive(Debug, Clone, Default)]
pub struct Change {
    pub page_id: Option<String>,
    pub page_name: Option<String>,
    pub page_token: Option<String>,
    pub app_id: Option<String>,
    pub app_secret: Option<String>,
    pub verify_token: Option<String>,
    pub human_agent: Option<bool>,
    pub allowed_tags: Option<Vec<String>>,
}

impl Change {
    /// Whether the Page's token must be checked again with the Graph API.
    pub fn touches_token(&self) -> bool {
        self.page_id.is_some() || self.page_token.is_some()
    }

    /// `config` with this change applied; the secrets given are sealed, the others kept.
    pub fn apply(&self, config: &MessengerConfig, secrets: &SecretBox) -> MessengerConfig {
        let mut c = config.clone();
        if let Some(v) = &self.page_name {
            c.page_name = v.clone();
        }
        if let Some(v) = &self.app_id {
            c.app_id = v.clone();
        }
        if let Some(v) = self.human_agent {
            c.human_agent = v;
        }
        if let Some(v) = &self.allowed_tags {
            c.allowed_tags = v.clone();
        }
        if let Some(v) = &self.page_token {
            c.page_token = Some(secrets.seal(LABEL_PAGE_TOKEN, v));
        }
        if let Some(v) = &self.app_secret {
            c.app_secret = Some(secrets.seal(LABEL_APP_SECRET, v));
        }
        if let Some(v) = &self.verify_token {
            c.verify_token = Some(secrets.seal(LABEL_VERIFY_TOKEN, v));
        }
        c
    }
}

/// Checks every field given; one bad field refuses the whole change.
pub fn validate(p: PatchMessenger) -> AppResult<Change> {
    Ok(Change {
        page_id: p.page_id.map(|v| digits("page_id", &v)).transpose()?,
        // Left blank: the Page's name on Facebook (connect) or unchanged (patch).
        page_name: p
            .page_name
            .filter(|v| !v.trim().is_empty())
            .map(|v| name(&v))
            .transpose()?,
        page_token: p
            .page_access_token
            .map(|v| secret("page_access_token", v))
            .transpose()?,
        app_id: p.app_id.map(|v| digits("app_id", &v)).transpose()?,
        app_secret: p.app_secret.map(|v| secret("app_secret", v)).transpose()?,
        verify_token: p
            .verify_token
            .map(|v| secret("verify_token", v))
            .transpose()?,
        human_agent: p.human_agent,
        allowed_tags: p.allowed_tags.map(tags).transpose()?,
    })
}

fn digits(field: &str, v: &str) -> AppResult<String> {
    let v = v.trim();
    if v.is_empty() || v.len() > MAX_ID_DIGITS || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AppError::validation(format!(
            "{field} must be 1 to {MAX_ID_DIGITS} digits"
        )));
    }
    Ok(v.to_owned())
}

fn name(v: &str) -> AppResult<String> {
    let v = v.trim();
    if v.chars().count() > MAX_NAME_CHARS {
        return Err(AppError::validation(format!(
            "page_name is longer than {MAX_NAME_CHARS} characters"
        )));
    }
    Ok(v.to_owned())
}

/// Secrets are kept as given, minus surrounding white space (a pasted token's newline).
fn secret(field: &str, v: String) -> AppResult<String> {
    let v = v.trim();
    if v.is_empty() {
        return Err(AppError::validation(format!("{field} must not be empty")));
    }
    if v.chars().count() > MAX_SECRET_CHARS {
        return Err(AppError::validation(format!(
            "{field} is longer than {MAX_SECRET_CHARS} characters"
        )));
    }
    Ok(v.to_owned())
}

/// Upper-case `[A-Z_]{1,64}`, at most 20, duplicates dropped (first one kept).
fn tags(list: Vec<String>) -> AppResult<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for t in list {
        let t = t.trim();
        let ok = !t.is_empty()
            && t.len() <= MAX_TAG_CHARS
            && t.bytes().all(|b| b.is_ascii_uppercase() || b == b'_');
        if !ok {
            return Err(AppError::validation(format!(
                "allowed_tags: {t:?} is not a message tag (A-Z and _, 1 to {MAX_TAG_CHARS})"
            )));
        }
        if !out.iter().any(|o| o == t) {
            out.push(t.to_owned());
        }
    }
    if out.len() > MAX_TAGS {
        return Err(AppError::validation(format!(
            "allowed_tags: at most {MAX_TAGS} tags"
        )));
    }
    Ok(out)
}

/// What the Graph API said about a Page's token when it was connected or changed.
#[derive(Debug, Clone, PartialEq)]
pub enum TokenCheck {
    /// The token is the Page's; its name on Facebook.
    Valid { page_name: String },
    /// Saved without a check (the Graph API did not answer): why, for the health line. The
    /// first send tells (a 190 then marks the channel "needs reconnect").
    Unchecked(String),
    /// The Page is restricted from sending (10/1893063): saved, shown as restricted.
    Restricted(String),
}

/// How long connecting waits for the Graph API before saving unchecked.
const CHECK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(8);

/// `GET /{page_id}?fields=id,name` with the token. A token the Graph API refuses (190) or a
/// Page it does not know is refused here, before anything is saved.
pub async fn check_token(graph: &Graph, page_id: &str, token: &str) -> AppResult<TokenCheck> {
    let auth = PageAuth { page_id, token };
    let answer =
        match tokio::time::timeout(CHECK_TIMEOUT, graph.page(auth)).await {
            Ok(a) => a,
            Err(_) => return Ok(TokenCheck::Unchecked(
                "the Page access token could not be checked: the Graph API did not answer in time"
                    .into(),
            )),
        };
    match answer {
        Ok(info) if info.id != page_id => Err(AppError::validation(format!(
            "the Page access token belongs to Page {}, not {page_id}",
            info.id
        ))),
        Ok(info) => Ok(TokenCheck::Valid {
            page_name: info.name,
        }),
        Err(e) => match e.class() {
            ErrorClass::TokenInvalid => Err(AppError::new(
                ErrorCode::PageTokenInvalid,
                format!("the Page access token is invalid or expired ({e})"),
            )),
            ErrorClass::PageRestricted => Ok(TokenCheck::Restricted(e.to_string())),
            ErrorClass::Retry { .. } => Ok(TokenCheck::Unchecked(format!(
                "the Page access token could not be checked ({e})"
            ))),
            _ => Err(AppError::validation(format!(
                "the Graph API refused the Page: {e}"
            ))),
        },
    }
}

fn health_of(check: &TokenCheck) -> (ChannelHealth, Option<String>) {
    match check {
        TokenCheck::Valid { .. } => (ChannelHealth::Connected, None),
        TokenCheck::Unchecked(why) => (ChannelHealth::Connected, Some(why.clone())),
        TokenCheck::Restricted(why) => (ChannelHealth::Restricted, Some(why.clone())),
    }
}

fn already_connected(page_id: &str) -> AppError {
    AppError::new(
        ErrorCode::PageAlreadyConnected,
        format!("Page {page_id} is already connected to a channel on this server"),
    )
}

/// A unique violation on a channel write is the Page id's (`channels_external_id`).
fn page_conflict(page_id: &str) -> impl FnOnce(diesel::result::Error) -> AppError + '_ {
    move |e| {
        let e = AppError::from(e);
        if e.code == ErrorCode::Conflict {
            already_connected(page_id)
        } else {
            e
        }
    }
}

/// Connects a Page to a project: validates, checks the token with the Graph API, seals the
/// secrets and stores the channel. One Page is connected once per server.
pub async fn connect(
    conn: &mut AsyncPgConnection,
    secrets: &SecretBox,
    graph: &Graph,
    project_id: i64,
    body: ConnectMessenger,
) -> AppResult<Channel> {
    let change = validate(body.into())?;
    let (Some(page_id), Some(token)) = (&change.page_id, &change.page_token) else {
        return Err(AppError::validation(
            "page_id and page_access_token are required",
        ));
    };
    if db::channels::by_external_id(conn, ChannelKind::Messenger, page_id)
        .await?
        .is_some()
    {
        return Err(already_connected(page_id));
    }
    let check = check_token(graph, page_id, token).await?;
    let mut config = change.apply(&MessengerConfig::default(), secrets);
    if config.page_name.is_empty() {
        config.page_name = match &check {
            TokenCheck::Valid { page_name } if !page_name.is_empty() => page_name.clone(),
            _ => format!("Page {page_id}"),
        };
    }
    let (health, detail) = health_of(&check);
    let ch = db::channels::insert_messenger(
        conn,
        project_id,
        &config.page_name,
        page_id,
        &config.to_json(),
        detail.as_deref(),
    )
    .await
    .map_err(page_conflict(page_id))?;
    if health == ChannelHealth::Connected {
        return Ok(ch);
    }
    db::channels::set_health(conn, ch.id, health, detail.as_deref())
        .await?
        .ok_or_else(|| AppError::not_found("channel"))
}

/// Changes a Messenger channel: the fields given, secrets only when given. A new token or Page
/// id is checked with the Graph API first (and a good check clears "needs reconnect").
pub async fn update(
    conn: &mut AsyncPgConnection,
    secrets: &SecretBox,
    graph: &Graph,
    project_id: i64,
    channel_id: i64,
    body: PatchMessenger,
) -> AppResult<Channel> {
    let change = validate(body)?;
    let current = db::channels::find(conn, channel_id)
        .await
        .or_not_found("channel")?;
    if current.project_id != project_id {
        return Err(AppError::not_found("channel"));
    }
    if current.kind != ChannelKind::Messenger {
        return Err(AppError::validation(
            "the channel is not a Messenger channel",
        ));
    }
    let page_id = change
        .page_id
        .clone()
        .or_else(|| current.external_id.clone())
        .unwrap_or_default();
    if let Some(other) =
        db::channels::by_external_id(conn, ChannelKind::Messenger, &page_id).await?
    {
        if other.id != channel_id {
            return Err(already_connected(&page_id));
        }
    }
    // The Graph call is made before the row is locked: it may take seconds.
    let check = match change.touches_token() {
        true => {
            let token = match &change.page_token {
                Some(t) => t.clone(),
                None => MessengerConfig::from_json(&current.config)
                    .page_token(secrets)
                    .map_err(AppError::validation)?,
            };
            Some(check_token(graph, &page_id, &token).await?)
        }
        false => None,
    };
    let ch = conn
        .transaction(async |conn| {
            let row = db::channels::lock(conn, channel_id).await?;
            let config = change.apply(&MessengerConfig::from_json(&row.config), secrets);
            let name = change.page_name.as_deref().unwrap_or(&row.name).to_owned();
            db::channels::update_config(conn, channel_id, &name, Some(&page_id), &config.to_json())
                .await
                .map_err(page_conflict(&page_id))
        })
        .await?;
    match check {
        Some(check) => {
            let (health, detail) = health_of(&check);
            db::channels::set_health(conn, ch.id, health, detail.as_deref())
                .await?
                .ok_or_else(|| AppError::not_found("channel"))
        }
        None => Ok(ch),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connect() -> ConnectMessenger {
        ConnectMessenger {
            page_id: " 1234567890 ".into(),
            page_name: None,
            page_access_token: "EAAB-token\n".into(),
            app_id: "1517776481860111".into(),
            app_secret: "s3cret".into(),
            verify_token: "verify-me".into(),
            human_agent: true,
            allowed_tags: vec!["HUMAN_AGENT".into(), "HUMAN_AGENT".into(), "X_Y".into()],
        }
    }

    #[test]
    fn a_valid_connection_is_normalised() {
        let c = validate(connect().into()).unwrap();
        assert_eq!(c.page_id.as_deref(), Some("1234567890"));
        assert_eq!(c.page_token.as_deref(), Some("EAAB-token"));
        assert_eq!(c.allowed_tags.unwrap(), ["HUMAN_AGENT", "X_Y"]);
    }

    #[test]
    fn bad_fields_are_refused_by_name() {
        type Change = Box<dyn Fn(&mut ConnectMessenger)>;
        let cases: Vec<(Change, &str)> = vec![
            (Box::new(|c| c.page_id = "12a".into()), "page_id"),
            (Box::new(|c| c.page_id = "".into()), "page_id"),
            (Box::new(|c| c.app_id = "app".into()), "app_id"),
            (
                Box::new(|c| c.page_access_token = "  ".into()),
                "page_access_token",
            ),
            (Box::new(|c| c.app_secret = "".into()), "app_secret"),
            (Box::new(|c| c.verify_token = "".into()), "verify_token"),
            (
                Box::new(|c| c.allowed_tags = vec!["human_agent".into()]),
                "allowed_tags",
            ),
            (
                Box::new(|c| c.allowed_tags = vec!["A-B".into()]),
                "allowed_tags",
            ),
            (
                Box::new(|c| c.allowed_tags = vec!["A".repeat(65)]),
                "allowed_tags",
            ),
            (
                Box::new(|c| c.allowed_tags = (0..21).map(|i| "T".repeat(i + 1)).collect()),
                "at most 20",
            ),
        ];
        for (change, field) in cases {
            let mut c = connect();
            change(&mut c);
            let e = validate(c.into()).unwrap_err();
            assert_eq!(e.code, ErrorCode::Validation);
            assert!(e.message.contains(field), "{field}: {}", e.message);
        }
    }

    #[test]
    fn twenty_distinct_tags_are_allowed_and_duplicates_do_not_count() {
        let mut tags: Vec<String> = (0..20).map(|i| "T".repeat(i + 1)).collect();
        tags.push("T".into());
        let p = PatchMessenger {
            allowed_tags: Some(tags),
            ..Default::default()
        };
        assert_eq!(validate(p).unwrap().allowed_tags.unwrap().len(), 20);
    }

    #[test]
    fn secrets_are_sealed_under_their_labels_and_omitted_ones_stay() {
        let secrets = SecretBox::from_key(&[3; 32]);
        let c = validate(connect().into())
            .unwrap()
            .apply(&MessengerConfig::default(), &secrets);
        let json = c.to_json().to_string();
        for plain in ["EAAB-token", "s3cret", "verify-me"] {
            assert!(!json.contains(plain), "{plain} stored in clear: {json}");
        }
        assert_eq!(c.page_token(&secrets).unwrap(), "EAAB-token");
        assert_eq!(c.app_secret(&secrets).unwrap(), "s3cret");
        assert_eq!(c.verify_token(&secrets).unwrap(), "verify-me");
        assert!(c.has_page_token() && c.has_app_secret() && c.has_verify_token());

        let renamed = validate(PatchMessenger {
            page_name: Some("Shop".into()),
            ..Default::default()
        })
        .unwrap()
        .apply(&c, &secrets);
        assert_eq!(renamed.page_name, "Shop");
        assert_eq!(renamed.app_secret, c.app_secret);
        let back = MessengerConfig::from_json(&renamed.to_json());
        assert_eq!(back, renamed);
    }

    #[test]
    fn an_unset_or_empty_secret_does_not_open() {
        let secrets = SecretBox::from_key(&[3; 32]);
        let mut c = MessengerConfig::default();
        assert!(c.app_secret(&secrets).is_err());
        c.app_secret = Some(String::new());
        assert!(c.app_secret(&secrets).is_err() && !c.has_app_secret());
        c.app_secret = Some(secrets.seal(LABEL_APP_SECRET, ""));
        assert!(c.app_secret(&secrets).is_err());
        // A sealed value moved to another field does not open there.
        c.verify_token = Some(secrets.seal(LABEL_APP_SECRET, "x"));
        assert!(c.verify_token(&secrets).is_err());
    }

    #[test]
    fn a_malformed_config_reads_as_defaults() {
        let c = MessengerConfig::from_json(&serde_json::json!({"human_agent": "yes"}));
        assert_eq!(c, MessengerConfig::default());
    }
}
