//! Applications and their review.
//!
//! States: `draft` → `submitted` → `in_review` → `changes_requested` ↔ `submitted` →
//! `approved` | `rejected`. Reviewers are assigned by an administrator, declare conflicts of
//! interest before voting (a conflicted reviewer cannot vote), and a quorum of votes in the
//! current round decides by majority: approve (conditions from the approving votes are kept),
//! reject, or otherwise request changes.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::Row;

use super::{ApiJson, audit_event, new_id, now};
use crate::auth::{Caller, Role};
use crate::{AppState, Error, Result};

/// What a researcher applies for.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplicationBody {
    /// Title.
    pub title: String,
    /// Purpose of the study.
    pub purpose: String,
    /// Why it is of substantial public interest.
    pub public_interest: String,
    /// Lake tables wanted.
    pub datasets: Vec<String>,
    /// Columns wanted per table (all analysable columns when absent).
    #[serde(default)]
    pub columns: Option<BTreeMap<String, Vec<String>>>,
    /// Service months wanted.
    #[serde(default)]
    pub period: Option<niji_enclave::Period>,
    /// Whether the full birth date is needed (rarely approved).
    #[serde(default)]
    pub full_birth_date: bool,
    /// `pseudonymized` (仮名化) or `anonymized` (匿名化).
    #[serde(default = "pseudonymized")]
    pub kind: String,
    /// Days of access.
    pub duration_days: u32,
    /// Security measures (安全管理措置) the team commits to.
    #[serde(default)]
    pub security_measures: String,
    /// User names of the other members (researchers).
    #[serde(default)]
    pub members: Vec<String>,
    /// The active project this application amends.
    #[serde(default)]
    pub amends: Option<String>,
}

fn pseudonymized() -> String {
    "pseudonymized".into()
}

impl ApplicationBody {
    fn validate(&self) -> Result<()> {
        let bad = |m: &str| Err(Error::BadRequest(m.to_string()));
        if self.title.trim().is_empty() || self.title.len() > 300 {
            return bad("title: 1–300 characters");
        }
        if self.purpose.trim().is_empty() || self.public_interest.trim().is_empty() {
            return bad("purpose and public_interest are required");
        }
        if self.datasets.is_empty() {
            return bad("datasets: at least one lake table");
        }
        if !(1..=3650).contains(&self.duration_days) {
            return bad("duration_days: 1–3650");
        }
        if self.kind != "pseudonymized" && self.kind != "anonymized" {
            return bad("kind: pseudonymized or anonymized");
        }
        Ok(())
    }
}

struct AppRow {
    owner_id: String,
    body: ApplicationBody,
    state: String,
    round: i64,
}

async fn load(state: &AppState, id: &str) -> Result<AppRow> {
    let row = sqlx::query("SELECT owner_id, body, state, round FROM applications WHERE id = $1")
        .bind(id)
        .fetch_optional(&state.db)
        .await?
        .ok_or_else(|| Error::NotFound("application".into()))?;
    Ok(AppRow {
        owner_id: row.get(0),
        body: serde_json::from_str(&row.get::<String, _>(1))
            .map_err(|e| Error::Internal(format!("stored application: {e}")))?,
        state: row.get(2),
        round: row.get(3),
    })
}

async fn is_reviewer(state: &AppState, app: &str, account: &str) -> Result<Option<Option<i64>>> {
    Ok(
        sqlx::query(
            "SELECT conflict FROM reviewers WHERE application_id = $1 AND reviewer_id = $2",
        )
        .bind(app)
        .bind(account)
        .fetch_optional(&state.db)
        .await?
        .map(|r| r.get::<Option<i64>, _>(0)),
    )
}

async fn set_state(state: &AppState, id: &str, to: &str, round: i64) -> Result<()> {
    sqlx::query("UPDATE applications SET state = $1, round = $2, updated_at = $3 WHERE id = $4")
        .bind(to)
        .bind(round)
        .bind(now(state))
        .bind(id)
        .execute(&state.db)
        .await?;
    Ok(())
}

/// `POST /api/v1/applications` (researcher): a draft.
pub(crate) async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<ApplicationBody>,
) -> Result<Json<Value>> {
    caller.require(&[Role::Researcher])?;
    body.validate()?;
    let id = new_id("app");
    let t = now(&state);
    sqlx::query(
        "INSERT INTO applications (id, owner_id, title, body, state, round, conditions, amends, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, 'draft', 1, NULL, $5, $6, $6)",
    )
    .bind(&id)
    .bind(&caller.id)
    .bind(&body.title)
    .bind(serde_json::to_string(&body).map_err(|e| Error::Internal(e.to_string()))?)
    .bind(body.amends.clone())
    .bind(t)
    .execute(&state.db)
    .await?;
    audit_event(
        &state,
        "application_created",
        &caller.username,
        &id,
        "draft",
    )?;
    Ok(Json(json!({ "id": id, "state": "draft" })))
}

/// `GET /api/v1/applications`: the caller's own (researcher), assigned (reviewer) or all
/// (admin).
pub(crate) async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>> {
    let rows =
        match caller.role {
            Role::Admin => {
                sqlx::query("SELECT id, title, state FROM applications ORDER BY created_at")
                    .fetch_all(&state.db)
                    .await?
            }
            Role::Reviewer => {
                sqlx::query(
                    "SELECT a.id, a.title, a.state FROM applications a JOIN reviewers r \
                 ON r.application_id = a.id WHERE r.reviewer_id = $1 ORDER BY a.created_at",
                )
                .bind(&caller.id)
                .fetch_all(&state.db)
                .await?
            }
            _ => sqlx::query(
                "SELECT id, title, state FROM applications WHERE owner_id = $1 ORDER BY created_at",
            )
            .bind(&caller.id)
            .fetch_all(&state.db)
            .await?,
        };
    let items: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({
                "id": r.get::<String, _>(0),
                "title": r.get::<String, _>(1),
                "state": r.get::<String, _>(2),
            })
        })
        .collect();
    Ok(Json(json!({ "applications": items })))
}

/// `GET /api/v1/applications/{id}`: owner, assigned reviewers and administrators.
pub(crate) async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>> {
    let app = load(&state, &id).await?;
    let reviewer = is_reviewer(&state, &id, &caller.id).await?.is_some();
    if app.owner_id != caller.id && !reviewer && caller.role != Role::Admin {
        return Err(Error::NotFound("application".into()));
    }
    let reviewers: Vec<Value> = sqlx::query(
        "SELECT a.username, r.conflict FROM reviewers r JOIN accounts a ON a.id = r.reviewer_id \
         WHERE r.application_id = $1 ORDER BY a.username",
    )
    .bind(&id)
    .fetch_all(&state.db)
    .await?
    .iter()
    .map(|r| {
        let conflict = match r.get::<Option<i64>, _>(1) {
            None => "undeclared",
            Some(0) => "none",
            Some(_) => "conflicted",
        };
        json!({ "username": r.get::<String, _>(0), "conflict": conflict })
    })
    .collect();
    let votes: Vec<Value> = sqlx::query(
        "SELECT a.username, v.decision, v.comment, v.conditions, v.round FROM votes v \
         JOIN accounts a ON a.id = v.reviewer_id WHERE v.application_id = $1 ORDER BY v.round, a.username",
    )
    .bind(&id)
    .fetch_all(&state.db)
    .await?
    .iter()
    .map(|r| {
        json!({
            "reviewer": r.get::<String, _>(0),
            "decision": r.get::<String, _>(1),
            "comment": r.get::<String, _>(2),
            "conditions": r.get::<Option<String>, _>(3),
            "round": r.get::<i64, _>(4),
        })
    })
    .collect();
    let extra = sqlx::query("SELECT conditions FROM applications WHERE id = $1")
        .bind(&id)
        .fetch_one(&state.db)
        .await?;
    let project = sqlx::query("SELECT id FROM projects WHERE application_id = $1")
        .bind(&id)
        .fetch_optional(&state.db)
        .await?
        .map(|r| r.get::<String, _>(0));
    Ok(Json(json!({
        "id": id,
        "state": app.state,
        "round": app.round,
        "application": app.body,
        "reviewers": reviewers,
        "votes": votes,
        "conditions": extra.get::<Option<String>, _>(0),
        "project": project,
    })))
}

/// `PUT /api/v1/applications/{id}` (owner): edit a draft or an application sent back.
pub(crate) async fn edit(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ApplicationBody>,
) -> Result<Json<Value>> {
    let app = load(&state, &id).await?;
    if app.owner_id != caller.id {
        return Err(Error::NotFound("application".into()));
    }
    if app.state != "draft" && app.state != "changes_requested" {
        return Err(Error::Conflict(format!(
            "an application in state {} cannot be edited",
            app.state
        )));
    }
    body.validate()?;
    sqlx::query("UPDATE applications SET title = $1, body = $2, updated_at = $3 WHERE id = $4")
        .bind(&body.title)
        .bind(serde_json::to_string(&body).map_err(|e| Error::Internal(e.to_string()))?)
        .bind(now(&state))
        .bind(&id)
        .execute(&state.db)
        .await?;
    audit_event(
        &state,
        "application_edited",
        &caller.username,
        &id,
        &app.state,
    )?;
    Ok(Json(json!({ "id": id, "state": app.state })))
}

/// `POST /api/v1/applications/{id}/submit` (owner).
pub(crate) async fn submit(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>> {
    let app = load(&state, &id).await?;
    if app.owner_id != caller.id {
        return Err(Error::NotFound("application".into()));
    }
    let (to, round) = match app.state.as_str() {
        "draft" => ("submitted", app.round),
        // A resubmission starts a new round of votes with the same reviewers.
        "changes_requested" => ("in_review", app.round + 1),
        other => {
            return Err(Error::Conflict(format!(
                "an application in state {other} cannot be submitted"
            )));
        }
    };
    set_state(&state, &id, to, round).await?;
    audit_event(&state, "application_submitted", &caller.username, &id, to)?;
    Ok(Json(json!({ "id": id, "state": to, "round": round })))
}

#[derive(Debug, Deserialize)]
pub(crate) struct Assign {
    reviewers: Vec<String>,
}

/// `POST /api/v1/applications/{id}/reviewers` (admin): assign reviewers; starts the review.
pub(crate) async fn assign(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Assign>,
) -> Result<Json<Value>> {
    caller.require(&[Role::Admin])?;
    let app = load(&state, &id).await?;
    if app.state != "submitted" && app.state != "in_review" {
        return Err(Error::Conflict(format!(
            "reviewers are assigned to submitted applications, not {}",
            app.state
        )));
    }
    for name in &body.reviewers {
        let row = sqlx::query("SELECT id, role FROM accounts WHERE username = $1 AND disabled = 0")
            .bind(name)
            .fetch_optional(&state.db)
            .await?
            .ok_or_else(|| Error::BadRequest(format!("no account {name}")))?;
        if row.get::<String, _>(1) != "reviewer" {
            return Err(Error::BadRequest(format!("{name} is not a reviewer")));
        }
        let rid: String = row.get(0);
        if rid == app.owner_id {
            return Err(Error::BadRequest(format!("{name} owns the application")));
        }
        if is_reviewer(&state, &id, &rid).await?.is_none() {
            sqlx::query(
                "INSERT INTO reviewers (application_id, reviewer_id, conflict, conflict_note) \
                 VALUES ($1, $2, NULL, NULL)",
            )
            .bind(&id)
            .bind(&rid)
            .execute(&state.db)
            .await?;
        }
    }
    set_state(&state, &id, "in_review", app.round).await?;
    audit_event(
        &state,
        "reviewers_assigned",
        &caller.username,
        &id,
        &body.reviewers.join(","),
    )?;
    Ok(Json(json!({ "id": id, "state": "in_review" })))
}

#[derive(Debug, Deserialize)]
pub(crate) struct Conflict {
    conflicted: bool,
    #[serde(default)]
    note: String,
}

/// `POST /api/v1/applications/{id}/conflict` (assigned reviewer): declare a conflict of
/// interest, or none. A conflicted reviewer cannot vote.
pub(crate) async fn declare_conflict(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Conflict>,
) -> Result<Json<Value>> {
    caller.require(&[Role::Reviewer])?;
    if is_reviewer(&state, &id, &caller.id).await?.is_none() {
        return Err(Error::Forbidden(
            "you are not a reviewer of this application".into(),
        ));
    }
    sqlx::query(
        "UPDATE reviewers SET conflict = $1, conflict_note = $2 \
         WHERE application_id = $3 AND reviewer_id = $4",
    )
    .bind(i64::from(body.conflicted))
    .bind(&body.note)
    .bind(&id)
    .bind(&caller.id)
    .execute(&state.db)
    .await?;
    audit_event(
        &state,
        "conflict_declared",
        &caller.username,
        &id,
        if body.conflicted {
            "conflicted"
        } else {
            "none"
        },
    )?;
    Ok(Json(json!({ "id": id, "conflicted": body.conflicted })))
}

#[derive(Debug, Deserialize)]
pub(crate) struct Vote {
    decision: String,
    comment: String,
    #[serde(default)]
    conditions: Option<String>,
}

/// `POST /api/v1/applications/{id}/votes` (assigned, unconflicted reviewer).
pub(crate) async fn vote(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Vote>,
) -> Result<Json<Value>> {
    caller.require(&[Role::Reviewer])?;
    if !["approve", "reject", "changes"].contains(&body.decision.as_str()) {
        return Err(Error::BadRequest(
            "decision: approve, reject or changes".into(),
        ));
    }
    let app = load(&state, &id).await?;
    match is_reviewer(&state, &id, &caller.id).await? {
        None => {
            return Err(Error::Forbidden(
                "you are not a reviewer of this application".into(),
            ));
        }
        Some(None) => {
            return Err(Error::Forbidden(
                "declare whether you have a conflict of interest before voting".into(),
            ));
        }
        Some(Some(c)) if c != 0 => {
            return Err(Error::Forbidden(
                "you declared a conflict of interest: you cannot vote on this application".into(),
            ));
        }
        Some(Some(_)) => {}
    }
    if app.state != "in_review" {
        return Err(Error::Conflict(format!(
            "votes are taken in review, not in state {}",
            app.state
        )));
    }
    let t = now(&state);
    let existing = sqlx::query(
        "SELECT 1 FROM votes WHERE application_id = $1 AND round = $2 AND reviewer_id = $3",
    )
    .bind(&id)
    .bind(app.round)
    .bind(&caller.id)
    .fetch_optional(&state.db)
    .await?;
    if existing.is_some() {
        return Err(Error::Conflict("you already voted in this round".into()));
    }
    sqlx::query(
        "INSERT INTO votes (application_id, round, reviewer_id, decision, comment, conditions, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&id)
    .bind(app.round)
    .bind(&caller.id)
    .bind(&body.decision)
    .bind(&body.comment)
    .bind(body.conditions.clone())
    .bind(t)
    .execute(&state.db)
    .await?;
    audit_event(&state, "vote", &caller.username, &id, &body.decision)?;

    let votes = sqlx::query(
        "SELECT decision, conditions FROM votes WHERE application_id = $1 AND round = $2",
    )
    .bind(&id)
    .bind(app.round)
    .fetch_all(&state.db)
    .await?;
    let quorum = state.provision.quorum.max(1);
    if votes.len() < quorum {
        return Ok(Json(
            json!({ "id": id, "state": "in_review", "votes": votes.len(), "quorum": quorum }),
        ));
    }
    let count = |d: &str| votes.iter().filter(|r| r.get::<String, _>(0) == d).count();
    let n = votes.len();
    let outcome = if count("approve") * 2 > n {
        "approved"
    } else if count("reject") * 2 > n {
        "rejected"
    } else {
        "changes_requested"
    };
    let mut project = None;
    if outcome == "approved" {
        let mut conditions: Vec<String> = Vec::new();
        for c in votes
            .iter()
            .filter(|r| r.get::<String, _>(0) == "approve")
            .filter_map(|r| r.get::<Option<String>, _>(1))
        {
            let c = c.trim().to_string();
            if !c.is_empty() && !conditions.contains(&c) {
                conditions.push(c);
            }
        }
        let conditions = (!conditions.is_empty()).then(|| conditions.join("; "));
        sqlx::query("UPDATE applications SET conditions = $1 WHERE id = $2")
            .bind(conditions.clone())
            .bind(&id)
            .execute(&state.db)
            .await?;
        project = Some(super::provision::provision(&state, &id, &app.owner_id, &app.body).await?);
    }
    set_state(&state, &id, outcome, app.round).await?;
    audit_event(
        &state,
        "application_decided",
        &caller.username,
        &id,
        outcome,
    )?;
    Ok(Json(
        json!({ "id": id, "state": outcome, "project": project }),
    ))
}
