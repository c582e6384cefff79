//! The whole lifecycle over a socket: apply → review (a conflicted reviewer refused) → approve
//! → query (a suppressed cell in the report) → expiry → closure and certificate, and the
//! refusals along the way.

use chrono::Duration;
use niji_query_api::auth::{Role, totp_code};
use serde_json::{Value, json};

use crate::client::{Client, request};
use crate::fixture::{Server, server};

const PASSWORD: &str = "a long enough password";

async fn account(s: &Server, name: &str, role: Role) -> Client {
    let t = s.clock_now();
    let (_, totp) = niji_query_api::create_account(&s.state.db, name, PASSWORD, role, t)
        .await
        .expect("account");
    let mut body = json!({ "username": name, "password": PASSWORD });
    if let Some(secret) = &totp {
        // Without the one-time code, a reviewer or admin cannot log in.
        let c = Client {
            addr: s.addr,
            token: None,
        };
        let r = c.post("/api/v1/login", &body).await;
        assert_eq!(r.status, 401, "login without TOTP");
        body["totp"] = json!(totp_code(secret, t).expect("code"));
    }
    let c = Client {
        addr: s.addr,
        token: None,
    };
    let r = c.post("/api/v1/login", &body).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    Client {
        addr: s.addr,
        token: Some(r.json()["token"].as_str().expect("token").to_string()),
    }
}

impl Server {
    fn clock_now(&self) -> i64 {
        use niji_enclave::Clock;
        self.clock.now().timestamp()
    }
}

fn application() -> Value {
    json!({
        "title": "Diabetes and claims",
        "purpose": "Prevalence of treated diabetes by sex",
        "public_interest": "Planning of diabetes care",
        "datasets": ["receipts", "diagnoses"],
        "duration_days": 30,
        "security_measures": "Enclave only"
    })
}

async fn walk(s: Server) {
    let admin = account(&s, "admin", Role::Admin).await;
    let alice = account(&s, "alice", Role::Researcher).await;
    let mallory = account(&s, "mallory", Role::Researcher).await;
    let r1 = account(&s, "rev1", Role::Reviewer).await;
    let r2 = account(&s, "rev2", Role::Reviewer).await;
    let r3 = account(&s, "rev3", Role::Reviewer).await;
    let anonymous = Client {
        addr: s.addr,
        token: None,
    };

    // Apply.
    let r = r1.post("/api/v1/applications", &application()).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (403, "forbidden"),
        "a reviewer cannot apply"
    );
    let r = alice.post("/api/v1/applications", &application()).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let app = r.json()["id"].as_str().expect("id").to_string();
    let r = alice
        .post(&format!("/api/v1/applications/{app}/submit"), &json!({}))
        .await;
    assert_eq!(r.json()["state"], "submitted");
    let r = alice
        .post(
            &format!("/api/v1/applications/{app}/reviewers"),
            &json!({ "reviewers": ["rev1"] }),
        )
        .await;
    assert_eq!(r.status, 403, "only an admin assigns reviewers");
    let r = admin
        .post(
            &format!("/api/v1/applications/{app}/reviewers"),
            &json!({ "reviewers": ["rev1", "rev2", "rev3"] }),
        )
        .await;
    assert_eq!(r.json()["state"], "in_review");

    // Review: an undeclared or conflicted reviewer cannot vote.
    let vote = json!({ "decision": "approve", "comment": "sound", "conditions": "publish aggregates only" });
    let r = r1
        .post(&format!("/api/v1/applications/{app}/votes"), &vote)
        .await;
    assert_eq!(r.status, 403, "must declare first");
    let r = r3
        .post(
            &format!("/api/v1/applications/{app}/conflict"),
            &json!({ "conflicted": true, "note": "co-author of the PI" }),
        )
        .await;
    assert_eq!(r.status, 200);
    let r = r3
        .post(&format!("/api/v1/applications/{app}/votes"), &vote)
        .await;
    assert_eq!(r.status, 403, "a conflicted reviewer cannot vote");
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("conflict")
    );
    for rv in [&r1, &r2] {
        let r = rv
            .post(
                &format!("/api/v1/applications/{app}/conflict"),
                &json!({ "conflicted": false }),
            )
            .await;
        assert_eq!(r.status, 200);
    }
    let r = r1
        .post(&format!("/api/v1/applications/{app}/votes"), &vote)
        .await;
    assert_eq!(
        r.json()["state"],
        "in_review",
        "one vote is below the quorum"
    );
    let r = r1
        .post(&format!("/api/v1/applications/{app}/votes"), &vote)
        .await;
    assert_eq!(r.status, 409, "one vote per round");
    let r = r2
        .post(&format!("/api/v1/applications/{app}/votes"), &vote)
        .await;
    assert_eq!(r.json()["state"], "approved", "{}", r.json());
    let project = r.json()["project"].as_str().expect("project").to_string();
    let shown = alice
        .get(&format!("/api/v1/applications/{app}"))
        .await
        .json();
    assert_eq!(shown["conditions"], "publish aggregates only");

    // Query.
    let q = format!("/api/v1/projects/{project}/queries");
    let desc = alice
        .get(&format!("/api/v1/projects/{project}"))
        .await
        .json();
    let tables = desc["tables"].as_array().expect("tables");
    assert_eq!(tables.len(), 2);
    let r = alice
        .post(
            &q,
            &json!({ "sql": "SELECT code, count(DISTINCT pid) AS persons FROM diagnoses GROUP BY code" }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let body = r.json();
    let rows = body["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 1, "the rare code is withheld: {body}");
    assert_eq!(rows[0]["code"], "E11");
    assert_eq!(body["disclosure"]["groups_withheld"], 1, "{body}");
    assert_eq!(body["disclosure"]["k"], 10);
    let result_id = body["result_id"].as_str().expect("result id").to_string();
    let saved = alice
        .get(&format!("/api/v1/projects/{project}/results/{result_id}"))
        .await;
    assert_eq!(saved.json()["rows"], body["rows"]);

    let csv = alice
        .post_accept(
            &q,
            &json!({ "sql": "SELECT sex, count(*) AS n FROM receipts GROUP BY sex ORDER BY sex" }),
            "text/csv",
        )
        .await;
    assert_eq!(csv.status, 200);
    let text = String::from_utf8(csv.body.clone()).expect("utf8");
    assert!(text.starts_with("sex,n\n1,100\n2,100"), "{text}");
    let report: Value =
        serde_json::from_str(&csv.headers["x-niji-disclosure"]).expect("report header");
    assert_eq!(report["groups_withheld"], 0);
    let arrow = alice
        .post_accept(
            &q,
            &json!({ "sql": "SELECT sex, count(*) AS n FROM receipts GROUP BY sex" }),
            "application/vnd.apache.arrow.stream",
        )
        .await;
    assert_eq!(arrow.status, 200);
    let reader = datafusion::arrow::ipc::reader::StreamReader::try_new(
        std::io::Cursor::new(arrow.body.clone()),
        None,
    )
    .expect("arrow stream");
    let rows: usize = reader.map(|b| b.expect("batch").num_rows()).sum();
    assert_eq!(rows, 2);

    // Refusals.
    let r = anonymous.post(&q, &json!({ "sql": "SELECT 1" })).await;
    assert_eq!((r.status, r.code().as_str()), (401, "unauthenticated"));
    assert!(
        !r.json()["error"]["request_id"]
            .as_str()
            .unwrap_or("")
            .is_empty()
    );
    let r = r1
        .post(&q, &json!({ "sql": "SELECT count(*) FROM receipts" }))
        .await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (403, "forbidden"),
        "wrong role"
    );
    let r = mallory
        .post(&q, &json!({ "sql": "SELECT count(*) FROM receipts" }))
        .await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (404, "not_found"),
        "non-member"
    );
    let r = alice
        .post(&q, &json!({ "sql": "SELEC count(*) FROM" }))
        .await;
    assert_eq!((r.status, r.code().as_str()), (422, "sql_syntax"));
    let r = alice
        .post(&q, &json!({ "sql": "SELECT * FROM receipts" }))
        .await;
    assert_eq!((r.status, r.code().as_str()), (422, "query_refused"));
    let r = alice
        .post(
            &q,
            &json!({ "sql": "SELECT count(*) FROM receipts WHERE pid = 1" }),
        )
        .await;
    assert_eq!((r.status, r.code().as_str()), (422, "query_refused"));
    let huge = "x".repeat(niji_query_api::MAX_BODY_BYTES + 10);
    let r = alice.post(&q, &json!({ "sql": huge })).await;
    assert_eq!((r.status, r.code().as_str()), (413, "payload_too_large"));
    let r = alice
        .post(
            &q,
            &json!({ "sql": format!("SELECT count(*) FROM receipts -- {}", "y".repeat(70_000)) }),
        )
        .await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (400, "bad_request"),
        "SQL length"
    );
    let r = request(
        s.addr,
        "POST",
        &q,
        alice.token.as_deref(),
        Some("{not json"),
        &[],
    )
    .await;
    assert_eq!((r.status, r.code().as_str()), (400, "bad_request"));

    // Responses carry security headers and no internal detail.
    assert_eq!(r.headers["x-content-type-options"], "nosniff");
    assert!(r.headers.contains_key("x-request-id"));
    let openapi = anonymous.get("/openapi.json").await.json();
    assert!(openapi["paths"]["/api/v1/projects/{id}/queries"]["post"].is_object());

    // Scripts use API tokens, which outlive login sessions (8 hours).
    let api = |c: &Client| {
        let c = c.clone();
        async move {
            let r = c.post("/api/v1/tokens", &json!({ "name": "script" })).await;
            assert_eq!(r.status, 200);
            Client {
                addr: c.addr,
                token: Some(r.json()["token"].as_str().expect("token").to_string()),
            }
        }
    };
    let (alice, admin) = (api(&alice).await, api(&admin).await);

    // Expiry ends access without anyone acting.
    s.clock.advance(Duration::days(31));
    let r = alice
        .post(&q, &json!({ "sql": "SELECT count(*) FROM receipts" }))
        .await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (403, "project_ended"),
        "{}",
        r.json()
    );

    // Closure destroys the key and the results and issues a certificate.
    let key = s
        .dir
        .path()
        .join("steward")
        .join("projects")
        .join(format!("{project}.key.json"));
    assert!(key.exists());
    let r = alice
        .post(&format!("/api/v1/projects/{project}/close"), &json!({}))
        .await;
    assert_eq!(r.status, 403, "only an admin closes");
    let r = admin
        .post(&format!("/api/v1/projects/{project}/close"), &json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let cert = r.json();
    assert_eq!(cert["project_key"]["destroyed"], true);
    assert!(cert["saved_results_deleted"].as_u64().expect("count") >= 3);
    assert!(!key.exists(), "the project key file is gone");
    let again = alice
        .get(&format!("/api/v1/projects/{project}/certificate"))
        .await;
    assert_eq!(again.json()["sha256"], cert["sha256"]);
    let r = alice
        .get(&format!("/api/v1/projects/{project}/results/{result_id}"))
        .await;
    assert_eq!(r.status, 404, "saved results are destroyed");

    // The audit log holds every query and decision, and verifies.
    let head = niji_enclave::audit::verify(&s.dir.path().join("steward").join("audit.jsonl"))
        .expect("audit verifies");
    assert!(head.entries >= 15, "{head:?}");
    let audit =
        std::fs::read_to_string(s.dir.path().join("steward").join("audit.jsonl")).expect("audit");
    assert!(audit.contains("\"kind\":\"conflict_declared\""));
    assert!(audit.contains("\"outcome\":\"query_refused\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_on_sqlite() {
    walk(server(None, 1000, 20).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_on_postgres() {
    let Ok(url) = std::env::var("NIJI_TEST_POSTGRES_URL") else {
        // scripts/test always sets it (and CI with it); a developer's bare `cargo test` may not.
        eprintln!("NIJI_TEST_POSTGRES_URL is not set: the PostgreSQL run is skipped");
        return;
    };
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&url).await.expect("postgres");
    for stmt in ["DROP SCHEMA public CASCADE", "CREATE SCHEMA public"] {
        sqlx::query(stmt)
            .execute(&pool)
            .await
            .expect("reset schema");
    }
    pool.close().await;
    walk(server(Some(&url), 1000, 20).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_per_token() {
    let s = server(None, 20, 20).await;
    let alice = account(&s, "alice", Role::Researcher).await;
    let mut limited = 0;
    for _ in 0..30 {
        let r = alice.get("/api/v1/me").await;
        if r.status == 429 {
            assert_eq!(r.code(), "rate_limited");
            limited += 1;
        }
    }
    assert!(limited >= 9, "{limited} of 30 refused");
    let bob = account(&s, "bob", Role::Researcher).await;
    assert_eq!(
        bob.get("/api/v1/me").await.status,
        200,
        "another token is not limited"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_queries_become_jobs_with_status_result_and_cancel() {
    // Every query is a job (no synchronous wait).
    let s = server(None, 1000, 0).await;
    let admin = account(&s, "admin", Role::Admin).await;
    let alice = account(&s, "alice", Role::Researcher).await;
    let bob = account(&s, "bob", Role::Researcher).await;
    let r1 = account(&s, "rev1", Role::Reviewer).await;
    let r2 = account(&s, "rev2", Role::Reviewer).await;
    let app = alice
        .post("/api/v1/applications", &application())
        .await
        .json()["id"]
        .as_str()
        .expect("id")
        .to_string();
    alice
        .post(&format!("/api/v1/applications/{app}/submit"), &json!({}))
        .await;
    admin
        .post(
            &format!("/api/v1/applications/{app}/reviewers"),
            &json!({ "reviewers": ["rev1", "rev2"] }),
        )
        .await;
    let mut project = String::new();
    for rv in [&r1, &r2] {
        rv.post(
            &format!("/api/v1/applications/{app}/conflict"),
            &json!({ "conflicted": false }),
        )
        .await;
        let r = rv
            .post(
                &format!("/api/v1/applications/{app}/votes"),
                &json!({ "decision": "approve", "comment": "ok" }),
            )
            .await;
        if let Some(p) = r.json()["project"].as_str() {
            project = p.to_string();
        }
    }
    assert!(!project.is_empty());
    let q = format!("/api/v1/projects/{project}/queries");
    let r = alice
        .post(
            &q,
            &json!({ "sql": "SELECT sex, count(*) AS n FROM receipts GROUP BY sex" }),
        )
        .await;
    assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
    let status = r.json()["status"].as_str().expect("status url").to_string();
    let mut done = Value::Null;
    for _ in 0..100 {
        let j = alice.get(&status).await.json();
        if j["state"] != "running" {
            done = j;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(done["state"], "done", "{done}");
    assert_eq!(done["result"]["rows"].as_array().expect("rows").len(), 2);
    assert_eq!(
        bob.get(&status).await.status,
        404,
        "a non-member sees no job"
    );

    // A slow query, cancelled.
    let r = alice
        .post(
            &q,
            &json!({ "sql": "SELECT a.sex, count(*) FROM receipts a, receipts b, receipts c, receipts d GROUP BY a.sex" }),
        )
        .await;
    assert_eq!(r.status, 202);
    let status = r.json()["status"].as_str().expect("status url").to_string();
    let c = request(s.addr, "DELETE", &status, alice.token.as_deref(), None, &[]).await;
    assert_eq!(c.status, 200, "{}", String::from_utf8_lossy(&c.body));
    let j = alice.get(&status).await.json();
    assert_eq!(j["state"], "cancelled", "{j}");
    let again = request(s.addr, "DELETE", &status, alice.token.as_deref(), None, &[]).await;
    assert_eq!(again.status, 409);

    // An amendment goes through the same review and updates the same project (same key).
    let mut amendment = application();
    amendment["datasets"] = json!(["receipts"]);
    amendment["amends"] = json!(project);
    let app2 = alice.post("/api/v1/applications", &amendment).await.json()["id"]
        .as_str()
        .expect("id")
        .to_string();
    alice
        .post(&format!("/api/v1/applications/{app2}/submit"), &json!({}))
        .await;
    admin
        .post(
            &format!("/api/v1/applications/{app2}/reviewers"),
            &json!({ "reviewers": ["rev1", "rev2"] }),
        )
        .await;
    let mut decided = Value::Null;
    for rv in [&r1, &r2] {
        rv.post(
            &format!("/api/v1/applications/{app2}/conflict"),
            &json!({ "conflicted": false }),
        )
        .await;
        decided = rv
            .post(
                &format!("/api/v1/applications/{app2}/votes"),
                &json!({ "decision": "approve", "comment": "narrower" }),
            )
            .await
            .json();
    }
    assert_eq!(decided["project"], json!(project), "{decided}");
    let tables = alice
        .get(&format!("/api/v1/projects/{project}"))
        .await
        .json()["tables"]
        .as_array()
        .expect("tables")
        .len();
    assert_eq!(tables, 1, "the amendment narrowed the project to receipts");
}
