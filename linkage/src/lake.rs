//! The analysis lake: the staging tables keyed by `person_id`, with no link key, insurer
//! number, file or line. Each staging table is streamed once and every row gets the person of
//! its unit from an in-memory index of the linkage job (no join, no second copy of the rows).

use std::sync::Arc;

use arrow_array::{ArrayRef, Int64Array, RecordBatch, UInt32Array};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::compute::{cast, take};
use datafusion::prelude::SessionContext;
use futures::StreamExt;
use niji_lake::{CommitInfo, TableWriter, ZoneRoot};

use crate::link::Linkage;
use crate::record::{RecordMap, RecordSet};
use crate::registry::Assignment;
use crate::staging::Strs;
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

/// Where each staged unit lands in the lake: its person and its unit number in this job (the
/// `unit_id` of the registry's links table), keyed by record id.
#[derive(Debug)]
pub struct LakeIndex {
    units: RecordMap<(i64, u32)>,
}

impl LakeIndex {
    /// The person and unit of every record of `set` as `linkage` and `assignment` decided.
    pub fn new(set: &RecordSet, linkage: &Linkage, assignment: &Assignment) -> Self {
        let mut units = RecordMap::new();
        for i in 0..set.len() {
            let person = assignment.person_of[linkage.cluster(set, i) as usize];
            units.insert(set.record_id(i), (person, i as u32));
        }
        Self { units }
    }

    /// The person and unit of a record.
    pub fn get(&self, record_id: &str) -> Option<(i64, u32)> {
        self.units.get(record_id)
    }
}

/// Tables written at once (each one's Parquet encoding runs on its own thread).
const CONCURRENT_TABLES: usize = 2;

/// Writes the lake tables of linkage job `job_id`; returns (table, rows) per table written.
/// Each staging table is streamed once: every row gets the person and unit of its record from
/// `index` (rows of records the job did not link, outside its selection, are left out), the
/// withheld columns are dropped, and an existing lake table is emptied first (one commit)
/// before the new rows are committed.
pub async fn write_lake(
    staging: &ZoneRoot,
    lake: &ZoneRoot,
    job_id: &str,
    index: Arc<LakeIndex>,
) -> Result<Vec<(&'static str, u64)>> {
    let info = CommitInfo::new(job_id, "link: lake");
    // Each table's task is spawned when `buffered` first polls its future, so that at most
    // CONCURRENT_TABLES writers (and their open partitions) are alive at once.
    let tasks = TABLES.into_iter().map(|table| {
        // A table writer's future is not `Send` (the Parquet encoders are not `Sync`): each
        // table is driven on a blocking thread of its own, which also keeps the encoding off
        // the runtime's workers that read the staging files.
        let (staging, lake, index, info) =
            (staging.clone(), lake.clone(), index.clone(), info.clone());
        async move {
            let runtime = tokio::runtime::Handle::current();
            let rows = tokio::task::spawn_blocking(move || {
                runtime.block_on(write_table(staging, lake, table, index, info))
            })
            .await
            .map_err(|e| Error::stopped(format!("writing table {table}"), &e))??;
            Ok::<_, Error>(rows.map(|r| (table, r)))
        }
    });
    let written: Vec<Result<Option<(&'static str, u64)>>> = futures::stream::iter(tasks)
        .buffered(CONCURRENT_TABLES)
        .collect()
        .await;
    let mut out = Vec::new();
    for w in written {
        out.extend(w?);
    }
    Ok(out)
}

/// Writes one lake table; `None` when the staging table does not exist.
async fn write_table(
    staging: ZoneRoot,
    lake: ZoneRoot,
    table: &'static str,
    index: Arc<LakeIndex>,
    info: CommitInfo,
) -> Result<Option<u64>> {
    let src = staging.table(table)?;
    if niji_lake::table_version(&src).await?.is_none() {
        return Ok(None);
    }
    let ctx = SessionContext::new();
    niji_lake::register(&ctx, "s", &src, None).await?;
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
        .map(|n| format!("\"{n}\""))
        .collect();
    let df = ctx
        .sql(&format!("SELECT record_id, {} FROM s", cols.join(", ")))
        .await
        .map_err(|e| Error::query("plan the lake write", e))?;
    let schema: SchemaRef = Arc::new(Schema::new(
        [
            Field::new("person_id", DataType::Int64, true),
            Field::new("unit_id", DataType::Int64, true),
        ]
        .into_iter()
        .chain(
            df.schema()
                .fields()
                .iter()
                .skip(1)
                .map(|f| Field::new(f.name(), plain(f.data_type()), true)),
        )
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
        .map_err(|e| Error::query("read the staging table", e))?;
    while let Some(b) = stream.next().await {
        let b = b.map_err(|e| Error::query("read the staging table", e))?;
        if let Some(b) = keyed(table, &schema, &b, &index)? {
            w.write(b).await?;
        }
    }
    let rows = w.rows();
    w.prepare().await?.commit(&info).await?;
    Ok(Some(rows))
}

/// A staging batch (`record_id` first) as lake rows: `person_id` and `unit_id` in front, the
/// record id dropped, rows of unlinked records left out; `None` when no row is left.
fn keyed(
    table: &'static str,
    schema: &SchemaRef,
    b: &RecordBatch,
    index: &LakeIndex,
) -> Result<Option<RecordBatch>> {
    let arrow = |source| Error::Arrow {
        table: "lake",
        source,
    };
    let ids = Strs::of(table, b, "record_id")?;
    let n = b.num_rows();
    let (mut person, mut unit, mut keep) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    // Detail rows (diagnoses, drugs…) come in runs of one unit: look each unit up once.
    let mut last: Option<(&str, Option<(i64, u32)>)> = None;
    for i in 0..n {
        let Some(id) = ids.get(i) else { continue };
        let found = match last {
            Some((prev, v)) if prev == id => v,
            _ => {
                let v = index.get(id);
                last = Some((id, v));
                v
            }
        };
        if let Some((p, u)) = found {
            person.push(p);
            unit.push(i64::from(u));
            keep.push(i as u32);
        }
    }
    if keep.is_empty() {
        return Ok(None);
    }
    let take_rows = (keep.len() < n).then(|| UInt32Array::from(keep));
    let mut cols: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(person)),
        Arc::new(Int64Array::from(unit)),
    ];
    for (c, f) in b
        .columns()
        .iter()
        .skip(1)
        .zip(schema.fields().iter().skip(2))
    {
        let c = match &take_rows {
            Some(rows) => take(c, rows, None).map_err(arrow)?,
            None => c.clone(),
        };
        cols.push(cast(&c, f.data_type()).map_err(arrow)?);
    }
    RecordBatch::try_new(schema.clone(), cols)
        .map(Some)
        .map_err(arrow)
}
