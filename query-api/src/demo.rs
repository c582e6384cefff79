//! The demo's accounts and approved project, made through the same workflow as over HTTP.

use axum::extract::{Path, State};
use serde_json::Value;

use crate::auth::{Caller, Role};
use crate::routes::accounts::{create_account, issue_api_token};
use crate::routes::applications::{self, ApplicationBody};
use crate::routes::{ApiJson, now};
use crate::{AppState, Error, Result};

/// What `niji demo` prints.
#[derive(Debug, Clone)]
pub struct DemoSeed {
    /// The approved project.
    pub project: String,
    /// The researcher's API token.
    pub token: String,
    /// (user name, role, password) of the demo accounts.
    pub accounts: Vec<(String, &'static str, String)>,
}

fn caller(id: &str, username: &str, role: Role) -> Caller {
    Caller {
        id: id.to_string(),
        username: username.to_string(),
        role,
    }
}

fn field(v: &Value, name: &str) -> Result<String> {
    v.get(name)
        .and_then(|x| x.as_str())
        .map(str::to_string)
        .ok_or_else(|| Error::Internal(format!("demo: no {name} in {v}")))
}

/// Creates the demo accounts (an administrator, two reviewers, a researcher, a steward) and
/// walks one application over `datasets` through review to an approved, active project.
pub async fn seed_demo(state: &AppState, datasets: &[&str], password: &str) -> Result<DemoSeed> {
    let t = now(state);
    let mut accounts = Vec::new();
    let mut ids = std::collections::HashMap::new();
    for (name, role) in [
        ("admin", Role::Admin),
        ("reviewer1", Role::Reviewer),
        ("reviewer2", Role::Reviewer),
        ("researcher", Role::Researcher),
        ("steward", Role::Steward),
    ] {
        let (id, _) = create_account(&state.db, name, password, role, t).await?;
        ids.insert(name, id);
        accounts.push((name.to_string(), role.as_str(), password.to_string()));
    }
    let researcher = caller(&ids["researcher"], "researcher", Role::Researcher);
    let admin = caller(&ids["admin"], "admin", Role::Admin);
    let body = ApplicationBody {
        title: "Demo: chronic disease, care need and allergies in the synthetic population".into(),
        purpose: "Show how an approved project queries linked NDB, care-DB and EHR-DB data.".into(),
        public_interest: "Demonstration on synthetic data only.".into(),
        datasets: datasets.iter().map(|d| d.to_string()).collect(),
        columns: None,
        period: None,
        full_birth_date: false,
        kind: "pseudonymized".into(),
        duration_days: 365,
        security_measures: "Synthetic data; access from the demo machine only.".into(),
        members: vec![],
        amends: None,
    };
    let created = applications::create(State(state.clone()), researcher.clone(), ApiJson(body))
        .await?
        .0;
    let app = field(&created, "id")?;
    let _ =
        applications::submit(State(state.clone()), researcher.clone(), Path(app.clone())).await?;
    let _ = applications::assign(
        State(state.clone()),
        admin,
        Path(app.clone()),
        ApiJson(
            serde_json::from_value(serde_json::json!({
                "reviewers": ["reviewer1", "reviewer2"]
            }))
            .map_err(|e| Error::Internal(e.to_string()))?,
        ),
    )
    .await?;
    let mut decided = Value::Null;
    for name in ["reviewer1", "reviewer2"] {
        let reviewer = caller(&ids[name], name, Role::Reviewer);
        let _ = applications::declare_conflict(
            State(state.clone()),
            reviewer.clone(),
            Path(app.clone()),
            ApiJson(
                serde_json::from_value(serde_json::json!({ "conflicted": false }))
                    .map_err(|e| Error::Internal(e.to_string()))?,
            ),
        )
        .await?;
        decided = applications::vote(
            State(state.clone()),
            reviewer,
            Path(app.clone()),
            ApiJson(
                serde_json::from_value(serde_json::json!({
                    "decision": "approve",
                    "comment": "Synthetic data; the demo may proceed.",
                    "conditions": "Publish only aggregates returned by the enclave."
                }))
                .map_err(|e| Error::Internal(e.to_string()))?,
            ),
        )
        .await?
        .0;
    }
    let project = field(&decided, "project")?;
    let (_, token) = issue_api_token(&state.db, &ids["researcher"], "demo", t).await?;
    Ok(DemoSeed {
        project,
        token,
        accounts,
    })
}
