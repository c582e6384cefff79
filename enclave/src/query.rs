//! Running one query in a project's enclave: the SQL gate, the policy, limits, execution and
//! the disclosure report.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use datafusion::common::config::Dialect;
use datafusion::logical_expr::{LogicalPlan, LogicalPlanBuilder};
use datafusion::optimizer::{Analyzer, AnalyzerRule};
use datafusion::prelude::SessionContext;
use datafusion::sql::parser::Statement;
use datafusion::sql::sqlparser::ast::Statement as SqlStatement;
use niji_lake::ZoneRoot;
use niji_pseudonymize::ProjectKey;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::audit::{AuditLog, AuditRecord};
use crate::catalog::Catalog;
use crate::functions::{COUNTS, Protection, VALUE_SUMS, status, statuses};
use crate::policy::{AggregateOutput, PidUsage, ProtectCells, RefuseNodes};
use crate::spec::ProjectSpec;
use crate::{Error, Result};

/// Longest SQL text accepted.
pub const MAX_SQL_BYTES: usize = 64 * 1024;

/// One project's enclave: its catalog of views in a restricted session, its settings and key.
pub struct Enclave {
    ctx: SessionContext,
    spec: ProjectSpec,
    key: Arc<ProjectKey>,
    catalog: Catalog,
    audit: Option<Arc<AuditLog>>,
}

/// What one admitted query returned.
#[derive(Debug, Clone)]
pub struct QueryResult {
    /// The result's schema (hidden columns removed).
    pub schema: SchemaRef,
    /// The protected result.
    pub batches: Vec<RecordBatch>,
    /// What disclosure control did.
    pub report: DisclosureReport,
    /// SHA-256 of the protected plan.
    pub plan_hash: String,
    /// SHA-256 of the result (Arrow IPC stream).
    pub result_hash: String,
    /// Wall-clock time.
    pub duration: Duration,
}

impl std::fmt::Debug for Enclave {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Enclave")
            .field("project", &self.spec.project)
            .field("tables", &self.catalog.versions())
            .finish_non_exhaustive()
    }
}

impl QueryResult {
    /// The result as an Arrow IPC stream (the bytes `result_hash` is the SHA-256 of).
    pub fn arrow_ipc(&self) -> Result<Vec<u8>> {
        ipc_stream(&self.schema, &self.batches)
    }

    /// Rows in the result.
    pub fn rows(&self) -> usize {
        self.batches.iter().map(|b| b.num_rows()).sum()
    }
}

/// What disclosure control did to one result; it travels with every result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DisclosureReport {
    /// Minimum persons behind a published group.
    pub k: u64,
    /// Base counts are rounded to.
    pub rounding_base: u64,
    /// Whether counts carry sticky noise.
    pub noise: bool,
    /// Dominance share above which a sum or mean cell is suppressed.
    pub dominance: f64,
    /// Groups withheld (with their key values) for resting on fewer than k persons.
    pub groups_withheld: u64,
    /// One entry per aggregate of the output aggregation.
    pub cells: Vec<CellReport>,
    /// Plain-language notes on the protection applied.
    pub notes: Vec<String>,
}

/// The protection of one output aggregate across the returned rows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CellReport {
    /// The aggregate as written (e.g. `count(*)`).
    pub aggregate: String,
    /// `count`, `sum_or_mean` or `other`.
    pub kind: &'static str,
    /// Cells published.
    pub published: u64,
    /// Cells suppressed because two persons dominate them.
    pub suppressed_dominance: u64,
    /// Cells suppressed because fewer than k persons contribute a non-zero value.
    pub suppressed_few_contributors: u64,
}

impl DisclosureReport {
    /// Cells suppressed in the returned rows, for every reason.
    pub fn cells_suppressed(&self) -> u64 {
        self.cells
            .iter()
            .map(|c| c.suppressed_dominance + c.suppressed_few_contributors)
            .sum()
    }
}

impl Enclave {
    /// Opens the enclave of an approved project over the lake at `lake`.
    pub async fn open(lake: &ZoneRoot, spec: ProjectSpec, key: ProjectKey) -> Result<Self> {
        let key = Arc::new(key);
        let catalog = Catalog::open(lake, &spec, key.clone()).await?;
        let ctx = crate::session::restricted_session(&spec.limits)?;
        catalog.register(&ctx)?;
        Ok(Enclave {
            ctx,
            spec,
            key,
            catalog,
            audit: None,
        })
    }

    /// Appends every query (admitted or not) to `log`.
    pub fn with_audit(mut self, log: Arc<AuditLog>) -> Self {
        self.audit = Some(log);
        self
    }

    /// The project's specification, with the versions its catalog pinned.
    pub fn spec(&self) -> &ProjectSpec {
        &self.spec
    }

    /// The project's catalog.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// Runs `sql` for `account` and audits it.
    pub async fn query(&self, account: &str, sql: &str) -> Result<QueryResult> {
        let started = Instant::now();
        let outcome = self.run(sql).await;
        if let Some(log) = &self.audit {
            let record = AuditRecord::of_query(
                account,
                &self.spec.project,
                sql,
                &outcome,
                started.elapsed(),
            );
            log.append(record)?;
        }
        outcome
    }

    /// Plans `sql` under the policy and returns the protected plan (for EXPLAIN-like display
    /// and snapshot tests) and the output aggregates' names.
    pub async fn protected_plan(&self, sql: &str) -> Result<LogicalPlan> {
        Ok(self.plan(sql, &self.protection()).await?.0)
    }

    fn protection(&self) -> Arc<Protection> {
        let d = &self.spec.disclosure;
        Arc::new(Protection {
            k: d.k,
            base: d.rounding_base,
            noise: d.noise,
            dominance: d.dominance,
            key: self.key.clone(),
            withheld: Default::default(),
        })
    }

    async fn plan(
        &self,
        sql: &str,
        protection: &Arc<Protection>,
    ) -> Result<(LogicalPlan, Vec<(String, &'static str)>)> {
        if sql.len() > MAX_SQL_BYTES {
            return Err(Error::refused(
                "sql_gate",
                format!("the SQL is longer than {MAX_SQL_BYTES} bytes"),
            ));
        }
        if sql
            .to_ascii_lowercase()
            .contains(crate::policy::HIDDEN_PREFIX)
        {
            return Err(Error::refused(
                "sql_gate",
                format!(
                    "names starting with {} are reserved",
                    crate::policy::HIDDEN_PREFIX
                ),
            ));
        }
        let state = self.ctx.state();
        let statement = state
            .sql_to_statement(sql, &Dialect::Generic)
            .map_err(|e| Error::Syntax {
                message: e.find_root().to_string(),
            })?;
        match &statement {
            Statement::Statement(s) if matches!(**s, SqlStatement::Query(_)) => {}
            _ => {
                return Err(Error::refused(
                    "sql_gate",
                    "only queries (SELECT or WITH … SELECT) are allowed: no DDL, DML, COPY, \
                     EXPLAIN, SET or SHOW",
                ));
            }
        }
        let plan = state
            .statement_to_plan(statement)
            .await
            .map_err(Error::from_planning)?;
        let mut rules: Vec<Arc<dyn AnalyzerRule + Send + Sync>> = Analyzer::new().rules;
        rules.push(Arc::new(RefuseNodes::new()));
        rules.push(Arc::new(PidUsage::new()));
        rules.push(Arc::new(AggregateOutput::new()));
        let checked = Analyzer::with_rules(rules)
            .execute_and_check(plan, state.config_options(), |_, _| {})
            .map_err(Error::from_planning)?;
        let top = crate::policy::output_aggregate(&checked).map_err(Error::from_planning)?;
        let names = top
            .aggr_expr
            .iter()
            .map(|e| {
                let name = e.schema_name().to_string();
                let f = crate::policy::aggregate_name(e).unwrap_or_default();
                let kind = if COUNTS.contains(&f) {
                    "count"
                } else if VALUE_SUMS.contains(&f) {
                    "sum_or_mean"
                } else {
                    "other"
                };
                (name, kind)
            })
            .collect();
        let protected = ProtectCells::new(protection.clone())
            .analyze(checked, state.config_options())
            .map_err(Error::from_planning)?;
        // The default rules again, on the rewritten plan (type coercion of the new nodes).
        let protected = Analyzer::new()
            .execute_and_check(protected, state.config_options(), |_, _| {})
            .map_err(Error::from_planning)?;
        Ok((protected, names))
    }

    async fn run(&self, sql: &str) -> Result<QueryResult> {
        let started = Instant::now();
        let protection = self.protection();
        let (plan, names) = self.plan(sql, &protection).await?;
        let plan_hash = hex(&Sha256::digest(
            plan.display_indent().to_string().as_bytes(),
        ));
        let limits = &self.spec.limits;
        let out_schema: SchemaRef = Arc::new(plan.schema().as_arrow().clone());
        let limited = LogicalPlanBuilder::from(plan)
            .limit(0, Some(limits.max_rows + 1))
            .and_then(|b| b.build())
            .map_err(Error::from_planning)?;
        let memory = limits.memory_mib;
        let df = self
            .ctx
            .execute_logical_plan(limited)
            .await
            .map_err(Error::from_planning)?;
        // On its own task, so that a query past its time is aborted (its streams dropped and
        // their tasks with them) and the caller is answered at once.
        // Aborted when this future is dropped too (a cancelled job, a client gone).
        let mut task = AbortOnDrop(tokio::spawn(async move {
            df.collect()
                .await
                .map_err(|e| Error::from_execution(e, memory))
        }));
        let timeout = Duration::from_secs(limits.timeout_seconds);
        let batches = match tokio::time::timeout(timeout, &mut task.0).await {
            Ok(joined) => joined.map_err(|e| Error::Execution {
                message: format!("the query task failed: {e}"),
            })??,
            Err(_) => {
                return Err(Error::Timeout {
                    seconds: limits.timeout_seconds,
                });
            }
        };
        let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
        if rows > limits.max_rows {
            return Err(Error::TooManyRows {
                limit: limits.max_rows,
            });
        }
        let report = self.report(&batches, &names, &protection);
        let (schema, batches) = strip_hidden(&out_schema, batches)?;
        let result_hash = hash_batches(&schema, &batches)?;
        Ok(QueryResult {
            schema,
            batches,
            report,
            plan_hash,
            result_hash,
            duration: started.elapsed(),
        })
    }

    fn report(
        &self,
        batches: &[RecordBatch],
        names: &[(String, &'static str)],
        protection: &Protection,
    ) -> DisclosureReport {
        let d = &self.spec.disclosure;
        let mut cells: Vec<CellReport> = names
            .iter()
            .map(|(aggregate, kind)| CellReport {
                aggregate: aggregate.clone(),
                kind,
                published: 0,
                suppressed_dominance: 0,
                suppressed_few_contributors: 0,
            })
            .collect();
        for b in batches {
            for (j, cell) in cells.iter_mut().enumerate() {
                let name = format!("{}s{j}", crate::policy::HIDDEN_PREFIX);
                let Some(col) = b.column_by_name(&name) else {
                    continue;
                };
                let Some(st) = statuses(col.as_ref()) else {
                    continue;
                };
                for s in st.iter() {
                    match s.unwrap_or(status::OK) {
                        status::DOMINATED => cell.suppressed_dominance += 1,
                        status::FEW_CONTRIBUTORS => cell.suppressed_few_contributors += 1,
                        _ => cell.published += 1,
                    }
                }
            }
        }
        let mut notes = vec![format!(
            "groups of fewer than {} persons are withheld with their key values",
            d.k
        )];
        if d.noise {
            notes.push(
                "counts carry sticky noise in -2..+2 (the same for the same persons, whatever the \
                 query), then are rounded"
                    .to_string(),
            );
        }
        if d.rounding_base > 1 {
            notes.push(format!(
                "counts are rounded to a multiple of {}; totals computed from them are not exact",
                d.rounding_base
            ));
        }
        notes.push(format!(
            "a sum or mean is suppressed when two persons make more than {:.0}% of it, or when \
             fewer than {} persons contribute a non-zero value",
            d.dominance * 100.0,
            d.k
        ));
        DisclosureReport {
            k: d.k,
            rounding_base: d.rounding_base,
            noise: d.noise,
            dominance: d.dominance,
            groups_withheld: protection.withheld.load(Ordering::Relaxed),
            cells,
            notes,
        }
    }
}

/// A task that is aborted when its handle is dropped.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn strip_hidden(
    schema: &SchemaRef,
    batches: Vec<RecordBatch>,
) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    let keep: Vec<usize> = schema
        .fields()
        .iter()
        .enumerate()
        .filter(|(_, f)| !f.name().starts_with(crate::policy::HIDDEN_PREFIX))
        .map(|(i, _)| i)
        .collect();
    let out: Vec<RecordBatch> = batches
        .iter()
        .map(|b| b.project(&keep))
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| Error::Execution {
            message: format!("strip hidden columns: {e}"),
        })?;
    let schema = match out.first() {
        Some(b) => b.schema(),
        None => Arc::new(schema.project(&keep).map_err(|e| Error::Execution {
            message: format!("strip hidden columns: {e}"),
        })?),
    };
    Ok((schema, out))
}

fn hash_batches(schema: &SchemaRef, batches: &[RecordBatch]) -> Result<String> {
    Ok(hex(&Sha256::digest(ipc_stream(schema, batches)?)))
}

/// The batches as an Arrow IPC stream.
fn ipc_stream(schema: &SchemaRef, batches: &[RecordBatch]) -> Result<Vec<u8>> {
    let err = |e: datafusion::arrow::error::ArrowError| Error::Execution {
        message: format!("arrow ipc: {e}"),
    };
    let mut buf = Vec::new();
    let mut w =
        datafusion::arrow::ipc::writer::StreamWriter::try_new(&mut buf, schema).map_err(err)?;
    for b in batches {
        w.write(b).map_err(err)?;
    }
    w.finish().map_err(err)?;
    drop(w);
    Ok(buf)
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
