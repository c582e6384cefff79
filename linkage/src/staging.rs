//! Reading the identity columns of the staging unit tables into a [`RecordSet`].

use arrow_array::{
    Array, ArrayRef, BinaryArray, Date32Array, Int64Array, RecordBatch, StringArray,
};
use arrow_schema::DataType;
use datafusion::arrow::compute::cast;
use datafusion::prelude::SessionContext;
use futures::StreamExt;
use niji_core::Source;
use niji_lake::ZoneRoot;

use crate::record::{KEY_KINDS, RecordIn, RecordSet};
use crate::{Error, Result};

/// The unit tables, one row per receipt, checkup, care claim or EHR bundle.
pub const UNIT_TABLES: [&str; 4] = ["receipts", "checkups", "care_claims", "ehr_bundles"];

/// Which staging rows to read.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Only service months `YYYY-MM` in this inclusive range.
    pub months: Option<(String, String)>,
    /// Only rows of these ingest jobs.
    pub jobs: Option<Vec<String>>,
}

impl Selection {
    fn filter(&self) -> String {
        let mut w = Vec::new();
        if let Some((a, b)) = &self.months {
            w.push(format!(
                "service_month >= '{}' AND service_month <= '{}'",
                sql_str(a),
                sql_str(b)
            ));
        }
        if let Some(jobs) = &self.jobs {
            let list: Vec<String> = jobs.iter().map(|j| format!("'{}'", sql_str(j))).collect();
            w.push(if list.is_empty() {
                "FALSE".into()
            } else {
                format!("job_id IN ({})", list.join(","))
            });
        }
        if w.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", w.join(" AND "))
        }
    }
}

fn sql_str(s: &str) -> String {
    s.replace('\'', "''")
}

/// `YYYY-MM` as `year * 12 + month - 1`.
pub fn parse_month(s: &str) -> Option<u32> {
    let (y, m) = s.split_once('-')?;
    let (y, m): (u32, u32) = (y.parse().ok()?, m.parse().ok()?);
    (1..=12).contains(&m).then(|| y * 12 + m - 1)
}

/// `year * 12 + month - 1` as `YYYY-MM`.
pub fn format_month(m: u32) -> String {
    format!("{:04}-{:02}", m / 12, m % 12 + 1)
}

fn utf8(table: &str, b: &RecordBatch, col: &'static str) -> Result<StringArray> {
    let a = b.column_by_name(col).ok_or_else(|| Error::Column {
        table: table.into(),
        column: col,
    })?;
    let a: ArrayRef = cast(a, &DataType::Utf8).map_err(|source| Error::Arrow {
        table: "staging",
        source,
    })?;
    a.as_any()
        .downcast_ref::<StringArray>()
        .cloned()
        .ok_or_else(|| Error::Column {
            table: table.into(),
            column: col,
        })
}

fn typed<T: Array + Clone + 'static>(
    table: &str,
    b: &RecordBatch,
    col: &'static str,
    ty: &DataType,
) -> Result<T> {
    b.column_by_name(col)
        .and_then(|a| cast(a, ty).ok())
        .and_then(|a| a.as_any().downcast_ref::<T>().cloned())
        .ok_or_else(|| Error::Column {
            table: table.into(),
            column: col,
        })
}

/// Reads every selected unit row of the staging zone into `set`; returns the rows read per table.
/// Tables that do not exist yet are skipped. `progress` is called with the rows read so far.
pub async fn read_staging(
    staging: &ZoneRoot,
    selection: &Selection,
    set: &mut RecordSet,
    progress: &mut dyn FnMut(u64),
) -> Result<Vec<(&'static str, u64)>> {
    let mut counts = Vec::new();
    let filter = selection.filter();
    let mut total = 0u64;
    for table in UNIT_TABLES {
        let uri = staging.table(table)?;
        if niji_lake::table_version(&uri).await?.is_none() {
            continue;
        }
        let ctx = SessionContext::new();
        niji_lake::register(&ctx, table, &uri, None).await?;
        let sql = format!(
            "SELECT record_id, source, service_month, facility, sex, birth_date, insurer_number, \
             {}, file, line FROM {table}{filter}",
            KEY_KINDS.join(", ")
        );
        let df = ctx
            .sql(&sql)
            .await
            .map_err(|e| Error::query("plan the staging read", e))?;
        let mut stream = df
            .execute_stream()
            .await
            .map_err(|e| Error::query("read the staging table", e))?;
        let mut rows = 0u64;
        while let Some(batch) = stream.next().await {
            let b = batch.map_err(|e| Error::query("read the staging table", e))?;
            push_batch(table, &b, set)?;
            rows += b.num_rows() as u64;
            total += b.num_rows() as u64;
            progress(total);
        }
        counts.push((table, rows));
    }
    Ok(counts)
}

/// Appends the rows of one staging batch.
pub fn push_batch(table: &str, b: &RecordBatch, set: &mut RecordSet) -> Result<()> {
    let ids = utf8(table, b, "record_id")?;
    let sources = utf8(table, b, "source")?;
    let months = utf8(table, b, "service_month")?;
    let facility = utf8(table, b, "facility")?;
    let sex = utf8(table, b, "sex")?;
    let insurer = utf8(table, b, "insurer_number")?;
    let file = utf8(table, b, "file")?;
    let birth: Date32Array = typed(table, b, "birth_date", &DataType::Date32)?;
    let line: Int64Array = typed(table, b, "line", &DataType::Int64)?;
    let keys: Vec<BinaryArray> = KEY_KINDS
        .iter()
        .map(|k| typed(table, b, k, &DataType::Binary))
        .collect::<Result<_>>()?;
    let bad = |column| Error::Column {
        table: table.into(),
        column,
    };
    for i in 0..b.num_rows() {
        let source: Source = sources.value(i).parse().map_err(|_| bad("source"))?;
        let month = parse_month(months.value(i)).ok_or_else(|| bad("service_month"))?;
        let r = RecordIn {
            record_id: ids.value(i),
            source,
            month,
            facility: facility.is_valid(i).then(|| facility.value(i)),
            sex: match sex.is_valid(i).then(|| sex.value(i)) {
                Some("1") => 1,
                Some("2") => 2,
                _ => 0,
            },
            birth: birth.is_valid(i).then(|| birth.value(i)),
            insurer: insurer.is_valid(i).then(|| insurer.value(i)),
            keys: [
                key_at(&keys[0], i),
                key_at(&keys[1], i),
                key_at(&keys[2], i),
                key_at(&keys[3], i),
                key_at(&keys[4], i),
            ],
            file: file.value(i),
            line: u32::try_from(line.value(i)).unwrap_or(0),
        };
        set.push(&r)?;
    }
    Ok(())
}

fn key_at(k: &BinaryArray, i: usize) -> Option<&[u8; 32]> {
    if k.is_null(i) {
        None
    } else {
        k.value(i).try_into().ok()
    }
}
