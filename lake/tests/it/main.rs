//! Integration tests of niji-lake: real Delta tables in temporary folders.

mod commit;
mod errors;
mod write_read;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{DictionaryArray, Int64Array, RecordBatch, StringArray, types::Int32Type};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::prelude::SessionContext;
use niji_lake::{TableUri, Version, register};

/// One claim row: (source, service_month, person_id, code, points).
type Row<'a> = (&'a str, &'a str, &'a str, &'a str, i64);

const PARTITIONS: &[&str] = &["source", "service_month"];

fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("source", DataType::Utf8, false),
        Field::new("service_month", DataType::Utf8, false),
        Field::new("person_id", DataType::Utf8, false),
        Field::new(
            "code",
            DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
            true,
        ),
        Field::new("points", DataType::Int64, true),
    ]))
}

fn batch(rows: &[Row<'_>]) -> RecordBatch {
    let col =
        |f: for<'r> fn(&'r Row<'_>) -> &'r str| StringArray::from_iter_values(rows.iter().map(f));
    let codes: DictionaryArray<Int32Type> = rows.iter().map(|r| r.3).collect();
    RecordBatch::try_new(
        schema(),
        vec![
            Arc::new(col(|r| r.0)),
            Arc::new(col(|r| r.1)),
            Arc::new(col(|r| r.2)),
            Arc::new(codes),
            Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.4))),
        ],
    )
    .expect("test batch")
}

fn table(dir: &Path, name: &str) -> TableUri {
    TableUri::in_zone(dir.to_str().expect("utf-8 temp path"), name).expect("table uri")
}

/// Runs `sql` against the table registered as `claims` (at `version`) and pretty-prints it.
async fn query(uri: &TableUri, version: Option<Version>, sql: &str) -> anyhow::Result<String> {
    let ctx = SessionContext::new();
    register(&ctx, "claims", uri, version).await?;
    let batches = ctx.sql(sql).await?.collect().await?;
    Ok(pretty_format_batches(&batches)?.to_string())
}

/// Row count of the table at `version`, through SQL.
async fn count(uri: &TableUri, version: Option<Version>) -> anyhow::Result<String> {
    query(uri, version, "SELECT count(*) AS n FROM claims").await
}

fn table_of(lines: &[&str]) -> String {
    lines.join("\n")
}

/// Every Parquet file under `dir`, sorted.
fn parquet_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "parquet") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// Waits (up to ~5 s) for a background cleanup to bring the Parquet files back to `expected`.
async fn wait_for_files(dir: &Path, expected: &[PathBuf]) -> Vec<PathBuf> {
    for _ in 0..100 {
        let now = parquet_files(dir);
        if now == expected {
            return now;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    parquet_files(dir)
}
