//! Posting the messages of many sessions in one transaction with a fixed number of round trips
//! (the committer's batch), instead of `conversation::post_in`'s six or more per message.
//!
//! The batch's statements are pipelined on its one connection (diesel-async sends queries
//! that are polled together without waiting for each answer; PostgreSQL still runs them in
//! order): one round trip locks every session and reads what the rules need (project
//! settings, whether automation concerns the session, the original of a repeated client id),
//! one writes every message (one INSERT), every session's counters (one UPDATE) and the
//! timers of those whose waits began or ended. The rules are `conversation`'s own (`message_changes`, `new_message`,
//! `timers_after_message`); a post that needs more than a plain message (automation, a
//! channel send, robot hosting's hand-off, a channel's own message id) is left to
//! `conversation::post_in`, run by the caller in the same transaction.
//!
//! A post refused here (bad text, unknown or ended session, not the author's) is refused
//! before anything of the batch is written, so it costs the others nothing.

use crate::db::{self, flows::AutomationProbe, sessions::SessionRow};
use crate::domain::conversation::{self, Applied, Author, NewPost};
use crate::domain::settings::ProjectSettings;
use crate::error::{AppError, AppResult, ErrorCode};
use chrono::{SubsecRound, Utc};
use diesel_async::AsyncPgConnection;
use futures_util::future::try_join_all;
use std::collections::{HashMap, HashSet};

/// What became of one post of the batch.
#[derive(Debug)]
pub enum Outcome {
    /// Stored (or found stored before, `duplicate`), in the caller's transaction.
    Done(Box<Applied>),
    /// Refused with nothing written.
    Refused(AppError),
    /// Needs `conversation::post_in` (run it after the others, in the same transaction).
    Full,
}

/// Applies the posts (`(session id, post)`, at most one per session) inside the caller's
/// transaction. An error is the database's: the transaction is to be rolled back.
pub async fn run(
    conn: &mut AsyncPgConnection,
    posts: &[(i64, &NewPost)],
) -> AppResult<Vec<Outcome>> {
    let conn: &AsyncPgConnection = conn;
    let mut out: Vec<Option<Outcome>> = posts
        .iter()
        .map(|(_, p)| valid(p).err().map(Outcome::Refused))
        .collect();
    let ids: Vec<i64> = posts.iter().map(|(id, _)| *id).collect();

    // Round trip 1: the locks first (the reads after them see the locked rows' state), then
    // the projects' settings with the automation probes, and the originals.
    let originals = posts
        .iter()
        .zip(&out)
        .map(|((id, post), refused)| async move {
            match refused {
                Some(_) => Ok(None),
                None => conversation::original_of(conn, post, Some(*id)).await,
            }
        });
    let (rows, probes, originals) = futures_util::try_join!(
        async { Ok::<_, AppError>(db::sessions::lock_many(conn, &ids).await?) },
        async { Ok(db::flows::automation_probes(conn, &ids).await?) },
        try_join_all(originals),
    )?;
    let rows: HashMap<i64, SessionRow> = rows.into_iter().map(|r| (r.id, r)).collect();
    let mut settings: HashMap<i64, ProjectSettings> = HashMap::new();
    let mut by_session: HashMap<i64, AutomationProbe> = HashMap::with_capacity(probes.len());
    for p in probes {
        settings
            .entry(p.project_id)
            .or_insert_with(|| ProjectSettings::from_value(p.settings));
        by_session.insert(p.session_id, p.probe);
    }
    let probes = by_session;

    // Decide each post on what was read; plan the plain ones.
    // At PostgreSQL's precision: the timers' payloads carry instants computed here, which must
    // equal the stored columns they are compared with when they fire.
    let now = Utc::now().trunc_subsecs(6);
    let empty = serde_json::json!({});
    let mut keys_seen = HashSet::new();
    let mut planned = Vec::new();
    for (i, ((id, post), original)) in posts.iter().zip(originals).enumerate() {
        if out[i].is_some() {
            continue;
        }
        let decided = match (rows.get(id), settings_for(&rows, &settings, *id)) {
            (None, _) | (_, None) => Outcome::Refused(AppError::not_found("session")),
            (Some(before), Some(project)) => {
                match decide(before, post, original, probes.get(id), project) {
                    Decision::Now(o) => o,
                    Decision::Plain
                        if dedup_key(before, post).is_some_and(|k| !keys_seen.insert(k)) =>
                    {
                        // The same client id twice for one contact: the second must see the
                        // first stored, which `post_in` after this batch's writes does.
                        Outcome::Full
                    }
                    Decision::Plain => {
                        planned.push((i, before, *post, project));
                        continue;
                    }
                }
            }
        };
        out[i] = Some(decided);
    }

    // Round trip 2: every message in one INSERT, every session's counters in one UPDATE, and
    // the timers of the sessions whose waits began or ended (decided on the rows the UPDATE
    // writes, which are known before it runs: the sessions are locked).
    if planned.is_empty() {
        return Ok(finish(out));
    }
    let mut messages = Vec::with_capacity(planned.len());
    let mut afters = Vec::with_capacity(planned.len());
    for (_, before, post, _) in &planned {
        let seq = before.last_seq + 1;
        let change = conversation::message_changes(before, &post.author, seq, now);
        messages.push(conversation::new_message(before, post, seq, now, &empty));
        afters.push(change.applied_to(before));
    }
    let timers = planned
        .iter()
        .zip(&afters)
        .map(|((_, before, _, project), after)| {
            conversation::timers_after_message(conn, before, after, now, project)
        });
    let update = async {
        // One session: a row's UPDATE by id costs PostgreSQL less than the `unnest` join
        // (measured at 400 msg/s, where most batches hold one post).
        Ok::<_, AppError>(match afters.as_slice() {
            [one] => vec![db::sessions::update_row(conn, one).await?],
            _ => db::sessions::update_many(conn, &afters).await?,
        })
    };
    let (stored, updated, _) = futures_util::try_join!(
        async { Ok::<_, AppError>(db::messages::insert_many(conn, &messages).await?) },
        update,
        try_join_all(timers),
    )?;
    let mut stored: HashMap<i64, _> = stored.into_iter().map(|m| (m.session_id, m)).collect();
    let mut updated: HashMap<i64, _> = updated.into_iter().map(|s| (s.id, s)).collect();
    for (i, before, _, _) in planned {
        let (Some(message), Some(after)) = (stored.remove(&before.id), updated.remove(&before.id))
        else {
            return Err(AppError::internal("a batch write did not return its row"));
        };
        out[i] = Some(Outcome::Done(Box::new(Applied {
            before: before.clone(),
            after,
            message: Some(message),
            extra: Vec::new(),
            duplicate: false,
            more: Vec::new(),
        })));
    }
    Ok(finish(out))
}

fn finish(out: Vec<Option<Outcome>>) -> Vec<Outcome> {
    out.into_iter()
        .map(|o| o.unwrap_or_else(|| Outcome::Refused(AppError::internal("a post left undecided"))))
        .collect()
}

enum Decision {
    Now(Outcome),
    Plain,
}

fn valid(post: &NewPost) -> AppResult<()> {
    conversation::validate_text(&post.text)?;
    if let Some(cid) = &post.client_id {
        conversation::validate_client_id(cid)?;
    }
    Ok(())
}

fn settings_for<'a>(
    rows: &HashMap<i64, SessionRow>,
    settings: &'a HashMap<i64, ProjectSettings>,
    id: i64,
) -> Option<&'a ProjectSettings> {
    settings.get(&rows.get(&id)?.project_id)
}

/// `conversation::post_in`'s checks, in its order, on the rows read for the batch.
fn decide(
    before: &SessionRow,
    post: &NewPost,
    original: Option<db::messages::MessageRow>,
    probe: Option<&AutomationProbe>,
    settings: &ProjectSettings,
) -> Decision {
    if let Err(e) = conversation::check_author(&post.author, before) {
        return Decision::Now(Outcome::Refused(e));
    }
    if let Some(original) = original {
        return Decision::Now(Outcome::Done(Box::new(Applied {
            after: before.clone(),
            before: before.clone(),
            message: Some(original),
            extra: Vec::new(),
            duplicate: true,
            more: Vec::new(),
        })));
    }
    if before.status.is_ended() {
        return Decision::Now(Outcome::Refused(AppError::new(
            ErrorCode::SessionEnded,
            "the session has ended",
        )));
    }
    // Automation reads and writes runs, a channel reply writes a send row, a hand-off writes a
    // system line: `post_in` does those. A probe that was not read means the same.
    let automation = probe.is_none_or(AutomationProbe::applies);
    let hands_off = before.bot_hosted && settings.hosting.agent_reply_hands_off;
    let plain = post.external_id.is_none()
        && post.content.is_none()
        && post.tag.is_none()
        && !automation
        && match &post.author {
            Author::Visitor { .. } => true,
            Author::Agent(_) => !hands_off && is_web(before),
            _ => false,
        };
    if plain {
        Decision::Plain
    } else {
        Decision::Now(Outcome::Full)
    }
}

/// Whether the session's channel sends nothing of ours (a web widget's).
fn is_web(s: &SessionRow) -> bool {
    db::channels::cached_kind(s.channel_id) == Some(db::enums::ChannelKind::Web)
}

/// What a repeated post is recognised by (`conversation::original_of`): a visitor's client id
/// across the contact's sessions, anyone else's in the session.
fn dedup_key(before: &SessionRow, post: &NewPost) -> Option<(bool, i64, String)> {
    let cid = post.client_id.clone()?;
    Some(match post.author {
        Author::Visitor { contact_id } => (true, contact_id, cid),
        _ => (false, before.id, cid),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::enums::{DataScope, SessionStatus};
    use crate::domain::access::Access;

    fn visitor() -> NewPost {
        NewPost::text(
            Author::Visitor { contact_id: 1 },
            Some("c1".into()),
            "hi".into(),
        )
    }

    fn agent() -> NewPost {
        let access = Access {
            user_id: 7,
            project_id: 1,
            role: "agent".into(),
            permissions: vec![],
            scope: DataScope::All,
        };
        NewPost::text(Author::Agent(access), Some("a1".into()), "hello".into())
    }

    const QUIET: AutomationProbe = AutomationProbe {
        running: false,
        preview: false,
        live: false,
    };

    fn decided(s: &SessionRow, post: &NewPost, probe: AutomationProbe) -> &'static str {
        let settings = ProjectSettings::from_value(serde_json::json!({}));
        match decide(s, post, None, Some(&probe), &settings) {
            Decision::Plain => "plain",
            Decision::Now(Outcome::Full) => "full",
            Decision::Now(Outcome::Refused(_)) => "refused",
            Decision::Now(Outcome::Done(_)) => "done",
        }
    }

    #[test]
    fn a_visitor_text_with_no_automation_is_written_with_the_batch() {
        let s = SessionRow::sample(SessionStatus::Unassigned, None);
        assert_eq!(decided(&s, &visitor(), QUIET), "plain");
    }

    #[test]
    fn a_live_flow_a_running_run_or_a_test_run_takes_the_full_rules() {
        let s = SessionRow::sample(SessionStatus::Unassigned, None);
        for probe in [
            AutomationProbe {
                live: true,
                ..QUIET
            },
            AutomationProbe {
                running: true,
                ..QUIET
            },
            AutomationProbe {
                preview: true,
                ..QUIET
            },
        ] {
            assert_eq!(decided(&s, &visitor(), probe), "full", "{probe:?}");
        }
    }

    #[test]
    fn an_agent_reply_on_a_web_channel_is_written_with_the_batch() {
        db::channels::remember_kind(1, db::enums::ChannelKind::Web);
        let s = SessionRow::sample(SessionStatus::Assigned, Some(7));
        assert_eq!(decided(&s, &agent(), QUIET), "plain");
    }

    #[test]
    fn an_agent_reply_to_a_hosted_session_takes_the_full_rules_for_its_hand_off() {
        db::channels::remember_kind(1, db::enums::ChannelKind::Web);
        let mut s = SessionRow::sample(SessionStatus::Assigned, Some(7));
        s.bot_hosted = true;
        assert_eq!(decided(&s, &agent(), QUIET), "full");
    }

    #[test]
    fn an_agent_reply_on_a_channel_not_known_to_be_web_takes_the_full_rules() {
        // The channel's kind is read (and cached) by the full rules' channel check.
        let mut s = SessionRow::sample(SessionStatus::Assigned, Some(7));
        s.channel_id = i64::MAX;
        assert_eq!(decided(&s, &agent(), QUIET), "full");
    }

    #[test]
    fn a_post_to_an_ended_session_or_anothers_is_refused_before_any_write() {
        let ended = SessionRow::sample(SessionStatus::Ended, None);
        assert_eq!(decided(&ended, &visitor(), QUIET), "refused");
        let mut other = SessionRow::sample(SessionStatus::Unassigned, None);
        other.contact_id = 2;
        assert_eq!(decided(&other, &visitor(), QUIET), "refused");
    }

    #[test]
    fn a_repeated_client_id_is_answered_with_its_original_and_writes_nothing() {
        let s = SessionRow::sample(SessionStatus::Unassigned, None);
        let original = db::messages::MessageRow {
            id: 9,
            session_id: 1,
            seq: 1,
            sender_kind: db::enums::SenderKind::Visitor,
            sender_user_id: None,
            client_id: Some("c1".into()),
            body: "hi".into(),
            off_platform: false,
            external_id: None,
            created_at: Utc::now(),
            channel_id: None,
            content: serde_json::json!({}),
            flow_run_id: None,
        };
        let settings = ProjectSettings::from_value(serde_json::json!({}));
        match decide(&s, &visitor(), Some(original), Some(&QUIET), &settings) {
            Decision::Now(Outcome::Done(a)) => {
                assert!(a.duplicate);
                assert_eq!(a.message.map(|m| m.id), Some(9));
            }
            _ => panic!("a duplicate is answered at once"),
        }
    }
}
