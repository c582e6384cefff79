//! The OpenAPI document of the API, served at `/openapi.json`.

use axum::Json;
use serde_json::{Value, json};

/// (method, path, summary, role, request body schema name)
const OPERATIONS: &[(&str, &str, &str, &str, Option<&str>)] = &[
    ("get", "/healthz", "Liveness probe", "none", None),
    (
        "post",
        "/api/v1/login",
        "Log in: a session token (8 h); reviewers and admins add a TOTP code",
        "none",
        Some("Login"),
    ),
    ("get", "/api/v1/me", "The caller's account", "any", None),
    (
        "post",
        "/api/v1/accounts",
        "Create an account; the TOTP secret is shown once",
        "admin",
        Some("NewAccount"),
    ),
    (
        "post",
        "/api/v1/tokens",
        "Create an API token for scripts; shown once",
        "any",
        Some("NewToken"),
    ),
    (
        "delete",
        "/api/v1/tokens/{id}",
        "Revoke one of the caller's tokens",
        "any",
        None,
    ),
    (
        "post",
        "/api/v1/applications",
        "Create a draft application",
        "researcher",
        Some("Application"),
    ),
    (
        "get",
        "/api/v1/applications",
        "Own (researcher), assigned (reviewer) or all (admin) applications",
        "any",
        None,
    ),
    (
        "get",
        "/api/v1/applications/{id}",
        "An application with reviewers, votes and project",
        "owner, reviewer, admin",
        None,
    ),
    (
        "put",
        "/api/v1/applications/{id}",
        "Edit a draft or an application sent back",
        "owner",
        Some("Application"),
    ),
    (
        "post",
        "/api/v1/applications/{id}/submit",
        "Submit (or resubmit after changes)",
        "owner",
        None,
    ),
    (
        "post",
        "/api/v1/applications/{id}/reviewers",
        "Assign reviewers; starts the review",
        "admin",
        Some("Assign"),
    ),
    (
        "post",
        "/api/v1/applications/{id}/conflict",
        "Declare a conflict of interest, or none",
        "reviewer",
        Some("Conflict"),
    ),
    (
        "post",
        "/api/v1/applications/{id}/votes",
        "Vote approve / reject / changes; a quorum decides",
        "reviewer",
        Some("Vote"),
    ),
    (
        "get",
        "/api/v1/projects",
        "The caller's projects",
        "any",
        None,
    ),
    (
        "get",
        "/api/v1/projects/{id}",
        "A project's state, settings, tables and columns",
        "member, admin",
        None,
    ),
    (
        "post",
        "/api/v1/projects/{id}/queries",
        "Run SQL: a disclosure-controlled aggregate as JSON, CSV or Arrow IPC (by Accept)",
        "member",
        Some("Query"),
    ),
    (
        "get",
        "/api/v1/projects/{id}/results/{result}",
        "A saved result",
        "member",
        None,
    ),
    (
        "post",
        "/api/v1/projects/{id}/close",
        "Close: destroy the project key and results; returns the deletion certificate",
        "admin",
        None,
    ),
    (
        "get",
        "/api/v1/projects/{id}/certificate",
        "The deletion certificate of a closed project",
        "member, admin",
        None,
    ),
    (
        "get",
        "/api/v1/steward/jobs",
        "Ingest and linkage job reports",
        "steward, admin",
        None,
    ),
];

fn schemas() -> Value {
    let s = |props: Value, required: &[&str]| json!({ "type": "object", "properties": props, "required": required });
    json!({
        "Error": s(json!({ "error": { "type": "object", "properties": {
            "code": { "type": "string" }, "message": { "type": "string" }, "request_id": { "type": "string" } } } }), &["error"]),
        "Login": s(json!({ "username": {"type": "string"}, "password": {"type": "string"}, "totp": {"type": "string"} }), &["username", "password"]),
        "NewAccount": s(json!({ "username": {"type": "string"}, "password": {"type": "string", "minLength": 12}, "role": {"type": "string", "enum": ["researcher", "reviewer", "steward", "admin"]} }), &["username", "password", "role"]),
        "NewToken": s(json!({ "name": {"type": "string"} }), &["name"]),
        "Application": s(json!({
            "title": {"type": "string"}, "purpose": {"type": "string"}, "public_interest": {"type": "string"},
            "datasets": {"type": "array", "items": {"type": "string"}},
            "columns": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
            "period": {"type": "object", "properties": {"from": {"type": "string"}, "to": {"type": "string"}}},
            "full_birth_date": {"type": "boolean"}, "kind": {"type": "string", "enum": ["pseudonymized", "anonymized"]},
            "duration_days": {"type": "integer"}, "security_measures": {"type": "string"},
            "members": {"type": "array", "items": {"type": "string"}}, "amends": {"type": "string"}
        }), &["title", "purpose", "public_interest", "datasets", "duration_days"]),
        "Assign": s(json!({ "reviewers": {"type": "array", "items": {"type": "string"}} }), &["reviewers"]),
        "Conflict": s(json!({ "conflicted": {"type": "boolean"}, "note": {"type": "string"} }), &["conflicted"]),
        "Vote": s(json!({ "decision": {"type": "string", "enum": ["approve", "reject", "changes"]}, "comment": {"type": "string"}, "conditions": {"type": "string"} }), &["decision", "comment"]),
        "Query": s(json!({ "sql": {"type": "string", "maxLength": niji_enclave::MAX_SQL_BYTES} }), &["sql"]),
    })
}

/// The document.
pub(crate) fn build() -> Value {
    let mut paths = serde_json::Map::new();
    for (method, path, summary, role, body) in OPERATIONS {
        let mut op = json!({
            "summary": summary,
            "description": format!("Role: {role}."),
            "responses": {
                "200": { "description": "Success" },
                "default": { "description": "Error", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } }
            }
        });
        if *role != "none" {
            op["security"] = json!([{ "bearer": [] }]);
        }
        if let Some(b) = body {
            op["requestBody"] = json!({ "required": true, "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{b}") } } } });
        }
        let params: Vec<Value> = path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }))
            .collect();
        if !params.is_empty() {
            op["parameters"] = json!(params);
        }
        let entry = paths.entry(path.to_string()).or_insert_with(|| json!({}));
        entry[*method] = op;
    }
    json!({
        "openapi": "3.0.3",
        "info": { "title": "niji query API", "version": env!("CARGO_PKG_VERSION"),
                  "description": "Remote access to pseudonymized health data: only disclosure-controlled aggregates leave." },
        "paths": paths,
        "components": {
            "schemas": schemas(),
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } }
        }
    })
}

/// `GET /openapi.json`.
pub(crate) async fn document() -> Json<Value> {
    Json(build())
}
