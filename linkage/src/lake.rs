//! The analysis lake: the staging tables keyed by `person_id`, with no link key, insurer
//! number, file or line, written from a DataFusion join of each staging table with the links of
//! one linkage job.

use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::compute::cast;
use datafusion::prelude::SessionContext;
use futures::StreamExt;
use niji_lake::{CommitInfo, TableWriter, ZoneRoot};

use crate::{Error, Result};

/// Staging tables copied to the lake.
pub const TABLES: [&str; 11] = [
    "receipts",
    "checkups",
    "care_claims",
    "ehr_bundles",
    "diagnoses",
    "procedures",
    "drugs",
    "materials",
    "observations",
    "care_services",
    "allergies",
];

/// Staging columns that never reach the lake: provenance, link keys and the insurer.
pub const WITHHELD: [&str; 12] = [
    "record_id",
    "job_id",
    "file",
    "file_id",
    "line",
    "insurer_number",
    "id1",
    "id2",
    "id4",
    "id5",
    "care_key",
    "key_version",
];

/// A plain Arrow type for Parquet (views and dictionaries become their value type).
fn plain(t: &DataType) -> DataType {
    match t {
        DataType::Utf8View | DataType::LargeUtf8 => DataType::Utf8,
        DataType::BinaryView | DataType::LargeBinary => DataType::Binary,
        DataType::Dictionary(_, v) => plain(v),
        other => other.clone(),
    }
}

fn plain_batch(schema: &SchemaRef, b: &RecordBatch) -> Result<RecordBatch> {
    let arrow = |source| Error::Arrow {
        table: "lake",
        source,
    };
    let cols: Vec<ArrayRef> = b
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(c, f)| cast(c, f.data_type()))
        .collect::<std::result::Result<_, _>>()
        .map_err(arrow)?;
    RecordBatch::try_new(schema.clone(), cols).map_err(arrow)
}

/// Writes the lake tables for linkage job `job_id`; returns (table, rows) per table written.
/// An existing lake table is emptied first (one commit), then the new rows are committed.
pub async fn write_lake(
    staging: &ZoneRoot,
    registry: &ZoneRoot,
    lake: &ZoneRoot,
    job_id: &str,
) -> Result<Vec<(&'static str, u64)>> {
    let info = CommitInfo::new(job_id, "link: lake");
    let mut out = Vec::new();
    for table in TABLES {
        let src = staging.table(table)?;
        if niji_lake::table_version(&src).await?.is_none() {
            continue;
        }
        let ctx = SessionContext::new();
        niji_lake::register(&ctx, "s", &src, None).await?;
        niji_lake::register(&ctx, "l", &registry.table("links")?, None).await?;
        let staged = ctx
            .table("s")
            .await
            .map_err(|e| Error::query("plan the lake write", e))?;
        let cols: Vec<String> = staged
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .filter(|n| !WITHHELD.contains(&n.as_str()))
            .map(|n| format!("s.\"{n}\""))
            .collect();
        // The job's links (three narrow columns) on the left, the build side of the hash join
        // unless DataFusion's statistics swap it, so that the wide staging rows stream through.
        let sql = format!(
            "SELECT l.person_id, l.unit_id, {} \
             FROM (SELECT record_id, person_id, unit_id FROM l WHERE job_id = '{}') l \
             JOIN s ON l.record_id = s.record_id",
            cols.join(", "),
            job_id.replace('\'', "''")
        );
        let df = ctx
            .sql(&sql)
            .await
            .map_err(|e| Error::query("plan the lake write", e))?;
        let schema: SchemaRef = Arc::new(Schema::new(
            df.schema()
                .fields()
                .iter()
                .map(|f| Field::new(f.name(), plain(f.data_type()), true))
                .collect::<Vec<_>>(),
        ));
        let uri = lake.table(table)?;
        if niji_lake::table_version(&uri).await?.is_some() {
            niji_lake::delete_where(&uri, "true", &info).await?;
        }
        let mut w = TableWriter::open(&uri, schema.clone(), &["source", "service_month"]).await?;
        let mut stream = df
            .execute_stream()
            .await
            .map_err(|e| Error::query("join staging with links", e))?;
        while let Some(b) = stream.next().await {
            let b = b.map_err(|e| Error::query("join staging with links", e))?;
            w.write(plain_batch(&schema, &b)?).await?;
        }
        let rows = w.rows();
        w.prepare().await?.commit(&info).await?;
        out.push((table, rows));
    }
    Ok(out)
}
