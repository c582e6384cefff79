//! Long queries as jobs: status, result and cancellation.

use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Value, json};
use sqlx::Row;

use super::now;
use super::projects::require_member;
use crate::auth::Caller;
use crate::{AppState, Error, Result};

/// Records a query that outlived the synchronous wait as a running job.
pub(crate) async fn start(
    state: &AppState,
    job: &str,
    project: &str,
    caller: &Caller,
    sql: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO query_jobs (id, project_id, account_id, sql_text, state, result_id, error_code, \
         error_message, created_at, finished_at) VALUES ($1, $2, $3, $4, 'running', NULL, NULL, NULL, $5, NULL)",
    )
    .bind(job)
    .bind(project)
    .bind(&caller.id)
    .bind(sql)
    .bind(now(state))
    .execute(&state.db)
    .await?;
    Ok(())
}

/// Records how a job ended.
pub(crate) async fn finish(
    state: &AppState,
    job: &str,
    outcome: std::result::Result<String, (String, String)>,
) -> Result<()> {
    let (st, result, code, message) = match outcome {
        Ok(result_id) => ("done", Some(result_id), None, None),
        Err((code, message)) if code == "cancelled" => {
            ("cancelled", None, Some(code), Some(message))
        }
        Err((code, message)) => ("failed", None, Some(code), Some(message)),
    };
    sqlx::query(
        "UPDATE query_jobs SET state = $1, result_id = $2, error_code = $3, error_message = $4, \
         finished_at = $5 WHERE id = $6 AND state = 'running'",
    )
    .bind(st)
    .bind(result)
    .bind(code)
    .bind(message)
    .bind(now(state))
    .bind(job)
    .execute(&state.db)
    .await?;
    if let Ok(mut jobs) = state.jobs.lock() {
        jobs.remove(job);
    }
    Ok(())
}

/// `GET /api/v1/projects/{id}/jobs/{job}`: a job's state, and its result once done.
pub(crate) async fn status(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, job)): Path<(String, String)>,
) -> Result<Json<Value>> {
    require_member(&state, &id, &caller).await?;
    let row = sqlx::query(
        "SELECT j.state, j.result_id, j.error_code, j.error_message, j.created_at, j.finished_at, r.body \
         FROM query_jobs j LEFT JOIN results r ON r.id = j.result_id \
         WHERE j.id = $1 AND j.project_id = $2",
    )
    .bind(&job)
    .bind(&id)
    .fetch_optional(&state.db)
    .await?
    .ok_or_else(|| Error::NotFound("job".into()))?;
    let body: Option<String> = row.get(6);
    let result: Value = match body {
        Some(b) => {
            serde_json::from_str(&b).map_err(|e| Error::Internal(format!("stored result: {e}")))?
        }
        None => Value::Null,
    };
    let code: Option<String> = row.get(2);
    Ok(Json(json!({
        "job": job,
        "state": row.get::<String, _>(0),
        "result_id": row.get::<Option<String>, _>(1),
        "error": code.map(|c| json!({ "code": c, "message": row.get::<Option<String>, _>(3) })),
        "created_at": row.get::<i64, _>(4),
        "finished_at": row.get::<Option<i64>, _>(5),
        "result": result,
    })))
}

/// `DELETE /api/v1/projects/{id}/jobs/{job}`: cancels a running job (its query is stopped).
pub(crate) async fn cancel(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, job)): Path<(String, String)>,
) -> Result<Json<Value>> {
    require_member(&state, &id, &caller).await?;
    let row = sqlx::query("SELECT state FROM query_jobs WHERE id = $1 AND project_id = $2")
        .bind(&job)
        .bind(&id)
        .fetch_optional(&state.db)
        .await?
        .ok_or_else(|| Error::NotFound("job".into()))?;
    let current: String = row.get(0);
    if current != "running" {
        return Err(Error::Conflict(format!("the job is {current}")));
    }
    let handle = state.jobs.lock().ok().and_then(|mut j| j.remove(&job));
    if let Some(h) = handle {
        h.abort();
    }
    finish(
        &state,
        &job,
        Err((
            "cancelled".into(),
            format!("cancelled by {}", caller.username),
        )),
    )
    .await?;
    Ok(Json(json!({ "job": job, "state": "cancelled" })))
}
