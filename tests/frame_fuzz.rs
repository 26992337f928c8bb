//! Property tests of the parsers that read untrusted bytes: the websocket frame parsers
//! (`protocol::parse_visitor`, `parse_agent`) and the Messenger webhook body parsers
//! (`PageIds::parse`, `page_events`). Arbitrary bytes and structurally valid but hostile JSON
//! (deep nesting, huge numbers, duplicate keys, huge strings) must never panic, must be refused
//! with one of the stable codes, and deep nesting must be refused by serde_json's recursion
//! limit rather than overflow the stack.

use proptest::prelude::*;
use serde_json::{json, Value};
use switchboard::domain::messenger::webhook::{page_events, PageIds};
use switchboard::protocol::{parse_agent, parse_visitor, VisitorIn, MAX_FRAME_BYTES};

/// The codes a frame refusal may carry; anything else (internal, …) is a bug.
const FRAME_CODES: &[&str] = &[
    "invalid_json",
    "invalid_frame",
    "unknown_type",
    "frame_too_large",
    "text_too_long",
    "validation",
];

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

fn assert_frame_refusal_stable(text: &str) -> Result<(), TestCaseError> {
    if let Err(r) = parse_visitor(text) {
        prop_assert!(FRAME_CODES.contains(&r.error.code.as_str()), "{}", r.error);
    }
    if let Err(r) = parse_agent(text) {
        prop_assert!(FRAME_CODES.contains(&r.error.code.as_str()), "{}", r.error);
    }
    Ok(())
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,20}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("type".to_owned()),
                    Just("client_id".to_owned()),
                    Just("text".to_owned()),
                    Just("ref".to_owned()),
                    Just("v".to_owned()),
                    Just("session_id".to_owned()),
                    "[a-z_]{1,8}"
                ],
                inner,
                0..8
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A JSON text nested `depth` deep, inside a field of an otherwise valid frame.
fn nested(depth: usize, array: bool) -> String {
    let (open, close) = if array { ("[", "]") } else { ("{\"a\":", "}") };
    let inner = format!("{}1{}", open.repeat(depth), close.repeat(depth));
    format!(r#"{{"type":"ping","ref":{inner}}}"#)
}

/// Numbers serde_json cannot hold: 10,000 digits, exponents past f64.
fn huge_number() -> impl Strategy<Value = String> {
    prop_oneof![
        (1usize..10_000).prop_map(|n| "9".repeat(n)),
        (1usize..10_000).prop_map(|n| format!("-{}", "1".repeat(n))),
        (309u32..100_000).prop_map(|e| format!("1e{e}")),
        (1usize..5_000).prop_map(|n| format!("0.{}1e-999", "0".repeat(n))),
    ]
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn frame_parsers_refuse_arbitrary_bytes_with_a_stable_code(
        bytes in prop::collection::vec(any::<u8>(), 0..2048)
    ) {
        assert_frame_refusal_stable(&String::from_utf8_lossy(&bytes))?;
    }

    #[test]
    fn frame_parsers_refuse_arbitrary_json_with_a_stable_code(value in json_value()) {
        assert_frame_refusal_stable(&value.to_string())?;
    }

    #[test]
    fn frame_parsers_answer_mutated_valid_frames_with_a_stable_code(
        kind in prop::sample::select(vec!["send", "typing", "take", "assign", "end", "resume", "ping", "Send", ""]),
        field in prop::sample::select(vec!["client_id", "text", "session_id", "after_seq", "on", "v", "ref", "button", "user_id", "zzz"]),
        value in json_value(),
    ) {
        let mut frame = json!({"type": kind, "client_id": "c1", "text": "hi", "session_id": 1, "after_seq": 0, "on": true});
        frame[field] = value;
        assert_frame_refusal_stable(&frame.to_string())?;
    }

    #[test]
    fn frame_parsers_keep_duplicate_keys_stable(
        first in json_value(), second in json_value()
    ) {
        let text = format!(r#"{{"type":"send","client_id":"c1","text":{first},"text":{second}}}"#);
        assert_frame_refusal_stable(&text)?;
    }

    #[test]
    fn a_valid_visitor_send_round_trips(client_id in "[^\u{0}]{1,40}", text in "[^\u{0}]{0,200}") {
        let frame = json!({"type": "send", "client_id": client_id, "text": text}).to_string();
        let parsed = parse_visitor(&frame).map_err(|r| TestCaseError::fail(r.error.to_string()))?;
        prop_assert_eq!(parsed, VisitorIn::Send { v: None, client_id, text, button: None });
    }

    #[test]
    fn webhook_parsers_never_panic_on_arbitrary_bytes(
        bytes in prop::collection::vec(any::<u8>(), 0..2048)
    ) {
        let _ = PageIds::parse(&bytes);
        let _ = page_events(&String::from_utf8_lossy(&bytes), "1");
    }

    #[test]
    fn webhook_parsers_never_panic_on_hostile_events(
        entry_id in json_value(), event in json_value(), id_text in "[0-9]{1,5}"
    ) {
        let body = json!({"object": "page", "entry": [
            {"id": entry_id, "messaging": [event.clone()]},
            {"id": id_text, "time": 1, "messaging": [event.clone()], "standby": [event]},
        ]}).to_string();
        let _ = PageIds::parse(body.as_bytes());
        let _ = page_events(&body, &id_text);
    }
}

proptest! {
    #![proptest_config(config(48))]

    #[test]
    fn deep_nesting_is_refused_not_overflowed(depth in 1usize..10_000, array in any::<bool>()) {
        let text = nested(depth, array);
        let visitor = parse_visitor(&text);
        let agent = parse_agent(&text);
        // serde_json's recursion limit (128) counts the frame object too.
        if depth >= 128 {
            let code = if text.len() > MAX_FRAME_BYTES { "frame_too_large" } else { "invalid_json" };
            prop_assert_eq!(visitor.err().map(|r| r.error.code.as_str()), Some(code));
            prop_assert_eq!(agent.err().map(|r| r.error.code.as_str()), Some(code));
        } else {
            prop_assert!(visitor.is_ok(), "depth {}", depth);
            prop_assert!(agent.is_ok(), "depth {}", depth);
        }
        let body = format!(r#"{{"object":"page","entry":[{{"id":"1","messaging":[{}]}}]}}"#, nested(depth, array));
        let _ = PageIds::parse(body.as_bytes());
        let events = page_events(&body, "1");
        if depth >= 124 {
            prop_assert!(events.is_err(), "depth {}", depth);
        }
    }

    #[test]
    fn huge_numbers_get_a_stable_code(number in huge_number()) {
        for text in [
            format!(r#"{{"type":"resume","session_id":{number},"after_seq":0}}"#),
            format!(r#"{{"type":"ping","v":{number}}}"#),
            format!(r#"{{"type":"ping","ref":{number}}}"#),
        ] {
            assert_frame_refusal_stable(&text)?;
        }
        let body = format!(r#"{{"object":"page","entry":[{{"id":{number},"time":{number},"messaging":[{{"timestamp":{number}}}]}}]}}"#);
        let _ = PageIds::parse(body.as_bytes());
        let _ = page_events(&body, "1");
    }

    #[test]
    fn frames_past_the_size_limit_are_refused_before_parsing(extra in 1usize..65_536) {
        let text = format!(r#"{{"type":"send","client_id":"c","text":"{}"}}"#, "x".repeat(MAX_FRAME_BYTES + extra));
        prop_assert_eq!(parse_visitor(&text).err().map(|r| r.error.code.as_str()), Some("frame_too_large"));
        prop_assert_eq!(parse_agent(&text).err().map(|r| r.error.code.as_str()), Some("frame_too_large"));
    }
}
