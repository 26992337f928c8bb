//! A member's own chat-list settings in one project (`project_members.preferences`).

use crate::db;
use crate::domain::access::Access;
use crate::error::{AppError, AppResult};
use diesel_async::AsyncPgConnection;
use serde::Serialize;
use serde_json::Value;

/// The settings with their defaults filled in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Preferences {
    /// Show the visitor's labels in the chat list (default false).
    pub show_visitor_labels: bool,
    /// Show the note name before the visitor's own name (default false).
    pub note_name_first: bool,
}

impl Preferences {
    pub fn from_stored(v: &Value) -> Preferences {
        let flag = |k: &str| v.get(k).and_then(Value::as_bool).unwrap_or(false);
        Preferences {
            show_visitor_labels: flag("show_visitor_labels"),
            note_name_first: flag("note_name_first"),
        }
    }
}

/// A patch must be an object of known keys with boolean values.
pub fn validate_patch(patch: &Value) -> AppResult<()> {
    let obj = patch
        .as_object()
        .ok_or_else(|| AppError::validation("preferences must be a JSON object"))?;
    for (key, value) in obj {
        match key.as_str() {
            "show_visitor_labels" | "note_name_first" => {
                if !value.is_boolean() {
                    return Err(AppError::validation(format!("{key} must be true or false")));
                }
            }
            other => return Err(AppError::validation(format!("unknown preference {other}"))),
        }
    }
    Ok(())
}

/// The caller's own preferences.
pub async fn get(conn: &mut AsyncPgConnection, access: &Access) -> AppResult<Preferences> {
    let stored = db::projects::preferences(conn, access.project_id, access.user_id).await?;
    Ok(Preferences::from_stored(&stored))
}

/// Merges a validated patch into the caller's own row only.
pub async fn patch(
    conn: &mut AsyncPgConnection,
    access: &Access,
    patch: &Value,
) -> AppResult<Preferences> {
    validate_patch(patch)?;
    let stored =
        db::projects::merge_preferences(conn, access.project_id, access.user_id, patch).await?;
    Ok(Preferences::from_stored(&stored))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_known_boolean_keys_pass() {
        assert!(validate_patch(&json!({"note_name_first": true})).is_ok());
        assert!(validate_patch(&json!({"note_name_first": "yes"})).is_err());
        assert!(validate_patch(&json!({"theme": "dark"})).is_err());
        assert!(validate_patch(&json!([])).is_err());
        assert_eq!(
            Preferences::from_stored(&json!({"show_visitor_labels": true})),
            Preferences {
                show_visitor_labels: true,
                note_name_first: false
            }
        );
    }
}
