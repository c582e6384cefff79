//! Phase one of a two-phase write: [`TableWriter`] creates or checks the table and streams record
//! batches into Parquet data files that no reader can see until they are committed.

use std::num::NonZeroU64;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::{DataType, Schema, SchemaRef};
use deltalake::datafile::writer::{DeltaWriter, WriterConfig};
use deltalake::kernel::engine::arrow_conversion::TryIntoKernel as _;
use deltalake::kernel::{StructField, StructType};
use deltalake::parquet::basic::{Compression as ParquetCompression, ZstdLevel};
use deltalake::parquet::file::properties::WriterProperties;
use deltalake::protocol::SaveMode;
use deltalake::{DeltaTable, DeltaTableError, TableProperty};

use crate::Version;
use crate::commit::Prepared;
use crate::error::{Error, Result};
use crate::store::RecordingStore;
use crate::uri::TableUri;

/// Parquet codec of the data files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Compression {
    /// Snappy: fast, the Parquet default.
    Snappy,
    /// Zstandard at the given level (1–22): smaller files, slower writes.
    Zstd(i32),
}

/// How data files are written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteOptions {
    /// A partition's file is closed and a new one started once it reaches about this many bytes.
    pub target_file_size: u64,
    /// A row group is closed once its encoded size reaches about this many bytes. Memory held by
    /// a writer is about (open partitions) × (this + the 5 MiB upload buffer).
    pub max_row_group_bytes: usize,
    /// Codec.
    pub compression: Compression,
}

impl Default for WriteOptions {
    fn default() -> Self {
        Self {
            target_file_size: 64 * 1024 * 1024,
            max_row_group_bytes: 16 * 1024 * 1024,
            compression: Compression::Snappy,
        }
    }
}

impl WriteOptions {
    fn writer_properties(&self) -> Result<WriterProperties, DeltaTableError> {
        let compression = match self.compression {
            Compression::Snappy => ParquetCompression::SNAPPY,
            Compression::Zstd(level) => ParquetCompression::ZSTD(
                ZstdLevel::try_new(level).map_err(|e| DeltaTableError::Parquet { source: e })?,
            ),
        };
        Ok(WriterProperties::builder()
            .set_created_by(format!("niji-lake {}", env!("CARGO_PKG_VERSION")))
            .set_compression(compression)
            .set_max_row_group_bytes(Some(self.max_row_group_bytes.max(1)))
            .build())
    }
}

/// Writes one job's rows into one table: files are written as batches arrive, and nothing is
/// visible to readers until [`TableWriter::prepare`] and then [`Prepared::commit`].
///
/// Dropping a writer without preparing it (a failed job) leaves the table as it was; the files
/// already written are removed in the background when a tokio runtime is still running
/// (otherwise they stay as unreferenced files, invisible to readers, for `VACUUM`). Call
/// [`TableWriter::abort`] to remove them before returning.
pub struct TableWriter {
    uri: TableUri,
    table: DeltaTable,
    schema: SchemaRef,
    partition_columns: Vec<String>,
    /// `None` once finished, aborted, or broken by a failed write.
    sink: Option<DeltaWriter>,
    store: Arc<RecordingStore>,
    rows: u64,
    /// Set once the files are handed to a `Prepared` or removed: nothing left for `Drop`.
    done: bool,
}

impl std::fmt::Debug for TableWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TableWriter")
            .field("uri", &self.uri)
            .field("base_version", &self.table.version())
            .field("partition_columns", &self.partition_columns)
            .field("rows", &self.rows)
            .field("files_started", &self.store.written().len())
            .finish_non_exhaustive()
    }
}

impl TableWriter {
    /// Opens a writer with the default [`WriteOptions`]; see [`TableWriter::open_with`].
    pub async fn open(
        uri: &TableUri,
        schema: SchemaRef,
        partition_columns: &[&str],
    ) -> Result<TableWriter> {
        Self::open_with(uri, schema, partition_columns, WriteOptions::default()).await
    }

    /// Opens a writer, creating the table (version 0, with `schema` and `partition_columns`,
    /// and `delta.enableExpiredLogCleanup = false` so pinned versions stay readable) if there is
    /// none at `uri`. An existing table must have the same columns (same names and
    /// Delta types; a nullable table column accepts a non-nullable writer column) and the same
    /// partition columns, else [`Error::SchemaMismatch`] / [`Error::PartitionMismatch`].
    ///
    /// Partition columns must be `Utf8` columns of `schema` (e.g. `source`, `service_month`).
    /// Dictionary-encoded string columns are stored as Delta `string`.
    pub async fn open_with(
        uri: &TableUri,
        schema: SchemaRef,
        partition_columns: &[&str],
        options: WriteOptions,
    ) -> Result<TableWriter> {
        let partition_columns: Vec<String> =
            partition_columns.iter().map(|c| (*c).to_owned()).collect();
        check_partition_columns(uri, &schema, &partition_columns)?;
        let requested: StructType =
            schema
                .as_ref()
                .try_into_kernel()
                .map_err(|e| Error::SchemaMismatch {
                    table: uri.to_string(),
                    detail: format!("the schema has no Delta equivalent ({e})"),
                })?;

        uri.ensure_dir()?;
        let table = load_or_create(uri, &requested, &partition_columns).await?;
        let snapshot = table
            .snapshot()
            .map_err(|e| Error::delta(uri, "read the table state", e))?;
        check_schema(uri, &snapshot.schema(), &requested)?;
        let existing_partitions: Vec<String> = snapshot.metadata().partition_columns().to_vec();
        if existing_partitions != partition_columns {
            return Err(Error::PartitionMismatch {
                table: uri.to_string(),
                requested: partition_columns,
                detail: format!("the table is partitioned by {existing_partitions:?}"),
            });
        }

        let (num_indexed_cols, stats_columns) =
            deltalake::operations::get_num_idx_cols_and_stats_columns(
                Some(snapshot.table_config()),
                Default::default(),
            );
        let properties = options
            .writer_properties()
            .map_err(|e| Error::delta(uri, "configure Parquet", e))?;
        let config = WriterConfig::new(
            Arc::clone(&schema),
            partition_columns.clone(),
            Some(properties),
            NonZeroU64::new(options.target_file_size),
            None,
            num_indexed_cols,
            stats_columns,
        );
        let store = Arc::new(RecordingStore::new(table.object_store()));
        let sink = DeltaWriter::new(Arc::clone(&store) as _, config);
        tracing::debug!(table = %uri, version = ?table.version(), "table writer opened");
        Ok(TableWriter {
            uri: uri.clone(),
            table,
            schema,
            partition_columns,
            sink: Some(sink),
            store,
            rows: 0,
            done: false,
        })
    }

    /// The table written to.
    pub fn uri(&self) -> &TableUri {
        &self.uri
    }

    /// The table version the write is based on.
    pub fn base_version(&self) -> Option<Version> {
        self.table.version()
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// The schema batches must have.
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// Writes a batch (with its partition columns) into the data files of its partitions. A
    /// file is finished and a new one started whenever one reaches the target size, so memory
    /// stays bounded however many batches a job writes.
    ///
    /// A batch whose columns differ from the writer's schema is refused before anything is
    /// written. An I/O error leaves the writer unusable: abort it (or drop it) and fail the job.
    pub async fn write(&mut self, batch: RecordBatch) -> Result<()> {
        let batch = self.conform(batch)?;
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let rows = batch.num_rows() as u64;
        let sink = self.sink.as_mut().ok_or_else(|| Error::WriterFailed {
            table: self.uri.to_string(),
        })?;
        if let Err(e) = sink.write(&batch).await {
            // The sink may hold half-written uploads; it must not be used again.
            if let Some(sink) = self.sink.take()
                && let Err(abort) = sink.abort().await
            {
                tracing::warn!(table = %self.uri, error = %abort, "aborting uploads failed");
            }
            return Err(Error::delta(&self.uri, "write data files", e));
        }
        self.rows += rows;
        Ok(())
    }

    /// Finishes every data file and returns them, written but not committed: readers do not
    /// see them until [`Prepared::commit`]. On error the files written so far are removed.
    pub async fn prepare(mut self) -> Result<Prepared> {
        self.done = true;
        let Some(sink) = self.sink.take() else {
            self.remove_files().await;
            return Err(Error::WriterFailed {
                table: self.uri.to_string(),
            });
        };
        match sink.close().await {
            // The files now belong to the `Prepared` (which cleans up if dropped).
            Ok(adds) => Ok(Prepared::new(
                self.uri.clone(),
                self.table.clone(),
                std::mem::take(&mut self.partition_columns),
                adds,
                Arc::clone(&self.store),
                self.rows,
            )),
            Err(e) => {
                self.remove_files().await;
                Err(Error::delta(&self.uri, "finish data files", e))
            }
        }
    }

    /// Abandons the write and removes every file it started. The table is untouched.
    pub async fn abort(mut self) -> Result<()> {
        self.done = true;
        if let Some(sink) = self.sink.take()
            && let Err(e) = sink.abort().await
        {
            tracing::warn!(table = %self.uri, error = %e, "aborting uploads failed");
        }
        crate::commit::remove_written(&self.uri, &self.store).await
    }

    async fn remove_files(&self) {
        if let Err(e) = crate::commit::remove_written(&self.uri, &self.store).await {
            tracing::warn!(table = %self.uri, error = %e, "removing uncommitted files failed");
        }
    }

    /// Checks the batch's columns against the writer's and re-labels it with the writer's
    /// schema (so schema-level metadata cannot make equal schemas differ).
    fn conform(&self, batch: RecordBatch) -> Result<RecordBatch> {
        let found = batch.schema();
        if found.fields() != self.schema.fields() {
            return Err(Error::BatchSchema {
                table: self.uri.to_string(),
                detail: describe_arrow_difference(&self.schema, &found),
            });
        }
        RecordBatch::try_new(Arc::clone(&self.schema), batch.columns().to_vec()).map_err(|e| {
            Error::BatchSchema {
                table: self.uri.to_string(),
                detail: e.to_string(),
            }
        })
    }
}

impl Drop for TableWriter {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let sink = self.sink.take();
        let uri = self.uri.clone();
        let store = Arc::clone(&self.store);
        tracing::debug!(table = %uri, "table writer dropped without prepare; removing its files");
        crate::commit::spawn_cleanup(uri, async move {
            if let Some(sink) = sink {
                let _ = sink.abort().await;
            }
            store.delete_written().await
        });
    }
}

/// Loads the table, or creates it (version 0) when there is none.
async fn load_or_create(
    uri: &TableUri,
    schema: &StructType,
    partition_columns: &[String],
) -> Result<DeltaTable> {
    let mut table = uri
        .builder()?
        .build()
        .map_err(|e| Error::delta(uri, "open the table location", e))?;
    match table.load().await {
        Ok(()) => return Ok(table),
        Err(DeltaTableError::NotATable(_)) => {}
        Err(e) => return Err(Error::delta(uri, "load the table", e)),
    }
    let created = table
        .create()
        .with_columns(schema.fields().cloned().collect::<Vec<StructField>>())
        .with_partition_columns(partition_columns.iter().cloned())
        .with_table_name(uri.name())
        // Projects pin versions for years: never let a commit clean up old log entries.
        .with_configuration_property(TableProperty::EnableExpiredLogCleanup, Some("false"))
        .with_save_mode(SaveMode::Ignore)
        .await;
    match created {
        Ok(table) => {
            tracing::info!(table = %uri, "table created");
            Ok(table)
        }
        // Another job may have created it in the meantime: use theirs (its schema is checked).
        Err(create_err) => {
            let mut again = uri
                .builder()?
                .build()
                .map_err(|e| Error::delta(uri, "open the table location", e))?;
            match again.load().await {
                Ok(()) => Ok(again),
                Err(_) => Err(Error::delta(uri, "create the table", create_err)),
            }
        }
    }
}

fn check_partition_columns(uri: &TableUri, schema: &Schema, columns: &[String]) -> Result<()> {
    let mismatch = |detail: String| Error::PartitionMismatch {
        table: uri.to_string(),
        requested: columns.to_vec(),
        detail,
    };
    for (i, column) in columns.iter().enumerate() {
        if columns[..i].contains(column) {
            return Err(mismatch(format!("`{column}` is listed twice")));
        }
        let field = schema
            .field_with_name(column)
            .map_err(|_| mismatch(format!("`{column}` is not a column of the schema")))?;
        if field.data_type() != &DataType::Utf8 {
            return Err(mismatch(format!(
                "`{column}` is {}, partition columns must be Utf8",
                field.data_type()
            )));
        }
    }
    if !columns.is_empty() && columns.len() == schema.fields().len() {
        return Err(mismatch(
            "a table needs at least one column that is not a partition".into(),
        ));
    }
    Ok(())
}

/// The writer's columns must be the table's: same names, same Delta types; a non-nullable table
/// column needs a non-nullable writer column. Order does not matter (files are read by name).
fn check_schema(uri: &TableUri, existing: &StructType, requested: &StructType) -> Result<()> {
    let mut problems = Vec::new();
    for field in existing.fields() {
        match requested.field(field.name()) {
            None => problems.push(format!("missing column `{}`", field.name())),
            Some(mine) if mine.data_type() != field.data_type() => problems.push(format!(
                "column `{}` is {} in the table but {} in the writer",
                field.name(),
                field.data_type(),
                mine.data_type()
            )),
            Some(mine) if mine.is_nullable() && !field.is_nullable() => problems.push(format!(
                "column `{}` is NOT NULL in the table but nullable in the writer",
                field.name()
            )),
            Some(_) => {}
        }
    }
    for field in requested.fields() {
        if existing.field(field.name()).is_none() {
            problems.push(format!("column `{}` is not in the table", field.name()));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::SchemaMismatch {
            table: uri.to_string(),
            detail: problems.join("; "),
        })
    }
}

/// Names and types of the columns that differ between two Arrow schemas.
fn describe_arrow_difference(expected: &Schema, found: &Schema) -> String {
    let mut problems = Vec::new();
    for (i, field) in expected.fields().iter().enumerate() {
        match found.fields().get(i) {
            None => problems.push(format!("missing column {i} `{}`", field.name())),
            Some(other) if other.as_ref() != field.as_ref() => problems.push(format!(
                "column {i}: expected `{}` {}{}, found `{}` {}{}",
                field.name(),
                field.data_type(),
                if field.is_nullable() { "" } else { " NOT NULL" },
                other.name(),
                other.data_type(),
                if other.is_nullable() { "" } else { " NOT NULL" },
            )),
            Some(_) => {}
        }
    }
    for (i, field) in found
        .fields()
        .iter()
        .enumerate()
        .skip(expected.fields().len())
    {
        problems.push(format!("extra column {i} `{}`", field.name()));
    }
    if problems.is_empty() {
        "field metadata differs".into()
    } else {
        problems.join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_schema::Field;

    fn uri() -> TableUri {
        TableUri::parse("memory:///t").unwrap()
    }

    fn kernel(schema: &Schema) -> StructType {
        schema.try_into_kernel().unwrap()
    }

    #[test]
    fn partition_columns_must_be_utf8_columns_of_the_schema() {
        let schema = Schema::new(vec![
            Field::new("source", DataType::Utf8, false),
            Field::new("n", DataType::Int64, true),
        ]);
        assert!(check_partition_columns(&uri(), &schema, &["source".into()]).is_ok());
        for bad in [
            vec!["n".to_owned()],
            vec!["nope".into()],
            vec!["source".into(), "source".into()],
        ] {
            let err = check_partition_columns(&uri(), &schema, &bad).unwrap_err();
            assert!(
                matches!(err, Error::PartitionMismatch { .. }),
                "{bad:?}: {err:?}"
            );
        }
    }

    #[test]
    fn dictionary_strings_match_a_string_column() {
        let table = Schema::new(vec![Field::new("code", DataType::Utf8, true)]);
        let writer = Schema::new(vec![Field::new(
            "code",
            DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
            true,
        )]);
        check_schema(&uri(), &kernel(&table), &kernel(&writer)).unwrap();
    }

    #[test]
    fn schema_differences_are_named_without_values() {
        let table = Schema::new(vec![
            Field::new("a", DataType::Int64, false),
            Field::new("b", DataType::Utf8, true),
        ]);
        let writer = Schema::new(vec![
            Field::new("a", DataType::Int64, true),
            Field::new("c", DataType::Utf8, true),
        ]);
        let err = check_schema(&uri(), &kernel(&table), &kernel(&writer)).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("missing column `b`"), "{msg}");
        assert!(msg.contains("`c` is not in the table"), "{msg}");
        assert!(msg.contains("`a` is NOT NULL in the table"), "{msg}");
    }

    #[test]
    fn non_nullable_writer_column_fits_a_nullable_table_column() {
        let table = Schema::new(vec![Field::new("a", DataType::Int64, true)]);
        let writer = Schema::new(vec![Field::new("a", DataType::Int64, false)]);
        check_schema(&uri(), &kernel(&table), &kernel(&writer)).unwrap();
    }

    #[test]
    fn zstd_levels_are_checked() {
        let bad = WriteOptions {
            compression: Compression::Zstd(99),
            ..WriteOptions::default()
        };
        assert!(bad.writer_properties().is_err());
        let good = WriteOptions {
            compression: Compression::Zstd(3),
            ..WriteOptions::default()
        };
        assert!(good.writer_properties().is_ok());
    }
}
