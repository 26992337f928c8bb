//! The closed vocabularies stored in TEXT columns: session status, sender kind, channel kind,
//! data scope, outbox state, channel health, outbound state, messaging type, job state and kind, hosting reason, and
//! automation's trigger kind, run status, end reason and wait. Each
//! is an enum whose database text and JSON spelling are the same string, written once in `text_enum!` (the migrations' CHECK constraints hold the same
//! lists). A value read from the database that the enum does not know is a deserialization
//! error naming the type and the value, never a panic or a silent default.

use diesel::deserialize::{self, FromSql};
use diesel::pg::{Pg, PgValue};
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::Text;
use std::fmt;

/// Declares an enum mapped to a TEXT column: diesel `ToSql`/`FromSql` for `Text`, serde and
/// the OpenAPI schema all use the given spelling of each variant.
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash,
            serde::Serialize, serde::Deserialize, utoipa::ToSchema,
            diesel::expression::AsExpression, diesel::deserialize::FromSqlRow,
        )]
        #[diesel(sql_type = diesel::sql_types::Text)]
        pub enum $name {
            $( $(#[$vmeta])* #[serde(rename = $text)] $variant, )+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            pub fn parse(s: &str) -> Option<$name> {
                match s {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ToSql<Text, Pg> for $name {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
                <str as ToSql<Text, Pg>>::to_sql(self.as_str(), out)
            }
        }

        impl FromSql<Text, Pg> for $name {
            fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
                from_text(value, stringify!($name), $name::parse)
            }
        }
    };
}

fn from_text<T>(
    value: PgValue<'_>,
    type_name: &str,
    parse: impl FnOnce(&str) -> Option<T>,
) -> deserialize::Result<T> {
    let text = std::str::from_utf8(value.as_bytes())?;
    parse(text).ok_or_else(|| format!("unknown {type_name} {text:?} in the database").into())
}

text_enum! {
    /// Where a session is: in the queue, with an agent, or over.
    pub enum SessionStatus {
        Unassigned = "unassigned",
        Assigned = "assigned",
        Ended = "ended",
    }
}

impl SessionStatus {
    pub fn is_ended(self) -> bool {
        self == SessionStatus::Ended
    }
}

text_enum! {
    /// Who wrote a message.
    pub enum SenderKind {
        Visitor = "visitor",
        Agent = "agent",
        Bot = "bot",
        /// A note the server writes (e.g. an automatic end), not counted as a message.
        System = "system",
    }
}

text_enum! {
    /// How visitors reach a project.
    pub enum ChannelKind {
        /// The web widget.
        Web = "web",
        Messenger = "messenger",
    }
}

text_enum! {
    /// Which sessions a role's members see.
    pub enum DataScope {
        /// Sessions assigned to the member, plus the unassigned queue it may take from.
        Own = "own",
        All = "all",
    }
}

text_enum! {
    /// Where an e-mail of the outbox is.
    pub enum OutboxState {
        /// To send, maybe after `next_attempt_at`.
        Pending = "pending",
        Sent = "sent",
        /// A permanent error, or the attempts are exhausted (`last_error` says why).
        Failed = "failed",
    }
}

text_enum! {
    /// Whether a channel can send: its token works and the platform lets it.
    pub enum ChannelHealth {
        Connected = "connected",
        /// The platform refused the token (Messenger error 190): an admin must paste a new one.
        NeedsReconnect = "needs_reconnect",
        /// The platform restricted the Page from sending (Messenger 10/1893063).
        Restricted = "restricted",
    }
}

text_enum! {
    /// Where a message to a channel's platform is (`channel_outbound`).
    pub enum OutboundState {
        /// To send, maybe after `next_attempt_at`.
        Pending = "pending",
        /// The request is (or was, when the server died) on its way.
        Sending = "sending",
        Sent = "sent",
        /// Refused by the platform, or the attempts are exhausted; the agent may retry.
        Failed = "failed",
        /// The server died while sending and no echo confirmed it: not sent again by itself.
        Unconfirmed = "unconfirmed",
    }
}

text_enum! {
    /// The Send API's `messaging_type`.
    pub enum MessagingType {
        Response = "RESPONSE",
        Update = "UPDATE",
        MessageTag = "MESSAGE_TAG",
    }
}

text_enum! {
    /// Where a background job is.
    pub enum JobState {
        Queued = "queued",
        Running = "running",
        Done = "done",
        Failed = "failed",
        Cancelled = "cancelled",
    }
}

impl JobState {
    /// Queued or running: the one active job of its channel and kind.
    pub fn is_active(self) -> bool {
        matches!(self, JobState::Queued | JobState::Running)
    }
}

text_enum! {
    /// What a background job does.
    pub enum JobKind {
        /// Imports a Messenger Page's conversations (contacts and their latest messages).
        ContactSync = "contact_sync",
    }
}

text_enum! {
    /// Why a session's robot hosting changed (`hosting_changes.reason`).
    pub enum HostingReason {
        /// An agent switched one session.
        Switch = "switch",
        /// An agent switched a selection of sessions.
        Bulk = "bulk",
        /// An agent switched all assigned sessions in its data scope.
        AllAssigned = "all_assigned",
        /// An agent replied in a hosted session and the project hands off on a reply.
        ReplyHandoff = "reply_handoff",
        /// The session was opened hosted (project setting `new_sessions_hosted`).
        NewSession = "new_session",
        /// An automation flow's hand-off step gave the session to a human.
        FlowHandoff = "flow_handoff",
    }
}

text_enum! {
    /// What starts an automation flow.
    pub enum TriggerKind {
        /// The visitor's first message in a session.
        FirstMessage = "first_message",
        /// A visitor message matching keywords.
        Keyword = "keyword",
        /// A session opened on one of the flow's channels (at its first message).
        NewSession = "new_session",
        /// After our last message (agent or bot) the visitor stayed silent for N minutes.
        VisitorSilent = "visitor_silent",
    }
}

text_enum! {
    /// Where an automation run is.
    pub enum RunStatus {
        /// At a step, moving or waiting (a button, an answer, a wait).
        Running = "running",
        /// Reached a final step.
        Completed = "completed",
        /// Ended before a final step (`RunEndReason` says why).
        Stopped = "stopped",
        /// A step could not be carried out.
        Failed = "failed",
    }
}

text_enum! {
    /// Why a run ended.
    pub enum RunEndReason {
        Completed = "completed",
        /// A human replied in the session: the person took over.
        AgentReplied = "agent_replied",
        SessionEnded = "session_ended",
        /// A hand-off step gave the session to a human (the run completes through its end step).
        HandedOff = "handed_off",
        /// It moved through more steps in one go than a flow may (a loop without a wait).
        StepLimit = "step_limit",
        Error = "error",
    }
}

text_enum! {
    /// A triggered visitor's best run in an analytics range (not a column: `db::flow_stats`
    /// computes it from the visitor's runs).
    pub enum VisitorStatus {
        /// A run of theirs completed.
        Completed = "completed",
        /// None completed; one participated.
        Participated = "participated",
        /// None participated.
        NotParticipated = "not_participated",
    }
}

text_enum! {
    /// What a running run waits for at its step.
    pub enum RunWait {
        /// A click on one of the buttons of its message.
        Button = "button",
        /// An answer to its question.
        Answer = "answer",
        /// A wait step's time (or a reply, which interrupts it).
        Wait = "wait",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::pg::PgValue;
    use std::num::NonZeroU32;

    static TEXT_OID: NonZeroU32 = NonZeroU32::MIN.saturating_add(24);

    /// A TEXT value as PostgreSQL sends it (OID 25).
    fn text(s: &str) -> PgValue<'_> {
        PgValue::new(s.as_bytes(), &TEXT_OID)
    }

    fn round_trips<T>(all: &[T], as_str: fn(T) -> &'static str)
    where
        T: Copy + PartialEq + fmt::Debug + serde::Serialize + serde::de::DeserializeOwned,
        T: FromSql<Text, Pg>,
    {
        for &v in all {
            let s = as_str(v);
            assert_eq!(T::from_sql(text(s)).unwrap(), v, "{s} from the database");
            assert_eq!(serde_json::to_value(v).unwrap(), serde_json::json!(s));
            assert_eq!(
                serde_json::from_value::<T>(serde_json::json!(s)).unwrap(),
                v
            );
        }
    }

    #[test]
    fn every_value_reads_back_as_written_in_the_database_and_in_json() {
        round_trips(SessionStatus::ALL, SessionStatus::as_str);
        round_trips(SenderKind::ALL, SenderKind::as_str);
        round_trips(ChannelKind::ALL, ChannelKind::as_str);
        round_trips(DataScope::ALL, DataScope::as_str);
        round_trips(OutboxState::ALL, OutboxState::as_str);
        round_trips(ChannelHealth::ALL, ChannelHealth::as_str);
        round_trips(OutboundState::ALL, OutboundState::as_str);
        round_trips(MessagingType::ALL, MessagingType::as_str);
        round_trips(JobState::ALL, JobState::as_str);
        round_trips(JobKind::ALL, JobKind::as_str);
        round_trips(HostingReason::ALL, HostingReason::as_str);
        round_trips(TriggerKind::ALL, TriggerKind::as_str);
        round_trips(RunStatus::ALL, RunStatus::as_str);
        round_trips(RunEndReason::ALL, RunEndReason::as_str);
        round_trips(RunWait::ALL, RunWait::as_str);
    }

    #[test]
    fn the_spellings_are_those_of_the_migrations_check_constraints() {
        fn texts<T: Copy>(all: &[T], as_str: fn(T) -> &'static str) -> Vec<&'static str> {
            all.iter().map(|v| as_str(*v)).collect()
        }
        let statuses = texts(SessionStatus::ALL, SessionStatus::as_str);
        assert_eq!(statuses, ["unassigned", "assigned", "ended"]);
        let senders = texts(SenderKind::ALL, SenderKind::as_str);
        assert_eq!(senders, ["visitor", "agent", "bot", "system"]);
        let channels = texts(ChannelKind::ALL, ChannelKind::as_str);
        assert_eq!(channels, ["web", "messenger"]);
        assert_eq!(texts(DataScope::ALL, DataScope::as_str), ["own", "all"]);
        let states = texts(OutboxState::ALL, OutboxState::as_str);
        assert_eq!(states, ["pending", "sent", "failed"]);
        let health = texts(ChannelHealth::ALL, ChannelHealth::as_str);
        assert_eq!(health, ["connected", "needs_reconnect", "restricted"]);
        let outbound = texts(OutboundState::ALL, OutboundState::as_str);
        assert_eq!(
            outbound,
            ["pending", "sending", "sent", "failed", "unconfirmed"]
        );
        let types = texts(MessagingType::ALL, MessagingType::as_str);
        assert_eq!(types, ["RESPONSE", "UPDATE", "MESSAGE_TAG"]);
        let jobs = texts(JobState::ALL, JobState::as_str);
        assert_eq!(jobs, ["queued", "running", "done", "failed", "cancelled"]);
        assert_eq!(texts(JobKind::ALL, JobKind::as_str), ["contact_sync"]);
        let reasons = texts(HostingReason::ALL, HostingReason::as_str);
        let triggers = texts(TriggerKind::ALL, TriggerKind::as_str);
        assert_eq!(
            triggers,
            ["first_message", "keyword", "new_session", "visitor_silent"]
        );
        let runs = texts(RunStatus::ALL, RunStatus::as_str);
        assert_eq!(runs, ["running", "completed", "stopped", "failed"]);
        let ends = texts(RunEndReason::ALL, RunEndReason::as_str);
        assert_eq!(
            ends,
            [
                "completed",
                "agent_replied",
                "session_ended",
                "handed_off",
                "step_limit",
                "error"
            ]
        );
        assert_eq!(
            texts(RunWait::ALL, RunWait::as_str),
            ["button", "answer", "wait"]
        );
        assert_eq!(
            reasons,
            [
                "switch",
                "bulk",
                "all_assigned",
                "reply_handoff",
                "new_session",
                "flow_handoff"
            ]
        );
    }

    #[test]
    fn an_unknown_value_in_the_database_is_an_error_naming_type_and_value() {
        let e = SessionStatus::from_sql(text("archived")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown SessionStatus \"archived\" in the database"
        );
        assert!(
            SenderKind::from_sql(text("Visitor")).is_err(),
            "case matters"
        );
        assert!(OutboxState::from_sql(text("")).is_err());
        assert!(serde_json::from_value::<ChannelKind>(serde_json::json!("sms")).is_err());
    }
}
