//! Sending e-mail over SMTP with lettre, and how failures are classified and retried.
//!
//! The transport comes from `SWITCHBOARD_SMTP_URL` with lettre's `from_url` rules:
//!
//! | URL | connection |
//! |---|---|
//! | `smtp://host:port` | plain SMTP, no TLS (port 25 by default) — local relays and tests |
//! | `smtp://user:pass@host:587?tls=required` | STARTTLS, refused when the server does not offer it |
//! | `smtp://user:pass@host:587?tls=opportunistic` | STARTTLS when the server offers it, else plain |
//! | `smtps://user:pass@host:465` | TLS from the first byte (port 465 by default) |
//!
//! User and password are percent-decoded; a path (`smtp://host/name`) sets the EHLO name.
//! Without TLS the password travels in clear text: the server warns at start.
//!
//! A failure is [`SendError::Permanent`] when retrying cannot help (an SMTP 5xx reply, e.g.
//! 550 mailbox unavailable or 535 bad credentials; a message that cannot be built) and
//! [`SendError::Transient`] otherwise (an SMTP 4xx reply, connection, TLS or timeout errors).

use lettre::message::{header::ContentType, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::time::Duration;

/// How long one SMTP command may take before the attempt counts as a (temporary) failure.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SendError {
    /// Worth retrying later: an SMTP 4xx reply, a connection, TLS or timeout error.
    #[error("temporary failure: {0}")]
    Transient(String),
    /// Retrying will not help: an SMTP 5xx reply, a message that cannot be built.
    #[error("permanent failure: {0}")]
    Permanent(String),
}

impl SendError {
    pub fn is_permanent(&self) -> bool {
        matches!(self, SendError::Permanent(_))
    }
}

impl From<lettre::transport::smtp::Error> for SendError {
    fn from(e: lettre::transport::smtp::Error) -> Self {
        // lettre's text for a reply already names the code ("permanent error (550): …").
        if e.is_permanent() {
            SendError::Permanent(e.to_string())
        } else {
            SendError::Transient(e.to_string())
        }
    }
}

/// One mail, as the outbox holds it.
#[derive(Debug, Clone)]
pub struct OutgoingMail<'a> {
    pub to_address: &'a str,
    pub to_name: &'a str,
    pub subject: &'a str,
    pub text: &'a str,
    pub html: &'a str,
    /// With the angle brackets: `<outbox-12.3@example.com>`.
    pub message_id: &'a str,
}

/// The SMTP transport (pooled connections) and the From address.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    /// Builds the transport without connecting; a bad URL or From address is an error naming
    /// the option.
    pub fn new(url: &str, from: &str) -> Result<Mailer, String> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| format!("--smtp-url (SWITCHBOARD_SMTP_URL) is not usable: {e}"))?
            .timeout(Some(SMTP_TIMEOUT))
            .pool_config(PoolConfig::new().max_size(4))
            .build();
        let from: Mailbox = from.parse().map_err(|e| {
            format!("--smtp-from (SWITCHBOARD_SMTP_FROM) is not an e-mail address: {e}")
        })?;
        if plain_with_credentials(url) {
            tracing::warn!(
                "--smtp-url has a user name but no TLS: the password is sent unencrypted \
                 (add ?tls=required, or use smtps://)"
            );
        }
        Ok(Mailer { transport, from })
    }

    /// The message as it goes on the wire: plain text and HTML alternatives.
    pub fn build(&self, mail: &OutgoingMail<'_>) -> Result<Message, SendError> {
        let address = mail
            .to_address
            .parse()
            .map_err(|e| SendError::Permanent(format!("bad recipient address: {e}")))?;
        let name = (!mail.to_name.trim().is_empty()).then(|| mail.to_name.trim().to_owned());
        Message::builder()
            .from(self.from.clone())
            .to(Mailbox::new(name, address))
            .subject(mail.subject)
            .message_id(Some(mail.message_id.to_owned()))
            .multipart(
                MultiPart::alternative()
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_PLAIN)
                            .body(mail.text.to_owned()),
                    )
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_HTML)
                            .body(mail.html.to_owned()),
                    ),
            )
            .map_err(|e| SendError::Permanent(format!("cannot build the message: {e}")))
    }

    pub async fn send(&self, mail: &OutgoingMail<'_>) -> Result<(), SendError> {
        let message = self.build(mail)?;
        self.transport.send(message).await?;
        Ok(())
    }
}

/// `smtp://user…@host` without a `tls=` parameter: lettre logs in over plain text.
fn plain_with_credentials(url: &str) -> bool {
    url.strip_prefix("smtp://").is_some_and(|rest| {
        let authority = rest.split(['/', '?']).next().unwrap_or_default();
        authority.contains('@') && !rest.contains("tls=")
    })
}

/// When a temporarily failed mail is tried again: `base`, then doubling per attempt, at most
/// `max_delay`; after `max_attempts` attempts it is failed for good.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub base: Duration,
    pub max_delay: Duration,
    pub max_attempts: i32,
}

impl RetryPolicy {
    pub fn with_base(base: Duration) -> RetryPolicy {
        RetryPolicy {
            base,
            max_delay: Duration::from_secs(3600),
            max_attempts: 10,
        }
    }

    /// The pause after failed attempt number `attempts` (1 for the first attempt), or `None`
    /// when no attempt is left.
    pub fn next_delay(&self, attempts: i32) -> Option<Duration> {
        if attempts >= self.max_attempts {
            return None;
        }
        let doublings = attempts.clamp(1, 31) as u32 - 1;
        let delay = self
            .base
            .checked_mul(1u32 << doublings.min(20))
            .unwrap_or(self.max_delay);
        Some(delay.min(self.max_delay))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delays_double_up_to_the_cap_then_stop() {
        let p = RetryPolicy::with_base(Duration::from_secs(30));
        let delays: Vec<u64> = (1..=10)
            .map(|n| p.next_delay(n).map_or(0, |d| d.as_secs()))
            .collect();
        assert_eq!(
            delays,
            vec![30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 0]
        );
        let fast = RetryPolicy::with_base(Duration::from_secs(1));
        assert_eq!(fast.next_delay(1), Some(Duration::from_secs(1)));
        assert_eq!(fast.next_delay(3), Some(Duration::from_secs(4)));
    }

    #[tokio::test]
    async fn urls_follow_lettre_rules_and_bad_settings_are_named() {
        assert!(Mailer::new("smtp://127.0.0.1:2525", "a@example.com").is_ok());
        assert!(Mailer::new(
            "smtp://user:p%40ss@mail.example.com:587?tls=required",
            "Alerts <a@example.com>"
        )
        .is_ok());
        assert!(Mailer::new("smtps://mail.example.com", "a@example.com").is_ok());
        let e = Mailer::new("http://mail.example.com", "a@example.com")
            .err()
            .unwrap_or_default();
        assert!(e.contains("--smtp-url"), "{e}");
        let e = Mailer::new("smtp://mail.example.com", "not an address")
            .err()
            .unwrap_or_default();
        assert!(e.contains("--smtp-from"), "{e}");
    }

    #[test]
    fn plain_logins_are_noticed() {
        assert!(plain_with_credentials("smtp://u:p@host:587"));
        assert!(!plain_with_credentials("smtp://u:p@host:587?tls=required"));
        assert!(!plain_with_credentials("smtp://host:25"));
        assert!(!plain_with_credentials("smtps://u:p@host"));
    }

    #[tokio::test]
    async fn a_message_has_both_alternatives_and_the_given_message_id() {
        let m = Mailer::new("smtp://127.0.0.1:2525", "Switchboard <alerts@example.com>").unwrap();
        let mail = OutgoingMail {
            to_address: "ada@example.com",
            to_name: "Ada",
            subject: "Waiting: Bob",
            text: "plain",
            html: "<p>html</p>",
            message_id: "<outbox-1.2@example.com>",
        };
        let wire = String::from_utf8(m.build(&mail).unwrap().formatted()).unwrap();
        assert!(
            wire.contains("Message-ID: <outbox-1.2@example.com>"),
            "{wire}"
        );
        assert!(wire.contains("multipart/alternative"));
        assert!(wire.contains("text/plain") && wire.contains("text/html"));
        let bad = OutgoingMail {
            to_address: "not an address",
            ..mail
        };
        assert!(m.build(&bad).unwrap_err().is_permanent());
    }
}
