//! Text that clients send, checked once where it enters (HTTP bodies and query strings in
//! `http::input`, websocket frames in `protocol`): PostgreSQL refuses U+0000 in `text` and
//! `jsonb`, so a NUL anywhere would otherwise surface as an `internal` error from whichever
//! query first stored it. Checking every string at the boundary keeps domain code free of it.

use crate::error::AppError;
use serde_json::Value;
use std::fmt::Write;

const NUL: char = '\0';

/// Refuses a JSON value with a NUL in any string or object key, naming where it is
/// (`note_name`, `labels[1]`, `settings.theme`).
pub fn check_json(value: &Value) -> Result<(), AppError> {
    let mut path = String::new();
    match find_nul(value, &mut path) {
        None => Ok(()),
        Some(Found::Key) if path.is_empty() => Err(AppError::validation(
            "a field name contains a NUL character (U+0000)",
        )),
        Some(Found::Key) => Err(AppError::validation(format!(
            "a field name in `{path}` contains a NUL character (U+0000)"
        ))),
        Some(Found::Value) if path.is_empty() => Err(AppError::validation(
            "the value contains a NUL character (U+0000)",
        )),
        Some(Found::Value) => Err(AppError::validation(format!(
            "field `{path}` contains a NUL character (U+0000)"
        ))),
    }
}

/// Refuses decoded query-string pairs with a NUL in a name or a value, naming the parameter.
pub fn check_query<'a>(
    pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<(), AppError> {
    for (name, value) in pairs {
        if name.contains(NUL) {
            return Err(AppError::validation(
                "a query parameter name contains a NUL character (U+0000)",
            ));
        }
        if value.contains(NUL) {
            return Err(AppError::validation(format!(
                "query parameter `{name}` contains a NUL character (U+0000)"
            )));
        }
    }
    Ok(())
}

enum Found {
    Key,
    Value,
}

/// Depth-first; on a find, `path` is left naming the string (or the object holding the key).
fn find_nul(value: &Value, path: &mut String) -> Option<Found> {
    match value {
        Value::String(s) if s.contains(NUL) => Some(Found::Value),
        Value::Array(items) => items.iter().enumerate().find_map(|(i, item)| {
            let len = path.len();
            let _ = write!(path, "[{i}]");
            let found = find_nul(item, path);
            if found.is_none() {
                path.truncate(len);
            }
            found
        }),
        Value::Object(fields) => fields.iter().find_map(|(key, item)| {
            if key.contains(NUL) {
                return Some(Found::Key);
            }
            let len = path.len();
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(key);
            let found = find_nul(item, path);
            if found.is_none() {
                path.truncate(len);
            }
            found
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use serde_json::json;

    fn refusal(v: Value) -> String {
        let e = check_json(&v).unwrap_err();
        assert_eq!(e.code, ErrorCode::Validation);
        e.message
    }

    #[test]
    fn text_without_nul_passes() {
        let v = json!({"a": ["x", 1, null, {"b": "ü\u{1}"}], "c": true});
        assert!(check_json(&v).is_ok());
        assert!(check_query([("q", "a b"), ("limit", "5")]).is_ok());
    }

    #[test]
    fn a_nul_is_refused_naming_its_path() {
        assert_eq!(
            refusal(json!({"note_name": "a\u{0}"})),
            "field `note_name` contains a NUL character (U+0000)"
        );
        assert_eq!(
            refusal(json!({"labels": ["ok", "b\u{0}"]})),
            "field `labels[1]` contains a NUL character (U+0000)"
        );
        assert_eq!(
            refusal(json!({"a": {"b": [{"c": "\u{0}"}]}})),
            "field `a.b[0].c` contains a NUL character (U+0000)"
        );
        assert_eq!(
            refusal(json!(["x", "\u{0}"])),
            "field `[1]` contains a NUL character (U+0000)"
        );
        assert_eq!(
            refusal(json!("\u{0}")),
            "the value contains a NUL character (U+0000)"
        );
    }

    #[test]
    fn a_nul_in_a_key_is_refused() {
        assert_eq!(
            refusal(json!({"k\u{0}": 1})),
            "a field name contains a NUL character (U+0000)"
        );
        assert_eq!(
            refusal(json!({"settings": {"k\u{0}": 1}})),
            "a field name in `settings` contains a NUL character (U+0000)"
        );
    }

    #[test]
    fn a_nul_in_a_query_parameter_is_refused_naming_it() {
        let e = check_query([("limit", "5"), ("q", "a\0")]).unwrap_err();
        assert_eq!(e.code, ErrorCode::Validation);
        assert_eq!(
            e.message,
            "query parameter `q` contains a NUL character (U+0000)"
        );
        assert!(check_query([("q\0", "a")]).is_err());
    }
}
