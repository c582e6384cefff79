//! `aggregate_output`: the output is one aggregation over person-level data.

use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::error::Result;
use datafusion::logical_expr::{Aggregate, Distinct, Expr, LogicalPlan};
use datafusion::optimizer::AnalyzerRule;

use super::{ident_of, idents, node_name};
use crate::error::refuse;
use crate::functions::{AGGREGATE_ALLOWED, EXTREME};

const RULE: &str = "aggregate_output";

/// Admits only plans whose output is an aggregation: from the root down, projections, filters
/// (HAVING), sorts, limits and aliases, then one `Aggregate` (the output aggregation). On it:
/// no `pid`/`unit_key` group key, no grouping sets (not supported yet), no extreme-value aggregate
/// (MIN, MAX, medians and percentiles return one person's value: refused, use bands or means),
/// and only allow-listed aggregates (value-collecting ones such as `array_agg`, `string_agg`
/// and `first_value` are not even registered). Below it, every aggregate and `DISTINCT` must be
/// per person (grouped by `pid` or `unit_key`) and every window partitioned by one: a summary
/// across persons inside a query (`(SELECT max(x) …)`, `rank() OVER (ORDER BY x)`) would let
/// the outer query single out the person who holds it.
#[derive(Debug, Default)]
pub struct AggregateOutput;

impl AggregateOutput {
    /// The rule.
    pub fn new() -> Self {
        AggregateOutput
    }
}

/// The output aggregation of an admitted plan.
pub(crate) fn output_aggregate(plan: &LogicalPlan) -> Result<&Aggregate> {
    let mut node = plan;
    loop {
        match node {
            LogicalPlan::Projection(_)
            | LogicalPlan::Filter(_)
            | LogicalPlan::Sort(_)
            | LogicalPlan::Limit(_)
            | LogicalPlan::SubqueryAlias(_) => {
                if node.expressions().iter().any(has_subquery) {
                    return refuse(
                        RULE,
                        "a subquery may not stand above the output aggregation",
                    );
                }
                node = node.inputs()[0];
            }
            LogicalPlan::Aggregate(a) => return Ok(a),
            LogicalPlan::Window(_) => {
                return refuse(
                    RULE,
                    "a window function over the output aggregation is not allowed: compute \
                     shares and totals from the returned cells",
                );
            }
            LogicalPlan::TableScan(_) | LogicalPlan::Values(_) | LogicalPlan::EmptyRelation(_) => {
                return refuse(
                    RULE,
                    "the query has no aggregation and would return rows: the output must \
                     aggregate person-level data (GROUP BY, count, avg, sum …)",
                );
            }
            other => {
                return refuse(
                    RULE,
                    format!(
                        "the output must be one aggregation of person-level data (GROUP BY, \
                         count, avg, sum …) with only projections, filters, sorts and limits \
                         above it; found {} above it",
                        node_name(other)
                    ),
                );
            }
        }
    }
}

fn has_subquery(e: &Expr) -> bool {
    e.exists(|x| {
        Ok(matches!(
            x,
            Expr::ScalarSubquery(_) | Expr::Exists(_) | Expr::InSubquery(_)
        ))
    })
    .unwrap_or(true)
}

pub(crate) fn aggregate_name(e: &Expr) -> Option<&str> {
    match e {
        Expr::Alias(a) => aggregate_name(&a.expr),
        Expr::AggregateFunction(af) => Some(af.func.name()),
        _ => None,
    }
}

impl AnalyzerRule for AggregateOutput {
    fn name(&self) -> &str {
        RULE
    }

    fn analyze(&self, plan: LogicalPlan, _config: &ConfigOptions) -> Result<LogicalPlan> {
        let top = output_aggregate(&plan)?;
        let ids = idents(&top.input);
        let schema = top.input.schema();
        for g in &top.group_expr {
            if matches!(g, Expr::GroupingSet(_)) {
                return refuse(
                    RULE,
                    "ROLLUP, CUBE and GROUPING SETS are not supported yet: run each level as its \
                     own query (each is protected on its own)",
                );
            }
            if ident_of(g, schema, &ids).is_some() {
                return refuse(
                    RULE,
                    "pid and unit_key cannot be group keys of the output: every output group must \
                     hold at least k persons",
                );
            }
        }
        for e in &top.aggr_expr {
            let Some(name) = aggregate_name(e) else {
                return refuse(
                    RULE,
                    "the output aggregation holds a non-aggregate expression",
                );
            };
            if EXTREME.contains(&name) {
                return refuse(
                    RULE,
                    format!(
                        "{name} on the output returns one person's value; use avg, counts by \
                         band, or {name} inside a per-person subquery"
                    ),
                );
            }
            if !AGGREGATE_ALLOWED.contains(&name) {
                return refuse(RULE, format!("the aggregate {name} is not allowed"));
            }
        }
        let top_ptr: *const Aggregate = top;
        plan.apply_with_subqueries(|node| {
            match node {
                LogicalPlan::Aggregate(a)
                    if !std::ptr::eq(a, top_ptr) && idents(node).is_empty() =>
                {
                    return refuse(
                        RULE,
                        "an aggregate inside the query must be per person (GROUP BY pid): \
                         a summary across persons would single out the person who holds it",
                    );
                }
                LogicalPlan::Distinct(Distinct::All(input)) if idents(input).is_empty() => {
                    return refuse(
                        RULE,
                        "DISTINCT inside the query must keep pid (a per-person set)",
                    );
                }
                LogicalPlan::Window(w) => {
                    let ids = idents(&w.input);
                    let schema = w.input.schema();
                    for e in &w.window_expr {
                        let per_person = match e.clone().unalias() {
                            Expr::WindowFunction(wf) => wf
                                .params
                                .partition_by
                                .iter()
                                .any(|p| ident_of(p, schema, &ids).is_some()),
                            _ => false,
                        };
                        if !per_person {
                            return refuse(
                                RULE,
                                "a window function must be partitioned by pid (PARTITION BY \
                                 pid): a window across persons would single one out",
                            );
                        }
                    }
                }
                _ => {}
            }
            Ok(TreeNodeRecursion::Continue)
        })?;
        Ok(plan)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::testing::{plan, verdict};

    async fn check(sql: &str) -> String {
        verdict(AggregateOutput::new().analyze(plan(sql).await, &ConfigOptions::default()))
    }

    #[tokio::test]
    async fn shapes() {
        insta::assert_snapshot!(check("SELECT * FROM patients").await, @"the query has no aggregation and would return rows: the output must aggregate person-level data (GROUP BY, count, avg, sum …)");
        insta::assert_snapshot!(check("SELECT points FROM patients ORDER BY points DESC LIMIT 1").await, @"the query has no aggregation and would return rows: the output must aggregate person-level data (GROUP BY, count, avg, sum …)");
        insta::assert_snapshot!(check("SELECT count(*) FROM patients p JOIN (SELECT sex, count(*) AS n FROM patients GROUP BY sex) s ON p.sex = s.sex").await, @"an aggregate inside the query must be per person (GROUP BY pid): a summary across persons would single out the person who holds it");
        insta::assert_snapshot!(check("SELECT pid, count(*) FROM diagnoses GROUP BY pid").await, @"pid and unit_key cannot be group keys of the output: every output group must hold at least k persons");
        insta::assert_snapshot!(check("SELECT max(points) FROM patients").await, @"max on the output returns one person's value; use avg, counts by band, or max inside a per-person subquery");
        insta::assert_snapshot!(check("SELECT sex, count(*) FROM patients GROUP BY ROLLUP(sex)").await, @"ROLLUP, CUBE and GROUPING SETS are not supported yet: run each level as its own query (each is protected on its own)");
        insta::assert_snapshot!(check("SELECT count(*) FROM patients WHERE points = (SELECT max(points) FROM patients)").await, @"an aggregate inside the query must be per person (GROUP BY pid): a summary across persons would single out the person who holds it");
        insta::assert_snapshot!(check("SELECT count(*) FROM (SELECT rank() OVER (ORDER BY points DESC) AS r FROM patients) WHERE r = 1").await, @"a window function must be partitioned by pid (PARTITION BY pid): a window across persons would single one out");
        insta::assert_snapshot!(check("SELECT sex, avg(first) FROM (SELECT pid, sex, min(points) AS first FROM patients GROUP BY pid, sex) GROUP BY sex").await, @"admitted");
        insta::assert_snapshot!(check("SELECT n, count(*) FROM (SELECT pid, row_number() OVER (PARTITION BY pid ORDER BY code) AS n FROM diagnoses) GROUP BY n").await, @"admitted");
    }
}
