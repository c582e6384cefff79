//! Integration tests of the query API: a real server on a socket, on SQLite and (when
//! `NIJI_TEST_POSTGRES_URL` is set, as `scripts/test` does) on PostgreSQL.

mod client;
mod fixture;
mod lifecycle;
mod tls;
