//! `pid_usage`: identifiers are joined on and counted, never compared with a value.

use datafusion::common::DFSchema;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::error::Result;
use datafusion::logical_expr::expr::{Exists, InSubquery};
use datafusion::logical_expr::utils::split_conjunction;
use datafusion::logical_expr::{BinaryExpr, Expr, LogicalPlan, Operator, Subquery};
use datafusion::optimizer::AnalyzerRule;

use super::{Ident, Idents, Outer, ident_of, idents, mentions_ident, node_name};
use crate::error::refuse;

const RULE: &str = "pid_usage";

/// Keeps `pid` and `unit_key` opaque. A tracker attack needs to single a person out: `WHERE pid =
/// …`, `SUM(CASE WHEN pid = … THEN x END)`, `pid % 100 < 3`, `GROUP BY pid` on the output.
/// This rule admits an identifier only where it cannot do that: selected as it is (in a
/// subquery), equated with another identifier (a join, `EXISTS` correlation), tested for NULL
/// anywhere (anti-joins, outer-join indicators), on the left of `IN (SELECT pid …)` in a filter
/// (DataFusion plans such subqueries in filters only), as a group key inside
/// the query (per-person summaries), as a window partition, and inside `count(…)`. Whether it
/// reaches the output is [`super::AggregateOutput`]'s business.
#[derive(Debug, Default)]
pub struct PidUsage;

impl PidUsage {
    /// The rule.
    pub fn new() -> Self {
        PidUsage
    }
}

impl AnalyzerRule for PidUsage {
    fn name(&self) -> &str {
        RULE
    }

    fn analyze(&self, plan: LogicalPlan, _config: &ConfigOptions) -> Result<LogicalPlan> {
        check(&plan, None)?;
        Ok(plan)
    }
}

fn misuse<T>(plan: &LogicalPlan) -> Result<T> {
    refuse(
        RULE,
        format!(
            "pid (and unit_key) may be joined on and counted, never compared with a value or used \
             inside an expression (in {})",
            node_name(plan)
        ),
    )
}

/// The identifier `e` is, also when it refers to the enclosing query.
fn ident_any(e: &Expr, schema: &DFSchema, ids: &Idents, outer: Outer<'_>) -> Option<Ident> {
    match e {
        Expr::Alias(a) => ident_any(&a.expr, schema, ids, outer),
        Expr::OuterReferenceColumn(_, c) => {
            outer.and_then(|(s, o)| s.maybe_index_of_column(c).and_then(|i| o.get(&i).copied()))
        }
        _ => ident_of(e, schema, ids),
    }
}

fn check(plan: &LogicalPlan, outer: Outer<'_>) -> Result<()> {
    for input in plan.inputs() {
        check(input, outer)?;
    }
    let inputs = plan.inputs();
    let (schema, ids): (&DFSchema, Idents) = match (plan, inputs.first()) {
        (LogicalPlan::Join(_), _) => (plan.schema().as_ref(), idents(plan)),
        (_, Some(input)) => (input.schema().as_ref(), idents(input)),
        (_, None) => return Ok(()),
    };
    let bad = |e: &Expr| mentions_ident(e, schema, &ids, outer);
    // Subqueries inside this node's expressions see it as their enclosing query.
    for e in plan.expressions() {
        check_subqueries(&e, schema, &ids)?;
    }
    match plan {
        LogicalPlan::Projection(p) => {
            for e in &p.expr {
                if ident_any(e, schema, &ids, outer).is_none() && bad(e) {
                    return misuse(plan);
                }
            }
        }
        LogicalPlan::Filter(f) => check_predicate(plan, &f.predicate, schema, &ids, outer)?,
        LogicalPlan::Join(j) => {
            for (l, r) in &j.on {
                let l_id = ident_of(l, schema, &ids).is_some();
                let r_id = ident_of(r, schema, &ids).is_some();
                if (l_id != r_id) || (!l_id && (bad(l) || bad(r))) {
                    return misuse(plan);
                }
            }
            if let Some(f) = &j.filter {
                check_predicate(plan, f, schema, &ids, outer)?;
            }
        }
        LogicalPlan::Aggregate(a) => {
            for g in &a.group_expr {
                if ident_of(g, schema, &ids).is_none() && bad(g) {
                    return misuse(plan);
                }
            }
            for e in &a.aggr_expr {
                if !counts_identifier(e, schema, &ids) && bad(e) {
                    return misuse(plan);
                }
            }
        }
        LogicalPlan::Window(w) => {
            for e in &w.window_expr {
                let Expr::WindowFunction(wf) = e.clone().unalias() else {
                    if bad(e) {
                        return misuse(plan);
                    }
                    continue;
                };
                let p = &wf.params;
                if p.args.iter().any(bad) || p.order_by.iter().any(|s| bad(&s.expr)) {
                    return misuse(plan);
                }
                if p.partition_by
                    .iter()
                    .any(|e| ident_of(e, schema, &ids).is_none() && bad(e))
                {
                    return misuse(plan);
                }
            }
        }
        LogicalPlan::SubqueryAlias(_) => {}
        _ => {
            if plan.expressions().iter().any(bad) {
                return misuse(plan);
            }
        }
    }
    Ok(())
}

/// `count(pid)` or `count(DISTINCT pid)`, with no identifier in a FILTER or ORDER BY.
fn counts_identifier(e: &Expr, schema: &DFSchema, ids: &Idents) -> bool {
    match e {
        Expr::Alias(a) => counts_identifier(&a.expr, schema, ids),
        Expr::AggregateFunction(af) => {
            let p = &af.params;
            af.func.name() == "count"
                && !p.args.is_empty()
                && p.args.iter().all(|a| ident_of(a, schema, ids).is_some())
                && p.filter
                    .as_ref()
                    .is_none_or(|f| !mentions_ident(f, schema, ids, None))
                && p.order_by
                    .iter()
                    .all(|s| !mentions_ident(&s.expr, schema, ids, None))
        }
        _ => false,
    }
}

fn check_predicate(
    plan: &LogicalPlan,
    predicate: &Expr,
    schema: &DFSchema,
    ids: &Idents,
    outer: Outer<'_>,
) -> Result<()> {
    for conj in split_conjunction(predicate) {
        let admitted = match conj {
            Expr::BinaryExpr(BinaryExpr {
                left,
                op: Operator::Eq,
                right,
            }) => {
                let (l, r) = (
                    ident_any(left, schema, ids, outer),
                    ident_any(right, schema, ids, outer),
                );
                if l.is_some() || r.is_some() {
                    l.is_some() && r.is_some()
                } else {
                    !mentions_ident(conj, schema, ids, outer)
                }
            }
            Expr::IsNull(x) | Expr::IsNotNull(x) => {
                ident_any(x, schema, ids, outer).is_some()
                    || !mentions_ident(conj, schema, ids, outer)
            }
            Expr::InSubquery(InSubquery { expr, subquery, .. }) => {
                let selects_id = idents(&subquery.subquery).contains_key(&0);
                if ident_any(expr, schema, ids, outer).is_some() {
                    if !selects_id {
                        return refuse(
                            RULE,
                            "`pid IN (subquery)` needs a subquery that selects pid",
                        );
                    }
                    true
                } else {
                    !selects_id && !mentions_ident(conj, schema, ids, outer)
                }
            }
            Expr::Exists(Exists { .. }) => true,
            _ => !mentions_ident(conj, schema, ids, outer),
        };
        if !admitted {
            return misuse(plan);
        }
    }
    Ok(())
}

/// Checks the plans of the subqueries inside `e`, with this node's input as their outer query.
fn check_subqueries(e: &Expr, schema: &DFSchema, ids: &Idents) -> Result<()> {
    let mut subs: Vec<&Subquery> = Vec::new();
    e.apply(|x| {
        match x {
            Expr::ScalarSubquery(s) => subs.push(s),
            Expr::Exists(Exists { subquery, .. }) => subs.push(subquery),
            Expr::InSubquery(InSubquery { subquery, .. }) => subs.push(subquery),
            _ => {}
        }
        Ok(TreeNodeRecursion::Continue)
    })?;
    for s in subs {
        check(&s.subquery, Some((schema, ids)))?;
    }
    let mut scalar_id = false;
    e.apply(|x| {
        if let Expr::ScalarSubquery(s) = x {
            scalar_id |= idents(&s.subquery).contains_key(&0);
        }
        Ok(TreeNodeRecursion::Continue)
    })?;
    if scalar_id {
        return refuse(RULE, "a scalar subquery may not select pid or unit");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::testing::{plan, verdict};

    async fn check_sql(sql: &str) -> String {
        verdict(PidUsage::new().analyze(plan(sql).await, &ConfigOptions::default()))
    }

    #[tokio::test]
    async fn joins_counts_and_cohorts_are_admitted() {
        for sql in [
            "SELECT p.sex, count(DISTINCT d.pid) FROM patients p JOIN diagnoses d ON p.pid = d.pid GROUP BY p.sex",
            "SELECT sex, count(*) FROM patients WHERE pid IN (SELECT pid FROM diagnoses WHERE code = 'E11') GROUP BY sex",
            "SELECT sex, count(*) FROM patients p WHERE EXISTS (SELECT 1 FROM diagnoses d WHERE d.pid = p.pid) GROUP BY sex",
            "SELECT n, count(*) FROM (SELECT pid, count(*) AS n FROM diagnoses GROUP BY pid) GROUP BY n",
            "SELECT sex, count(*) FROM patients p LEFT JOIN diagnoses d ON p.pid = d.pid WHERE d.pid IS NULL GROUP BY sex",
            "SELECT p.sex, avg(CASE WHEN d.pid IS NULL THEN 0.0 ELSE 1.0 END) FROM patients p LEFT JOIN (SELECT DISTINCT pid FROM diagnoses WHERE code = 'E11') d ON p.pid = d.pid GROUP BY p.sex",
        ] {
            assert_eq!(check_sql(sql).await, "admitted", "{sql}");
        }
    }

    #[tokio::test]
    async fn trackers_are_refused() {
        insta::assert_snapshot!(
            check_sql("SELECT sum(CASE WHEN pid = 42 THEN points END) FROM patients").await,
            @"pid (and unit_key) may be joined on and counted, never compared with a value or used inside an expression (in Aggregate)"
        );
        insta::assert_snapshot!(
            check_sql("SELECT count(*) FROM patients WHERE pid = 42").await,
            @"pid (and unit_key) may be joined on and counted, never compared with a value or used inside an expression (in Filter)"
        );
        insta::assert_snapshot!(
            check_sql("SELECT count(*) FROM (SELECT pid % 100 AS bucket FROM patients) WHERE bucket < 3").await,
            @"pid (and unit_key) may be joined on and counted, never compared with a value or used inside an expression (in Projection)"
        );
        insta::assert_snapshot!(
            check_sql("SELECT count(*) FROM patients p JOIN diagnoses d ON p.pid = d.unit_key + 0").await,
            @"pid (and unit_key) may be joined on and counted, never compared with a value or used inside an expression (in Inner Join)"
        );
        insta::assert_snapshot!(
            check_sql("SELECT count(*) FROM patients WHERE points IN (SELECT pid FROM diagnoses)").await,
            @"pid (and unit_key) may be joined on and counted, never compared with a value or used inside an expression (in Filter)"
        );
    }
}
