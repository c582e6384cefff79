//! `protect_cells`: the rewrite that puts disclosure control into the plan itself.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow_schema::DataType;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{Column, ScalarValue};
use datafusion::error::Result;
use datafusion::functions_aggregate::count::count_distinct;
use datafusion::functions_aggregate::expr_fn::{max, min};
use datafusion::logical_expr::expr::{AggregateFunction, ScalarFunction};
use datafusion::logical_expr::{
    Aggregate, AggregateUDF, Expr, Filter, LogicalPlan, Projection, ScalarUDF, cast, lit,
};
use datafusion::optimizer::AnalyzerRule;

use super::same_person::person_classes;
use super::{Ident, idents, preserved_idents};
use crate::error::refuse;
use crate::functions::{
    COUNTS, CellFn, CellKind, ContribFn, GroupOkFn, Protection, VALUE_SUMS, contrib_persons,
    contrib_status, status,
};

const RULE: &str = "protect_cells";

/// Prefix of the hidden columns the rewrite adds; the enclave strips them from results, and a
/// query may not name them.
pub(crate) const HIDDEN: &str = "__niji_";

/// Rewrites an admitted plan so that every output cell is protected by the engine itself:
///
/// 1. Every projection below the output aggregation that would drop every `pid` column keeps
///    them, so the aggregation still sees who is behind each row (`SELECT sex FROM (SELECT sex FROM
///    patients)` counts persons all the same).
/// 2. The output aggregation gets hidden aggregates: `count(DISTINCT pid)` for each person
///    column every row has (the group's persons; with two, as after an inner join on
///    something else than pid or unit_key, the smaller counts; columns an inner join makes one
///    person, on pid or on unit_key, count once; an outer join's optional side does not; the
///    query's own `count(DISTINCT pid)` serves where it has one), `min(pid)` and `max(pid)` (with
///    the count, the cell key: a function of the set of persons only, for sticky noise; only
///    when noise is on and a count is shown), and for each sum or mean the contribution check
///    (dominance NK(2, share) and at least k non-zero contributors). The contribution check
///    keeps each person's total, so an unfiltered one also gives the first person column's
///    count: it replaces both the hidden count and the query's own `count(DISTINCT pid)` of
///    that column (one set of persons per group instead of two).
/// 3. Right above it: a projection that publishes each cell through `niji_cell` (null when
///    its contribution check fails; counts noised by the cell key, then rounded), keeps a
///    hidden status per cell for the report, and a filter that withholds every group of fewer
///    than k persons, with its key values.
/// 4. The projections, filters, sorts and limits the query had above its aggregation now work
///    on protected cells (a `HAVING count(*) < 3` sees rounded counts) and pass the hidden
///    status columns up to the result.
#[derive(Debug)]
pub struct ProtectCells {
    protection: Arc<Protection>,
}

impl ProtectCells {
    /// The rule for one query, with its settings and report counters.
    pub(crate) fn new(protection: Arc<Protection>) -> Self {
        ProtectCells { protection }
    }
}

impl AnalyzerRule for ProtectCells {
    fn name(&self) -> &str {
        RULE
    }

    fn analyze(&self, plan: LogicalPlan, _config: &ConfigOptions) -> Result<LogicalPlan> {
        let mut hidden = 0usize;
        self.rewrite_top(plan, &mut hidden)
    }
}

fn col(c: Column) -> Expr {
    Expr::Column(c)
}

fn cell_kind(e: &Expr) -> CellKind {
    match e {
        Expr::Alias(a) => cell_kind(&a.expr),
        Expr::AggregateFunction(af) if COUNTS.contains(&af.func.name()) => CellKind::Count,
        Expr::AggregateFunction(af) if VALUE_SUMS.contains(&af.func.name()) => CellKind::ValueSum,
        _ => CellKind::Other,
    }
}

fn aggregate_of(e: &Expr) -> Option<&AggregateFunction> {
    match e {
        Expr::Alias(a) => aggregate_of(&a.expr),
        Expr::AggregateFunction(af) => Some(af),
        _ => None,
    }
}

impl ProtectCells {
    fn rewrite_top(&self, plan: LogicalPlan, hidden: &mut usize) -> Result<LogicalPlan> {
        match plan {
            LogicalPlan::Aggregate(a) => self.protect(a, hidden),
            LogicalPlan::Projection(p) => {
                let input = self.rewrite_top(Arc::unwrap_or_clone(p.input), hidden)?;
                let mut exprs = p.expr;
                for (q, f) in input.schema().iter() {
                    if f.name().starts_with(HIDDEN) {
                        exprs.push(col(Column::new(q.cloned(), f.name())));
                    }
                }
                Ok(LogicalPlan::Projection(Projection::try_new(
                    exprs,
                    Arc::new(input),
                )?))
            }
            node @ (LogicalPlan::Filter(_)
            | LogicalPlan::Sort(_)
            | LogicalPlan::Limit(_)
            | LogicalPlan::SubqueryAlias(_)) => {
                let input = self.rewrite_top(node.inputs()[0].clone(), hidden)?;
                node.with_new_exprs(node.expressions(), vec![input])
            }
            other => refuse(
                RULE,
                format!(
                    "cannot protect a plan with {} above its aggregation",
                    super::node_name(&other)
                ),
            ),
        }
    }

    fn protect(&self, a: Aggregate, hidden: &mut usize) -> Result<LogicalPlan> {
        let input = carry_persons(Arc::unwrap_or_clone(a.input.clone()), hidden)?;
        // One person column per class of columns that hold the same person on every row
        // (joined on pid or on unit_key): the one the query counts itself where it does.
        let classes = person_classes(&input);
        let counted = |c: &Column| {
            let n = count_distinct(col(c.clone()));
            a.aggr_expr.iter().any(|e| e.clone().unalias() == n)
        };
        let mut persons: Vec<Column> = Vec::new();
        // Class → its column's place in `persons`.
        let mut chosen: BTreeMap<usize, usize> = BTreeMap::new();
        for (i, _) in preserved_idents(&input)
            .into_iter()
            .filter(|(_, k)| *k == Ident::Person)
        {
            let c = Column::from(input.schema().qualified_field(i));
            match classes.get(&i).map(|k| (k, chosen.get(k).copied())) {
                Some((_, Some(at))) => {
                    if counted(&c) && !counted(&persons[at]) {
                        persons[at] = c;
                    }
                }
                Some((k, None)) => {
                    chosen.insert(*k, persons.len());
                    persons.push(c);
                }
                None => persons.push(c),
            }
        }
        let Some(first) = persons.first().cloned() else {
            return refuse(
                RULE,
                "the output aggregation must be over person-level data (a table of the project)",
            );
        };
        let groups = a.group_expr.len();
        let named = |n: String| col(Column::new_unqualified(n));
        // The contribution check of each sum or mean, over the first person column. An
        // unfiltered one also counts the group's persons (the "counter").
        let contrib = Arc::new(AggregateUDF::from(ContribFn::new(
            self.protection.k,
            self.protection.dominance,
        )));
        let mut checks = Vec::new();
        let mut counter = None;
        for (j, e) in a.aggr_expr.iter().enumerate() {
            if cell_kind(e) != CellKind::ValueSum {
                continue;
            }
            let Some(af) = aggregate_of(e) else { continue };
            let Some(arg) = af.params.args.first() else {
                continue;
            };
            let name = format!("{HIDDEN}c{j}");
            if af.params.filter.is_none() && counter.is_none() {
                counter = Some(contrib_persons(named(name.clone())));
            }
            checks.push(
                Expr::AggregateFunction(AggregateFunction::new_udf(
                    contrib.clone(),
                    vec![
                        cast(col(first.clone()), DataType::Int64),
                        cast(arg.clone(), DataType::Float64),
                    ],
                    false,
                    af.params.filter.clone(),
                    vec![],
                    None,
                ))
                .alias(name),
            );
        }
        // The query's own aggregates, but a `count(DISTINCT pid)` of the first person column,
        // which the counter answers: where each one's value comes from.
        let first_count = count_distinct(col(first.clone()));
        let mut aggr = Vec::new();
        let mut from = Vec::new();
        for e in &a.aggr_expr {
            match &counter {
                Some(c) if e.clone().unalias() == first_count => from.push(Value::Expr(c.clone())),
                _ => {
                    from.push(Value::Aggregate(aggr.len()));
                    aggr.push(e.clone());
                }
            }
        }
        // A group's persons, per person column: the counter for the first, else the query's
        // own `count(DISTINCT pid)` where it has one (computed once), else a hidden one.
        let mut persons_of = Vec::new();
        for (i, p) in persons.iter().enumerate() {
            let n = count_distinct(col(p.clone()));
            match (
                &counter,
                a.aggr_expr.iter().position(|e| e.clone().unalias() == n),
            ) {
                (Some(c), _) if i == 0 => persons_of.push(Value::Expr(c.clone())),
                (_, Some(j)) => persons_of.push(from[j].clone()),
                _ => {
                    let name = format!("{HIDDEN}n{i}");
                    aggr.push(n.alias(name.clone()));
                    persons_of.push(Value::Expr(named(name)));
                }
            }
        }
        aggr.extend(checks);
        // The cell key seeds sticky noise (only needed when noise is on and a count is shown):
        // the smallest and largest pid of the group with its number of persons, a function of
        // the set of persons only, from aggregates that need no set of their own.
        let keyed =
            self.protection.noise && a.aggr_expr.iter().any(|e| cell_kind(e) == CellKind::Count);
        if keyed {
            aggr.push(min(col(first.clone())).alias(format!("{HIDDEN}kmin")));
            aggr.push(max(col(first.clone())).alias(format!("{HIDDEN}kmax")));
        }
        let agg = LogicalPlan::Aggregate(Aggregate::try_new(
            Arc::new(input),
            a.group_expr.clone(),
            aggr,
        )?);
        let s = agg.schema().clone();
        let at = |i: usize| col(Column::from(s.qualified_field(i)));
        let resolve = |v: &Value| match v {
            Value::Aggregate(k) => at(groups + k),
            Value::Expr(e) => e.clone(),
        };
        let value = |j: usize| resolve(&from[j]);
        let counts: Vec<Expr> = persons_of.iter().map(resolve).collect();
        let cell_key = if keyed {
            vec![
                named(format!("{HIDDEN}kmin")),
                named(format!("{HIDDEN}kmax")),
                counts[0].clone(),
            ]
        } else {
            vec![lit(ScalarValue::Int64(Some(0))); 3]
        };
        let mut exprs: Vec<Expr> = (0..groups).map(at).collect();
        for (j, e) in a.aggr_expr.iter().enumerate() {
            let kind = cell_kind(e);
            let st = if kind == CellKind::ValueSum
                && aggregate_of(e).is_some_and(|af| !af.params.args.is_empty())
            {
                contrib_status(named(format!("{HIDDEN}c{j}")))
            } else {
                lit(ScalarValue::Int8(Some(status::OK)))
            };
            let cell = Expr::ScalarFunction(ScalarFunction::new_udf(
                Arc::new(ScalarUDF::from(CellFn::new(kind, self.protection.clone()))),
                [vec![value(j), st.clone()], cell_key.clone()].concat(),
            ));
            let (q, f) = a.schema.qualified_field(groups + j);
            exprs.push(cell.alias_qualified(q.cloned(), f.name()));
            exprs.push(st.alias(format!("{HIDDEN}s{j}")));
        }
        exprs.push(
            Expr::ScalarFunction(ScalarFunction::new_udf(
                Arc::new(ScalarUDF::from(GroupOkFn::new(self.protection.clone()))),
                counts,
            ))
            .alias(format!("{HIDDEN}ok")),
        );
        let protected = LogicalPlan::Projection(Projection::try_new(exprs, Arc::new(agg))?);
        Ok(LogicalPlan::Filter(Filter::try_new(
            named(format!("{HIDDEN}ok")),
            Arc::new(protected),
        )?))
    }
}

/// Where a value (one of the query's aggregates, or a group's person count) comes from in the
/// rewritten aggregation.
#[derive(Clone)]
enum Value {
    /// An aggregate, at this index among the rewritten aggregation's aggregates.
    Aggregate(usize),
    /// An expression over the hidden aggregates (the counter's person count, a hidden count).
    Expr(Expr),
}

/// Makes every projection below the output aggregation keep the identifier columns of its
/// input that it would drop, under hidden names.
fn carry_persons(plan: LogicalPlan, hidden: &mut usize) -> Result<LogicalPlan> {
    plan.transform_up(|node| match node {
        LogicalPlan::Projection(p) => {
            let ids = idents(&p.input);
            let schema = p.input.schema().clone();
            let passed: Vec<usize> = p
                .expr
                .iter()
                .filter_map(|e| match e.clone().unalias() {
                    Expr::Column(c) => schema.maybe_index_of_column(&c),
                    _ => None,
                })
                .collect();
            // One person column is enough to count persons; adding more would change a
            // DISTINCT above this projection (`SELECT DISTINCT pid …` must stay one row per
            // person), and unit keys never count.
            let persons: Vec<usize> = ids
                .iter()
                .filter(|(_, k)| **k == Ident::Person)
                .map(|(i, _)| *i)
                .collect();
            let missing: Vec<usize> = if persons.iter().any(|i| passed.contains(i)) {
                Vec::new()
            } else {
                persons
            };
            if missing.is_empty() {
                return Ok(Transformed::no(LogicalPlan::Projection(p)));
            }
            let mut exprs = p.expr;
            for i in missing {
                *hidden += 1;
                exprs.push(
                    col(Column::from(schema.qualified_field(i)))
                        .alias(format!("{HIDDEN}p{hidden}")),
                );
            }
            Ok(Transformed::yes(LogicalPlan::Projection(
                Projection::try_new(exprs, p.input)?,
            )))
        }
        other => Ok(Transformed::yes(other.recompute_schema()?)),
    })
    .map(|t| t.data)
}
