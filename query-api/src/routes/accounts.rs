//! Login, accounts and API tokens.

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::{Value, json};
use sqlx::Row;

use super::{ApiJson, audit_event, new_id, now};
use crate::auth::{self, Caller, Role};
use crate::{AppState, Error, Result};

/// Hours a login session lasts.
const SESSION_HOURS: i64 = 8;

#[derive(Debug, Deserialize)]
pub(crate) struct Login {
    username: String,
    password: String,
    #[serde(default)]
    totp: Option<String>,
}

/// `POST /api/v1/login`: a session token for a user name, password and, for reviewers and
/// administrators, a one-time code.
pub(crate) async fn login(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<Login>,
) -> Result<Json<Value>> {
    state.limiter.check(&format!("login:{}", body.username))?;
    let row = sqlx::query(
        "SELECT id, role, password_hash, totp_secret FROM accounts \
         WHERE username = $1 AND disabled = 0",
    )
    .bind(&body.username)
    .fetch_optional(&state.db)
    .await?;
    let Some(row) = row else {
        // Spend the same time as a real check, so that user names cannot be probed by timing.
        let _ = auth::verify_password(&body.password, &DUMMY_HASH);
        return Err(Error::LoginFailed);
    };
    let (id, role, hash, totp): (String, String, String, Option<String>) =
        (row.get(0), row.get(1), row.get(2), row.get(3));
    if !auth::verify_password(&body.password, &hash) {
        return Err(Error::LoginFailed);
    }
    let role = Role::parse(&role)?;
    let t = now(&state);
    if role.needs_second_factor() {
        let ok = match (&totp, &body.totp) {
            (Some(secret), Some(code)) => auth::totp_matches(secret, code, t),
            _ => false,
        };
        if !ok {
            return Err(Error::LoginFailed);
        }
    }
    let token = auth::random_token()?;
    let expires = t + SESSION_HOURS * 3600;
    sqlx::query(
        "INSERT INTO tokens (id, account_id, token_hash, kind, name, created_at, expires_at, revoked) \
         VALUES ($1, $2, $3, 'session', 'login', $4, $5, 0)",
    )
    .bind(new_id("tok"))
    .bind(&id)
    .bind(auth::token_hash(&token))
    .bind(t)
    .bind(expires)
    .execute(&state.db)
    .await?;
    Ok(Json(json!({
        "token": token,
        "expires_at": expires,
        "role": role.as_str(),
    })))
}

/// An argon2id hash of a throw-away password, for failures that take as long as a real check.
static DUMMY_HASH: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| auth::hash_password("not a real password").unwrap_or_default());

/// `GET /api/v1/me`.
pub(crate) async fn me(caller: Caller) -> Json<Value> {
    Json(json!({
        "id": caller.id,
        "username": caller.username,
        "role": caller.role.as_str(),
    }))
}

#[derive(Debug, Deserialize)]
pub(crate) struct NewAccount {
    username: String,
    password: String,
    role: String,
}

/// Creates an account directly in the store (for `niji demo` and first set-up). Returns the
/// account id and, for roles with a second factor, the TOTP secret.
pub async fn create_account(
    db: &sqlx::AnyPool,
    username: &str,
    password: &str,
    role: Role,
    now: i64,
) -> Result<(String, Option<String>)> {
    if username.is_empty()
        || username.len() > 64
        || !username
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
    {
        return Err(Error::BadRequest(
            "a user name is 1–64 ASCII letters, digits, '.', '_' or '-'".into(),
        ));
    }
    if password.chars().count() < 12 {
        return Err(Error::BadRequest(
            "a password needs at least 12 characters".into(),
        ));
    }
    let exists = sqlx::query("SELECT id FROM accounts WHERE username = $1")
        .bind(username)
        .fetch_optional(db)
        .await?;
    if exists.is_some() {
        return Err(Error::Conflict(format!("user name {username} is taken")));
    }
    let id = new_id("acc");
    let totp = if role.needs_second_factor() {
        Some(auth::new_totp_secret()?)
    } else {
        None
    };
    sqlx::query(
        "INSERT INTO accounts (id, username, role, password_hash, totp_secret, created_at, disabled) \
         VALUES ($1, $2, $3, $4, $5, $6, 0)",
    )
    .bind(&id)
    .bind(username)
    .bind(role.as_str())
    .bind(auth::hash_password(password)?)
    .bind(totp.clone())
    .bind(now)
    .execute(db)
    .await?;
    Ok((id, totp))
}

/// `POST /api/v1/accounts` (admin): a new account; the TOTP secret is shown once.
pub(crate) async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<NewAccount>,
) -> Result<Json<Value>> {
    caller.require(&[Role::Admin])?;
    let role = Role::parse(&body.role)?;
    let (id, totp) =
        create_account(&state.db, &body.username, &body.password, role, now(&state)).await?;
    audit_event(
        &state,
        "account_created",
        &caller.username,
        "",
        &format!("{} ({})", body.username, role.as_str()),
    )?;
    Ok(Json(
        json!({ "id": id, "username": body.username, "role": role.as_str(), "totp_secret": totp }),
    ))
}

#[derive(Debug, Deserialize)]
pub(crate) struct NewToken {
    name: String,
}

/// Issues an API token for `account_id` directly in the store; returns (id, token).
pub async fn issue_api_token(
    db: &sqlx::AnyPool,
    account_id: &str,
    name: &str,
    now: i64,
) -> Result<(String, String)> {
    let token = auth::random_token()?;
    let id = new_id("tok");
    sqlx::query(
        "INSERT INTO tokens (id, account_id, token_hash, kind, name, created_at, expires_at, revoked) \
         VALUES ($1, $2, $3, 'api', $4, $5, NULL, 0)",
    )
    .bind(&id)
    .bind(account_id)
    .bind(auth::token_hash(&token))
    .bind(name)
    .bind(now)
    .execute(db)
    .await?;
    Ok((id, token))
}

/// `POST /api/v1/tokens`: an API token for scripts, shown once.
pub(crate) async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<NewToken>,
) -> Result<Json<Value>> {
    if body.name.is_empty() || body.name.len() > 100 {
        return Err(Error::BadRequest("a token name is 1–100 characters".into()));
    }
    let (id, token) = issue_api_token(&state.db, &caller.id, &body.name, now(&state)).await?;
    Ok(Json(json!({ "id": id, "token": token, "name": body.name })))
}

/// `DELETE /api/v1/tokens/{id}`: revokes one of the caller's tokens.
pub(crate) async fn revoke_token(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>> {
    let done = sqlx::query("UPDATE tokens SET revoked = 1 WHERE id = $1 AND account_id = $2")
        .bind(&id)
        .bind(&caller.id)
        .execute(&state.db)
        .await?;
    if done.rows_affected() == 0 {
        return Err(Error::NotFound("token".into()));
    }
    Ok(Json(json!({ "id": id, "revoked": true })))
}
