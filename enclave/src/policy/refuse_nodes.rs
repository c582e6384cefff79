//! `refuse_nodes`: a researcher's query reads; it never writes, describes, copies or explains.

use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::error::Result;
use datafusion::logical_expr::{Distinct, LogicalPlan};
use datafusion::optimizer::AnalyzerRule;

use crate::error::refuse;

/// Refuses every plan node a read-only aggregate query has no use for, anywhere in the plan
/// (subqueries included): DDL, DML, COPY, EXPLAIN / ANALYZE, statements, extensions, UNION
/// (whose branches the cell protection cannot yet follow), recursive CTEs, UNNEST and
/// `DISTINCT ON`. The SQL gate refuses the statements before planning; this rule makes the
/// plan itself the line of defence, whatever produced it.
#[derive(Debug, Default)]
pub struct RefuseNodes;

impl RefuseNodes {
    /// The rule.
    pub fn new() -> Self {
        RefuseNodes
    }
}

impl AnalyzerRule for RefuseNodes {
    fn name(&self) -> &str {
        "refuse_nodes"
    }

    fn analyze(&self, plan: LogicalPlan, _config: &ConfigOptions) -> Result<LogicalPlan> {
        let mut refusal = None;
        plan.apply_with_subqueries(|node| {
            let what = match node {
                LogicalPlan::Dml(_) => Some("a data change (INSERT, UPDATE, DELETE)"),
                LogicalPlan::Ddl(_) => Some("a definition (CREATE, DROP)"),
                LogicalPlan::Copy(_) => Some("COPY"),
                LogicalPlan::Explain(_) | LogicalPlan::Analyze(_) => Some("EXPLAIN"),
                LogicalPlan::Statement(_) => Some("a statement (SET, transactions, prepare)"),
                LogicalPlan::DescribeTable(_) => Some("DESCRIBE"),
                LogicalPlan::Extension(_) => Some("an extension node"),
                LogicalPlan::Union(_) => Some("UNION (run the parts as separate queries)"),
                LogicalPlan::RecursiveQuery(_) => Some("a recursive query"),
                LogicalPlan::Unnest(_) => Some("UNNEST"),
                LogicalPlan::Distinct(Distinct::On(_)) => Some("DISTINCT ON"),
                _ => None,
            };
            if let Some(w) = what {
                refusal = Some(w);
                return Ok(TreeNodeRecursion::Stop);
            }
            Ok(TreeNodeRecursion::Continue)
        })?;
        match refusal {
            Some(what) => refuse(
                "refuse_nodes",
                format!("{what} is not allowed: the enclave runs read-only aggregate queries"),
            ),
            None => Ok(plan),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::testing::{plan, verdict};

    async fn check(sql: &str) -> String {
        verdict(RefuseNodes::new().analyze(plan(sql).await, &ConfigOptions::default()))
    }

    #[tokio::test]
    async fn admits_plain_aggregates_and_refuses_union() {
        insta::assert_snapshot!(
            check("SELECT sex, count(*) FROM patients GROUP BY sex").await,
            @"admitted"
        );
        insta::assert_snapshot!(
            check("SELECT count(*) FROM patients UNION ALL SELECT count(*) FROM diagnoses").await,
            @"UNION (run the parts as separate queries) is not allowed: the enclave runs read-only aggregate queries"
        );
        insta::assert_snapshot!(
            check("SELECT count(*) FROM patients WHERE pid IN (SELECT pid FROM diagnoses UNION SELECT pid FROM patients)").await,
            @"UNION (run the parts as separate queries) is not allowed: the enclave runs read-only aggregate queries"
        );
    }
}
