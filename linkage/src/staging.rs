//! Reading the identity columns of the staging unit tables into a [`RecordSet`].

use arrow_array::cast::AsArray;
use arrow_array::{
    Array, BinaryArray, BinaryViewArray, Date32Array, FixedSizeBinaryArray, Int64Array,
    LargeStringArray, RecordBatch, StringArray, StringViewArray,
};
use arrow_buffer::NullBuffer;
use arrow_schema::DataType;
use datafusion::arrow::compute::cast;
use datafusion::prelude::{SessionConfig, SessionContext};
use futures::{SinkExt, StreamExt};
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

/// A string column as DataFusion hands it (Utf8, LargeUtf8, Utf8View, or a dictionary of them
/// as partition columns come), read in place: no cast, no copy.
pub(crate) enum Strs<'a> {
    Utf8(&'a StringArray),
    Large(&'a LargeStringArray),
    View(&'a StringViewArray),
    Dict {
        keys: Vec<usize>,
        nulls: Option<&'a NullBuffer>,
        values: Box<Strs<'a>>,
    },
}

impl<'a> Strs<'a> {
    pub(crate) fn of(table: &str, b: &'a RecordBatch, col: &'static str) -> Result<Self> {
        b.column_by_name(col)
            .and_then(|a| Self::array(a.as_ref()))
            .ok_or_else(|| Error::Column {
                table: table.into(),
                column: col,
            })
    }

    fn array(a: &'a dyn Array) -> Option<Self> {
        if let Some(d) = a.as_any_dictionary_opt() {
            return Some(Strs::Dict {
                keys: d.normalized_keys(),
                nulls: d.keys().nulls(),
                values: Box::new(Self::array(d.values().as_ref())?),
            });
        }
        let any = a.as_any();
        any.downcast_ref()
            .map(Strs::Utf8)
            .or_else(|| any.downcast_ref().map(Strs::Large))
            .or_else(|| any.downcast_ref().map(Strs::View))
    }

    #[inline]
    pub(crate) fn get(&self, i: usize) -> Option<&'a str> {
        match self {
            Strs::Utf8(a) => a.is_valid(i).then(|| a.value(i)),
            Strs::Large(a) => a.is_valid(i).then(|| a.value(i)),
            Strs::View(a) => a.is_valid(i).then(|| a.value(i)),
            Strs::Dict {
                keys,
                nulls,
                values,
            } => {
                if nulls.is_some_and(|n| n.is_null(i)) {
                    None
                } else {
                    values.get(keys[i])
                }
            }
        }
    }
}

/// A link-key column (FixedSizeBinary(32) as ingest writes it, or any binary), read in place.
enum Keys<'a> {
    Fixed(&'a FixedSizeBinaryArray),
    Binary(&'a BinaryArray),
    View(&'a BinaryViewArray),
}

impl<'a> Keys<'a> {
    fn of(table: &str, b: &'a RecordBatch, col: &'static str) -> Result<Self> {
        let a = b.column_by_name(col).map(|a| a.as_any());
        a.and_then(|a| a.downcast_ref().map(Keys::Fixed))
            .or_else(|| a.and_then(|a| a.downcast_ref().map(Keys::Binary)))
            .or_else(|| a.and_then(|a| a.downcast_ref().map(Keys::View)))
            .ok_or_else(|| Error::Column {
                table: table.into(),
                column: col,
            })
    }

    #[inline]
    fn get(&self, i: usize) -> Option<&'a [u8; 32]> {
        let v = match self {
            Keys::Fixed(a) => a.is_valid(i).then(|| a.value(i)),
            Keys::Binary(a) => a.is_valid(i).then(|| a.value(i)),
            Keys::View(a) => a.is_valid(i).then(|| a.value(i)),
        };
        v.and_then(|v| v.try_into().ok())
    }
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
///
/// Each scan is split into one contiguous range of the table's files per core, each decoded by a
/// task of its own a few batches ahead, and the ranges are taken in order: a staged file's rows
/// stay one run (the one-file guard of [`RecordSet`] sees them together, unless the file
/// straddles the cut between two ranges) and the records come in the same order on every run.
/// The set is numbered canonically at the end ([`RecordSet::canonicalize`]).
pub async fn read_staging(
    staging: &ZoneRoot,
    selection: &Selection,
    set: &mut RecordSet,
    progress: &mut dyn FnMut(u64),
) -> Result<Vec<(&'static str, u64)>> {
    let filter = selection.filter();
    let mut tables = Vec::new();
    for table in UNIT_TABLES {
        let uri = staging.table(table)?;
        if niji_lake::table_version(&uri).await?.is_none() {
            continue;
        }
        // Ranges of files (cut between row groups), never batches dealt round robin, which
        // would interleave the rows of a file.
        let config = SessionConfig::new().with_round_robin_repartition(false);
        let ctx = SessionContext::new_with_config(config);
        niji_lake::register(&ctx, table, &uri, None).await?;
        tables.push((table, ctx));
    }
    // The rows to come, counted first: the record set is allocated once instead of growing by
    // doubling, which copies it and zeroes its pages again.
    let mut expected = 0u64;
    for (table, ctx) in &tables {
        expected += count_rows(ctx, &format!("SELECT count(*) FROM {table}{filter}")).await?;
    }
    set.reserve(usize::try_from(expected).unwrap_or(0));
    let mut ranges = Vec::new();
    for (table, ctx) in &tables {
        let sql = format!(
            "SELECT record_id, source, service_month, facility, sex, birth_date, insurer_number, \
             {}, file, line FROM {table}{filter}",
            KEY_KINDS.join(", ")
        );
        let streams = ctx
            .sql(&sql)
            .await
            .map_err(|e| Error::query("plan the staging read", e))?
            .execute_stream_partitioned()
            .await
            .map_err(|e| Error::query("read the staging table", e))?;
        for mut stream in streams {
            let (mut tx, rx) = futures::channel::mpsc::channel(DECODED_AHEAD);
            let decoding = tokio::spawn(async move {
                while let Some(batch) = stream.next().await {
                    // The receiver only goes away when the read failed.
                    if tx.send(batch).await.is_err() {
                        break;
                    }
                }
            });
            ranges.push((*table, rx, decoding));
        }
    }
    // Every table read is counted, also one whose scan has no range.
    let mut counts: Vec<(&'static str, u64)> = tables.iter().map(|(t, _)| (*t, 0)).collect();
    let mut total = 0u64;
    for (table, mut batches, decoding) in ranges {
        let mut rows = 0u64;
        while let Some(batch) = batches.next().await {
            let b = batch.map_err(|e| Error::query("read the staging table", e))?;
            push_batch(table, &b, set)?;
            rows += b.num_rows() as u64;
            total += b.num_rows() as u64;
            progress(total);
        }
        decoding
            .await
            .map_err(|e| Error::stopped(format!("reading table {table}"), &e))?;
        if let Some((_, n)) = counts.iter_mut().find(|(t, _)| *t == table) {
            *n += rows;
        }
    }
    set.canonicalize();
    Ok(counts)
}

/// Batches a range's task decodes before the reader takes them.
const DECODED_AHEAD: usize = 2;

/// The single count a `SELECT count(*)` returns.
async fn count_rows(ctx: &SessionContext, sql: &str) -> Result<u64> {
    let batches = ctx
        .sql(sql)
        .await
        .map_err(|e| Error::query("plan the staging count", e))?
        .collect()
        .await
        .map_err(|e| Error::query("count the staging rows", e))?;
    Ok(batches
        .first()
        .filter(|b| b.num_rows() == 1)
        .and_then(|b| {
            b.column(0)
                .as_primitive_opt::<arrow_array::types::Int64Type>()
        })
        .map_or(0, |a| u64::try_from(a.value(0)).unwrap_or(0)))
}

/// Appends the rows of one staging batch.
fn push_batch(table: &str, b: &RecordBatch, set: &mut RecordSet) -> Result<()> {
    let ids = Strs::of(table, b, "record_id")?;
    let sources = Strs::of(table, b, "source")?;
    let months = Strs::of(table, b, "service_month")?;
    let facility = Strs::of(table, b, "facility")?;
    let sex = Strs::of(table, b, "sex")?;
    let insurer = Strs::of(table, b, "insurer_number")?;
    let file = Strs::of(table, b, "file")?;
    let birth: Date32Array = typed(table, b, "birth_date", &DataType::Date32)?;
    let line: Int64Array = typed(table, b, "line", &DataType::Int64)?;
    let keys = [
        Keys::of(table, b, KEY_KINDS[0])?,
        Keys::of(table, b, KEY_KINDS[1])?,
        Keys::of(table, b, KEY_KINDS[2])?,
        Keys::of(table, b, KEY_KINDS[3])?,
        Keys::of(table, b, KEY_KINDS[4])?,
    ];
    let bad = |column| Error::Column {
        table: table.into(),
        column,
    };
    // Source and month repeat over long runs of rows: parse each value once.
    let mut last_source: Option<(&str, Source)> = None;
    let mut last_month: Option<(&str, u32)> = None;
    let mut rows = Vec::with_capacity(b.num_rows());
    for i in 0..b.num_rows() {
        let s = sources.get(i).ok_or_else(|| bad("source"))?;
        let source = match last_source {
            Some((p, v)) if p == s => v,
            _ => {
                let v: Source = s.parse().map_err(|_| bad("source"))?;
                last_source = Some((s, v));
                v
            }
        };
        let m = months.get(i).ok_or_else(|| bad("service_month"))?;
        let month = match last_month {
            Some((p, v)) if p == m => v,
            _ => {
                let v = parse_month(m).ok_or_else(|| bad("service_month"))?;
                last_month = Some((m, v));
                v
            }
        };
        let r = RecordIn {
            record_id: ids.get(i).ok_or_else(|| bad("record_id"))?,
            source,
            month,
            facility: facility.get(i),
            sex: match sex.get(i) {
                Some("1") => 1,
                Some("2") => 2,
                _ => 0,
            },
            birth: birth.is_valid(i).then(|| birth.value(i)),
            insurer: insurer.get(i),
            keys: [
                keys[0].get(i),
                keys[1].get(i),
                keys[2].get(i),
                keys[3].get(i),
                keys[4].get(i),
            ],
            file: file.get(i).ok_or_else(|| bad("file"))?,
            line: u32::try_from(line.value(i)).unwrap_or(0),
        };
        rows.push(r);
    }
    set.push_many(&rows)
}
