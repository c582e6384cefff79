//! The query API: researchers, reviewers, stewards and administrators use niji over HTTP.
//!
//! - Accounts with roles (researcher, reviewer, steward, admin), argon2id passwords, expiring
//!   session tokens from `POST /api/v1/login`, API tokens for scripts (shown once, stored as
//!   SHA-256, revocable), and a TOTP second factor required for reviewers and administrators.
//! - Applications and their review: draft → submitted → in review → changes requested ↔
//!   submitted → approved (with conditions) | rejected; reviewers declare conflicts of interest
//!   and a conflicted reviewer cannot vote; a quorum decides. Approval provisions the enclave
//!   project (catalog, project key, pinned table versions, disclosure settings); expiry ends
//!   access by itself; closure destroys the project key and its saved results and issues a
//!   deletion certificate. Every state change is audited.
//! - Queries: members of an active project post SQL and get the protected aggregate as JSON,
//!   CSV or Arrow IPC (by `Accept`), always with the disclosure report. No endpoint returns
//!   lake rows.
//! - One JSON error shape with a stable code and a request id; body, SQL length and per-token
//!   rate limits; security headers; `/openapi.json`.
//!
//! [`app`] builds the router, so tests call it without a socket.

pub mod auth;
pub mod db;
mod demo;
mod error;
mod middleware;
mod openapi;
mod routes;
mod server;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use niji_enclave::{AuditLog, Clock, Enclave};
use niji_lake::ZoneRoot;
use sqlx::AnyPool;
use tokio::sync::Mutex;

pub use demo::{DemoSeed, seed_demo};
pub use error::{Error, Result};
pub use routes::accounts::{create_account, issue_api_token};
pub use routes::applications::ApplicationBody;
pub use routes::provision::ProvisionDefaults;
pub use server::{Bound, ServeOptions, bind, serve};

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The metadata store.
    pub db: AnyPool,
    /// The analysis lake.
    pub lake: ZoneRoot,
    /// The steward zone (project keys, job manifests).
    pub steward_dir: PathBuf,
    /// The audit log of queries and workflow changes.
    pub audit: Arc<AuditLog>,
    /// The clock (injected in tests).
    pub clock: Arc<dyn Clock>,
    /// Per-token rate limits.
    pub limiter: Arc<auth::RateLimiter>,
    /// Open enclaves by project id.
    pub enclaves: Arc<Mutex<HashMap<String, Arc<Enclave>>>>,
    /// Settings for provisioning projects at approval.
    pub provision: ProvisionDefaults,
    /// Queries running as jobs, by job id (for cancellation).
    pub jobs: Arc<std::sync::Mutex<HashMap<String, tokio::task::AbortHandle>>>,
}

impl AppState {
    /// The state over a metadata store, a lake and a steward zone, with the system clock, a
    /// rate limit of `per_minute` requests per token and the given provisioning defaults.
    pub fn new(
        db: AnyPool,
        lake: ZoneRoot,
        steward_dir: PathBuf,
        audit: AuditLog,
        clock: Arc<dyn Clock>,
        per_minute: u32,
        provision: ProvisionDefaults,
    ) -> Self {
        AppState {
            db,
            lake,
            steward_dir,
            audit: Arc::new(audit),
            clock,
            limiter: Arc::new(auth::RateLimiter::new(per_minute)),
            enclaves: Arc::new(Mutex::new(HashMap::new())),
            provision,
            jobs: Arc::new(std::sync::Mutex::new(HashMap::new())),
        }
    }
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("lake", &self.lake.url().as_str())
            .field("steward_dir", &self.steward_dir)
            .finish_non_exhaustive()
    }
}

/// The API's router over `state`.
pub fn app(state: AppState) -> Router {
    routes::router()
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(middleware::security_headers))
        .layer(axum::middleware::from_fn(middleware::request_id))
        .with_state(state)
}
