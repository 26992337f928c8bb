//! Customer info: validating and applying an edit of a contact's note name, phone, e-mail and
//! labels — all fields or none, with one audit row per changed field in the same transaction —
//! and the live `contact` frame sent after the commit.

use crate::db::{
    self,
    contact_changes::NewContactChange,
    contacts::{Contact, ContactChanges},
    enums::SessionStatus,
};
use crate::domain::access::Access;
use crate::domain::events::Event;
use crate::domain::projects::validate_email;
use crate::error::{AppError, AppResult, NotFoundExt};
use chrono::Utc;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::{Deserialize, Deserializer};
use serde_json::{json, Value};

pub const NOTE_NAME_MAX: usize = 100;
pub const LABELS_MAX: usize = 20;
pub const LABEL_MAX: usize = 32;

/// A field that may be absent (unchanged), `null` (cleared) or a value.
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// `PATCH …/contacts/{cid}`: absent fields stay, `null` or `""` clears a text field.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactPatch {
    /// At most 100 characters, trimmed; empty or null clears it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub note_name: Option<Option<String>>,
    /// E.164: `+` and 8 to 15 digits; spaces, dashes, dots and parentheses are accepted and
    /// removed (`+49 (30) 123-4567` → `+49301234567`).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub email: Option<Option<String>>,
    /// Visitor labels: at most 20, each 1 to 32 characters, trimmed, duplicates dropped.
    pub labels: Option<Vec<String>>,
}

fn clean_text(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

pub fn normalize_note_name(v: Option<String>) -> AppResult<Option<String>> {
    let v = clean_text(v);
    if v.as_ref()
        .is_some_and(|s| s.chars().count() > NOTE_NAME_MAX)
    {
        return Err(AppError::validation(format!(
            "note_name must have at most {NOTE_NAME_MAX} characters"
        )));
    }
    Ok(v)
}

/// `+` and 8 to 15 digits, after removing spaces, dashes, dots and parentheses.
pub fn normalize_phone(v: Option<String>) -> AppResult<Option<String>> {
    let Some(raw) = clean_text(v) else {
        return Ok(None);
    };
    let bad = || {
        AppError::validation(
            "phone must be an international number: + and 8 to 15 digits (e.g. +49 30 1234567)",
        )
    };
    let rest = raw.strip_prefix('+').ok_or_else(bad)?;
    let mut digits = String::with_capacity(15);
    for c in rest.chars() {
        match c {
            '0'..='9' => digits.push(c),
            ' ' | '-' | '.' | '(' | ')' => {}
            _ => return Err(bad()),
        }
    }
    if !(8..=15).contains(&digits.len()) {
        return Err(bad());
    }
    Ok(Some(format!("+{digits}")))
}

pub fn normalize_email(v: Option<String>) -> AppResult<Option<String>> {
    match clean_text(v) {
        None => Ok(None),
        Some(e) => validate_email(&e)
            .map(Some)
            .map_err(|_| AppError::validation("email is not a valid e-mail address")),
    }
}

pub fn normalize_labels(v: Vec<String>) -> AppResult<Vec<String>> {
    let mut out: Vec<String> = Vec::with_capacity(v.len());
    for l in v {
        let l = l.trim();
        let n = l.chars().count();
        if n == 0 || n > LABEL_MAX {
            return Err(AppError::validation(format!(
                "labels: each label must have 1 to {LABEL_MAX} characters"
            )));
        }
        if !out.iter().any(|o| o == l) {
            out.push(l.to_owned());
        }
    }
    if out.len() > LABELS_MAX {
        return Err(AppError::validation(format!(
            "labels: at most {LABELS_MAX} labels"
        )));
    }
    Ok(out)
}

/// The validated patch: every field normalised, or the first error (nothing applied).
#[derive(Debug, Default, PartialEq)]
pub struct ValidPatch {
    pub note_name: Option<Option<String>>,
    pub phone: Option<Option<String>>,
    pub email: Option<Option<String>>,
    pub labels: Option<Vec<String>>,
}

pub fn validate(p: ContactPatch) -> AppResult<ValidPatch> {
    Ok(ValidPatch {
        note_name: p.note_name.map(normalize_note_name).transpose()?,
        phone: p.phone.map(normalize_phone).transpose()?,
        email: p.email.map(normalize_email).transpose()?,
        labels: p.labels.map(normalize_labels).transpose()?,
    })
}

/// What an edit did: the contact as it is now, its sessions (status, assignee) for the fan-out
/// and their ids, and whether anything changed.
pub struct Edited {
    pub contact: Contact,
    pub sessions: Vec<(SessionStatus, Option<i64>)>,
    pub session_ids: Vec<i64>,
    pub changed: bool,
}

/// Applies a customer-info edit in one transaction: locks the contact, checks
/// `Access::check_edit_contact`, writes the changed fields and one `contact_changes` row per
/// changed field. Unchanged fields write nothing; an edit that changes nothing commits nothing.
pub async fn edit(
    conn: &mut AsyncPgConnection,
    access: &Access,
    contact_id: i64,
    patch: ContactPatch,
) -> AppResult<Edited> {
    let patch = validate(patch)?;
    let access = access.clone();
    conn.transaction(async move |conn| {
        let before = db::contacts::lock(conn, access.project_id, contact_id)
            .await
            .or_not_found("contact")?;
        let (session_ids, sessions): (Vec<i64>, Vec<_>) =
            db::contacts::sessions_of(conn, contact_id)
                .await?
                .into_iter()
                .map(|(id, status, assignee)| (id, (status, assignee)))
                .unzip();
        access.check_edit_contact(&sessions)?;

        let mut changes = ContactChanges::default();
        let mut audit = Vec::new();
        let mut record = |field: &str, old: Value, new: Value| {
            audit.push(NewContactChange {
                contact_id,
                user_id: Some(access.user_id),
                field: field.to_owned(),
                old,
                new,
            })
        };
        if let Some(v) = patch.note_name.filter(|v| *v != before.note_name) {
            record("note_name", json!(before.note_name), json!(v));
            changes.note_name = Some(v);
        }
        if let Some(v) = patch.phone.filter(|v| *v != before.phone) {
            record("phone", json!(before.phone), json!(v));
            changes.phone = Some(v);
        }
        if let Some(v) = patch.email.filter(|v| *v != before.email) {
            record("email", json!(before.email), json!(v));
            changes.email = Some(v);
        }
        if let Some(v) = patch.labels.filter(|v| *v != before.labels) {
            record("labels", json!(before.labels), json!(v));
            changes.labels = Some(v);
        }
        if audit.is_empty() {
            return Ok(Edited {
                contact: before,
                sessions,
                session_ids,
                changed: false,
            });
        }
        changes.updated_at = Some(Utc::now());
        let contact = db::contacts::update(conn, access.project_id, contact_id, changes).await?;
        db::contact_changes::insert_all(conn, &audit).await?;
        Ok(Edited {
            contact,
            sessions,
            session_ids,
            changed: true,
        })
    })
    .await
}

impl Edited {
    /// What the edit announces after its commit: the `contact` frame to every agent who sees
    /// the contact (chat lists, Contacts and Session management update live), and the new
    /// names to its running session actors, whose `session` frames carry them.
    pub fn events(&self) -> Vec<Event> {
        if !self.changed {
            return Vec::new();
        }
        vec![Event::ContactChanged {
            contact: self.contact.clone(),
            sessions: self.sessions.clone(),
            session_ids: self.session_ids.clone(),
        }]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Option<String> {
        Some(v.to_owned())
    }

    #[test]
    fn phone_numbers_are_normalised_to_e164() {
        assert_eq!(
            normalize_phone(s(" +49 (30) 123-45.67 ")).unwrap(),
            s("+49301234567")
        );
        assert_eq!(normalize_phone(s("")).unwrap(), None);
        assert_eq!(normalize_phone(None).unwrap(), None);
        for bad in [
            "0301234567",
            "+1234567",
            "+1234567890123456",
            "+49 30 12a4567",
            "++4930123456",
        ] {
            let e = normalize_phone(s(bad)).unwrap_err();
            assert!(e.message.contains("phone"), "{bad}: {}", e.message);
        }
    }

    #[test]
    fn labels_are_trimmed_deduplicated_and_bounded() {
        assert_eq!(
            normalize_labels(vec![" vip ".into(), "vip".into(), "b2b".into()]).unwrap(),
            vec!["vip".to_string(), "b2b".to_string()]
        );
        assert!(normalize_labels(vec!["  ".into()]).is_err());
        assert!(normalize_labels(vec!["x".repeat(33)]).is_err());
        assert!(normalize_labels((0..21).map(|i| i.to_string()).collect()).is_err());
        assert!(normalize_labels((0..20).map(|i| i.to_string()).collect()).is_ok());
    }

    #[test]
    fn a_patch_distinguishes_absent_null_and_values() {
        let p: ContactPatch =
            serde_json::from_value(json!({"note_name": null, "email": " a@b.example "})).unwrap();
        let v = validate(p).unwrap();
        assert_eq!(v.note_name, Some(None));
        assert_eq!(v.email, Some(s("a@b.example")));
        assert_eq!(v.phone, None);
        assert_eq!(v.labels, None);
        assert!(serde_json::from_value::<ContactPatch>(json!({"name": "x"})).is_err());
        let long = ContactPatch {
            note_name: Some(Some("n".repeat(101))),
            ..Default::default()
        };
        assert!(validate(long).unwrap_err().message.contains("note_name"));
        let bad_mail = ContactPatch {
            email: Some(s("nope")),
            ..Default::default()
        };
        assert!(validate(bad_mail).unwrap_err().message.contains("email"));
    }
}
