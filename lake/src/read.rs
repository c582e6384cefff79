//! Reads: the latest version, a table at a pinned version, and DataFusion registration.

use arrow_array::RecordBatch;
use datafusion::prelude::SessionContext;
use deltalake::{DeltaTable, DeltaTableError};

use crate::Version;
use crate::error::{Error, Result};
use crate::uri::TableUri;

/// The table's latest version, or `None` when there is no Delta table at `uri` (the folder may
/// not even exist). Reads only the log listing, not the table state.
pub async fn table_version(uri: &TableUri) -> Result<Option<Version>> {
    if uri.local_path().is_some_and(|p| !p.exists()) {
        return Ok(None);
    }
    let table = uri
        .builder()?
        .build()
        .map_err(|e| Error::delta(uri, "open the table location", e))?;
    let log_store = table.log_store();
    let exists = log_store
        .is_delta_table_location()
        .await
        .map_err(|e| Error::delta(uri, "look for the Delta log", e))?;
    if !exists {
        return Ok(None);
    }
    match log_store.get_latest_version(0).await {
        Ok(version) => Ok(Some(version)),
        Err(DeltaTableError::NotATable(_)) => Ok(None),
        Err(e) => Err(Error::delta(uri, "find the latest version", e)),
    }
}

/// The table at `version` (the latest when `None`), with its state loaded.
pub async fn open_table(uri: &TableUri, version: Option<Version>) -> Result<DeltaTable> {
    if uri.local_path().is_some_and(|p| !p.exists()) {
        return Err(Error::TableNotFound {
            table: uri.to_string(),
        });
    }
    let mut builder = uri.builder()?;
    if let Some(v) = version {
        builder = builder.with_version(v);
    }
    match builder.load().await {
        Ok(table) => Ok(table),
        Err(DeltaTableError::NotATable(_)) => Err(Error::TableNotFound {
            table: uri.to_string(),
        }),
        Err(source) => match version {
            // A version that was asked for but does not exist (yet): say which.
            Some(version) if missing_version(uri, version, &source).await => {
                Err(Error::VersionNotFound {
                    table: uri.to_string(),
                    version,
                    source: Box::new(source),
                })
            }
            _ => Err(Error::delta(uri, "load the table", source)),
        },
    }
}

async fn missing_version(uri: &TableUri, version: Version, e: &DeltaTableError) -> bool {
    matches!(e, DeltaTableError::InvalidVersion(_))
        || table_version(uri)
            .await
            .ok()
            .flatten()
            .is_some_and(|latest| version > latest)
}

/// Registers the table (at `version`, or the latest) as `name` in `ctx`, so SQL can read it,
/// and returns the version registered. Partition columns are ordinary columns of the provider;
/// filters on them prune files.
pub async fn register(
    ctx: &SessionContext,
    name: &str,
    uri: &TableUri,
    version: Option<Version>,
) -> Result<Version> {
    let table = open_table(uri, version).await?;
    let loaded = table.version().ok_or_else(|| Error::TableNotFound {
        table: uri.to_string(),
    })?;
    let provider = table
        .table_provider()
        .await
        .map_err(|e| Error::datafusion(uri, "build the table provider", e))?;
    ctx.register_table(name, provider)
        .map_err(|e| Error::datafusion(uri, "register the table with DataFusion", e))?;
    Ok(loaded)
}

/// Every row of the table at `version` (the latest when `None`). For tests and small tables.
pub async fn read_all(uri: &TableUri, version: Option<Version>) -> Result<Vec<RecordBatch>> {
    let ctx = SessionContext::new();
    register(&ctx, "t", uri, version).await?;
    let frame = ctx
        .table("t")
        .await
        .map_err(|e| Error::datafusion(uri, "plan the read", e))?;
    frame
        .collect()
        .await
        .map_err(|e| Error::datafusion(uri, "read the table", e))
}
