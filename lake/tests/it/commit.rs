//! Failed and abandoned jobs leave nothing behind; commit_all; deletes.

use niji_lake::{
    CommitInfo, Error, TableWriter, commit_all, delete_where, find_job_commit, table_version,
};

use crate::{PARTITIONS, batch, count, parquet_files, schema, table, wait_for_files};

/// A table at version 1 holding three rows from "job-1".
async fn table_with_one_job(dir: &std::path::Path) -> anyhow::Result<niji_lake::TableUri> {
    let uri = table(dir, "claims");
    let mut writer = TableWriter::open(&uri, schema(), PARTITIONS).await?;
    writer
        .write(batch(&[
            ("ndb-med", "2024-04", "p1", "A01", 10),
            ("ndb-med", "2024-05", "p2", "A02", 20),
            ("care", "2024-04", "p1", "K10", 30),
        ]))
        .await?;
    assert_eq!(
        writer
            .prepare()
            .await?
            .commit(&CommitInfo::new("job-1", "ingest"))
            .await?,
        1
    );
    Ok(uri)
}

fn second_job_rows() -> arrow_array::RecordBatch {
    batch(&[
        ("ndb-med", "2024-04", "p9", "A09", 1),
        ("ndb-dpc", "2024-07", "p8", "D01", 2),
    ])
}

#[tokio::test]
async fn abort_leaves_no_new_version_and_removes_the_files() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let uri = table_with_one_job(dir.path()).await?;
    let before = parquet_files(dir.path());

    let mut writer = TableWriter::open(&uri, schema(), PARTITIONS).await?;
    writer.write(second_job_rows()).await?;
    let prepared = writer.prepare().await?;
    assert_eq!(
        parquet_files(dir.path()).len(),
        before.len() + 2,
        "files written"
    );
    prepared.abort().await?;

    assert_eq!(
        parquet_files(dir.path()),
        before,
        "the aborted job's files are gone"
    );
    assert!(
        !dir.path().join("claims/source=ndb-dpc").exists(),
        "and its new partition folder"
    );
    assert_eq!(table_version(&uri).await?, Some(1));
    assert!(count(&uri, None).await?.contains("| 3 |"));

    // The writer can also be aborted before prepare.
    let mut writer = TableWriter::open(&uri, schema(), PARTITIONS).await?;
    writer.write(second_job_rows()).await?;
    writer.abort().await?;
    assert_eq!(parquet_files(dir.path()), before);
    assert_eq!(table_version(&uri).await?, Some(1));
    Ok(())
}

#[tokio::test]
async fn a_failing_job_leaves_the_table_at_its_old_version() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let uri = table_with_one_job(dir.path()).await?;
    let before = parquet_files(dir.path());

    // The job writes some rows, then fails (here: a malformed batch) and is dropped.
    let job = async {
        let mut writer = TableWriter::open(&uri, schema(), PARTITIONS).await?;
        writer.write(second_job_rows()).await?;
        let bad = arrow_array::RecordBatch::try_new(
            std::sync::Arc::new(arrow_schema::Schema::new(vec![arrow_schema::Field::new(
                "other",
                arrow_schema::DataType::Int64,
                true,
            )])),
            vec![std::sync::Arc::new(arrow_array::Int64Array::from(vec![1]))],
        )?;
        writer.write(bad).await?;
        anyhow::Ok(writer)
    };
    let err = job.await.expect_err("the bad batch fails the job");
    assert!(
        matches!(err.downcast_ref::<Error>(), Some(Error::BatchSchema { .. })),
        "unexpected error: {err:#}"
    );

    // Readers see the old version, with none of the job's rows…
    assert_eq!(table_version(&uri).await?, Some(1));
    assert!(count(&uri, None).await?.contains("| 3 |"));
    // …and the dropped writer's files are removed in the background.
    assert_eq!(crate::wait_for_files(dir.path(), &before).await, before);
    Ok(())
}

#[tokio::test]
async fn a_dropped_prepared_write_is_never_committed_and_is_cleaned_up() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let uri = table_with_one_job(dir.path()).await?;
    let before = parquet_files(dir.path());
    let mut writer = TableWriter::open(&uri, schema(), PARTITIONS).await?;
    writer.write(second_job_rows()).await?;
    drop(writer.prepare().await?);
    assert_eq!(table_version(&uri).await?, Some(1));
    assert!(count(&uri, None).await?.contains("| 3 |"));
    assert_eq!(wait_for_files(dir.path(), &before).await, before);
    Ok(())
}

#[tokio::test]
async fn commit_all_commits_each_table_once_with_the_job_id() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let claims = table(dir.path(), "claims");
    let care = table(dir.path(), "care");
    let mut prepared = Vec::new();
    for uri in [&claims, &care] {
        let mut writer = TableWriter::open(uri, schema(), PARTITIONS).await?;
        writer.write(second_job_rows()).await?;
        prepared.push(writer.prepare().await?);
    }
    let committed = commit_all(prepared, &CommitInfo::new("job-all", "ingest two tables")).await?;
    assert_eq!(
        committed,
        vec![(claims.to_string(), 1), (care.to_string(), 1)]
    );
    for uri in [&claims, &care] {
        assert_eq!(find_job_commit(uri, "job-all").await?, Some(1));
        assert!(count(uri, None).await?.contains("| 2 |"));
    }
    Ok(())
}

#[tokio::test]
async fn commit_all_reports_which_tables_committed_when_one_fails() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let names = ["t1", "t2", "t3"];
    let uris: Vec<_> = names.iter().map(|n| table(dir.path(), n)).collect();
    let mut prepared = Vec::new();
    for uri in &uris {
        let mut writer = TableWriter::open(uri, schema(), PARTITIONS).await?;
        writer.write(second_job_rows()).await?;
        prepared.push(writer.prepare().await?);
    }
    // Someone changes the second table's metadata between prepare and commit: an append
    // conflicts with that, so its commit fails (and certainly did not land).
    niji_lake::open_table(&uris[1], None)
        .await?
        .set_tbl_properties()
        .with_properties(std::collections::HashMap::from([(
            "delta.appendOnly".to_owned(),
            "false".to_owned(),
        )]))
        .await?;

    let err = commit_all(prepared, &CommitInfo::new("job-x", "ingest"))
        .await
        .unwrap_err();
    match &err {
        Error::PartialCommit {
            job_id,
            committed,
            failed,
            aborted,
            ..
        } => {
            assert_eq!(job_id, "job-x");
            assert_eq!(committed, &vec![(uris[0].to_string(), 1)]);
            assert_eq!(failed, &uris[1].to_string());
            assert_eq!(*aborted, 1);
        }
        other => panic!("expected PartialCommit, got {other:?}"),
    }
    assert!(err.to_string().contains("job-x"), "{err}");
    // t1 is committed; t2 and t3 have no new version (t2's 1 is the metadata change) and no
    // data files left.
    assert_eq!(table_version(&uris[0]).await?, Some(1));
    assert_eq!(table_version(&uris[1]).await?, Some(1));
    assert_eq!(find_job_commit(&uris[1], "job-x").await?, None);
    assert_eq!(table_version(&uris[2]).await?, Some(0));
    assert!(parquet_files(&dir.path().join("t2")).is_empty());
    assert!(parquet_files(&dir.path().join("t3")).is_empty());
    Ok(())
}

#[tokio::test]
async fn delete_where_removes_rows_in_one_commit_and_keeps_history() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let uri = table_with_one_job(dir.path()).await?;

    let info = CommitInfo::new("withdrawal-1", "withdraw care");
    let outcome = delete_where(&uri, "source = 'care'", &info).await?;
    assert!(outcome.committed);
    assert_eq!(outcome.version, 2);
    assert!(count(&uri, None).await?.contains("| 2 |"));
    assert!(
        count(&uri, Some(1)).await?.contains("| 3 |"),
        "version 1 still has the row"
    );
    assert_eq!(find_job_commit(&uri, "withdrawal-1").await?, Some(2));

    // A row inside a file that also holds kept rows.
    let outcome = delete_where(&uri, "person_id = 'p2'", &info).await?;
    assert_eq!(outcome.version, 3);
    assert!(count(&uri, None).await?.contains("| 1 |"));

    // Nothing matches: no commit.
    let outcome = delete_where(&uri, "source = 'ehr'", &info).await?;
    assert!(!outcome.committed);
    assert_eq!(outcome.version, 3);
    assert_eq!(table_version(&uri).await?, Some(3));
    Ok(())
}
