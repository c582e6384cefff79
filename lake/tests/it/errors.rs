//! Clear errors: schema and partition mismatches, missing tables and versions, S3 without the
//! feature.

use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema};
use niji_lake::{CommitInfo, Error, TableUri, TableWriter, open_table, read_all, table_version};

use crate::{PARTITIONS, batch, schema, table};

#[tokio::test]
async fn opening_with_another_schema_fails_naming_the_columns() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let uri = table(dir.path(), "claims");
    let mut writer = TableWriter::open(&uri, schema(), PARTITIONS).await?;
    writer
        .write(batch(&[("care", "2024-01", "p1", "K1", 1)]))
        .await?;
    writer
        .prepare()
        .await?
        .commit(&CommitInfo::new("job-1", "ingest"))
        .await?;

    // `points` changes type and `code` is gone.
    let other = Arc::new(Schema::new(vec![
        Field::new("source", DataType::Utf8, false),
        Field::new("service_month", DataType::Utf8, false),
        Field::new("person_id", DataType::Utf8, false),
        Field::new("points", DataType::Utf8, true),
    ]));
    let err = TableWriter::open(&uri, other, PARTITIONS)
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::SchemaMismatch { .. }), "{err:?}");
    assert!(msg.contains("missing column `code`"), "{msg}");
    assert!(
        msg.contains("column `points` is long in the table but string"),
        "{msg}"
    );
    assert!(msg.contains("claims"), "the message names the table: {msg}");

    // Same columns, other partitioning.
    let err = TableWriter::open(&uri, schema(), &["source"])
        .await
        .unwrap_err();
    assert!(matches!(err, Error::PartitionMismatch { .. }), "{err:?}");
    assert!(err.to_string().contains("service_month"), "{err}");

    // Nothing changed.
    assert_eq!(table_version(&uri).await?, Some(1));
    Ok(())
}

#[tokio::test]
async fn a_batch_with_other_columns_is_refused_and_the_writer_stays_usable() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let uri = table(dir.path(), "claims");
    let mut writer = TableWriter::open(&uri, schema(), PARTITIONS).await?;
    let wrong = arrow_array::RecordBatch::try_new(
        Arc::new(Schema::new(vec![Field::new(
            "source",
            DataType::Utf8,
            false,
        )])),
        vec![Arc::new(arrow_array::StringArray::from(vec![
            "secret-value",
        ]))],
    )?;
    let err = writer.write(wrong).await.unwrap_err();
    assert!(matches!(err, Error::BatchSchema { .. }), "{err:?}");
    assert!(
        !err.to_string().contains("secret-value"),
        "no data values in messages: {err}"
    );
    writer
        .write(batch(&[("care", "2024-01", "p1", "K1", 1)]))
        .await?;
    assert_eq!(
        writer
            .prepare()
            .await?
            .commit(&CommitInfo::new("j", "ok"))
            .await?,
        1
    );
    Ok(())
}

#[tokio::test]
async fn missing_tables_and_versions_are_reported_as_such() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let nowhere = table(&dir.path().join("not/created"), "claims");
    assert_eq!(table_version(&nowhere).await?, None);
    assert!(matches!(
        open_table(&nowhere, None).await,
        Err(Error::TableNotFound { .. })
    ));
    assert!(matches!(
        read_all(&nowhere, None).await,
        Err(Error::TableNotFound { .. })
    ));
    assert!(
        !dir.path().join("not").exists(),
        "reading creates no folders"
    );

    // An existing folder that is not a Delta table.
    let empty = table(dir.path(), "empty");
    std::fs::create_dir_all(empty.local_path().expect("local"))?;
    assert_eq!(table_version(&empty).await?, None);
    assert!(matches!(
        open_table(&empty, None).await,
        Err(Error::TableNotFound { .. })
    ));

    let uri = table(dir.path(), "claims");
    TableWriter::open(&uri, schema(), PARTITIONS)
        .await?
        .abort()
        .await?;
    assert_eq!(table_version(&uri).await?, Some(0));
    let err = open_table(&uri, Some(5)).await.unwrap_err();
    assert!(
        matches!(err, Error::VersionNotFound { version: 5, .. }),
        "{err:?}"
    );
    Ok(())
}

#[tokio::test]
async fn absolute_and_file_url_locations_name_the_same_table() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let by_path = table(dir.path(), "claims");
    let url = format!("file://{}/claims", dir.path().display());
    let by_url = TableUri::parse(&url)?;
    assert_eq!(by_path.url(), by_url.url());
    let mut writer = TableWriter::open(&by_url, schema(), PARTITIONS).await?;
    writer
        .write(batch(&[("care", "2024-01", "p1", "K1", 1)]))
        .await?;
    writer
        .prepare()
        .await?
        .commit(&CommitInfo::new("j", "ok"))
        .await?;
    assert_eq!(table_version(&by_path).await?, Some(1));
    Ok(())
}

#[cfg(not(feature = "s3"))]
#[tokio::test]
async fn s3_locations_need_the_s3_feature() {
    for location in ["s3://bucket/lake/claims", "s3a://bucket/lake/claims"] {
        let err = TableUri::parse(location).unwrap_err();
        assert!(matches!(err, Error::S3NotEnabled { .. }), "{err:?}");
        let msg = err.to_string();
        assert!(msg.contains("--features s3"), "{msg}");
    }
    let err = niji_lake::ZoneRoot::parse("s3://bucket/lake").unwrap_err();
    assert!(matches!(err, Error::S3NotEnabled { .. }), "{err:?}");
}
