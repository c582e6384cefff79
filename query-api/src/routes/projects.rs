//! Projects: their catalog, queries, saved results, closure and its certificate.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use datafusion::arrow;
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sqlx::Row;

use super::provision::{current_state, enclave};
use super::{ApiJson, audit_event, new_id, now};
use crate::auth::{Caller, Role};
use crate::{AppState, Error, Result};

/// Media type of Arrow IPC streams.
pub(crate) const ARROW_STREAM: &str = "application/vnd.apache.arrow.stream";

async fn is_member(state: &AppState, project: &str, account: &str) -> Result<bool> {
    Ok(
        sqlx::query("SELECT 1 FROM members WHERE project_id = $1 AND account_id = $2")
            .bind(project)
            .bind(account)
            .fetch_optional(&state.db)
            .await?
            .is_some(),
    )
}

pub(crate) async fn require_member(state: &AppState, project: &str, caller: &Caller) -> Result<()> {
    if is_member(state, project, &caller.id).await? {
        Ok(())
    } else {
        // Not found rather than forbidden: a non-member learns nothing about the project.
        Err(Error::NotFound("project".into()))
    }
}

/// `GET /api/v1/projects`: the caller's projects (all of them for administrators).
pub(crate) async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>> {
    let rows = if caller.role == Role::Admin {
        sqlx::query("SELECT id, state, expires_at FROM projects ORDER BY activated_at")
            .fetch_all(&state.db)
            .await?
    } else {
        sqlx::query(
            "SELECT p.id, p.state, p.expires_at FROM projects p JOIN members m ON m.project_id = p.id \
             WHERE m.account_id = $1 ORDER BY p.activated_at",
        )
        .bind(&caller.id)
        .fetch_all(&state.db)
        .await?
    };
    let mut items = Vec::new();
    for r in rows {
        let id: String = r.get(0);
        let s = current_state(&state, &id).await?;
        items.push(json!({ "id": id, "state": s, "expires_at": r.get::<i64, _>(2) }));
    }
    Ok(Json(json!({ "projects": items })))
}

/// `GET /api/v1/projects/{id}`: state, settings, and the tables and columns a member may query.
pub(crate) async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>> {
    if caller.role != Role::Admin {
        require_member(&state, &id, &caller).await?;
    }
    let s = current_state(&state, &id).await?;
    let row = sqlx::query("SELECT spec, expires_at, application_id FROM projects WHERE id = $1")
        .bind(&id)
        .fetch_one(&state.db)
        .await?;
    let spec: Value = serde_json::from_str(&row.get::<String, _>(0))
        .map_err(|e| Error::Internal(format!("stored spec: {e}")))?;
    let tables = if s == "active" {
        let e = enclave(&state, &id).await?;
        e.catalog()
            .describe()
            .into_iter()
            .map(|(t, cols)| {
                json!({
                    "table": t,
                    "columns": cols.into_iter().map(|(n, ty)| json!({"name": n, "type": ty})).collect::<Vec<_>>(),
                })
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(Json(json!({
        "id": id,
        "state": s,
        "expires_at": row.get::<i64, _>(1),
        "application": row.get::<String, _>(2),
        "specification": spec,
        "tables": tables,
    })))
}

#[derive(Debug, Deserialize)]
pub(crate) struct QueryBody {
    sql: String,
}

/// Runs a query and saves its result for the project; returns the result and the saved body.
async fn run_and_save(
    state: &AppState,
    enclave: &niji_enclave::Enclave,
    project: &str,
    caller: &Caller,
    sql: &str,
) -> Result<(niji_enclave::QueryResult, Value)> {
    let result = enclave.query(&caller.username, sql).await?;
    let columns: Vec<Value> = result
        .schema
        .fields()
        .iter()
        .map(|f| json!({ "name": f.name(), "type": f.data_type().to_string() }))
        .collect();
    let result_id = new_id("res");
    let saved = json!({
        "result_id": result_id,
        "columns": columns,
        "rows": json_rows(&result.batches)?,
        "disclosure": result.report,
        "plan_hash": result.plan_hash,
        "result_hash": result.result_hash,
        "duration_ms": result.duration.as_millis() as u64,
    });
    sqlx::query(
        "INSERT INTO results (id, project_id, account_id, sql_text, body, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&result_id)
    .bind(project)
    .bind(&caller.id)
    .bind(sql)
    .bind(saved.to_string())
    .bind(now(state))
    .execute(&state.db)
    .await?;
    Ok((result, saved))
}

/// `POST /api/v1/projects/{id}/queries`: runs SQL in the project's enclave. The result is
/// JSON (default), CSV (`Accept: text/csv`) or Arrow IPC (`Accept:
/// application/vnd.apache.arrow.stream`); the disclosure report is in the JSON body, and in the
/// `x-niji-disclosure` header for the other formats. Every result is saved for the project. A
/// query still running after the synchronous wait (20 s by default) becomes a job: the answer is
/// `202 Accepted` with the job's id, to follow at `GET …/jobs/{job}` or cancel with `DELETE`.
pub(crate) async fn query(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<QueryBody>,
) -> Result<Response> {
    caller.require(&[Role::Researcher])?;
    require_member(&state, &id, &caller).await?;
    if body.sql.len() > niji_enclave::MAX_SQL_BYTES {
        return Err(Error::BadRequest(format!(
            "the SQL is longer than {} bytes",
            niji_enclave::MAX_SQL_BYTES
        )));
    }
    let e = enclave(&state, &id).await?;
    let mut task = {
        let (state, id, caller, sql) =
            (state.clone(), id.clone(), caller.clone(), body.sql.clone());
        tokio::spawn(async move { run_and_save(&state, &e, &id, &caller, &sql).await })
    };
    let wait = std::time::Duration::from_secs(state.provision.sync_query_seconds);
    if !wait.is_zero()
        && let Ok(joined) = tokio::time::timeout(wait, &mut task).await
    {
        let (result, saved) = joined.map_err(|e| Error::Internal(format!("query task: {e}")))??;
        return respond(&headers, &result, saved);
    }
    let job = new_id("job");
    super::jobs::start(&state, &job, &id, &caller, &body.sql).await?;
    if let Ok(mut jobs) = state.jobs.lock() {
        jobs.insert(job.clone(), task.abort_handle());
    }
    {
        let (state, job) = (state.clone(), job.clone());
        tokio::spawn(async move {
            let outcome = match task.await {
                Ok(Ok((_, saved))) => {
                    Ok(saved["result_id"].as_str().unwrap_or_default().to_string())
                }
                Ok(Err(e)) => Err((e.code().to_string(), e.to_string())),
                Err(j) if j.is_cancelled() => Err(("cancelled".into(), "cancelled".into())),
                Err(j) => Err(("internal".into(), format!("query task: {j}"))),
            };
            if let Err(e) = super::jobs::finish(&state, &job, outcome).await {
                tracing::error!(job = %job, error = ?e, "cannot record the end of a query job");
            }
        });
    }
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({
            "job": job,
            "state": "running",
            "status": format!("/api/v1/projects/{id}/jobs/{job}"),
        })),
    )
        .into_response())
}

fn respond(
    headers: &HeaderMap,
    result: &niji_enclave::QueryResult,
    saved: Value,
) -> Result<Response> {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json");
    let report =
        serde_json::to_string(&result.report).map_err(|e| Error::Internal(e.to_string()))?;
    let result_id = saved["result_id"].as_str().unwrap_or_default().to_string();
    let (content_type, bytes) = if accept.contains(ARROW_STREAM) {
        (ARROW_STREAM, result.arrow_ipc()?)
    } else if accept.contains("text/csv") {
        let mut buf = Vec::new();
        {
            let mut w = arrow::csv::WriterBuilder::new()
                .with_header(true)
                .build(&mut buf);
            for b in &result.batches {
                w.write(b)
                    .map_err(|e| Error::Internal(format!("csv: {e}")))?;
            }
        }
        if result.batches.is_empty() {
            let names: Vec<&str> = result
                .schema
                .fields()
                .iter()
                .map(|f| f.name().as_str())
                .collect();
            buf = format!("{}\n", names.join(",")).into_bytes();
        }
        ("text/csv; charset=utf-8", buf)
    } else {
        return Ok((StatusCode::OK, Json(saved)).into_response());
    };
    let mut response = Response::new(Body::from(bytes));
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        "x-niji-disclosure",
        HeaderValue::from_str(&report).map_err(|e| Error::Internal(e.to_string()))?,
    );
    h.insert(
        "x-niji-result-id",
        HeaderValue::from_str(&result_id).map_err(|e| Error::Internal(e.to_string()))?,
    );
    Ok(response)
}

fn json_rows(batches: &[arrow::record_batch::RecordBatch]) -> Result<Value> {
    let mut buf = Vec::new();
    {
        let mut w = arrow::json::ArrayWriter::new(&mut buf);
        for b in batches {
            w.write(b)
                .map_err(|e| Error::Internal(format!("json: {e}")))?;
        }
        w.finish()
            .map_err(|e| Error::Internal(format!("json: {e}")))?;
    }
    if buf.is_empty() {
        return Ok(json!([]));
    }
    serde_json::from_slice(&buf).map_err(|e| Error::Internal(format!("json: {e}")))
}

/// `GET /api/v1/projects/{id}/results/{result}`: a saved result (members).
pub(crate) async fn saved_result(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, result)): Path<(String, String)>,
) -> Result<Json<Value>> {
    require_member(&state, &id, &caller).await?;
    let row = sqlx::query("SELECT body FROM results WHERE id = $1 AND project_id = $2")
        .bind(&result)
        .bind(&id)
        .fetch_optional(&state.db)
        .await?
        .ok_or_else(|| Error::NotFound("result".into()))?;
    let body: Value = serde_json::from_str(&row.get::<String, _>(0))
        .map_err(|e| Error::Internal(format!("stored result: {e}")))?;
    Ok(Json(body))
}

/// `POST /api/v1/projects/{id}/close` (admin): ends access, destroys the project key (after
/// which no pid of the project can be recomputed) and its saved results, and issues the
/// deletion certificate.
pub(crate) async fn close(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>> {
    caller.require(&[Role::Admin])?;
    let s = current_state(&state, &id).await?;
    if s == "closed" {
        return Err(Error::Conflict("the project is already closed".into()));
    }
    state.enclaves.lock().await.remove(&id);
    let key_path = niji_pseudonymize::ProjectKey::path_in(&state.steward_dir, &id)
        .map_err(|e| Error::Internal(format!("project key path: {e}")))?;
    let fingerprint = match niji_pseudonymize::ProjectKey::open(&key_path, &id) {
        Ok(key) => {
            let f = key.fingerprint();
            key.destroy()
                .map_err(|e| Error::Internal(format!("destroy project key: {e}")))?;
            f
        }
        Err(_) if !key_path.exists() => "already destroyed".to_string(),
        Err(e) => return Err(Error::Internal(format!("open project key: {e}"))),
    };
    let deleted = sqlx::query("DELETE FROM results WHERE project_id = $1")
        .bind(&id)
        .execute(&state.db)
        .await?
        .rows_affected();
    let t = now(&state);
    let closed_at = state.clock.now().to_rfc3339();
    let mut certificate = json!({
        "project": id,
        "closed_at": closed_at,
        "closed_by": caller.username,
        "state_before": s,
        "project_key": { "fingerprint": fingerprint, "destroyed": true, "file_exists": key_path.exists() },
        "saved_results_deleted": deleted,
        "statement": "The project key was overwritten and removed and every saved result deleted: \
                      no pid of this project can be recomputed, and results kept elsewhere cannot \
                      be linked back to persons.",
    });
    let digest: String = Sha256::digest(certificate.to_string().as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    certificate["sha256"] = json!(digest);
    sqlx::query(
        "UPDATE projects SET state = 'closed', closed_at = $1, certificate = $2 WHERE id = $3",
    )
    .bind(t)
    .bind(certificate.to_string())
    .bind(&id)
    .execute(&state.db)
    .await?;
    audit_event(&state, "project_closed", &caller.username, &id, &digest)?;
    Ok(Json(certificate))
}

/// `GET /api/v1/projects/{id}/certificate`: the deletion certificate of a closed project.
pub(crate) async fn certificate(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>> {
    if caller.role != Role::Admin {
        require_member(&state, &id, &caller).await?;
    }
    let row = sqlx::query("SELECT certificate FROM projects WHERE id = $1")
        .bind(&id)
        .fetch_optional(&state.db)
        .await?
        .ok_or_else(|| Error::NotFound("project".into()))?;
    let text: Option<String> = row.get(0);
    let text = text.ok_or_else(|| Error::Conflict("the project is not closed".into()))?;
    serde_json::from_str(&text)
        .map(Json)
        .map_err(|e| Error::Internal(format!("stored certificate: {e}")))
}
