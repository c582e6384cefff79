//! The project catalog: one view per approved table, with `pid` instead of `person_id`, the
//! approved columns only, the approved period, and quasi-identifiers at the approved granularity.
//!
//! The views are planned in a private session that holds the raw lake tables and the pseudonym
//! functions; the researcher's session receives only the views' plans, so neither the raw tables
//! nor `niji_pid` can be named in a query.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::catalog::view::ViewTable;
use datafusion::logical_expr::ScalarUDF;
use datafusion::prelude::SessionContext;
use niji_lake::{TableUri, ZoneRoot};
use niji_pseudonymize::ProjectKey;

use crate::functions::{IdentityFn, IdentityKind};
use crate::spec::ProjectSpec;
use crate::{Error, Result};

/// Columns a view never shows: free text that may hold names, and the raw ids it replaces.
const NEVER: [&str; 3] = ["uncoded_name", "person_id", "unit_id"];
/// Columns a view shows only when the approval lists them (facility dimensions).
const ON_REQUEST: [&str; 2] = ["facility", "institution"];

/// The views of one project, ready to be registered in a researcher's session.
#[derive(Debug)]
pub struct Catalog {
    views: BTreeMap<String, Arc<ViewTable>>,
    versions: BTreeMap<String, u64>,
}

impl Catalog {
    /// Opens the approved tables of `spec` in the lake at `lake` (pinned versions, or the latest
    /// for those left open) and plans one view per table.
    pub async fn open(lake: &ZoneRoot, spec: &ProjectSpec, key: Arc<ProjectKey>) -> Result<Self> {
        spec.validate()?;
        let private = SessionContext::new();
        private.register_udf(ScalarUDF::from(IdentityFn::new(IdentityKind::Person, &key)));
        private.register_udf(ScalarUDF::from(IdentityFn::new(IdentityKind::Unit, &key)));
        let mut views = BTreeMap::new();
        let mut versions = BTreeMap::new();
        for ds in &spec.datasets {
            if !valid_name(&ds.table) {
                return Err(Error::Spec {
                    message: format!("table name {:?} is not valid", ds.table),
                });
            }
            let uri: TableUri = lake.table(&ds.table).map_err(|source| Error::Lake {
                table: ds.table.clone(),
                source,
            })?;
            let version = match ds.version {
                Some(v) => v,
                None => niji_lake::table_version(&uri)
                    .await
                    .map_err(|source| Error::Lake {
                        table: ds.table.clone(),
                        source,
                    })?
                    .ok_or_else(|| Error::Spec {
                        message: format!("the lake has no table {:?}", ds.table),
                    })?,
            };
            let raw = format!("raw_{}", ds.table);
            niji_lake::register(&private, &raw, &uri, Some(version))
                .await
                .map_err(|source| Error::Lake {
                    table: ds.table.clone(),
                    source,
                })?;
            let schema = private
                .table_provider(raw.as_str())
                .await
                .map_err(|e| Error::Spec {
                    message: format!("table {}: {e}", ds.table),
                })?
                .schema();
            let available: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
            if !available.contains(&"person_id") {
                return Err(Error::Spec {
                    message: format!("lake table {} has no person_id", ds.table),
                });
            }
            let select = view_columns(&ds.table, &available, ds.columns.as_deref(), spec)?;
            let mut sql = format!("SELECT {} FROM {raw}", select.join(", "));
            if let Some(p) = &spec.period
                && available.contains(&"service_month")
            {
                sql.push_str(&format!(
                    " WHERE service_month BETWEEN '{}' AND '{}'",
                    p.from, p.to
                ));
            }
            let plan = private
                .sql(&sql)
                .await
                .map_err(|e| Error::Spec {
                    message: format!("view {}: {e}", ds.table),
                })?
                .into_unoptimized_plan();
            views.insert(ds.table.clone(), Arc::new(ViewTable::new(plan, None)));
            versions.insert(ds.table.clone(), version);
        }
        Ok(Catalog { views, versions })
    }

    /// The pinned version of every table, as approval records them.
    pub fn versions(&self) -> &BTreeMap<String, u64> {
        &self.versions
    }

    /// Registers the views in a researcher's session.
    pub(crate) fn register(&self, ctx: &SessionContext) -> Result<()> {
        for (name, view) in &self.views {
            ctx.register_table(name.as_str(), view.clone())
                .map_err(|e| Error::Spec {
                    message: format!("register view {name}: {e}"),
                })?;
        }
        Ok(())
    }

    /// The views and their columns (name, Arrow type), for the API's table listing.
    pub fn describe(&self) -> Vec<(String, Vec<(String, String)>)> {
        use datafusion::catalog::TableProvider;
        self.views
            .iter()
            .map(|(name, view)| {
                let cols = view
                    .schema()
                    .fields()
                    .iter()
                    .map(|f| (f.name().clone(), f.data_type().to_string()))
                    .collect();
                (name.clone(), cols)
            })
            .collect()
    }
}

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// The SELECT list of one view.
fn view_columns(
    table: &str,
    available: &[&str],
    approved: Option<&[String]>,
    spec: &ProjectSpec,
) -> Result<Vec<String>> {
    let birth_out = if spec.full_birth_date {
        "birth_date"
    } else {
        "birth_month"
    };
    if let Some(cols) = approved {
        for c in cols {
            let known = available.contains(&c.as_str())
                || (c == "birth_month" && available.contains(&"birth_date"))
                || (c == "unit_key" && available.contains(&"unit_id"));
            if !known || NEVER.contains(&c.as_str()) || c == "pid" {
                return Err(Error::Spec {
                    message: format!("table {table} has no approvable column {c:?}"),
                });
            }
        }
    }
    let wanted = |c: &str| match approved {
        Some(cols) => cols.iter().any(|a| a == c),
        None => !ON_REQUEST.contains(&c),
    };
    let mut out = vec!["niji_pid(person_id) AS pid".to_string()];
    if available.contains(&"unit_id") && wanted("unit_key") {
        out.push("niji_unit(unit_id) AS unit_key".to_string());
    }
    for &c in available {
        if NEVER.contains(&c) {
            continue;
        }
        if c == "birth_date" {
            if wanted("birth_date") || wanted("birth_month") {
                out.push(if spec.full_birth_date {
                    "birth_date".to_string()
                } else {
                    format!(
                        "CAST(date_trunc('month', CAST(birth_date AS TIMESTAMP)) AS DATE) AS {birth_out}"
                    )
                });
            }
            continue;
        }
        if wanted(c) {
            out.push(format!("\"{c}\""));
        }
    }
    Ok(out)
}
