//! Which flow a visitor message or a silence triggers: the trigger itself, the conditions on
//! top of it, and what the bot knows of a session (its state, new or returning visitor).
//!
//! Session states: `hosted` is a session the bot hosts (`bot_hosted`), whatever its status;
//! a session not hosted is `unassigned` or `assigned` by its status. So each open session is
//! in exactly one state.

use crate::db::sessions::SessionRow;
use crate::db::{self, contacts::Contact, enums::ChannelKind, enums::SessionStatus};
use crate::domain::automation::document::{
    Conditions, ContactField, KeywordMatch, Rule, SessionState, Trigger, VisitorKind,
};
use crate::error::AppResult;
use diesel_async::AsyncPgConnection;

/// What triggers and conditions test about a session and its visitor.
#[derive(Debug, Clone)]
pub struct Facts {
    pub session: SessionRow,
    pub contact: Contact,
    /// The contact had a session before this one.
    pub returning: bool,
    pub channel_kind: ChannelKind,
}

impl Facts {
    pub async fn load(conn: &mut AsyncPgConnection, session: &SessionRow) -> AppResult<Facts> {
        let contact = db::contacts::find(conn, session.project_id, session.contact_id).await?;
        let returning = db::contacts::sessions_of(conn, session.contact_id)
            .await?
            .iter()
            .any(|(id, _, _)| *id < session.id);
        let channel_kind = db::channels::kind_of(conn, session.channel_id).await?;
        Ok(Facts {
            session: session.clone(),
            contact,
            returning,
            channel_kind,
        })
    }
}

pub fn state_of(s: &SessionRow) -> SessionState {
    if s.bot_hosted {
        SessionState::Hosted
    } else if s.status == SessionStatus::Assigned {
        SessionState::Assigned
    } else {
        SessionState::Unassigned
    }
}

/// Empty = any state.
pub fn state_allowed(states: &[SessionState], s: &SessionRow) -> bool {
    states.is_empty() || states.contains(&state_of(s))
}

pub fn visitors_match(kind: VisitorKind, returning: bool) -> bool {
    match kind {
        VisitorKind::New => !returning,
        VisitorKind::Returning => returning,
        VisitorKind::Both => true,
    }
}

pub fn conditions_hold(c: &Conditions, f: &Facts) -> bool {
    (c.channels.is_empty() || c.channels.contains(&f.session.channel_id))
        && state_allowed(&c.session_states, &f.session)
        && c.contact_label
            .as_ref()
            .is_none_or(|l| has_label(&f.contact, l))
        && c.note_name_present
            .is_none_or(|want| f.contact.note_name.is_some() == want)
}

fn has_label(c: &Contact, label: &str) -> bool {
    c.labels
        .iter()
        .any(|l| l.eq_ignore_ascii_case(label.trim()))
}

pub fn field_present(c: &Contact, field: ContactField) -> bool {
    match field {
        ContactField::NoteName => c.note_name.is_some(),
        ContactField::Email => c.email.is_some(),
        ContactField::Phone => c.phone.is_some(),
    }
}

/// A condition step's rule.
pub fn rule_holds(rule: &Rule, f: &Facts) -> bool {
    match rule {
        Rule::HasLabel { label } => has_label(&f.contact, label),
        Rule::FieldPresent { field } => field_present(&f.contact, *field),
        Rule::ChannelKind { channel } => f.channel_kind == *channel,
        Rule::ReturningVisitor => f.returning,
        Rule::SessionState { state } => state_of(&f.session) == *state,
    }
}

/// Case-insensitive; `exact` compares the trimmed message with the trimmed keyword.
pub fn keyword_matches(keywords: &[String], matching: KeywordMatch, text: &str) -> bool {
    let text = text.trim().to_lowercase();
    keywords.iter().any(|k| {
        let k = k.trim().to_lowercase();
        !k.is_empty()
            && match matching {
                KeywordMatch::Exact => text == k,
                KeywordMatch::Contains => text.contains(&k),
            }
    })
}

/// Where a visitor message stands in its session, for the message triggers.
#[derive(Debug, Clone, Copy)]
pub struct MessagePlace {
    /// No visitor message before it in the session.
    pub first_visitor_message: bool,
    /// No message at all before it (the session opened with it).
    pub first_message: bool,
}

/// Whether a visitor message fires a message trigger (the silence trigger never does).
pub fn message_fires(trigger: &Trigger, place: MessagePlace, text: &str) -> bool {
    match trigger {
        Trigger::FirstMessage => place.first_visitor_message,
        Trigger::NewSession => place.first_message,
        Trigger::Keyword { keywords, matching } => keyword_matches(keywords, *matching, text),
        Trigger::VisitorSilent { .. } => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kw(k: &[&str]) -> Vec<String> {
        k.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn keywords_match_case_insensitively_exact_or_contained() {
        let k = kw(&["Price"]);
        assert!(keyword_matches(&k, KeywordMatch::Exact, "  price "));
        assert!(!keyword_matches(&k, KeywordMatch::Exact, "the price?"));
        assert!(keyword_matches(
            &k,
            KeywordMatch::Contains,
            "What's the PRICE?"
        ));
        assert!(!keyword_matches(&k, KeywordMatch::Contains, "hello"));
        assert!(!keyword_matches(
            &kw(&[" "]),
            KeywordMatch::Contains,
            "hello"
        ));
    }

    #[test]
    fn a_session_is_in_exactly_one_state() {
        let mut s = SessionRow::sample(SessionStatus::Assigned, Some(1));
        assert_eq!(state_of(&s), SessionState::Assigned);
        s.bot_hosted = true;
        assert_eq!(state_of(&s), SessionState::Hosted);
        let u = SessionRow::sample(SessionStatus::Unassigned, None);
        assert_eq!(state_of(&u), SessionState::Unassigned);
        assert!(state_allowed(&[], &u));
        assert!(!state_allowed(&[SessionState::Hosted], &u));
    }

    #[test]
    fn new_and_returning_visitors() {
        assert!(visitors_match(VisitorKind::New, false));
        assert!(!visitors_match(VisitorKind::New, true));
        assert!(visitors_match(VisitorKind::Returning, true));
        assert!(!visitors_match(VisitorKind::Returning, false));
        assert!(visitors_match(VisitorKind::Both, true));
    }

    #[test]
    fn message_triggers_by_place() {
        let first = MessagePlace {
            first_visitor_message: true,
            first_message: false,
        };
        assert!(message_fires(&Trigger::FirstMessage, first, "hi"));
        assert!(!message_fires(&Trigger::NewSession, first, "hi"));
        let silent = Trigger::VisitorSilent {
            minutes: 1,
            visitors: VisitorKind::Both,
            session_states: vec![],
            off_platform: false,
        };
        assert!(!message_fires(&silent, first, "hi"));
    }
}
