//! The routes, one module per resource.

pub(crate) mod accounts;
pub(crate) mod applications;
mod jobs;
mod projects;
pub(crate) mod provision;
mod steward;

use axum::Router;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde::de::DeserializeOwned;

use crate::{AppState, Error};

/// The API's routes (state attached by [`crate::app`]).
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/openapi.json", get(crate::openapi::document))
        .route("/api/v1/login", post(accounts::login))
        .route("/api/v1/me", get(accounts::me))
        .route("/api/v1/accounts", post(accounts::create))
        .route("/api/v1/tokens", post(accounts::create_token))
        .route(
            "/api/v1/tokens/{id}",
            axum::routing::delete(accounts::revoke_token),
        )
        .route(
            "/api/v1/applications",
            post(applications::create).get(applications::list),
        )
        .route(
            "/api/v1/applications/{id}",
            get(applications::show).put(applications::edit),
        )
        .route(
            "/api/v1/applications/{id}/submit",
            post(applications::submit),
        )
        .route(
            "/api/v1/applications/{id}/reviewers",
            post(applications::assign),
        )
        .route(
            "/api/v1/applications/{id}/conflict",
            post(applications::declare_conflict),
        )
        .route("/api/v1/applications/{id}/votes", post(applications::vote))
        .route("/api/v1/projects", get(projects::list))
        .route("/api/v1/projects/{id}", get(projects::show))
        .route("/api/v1/projects/{id}/queries", post(projects::query))
        .route(
            "/api/v1/projects/{id}/results/{result}",
            get(projects::saved_result),
        )
        .route(
            "/api/v1/projects/{id}/jobs/{job}",
            get(jobs::status).delete(jobs::cancel),
        )
        .route("/api/v1/projects/{id}/close", post(projects::close))
        .route(
            "/api/v1/projects/{id}/certificate",
            get(projects::certificate),
        )
        .route("/api/v1/steward/jobs", get(steward::jobs))
}

/// A JSON body whose rejections come back in the API's error shape.
#[derive(Debug)]
pub(crate) struct ApiJson<T>(pub(crate) T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(rejection) => Err(match rejection {
                r if r.status() == StatusCode::PAYLOAD_TOO_LARGE => Error::TooLarge,
                JsonRejection::JsonDataError(e) => Error::BadRequest(e.body_text()),
                JsonRejection::JsonSyntaxError(_) => {
                    Error::BadRequest("the body is not valid JSON".into())
                }
                JsonRejection::MissingJsonContentType(_) => {
                    Error::BadRequest("send the body as `Content-Type: application/json`".into())
                }
                other => Error::BadRequest(other.body_text()),
            }),
        }
    }
}

/// Now, in Unix seconds.
pub(crate) fn now(state: &AppState) -> i64 {
    state.clock.now().timestamp()
}

/// A new object id.
pub(crate) fn new_id(prefix: &str) -> String {
    let u = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}-{}", &u[..12])
}

/// Appends a workflow event to the audit log.
pub(crate) fn audit_event(
    state: &AppState,
    kind: &str,
    account: &str,
    project: &str,
    what: &str,
) -> crate::Result<()> {
    state.audit.append(niji_enclave::AuditRecord::event(
        kind, account, project, what,
    ))?;
    Ok(())
}
