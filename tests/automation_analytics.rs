//! Automation analytics, pinned by one scripted scenario run through the real engine: six
//! visitors trigger a keyword flow (two of them twice), click buttons, answer, abandon, are
//! taken over, and complete through three different End steps; a test-run visitor runs it too
//! and is never counted. The seed's figures, the drill-down's statuses and trigger counts, its
//! CSV, the funnel, the live figures against a recount from the run rows (also after a
//! restart), the data scope, and the live `flow_stats` frame.

use crate::common::flows::{bot_messages, click, doc, publish};
use crate::common::ws::message_in;
use crate::common::{assert_error, visitor_says, Agent, TestApp, WsClient};
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::HashMap;

/// "help" opens a menu: Pricing asks for an e-mail (one chance) and ends in `sent`, or in
/// `gave_up` after an invalid answer; "A person" ends in `person`.
fn support() -> Value {
    doc(
        json!({"kind": "keyword", "keywords": ["help"], "matching": "exact"}),
        vec![
            json!({"id": "menu", "type": "message", "text": "How can we help?",
                   "buttons": [{"id": "price", "title": "Pricing"}, {"id": "human", "title": "A person"}]}),
            json!({"id": "email", "type": "question", "text": "Your e-mail?", "answer": "email",
                   "retries": 0}),
            json!({"id": "sent", "type": "end", "text": "The price list is on its way."}),
            json!({"id": "person", "type": "end", "text": "A colleague takes over."}),
            json!({"id": "gave_up", "type": "end", "text": "Never mind."}),
        ],
        &[
            ("menu", "price", "email"),
            ("menu", "human", "person"),
            ("email", "next", "sent"),
            ("email", "fallback", "gave_up"),
        ],
    )
}

struct Visitor {
    ws: WsClient,
    contact_id: i64,
    session_id: i64,
}

impl Visitor {
    async fn new(app: &TestApp) -> Visitor {
        let ws = app.visitor().await;
        Visitor {
            ws,
            contact_id: 0,
            session_id: 0,
        }
    }

    /// The first message makes the visitor's contact: `contact_id` is known from then on.
    async fn says(&mut self, app: &TestApp, client_id: &str, text: &str) {
        let ack = visitor_says(&mut self.ws, client_id, text).await;
        self.session_id = ack["session_id"].as_i64().unwrap();
        if self.contact_id == 0 {
            self.contact_id = app.contact_of(&self.ws).await;
        }
    }

    /// Clicks a button of the latest bot message with buttons.
    async fn clicks(&mut self, app: &TestApp, client_id: &str, id: &str, title: &str) {
        let bots = bot_messages(app, self.session_id).await;
        let menu = bots
            .iter()
            .rev()
            .find(|b| b.2.get("buttons").is_some())
            .expect("a message with buttons");
        click(&mut self.ws, client_id, menu.0, id, title).await;
    }
}

struct Scenario {
    app: TestApp,
    owner: Agent,
    flow_id: i64,
    /// Visitor name → contact id.
    contacts: HashMap<&'static str, i64>,
    sessions: HashMap<&'static str, i64>,
}

/// The script. Expected, over the six visitors (the test-run visitor aside):
///
/// | visitor | runs | what happens                                   | status           |
/// |---------|------|------------------------------------------------|------------------|
/// | A       | 1    | clicks "A person" → `person`                   | completed        |
/// | B       | 1    | never answers the menu (waits there)           | not_participated |
/// | C       | 2    | Pricing, a valid e-mail → `sent`; "help" again, abandons at the menu | completed |
/// | D       | 1    | Pricing, then an agent replies (stopped at `email`) | participated |
/// | E       | 2    | types something else, the session is ended (stopped at the menu); a new session, "help", "A person" → `person` | completed |
/// | F       | 1    | Pricing, an invalid e-mail → `gave_up`          | completed        |
async fn scenario() -> Scenario {
    let app = TestApp::start().await;
    let owner = app.owner().await;
    let flow_id = publish(&app, "Support", support()).await;
    let mut contacts = HashMap::new();
    let mut sessions = HashMap::new();

    let mut a = Visitor::new(&app).await;
    a.says(&app, "a1", "help").await;
    a.clicks(&app, "a2", "human", "A person").await;

    let mut b = Visitor::new(&app).await;
    b.says(&app, "b1", "help").await;

    let mut c = Visitor::new(&app).await;
    c.says(&app, "c1", "help").await;
    c.clicks(&app, "c2", "price", "Pricing").await;
    c.says(&app, "c3", "c@example.com").await;
    c.says(&app, "c4", "help").await;

    let mut d = Visitor::new(&app).await;
    d.says(&app, "d1", "help").await;
    d.clicks(&app, "d2", "price", "Pricing").await;
    app.reply(&owner, d.session_id, "d-reply").await;

    let mut e = Visitor::new(&app).await;
    e.says(&app, "e1", "help").await;
    e.says(&app, "e2", "hello?").await;
    app.end(&owner, e.session_id).await;
    let first_session = e.session_id;
    e.says(&app, "e3", "help").await;
    assert_ne!(e.session_id, first_session, "a new session");
    e.clicks(&app, "e4", "human", "A person").await;

    let mut f = Visitor::new(&app).await;
    f.says(&app, "f1", "help").await;
    f.clicks(&app, "f2", "price", "Pricing").await;
    f.says(&app, "f3", "not an address").await;

    // A test run from the editor: the same flow, never counted.
    let (status, p) = app
        .call(
            &owner,
            Method::POST,
            &format!("/api/projects/{}/flows/{flow_id}/preview", app.project_id),
            None,
        )
        .await;
    assert_eq!(status, 201, "{p}");
    let mut t = app
        .visitor_on(
            p["widget_key"].as_str().unwrap(),
            p["visitor_token"].as_str().unwrap().into(),
        )
        .await;
    visitor_says(&mut t, "t1", "help").await;

    for (name, v) in [
        ("A", &a),
        ("B", &b),
        ("C", &c),
        ("D", &d),
        ("E", &e),
        ("F", &f),
    ] {
        contacts.insert(name, v.contact_id);
        sessions.insert(name, v.session_id);
    }
    Scenario {
        app,
        owner,
        flow_id,
        contacts,
        sessions,
    }
}

impl Scenario {
    fn path(&self, rest: &str) -> String {
        format!("/api/projects/{}{rest}", self.app.project_id)
    }

    async fn stats(&self, who: &Agent) -> Value {
        let list = self
            .app
            .get_json(who, &self.path("/automation/stats"))
            .await;
        list["flows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["flow_id"] == self.flow_id)
            .cloned()
            .expect("the flow is listed")
    }

    async fn visitors(&self, who: &Agent, query: &str) -> Value {
        self.app
            .get_json(
                who,
                &self.path(&format!("/flows/{}/visitors{query}", self.flow_id)),
            )
            .await
    }

    fn name_of(&self, contact_id: i64) -> &'static str {
        self.contacts
            .iter()
            .find(|(_, c)| **c == contact_id)
            .map(|(n, _)| *n)
            .unwrap_or("?")
    }

    /// (visitor, status, triggers) of a drill-down page, in its order.
    fn rows(&self, page: &Value) -> Vec<(&'static str, String, i64)> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    self.name_of(r["contact_id"].as_i64().unwrap()),
                    r["status"].as_str().unwrap().to_owned(),
                    r["triggers"].as_i64().unwrap(),
                )
            })
            .collect()
    }

    /// The SQL recount over the run rows, for the range the answer covered.
    async fn recount(&self, answer_from: &str, answer_to: &str) -> Value {
        let t = |s: &str| {
            chrono::DateTime::parse_from_rfc3339(s)
                .unwrap()
                .with_timezone(&chrono::Utc)
        };
        let r = switchboard::db::flow_stats::recount(
            &mut self.app.db().await,
            self.flow_id,
            t(answer_from),
            t(answer_to),
        )
        .await
        .unwrap();
        json!({"trigger_times": r.trigger_times, "triggered_visitors": r.triggered_visitors,
               "participants": r.participants, "completed_visitors": r.completed_visitors})
    }

    async fn live_equals_recount(&self) {
        let list = self
            .app
            .get_json(&self.owner, &self.path("/automation/stats"))
            .await;
        let row = list["flows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["flow_id"] == self.flow_id)
            .unwrap();
        let live = json!({"trigger_times": row["trigger_times"],
            "triggered_visitors": row["triggered_visitors"], "participants": row["participants"],
            "completed_visitors": row["completed_visitors"]});
        let recount = self
            .recount(list["from"].as_str().unwrap(), list["to"].as_str().unwrap())
            .await;
        assert_eq!(live, recount, "live figures = recount from the run rows");
    }
}

fn close(a: &Value, b: f64) -> bool {
    (a.as_f64().unwrap() - b).abs() < 1e-9
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scripted_scenario_gives_the_seeds_figures_and_a_recount_agrees_also_after_a_restart() {
    let mut s = scenario().await;
    let row = s.stats(&s.owner).await;
    assert_eq!(row["name"], "Support");
    assert_eq!(row["enabled"], true);
    assert_eq!(row["trigger_kind"], "keyword");
    assert_eq!(row["published_version"], 1);
    // 8 runs: A, B, C twice, D, E twice, F (the test run is not counted).
    assert_eq!(row["trigger_times"], 8);
    assert_eq!(row["triggered_visitors"], 6);
    // Everyone but B clicked a button (E only in its second run).
    assert_eq!(row["participants"], 5);
    // A, C, E and F reached an End step; D was taken over, B never answered.
    assert_eq!(row["completed_visitors"], 4);
    assert!(close(&row["participation"], 5.0 / 6.0), "{row}");
    assert!(close(&row["completion_rate"], 4.0 / 6.0), "{row}");
    s.live_equals_recount().await;

    s.app.restart_server().await;
    s.owner = s.app.owner().await;
    let again = s.stats(&s.owner).await;
    assert_eq!(again, row, "seeded from the run rows after the restart");
    s.live_equals_recount().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_drill_down_gives_each_visitors_best_run_and_trigger_count_with_filters_and_paging() {
    let s = scenario().await;
    let all = s.visitors(&s.owner, "").await;
    assert_eq!(all["total"], 6);
    assert!(all["next"].is_null());
    let mut rows = s.rows(&all);
    rows.sort();
    let expected: Vec<(&str, String, i64)> = vec![
        ("A", "completed".into(), 1),
        ("B", "not_participated".into(), 1),
        ("C", "completed".into(), 2),
        ("D", "participated".into(), 1),
        ("E", "completed".into(), 2),
        ("F", "completed".into(), 1),
    ];
    assert_eq!(rows, expected);
    // Latest trigger first: F triggered last, A first.
    let order: Vec<&str> = s.rows(&all).iter().map(|r| r.0).collect();
    assert_eq!(order, ["F", "E", "D", "C", "B", "A"]);
    let e = &all["items"][1];
    assert_eq!(
        e["last_session_id"], s.sessions["E"],
        "the latest run's session"
    );
    assert_eq!(e["channel_kind"], "web");
    assert_eq!(e["channel_id"], s.app.channel_id().await);
    let t = |v: &Value| chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap();
    assert!(t(&e["first_triggered_at"]) < t(&e["last_triggered_at"]));

    let completed = s.visitors(&s.owner, "?status=completed").await;
    assert_eq!(completed["total"], 4);
    let names: Vec<&str> = s.rows(&completed).iter().map(|r| r.0).collect();
    assert_eq!(names, ["F", "E", "C", "A"]);
    let participated = s.visitors(&s.owner, "?status=participated").await;
    assert_eq!(s.rows(&participated), [("D", "participated".into(), 1)]);
    let not = s.visitors(&s.owner, "?status=not_participated").await;
    assert_eq!(s.rows(&not), [("B", "not_participated".into(), 1)]);
    let channel = s.app.channel_id().await;
    let on_web = s
        .visitors(&s.owner, &format!("?channel_id={channel}"))
        .await;
    assert_eq!(on_web["total"], 6);
    let elsewhere = s.visitors(&s.owner, "?channel_id=999999").await;
    assert_eq!(
        (elsewhere["total"].clone(), elsewhere["items"].clone()),
        (json!(0), json!([]))
    );

    // Pages of two: the same order, every visitor once, the total on each page.
    let mut seen = Vec::new();
    let mut after = String::new();
    for page_no in 0..3 {
        let page = s.visitors(&s.owner, &format!("?limit=2{after}")).await;
        assert_eq!(page["total"], 6);
        seen.extend(s.rows(&page).iter().map(|r| r.0));
        match page["next"].as_str() {
            Some(n) => after = format!("&after={n}"),
            None => assert_eq!(page_no, 2, "only the last page has no next"),
        }
    }
    assert_eq!(seen, ["F", "E", "D", "C", "B", "A"]);

    let bad = s
        .app
        .call(
            &s.owner,
            Method::GET,
            &s.path(&format!("/flows/{}/visitors?status=done", s.flow_id)),
            None,
        )
        .await;
    assert_error(bad, 400, "validation");
    let bad = s
        .app
        .call(
            &s.owner,
            Method::GET,
            &s.path(&format!("/flows/{}/visitors?after=nonsense", s.flow_id)),
            None,
        )
        .await;
    assert_error(bad, 400, "validation");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_funnel_counts_each_step_and_edge_from_the_recorded_transitions() {
    let s = scenario().await;
    let f = s
        .app
        .get_json(
            &s.owner,
            &s.path(&format!("/flows/{}/versions/1/funnel", s.flow_id)),
        )
        .await;
    assert_eq!(f["version"], 1);
    assert_eq!(f["runs"], 8);
    // A, C's first, E's second, F.
    assert_eq!(f["completed"], 4);
    let steps: Vec<(String, String, i64, i64, i64)> = f["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|st| {
            (
                st["step_id"].as_str().unwrap().to_owned(),
                st["step_type"].as_str().unwrap().to_owned(),
                st["reached"].as_i64().unwrap(),
                st["waiting"].as_i64().unwrap(),
                st["stopped"].as_i64().unwrap(),
            )
        })
        .collect();
    let step = |id: &str, ty: &str, r, w, st| (id.to_owned(), ty.to_owned(), r, w, st);
    assert_eq!(
        steps,
        [
            // Every run; B and C's second wait there; E's first stopped there (session ended).
            step("menu", "message", 8, 2, 1),
            // C, D, F; D stopped there (an agent replied).
            step("email", "question", 3, 0, 1),
            step("sent", "end", 1, 0, 0),
            step("person", "end", 2, 0, 0),
            step("gave_up", "end", 1, 0, 0),
        ]
    );
    let edges: Vec<(String, String, String, i64)> = f["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["from"].as_str().unwrap().to_owned(),
                e["port"].as_str().unwrap().to_owned(),
                e["to"].as_str().unwrap().to_owned(),
                e["taken"].as_i64().unwrap(),
            )
        })
        .collect();
    let edge = |a: &str, p: &str, b: &str, n| (a.to_owned(), p.to_owned(), b.to_owned(), n);
    assert_eq!(
        edges,
        [
            edge("menu", "price", "email", 3),
            edge("menu", "human", "person", 2),
            edge("email", "next", "sent", 1),
            edge("email", "fallback", "gave_up", 1),
        ]
    );
    let missing = s
        .app
        .call(
            &s.owner,
            Method::GET,
            &s.path(&format!("/flows/{}/versions/2/funnel", s.flow_id)),
            None,
        )
        .await;
    assert_error(missing, 404, "not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_csv_holds_every_matching_visitor_after_a_header() {
    let s = scenario().await;
    let res = s
        .owner
        .http
        .get(format!(
            "{}{}",
            s.app.url(),
            s.path(&format!("/flows/{}/visitors.csv", s.flow_id))
        ))
        .bearer_auth(&s.owner.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let text = res.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "contact_id,name,note_name,channel,status,triggers,first_triggered_at,last_triggered_at"
    );
    assert_eq!(lines.len(), 7, "{text}");
    let c = lines
        .iter()
        .find(|l| l.starts_with(&format!("{},", s.contacts["C"])))
        .unwrap();
    let cols: Vec<&str> = c.split(',').collect();
    assert_eq!((cols[4], cols[5]), ("completed", "2"), "{c}");

    let filtered = s
        .owner
        .http
        .get(format!(
            "{}{}",
            s.app.url(),
            s.path(&format!(
                "/flows/{}/visitors.csv?status=not_participated",
                s.flow_id
            ))
        ))
        .bearer_auth(&s.owner.token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let lines: Vec<&str> = filtered.lines().collect();
    assert_eq!(lines.len(), 2);
    assert!(lines[1].starts_with(&format!("{},", s.contacts["B"])));
}

/// A role with only `automation.view`, in data scope `scope`.
async fn analyst(app: &TestApp, owner: &Agent, scope: &str) -> Agent {
    let name = format!("analyst {scope}");
    let (status, body) = app
        .call(
            owner,
            Method::POST,
            &format!("/api/projects/{}/roles", app.project_id),
            Some(json!({"name": name, "permissions": ["automation.view"], "data_scope": scope})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    app.member(app.project_id, &name, "analyst").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_own_scope_viewer_drills_down_only_to_visitors_of_sessions_assigned_to_them() {
    let app = TestApp::start().await;
    let owner = app.owner().await;
    let flow_id = publish(&app, "Support", support()).await;
    let mine = analyst(&app, &owner, "own").await;
    let everyone = analyst(&app, &owner, "all").await;
    let mut x = Visitor::new(&app).await;
    x.says(&app, "x1", "help").await;
    let mut y = Visitor::new(&app).await;
    y.says(&app, "y1", "help").await;
    app.assign(&owner, x.session_id, Some(mine.user_id)).await;

    let path = format!("/api/projects/{}/flows/{flow_id}/visitors", app.project_id);
    let own_page = app.get_json(&mine, &path).await;
    assert_eq!(own_page["total"], 1);
    assert_eq!(own_page["items"][0]["contact_id"], x.contact_id);
    let all_page = app.get_json(&everyone, &path).await;
    assert_eq!(all_page["total"], 2);
    // The figures are the flow's, whoever looks.
    let list = app
        .get_json(
            &mine,
            &format!("/api/projects/{}/automation/stats", app.project_id),
        )
        .await;
    assert_eq!(list["flows"][0]["triggered_visitors"], 2);
    // Viewing is not managing.
    let (status, _) = app
        .call(
            &mine,
            Method::GET,
            &format!("/api/projects/{}/flows", app.project_id),
            None,
        )
        .await;
    assert_eq!(status, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_sends_flow_stats_to_automation_viewers_and_not_to_other_agents() {
    let app = TestApp::start().await;
    let owner = app.owner().await;
    let flow_id = publish(&app, "Support", support()).await;
    let viewer = analyst(&app, &owner, "all").await;
    let plain = app.member(app.project_id, "agent", "plain").await;
    let mut viewer_ws = app.agent_ws(&viewer, app.project_id).await;
    let mut manager_ws = app.agent_ws(&owner, app.project_id).await;
    let mut plain_ws = app.agent_ws(&plain, app.project_id).await;

    let mut v = Visitor::new(&app).await;
    v.says(&app, "v1", "help").await;
    let frame = viewer_ws.recv_type("flow_stats").await;
    assert_eq!(
        frame,
        json!({"v": 1, "type": "flow_stats", "flow_id": flow_id})
    );
    assert_eq!(manager_ws.recv_type("flow_stats").await["flow_id"], flow_id);

    // The click completes the run within the second: its change is folded into one more frame
    // at the end of that second.
    v.clicks(&app, "v2", "human", "A person").await;
    assert_eq!(viewer_ws.recv_type("flow_stats").await["flow_id"], flow_id);
    let figures = app
        .get_json(
            &viewer,
            &format!("/api/projects/{}/automation/stats", app.project_id),
        )
        .await;
    assert_eq!(figures["flows"][0]["completed_visitors"], 1);

    // The first frame goes out in the same dispatch as the run's start, before the session
    // actor takes the click: the click's message is a barrier for it.
    let sid = v.session_id;
    plain_ws
        .assert_none_before_barrier(
            |f| f["type"] == "flow_stats",
            |f| message_in(sid)(f) && f["text"] == "A person",
        )
        .await;
}
