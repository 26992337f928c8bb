//! Messenger's reply windows, decided from the platform's timestamp of the person's last
//! inbound event (`contacts.last_inbound_at`), never from our idea of the conversation:
//!
//! - within 24 h: `RESPONSE`;
//! - 24 h – 7 days: `MESSAGE_TAG` / `HUMAN_AGENT`, only when the Page has the Human Agent
//!   permission and only for a reply a person wrote (never the bot or automation);
//! - past that: only with a message tag the agent picks from the Page's configured list
//!   (empty by default: Meta retired the old content tags), else refused before anything is
//!   stored.
//!
//! Pure rules: the caller reads the facts and stores the decision.

use crate::db::enums::MessagingType;
use crate::error::{AppError, ErrorCode};
use chrono::{DateTime, Duration, Utc};

/// The standard window after the person's last inbound event.
pub const STANDARD: Duration = Duration::hours(24);
/// How long a human agent may still answer with the HUMAN_AGENT tag.
pub const HUMAN_AGENT: Duration = Duration::days(7);
/// The tag Meta reserves for replies written by a person.
pub const HUMAN_AGENT_TAG: &str = "HUMAN_AGENT";

/// The refusal past 7 days when no tag can be used.
pub const CLOSED_TEXT: &str =
    "the 7-day reply window has closed; the person must message the Page first";

/// What the Page is allowed to do (its channel settings).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageRules {
    /// The app has Meta's Human Agent permission.
    pub human_agent: bool,
    /// Message tags an agent may pick past the windows.
    pub allowed_tags: Vec<String>,
}

/// Who wrote the message: only a person's reply may use HUMAN_AGENT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writer {
    Human,
    Automation,
}

/// Where a person's conversation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    /// Anything may be sent with `RESPONSE` until then.
    Open { until: DateTime<Utc> },
    /// A human agent may reply with HUMAN_AGENT until then; automation may not.
    HumanAgent { until: DateTime<Utc> },
    /// Only with one of the configured tags.
    TagOnly,
    /// Nothing can be sent until the person writes again.
    Closed,
}

impl Window {
    pub fn of(
        last_inbound: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
        rules: &PageRules,
    ) -> Window {
        let past = || {
            if rules.allowed_tags.is_empty() {
                Window::Closed
            } else {
                Window::TagOnly
            }
        };
        // No inbound event known: nothing says the person ever wrote, which even a tag needs.
        let Some(last) = last_inbound else {
            return Window::Closed;
        };
        let elapsed = now - last;
        if elapsed < STANDARD {
            Window::Open {
                until: last + STANDARD,
            }
        } else if rules.human_agent && elapsed < HUMAN_AGENT {
            Window::HumanAgent {
                until: last + HUMAN_AGENT,
            }
        } else {
            past()
        }
    }

    /// The name clients see (`GET …/reply-window`).
    pub fn state(&self) -> &'static str {
        match self {
            Window::Open { .. } => "open",
            Window::HumanAgent { .. } => "human_agent",
            Window::TagOnly => "tag_only",
            Window::Closed => "closed",
        }
    }
}

/// How a message goes out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub messaging_type: MessagingType,
    pub tag: Option<String>,
}

/// Why a message cannot go out now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No window and no usable tag: the person must write first.
    WindowClosed(String),
    /// The picked tag is not one the Page allows.
    TagNotAllowed(String),
}

impl Refusal {
    pub fn message(&self) -> &str {
        match self {
            Refusal::WindowClosed(m) | Refusal::TagNotAllowed(m) => m,
        }
    }
}

impl From<Refusal> for AppError {
    fn from(r: Refusal) -> AppError {
        match r {
            Refusal::WindowClosed(m) => AppError::new(ErrorCode::ReplyWindowClosed, m),
            Refusal::TagNotAllowed(m) => AppError::validation(m),
        }
    }
}

/// Decides how a message goes out, or refuses it. `picked` is the tag an agent chose; it must
/// be one of the Page's allowed tags, and is used once the 24 h window has passed.
pub fn decide(
    last_inbound: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    rules: &PageRules,
    writer: Writer,
    picked: Option<&str>,
) -> Result<Decision, Refusal> {
    if let Some(tag) = picked {
        if !rules.allowed_tags.iter().any(|t| t == tag) {
            return Err(Refusal::TagNotAllowed(if rules.allowed_tags.is_empty() {
                format!("the message tag {tag} is not allowed: this Page has no message tags configured")
            } else {
                format!(
                    "the message tag {tag} is not allowed; this Page allows {}",
                    rules.allowed_tags.join(", ")
                )
            }));
        }
    }
    let tagged = |tag: &str| Decision {
        messaging_type: MessagingType::MessageTag,
        tag: Some(tag.to_owned()),
    };
    match (Window::of(last_inbound, now, rules), writer, picked) {
        (Window::Open { .. }, _, _) => Ok(Decision {
            messaging_type: MessagingType::Response,
            tag: None,
        }),
        (Window::HumanAgent { .. } | Window::TagOnly, _, Some(tag)) => Ok(tagged(tag)),
        (Window::HumanAgent { .. }, Writer::Human, None) => Ok(tagged(HUMAN_AGENT_TAG)),
        (window, writer, _) => Err(Refusal::WindowClosed(refusal_text(
            last_inbound,
            now,
            rules,
            window,
            writer,
        ))),
    }
}

/// What a message without a tag would be refused with now (`None`: a human reply can go).
pub fn refusal(
    last_inbound: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    rules: &PageRules,
) -> Option<String> {
    match decide(last_inbound, now, rules, Writer::Human, None) {
        Ok(_) => None,
        Err(r) => Some(r.message().to_owned()),
    }
}

fn refusal_text(
    last_inbound: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    rules: &PageRules,
    window: Window,
    writer: Writer,
) -> String {
    let pick = |closed: &str| {
        format!(
            "{closed}; pick a message tag ({}) or wait for the person to message the Page",
            rules.allowed_tags.join(", ")
        )
    };
    let Some(last) = last_inbound else {
        return "the person has not messaged the Page; they must message it first".into();
    };
    let past_week = now - last >= HUMAN_AGENT;
    match (window, writer) {
        (Window::HumanAgent { .. }, Writer::Automation) => {
            "automated messages can only be sent within 24 hours of the person's last message"
                .into()
        }
        (Window::TagOnly, _) if past_week => pick("the 7-day reply window has closed"),
        (Window::TagOnly, _) => pick("the 24-hour reply window has closed"),
        _ if past_week => CLOSED_TEXT.into(),
        (_, Writer::Automation) => {
            "automated messages can only be sent within 24 hours of the person's last message"
                .into()
        }
        _ => "the 24-hour reply window has closed (this Page has no Human Agent permission); \
              the person must message the Page first"
            .into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        "2026-12-01T12:00:00Z".parse().unwrap()
    }

    fn ago(d: Duration) -> Option<DateTime<Utc>> {
        Some(now() - d)
    }

    fn rules(human_agent: bool, tags: &[&str]) -> PageRules {
        PageRules {
            human_agent,
            allowed_tags: tags.iter().map(|t| t.to_string()).collect(),
        }
    }

    fn response() -> Decision {
        Decision {
            messaging_type: MessagingType::Response,
            tag: None,
        }
    }

    fn tag(t: &str) -> Decision {
        Decision {
            messaging_type: MessagingType::MessageTag,
            tag: Some(t.into()),
        }
    }

    fn closed(r: Result<Decision, Refusal>) -> String {
        match r {
            Err(Refusal::WindowClosed(m)) => m,
            other => panic!("expected a closed window, got {other:?}"),
        }
    }

    const M23H59: Duration = Duration::minutes(23 * 60 + 59);
    const H24M01: Duration = Duration::minutes(24 * 60 + 1);
    const D6H23: Duration = Duration::hours(6 * 24 + 23);
    const D7M01: Duration = Duration::minutes(7 * 24 * 60 + 1);

    #[test]
    fn within_24_hours_everything_goes_as_response() {
        for r in [rules(false, &[]), rules(true, &["ACCOUNT_UPDATE"])] {
            for w in [Writer::Human, Writer::Automation] {
                assert_eq!(decide(ago(M23H59), now(), &r, w, None), Ok(response()));
            }
        }
        assert_eq!(
            Window::of(ago(M23H59), now(), &rules(false, &[])),
            Window::Open {
                until: now() + Duration::minutes(1)
            }
        );
    }

    #[test]
    fn past_24_hours_a_human_reply_uses_human_agent_only_with_the_permission() {
        for d in [H24M01, D6H23] {
            assert_eq!(
                decide(ago(d), now(), &rules(true, &[]), Writer::Human, None),
                Ok(tag("HUMAN_AGENT"))
            );
            let m = closed(decide(
                ago(d),
                now(),
                &rules(false, &[]),
                Writer::Human,
                None,
            ));
            assert!(m.contains("24-hour reply window has closed"), "{m}");
        }
        assert_eq!(
            Window::of(ago(D6H23), now(), &rules(true, &[])),
            Window::HumanAgent {
                until: now() + Duration::hours(1)
            }
        );
        assert_eq!(
            Window::of(ago(H24M01), now(), &rules(false, &[])),
            Window::Closed
        );
    }

    #[test]
    fn a_bot_message_never_goes_out_with_human_agent() {
        for d in [H24M01, D6H23, D7M01] {
            for r in [rules(true, &[]), rules(false, &[]), rules(true, &["X"])] {
                let m = closed(decide(ago(d), now(), &r, Writer::Automation, None));
                assert!(!m.is_empty());
            }
        }
        let m = closed(decide(
            ago(H24M01),
            now(),
            &rules(true, &[]),
            Writer::Automation,
            None,
        ));
        assert!(m.contains("automated messages"), "{m}");
    }

    #[test]
    fn past_7_days_without_tags_is_refused_with_the_text() {
        for human_agent in [true, false] {
            let m = closed(decide(
                ago(D7M01),
                now(),
                &rules(human_agent, &[]),
                Writer::Human,
                None,
            ));
            assert_eq!(m, CLOSED_TEXT);
            assert_eq!(
                Window::of(ago(D7M01), now(), &rules(human_agent, &[])),
                Window::Closed
            );
            assert_eq!(
                refusal(ago(D7M01), now(), &rules(human_agent, &[])).as_deref(),
                Some(CLOSED_TEXT)
            );
        }
    }

    #[test]
    fn past_7_days_a_configured_tag_the_agent_picked_is_used() {
        let r = rules(true, &["ACCOUNT_UPDATE", "CUSTOM"]);
        assert_eq!(Window::of(ago(D7M01), now(), &r), Window::TagOnly);
        assert_eq!(
            decide(ago(D7M01), now(), &r, Writer::Human, Some("CUSTOM")),
            Ok(tag("CUSTOM"))
        );
        let m = closed(decide(ago(D7M01), now(), &r, Writer::Human, None));
        assert!(
            m.contains("pick a message tag (ACCOUNT_UPDATE, CUSTOM)"),
            "{m}"
        );
        // Within the HUMAN_AGENT period the agent's explicit pick is honoured too.
        assert_eq!(
            decide(ago(D6H23), now(), &r, Writer::Human, Some("CUSTOM")),
            Ok(tag("CUSTOM"))
        );
        // Without the permission, tags are what is left past 24 hours.
        let no_permission = rules(false, &["CUSTOM"]);
        assert_eq!(
            Window::of(ago(H24M01), now(), &no_permission),
            Window::TagOnly
        );
        assert_eq!(
            decide(
                ago(H24M01),
                now(),
                &no_permission,
                Writer::Human,
                Some("CUSTOM")
            ),
            Ok(tag("CUSTOM"))
        );
    }

    #[test]
    fn a_tag_that_is_not_configured_is_a_validation_error() {
        for r in [rules(true, &[]), rules(true, &["CUSTOM"])] {
            for d in [M23H59, D7M01] {
                let got = decide(ago(d), now(), &r, Writer::Human, Some("ACCOUNT_UPDATE"));
                assert!(matches!(got, Err(Refusal::TagNotAllowed(_))), "{got:?}");
            }
        }
        let e = AppError::from(Refusal::TagNotAllowed("x".into()));
        assert_eq!(e.code, ErrorCode::Validation);
        let e = AppError::from(Refusal::WindowClosed("x".into()));
        assert_eq!(e.code, ErrorCode::ReplyWindowClosed);
    }

    #[test]
    fn the_boundaries_are_exact() {
        let r = rules(true, &[]);
        assert_eq!(
            decide(ago(STANDARD), now(), &r, Writer::Human, None),
            Ok(tag("HUMAN_AGENT"))
        );
        assert_eq!(
            decide(
                ago(STANDARD - Duration::milliseconds(1)),
                now(),
                &r,
                Writer::Automation,
                None
            ),
            Ok(response())
        );
        assert_eq!(
            closed(decide(ago(HUMAN_AGENT), now(), &r, Writer::Human, None)),
            CLOSED_TEXT
        );
    }

    #[test]
    fn nobody_who_never_wrote_can_be_messaged_even_with_a_tag() {
        assert_eq!(Window::of(None, now(), &rules(true, &[])), Window::Closed);
        let m = closed(decide(None, now(), &rules(true, &[]), Writer::Human, None));
        assert!(m.contains("has not messaged the Page"), "{m}");
        assert_eq!(
            Window::of(None, now(), &rules(true, &["X"])),
            Window::Closed
        );
        let got = decide(None, now(), &rules(true, &["X"]), Writer::Human, Some("X"));
        assert!(matches!(got, Err(Refusal::WindowClosed(_))), "{got:?}");
    }

    #[test]
    fn a_timestamp_from_the_future_counts_as_just_now() {
        let soon = Some(now() + Duration::minutes(5));
        assert_eq!(
            decide(soon, now(), &rules(false, &[]), Writer::Automation, None),
            Ok(response())
        );
    }
}
