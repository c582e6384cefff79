//! Phase two: a [`Prepared`] write becomes exactly one Delta commit ([`Prepared::commit`]) or
//! nothing at all ([`Prepared::abort`]); [`commit_all`] commits a job's tables one after another.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use deltalake::kernel::transaction::{CommitBuilder, CommitProperties};
use deltalake::kernel::{Action, Add};
use deltalake::logstore::LogStore;
use deltalake::protocol::{DeltaOperation, SaveMode};
use deltalake::{DeltaTable, DeltaTableError};
use serde_json::{Map, Value};

use crate::Version;
use crate::error::{Error, Result};
use crate::store::RecordingStore;
use crate::uri::TableUri;

/// The key under which niji's provenance is stored in a commit's `commitInfo`.
pub const COMMIT_INFO_KEY: &str = "niji";

/// Provenance recorded in the `commitInfo` of a commit, under the key `"niji"`:
/// `{"jobId": …, "operation": …, "app": {…}}` (plus a per-commit token).
///
/// Keep identifiers and cell values out of it: the Delta log is readable by anyone who can read
/// the table.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CommitInfo {
    /// The job (ingest run, linkage run, correction…) the commit belongs to.
    pub job_id: String,
    /// What the job did, e.g. "ingest ndb-med 2024-04".
    pub operation: String,
    /// Anything else worth keeping with the commit (file hashes, rule-set version…).
    pub app_metadata: Map<String, Value>,
}

impl CommitInfo {
    /// Provenance for job `job_id` doing `operation`.
    pub fn new(job_id: impl Into<String>, operation: impl Into<String>) -> Self {
        Self {
            job_id: job_id.into(),
            operation: operation.into(),
            app_metadata: Map::new(),
        }
    }

    /// Adds one application metadata entry.
    #[must_use]
    pub fn with(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.app_metadata.insert(key.into(), value.into());
        self
    }

    /// The `commitInfo` entries for a commit.
    pub(crate) fn to_commit_metadata(&self, token: &str) -> HashMap<String, Value> {
        let mut niji = Map::new();
        niji.insert("jobId".into(), self.job_id.clone().into());
        niji.insert("operation".into(), self.operation.clone().into());
        niji.insert("commitToken".into(), token.into());
        niji.insert("app".into(), Value::Object(self.app_metadata.clone()));
        HashMap::from([(COMMIT_INFO_KEY.to_owned(), Value::Object(niji))])
    }
}

/// Commit properties niji uses everywhere: checkpoints as usual, but the log is never cleaned
/// up by a commit, so pinned versions stay readable (cleaning up is a deliberate act).
pub(crate) fn commit_properties(info: &CommitInfo, token: &str) -> CommitProperties {
    CommitProperties::default()
        .with_metadata(info.to_commit_metadata(token))
        .with_cleanup_expired_logs(Some(false))
}

/// Data files written by a [`crate::TableWriter`] and not yet committed: invisible to readers.
///
/// Exactly one of [`Prepared::commit`] and [`Prepared::abort`] should follow. Dropping a
/// `Prepared` removes its files in the background (when a tokio runtime is running).
pub struct Prepared {
    inner: Option<Inner>,
}

struct Inner {
    uri: TableUri,
    table: DeltaTable,
    partition_columns: Vec<String>,
    adds: Vec<Add>,
    store: Arc<RecordingStore>,
    rows: u64,
}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("Prepared");
        if let Some(inner) = &self.inner {
            d.field("uri", &inner.uri)
                .field("base_version", &inner.table.version())
                .field("files", &inner.adds.len())
                .field("rows", &inner.rows);
        }
        d.finish_non_exhaustive()
    }
}

impl Prepared {
    pub(crate) fn new(
        uri: TableUri,
        table: DeltaTable,
        partition_columns: Vec<String>,
        adds: Vec<Add>,
        store: Arc<RecordingStore>,
        rows: u64,
    ) -> Self {
        Self {
            inner: Some(Inner {
                uri,
                table,
                partition_columns,
                adds,
                store,
                rows,
            }),
        }
    }

    fn inner(&self) -> &Inner {
        self.inner
            .as_ref()
            .expect("a Prepared is consumed by commit or abort")
    }

    /// The table.
    pub fn uri(&self) -> &TableUri {
        &self.inner().uri
    }

    /// Rows in the prepared files.
    pub fn rows(&self) -> u64 {
        self.inner().rows
    }

    /// Number of data files.
    pub fn files(&self) -> usize {
        self.inner().adds.len()
    }

    /// Total size of the data files in bytes.
    pub fn bytes(&self) -> u64 {
        self.inner().adds.iter().map(|a| a.size.max(0) as u64).sum()
    }

    /// Paths of the data files relative to the table root (as in the Delta log).
    pub fn paths(&self) -> Vec<String> {
        self.inner().adds.iter().map(|a| a.path.clone()).collect()
    }

    /// The version the write was based on.
    pub fn base_version(&self) -> Option<Version> {
        self.inner().table.version()
    }

    /// Commits every prepared file in ONE Delta commit (an append) and returns the new version.
    /// Commits by others in the meantime are fine as long as they do not conflict (another
    /// append never does). A job that wrote no rows still gets a commit, which records the job.
    ///
    /// If the commit does not land, the files are removed and the table is as it was. (If the
    /// store's answer is lost, the log is checked for this very commit before deciding.)
    pub async fn commit(mut self, info: &CommitInfo) -> Result<Version> {
        let inner = self
            .inner
            .take()
            .expect("a Prepared is consumed by commit or abort");
        let token = uuid::Uuid::new_v4().to_string();
        match try_commit(&inner, info, &token).await {
            Ok(version) => {
                tracing::info!(
                    table = %inner.uri, version, files = inner.adds.len(), rows = inner.rows,
                    job = %info.job_id, "committed"
                );
                Ok(version)
            }
            Err(err) => {
                let base = inner.table.version().unwrap_or(0);
                let log_store = inner.table.log_store();
                let landed = async {
                    let latest = log_store.get_latest_version(base).await?;
                    find_commit(log_store.as_ref(), base + 1, latest, |n| {
                        n.get("commitToken").and_then(Value::as_str) == Some(token.as_str())
                    })
                    .await
                };
                match landed.await {
                    Ok(Some(version)) => {
                        tracing::warn!(table = %inner.uri, version, "commit reported an error but landed");
                        Ok(version)
                    }
                    Ok(None) => {
                        if let Err(e) = remove_written(&inner.uri, &inner.store).await {
                            tracing::warn!(table = %inner.uri, error = %e, "removing uncommitted files failed");
                        }
                        Err(Error::delta(&inner.uri, "commit", err))
                    }
                    // Unknown outcome: keep the files (deleting them could break a landed commit).
                    Err(check) => {
                        tracing::warn!(
                            table = %inner.uri, error = %check,
                            "commit failed and the log could not be checked; files kept"
                        );
                        Err(Error::delta(&inner.uri, "commit", err))
                    }
                }
            }
        }
    }

    /// Removes the prepared files. The table is untouched.
    pub async fn abort(mut self) -> Result<()> {
        let inner = self
            .inner
            .take()
            .expect("a Prepared is consumed by commit or abort");
        tracing::info!(table = %inner.uri, files = inner.adds.len(), "prepared write aborted");
        remove_written(&inner.uri, &inner.store).await
    }
}

impl Drop for Prepared {
    fn drop(&mut self) {
        if let Some(inner) = self.inner.take() {
            tracing::warn!(table = %inner.uri, "prepared write dropped without commit; removing its files");
            let store = Arc::clone(&inner.store);
            spawn_cleanup(inner.uri, async move { store.delete_written().await });
        }
    }
}

/// One append commit of `inner`'s files. Errors before the log entry is written mean "did not
/// land"; a failing post-commit step (checkpoint) does not undo the commit and is only logged.
async fn try_commit(
    inner: &Inner,
    info: &CommitInfo,
    token: &str,
) -> Result<Version, DeltaTableError> {
    let snapshot = inner.table.snapshot()?;
    let partition_by =
        (!inner.partition_columns.is_empty()).then(|| inner.partition_columns.clone());
    let operation = DeltaOperation::Write {
        mode: SaveMode::Append,
        partition_by,
        predicate: None,
    };
    let actions = inner.adds.iter().cloned().map(Action::Add).collect();
    let pre_commit = CommitBuilder::from(commit_properties(info, token))
        .with_actions(actions)
        .build(Some(snapshot), inner.table.log_store(), operation);
    let post_commit = pre_commit.into_prepared_commit_future().await?.await?;
    let version = post_commit.version;
    if let Err(e) = post_commit.await {
        tracing::warn!(table = %inner.uri, version, error = %e, "post-commit step (checkpoint) failed");
    }
    Ok(version)
}

/// Commits a job's prepared tables one after another with the same [`CommitInfo`], returning
/// each table's location and new version.
///
/// Delta Lake has no transaction across tables, so this is not atomic across them: each table's
/// commit is atomic, but there is a **residual window** between the first and the last commit in
/// which a reader can see the job in some tables and not yet in others, and a crash inside it
/// leaves the first tables committed and the rest not (their files stay unreferenced, invisible,
/// for `VACUUM`). The window is one log write per table (milliseconds on a local disk). Readers
/// that need a consistent cut pin versions; a re-run can find the tables already committed with
/// [`find_job_commit`] and commit only the rest.
///
/// If a commit fails, the tables before it stay committed, the failing one and those after it
/// are aborted (files removed), and [`Error::PartialCommit`] says which is which.
pub async fn commit_all(
    prepared: Vec<Prepared>,
    info: &CommitInfo,
) -> Result<Vec<(String, Version)>> {
    let mut committed = Vec::with_capacity(prepared.len());
    let mut rest = prepared.into_iter();
    while let Some(next) = rest.next() {
        let table = next.uri().to_string();
        match next.commit(info).await {
            Ok(version) => committed.push((table, version)),
            Err(source) => {
                let remaining: Vec<Prepared> = rest.collect();
                let aborted = remaining.len();
                for p in remaining {
                    let uri = p.uri().to_string();
                    if let Err(e) = p.abort().await {
                        tracing::warn!(table = %uri, error = %e, "abort after a failed commit failed");
                    }
                }
                return Err(Error::PartialCommit {
                    job_id: info.job_id.clone(),
                    committed,
                    failed: table,
                    aborted,
                    source: Box::new(source),
                });
            }
        }
    }
    Ok(committed)
}

/// The latest version of the table committed by job `job_id` (through this crate), if any
/// whose log entry still exists. Reads the log from the newest commit backwards.
pub async fn find_job_commit(uri: &TableUri, job_id: &str) -> Result<Option<Version>> {
    let Some(latest) = crate::read::table_version(uri).await? else {
        return Ok(None);
    };
    let table = uri
        .builder()?
        .build()
        .map_err(|e| Error::delta(uri, "open the table", e))?;
    find_commit(table.log_store().as_ref(), 0, latest, |n| {
        n.get("jobId").and_then(Value::as_str) == Some(job_id)
    })
    .await
    .map_err(|e| Error::delta(uri, "read the commit log", e))
}

/// Searches commits `from ..= latest` (newest first) for one whose `commitInfo.niji` passes
/// `matches`.
async fn find_commit(
    log_store: &dyn LogStore,
    from: Version,
    latest: Version,
    matches: impl Fn(&Map<String, Value>) -> bool,
) -> Result<Option<Version>, DeltaTableError> {
    for version in (from..=latest).rev() {
        let Some(bytes) = log_store.read_commit_entry(version).await? else {
            continue;
        };
        if niji_info(&bytes).is_some_and(|n| matches(&n)) {
            return Ok(Some(version));
        }
    }
    Ok(None)
}

/// The `commitInfo.niji` object of one commit file, if any.
fn niji_info(commit: &[u8]) -> Option<Map<String, Value>> {
    commit.split(|b| *b == b'\n').find_map(|line| {
        let value: Value = serde_json::from_slice(line).ok()?;
        match value.get("commitInfo")?.get(COMMIT_INFO_KEY)? {
            Value::Object(map) => Some(map.clone()),
            _ => None,
        }
    })
}

/// Removes every file the writer started; for local tables also the partition folders left
/// empty.
pub(crate) async fn remove_written(uri: &TableUri, store: &RecordingStore) -> Result<()> {
    let paths = store.written();
    let removed = store
        .delete_written()
        .await
        .map_err(|e| Error::storage(uri, "remove uncommitted data files", e))?;
    tracing::debug!(table = %uri, removed, "uncommitted data files removed");
    if let Some(root) = uri.local_path() {
        for path in &paths {
            let mut dir = root.join(path.as_ref());
            while dir.pop() && dir.starts_with(&root) && dir != root {
                if std::fs::remove_dir(&dir).is_err() {
                    break;
                }
            }
        }
    }
    Ok(())
}

/// Runs a best-effort cleanup on the current tokio runtime, or logs that files are left behind.
pub(crate) fn spawn_cleanup<F>(uri: TableUri, cleanup: F)
where
    F: Future<Output = deltalake::logstore::object_store::Result<usize>> + Send + 'static,
{
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => {
            drop(handle.spawn(async move {
                if let Err(e) = cleanup.await {
                    tracing::warn!(table = %uri, error = %e, "removing uncommitted files failed");
                }
            }));
        }
        Err(_) => tracing::warn!(
            table = %uri,
            "no tokio runtime: uncommitted files are left for VACUUM (readers never see them)"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_metadata_nests_everything_under_niji() {
        let info = CommitInfo::new("job-1", "ingest")
            .with("files", 3)
            .with("rules", "v2");
        let md = info.to_commit_metadata("tok");
        assert_eq!(md.len(), 1);
        let niji = &md[COMMIT_INFO_KEY];
        assert_eq!(niji["jobId"], "job-1");
        assert_eq!(niji["operation"], "ingest");
        assert_eq!(niji["commitToken"], "tok");
        assert_eq!(niji["app"]["files"], 3);
    }

    #[test]
    fn niji_info_is_found_in_a_commit_file() {
        let commit = br#"{"commitInfo":{"timestamp":1,"niji":{"jobId":"j"}}}
{"add":{"path":"a.parquet"}}"#;
        assert_eq!(niji_info(commit).unwrap()["jobId"], "j");
        assert!(niji_info(br#"{"commitInfo":{"timestamp":1}}"#).is_none());
        assert!(niji_info(b"not json").is_none());
    }
}
