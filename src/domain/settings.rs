//! A project's settings (`projects.settings`, one JSON object), read and written only here.
//!
//! Reading is lenient: a missing or malformed field has its default, so a hand-edited or
//! half-written object never stops a conversation. Keys this server does not know (written
//! by a newer version, or by hand) are kept in `extra` and written back as they were.

use crate::db;
use crate::domain::alerts::NotificationSettings;
use crate::domain::hosting::HostingSettings;
use crate::error::{AppError, AppResult, NotFoundExt};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

/// Longest quiet period before a session is ended automatically (a year).
pub const MAX_AUTO_END_SECS: i64 = 365 * 86_400;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProjectSettings {
    /// End a session after this many seconds without messages; 0: never.
    #[serde(default, deserialize_with = "auto_end_secs")]
    pub auto_end_after_secs: i64,
    /// E-mail alerts when a visitor waits for a human reply.
    #[serde(default, deserialize_with = "lenient")]
    pub notifications: NotificationSettings,
    /// Robot hosting: whether new sessions start hosted, whether an agent's reply hands off.
    #[serde(default, deserialize_with = "lenient")]
    pub hosting: HostingSettings,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ProjectSettings {
    /// The settings in a stored object; anything but an object reads as the defaults.
    pub fn from_value(v: Value) -> ProjectSettings {
        serde_json::from_value(v).unwrap_or_default()
    }

    /// The quiet period after which a session ends, when auto-end is on.
    pub fn auto_end(&self) -> Option<i64> {
        Some(self.auto_end_after_secs).filter(|s| *s > 0)
    }
}

/// A field's value, or its default when the stored value has another shape.
pub(crate) fn lenient<'de, D: Deserializer<'de>, T: DeserializeOwned + Default>(
    d: D,
) -> Result<T, D::Error> {
    Ok(serde_json::from_value(Value::deserialize(d)?).unwrap_or_default())
}

fn auto_end_secs<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    let secs: i64 = lenient(d)?;
    Ok(if (0..=MAX_AUTO_END_SECS).contains(&secs) {
        secs
    } else {
        0
    })
}

/// The project's settings.
pub async fn load(conn: &mut AsyncPgConnection, project_id: i64) -> AppResult<ProjectSettings> {
    let raw = db::projects::settings(conn, project_id)
        .await
        .or_not_found("project")?;
    Ok(ProjectSettings::from_value(raw))
}

/// Reads the settings with the project row locked, lets `change` edit them and writes them
/// back whole (unknown keys included). Call it inside a transaction: the lock is what keeps
/// two changes from overwriting each other. Returns the settings written and what `change`
/// returned; an error from `change` writes nothing.
pub async fn update_locked<R>(
    conn: &mut AsyncPgConnection,
    project_id: i64,
    change: impl FnOnce(&mut ProjectSettings) -> AppResult<R>,
) -> AppResult<(ProjectSettings, R)> {
    let raw = db::projects::lock_settings(conn, project_id)
        .await
        .or_not_found("project")?;
    let mut settings = ProjectSettings::from_value(raw);
    let out = change(&mut settings)?;
    let value = serde_json::to_value(&settings).map_err(AppError::internal)?;
    db::projects::write_settings(conn, project_id, &value).await?;
    Ok((settings, out))
}

/// `PATCH /api/projects/{pid}/settings`: the keys given replace theirs; every key is checked
/// first, so one bad key changes nothing. Only `auto_end_after_secs` is set this way (alerts
/// have their own endpoint).
pub async fn patch(
    conn: &mut AsyncPgConnection,
    project_id: i64,
    patch: &Value,
) -> AppResult<ProjectSettings> {
    let obj = patch
        .as_object()
        .ok_or_else(|| AppError::validation("settings must be a JSON object"))?;
    let mut auto_end = None;
    for (key, value) in obj {
        match key.as_str() {
            "auto_end_after_secs" => {
                auto_end = Some(
                    value
                        .as_i64()
                        .filter(|n| (0..=MAX_AUTO_END_SECS).contains(n))
                        .ok_or_else(|| {
                            AppError::validation(format!(
                                "auto_end_after_secs must be a whole number of seconds from 0 to {MAX_AUTO_END_SECS}"
                            ))
                        })?,
                );
            }
            other => return Err(AppError::validation(format!("unknown setting {other}"))),
        }
    }
    conn.transaction(async move |conn| {
        let (settings, ()) = update_locked(conn, project_id, |s| {
            if let Some(secs) = auto_end {
                s.auto_end_after_secs = secs;
            }
            Ok(())
        })
        .await?;
        Ok(settings)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::alerts::DEFAULT_WAIT_SECS;
    use serde_json::json;

    #[test]
    fn missing_and_malformed_fields_read_as_their_defaults() {
        assert_eq!(
            ProjectSettings::from_value(json!({})),
            ProjectSettings::default()
        );
        assert_eq!(
            ProjectSettings::from_value(Value::Null),
            ProjectSettings::default()
        );
        let s = ProjectSettings::from_value(json!({
            "auto_end_after_secs": "soon",
            "notifications": {"email_enabled": true, "wait_secs": 0, "include_bot_hosted": "yes"}
        }));
        assert_eq!(s.auto_end(), None);
        assert_eq!(
            s.notifications,
            NotificationSettings {
                email_enabled: true,
                wait_secs: DEFAULT_WAIT_SECS,
                include_bot_hosted: false
            }
        );
        assert_eq!(
            ProjectSettings::from_value(json!({"auto_end_after_secs": -5})).auto_end(),
            None
        );
        assert_eq!(
            ProjectSettings::from_value(json!({"auto_end_after_secs": 3600})).auto_end(),
            Some(3600)
        );
        assert_eq!(
            ProjectSettings::from_value(json!({"notifications": []})).notifications,
            NotificationSettings::default()
        );
    }

    #[test]
    fn unknown_keys_survive_a_read_and_write() {
        let stored = json!({
            "auto_end_after_secs": 60,
            "theme": {"accent": "#336699"},
            "business_hours": [1, 2, 3],
        });
        let mut s = ProjectSettings::from_value(stored);
        s.auto_end_after_secs = 120;
        s.notifications.email_enabled = true;
        let written = serde_json::to_value(&s).unwrap();
        assert_eq!(written["theme"], json!({"accent": "#336699"}));
        assert_eq!(written["business_hours"], json!([1, 2, 3]));
        assert_eq!(written["auto_end_after_secs"], 120);
        assert_eq!(written["notifications"]["email_enabled"], true);
        assert_eq!(
            ProjectSettings::from_value(written),
            s,
            "reads back the same"
        );
    }
}
