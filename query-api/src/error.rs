//! The API's one error type and its JSON shape.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Everything a request can fail with. Each variant has a stable code; the message a client
/// sees never carries internal detail, which is logged instead with the request id.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No or an invalid token.
    #[error("authentication required: send `Authorization: Bearer <token>`")]
    Unauthenticated,
    /// Wrong user name, password or second factor.
    #[error("login failed: wrong user name, password or one-time code")]
    LoginFailed,
    /// The caller's role or membership does not allow this.
    #[error("not allowed: {0}")]
    Forbidden(String),
    /// No such object (or not visible to the caller).
    #[error("{0} not found")]
    NotFound(String),
    /// The request is malformed or invalid.
    #[error("invalid request: {0}")]
    BadRequest(String),
    /// The object is in a state that does not allow this.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The project's access has ended.
    #[error("the project is {0}: its access has ended")]
    ProjectEnded(String),
    /// Too many requests for this token.
    #[error("rate limit exceeded: retry in a few seconds")]
    RateLimited,
    /// The request body is too large.
    #[error("request body too large")]
    TooLarge,
    /// The enclave refused or failed the query.
    #[error(transparent)]
    Query(#[from] niji_enclave::Error),
    /// The metadata store failed.
    #[error("metadata store error")]
    Db(#[from] sqlx::Error),
    /// Anything else that is our fault.
    #[error("internal error")]
    Internal(String),
}

/// The API's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The stable error code clients match on.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Unauthenticated => "unauthenticated",
            Error::LoginFailed => "login_failed",
            Error::Forbidden(_) => "forbidden",
            Error::NotFound(_) => "not_found",
            Error::BadRequest(_) => "bad_request",
            Error::Conflict(_) => "conflict",
            Error::ProjectEnded(_) => "project_ended",
            Error::RateLimited => "rate_limited",
            Error::TooLarge => "payload_too_large",
            Error::Query(e) => e.code(),
            Error::Db(_) | Error::Internal(_) => "internal",
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            Error::Unauthenticated | Error::LoginFailed => StatusCode::UNAUTHORIZED,
            Error::Forbidden(_) | Error::ProjectEnded(_) => StatusCode::FORBIDDEN,
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::BadRequest(_) => StatusCode::BAD_REQUEST,
            Error::Conflict(_) => StatusCode::CONFLICT,
            Error::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Error::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Error::Query(e) => match e {
                niji_enclave::Error::Syntax { .. }
                | niji_enclave::Error::Plan { .. }
                | niji_enclave::Error::Refused { .. } => StatusCode::UNPROCESSABLE_ENTITY,
                niji_enclave::Error::Timeout { .. } => StatusCode::GATEWAY_TIMEOUT,
                niji_enclave::Error::MemoryLimit { .. }
                | niji_enclave::Error::TooManyRows { .. } => StatusCode::UNPROCESSABLE_ENTITY,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            },
            Error::Db(_) | Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The message a client may see.
    fn public_message(&self) -> String {
        if matches!(self, Error::Query(_)) && self.status().is_server_error() {
            "internal error".to_string()
        } else {
            self.to_string()
        }
    }
}

tokio::task_local! {
    /// The id of the request being handled (set by the request-id middleware).
    pub(crate) static REQUEST_ID: String;
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let request_id = REQUEST_ID.try_with(|id| id.clone()).unwrap_or_default();
        let status = self.status();
        if status.is_server_error() {
            // The detail stays in the log; the client gets the code and the request id.
            tracing::error!(request_id = %request_id, error = ?self, "request failed");
        } else {
            tracing::info!(request_id = %request_id, code = self.code(), "request refused");
        }
        let body = json!({
            "error": {
                "code": self.code(),
                "message": self.public_message(),
                "request_id": request_id,
            }
        });
        (status, Json(body)).into_response()
    }
}
