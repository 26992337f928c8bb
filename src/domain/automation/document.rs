//! The flow document: a trigger, conditions on top of it, and a graph of steps joined by edges
//! from a step's named port to another step. Stored as JSON (a flow's draft, a published
//! version); `parse` reads its shape (an unknown step type is refused there, naming the step),
//! `validate` checks the graph before it may be published, and names the step of each problem.

use crate::db::enums::TriggerKind;
use crate::error::{AppError, AppResult, ErrorCode};
use dashmap::DashMap;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, OnceLock};

pub const MAX_STEPS: usize = 100;
pub const MAX_TEXT_CHARS: usize = 2000;
pub const MAX_BUTTONS: usize = 10;
/// Messenger's quick-reply title limit, kept for every channel so a flow runs anywhere.
pub const MAX_BUTTON_TITLE_CHARS: usize = 20;
pub const MAX_KEYWORDS: usize = 50;
pub const MAX_SILENCE_MINUTES: i64 = 14 * 24 * 60;
pub const MAX_WAIT_SECS: i64 = 30 * 24 * 3600;
pub const MAX_RETRIES: i32 = 5;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FlowDocument {
    pub trigger: Trigger,
    #[serde(default)]
    pub conditions: Conditions,
    /// The id of the first step.
    pub start: String,
    pub steps: Vec<Step>,
    #[serde(default)]
    pub edges: Vec<Edge>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Trigger {
    /// The visitor's first message in a session.
    FirstMessage,
    /// A visitor message matching one of the keywords (case-insensitive).
    Keyword {
        keywords: Vec<String>,
        #[serde(default)]
        matching: KeywordMatch,
    },
    /// A session opened (at its first message).
    NewSession,
    /// After our last message (an agent's or a bot's) the visitor stayed silent for `minutes`.
    VisitorSilent {
        minutes: i64,
        #[serde(default)]
        visitors: VisitorKind,
        /// The session states it applies to; empty = any.
        #[serde(default)]
        session_states: Vec<SessionState>,
        /// An agent's reply sent outside Switchboard (a Messenger native echo) starts the
        /// silence too.
        #[serde(default)]
        off_platform: bool,
    },
}

impl Trigger {
    pub fn kind(&self) -> TriggerKind {
        match self {
            Trigger::FirstMessage => TriggerKind::FirstMessage,
            Trigger::Keyword { .. } => TriggerKind::Keyword,
            Trigger::NewSession => TriggerKind::NewSession,
            Trigger::VisitorSilent { .. } => TriggerKind::VisitorSilent,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum KeywordMatch {
    /// The whole message (trimmed) is the keyword.
    Exact,
    /// The message contains the keyword.
    #[default]
    Contains,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum VisitorKind {
    /// A contact in their first session.
    New,
    /// A contact with an earlier session.
    Returning,
    #[default]
    Both,
}

/// A session as the bot sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SessionState {
    Hosted,
    Unassigned,
    Assigned,
}

/// Checked on top of the trigger; every one given must hold.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Conditions {
    /// Channel ids; empty = every channel.
    pub channels: Vec<i64>,
    /// Session states; empty = any (the silence trigger has its own list too).
    pub session_states: Vec<SessionState>,
    /// The contact has this label.
    pub contact_label: Option<String>,
    /// The contact has (true) or has no (false) note name.
    pub note_name_present: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Position {
    pub x: f64,
    pub y: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Step {
    pub id: String,
    /// Where the editor draws it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<Position>,
    #[serde(flatten)]
    pub kind: StepKind,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StepKind {
    /// Sends a message; with buttons the run waits for a click (ports: each button's id, and
    /// `other` when the visitor types instead — without an `other` edge it keeps waiting);
    /// without buttons it goes on (`next`).
    Message {
        text: String,
        #[serde(default)]
        buttons: Vec<Button>,
    },
    /// Asks a question and waits for the answer: a valid one is saved and goes `next`; an
    /// invalid one is asked again (`retry_text`) up to `retries` times, then `fallback`.
    Question {
        text: String,
        #[serde(default)]
        answer: AnswerKind,
        /// The contact field the answer is saved to (none: only the run's variables).
        #[serde(default)]
        save_to: Option<ContactField>,
        #[serde(default = "default_retries")]
        retries: i32,
        #[serde(default)]
        retry_text: Option<String>,
    },
    /// Goes `true` or `false`.
    Condition { rule: Rule },
    /// Waits `seconds`, then `next`; a visitor reply first interrupts it (`replied` when that
    /// edge exists, else `next`).
    Wait { seconds: i64 },
    /// Adds a label to the visitor (the contact), then `next`.
    AddLabel { label: String },
    /// Adds a session tag, then `next`.
    AddTag { tag_id: i64 },
    /// Hands the session to a human: assigns it to `assignee` (none: the queue) and switches
    /// robot hosting off, with an optional message first; then `next`.
    Handoff {
        #[serde(default)]
        assignee: Option<i64>,
        #[serde(default)]
        text: Option<String>,
    },
    /// A final step: the run completes here, with an optional last message.
    End {
        #[serde(default)]
        text: Option<String>,
    },
}

fn default_retries() -> i32 {
    2
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Button {
    /// The port the click leaves by; unique within the step.
    pub id: String,
    pub title: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AnswerKind {
    #[default]
    Text,
    Email,
    Phone,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ContactField {
    NoteName,
    Email,
    Phone,
}

/// What a condition step tests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Rule {
    /// The contact has this label.
    HasLabel { label: String },
    /// The contact's field is filled in.
    FieldPresent { field: ContactField },
    /// The session is on a channel of this kind.
    ChannelKind {
        channel: crate::db::enums::ChannelKind,
    },
    /// The contact had a session before this one.
    ReturningVisitor,
    /// The session is in this state.
    SessionState { state: SessionState },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Edge {
    pub from: String,
    /// The port of `from`: `next`, a button id, `other`, `true`, `false`, `fallback`, `replied`.
    #[serde(default = "next_port")]
    pub port: String,
    pub to: String,
}

fn next_port() -> String {
    "next".into()
}

pub const PORT_NEXT: &str = "next";
pub const PORT_OTHER: &str = "other";
pub const PORT_TRUE: &str = "true";
pub const PORT_FALSE: &str = "false";
pub const PORT_FALLBACK: &str = "fallback";
pub const PORT_REPLIED: &str = "replied";

impl StepKind {
    pub fn type_name(&self) -> &'static str {
        match self {
            StepKind::Message { .. } => "message",
            StepKind::Question { .. } => "question",
            StepKind::Condition { .. } => "condition",
            StepKind::Wait { .. } => "wait",
            StepKind::AddLabel { .. } => "add_label",
            StepKind::AddTag { .. } => "add_tag",
            StepKind::Handoff { .. } => "handoff",
            StepKind::End { .. } => "end",
        }
    }

    /// The ports an edge must leave from, and those that may have one.
    pub fn ports(&self) -> (Vec<String>, Vec<&'static str>) {
        match self {
            StepKind::Message { buttons, .. } if !buttons.is_empty() => (
                buttons.iter().map(|b| b.id.clone()).collect(),
                vec![PORT_OTHER],
            ),
            StepKind::Condition { .. } => (vec![PORT_TRUE.into(), PORT_FALSE.into()], vec![]),
            StepKind::Question { .. } => (vec![PORT_NEXT.into(), PORT_FALLBACK.into()], vec![]),
            StepKind::Wait { .. } => (vec![PORT_NEXT.into()], vec![PORT_REPLIED]),
            StepKind::End { .. } => (vec![], vec![]),
            _ => (vec![PORT_NEXT.into()], vec![]),
        }
    }

    /// The run stops at this step until something happens (a click, an answer, time).
    pub fn waits(&self) -> bool {
        match self {
            StepKind::Message { buttons, .. } => !buttons.is_empty(),
            StepKind::Question { .. } | StepKind::Wait { .. } => true,
            _ => false,
        }
    }

    pub fn is_final(&self) -> bool {
        matches!(self, StepKind::End { .. })
    }
}

/// One problem with a flow document; `step` is the step it is on (none: the trigger or the
/// document as a whole).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Problem {
    pub step: Option<String>,
    pub code: &'static str,
    pub message: String,
}

impl FlowDocument {
    pub fn step(&self, id: &str) -> Option<&Step> {
        self.steps.iter().find(|s| s.id == id)
    }

    /// Where `port` of step `from` leads.
    pub fn next(&self, from: &str, port: &str) -> Option<&Step> {
        let edge = self
            .edges
            .iter()
            .find(|e| e.from == from && e.port == port)?;
        self.step(&edge.to)
    }
}

/// Published versions never change, so a version's parsed document is kept for the engine,
/// which reads it at every message and timer of its runs. Keyed by the version's id and its
/// publishing time: ids alone repeat across databases (one process may serve several, as the
/// tests do).
type VersionKey = (i64, chrono::DateTime<chrono::Utc>);
static PARSED: OnceLock<DashMap<VersionKey, Arc<FlowDocument>>> = OnceLock::new();
/// More versions than a server runs at once: the cache starts over rather than grow.
const MAX_CACHED: usize = 10_000;

/// `parse` for an immutable flow version, read once per server.
pub fn parse_version(version: &crate::db::flows::FlowVersionRow) -> AppResult<Arc<FlowDocument>> {
    let key = (version.id, version.published_at);
    let map = PARSED.get_or_init(DashMap::new);
    if let Some(doc) = map.get(&key) {
        return Ok(Arc::clone(&doc));
    }
    let doc = Arc::new(parse(&version.document)?);
    if map.len() >= MAX_CACHED {
        map.clear();
    }
    map.insert(key, Arc::clone(&doc));
    Ok(doc)
}

/// Reads a document's shape. A step of a type we do not know is named in the error.
pub fn parse(value: &serde_json::Value) -> AppResult<FlowDocument> {
    if let Some(steps) = value.get("steps").and_then(|s| s.as_array()) {
        const KNOWN: [&str; 8] = [
            "message",
            "question",
            "condition",
            "wait",
            "add_label",
            "add_tag",
            "handoff",
            "end",
        ];
        for s in steps {
            let ty = s.get("type").and_then(|t| t.as_str()).unwrap_or("");
            if !KNOWN.contains(&ty) {
                let id = s
                    .get("id")
                    .and_then(|i| i.as_str())
                    .unwrap_or("?")
                    .to_owned();
                let problem = Problem {
                    step: Some(id.clone()),
                    code: "unknown_step_type",
                    message: format!("step {id}: unknown step type {ty:?}"),
                };
                return Err(invalid(vec![problem]));
            }
        }
    }
    serde_json::from_value(value.clone())
        .map_err(|e| AppError::validation(format!("not a flow document: {e}")))
}

fn invalid(problems: Vec<Problem>) -> AppError {
    let message = match problems.as_slice() {
        [one] => one.message.clone(),
        [first, ..] => format!(
            "{} (and {} more problems)",
            first.message,
            problems.len() - 1
        ),
        [] => "the flow is invalid".into(),
    };
    AppError::new(ErrorCode::InvalidFlow, message)
        .with_details(serde_json::json!({ "problems": problems }))
}

/// Every problem that keeps the document from being published; empty when it may be.
pub fn problems(doc: &FlowDocument) -> Vec<Problem> {
    let mut out = Vec::new();
    let mut p = |step: Option<&str>, code: &'static str, message: String| {
        out.push(Problem {
            step: step.map(str::to_owned),
            code,
            message,
        })
    };
    check_trigger(&doc.trigger, &mut p);
    if doc.steps.is_empty() {
        p(None, "no_steps", "the flow has no steps".into());
    }
    if doc.steps.len() > MAX_STEPS {
        p(
            None,
            "too_many_steps",
            format!("a flow has at most {MAX_STEPS} steps"),
        );
    }
    let mut ids = HashSet::new();
    for s in &doc.steps {
        if s.id.trim().is_empty() || s.id.chars().count() > 64 {
            p(
                Some(&s.id),
                "bad_step_id",
                "a step id has 1 to 64 characters".into(),
            );
        }
        if !ids.insert(s.id.as_str()) {
            p(
                Some(&s.id),
                "duplicate_step",
                format!("step {}: the id is used twice", s.id),
            );
        }
        check_step(s, &mut p);
    }
    if !ids.contains(doc.start.as_str()) {
        p(
            None,
            "missing_start",
            format!("the start step {:?} does not exist", doc.start),
        );
    }
    // Edges: from a known step's known port to a known step, one per port.
    let mut seen_ports = HashSet::new();
    for e in &doc.edges {
        let Some(from) = doc.step(&e.from) else {
            p(
                None,
                "dangling_edge",
                format!("an edge leaves step {:?}, which does not exist", e.from),
            );
            continue;
        };
        if doc.step(&e.to).is_none() {
            p(
                Some(&e.from),
                "dangling_edge",
                format!(
                    "step {}: its {} edge goes to step {:?}, which does not exist",
                    e.from, e.port, e.to
                ),
            );
        }
        let (required, optional) = from.kind.ports();
        if !required.contains(&e.port) && !optional.contains(&e.port.as_str()) {
            p(
                Some(&e.from),
                "unknown_port",
                format!(
                    "step {}: a {} step has no {:?} port",
                    e.from,
                    from.kind.type_name(),
                    e.port
                ),
            );
        }
        if !seen_ports.insert((e.from.as_str(), e.port.as_str())) {
            p(
                Some(&e.from),
                "duplicate_edge",
                format!("step {}: its {} port has two edges", e.from, e.port),
            );
        }
    }
    for s in &doc.steps {
        for port in s.kind.ports().0 {
            if !doc.edges.iter().any(|e| e.from == s.id && e.port == port) {
                let message = if port == PORT_NEXT {
                    format!(
                        "step {}: nothing follows it; connect it to a step or an End step",
                        s.id
                    )
                } else {
                    format!("step {}: its {port} port is not connected", s.id)
                };
                p(Some(&s.id), "unconnected_port", message);
            }
        }
    }
    if ids.contains(doc.start.as_str()) {
        let reachable = reachable_from(doc, &doc.start);
        for s in &doc.steps {
            if !reachable.contains(s.id.as_str()) {
                p(
                    Some(&s.id),
                    "unreachable_step",
                    format!("step {}: no path from the start reaches it", s.id),
                );
            }
        }
        if !doc
            .steps
            .iter()
            .any(|s| s.kind.is_final() && reachable.contains(s.id.as_str()))
        {
            p(
                None,
                "missing_final_step",
                "the flow has no End step that a run can reach".into(),
            );
        }
        if let Some(id) = loop_without_wait(doc) {
            p(Some(&id), "loop_without_wait", format!("step {id}: it is on a loop with no step that waits for the visitor or for time"));
        }
    }
    out
}

/// The document, checked for publishing.
pub fn validate(doc: &FlowDocument) -> AppResult<()> {
    let problems = problems(doc);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(invalid(problems))
    }
}

fn check_trigger(t: &Trigger, p: &mut impl FnMut(Option<&str>, &'static str, String)) {
    match t {
        Trigger::Keyword { keywords, .. } => {
            if keywords.iter().all(|k| k.trim().is_empty()) {
                p(
                    None,
                    "no_keywords",
                    "the keyword trigger needs at least one keyword".into(),
                );
            }
            if keywords.len() > MAX_KEYWORDS {
                p(
                    None,
                    "too_many_keywords",
                    format!("at most {MAX_KEYWORDS} keywords"),
                );
            }
        }
        Trigger::VisitorSilent { minutes, .. } => {
            if !(1..=MAX_SILENCE_MINUTES).contains(minutes) {
                p(
                    None,
                    "bad_silence",
                    format!("the silence is 1 to {MAX_SILENCE_MINUTES} minutes"),
                );
            }
        }
        Trigger::FirstMessage | Trigger::NewSession => {}
    }
}

fn check_text(
    id: &str,
    what: &str,
    text: &str,
    p: &mut impl FnMut(Option<&str>, &'static str, String),
) {
    if text.trim().is_empty() {
        p(
            Some(id),
            "empty_text",
            format!("step {id}: its {what} is empty"),
        );
    } else if text.chars().count() > MAX_TEXT_CHARS {
        p(
            Some(id),
            "text_too_long",
            format!("step {id}: its {what} is longer than {MAX_TEXT_CHARS} characters"),
        );
    }
}

fn check_step(s: &Step, p: &mut impl FnMut(Option<&str>, &'static str, String)) {
    let id = s.id.as_str();
    match &s.kind {
        StepKind::Message { text, buttons } => {
            check_text(id, "text", text, p);
            if buttons.len() > MAX_BUTTONS {
                p(
                    Some(id),
                    "too_many_buttons",
                    format!("step {id}: at most {MAX_BUTTONS} buttons"),
                );
            }
            let mut seen = HashSet::new();
            for b in buttons {
                let n = b.title.trim().chars().count();
                if n == 0 || n > MAX_BUTTON_TITLE_CHARS {
                    p(Some(id), "bad_button", format!("step {id}: a button title has 1 to {MAX_BUTTON_TITLE_CHARS} characters"));
                }
                if b.id.is_empty()
                    || [PORT_OTHER, PORT_NEXT].contains(&b.id.as_str())
                    || !seen.insert(b.id.as_str())
                {
                    p(
                        Some(id),
                        "bad_button",
                        format!("step {id}: button ids are unique and not \"next\" or \"other\""),
                    );
                }
            }
        }
        StepKind::Question {
            text,
            retries,
            retry_text,
            ..
        } => {
            check_text(id, "question", text, p);
            if let Some(t) = retry_text {
                check_text(id, "retry text", t, p);
            }
            if !(0..=MAX_RETRIES).contains(retries) {
                p(
                    Some(id),
                    "bad_retries",
                    format!("step {id}: retries are 0 to {MAX_RETRIES}"),
                );
            }
        }
        StepKind::Wait { seconds } if !(1..=MAX_WAIT_SECS).contains(seconds) => {
            p(
                Some(id),
                "bad_wait",
                format!("step {id}: a wait is 1 second to 30 days"),
            );
        }
        StepKind::AddLabel { label } => {
            let n = label.trim().chars().count();
            if n == 0 || n > 64 {
                p(
                    Some(id),
                    "bad_label",
                    format!("step {id}: a label has 1 to 64 characters"),
                );
            }
        }
        StepKind::Handoff { text: Some(t), .. } | StepKind::End { text: Some(t) } => {
            check_text(id, "text", t, p);
        }
        StepKind::Condition {
            rule: Rule::HasLabel { label },
        } if label.trim().is_empty() => {
            p(
                Some(id),
                "bad_label",
                format!("step {id}: the label is empty"),
            );
        }
        _ => {}
    }
}

fn reachable_from<'a>(doc: &'a FlowDocument, start: &'a str) -> HashSet<&'a str> {
    let mut seen = HashSet::from([start]);
    let mut queue = VecDeque::from([start]);
    while let Some(id) = queue.pop_front() {
        for e in doc.edges.iter().filter(|e| e.from == id) {
            if doc.step(&e.to).is_some() && seen.insert(e.to.as_str()) {
                queue.push_back(e.to.as_str());
            }
        }
    }
    seen
}

/// A step on a cycle of steps none of which waits: a run would go round it forever in one go.
fn loop_without_wait(doc: &FlowDocument) -> Option<String> {
    let moving: HashMap<&str, Vec<&str>> = doc
        .steps
        .iter()
        .filter(|s| !s.kind.waits())
        .map(|s| {
            let next = doc
                .edges
                .iter()
                .filter(|e| e.from == s.id)
                .filter(|e| doc.step(&e.to).is_some_and(|t| !t.kind.waits()))
                .map(|e| e.to.as_str())
                .collect();
            (s.id.as_str(), next)
        })
        .collect();
    // Depth-first search for a back edge; 0 = unvisited, 1 = on the path, 2 = done.
    let mut state: HashMap<&str, u8> = HashMap::new();
    fn visit<'a>(
        id: &'a str,
        g: &HashMap<&'a str, Vec<&'a str>>,
        st: &mut HashMap<&'a str, u8>,
    ) -> Option<&'a str> {
        st.insert(id, 1);
        for &n in g.get(id).map(Vec::as_slice).unwrap_or(&[]) {
            match st.get(n).copied().unwrap_or(0) {
                1 => return Some(n),
                0 => {
                    if let Some(found) = visit(n, g, st) {
                        return Some(found);
                    }
                }
                _ => {}
            }
        }
        st.insert(id, 2);
        None
    }
    let mut ids: Vec<&str> = moving.keys().copied().collect();
    ids.sort_unstable();
    for id in ids {
        if state.get(id).copied().unwrap_or(0) == 0 {
            if let Some(found) = visit(id, &moving, &mut state) {
                return Some(found.to_owned());
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn branching() -> serde_json::Value {
        json!({
            "trigger": {"kind": "first_message"},
            "start": "hello",
            "steps": [
                {"id": "hello", "type": "message", "text": "Hi! What do you need?",
                 "buttons": [{"id": "price", "title": "Pricing"}, {"id": "human", "title": "A person"}]},
                {"id": "email", "type": "question", "text": "Your e-mail?", "answer": "email", "save_to": "email"},
                {"id": "thanks", "type": "end", "text": "Thanks, we will write."},
                {"id": "handoff", "type": "handoff"},
                {"id": "done", "type": "end"}
            ],
            "edges": [
                {"from": "hello", "port": "price", "to": "email"},
                {"from": "hello", "port": "human", "to": "handoff"},
                {"from": "email", "port": "next", "to": "thanks"},
                {"from": "email", "port": "fallback", "to": "handoff"},
                {"from": "handoff", "to": "done"}
            ]
        })
    }

    fn codes(v: serde_json::Value) -> Vec<(Option<String>, &'static str)> {
        problems(&parse(&v).unwrap())
            .into_iter()
            .map(|p| (p.step, p.code))
            .collect()
    }

    #[test]
    fn a_branching_flow_with_an_end_on_every_branch_is_valid() {
        assert_eq!(codes(branching()), vec![]);
    }

    #[test]
    fn a_document_round_trips_through_json() {
        let doc = parse(&branching()).unwrap();
        let again = parse(&serde_json::to_value(&doc).unwrap()).unwrap();
        assert_eq!(doc, again);
    }

    #[test]
    fn an_unknown_step_type_is_refused_naming_the_step() {
        let mut v = branching();
        v["steps"][2]["type"] = json!("teleport");
        let e = parse(&v).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidFlow);
        assert!(e.message.contains("thanks"), "{}", e.message);
        assert_eq!(e.details.unwrap()["problems"][0]["step"], json!("thanks"));
    }

    #[test]
    fn a_dangling_edge_names_its_step() {
        let mut v = branching();
        v["edges"][2]["to"] = json!("nowhere");
        let c = codes(v);
        assert!(
            c.contains(&(Some("email".into()), "dangling_edge")),
            "{c:?}"
        );
    }

    #[test]
    fn an_unreachable_step_is_named() {
        let mut v = branching();
        v["steps"]
            .as_array_mut()
            .unwrap()
            .push(json!({"id": "orphan", "type": "end"}));
        assert_eq!(codes(v), vec![(Some("orphan".into()), "unreachable_step")]);
    }

    #[test]
    fn a_step_with_nothing_after_it_and_no_end_step_are_both_named() {
        let v = json!({
            "trigger": {"kind": "new_session"},
            "start": "a",
            "steps": [{"id": "a", "type": "message", "text": "hi"}]
        });
        let c = codes(v);
        assert!(c.contains(&(Some("a".into()), "unconnected_port")), "{c:?}");
        assert!(c.contains(&(None, "missing_final_step")), "{c:?}");
    }

    #[test]
    fn every_button_needs_its_edge_and_other_is_optional() {
        let mut v = branching();
        // The hand-off stays reachable through the question's fallback.
        v["edges"].as_array_mut().unwrap().remove(1);
        assert_eq!(codes(v), vec![(Some("hello".into()), "unconnected_port")]);
        let mut v = branching();
        v["edges"]
            .as_array_mut()
            .unwrap()
            .push(json!({"from": "hello", "port": "other", "to": "handoff"}));
        assert_eq!(codes(v), vec![]);
    }

    #[test]
    fn a_loop_with_no_waiting_step_is_refused_and_one_through_a_question_is_not() {
        let tight = json!({
            "trigger": {"kind": "first_message"},
            "start": "a",
            "steps": [
                {"id": "a", "type": "add_label", "label": "x"},
                {"id": "b", "type": "condition", "rule": {"kind": "has_label", "label": "y"}},
                {"id": "z", "type": "end"}
            ],
            "edges": [
                {"from": "a", "to": "b"},
                {"from": "b", "port": "false", "to": "a"},
                {"from": "b", "port": "true", "to": "z"}
            ]
        });
        assert!(codes(tight).iter().any(|(_, c)| *c == "loop_without_wait"));
        let mut v = branching();
        v["edges"][3]["to"] = json!("email");
        assert_eq!(
            codes(v)
                .iter()
                .filter(|(_, c)| *c == "loop_without_wait")
                .count(),
            0
        );
    }

    #[test]
    fn the_silence_trigger_reads_its_options_and_checks_its_minutes() {
        let mut v = branching();
        v["trigger"] = json!({"kind": "visitor_silent", "minutes": 0, "visitors": "returning",
                              "session_states": ["hosted", "assigned"], "off_platform": true});
        let doc = parse(&v).unwrap();
        assert!(matches!(
            doc.trigger,
            Trigger::VisitorSilent {
                visitors: VisitorKind::Returning,
                off_platform: true,
                ..
            }
        ));
        assert_eq!(doc.trigger.kind(), TriggerKind::VisitorSilent);
        assert_eq!(codes(v), vec![(None, "bad_silence")]);
    }

    #[test]
    fn validate_reports_every_problem_with_the_stable_code() {
        let mut v = branching();
        v["edges"] = json!([]);
        let e = validate(&parse(&v).unwrap()).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidFlow);
        assert!(e.details.unwrap()["problems"].as_array().unwrap().len() > 1);
    }
}
