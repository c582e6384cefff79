//! Two jobs into one partitioned table: versions, data by partition, time travel, file rolling.

use niji_lake::{
    CommitInfo, TableWriter, WriteOptions, find_job_commit, open_table, read_all, table_version,
};

use crate::{PARTITIONS, batch, count, parquet_files, query, schema, table, table_of};

const BY_PARTITION: &str = "SELECT source, service_month, count(*) AS n, sum(points) AS points \
                            FROM claims GROUP BY 1, 2 ORDER BY 1, 2";

#[tokio::test]
async fn two_jobs_make_two_versions_and_old_versions_stay_readable() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let uri = table(dir.path(), "claims");
    assert_eq!(
        table_version(&uri).await?,
        None,
        "no table before the first writer"
    );

    // Job 1: two batches across three partitions.
    let mut writer = TableWriter::open(&uri, schema(), PARTITIONS).await?;
    assert_eq!(
        table_version(&uri).await?,
        Some(0),
        "opening a writer creates the table"
    );
    writer
        .write(batch(&[
            ("ndb-med", "2024-04", "p1", "A01", 100),
            ("ndb-med", "2024-04", "p2", "A02", 200),
            ("ndb-med", "2024-05", "p1", "A01", 50),
        ]))
        .await?;
    writer
        .write(batch(&[
            ("ndb-med", "2024-04", "p3", "A01", 300),
            ("care", "2024-04", "p1", "K10", 7),
        ]))
        .await?;
    assert_eq!(writer.rows(), 5);
    let prepared = writer.prepare().await?;
    assert_eq!(prepared.rows(), 5);
    assert_eq!(prepared.files(), 3, "one file per partition");
    assert_eq!(parquet_files(dir.path()).len(), 3, "the files are written");
    assert_eq!(table_version(&uri).await?, Some(0), "…but not committed");
    assert!(
        count(&uri, None).await?.contains("| 0 |"),
        "readers see no prepared rows"
    );

    let v1 = prepared
        .commit(&CommitInfo::new("job-1", "ingest ndb-med + care"))
        .await?;
    assert_eq!(v1, 1);

    // Job 2: more rows in an existing partition and a new one.
    let mut writer = TableWriter::open(&uri, schema(), PARTITIONS).await?;
    assert_eq!(writer.base_version(), Some(1));
    writer
        .write(batch(&[
            ("ndb-med", "2024-04", "p4", "A03", 1),
            ("ndb-dpc", "2024-06", "p2", "D01", 1000),
            ("ndb-dpc", "2024-06", "p5", "D01", 2000),
        ]))
        .await?;
    let v2 = writer
        .prepare()
        .await?
        .commit(&CommitInfo::new("job-2", "ingest dpc"))
        .await?;
    assert_eq!(v2, 2);
    assert_eq!(table_version(&uri).await?, Some(2));

    // Latest: both jobs, by partition.
    let expected_latest = table_of(&[
        "+---------+---------------+---+--------+",
        "| source  | service_month | n | points |",
        "+---------+---------------+---+--------+",
        "| care    | 2024-04       | 1 | 7      |",
        "| ndb-dpc | 2024-06       | 2 | 3000   |",
        "| ndb-med | 2024-04       | 4 | 601    |",
        "| ndb-med | 2024-05       | 1 | 50     |",
        "+---------+---------------+---+--------+",
    ]);
    assert_eq!(query(&uri, None, BY_PARTITION).await?, expected_latest);
    assert_eq!(query(&uri, Some(2), BY_PARTITION).await?, expected_latest);

    // Pinned at version 1: only the first job.
    let expected_v1 = table_of(&[
        "+---------+---------------+---+--------+",
        "| source  | service_month | n | points |",
        "+---------+---------------+---+--------+",
        "| care    | 2024-04       | 1 | 7      |",
        "| ndb-med | 2024-04       | 3 | 600    |",
        "| ndb-med | 2024-05       | 1 | 50     |",
        "+---------+---------------+---+--------+",
    ]);
    assert_eq!(query(&uri, Some(1), BY_PARTITION).await?, expected_v1);
    // Version 0 is the empty table.
    assert!(count(&uri, Some(0)).await?.contains("| 0 |"));

    // Values, including the dictionary-encoded code column, read back as written.
    let rows = query(
        &uri,
        None,
        "SELECT person_id, code, points FROM claims \
         WHERE source = 'ndb-med' AND service_month = '2024-04' ORDER BY person_id",
    )
    .await?;
    assert_eq!(
        rows,
        table_of(&[
            "+-----------+------+--------+",
            "| person_id | code | points |",
            "+-----------+------+--------+",
            "| p1        | A01  | 100    |",
            "| p2        | A02  | 200    |",
            "| p3        | A01  | 300    |",
            "| p4        | A03  | 1      |",
            "+-----------+------+--------+",
        ])
    );

    // Hive-style partition folders, and the job ids in the log.
    assert!(
        dir.path()
            .join("claims/source=ndb-dpc/service_month=2024-06")
            .is_dir()
    );
    assert_eq!(find_job_commit(&uri, "job-1").await?, Some(1));
    assert_eq!(find_job_commit(&uri, "job-2").await?, Some(2));
    assert_eq!(find_job_commit(&uri, "job-3").await?, None);

    // read_all and open_table agree.
    let all: usize = read_all(&uri, Some(1))
        .await?
        .iter()
        .map(|b| b.num_rows())
        .sum();
    assert_eq!(all, 5);
    assert_eq!(open_table(&uri, Some(1)).await?.version(), Some(1));
    Ok(())
}

#[tokio::test]
async fn commit_info_lands_in_the_delta_log() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let uri = table(dir.path(), "claims");
    let mut writer = TableWriter::open(&uri, schema(), PARTITIONS).await?;
    writer
        .write(batch(&[("care", "2024-01", "p1", "K1", 1)]))
        .await?;
    let info = CommitInfo::new("job-7", "ingest care").with("rule_set", "v3");
    let version = writer.prepare().await?.commit(&info).await?;
    let log = std::fs::read_to_string(
        dir.path()
            .join(format!("claims/_delta_log/{version:020}.json")),
    )?;
    let commit_info: serde_json::Value = log
        .lines()
        .map(serde_json::from_str::<serde_json::Value>)
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .find_map(|line| line.get("commitInfo").cloned())
        .expect("a commitInfo action");
    assert_eq!(commit_info["niji"]["jobId"], "job-7");
    assert_eq!(commit_info["niji"]["operation"], "ingest care");
    assert_eq!(commit_info["niji"]["app"]["rule_set"], "v3");
    assert_eq!(commit_info["operation"], "WRITE");

    // The table keeps its whole log (pinned versions must stay readable).
    let table = open_table(&uri, None).await?;
    let config = table.snapshot()?.metadata().configuration().clone();
    assert_eq!(
        config
            .get("delta.enableExpiredLogCleanup")
            .map(String::as_str),
        Some("false")
    );
    Ok(())
}

#[tokio::test]
async fn large_writes_roll_files_at_the_target_size_and_commit_once() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let uri = table(dir.path(), "claims");
    let options = WriteOptions {
        target_file_size: 8 * 1024,
        max_row_group_bytes: 4 * 1024,
        ..WriteOptions::default()
    };
    let mut writer = TableWriter::open_with(&uri, schema(), PARTITIONS, options).await?;
    let people: Vec<String> = (0..20_000)
        .map(|i| format!("person-{i:08}-{}", i * 7919))
        .collect();
    for chunk in people.chunks(2_500) {
        let rows: Vec<_> = chunk
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let month = if i % 2 == 0 { "2024-01" } else { "2024-02" };
                ("ndb-med", month, p.as_str(), "A01", 1)
            })
            .collect();
        writer.write(batch(&rows)).await?;
    }
    let prepared = writer.prepare().await?;
    assert!(
        prepared.files() > 2,
        "expected rolled files, got {}",
        prepared.files()
    );
    assert_eq!(prepared.files(), parquet_files(dir.path()).len());
    let version = prepared.commit(&CommitInfo::new("job-big", "bulk")).await?;
    assert_eq!(version, 1, "many files, one commit");
    assert!(count(&uri, None).await?.contains("| 20000 |"));
    Ok(())
}

#[tokio::test]
async fn a_job_with_no_rows_still_records_its_commit() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let uri = table(dir.path(), "claims");
    let writer = TableWriter::open(&uri, schema(), PARTITIONS).await?;
    let prepared = writer.prepare().await?;
    assert_eq!((prepared.files(), prepared.rows()), (0, 0));
    assert_eq!(
        prepared
            .commit(&CommitInfo::new("job-empty", "nothing"))
            .await?,
        1
    );
    assert_eq!(find_job_commit(&uri, "job-empty").await?, Some(1));
    assert!(count(&uri, None).await?.contains("| 0 |"));
    Ok(())
}
