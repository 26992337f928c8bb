//! What a committed change announces. Domain operations return these events; they never
//! deliver them. After the commit, `crate::events::Dispatcher` hands them to its listeners:
//! local fan-out to connections, the statistics supervisor, the session actors' caches, the
//! channel sender and, with several servers, the publisher that hands them to the others.
//!
//! Generation is separate from delivery: `Event::deliveries` decides which frames an event
//! sends and who may see each one (`Audience`), here in the domain; a fan-out only matches
//! audiences to its connections.

use crate::db::contacts::Contact;
use crate::db::enums::{SenderKind, SessionStatus};
use crate::db::messages::MessageRow;
use crate::db::session_tags::SessionTag;
use crate::db::sessions::SessionRow;
use crate::domain::access::Access;
use crate::domain::access::Permission;
use crate::domain::views::{DeliveryView, JobView, MessageView, SessionView};
use crate::protocol;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The contact's names as session frames show them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Names {
    pub contact_name: String,
    pub note_name: Option<String>,
}

/// Serialisable whole: with several servers each event crosses to the others as JSON
/// (`crate::bus`), and every server derives its own frames from it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    /// A session was opened (a visitor's first message, or the first after one ended).
    SessionOpened { session: SessionRow, names: Names },
    /// A message was committed; `after` is the session with it counted.
    MessagePosted {
        before: SessionRow,
        after: SessionRow,
        message: MessageRow,
    },
    /// What the session list shows changed: status, assignee, hosting, the first message or
    /// the first human reply.
    SessionChanged {
        before: SessionRow,
        after: SessionRow,
        names: Names,
    },
    /// Someone is typing (not stored).
    Typing {
        session: SessionRow,
        by: Typist,
        on: bool,
    },
    /// A contact's customer info was edited. `sessions` are its sessions' (status, assignee),
    /// which decide which own-scope agents see it; `session_ids` are those sessions.
    ContactChanged {
        contact: Contact,
        sessions: Vec<(SessionStatus, Option<i64>)>,
        session_ids: Vec<i64>,
    },
    /// A session's tags were replaced.
    SessionTagsChanged {
        session: SessionRow,
        tags: Vec<SessionTag>,
    },
    /// A pending web visitor's first message made their contact: every connection with that
    /// token (on every server) belongs to it from now on. Sends no frame itself; the session
    /// and message frames that follow reach those connections.
    ContactMade {
        /// The SHA-256 of the visitor token, as connections are held by it.
        token_hash: Vec<u8>,
        contact: Contact,
    },
    /// These members' role, data scope or membership changed: their connections must close
    /// (4003) before any other event reaches them.
    AccessRevoked { project_id: i64, user_ids: Vec<i64> },
    /// A message sent through a channel's platform was sent, failed, delivered or read.
    MessageStatus {
        session: SessionRow,
        message_id: i64,
        delivery: DeliveryView,
    },
    /// A background job (contact sync) moved on: a page imported, or it ended.
    JobProgress { project_id: i64, job: JobView },
    /// An automation run started, first participated or completed (never for a test run).
    /// It sends no frame itself: the statistics listener counts it and coalesces the changes
    /// of a flow into `FlowStatsChanged`.
    FlowRunChanged {
        project_id: i64,
        flow_id: i64,
        run_id: i64,
        contact_id: i64,
        triggered_at: DateTime<Utc>,
        /// The run's state after the change: it has participated, it has completed; `started`:
        /// this change is its start.
        participated: bool,
        completed: bool,
        started: bool,
    },
    /// A flow's figures changed (at most one per flow per second): the `flow_stats` frame to
    /// the agents who view automation data.
    FlowStatsChanged { project_id: i64, flow_id: i64 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Typist {
    Visitor,
    Agent { user_id: i64 },
}

/// Whether an agent sees a session: what `Access::can_see` needs of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Visibility {
    pub status: SessionStatus,
    pub assignee_id: Option<i64>,
}

impl From<&SessionRow> for Visibility {
    fn from(s: &SessionRow) -> Self {
        Visibility {
            status: s.status,
            assignee_id: s.assignee_id,
        }
    }
}

/// Who may receive a frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    /// The project's agents whose data scope includes the session now, or included it before
    /// this change (so they learn that it left their scope).
    SessionAgents {
        project_id: i64,
        session_id: i64,
        now: Visibility,
        before: Option<Visibility>,
    },
    /// Every connection of the session's visitor.
    Visitor { contact_id: i64, session_id: i64 },
    /// The project's agents who see the contact (`Access::sees_contact`).
    ContactAgents {
        project_id: i64,
        sessions: Vec<(SessionStatus, Option<i64>)>,
    },
    /// The project's agents whose role grants this permission (`Access::grants`).
    ProjectPermission {
        project_id: i64,
        permission: Permission,
    },
}

impl Audience {
    /// Whether an agent connection with `access` is in this audience; and whether it saw the
    /// session before the change but does not now (it then forgets the session's cursor).
    pub fn agent_sees(&self, access: &Access) -> (bool, bool) {
        match self {
            Audience::SessionAgents {
                project_id,
                now,
                before,
                ..
            } => {
                if access.project_id != *project_id {
                    return (false, false);
                }
                let sees_now = access.can_see(now.status, now.assignee_id);
                let saw = before
                    .as_ref()
                    .is_some_and(|b| access.can_see(b.status, b.assignee_id));
                (sees_now || saw, saw && !sees_now)
            }
            Audience::ContactAgents {
                project_id,
                sessions,
            } => (
                access.project_id == *project_id && access.sees_contact(sessions),
                false,
            ),
            Audience::ProjectPermission {
                project_id,
                permission,
            } => (
                access.project_id == *project_id && access.grants(*permission),
                false,
            ),
            Audience::Visitor { .. } => (false, false),
        }
    }
}

/// One frame and who receives it.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub audience: Audience,
    /// The session the frame is about (0 for a contact frame).
    pub session_id: i64,
    /// For `message` frames: drives resume cursors and de-duplication.
    pub seq: Option<i64>,
    /// The session ended: connections drop its resume cursor after this frame.
    pub session_ended: bool,
    pub frame: Arc<str>,
}

fn agents(session: &SessionRow, before: Option<&SessionRow>) -> Audience {
    Audience::SessionAgents {
        project_id: session.project_id,
        session_id: session.id,
        now: session.into(),
        before: before.map(Visibility::from),
    }
}

fn visitor(session: &SessionRow) -> Audience {
    Audience::Visitor {
        contact_id: session.contact_id,
        session_id: session.id,
    }
}

fn delivery(audience: Audience, s: &SessionRow, seq: Option<i64>, frame: Arc<str>) -> Delivery {
    Delivery {
        audience,
        session_id: s.id,
        seq,
        session_ended: s.status.is_ended(),
        frame,
    }
}

impl Event {
    /// The frames this event sends to connections, each with its audience, in the order they
    /// are to be delivered.
    pub fn deliveries(&self) -> Vec<Delivery> {
        match self {
            Event::SessionOpened { session, names } => {
                let view =
                    SessionView::new(session, &names.contact_name, names.note_name.as_deref());
                vec![
                    delivery(
                        agents(session, None),
                        session,
                        None,
                        protocol::session(&view),
                    ),
                    delivery(
                        visitor(session),
                        session,
                        None,
                        protocol::visitor_session(session),
                    ),
                ]
            }
            Event::MessagePosted {
                before,
                after,
                message,
            } => {
                let frame = protocol::message(&MessageView::from(message));
                let seq = Some(message.seq);
                vec![
                    delivery(visitor(after), after, seq, Arc::clone(&frame)),
                    delivery(agents(after, Some(before)), after, seq, frame),
                ]
            }
            Event::SessionChanged {
                before,
                after,
                names,
            } => {
                let view = SessionView::new(after, &names.contact_name, names.note_name.as_deref());
                let mut out = vec![delivery(
                    agents(after, Some(before)),
                    after,
                    None,
                    protocol::session(&view),
                )];
                if before.status != after.status {
                    out.push(delivery(
                        visitor(after),
                        after,
                        None,
                        protocol::visitor_session(after),
                    ));
                }
                out
            }
            Event::Typing { session, by, on } => match by {
                Typist::Visitor => vec![delivery(
                    agents(session, None),
                    session,
                    None,
                    protocol::typing(session.id, SenderKind::Visitor.as_str(), None, *on),
                )],
                Typist::Agent { user_id } => vec![delivery(
                    visitor(session),
                    session,
                    None,
                    protocol::typing(session.id, SenderKind::Agent.as_str(), Some(*user_id), *on),
                )],
            },
            Event::ContactChanged {
                contact, sessions, ..
            } => vec![Delivery {
                audience: Audience::ContactAgents {
                    project_id: contact.project_id,
                    sessions: sessions.clone(),
                },
                session_id: 0,
                seq: None,
                session_ended: false,
                frame: protocol::contact(contact),
            }],
            Event::SessionTagsChanged { session, tags } => vec![delivery(
                agents(session, None),
                session,
                None,
                protocol::session_tags(session.id, tags),
            )],
            Event::AccessRevoked { .. } | Event::ContactMade { .. } => Vec::new(),
            Event::MessageStatus {
                session,
                message_id,
                delivery: d,
            } => vec![delivery(
                agents(session, None),
                session,
                None,
                protocol::message_status(session.id, *message_id, d),
            )],
            Event::JobProgress { project_id, job } => vec![Delivery {
                audience: Audience::ProjectPermission {
                    project_id: *project_id,
                    permission: Permission::ManageChannels,
                },
                session_id: 0,
                seq: None,
                session_ended: false,
                frame: protocol::job(job),
            }],
            Event::FlowRunChanged { .. } => Vec::new(),
            Event::FlowStatsChanged {
                project_id,
                flow_id,
            } => vec![Delivery {
                audience: Audience::ProjectPermission {
                    project_id: *project_id,
                    permission: Permission::ViewAutomation,
                },
                session_id: 0,
                seq: None,
                session_ended: false,
                frame: protocol::flow_stats(*flow_id),
            }],
        }
    }
}

/// A typing indicator: a visitor's goes to the agents who see the session; an agent's goes to
/// the visitor only when the agent may see the session.
pub fn typing(session: &SessionRow, agent: Option<&Access>, on: bool) -> Option<Event> {
    let by = match agent {
        None => Typist::Visitor,
        Some(a) if a.can_see_session(session) => Typist::Agent { user_id: a.user_id },
        Some(_) => return None,
    };
    Some(Event::Typing {
        session: session.clone(),
        by,
        on,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::access::DataScope;

    fn session(status: SessionStatus, assignee: Option<i64>) -> SessionRow {
        SessionRow::sample(status, assignee)
    }

    fn own(user_id: i64) -> Access {
        Access {
            user_id,
            project_id: 1,
            role: "agent".into(),
            permissions: vec![],
            scope: DataScope::Own,
        }
    }

    #[test]
    fn an_own_agent_hears_once_more_of_a_session_that_left_its_scope() {
        let before = session(SessionStatus::Unassigned, None);
        let after = session(SessionStatus::Assigned, Some(8));
        let event = Event::SessionChanged {
            before,
            after,
            names: Names::default(),
        };
        let d = event.deliveries();
        assert_eq!(d.len(), 2, "agents, and the visitor for the status change");
        assert_eq!(d[0].audience.agent_sees(&own(7)), (true, true));
        assert_eq!(d[0].audience.agent_sees(&own(8)), (true, false));
        assert_eq!(d[1].audience.agent_sees(&own(8)), (false, false));
    }

    #[test]
    fn job_progress_goes_to_the_projects_agents_who_manage_channels() {
        let job = JobView {
            id: 1,
            channel_id: 2,
            kind: crate::db::enums::JobKind::ContactSync,
            state: crate::db::enums::JobState::Running,
            scope: crate::domain::messenger::sync::SyncScope::All,
            conversations_done: 25,
            contacts_imported: 25,
            messages_imported: 500,
            errors: 0,
            total_so_far: 25,
            last_error: None,
            cursor_saved: true,
            cancel_requested: false,
            created_at: chrono::Utc::now(),
            updated_at: chrono::Utc::now(),
        };
        let d = Event::JobProgress { project_id: 1, job }.deliveries();
        let mut admin = own(7);
        admin.permissions = vec![Permission::ManageChannels];
        assert_eq!(d[0].audience.agent_sees(&admin), (true, false));
        assert_eq!(d[0].audience.agent_sees(&own(8)), (false, false));
        admin.project_id = 2;
        assert_eq!(d[0].audience.agent_sees(&admin), (false, false));
    }

    #[test]
    fn flow_stats_go_to_the_projects_agents_who_view_or_manage_automation() {
        let d = Event::FlowStatsChanged {
            project_id: 1,
            flow_id: 4,
        }
        .deliveries();
        let mut viewer = own(7);
        viewer.permissions = vec![Permission::ViewAutomation];
        let mut manager = own(8);
        manager.permissions = vec![Permission::ManageAutomation];
        assert_eq!(d[0].audience.agent_sees(&viewer), (true, false));
        assert_eq!(d[0].audience.agent_sees(&manager), (true, false));
        assert_eq!(d[0].audience.agent_sees(&own(9)), (false, false));
        viewer.project_id = 2;
        assert_eq!(d[0].audience.agent_sees(&viewer), (false, false));
    }

    #[test]
    fn an_agent_typing_in_a_session_out_of_scope_announces_nothing() {
        let s = session(SessionStatus::Assigned, Some(8));
        assert!(typing(&s, Some(&own(7)), true).is_none());
        let e = typing(&s, Some(&own(8)), true).unwrap();
        assert!(matches!(
            e.deliveries()[0].audience,
            Audience::Visitor { .. }
        ));
    }
}
