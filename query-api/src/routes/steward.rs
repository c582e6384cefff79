//! The steward's view: job reports (never lake rows).

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::auth::{Caller, Role};
use crate::{AppState, Error, Result};

/// `GET /api/v1/steward/jobs` (steward, admin): the manifests of ingest and linkage jobs,
/// oldest first: files with SHA-256, counts landed and quarantined, issues, versions, timings.
pub(crate) async fn jobs(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>> {
    caller.require(&[Role::Steward, Role::Admin])?;
    let dir = state.steward_dir.join("jobs");
    let mut jobs = Vec::new();
    if dir.exists() {
        let mut paths: Vec<_> = std::fs::read_dir(&dir)
            .map_err(|e| Error::Internal(format!("read jobs: {e}")))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.extension().is_some_and(|x| x == "json")
                    && !p
                        .file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            })
            .collect();
        paths.sort();
        for p in paths {
            let text = std::fs::read_to_string(&p)
                .map_err(|e| Error::Internal(format!("read job: {e}")))?;
            if let Ok(v) = serde_json::from_str::<Value>(&text) {
                jobs.push(v);
            }
        }
    }
    Ok(Json(json!({ "jobs": jobs })))
}
