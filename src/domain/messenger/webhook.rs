//! Messenger webhook bodies: the envelope (`object`, `entry[]` with `messaging[]` or
//! `standby[]`) and the events we act on (message and echo, postback, delivery, read,
//! referral). An event of a kind we do not know, or one we cannot read, is skipped: Meta adds
//! kinds (reactions, optins, …) and one odd event must not hold up the rest of a POST.

use serde::{Deserialize, Deserializer};

/// Only the Page ids of a body: what the webhook request needs before it answers.
#[derive(Debug, Deserialize)]
pub struct PageIds {
    #[serde(default)]
    entry: Vec<EntryId>,
}

#[derive(Debug, Deserialize)]
struct EntryId {
    #[serde(deserialize_with = "id_text")]
    id: String,
}

impl PageIds {
    /// The distinct Page ids, in order of appearance; `None` when the body is not an envelope.
    pub fn parse(body: &[u8]) -> Option<Vec<String>> {
        let ids: PageIds = serde_json::from_slice(body).ok()?;
        let mut out: Vec<String> = Vec::new();
        for e in ids.entry {
            if !out.contains(&e.id) {
                out.push(e.id);
            }
        }
        Some(out)
    }
}

#[derive(Debug, Deserialize)]
pub struct Envelope {
    #[serde(default)]
    pub object: String,
    #[serde(default)]
    pub entry: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
pub struct Entry {
    #[serde(deserialize_with = "id_text")]
    pub id: String,
    #[serde(default)]
    pub time: i64,
    /// Read one by one (`Event::read`), so that one we cannot read is skipped alone.
    #[serde(default)]
    pub messaging: Vec<serde_json::Value>,
    /// Events of threads another app controls (Conversation Routing / handover).
    #[serde(default)]
    pub standby: Vec<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Party {
    #[serde(deserialize_with = "id_text")]
    pub id: String,
}

/// One messaging event as Meta sends it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Event {
    pub sender: Option<Party>,
    pub recipient: Option<Party>,
    /// Milliseconds since the epoch (Meta's clock).
    #[serde(default)]
    pub timestamp: i64,
    pub message: Option<Message>,
    pub postback: Option<Postback>,
    pub delivery: Option<Delivery>,
    pub read: Option<Read>,
    pub referral: Option<Referral>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Message {
    pub mid: String,
    pub text: Option<String>,
    pub quick_reply: Option<QuickReply>,
    #[serde(default)]
    pub attachments: Vec<Attachment>,
    pub reply_to: Option<ReplyTo>,
    #[serde(default)]
    pub is_echo: bool,
    /// A JSON number in Meta's echoes; kept as its digits.
    #[serde(default, deserialize_with = "opt_id_text")]
    pub app_id: Option<String>,
    pub metadata: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct QuickReply {
    pub payload: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Attachment {
    #[serde(rename = "type", default)]
    pub kind: String,
    pub payload: Option<AttachmentPayload>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct AttachmentPayload {
    pub url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ReplyTo {
    pub mid: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Postback {
    pub mid: Option<String>,
    pub title: Option<String>,
    pub payload: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Delivery {
    pub mids: Option<Vec<String>>,
    pub watermark: i64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Read {
    pub watermark: i64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Referral {
    #[serde(rename = "ref")]
    pub reference: Option<String>,
    pub source: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
}

/// What an event is, for the channel actor.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// The person wrote (text, attachments, a quick reply).
    Message(Message),
    /// A message the Page sent: ours (our app id) or a native reply.
    Echo(Message),
    Postback(Postback),
    Delivery(Delivery),
    Read(Read),
    Referral(Referral),
}

/// An event of one Page, with the person it concerns.
#[derive(Debug, Clone, PartialEq)]
pub struct PageEvent {
    /// The person's PSID: the sender of what they do, the recipient of an echo.
    pub psid: String,
    pub timestamp: i64,
    /// From `standby[]`: another app controls the thread.
    pub standby: bool,
    pub kind: Kind,
}

impl Event {
    fn into_page_event(self, page_id: &str, standby: bool) -> Option<PageEvent> {
        let sender = self.sender.map(|p| p.id);
        let recipient = self.recipient.map(|p| p.id);
        let (kind, psid) = if let Some(m) = self.message {
            if m.is_echo {
                (Kind::Echo(m), recipient)
            } else {
                (Kind::Message(m), sender)
            }
        } else if let Some(p) = self.postback {
            (Kind::Postback(p), sender)
        } else if let Some(d) = self.delivery {
            (Kind::Delivery(d), sender)
        } else if let Some(r) = self.read {
            (Kind::Read(r), sender)
        } else if let Some(r) = self.referral {
            (Kind::Referral(r), sender)
        } else {
            return None;
        };
        // The person is never the Page itself.
        let psid = psid.filter(|p| !p.is_empty() && p != page_id)?;
        Some(PageEvent {
            psid,
            timestamp: self.timestamp,
            standby,
            kind,
        })
    }
}

/// The events of `page_id` in a body, each person's in timestamp order (a stable sort, so
/// events with one timestamp keep the order Meta listed them in). Unknown or unreadable
/// events are left out.
pub fn page_events(body: &str, page_id: &str) -> Result<Vec<PageEvent>, String> {
    let env: Envelope =
        serde_json::from_str(body).map_err(|e| format!("not a webhook envelope: {e}"))?;
    let mut out = Vec::new();
    for entry in env.entry.into_iter().filter(|e| e.id == page_id) {
        let all = entry
            .messaging
            .into_iter()
            .map(|v| (v, false))
            .chain(entry.standby.into_iter().map(|v| (v, true)));
        for (raw, standby) in all {
            match serde_json::from_value::<Event>(raw) {
                Ok(ev) => out.extend(ev.into_page_event(page_id, standby)),
                Err(e) => {
                    tracing::warn!(error = %e, page_id, "skipped an unreadable webhook event")
                }
            }
        }
    }
    out.sort_by_key(|e| e.timestamp);
    Ok(out)
}

/// Whether `header` (`X-Hub-Signature-256`: `sha256=<hex>`) is the HMAC-SHA256 of `body`
/// under `app_secret`, compared in constant time. Anything else — no header, another
/// algorithm, hex that does not parse, an empty secret — is `false`.
pub fn signature_ok(app_secret: &str, body: &[u8], header: Option<&str>) -> bool {
    use hmac::{Hmac, Mac};
    let Some(hex_sig) = header.and_then(|h| h.trim().strip_prefix("sha256=")) else {
        return false;
    };
    let Ok(sig) = hex::decode(hex_sig) else {
        return false;
    };
    if app_secret.is_empty() {
        return false;
    }
    let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(app_secret.as_bytes()) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&sig).is_ok()
}

/// Compares two secrets without an early exit on the first differing byte (the verify token).
pub fn same_secret(a: &str, b: &str) -> bool {
    use sha2::{Digest, Sha256};
    let (x, y) = (Sha256::digest(a.as_bytes()), Sha256::digest(b.as_bytes()));
    x.iter()
        .zip(y.iter())
        .fold(0u8, |acc, (p, q)| acc | (p ^ q))
        == 0
}

/// An id Meta sends as a string (or, for `app_id`, as a number).
fn id_text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id {
        Text(String),
        Number(u64),
    }
    Ok(match Id::deserialize(d)? {
        Id::Text(s) => s,
        Id::Number(n) => n.to_string(),
    })
}

fn opt_id_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    struct Wrap(#[serde(deserialize_with = "id_text")] String);
    Ok(Option::<Wrap>::deserialize(d)?.map(|w| w.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const PAGE: &str = "1234567890";

    fn body(messaging: serde_json::Value) -> String {
        json!({"object": "page", "entry": [{"id": PAGE, "time": 1458692752478i64, "messaging": messaging}]})
            .to_string()
    }

    #[test]
    fn a_message_with_quick_reply_attachments_and_reply_to() {
        let b = body(json!([{
            "sender": {"id": "PSID1"}, "recipient": {"id": PAGE}, "timestamp": 1458692752478i64,
            "message": {"mid": "m_1", "text": "hi", "quick_reply": {"payload": "YES"},
                "attachments": [{"type": "image", "payload": {"url": "https://x.example/a.png"}}],
                "reply_to": {"mid": "m_0"}}
        }]));
        let ev = page_events(&b, PAGE).unwrap();
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].psid, "PSID1");
        assert_eq!(ev[0].timestamp, 1458692752478);
        assert!(!ev[0].standby);
        let Kind::Message(m) = &ev[0].kind else {
            panic!("{ev:?}")
        };
        assert_eq!(m.mid, "m_1");
        assert_eq!(m.text.as_deref(), Some("hi"));
        assert_eq!(
            m.quick_reply.as_ref().unwrap().payload.as_deref(),
            Some("YES")
        );
        assert_eq!(m.attachments[0].kind, "image");
        assert_eq!(
            m.attachments[0].payload.as_ref().unwrap().url.as_deref(),
            Some("https://x.example/a.png")
        );
        assert_eq!(m.reply_to.as_ref().unwrap().mid, "m_0");
    }

    #[test]
    fn an_echo_is_about_its_recipient_and_keeps_app_id_digits() {
        let b = body(json!([{
            "sender": {"id": PAGE}, "recipient": {"id": "PSID1"}, "timestamp": 5,
            "message": {"is_echo": true, "app_id": 1517776481860111u64, "metadata": "sb:42",
                "mid": "m_e", "text": "hello"}
        }]));
        let ev = page_events(&b, PAGE).unwrap();
        assert_eq!(ev[0].psid, "PSID1");
        let Kind::Echo(m) = &ev[0].kind else {
            panic!("{ev:?}")
        };
        assert_eq!(m.app_id.as_deref(), Some("1517776481860111"));
        assert_eq!(m.metadata.as_deref(), Some("sb:42"));
    }

    #[test]
    fn postback_delivery_read_and_referral() {
        let b = body(json!([
            {"sender": {"id": "P"}, "recipient": {"id": PAGE}, "timestamp": 1,
             "postback": {"mid": "m_p", "title": "Get Started", "payload": "GET_STARTED"}},
            {"sender": {"id": "P"}, "recipient": {"id": PAGE}, "timestamp": 2,
             "delivery": {"mids": ["m_x"], "watermark": 1458668856253i64}},
            {"sender": {"id": "P"}, "recipient": {"id": PAGE}, "timestamp": 3,
             "delivery": {"watermark": 7}},
            {"sender": {"id": "P"}, "recipient": {"id": PAGE}, "timestamp": 4,
             "read": {"watermark": 1458668856253i64}},
            {"sender": {"id": "P"}, "recipient": {"id": PAGE}, "timestamp": 5,
             "referral": {"ref": "promo", "source": "SHORTLINK", "type": "OPEN_THREAD"}}
        ]));
        let kinds: Vec<Kind> = page_events(&b, PAGE)
            .unwrap()
            .into_iter()
            .map(|e| e.kind)
            .collect();
        assert_eq!(
            kinds,
            vec![
                Kind::Postback(Postback {
                    mid: Some("m_p".into()),
                    title: Some("Get Started".into()),
                    payload: Some("GET_STARTED".into()),
                }),
                Kind::Delivery(Delivery {
                    mids: Some(vec!["m_x".into()]),
                    watermark: 1458668856253
                }),
                Kind::Delivery(Delivery {
                    mids: None,
                    watermark: 7
                }),
                Kind::Read(Read {
                    watermark: 1458668856253
                }),
                Kind::Referral(Referral {
                    reference: Some("promo".into()),
                    source: Some("SHORTLINK".into()),
                    kind: Some("OPEN_THREAD".into()),
                }),
            ]
        );
    }

    #[test]
    fn unknown_and_unreadable_events_are_skipped_and_the_rest_kept() {
        let b = body(json!([
            {"sender": {"id": "P"}, "recipient": {"id": PAGE}, "timestamp": 1,
             "reaction": {"mid": "m_1", "action": "react", "emoji": "x"}},
            {"sender": {"id": "P"}, "recipient": {"id": PAGE}, "timestamp": 2,
             "message": {"text": "no mid"}},
            {"sender": {"id": "P"}, "recipient": {"id": PAGE}, "timestamp": 3,
             "message": {"mid": "m_ok", "text": "fine"}}
        ]));
        let ev = page_events(&b, PAGE).unwrap();
        assert_eq!(ev.len(), 1);
        assert!(matches!(&ev[0].kind, Kind::Message(m) if m.mid == "m_ok"));
    }

    #[test]
    fn events_are_ordered_by_timestamp_and_standby_is_marked() {
        let b = json!({"object": "page", "entry": [
            {"id": PAGE, "time": 1, "messaging": [
                {"sender": {"id": "A"}, "recipient": {"id": PAGE}, "timestamp": 30,
                 "message": {"mid": "a2", "text": "2"}},
                {"sender": {"id": "A"}, "recipient": {"id": PAGE}, "timestamp": 10,
                 "message": {"mid": "a1", "text": "1"}}]},
            {"id": "other-page", "time": 1, "messaging": [
                {"sender": {"id": "B"}, "recipient": {"id": "other-page"}, "timestamp": 1,
                 "message": {"mid": "b1", "text": "x"}}]},
            {"id": PAGE, "time": 1, "standby": [
                {"sender": {"id": "C"}, "recipient": {"id": PAGE}, "timestamp": 20,
                 "message": {"mid": "c1", "text": "s"}}]}
        ]})
        .to_string();
        let ev = page_events(&b, PAGE).unwrap();
        let got: Vec<(&str, bool)> = ev
            .iter()
            .map(|e| match &e.kind {
                Kind::Message(m) => (m.mid.as_str(), e.standby),
                _ => panic!(),
            })
            .collect();
        assert_eq!(got, [("a1", false), ("c1", true), ("a2", false)]);
        assert_eq!(
            PageIds::parse(b.as_bytes()).unwrap(),
            [PAGE.to_string(), "other-page".to_string()]
        );
    }

    fn sign(secret: &str, body: &[u8]) -> String {
        use hmac::{Hmac, Mac};
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(body);
        format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    }

    #[test]
    fn signatures_fail_closed() {
        let body = br#"{"object":"page","entry":[]}"#;
        let good = sign("s3cret", body);
        assert!(signature_ok("s3cret", body, Some(&good)));
        assert!(!signature_ok("s3cret", b"{}", Some(&good)), "another body");
        assert!(!signature_ok("other", body, Some(&good)), "another secret");
        assert!(
            !signature_ok("", body, Some(&sign("", body))),
            "empty secret"
        );
        assert!(!signature_ok("s3cret", body, None), "no header");
        let sha1 = good.replacen("sha256=", "sha1=", 1);
        assert!(!signature_ok("s3cret", body, Some(&sha1)), "sha1");
        assert!(!signature_ok("s3cret", body, Some("sha256=zz")), "bad hex");
        assert!(
            !signature_ok("s3cret", body, Some(&good[..good.len() - 2])),
            "short"
        );
    }

    #[test]
    fn verify_tokens_compare_whole() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "abcd"));
    }

    #[test]
    fn page_ids_of_a_body_that_is_not_an_envelope() {
        assert_eq!(PageIds::parse(b"not json"), None);
        assert_eq!(PageIds::parse(b"{}"), Some(vec![]));
        assert_eq!(
            PageIds::parse(br#"{"entry":[{"id":123}]}"#),
            Some(vec!["123".into()])
        );
    }
}
