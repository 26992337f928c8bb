//! What crosses between servers: one JSON envelope per published batch of committed events,
//! tagged with the publishing process's random id so a subscriber skips its own. An envelope
//! with no events is a heartbeat; `resync` says that its sender dropped events it could not
//! publish, so every other server's connections must resume from the database.

use crate::domain::events::Event;
use serde::{Deserialize, Serialize};

/// The one channel every server publishes to and subscribes to. One channel, not one per
/// project: every server holds connections of any project, so each would subscribe to all of
/// them anyway, and one channel keeps a publisher's envelopes in one ordered stream.
pub const CHANNEL: &str = "switchboard:events";

/// A process's id on the bus: random per start, so a restarted server is a new node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeId(String);

impl NodeId {
    pub fn random() -> NodeId {
        NodeId(uuid::Uuid::new_v4().simple().to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// As published (borrowing the events).
#[derive(Serialize)]
struct Out<'a> {
    node: &'a str,
    #[serde(skip_serializing_if = "<[Event]>::is_empty")]
    events: &'a [Event],
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    resync: bool,
}

/// As received.
#[derive(Debug, Deserialize)]
pub struct Envelope {
    pub node: String,
    #[serde(default)]
    pub events: Vec<Event>,
    #[serde(default)]
    pub resync: bool,
}

pub fn events(node: &NodeId, events: &[Event]) -> serde_json::Result<Vec<u8>> {
    serde_json::to_vec(&Out {
        node: node.as_str(),
        events,
        resync: false,
    })
}

pub fn heartbeat(node: &NodeId) -> Vec<u8> {
    // Two string fields cannot fail to serialise.
    serde_json::to_vec(&Out {
        node: node.as_str(),
        events: &[],
        resync: false,
    })
    .unwrap_or_default()
}

pub fn resync(node: &NodeId) -> Vec<u8> {
    serde_json::to_vec(&Out {
        node: node.as_str(),
        events: &[],
        resync: true,
    })
    .unwrap_or_default()
}

pub fn parse(payload: &[u8]) -> serde_json::Result<Envelope> {
    serde_json::from_slice(payload)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::enums::SessionStatus;
    use crate::db::sessions::SessionRow;
    use crate::domain::events::{Names, Typist};

    #[test]
    fn events_come_back_as_they_were_sent_and_heartbeats_carry_none() {
        let node = NodeId::random();
        let session = SessionRow::sample(SessionStatus::Assigned, Some(8));
        let sent = vec![
            Event::SessionChanged {
                before: SessionRow::sample(SessionStatus::Unassigned, None),
                after: session.clone(),
                names: Names {
                    contact_name: "Ann".into(),
                    note_name: Some("VIP".into()),
                },
            },
            Event::Typing {
                session: session.clone(),
                by: Typist::Agent { user_id: 8 },
                on: true,
            },
            Event::AccessRevoked {
                project_id: 1,
                user_ids: vec![8, 9],
            },
        ];
        let got = parse(&events(&node, &sent).unwrap()).unwrap();
        assert_eq!(got.node, node.as_str());
        assert!(!got.resync);
        // The frames each server derives are the same as the publisher's.
        let frames = |es: &[Event]| -> Vec<String> {
            es.iter()
                .flat_map(|e| e.deliveries())
                .map(|d| d.frame.to_string())
                .collect()
        };
        assert_eq!(frames(&got.events), frames(&sent));
        assert!(matches!(
            &got.events[2],
            Event::AccessRevoked { user_ids, .. } if user_ids == &[8, 9]
        ));
        let beat = parse(&heartbeat(&node)).unwrap();
        assert!(beat.events.is_empty() && !beat.resync);
        assert!(parse(&resync(&node)).unwrap().resync);
    }
}
