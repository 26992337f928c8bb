//! Sends the e-mail outbox. Every tick it claims due `pending` rows with a lease
//! (`FOR UPDATE SKIP LOCKED`, so several servers can share one database), sends them over SMTP
//! and records the outcome: `sent`; a temporary failure stays `pending` until the retry
//! policy's next time (or `failed` when attempts are used up); a permanent failure is `failed`
//! at once. A server that dies mid-send loses its claim when the lease lapses and the row is
//! sent again, with the same Message-ID. Started once in `app::start`, only when SMTP is set.

use crate::db::{self, outbox::OutboxRow, Pool};
use crate::email::{Mailer, OutgoingMail, RetryPolicy, SendError};
use actix::prelude::*;
use chrono::Utc;
use futures_util::StreamExt;
use std::time::Duration;

const TICK: Duration = Duration::from_millis(250);
const BATCH: i64 = 16;
/// Mails of one batch sent at the same time (the transport pools up to 4 connections).
const CONCURRENCY: usize = 4;
/// Longer than one send can take (the SMTP timeout is 30 s per command).
const LEASE_SECS: f64 = 180.0;

pub struct MailerActor {
    pool: Pool,
    mailer: Mailer,
    policy: RetryPolicy,
    busy: bool,
}

impl MailerActor {
    pub fn new(pool: Pool, mailer: Mailer, policy: RetryPolicy) -> Self {
        MailerActor {
            pool,
            mailer,
            policy,
            busy: false,
        }
    }

    fn tick(&mut self, ctx: &mut Context<Self>) {
        if self.busy {
            return;
        }
        self.busy = true;
        let (pool, mailer, policy) = (self.pool.clone(), self.mailer.clone(), self.policy);
        let fut = async move {
            let mut conn = pool.get().await.map_err(|e| e.to_string())?;
            let due = db::outbox::claim_due(&mut conn, BATCH, LEASE_SECS)
                .await
                .map_err(|e| e.to_string())?;
            drop(conn);
            futures_util::stream::iter(due)
                .for_each_concurrent(CONCURRENCY, |row| {
                    let (pool, mailer) = (pool.clone(), mailer.clone());
                    async move {
                        let outcome = mailer.send(&outgoing(&row)).await;
                        if let Err(e) = record(&pool, &row, outcome, &policy).await {
                            // The claim lapses and the row is sent again (same Message-ID).
                            tracing::warn!(error = %e, outbox = row.id, "cannot record a send");
                        }
                    }
                })
                .await;
            Ok::<_, String>(())
        };
        ctx.spawn(fut.into_actor(self).map(|res, act, _| {
            act.busy = false;
            if let Err(e) = res {
                // One failed tick (database down) must not stop the mailer.
                tracing::warn!(error = %e, "mailer tick failed");
            }
        }));
    }
}

fn outgoing(row: &OutboxRow) -> OutgoingMail<'_> {
    OutgoingMail {
        to_address: &row.to_address,
        to_name: &row.to_name,
        subject: &row.subject,
        text: &row.text_body,
        html: &row.html_body,
        message_id: &row.message_id,
    }
}

async fn record(
    pool: &Pool,
    row: &OutboxRow,
    outcome: Result<(), SendError>,
    policy: &RetryPolicy,
) -> Result<(), String> {
    let mut conn = pool.get().await.map_err(|e| e.to_string())?;
    let res = match outcome {
        Ok(()) => {
            tracing::info!(outbox = row.id, kind = %row.kind, "e-mail sent");
            db::outbox::mark_sent(&mut conn, row.id).await
        }
        Err(e) => {
            let error = e.to_string();
            let retry_in = (!e.is_permanent())
                .then(|| policy.next_delay(row.attempts))
                .flatten();
            match retry_in {
                Some(delay) => {
                    tracing::warn!(outbox = row.id, attempts = row.attempts, error = %error,
                        retry_in_secs = delay.as_secs(), "e-mail not sent; will retry");
                    let next = Utc::now()
                        + chrono::Duration::from_std(delay)
                            .unwrap_or_else(|_| chrono::Duration::hours(1));
                    db::outbox::mark_retry(&mut conn, row.id, &error, next).await
                }
                None => {
                    let error = if e.is_permanent() {
                        error
                    } else {
                        format!("gave up after {} attempts: {error}", row.attempts)
                    };
                    tracing::warn!(outbox = row.id, attempts = row.attempts, error = %error,
                        "e-mail failed");
                    db::outbox::mark_failed(&mut conn, row.id, &error).await
                }
            }
        }
    };
    res.map(|_| ()).map_err(|e| e.to_string())
}

impl Actor for MailerActor {
    type Context = Context<Self>;
    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.run_interval(TICK, |act, ctx| act.tick(ctx));
    }
}
