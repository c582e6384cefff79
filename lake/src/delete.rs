//! Deletes for corrections and withdrawals: rows matching a SQL predicate are removed in one
//! commit (files rewritten without them); earlier versions keep them until `VACUUM`.

use deltalake::DeltaTableError;

use crate::Version;
use crate::commit::{CommitInfo, commit_properties};
use crate::error::{Error, Result};
use crate::read::open_table;
use crate::uri::TableUri;

/// What a [`delete_where`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeleteOutcome {
    /// The table version after the delete (unchanged when nothing matched).
    pub version: Version,
    /// Whether a commit was made (false when no row matched).
    pub committed: bool,
    /// Rows deleted, when deltalake could count them.
    pub deleted_rows: Option<u64>,
    /// Data files removed from the table.
    pub removed_files: usize,
    /// Data files written (the kept rows of partly matching files).
    pub added_files: usize,
}

/// Deletes the rows matching `predicate_sql` (a DataFusion SQL expression over the table's
/// columns, e.g. `source = 'ndb-med' AND service_month = '2024-04'`) in one commit recording
/// `info`. A predicate matching nothing makes no commit.
///
/// The predicate is stored in the Delta log (as the operation's parameter) and may appear in the
/// underlying error's text: prefer predicates on partition columns or pseudonymous ids.
pub async fn delete_where(
    uri: &TableUri,
    predicate_sql: &str,
    info: &CommitInfo,
) -> Result<DeleteOutcome> {
    let table = open_table(uri, None).await?;
    let before = table.version();
    let token = uuid::Uuid::new_v4().to_string();
    let (table, metrics) = table
        .delete()
        .with_predicate(predicate_sql.to_owned())
        .with_commit_properties(commit_properties(info, &token))
        .await
        .map_err(|e: DeltaTableError| Error::delta(uri, "delete rows", e))?;
    let version = table.version().ok_or_else(|| Error::TableNotFound {
        table: uri.to_string(),
    })?;
    let committed = Some(version) != before;
    tracing::info!(
        table = %uri, version, committed, removed_files = metrics.num_removed_files,
        job = %info.job_id, "delete"
    );
    Ok(DeleteOutcome {
        version,
        committed,
        deleted_rows: metrics.num_deleted_rows.map(|n| n as u64),
        removed_files: metrics.num_removed_files,
        added_files: metrics.num_added_files,
    })
}
