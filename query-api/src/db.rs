//! The metadata store: accounts, tokens, applications, reviews, projects and saved results, in
//! SQLite (a file, zero set-up) or PostgreSQL (by URL), through sqlx's Any driver with portable
//! SQL and numbered migrations.

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, Row};

use crate::Result;

/// The migrations, in order; each runs once, recorded in `niji_migrations`.
const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        "CREATE TABLE accounts (
        id TEXT PRIMARY KEY,
        username TEXT NOT NULL UNIQUE,
        role TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        totp_secret TEXT,
        created_at BIGINT NOT NULL,
        disabled BIGINT NOT NULL DEFAULT 0
    );
    CREATE TABLE tokens (
        id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL REFERENCES accounts(id),
        token_hash TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        name TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT,
        revoked BIGINT NOT NULL DEFAULT 0
    );
    CREATE TABLE applications (
        id TEXT PRIMARY KEY,
        owner_id TEXT NOT NULL REFERENCES accounts(id),
        title TEXT NOT NULL,
        body TEXT NOT NULL,
        state TEXT NOT NULL,
        round BIGINT NOT NULL,
        conditions TEXT,
        amends TEXT,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL
    );
    CREATE TABLE reviewers (
        application_id TEXT NOT NULL REFERENCES applications(id),
        reviewer_id TEXT NOT NULL REFERENCES accounts(id),
        conflict BIGINT,
        conflict_note TEXT,
        PRIMARY KEY (application_id, reviewer_id)
    );
    CREATE TABLE votes (
        application_id TEXT NOT NULL REFERENCES applications(id),
        round BIGINT NOT NULL,
        reviewer_id TEXT NOT NULL REFERENCES accounts(id),
        decision TEXT NOT NULL,
        comment TEXT NOT NULL,
        conditions TEXT,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (application_id, round, reviewer_id)
    );
    CREATE TABLE projects (
        id TEXT PRIMARY KEY,
        application_id TEXT NOT NULL REFERENCES applications(id),
        spec TEXT NOT NULL,
        state TEXT NOT NULL,
        activated_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        closed_at BIGINT,
        certificate TEXT
    );
    CREATE TABLE members (
        project_id TEXT NOT NULL REFERENCES projects(id),
        account_id TEXT NOT NULL REFERENCES accounts(id),
        PRIMARY KEY (project_id, account_id)
    );
    CREATE TABLE results (
        id TEXT PRIMARY KEY,
        project_id TEXT NOT NULL REFERENCES projects(id),
        account_id TEXT NOT NULL REFERENCES accounts(id),
        sql_text TEXT NOT NULL,
        body TEXT NOT NULL,
        created_at BIGINT NOT NULL
    )",
    ),
    (
        2,
        "CREATE TABLE query_jobs (
        id TEXT PRIMARY KEY,
        project_id TEXT NOT NULL REFERENCES projects(id),
        account_id TEXT NOT NULL REFERENCES accounts(id),
        sql_text TEXT NOT NULL,
        state TEXT NOT NULL,
        result_id TEXT,
        error_code TEXT,
        error_message TEXT,
        created_at BIGINT NOT NULL,
        finished_at BIGINT
    )",
    ),
];

/// Connects to `url` (`sqlite://path?mode=rwc`, `sqlite::memory:`, `postgres://…`) and runs the
/// migrations not yet applied.
pub async fn connect(url: &str) -> Result<AnyPool> {
    install_default_drivers();
    let in_memory = url.contains(":memory:");
    let pool = AnyPoolOptions::new()
        // An in-memory SQLite database lives in one connection.
        .max_connections(if in_memory { 1 } else { 8 })
        .connect(url)
        .await?;
    migrate(&pool).await?;
    Ok(pool)
}

async fn migrate(pool: &AnyPool) -> Result<()> {
    sqlx::query("CREATE TABLE IF NOT EXISTS niji_migrations (version BIGINT PRIMARY KEY)")
        .execute(pool)
        .await?;
    let applied: Vec<i64> = sqlx::query("SELECT version FROM niji_migrations")
        .fetch_all(pool)
        .await?
        .iter()
        .map(|r| r.get::<i64, _>(0))
        .collect();
    for (version, sql) in MIGRATIONS {
        if applied.contains(version) {
            continue;
        }
        let mut tx = pool.begin().await?;
        for statement in sql.split(';').map(str::trim).filter(|s| !s.is_empty()) {
            sqlx::query(statement).execute(&mut *tx).await?;
        }
        sqlx::query("INSERT INTO niji_migrations (version) VALUES ($1)")
            .bind(*version)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        tracing::info!(version, "metadata migration applied");
    }
    Ok(())
}
