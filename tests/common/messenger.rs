//! Setting up a Messenger Page, a person and their session straight in the database (sealed
//! secrets like the server writes them), for tests that start from "a person wrote to the Page
//! some time ago". Works for an in-process `TestApp` (its secrets: `test_secrets()`) and for
//! the real binary (a `SecretBox` from the key given to it).

use chrono::{DateTime, Utc};
use diesel::{ExpressionMethods, QueryDsl};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::{json, Value};
use switchboard::config::Config;
use switchboard::db::schema::{channel_outbound, channels, contacts, messages};
use switchboard::secrets::SecretBox;

pub const PAGE_ID: &str = "1001";
pub const PAGE_TOKEN: &str = "page-token-1";
pub const APP_ID: i64 = 777000111;
pub const APP_SECRET: &str = "app-secret-1";
pub const VERIFY_TOKEN: &str = "verify-1";

/// A Page's settings as `channels.config` holds them (before sealing).
#[derive(Debug, Clone)]
pub struct PageSetup {
    pub page_id: String,
    pub page_name: String,
    pub token: String,
    pub app_id: i64,
    pub app_secret: String,
    pub verify_token: String,
    pub human_agent: bool,
    pub allowed_tags: Vec<String>,
}

impl Default for PageSetup {
    fn default() -> Self {
        PageSetup {
            page_id: PAGE_ID.into(),
            page_name: "Acme".into(),
            token: PAGE_TOKEN.into(),
            app_id: APP_ID,
            app_secret: APP_SECRET.into(),
            verify_token: VERIFY_TOKEN.into(),
            human_agent: false,
            allowed_tags: Vec::new(),
        }
    }
}

impl PageSetup {
    pub fn human_agent(mut self, on: bool) -> Self {
        self.human_agent = on;
        self
    }

    pub fn tags(mut self, tags: &[&str]) -> Self {
        self.allowed_tags = tags.iter().map(|t| t.to_string()).collect();
        self
    }

    pub fn config(&self, secrets: &SecretBox) -> Value {
        json!({
            "page_name": self.page_name,
            "app_id": self.app_id.to_string(),
            "human_agent": self.human_agent,
            "allowed_tags": self.allowed_tags,
            "page_token": secrets.seal("page_token", &self.token),
            "app_secret": secrets.seal("app_secret", &self.app_secret),
            "verify_token": secrets.seal("verify_token", &self.verify_token),
        })
    }
}

/// The key an in-process test server seals with (one per test process).
pub fn test_secrets() -> SecretBox {
    Config::for_database(String::new()).secrets
}

/// A Messenger channel of `project_id`; its id.
/// [`app_with_page`] and a person of that Page, `psid`, who last wrote at `last_inbound_at`
/// (their contact and open session). Returns the fake, the server, the channel's id and them.
pub async fn app_with_person(
    page: &PageSetup,
    psid: &str,
    last_inbound_at: Option<DateTime<Utc>>,
    configure: impl Fn(&mut Config) + Send + Sync + 'static,
) -> (super::graph::FakeGraph, super::TestApp, i64, Person) {
    let (fake, app, channel_id) = app_with_page(page, configure).await;
    let mut db = app.db().await;
    let person = insert_person(&mut db, app.project_id, channel_id, psid, last_inbound_at).await;
    (fake, app, channel_id, person)
}

/// A server talking to a fake Graph API that knows `page`, with `page` connected as a channel
/// of the test project; `configure` changes the rest of the server's configuration. Returns
/// the fake, the server and the channel's id.
pub async fn app_with_page(
    page: &PageSetup,
    configure: impl Fn(&mut Config) + Send + Sync + 'static,
) -> (super::graph::FakeGraph, super::TestApp, i64) {
    let fake = super::graph::FakeGraph::start().await;
    fake.add_page(&page.page_id, &page.token, &page.page_name)
        .await;
    let graph = fake.configure();
    let app = super::TestApp::start_with(move |c| {
        graph(c);
        configure(c);
    })
    .await;
    let mut db = app.db().await;
    let channel_id = insert_page(&mut db, &test_secrets(), app.project_id, page).await;
    (fake, app, channel_id)
}

pub async fn insert_page(
    conn: &mut AsyncPgConnection,
    secrets: &SecretBox,
    project_id: i64,
    page: &PageSetup,
) -> i64 {
    diesel::insert_into(channels::table)
        .values((
            channels::project_id.eq(project_id),
            channels::kind.eq("messenger"),
            channels::name.eq(&page.page_name),
            channels::external_id.eq(&page.page_id),
            channels::config.eq(page.config(secrets)),
        ))
        .returning(channels::id)
        .get_result(conn)
        .await
        .unwrap()
}

/// A person who wrote to the Page (`last_inbound_at`; `None`: never), and their open session.
#[derive(Debug, Clone)]
pub struct Person {
    pub psid: String,
    pub contact_id: i64,
    pub session_id: i64,
}

pub async fn insert_person(
    conn: &mut AsyncPgConnection,
    project_id: i64,
    channel_id: i64,
    psid: &str,
    last_inbound_at: Option<DateTime<Utc>>,
) -> Person {
    let contact_id: i64 = diesel::insert_into(contacts::table)
        .values((
            contacts::project_id.eq(project_id),
            contacts::channel_id.eq(channel_id),
            contacts::external_id.eq(psid),
            contacts::name.eq(format!("Person {psid}")),
            contacts::last_inbound_at.eq(last_inbound_at),
        ))
        .returning(contacts::id)
        .get_result(conn)
        .await
        .unwrap();
    let (session, _) =
        switchboard::db::sessions::open_or_get(conn, project_id, channel_id, contact_id)
            .await
            .unwrap();
    Person {
        psid: psid.into(),
        contact_id,
        session_id: session.id,
    }
}

pub async fn set_last_inbound(conn: &mut AsyncPgConnection, contact_id: i64, at: DateTime<Utc>) {
    diesel::update(contacts::table.find(contact_id))
        .set(contacts::last_inbound_at.eq(at))
        .execute(conn)
        .await
        .unwrap();
}

pub async fn unreachable_at(
    conn: &mut AsyncPgConnection,
    contact_id: i64,
) -> Option<DateTime<Utc>> {
    contacts::table
        .find(contact_id)
        .select(contacts::unreachable_at)
        .first(conn)
        .await
        .unwrap()
}

/// A message's outbound row as (state, messaging_type, tag, attempts, error_code, error_text).
pub type OutboundFacts = (
    String,
    String,
    Option<String>,
    i32,
    Option<i32>,
    Option<String>,
);

pub async fn outbound_of(conn: &mut AsyncPgConnection, message_id: i64) -> Option<OutboundFacts> {
    use diesel::OptionalExtension;
    channel_outbound::table
        .find(message_id)
        .select((
            channel_outbound::state,
            channel_outbound::messaging_type,
            channel_outbound::tag,
            channel_outbound::attempts,
            channel_outbound::error_code,
            channel_outbound::error_text,
        ))
        .first(conn)
        .await
        .optional()
        .unwrap()
}

pub async fn outbound_count(conn: &mut AsyncPgConnection) -> i64 {
    channel_outbound::table
        .count()
        .get_result(conn)
        .await
        .unwrap()
}

/// The message ids of a session, oldest first.
pub async fn message_ids(conn: &mut AsyncPgConnection, session_id: i64) -> Vec<i64> {
    messages::table
        .filter(messages::session_id.eq(session_id))
        .order(messages::seq.asc())
        .select(messages::id)
        .load(conn)
        .await
        .unwrap()
}
