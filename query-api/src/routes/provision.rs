//! Provisioning at approval, and the project's enclave afterwards.

use std::sync::Arc;

use niji_enclave::{DatasetSpec, DisclosureSettings, Enclave, Limits, ProjectSpec};
use niji_pseudonymize::ProjectKey;
use sqlx::Row;

use super::applications::ApplicationBody;
use super::{audit_event, new_id, now};
use crate::{AppState, Error, Result};

/// The settings a new project gets (the committee's defaults).
#[derive(Debug, Clone)]
pub struct ProvisionDefaults {
    /// Disclosure control.
    pub disclosure: DisclosureSettings,
    /// Per-query limits.
    pub limits: Limits,
    /// Votes that decide an application.
    pub quorum: usize,
    /// Seconds a query is waited for before it becomes a job (0: every query is a job).
    pub sync_query_seconds: u64,
}

impl Default for ProvisionDefaults {
    fn default() -> Self {
        ProvisionDefaults {
            disclosure: DisclosureSettings::default(),
            limits: Limits::default(),
            quorum: 2,
            sync_query_seconds: 20,
        }
    }
}

/// Provisions the project of an approved application: its project key, its catalog with the
/// table versions pinned now, its disclosure settings and members. An amendment updates the
/// project it amends (same key, same pids). Returns the project id.
pub(crate) async fn provision(
    state: &AppState,
    application: &str,
    owner: &str,
    body: &ApplicationBody,
) -> Result<String> {
    let amend = body.amends.clone();
    let project = amend.clone().unwrap_or_else(|| new_id("prj"));
    let spec = ProjectSpec {
        project: project.clone(),
        datasets: body
            .datasets
            .iter()
            .map(|t| DatasetSpec {
                table: t.clone(),
                columns: body.columns.as_ref().and_then(|c| c.get(t).cloned()),
                version: None,
            })
            .collect(),
        period: body.period.clone(),
        full_birth_date: body.full_birth_date,
        disclosure: state.provision.disclosure.clone(),
        limits: state.provision.limits.clone(),
    };
    let key_path = ProjectKey::path_in(&state.steward_dir, &project)
        .map_err(|e| Error::Internal(format!("project key path: {e}")))?;
    let key = if amend.is_some() {
        ProjectKey::open(&key_path, &project)
    } else {
        if let Some(dir) = key_path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::Internal(format!("project key folder: {e}")))?;
        }
        ProjectKey::create(&key_path, &project)
    }
    .map_err(|e| Error::Internal(format!("project key: {e}")))?;
    let enclave = Enclave::open(&state.lake, spec.clone(), key)
        .await
        .map_err(|e| match e {
            niji_enclave::Error::Spec { message } => Error::BadRequest(message),
            other => Error::Query(other),
        })?;
    let mut pinned = spec;
    for d in &mut pinned.datasets {
        d.version = enclave.catalog().versions().get(&d.table).copied();
    }
    let spec_json = serde_json::to_string(&pinned).map_err(|e| Error::Internal(e.to_string()))?;
    let t = now(state);
    let expires = t + i64::from(body.duration_days) * 86_400;
    if amend.is_some() {
        let done = sqlx::query(
            "UPDATE projects SET spec = $1, expires_at = $2 WHERE id = $3 AND state = 'active'",
        )
        .bind(&spec_json)
        .bind(expires)
        .bind(&project)
        .execute(&state.db)
        .await?;
        if done.rows_affected() == 0 {
            return Err(Error::Conflict(
                "only an active project can be amended".into(),
            ));
        }
    } else {
        sqlx::query(
            "INSERT INTO projects (id, application_id, spec, state, activated_at, expires_at, closed_at, certificate) \
             VALUES ($1, $2, $3, 'active', $4, $5, NULL, NULL)",
        )
        .bind(&project)
        .bind(application)
        .bind(&spec_json)
        .bind(t)
        .bind(expires)
        .execute(&state.db)
        .await?;
    }
    let mut members = vec![owner.to_string()];
    for name in &body.members {
        let row =
            sqlx::query("SELECT id FROM accounts WHERE username = $1 AND role = 'researcher'")
                .bind(name)
                .fetch_optional(&state.db)
                .await?
                .ok_or_else(|| Error::BadRequest(format!("member {name} is not a researcher")))?;
        members.push(row.get(0));
    }
    for m in members {
        let exists = sqlx::query("SELECT 1 FROM members WHERE project_id = $1 AND account_id = $2")
            .bind(&project)
            .bind(&m)
            .fetch_optional(&state.db)
            .await?;
        if exists.is_none() {
            sqlx::query("INSERT INTO members (project_id, account_id) VALUES ($1, $2)")
                .bind(&project)
                .bind(&m)
                .execute(&state.db)
                .await?;
        }
    }
    state.enclaves.lock().await.insert(
        project.clone(),
        Arc::new(enclave.with_audit(state.audit.clone())),
    );
    audit_event(
        state,
        "project_provisioned",
        "system",
        &project,
        application,
    )?;
    Ok(project)
}

/// The state of a project, after applying expiry: `active`, `expired` or `closed`.
pub(crate) async fn current_state(state: &AppState, project: &str) -> Result<String> {
    let row = sqlx::query("SELECT state, expires_at FROM projects WHERE id = $1")
        .bind(project)
        .fetch_optional(&state.db)
        .await?
        .ok_or_else(|| Error::NotFound("project".into()))?;
    let (s, expires): (String, i64) = (row.get(0), row.get(1));
    if s == "active" && now(state) >= expires {
        // Expiry ends access by itself: the first request after it records the new state.
        sqlx::query("UPDATE projects SET state = 'expired' WHERE id = $1 AND state = 'active'")
            .bind(project)
            .execute(&state.db)
            .await?;
        state.enclaves.lock().await.remove(project);
        audit_event(state, "project_expired", "system", project, "expired")?;
        return Ok("expired".into());
    }
    Ok(s)
}

/// The enclave of an active project (opened from its stored specification and key after a
/// restart).
pub(crate) async fn enclave(state: &AppState, project: &str) -> Result<Arc<Enclave>> {
    let s = current_state(state, project).await?;
    if s != "active" {
        return Err(Error::ProjectEnded(s));
    }
    let mut open = state.enclaves.lock().await;
    if let Some(e) = open.get(project) {
        return Ok(e.clone());
    }
    let row = sqlx::query("SELECT spec FROM projects WHERE id = $1")
        .bind(project)
        .fetch_one(&state.db)
        .await?;
    let spec: ProjectSpec = serde_json::from_str(&row.get::<String, _>(0))
        .map_err(|e| Error::Internal(format!("stored spec: {e}")))?;
    let key_path = ProjectKey::path_in(&state.steward_dir, project)
        .map_err(|e| Error::Internal(format!("project key path: {e}")))?;
    let key = ProjectKey::open(&key_path, project)
        .map_err(|e| Error::Internal(format!("project key: {e}")))?;
    let e = Arc::new(
        Enclave::open(&state.lake, spec, key)
            .await?
            .with_audit(state.audit.clone()),
    );
    open.insert(project.to_string(), e.clone());
    Ok(e)
}
