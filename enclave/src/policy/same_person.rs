//! Which person columns of a plan's output hold the same person on every row, so that the
//! output aggregation counts a group's persons once rather than once per column.
//!
//! Two facts make columns equal:
//! - an inner join on `a.pid = b.pid`;
//! - an inner join on `a.unit_key = b.unit_key`: a unit (receipt, checkup, claim, bundle) has one
//!   person, and every row of a lake table carries its unit's person (the lake tables are written
//!   together by one linkage job, which is also what makes `unit_key` joinable at all). In a
//!   view's row, `niji_unit(unit_id)` belongs to `niji_pid(person_id)`.
//!
//! Anything else (outer joins, aggregates over other keys, expressions) proves nothing, and the
//! columns stay apart: the k rule then takes the smaller count, as before.

use std::collections::BTreeMap;

use datafusion::common::DFSchema;
use datafusion::logical_expr::utils::split_conjunction;
use datafusion::logical_expr::{Distinct, Expr, JoinType, LogicalPlan, Operator};

use crate::functions::{PID_FN, UNIT_FN};

/// Person classes of a plan's output: person columns and the unit columns' owners, by index.
#[derive(Debug, Default)]
struct Bindings {
    person: BTreeMap<usize, usize>,
    unit_owner: BTreeMap<usize, usize>,
}

impl Bindings {
    /// Output column `i` is input column `j` of `inner`.
    fn carry(&mut self, i: usize, inner: &Bindings, j: usize) {
        if let Some(c) = inner.person.get(&j) {
            self.person.insert(i, *c);
        }
        if let Some(c) = inner.unit_owner.get(&j) {
            self.unit_owner.insert(i, *c);
        }
    }
}

/// Union–find over person classes.
#[derive(Debug, Default)]
struct Classes(Vec<usize>);

impl Classes {
    fn fresh(&mut self) -> usize {
        self.0.push(self.0.len());
        self.0.len() - 1
    }
    fn find(&mut self, c: usize) -> usize {
        let mut r = c;
        while self.0[r] != r {
            r = self.0[r];
        }
        self.0[c] = r;
        r
    }
    fn union(&mut self, a: usize, b: usize) {
        let (a, b) = (self.find(a), self.find(b));
        self.0[a.max(b)] = a.min(b);
    }
}

/// For each person column of `plan`'s output (by index) that the analysis can place, a class:
/// two columns of one class hold the same person on every row. A column without a class is
/// known to equal no other.
pub(crate) fn person_classes(plan: &LogicalPlan) -> BTreeMap<usize, usize> {
    let mut classes = Classes::default();
    let b = bind(plan, &mut classes);
    b.person
        .into_iter()
        .map(|(i, c)| (i, classes.find(c)))
        .collect()
}

fn column_index(e: &Expr, schema: &DFSchema) -> Option<usize> {
    match e {
        Expr::Alias(a) => column_index(&a.expr, schema),
        Expr::Column(c) => schema.maybe_index_of_column(c),
        _ => None,
    }
}

fn function_arg<'a>(e: &'a Expr, name: &str) -> Option<&'a Expr> {
    match e {
        Expr::Alias(a) => function_arg(&a.expr, name),
        Expr::ScalarFunction(f) if f.func.name() == name => f.args.first(),
        _ => None,
    }
}

fn bind(plan: &LogicalPlan, classes: &mut Classes) -> Bindings {
    match plan {
        LogicalPlan::Projection(p) => {
            let inner = bind(&p.input, classes);
            let schema = p.input.schema();
            let mut out = Bindings::default();
            // A view's row: its pid (one argument) owns its unit keys.
            let mut row: Option<(&Expr, usize)> = None;
            let mut single = true;
            for (i, e) in p.expr.iter().enumerate() {
                if let Some(arg) = function_arg(e, PID_FN) {
                    match row {
                        Some((a, c)) if a == arg => {
                            out.person.insert(i, c);
                        }
                        Some(_) => single = false,
                        None => {
                            let c = classes.fresh();
                            row = Some((arg, c));
                            out.person.insert(i, c);
                        }
                    }
                } else if let Some(j) = column_index(e, schema) {
                    out.carry(i, &inner, j);
                }
            }
            if let (Some((_, c)), true) = (row, single) {
                for (i, e) in p.expr.iter().enumerate() {
                    if function_arg(e, UNIT_FN).is_some() {
                        out.unit_owner.insert(i, c);
                    }
                }
            }
            out
        }
        LogicalPlan::Filter(f) => bind(&f.input, classes),
        LogicalPlan::Sort(s) => bind(&s.input, classes),
        LogicalPlan::Limit(l) => bind(&l.input, classes),
        LogicalPlan::Repartition(r) => bind(&r.input, classes),
        LogicalPlan::SubqueryAlias(a) => bind(&a.input, classes),
        LogicalPlan::Window(w) => bind(&w.input, classes),
        LogicalPlan::Distinct(Distinct::All(input)) => bind(input, classes),
        // A group key that is a person or unit column keeps its class: each output row's keys
        // come from the same input rows.
        LogicalPlan::Aggregate(a) => {
            let inner = bind(&a.input, classes);
            let schema = a.input.schema();
            let mut out = Bindings::default();
            for (i, e) in a.group_expr.iter().enumerate() {
                if let Some(j) = column_index(e, schema) {
                    out.carry(i, &inner, j);
                }
            }
            out
        }
        LogicalPlan::Join(j) => {
            let left = bind(&j.left, classes);
            let right = bind(&j.right, classes);
            let offset = j.left.schema().fields().len();
            if j.join_type == JoinType::Inner {
                // Equalities as keys (`on`), or as conjuncts of the condition, which is where
                // the SQL planner leaves them before the optimizer extracts the keys.
                let mut pairs: Vec<(&Expr, &Expr)> = j.on.iter().map(|(l, r)| (l, r)).collect();
                for c in j.filter.iter().flat_map(split_conjunction) {
                    if let Expr::BinaryExpr(b) = c
                        && b.op == Operator::Eq
                    {
                        pairs.push((&b.left, &b.right));
                        pairs.push((&b.right, &b.left));
                    }
                }
                for (l, r) in pairs {
                    let (Some(l), Some(r)) = (
                        column_index(l, j.left.schema()),
                        column_index(r, j.right.schema()),
                    ) else {
                        continue;
                    };
                    if let (Some(a), Some(b)) = (left.person.get(&l), right.person.get(&r)) {
                        classes.union(*a, *b);
                    }
                    if let (Some(a), Some(b)) = (left.unit_owner.get(&l), right.unit_owner.get(&r))
                    {
                        classes.union(*a, *b);
                    }
                }
            }
            let shift =
                |m: BTreeMap<usize, usize>| m.into_iter().map(move |(i, c)| (i + offset, c));
            match j.join_type {
                JoinType::LeftSemi | JoinType::LeftAnti | JoinType::LeftMark => left,
                JoinType::RightSemi | JoinType::RightAnti | JoinType::RightMark => right,
                _ => Bindings {
                    person: left.person.into_iter().chain(shift(right.person)).collect(),
                    unit_owner: left
                        .unit_owner
                        .into_iter()
                        .chain(shift(right.unit_owner))
                        .collect(),
                },
            }
        }
        _ => Bindings::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::testing::plan;
    use crate::policy::{Ident, preserved_idents};

    /// The classes of the person columns the output aggregation of `sql` counts.
    async fn counted(sql: &str) -> Vec<usize> {
        let p = plan(sql).await;
        let a = crate::policy::output_aggregate(&p).expect("aggregate");
        let classes = person_classes(&a.input);
        preserved_idents(&a.input)
            .into_iter()
            .filter(|(_, k)| *k == Ident::Person)
            .map(|(i, _)| classes.get(&i).copied().unwrap_or(usize::MAX - i))
            .collect()
    }

    #[tokio::test]
    async fn inner_joins_on_pid_or_unit_key_count_one_person() {
        for sql in [
            "SELECT d.code, count(*) FROM diagnoses d JOIN patients p ON d.pid = p.pid GROUP BY 1",
            "SELECT a.code, count(*) FROM diagnoses a JOIN diagnoses b ON a.unit_key = b.unit_key \
             WHERE b.code = 'E11' GROUP BY 1",
            // Through a subquery grouped by unit and person, and a chain of two joins.
            "SELECT a.code, count(*) FROM diagnoses a JOIN \
             (SELECT unit_key, pid FROM diagnoses GROUP BY unit_key, pid) b \
             ON a.unit_key = b.unit_key JOIN patients p ON b.pid = p.pid GROUP BY 1",
        ] {
            let c = counted(sql).await;
            assert!(c.len() >= 2, "{sql}");
            assert!(c.iter().all(|x| *x == c[0]), "{sql}: {c:?}");
        }
    }

    #[tokio::test]
    async fn other_joins_keep_persons_apart() {
        for sql in [
            // Joined on something else than a person or a unit.
            "SELECT d.code, count(*) FROM diagnoses d JOIN patients p ON d.code = p.sex GROUP BY 1",
            // Not an equality of units: a condition the join cannot use as a key.
            "SELECT a.code, count(*) FROM diagnoses a JOIN diagnoses b \
             ON a.unit_key = b.unit_key OR a.code = b.code GROUP BY 1",
            // Two rows of one view: their persons are not known to be one.
            "SELECT a.code, count(*) FROM diagnoses a JOIN diagnoses b ON a.code = b.code \
             GROUP BY 1",
        ] {
            let c = counted(sql).await;
            assert_eq!(c.len(), 2, "{sql}");
            assert_ne!(c[0], c[1], "{sql}");
        }
    }
}
