//! Inbound Messenger processing: one `ChannelActor` per Page works through its channel's
//! stored webhook POSTs (`webhook_events`) in id order, after the webhook has answered 200.
//! Each person's events of a POST go in timestamp order: a person's message, postback or
//! quick reply finds or makes the contact (by PSID, with the profile name) and takes the
//! inbound path every channel takes (`actors::inbound`: sessions, live frames, alerts); our
//! own echoes confirm their outbound rows, other echoes are native replies (off-platform agent
//! messages); delivery and read watermarks tick the outbound rows.
//!
//! The webhook nudges the channel's actor; a sweep every few seconds finds rows a nudge
//! missed (a restart, a nudge lost). A row is marked processed when all its events are
//! through; processing it again (a crash before the mark, two servers) changes nothing more,
//! since every effect is idempotent: a mid is stored once per channel (unique index), the
//! contact is an upsert, a watermark or an echo sets what is already set.

use super::inbound;
use super::sessions::SessionSupervisor;
use crate::context::AppContext;
use crate::db;
use crate::db::channel_outbound::ChannelOutbound;
use crate::db::channels::Channel;
use crate::db::contacts::Contact;
use crate::db::enums::OutboundState;
use crate::db::webhook_events::WebhookEvent;
use crate::domain::conversation::NewPost;
use crate::domain::events::Event;
use crate::domain::messenger::config::MessengerConfig;
use crate::domain::messenger::inbound as rules;
use crate::domain::messenger::webhook::{self, Kind, Message, PageEvent};
use crate::domain::views::DeliveryView;
use crate::error::{AppError, AppResult, ErrorCode, NotFoundExt};
use crate::graph::PageAuth;
use actix::prelude::*;
use chrono::{DateTime, Utc};
use dashmap::DashMap;
use std::sync::Arc;
use std::time::Duration;

/// How often the sweep looks for unprocessed rows.
const SWEEP: Duration = Duration::from_secs(3);
const BATCH: i64 = 20;
/// A row that fails this often for a reason other than an outage is given up on (kept, with
/// its error), so that one bad POST does not hold up its Page for ever.
const MAX_ATTEMPTS: i32 = 5;
/// A new person's profile is waited for this long, then they get a placeholder name.
const PROFILE_TIMEOUT: Duration = Duration::from_secs(3);

/// This server's channel actors, by channel id, started on demand.
pub struct MessengerChannels {
    ctx: Arc<AppContext>,
    sessions: Arc<SessionSupervisor>,
    actors: DashMap<i64, Addr<ChannelActor>>,
    arbiter: ArbiterHandle,
}

#[derive(Message)]
#[rtype(result = "()")]
pub struct Nudge;

impl MessengerChannels {
    pub fn new(
        ctx: Arc<AppContext>,
        sessions: Arc<SessionSupervisor>,
        arbiter: ArbiterHandle,
    ) -> Self {
        MessengerChannels {
            ctx,
            sessions,
            actors: DashMap::new(),
            arbiter,
        }
    }

    /// New rows for a channel: its actor processes them (now, or after its current batch).
    pub fn nudge(self: &Arc<Self>, channel_id: i64) {
        self.channel(channel_id).do_send(Nudge);
    }

    fn channel(self: &Arc<Self>, id: i64) -> Addr<ChannelActor> {
        if let Some(a) = self.actors.get(&id) {
            if a.connected() {
                return a.clone();
            }
        }
        let mut entry = self.actors.entry(id).or_insert_with(|| self.start(id));
        if !entry.connected() {
            *entry = self.start(id);
        }
        entry.clone()
    }

    fn start(self: &Arc<Self>, id: i64) -> Addr<ChannelActor> {
        let (ctx, sessions) = (Arc::clone(&self.ctx), Arc::clone(&self.sessions));
        ChannelActor::start_in_arbiter(&self.arbiter, move |_| ChannelActor {
            channel_id: id,
            ctx,
            sessions,
            busy: false,
            again: false,
        })
    }

    /// Starts the sweep (once, in `app::start`): its first run picks up what a previous run
    /// of the server left unprocessed.
    pub fn start_sweep(self: &Arc<Self>) {
        let sup = Arc::clone(self);
        self.arbiter.spawn(async move {
            let mut every = tokio::time::interval(SWEEP);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                let pending = async {
                    let mut conn = sup.ctx.pool.get().await?;
                    Ok::<_, AppError>(db::webhook_events::channels_with_pending(&mut conn).await?)
                };
                match pending.await {
                    Ok(ids) => ids.into_iter().for_each(|id| sup.nudge(id)),
                    Err(e) => tracing::warn!(error = %e, "messenger sweep failed"),
                }
            }
        });
    }
}

/// One Page's inbound processing: one batch at a time, in row order.
pub struct ChannelActor {
    channel_id: i64,
    ctx: Arc<AppContext>,
    sessions: Arc<SessionSupervisor>,
    busy: bool,
    /// A nudge came while busy: look again when done.
    again: bool,
}

impl Actor for ChannelActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(256);
    }
}

impl Handler<Nudge> for ChannelActor {
    type Result = ();
    fn handle(&mut self, _: Nudge, ctx: &mut Self::Context) {
        self.kick(ctx);
    }
}

impl ChannelActor {
    fn kick(&mut self, ctx: &mut Context<Self>) {
        if self.busy {
            self.again = true;
            return;
        }
        self.busy = true;
        self.again = false;
        let run = Run {
            ctx: Arc::clone(&self.ctx),
            sessions: Arc::clone(&self.sessions),
        };
        let channel_id = self.channel_id;
        ctx.spawn(
            async move { run.drain(channel_id).await }
                .into_actor(self)
                .map(move |res, act, ctx| {
                    act.busy = false;
                    if let Err(e) = res {
                        // Left unprocessed: the next nudge or sweep tries again, in order.
                        tracing::warn!(error = %e, channel_id, "messenger events not processed");
                    } else if act.again {
                        act.kick(ctx);
                    }
                }),
        );
    }
}

/// What processing needs, off the actor.
struct Run {
    ctx: Arc<AppContext>,
    sessions: Arc<SessionSupervisor>,
}

/// The channel as one row is processed (its settings read fresh for each row, so a changed
/// token or app id applies from the next POST on).
struct Page {
    channel: Channel,
    page_id: String,
    config: MessengerConfig,
}

impl Run {
    /// Processes the channel's unprocessed rows until none are left; stops at the first row
    /// that cannot be processed now, so that later rows never overtake it.
    async fn drain(&self, channel_id: i64) -> AppResult<()> {
        loop {
            let rows = {
                let mut conn = self.ctx.pool.get().await?;
                db::webhook_events::claim(&mut conn, channel_id, BATCH).await?
            };
            if rows.is_empty() {
                return Ok(());
            }
            for row in rows {
                let outcome = self.row(&row).await;
                let mut conn = self.ctx.pool.get().await?;
                match outcome {
                    Ok(()) => {
                        db::webhook_events::mark_processed(&mut conn, row.id, None).await?;
                    }
                    Err(e) if !e.is_transient() && row.attempts >= MAX_ATTEMPTS => {
                        tracing::error!(error = %e, event = row.id, channel_id,
                            "giving up on a messenger webhook event");
                        let text = e.to_string();
                        db::webhook_events::mark_processed(&mut conn, row.id, Some(&text)).await?;
                    }
                    Err(e) => {
                        db::webhook_events::mark_failed(&mut conn, row.id, &e.to_string()).await?;
                        return Err(e);
                    }
                }
            }
        }
    }

    async fn row(&self, row: &WebhookEvent) -> AppResult<()> {
        let channel = {
            let mut conn = self.ctx.pool.get().await?;
            match db::channels::find(&mut conn, row.channel_id).await {
                Err(diesel::result::Error::NotFound) => return Ok(()),
                other => other?,
            }
        };
        let page = Page {
            page_id: channel.external_id.clone().unwrap_or_default(),
            config: MessengerConfig::from_json(&channel.config),
            channel,
        };
        let events = webhook::page_events(&row.body, &page.page_id).map_err(|e| {
            AppError::validation(format!("webhook event {} is unreadable: {e}", row.id))
        })?;
        for ev in events {
            self.event(&page, ev).await?;
        }
        Ok(())
    }

    async fn event(&self, page: &Page, ev: PageEvent) -> AppResult<()> {
        let at = platform_time(ev.timestamp);
        match &ev.kind {
            Kind::Message(m) => {
                let contact = self.person(page, &ev.psid, Some(at)).await?;
                self.store(
                    page,
                    &contact,
                    rules::message_post(contact.id, m, ev.standby),
                )
                .await
            }
            Kind::Postback(p) => {
                let contact = self.person(page, &ev.psid, Some(at)).await?;
                let fallback = format!("postback:{}:{}", ev.psid, ev.timestamp);
                let post = rules::postback_post(contact.id, p, fallback, ev.standby);
                self.store(page, &contact, post).await
            }
            // The person opened the thread from a link or an ad: their window opens.
            Kind::Referral(_) => self.person(page, &ev.psid, Some(at)).await.map(|_| ()),
            Kind::Echo(m) => self.echo(page, &ev, m).await,
            Kind::Delivery(d) => {
                self.watermark(page, &ev.psid, platform_time(d.watermark), false)
                    .await
            }
            Kind::Read(r) => {
                self.watermark(page, &ev.psid, platform_time(r.watermark), true)
                    .await
            }
        }
    }

    /// The contact of a PSID, made on first sight with the person's profile name (or a
    /// placeholder when the profile cannot be read in time); `inbound_at` moves the person's
    /// last inbound time forward (the reply window).
    async fn person(
        &self,
        page: &Page,
        psid: &str,
        inbound_at: Option<DateTime<Utc>>,
    ) -> AppResult<Contact> {
        let ch = &page.channel;
        {
            let mut conn = self.ctx.pool.get().await?;
            if let Some(c) = db::contacts::by_external_id(&mut conn, ch.id, psid).await? {
                if let Some(at) = inbound_at {
                    db::contacts::touch_inbound(&mut conn, c.id, at).await?;
                }
                return Ok(c);
            }
        }
        let (name, avatar) = self.profile(page, psid).await;
        let mut conn = self.ctx.pool.get().await?;
        Ok(db::contacts::upsert_channel_person(
            &mut conn,
            ch.project_id,
            ch.id,
            psid,
            &name,
            avatar.as_deref(),
            inbound_at,
        )
        .await?)
    }

    async fn profile(&self, page: &Page, psid: &str) -> (String, Option<String>) {
        let fallback = || (rules::fallback_name(psid), None);
        let Ok(token) = page.config.page_token(&self.ctx.secrets) else {
            return fallback();
        };
        let auth = PageAuth {
            page_id: &page.page_id,
            token: &token,
        };
        match tokio::time::timeout(PROFILE_TIMEOUT, self.ctx.graph.profile(auth, psid)).await {
            Ok(Ok(p)) if !p.name().is_empty() => (p.name(), p.profile_pic),
            Ok(Ok(_)) => fallback(),
            Ok(Err(e)) => {
                tracing::info!(error = %e, psid, "no profile for a new Messenger person");
                fallback()
            }
            Err(_) => {
                tracing::info!(psid, "the profile of a new Messenger person took too long");
                fallback()
            }
        }
    }

    /// Stores a message once per channel: a mid seen before (redelivered, or imported by
    /// contact sync) is left alone.
    async fn store(&self, page: &Page, contact: &Contact, post: NewPost) -> AppResult<()> {
        if let Some(mid) = &post.external_id {
            let mut conn = self.ctx.pool.get().await?;
            if db::messages::by_channel_external_id(&mut conn, page.channel.id, mid)
                .await?
                .is_some()
            {
                return Ok(());
            }
        }
        match inbound::receive(&self.ctx, &self.sessions, contact, post, None).await {
            Ok(_) => Ok(()),
            // Stored meanwhile by someone else: the unique (channel_id, external_id) index.
            Err(e) if e.code == ErrorCode::Conflict => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// A message the Page sent. Ours (our app id and our metadata) confirms its outbound row;
    /// one whose mid we sent already is nothing new; any other is a reply written outside
    /// Switchboard: stored as an off-platform agent message, in the contact's open session
    /// (opened when there is none, so the reply is seen with the conversation). That message
    /// is the record automation's "visitor timed out" trigger reads: `off_platform` = true,
    /// sender `agent`, its time the start of the person's silence.
    async fn echo(&self, page: &Page, ev: &PageEvent, m: &Message) -> AppResult<()> {
        let ch = &page.channel;
        let our_app = !page.config.app_id.is_empty()
            && m.app_id.as_deref() == Some(page.config.app_id.as_str());
        if let (true, Some(message_id)) = (our_app, rules::our_message_id(m.metadata.as_deref())) {
            let mut conn = self.ctx.pool.get().await?;
            if let Some(row) = db::channel_outbound::find(&mut conn, message_id).await? {
                if row.channel_id == ch.id {
                    let known = row.state == OutboundState::Sent
                        && row.mid.as_deref() == Some(m.mid.as_str());
                    if !known {
                        if let Some(row) = db::channel_outbound::confirm_by_echo(
                            &mut conn, ch.id, message_id, &m.mid,
                        )
                        .await?
                        {
                            self.statuses(&mut conn, &[row]).await?;
                        }
                    }
                    return Ok(());
                }
            }
        }
        {
            let mut conn = self.ctx.pool.get().await?;
            if db::channel_outbound::by_mid(&mut conn, ch.id, &m.mid)
                .await?
                .is_some()
            {
                return Ok(());
            }
        }
        let contact = self.person(page, &ev.psid, None).await?;
        self.store(page, &contact, rules::native_reply_post(m, ev.standby))
            .await
    }

    /// Every message sent to the person up to `at` is delivered (or read).
    async fn watermark(
        &self,
        page: &Page,
        psid: &str,
        at: DateTime<Utc>,
        read: bool,
    ) -> AppResult<()> {
        let mut conn = self.ctx.pool.get().await?;
        let ch = page.channel.id;
        let rows = match read {
            true => db::channel_outbound::mark_read_until(&mut conn, ch, psid, at).await?,
            false => db::channel_outbound::mark_delivered_until(&mut conn, ch, psid, at).await?,
        };
        self.statuses(&mut conn, &rows).await
    }

    /// `message_status` to those who see each row's session.
    async fn statuses(
        &self,
        conn: &mut diesel_async::AsyncPgConnection,
        rows: &[ChannelOutbound],
    ) -> AppResult<()> {
        let mut events = Vec::with_capacity(rows.len());
        let mut sessions: Vec<db::sessions::SessionRow> = Vec::new();
        for row in rows {
            let session = match sessions.iter().find(|s| s.id == row.session_id) {
                Some(s) => s.clone(),
                None => {
                    let s = db::sessions::find(conn, row.session_id)
                        .await
                        .or_not_found("session")?;
                    sessions.push(s.clone());
                    s
                }
            };
            events.push(Event::MessageStatus {
                session,
                message_id: row.message_id,
                delivery: DeliveryView::from(row),
            });
        }
        self.ctx.events.dispatch(&events);
        Ok(())
    }
}

/// Meta's milliseconds; an event without a usable time counts as now.
fn platform_time(ms: i64) -> DateTime<Utc> {
    match ms > 0 {
        true => DateTime::from_timestamp_millis(ms).unwrap_or_else(Utc::now),
        false => Utc::now(),
    }
}
