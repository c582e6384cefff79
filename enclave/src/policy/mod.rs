//! The disclosure policy on the logical plan: analyzer rules that admit only aggregates over
//! person-level data, and the rewrite that protects every output cell.
//!
//! Rules run in this order, each on the plan the previous one returned:
//! 1. [`RefuseNodes`]: no statement, DDL, DML, COPY, EXPLAIN, UNION, recursion or unnest.
//! 2. [`PidUsage`]: `pid` (and `unit_key`) may be selected as is, joined on, counted, tested for
//!    NULL and used in `IN (subquery)`; never compared with a value or put in an expression.
//! 3. [`AggregateOutput`]: the output is one aggregation with only projections, filters,
//!    sorts and limits above it; no identifier group key on the output; no extreme-value or
//!    value-collecting aggregate on the output; aggregates and windows inside are per person.
//! 4. [`ProtectCells`]: carries every person's `pid` up to the output aggregation and adds the
//!    hidden person counts, cell keys and contribution checks, then withholds groups under k and
//!    protects each cell.

mod aggregate_output;
mod pid_usage;
mod protect_cells;
mod refuse_nodes;
mod same_person;

use std::collections::BTreeMap;

use datafusion::common::tree_node::TreeNode;
use datafusion::common::{Column, DFSchema};
use datafusion::logical_expr::{Distinct, Expr, JoinType, LogicalPlan};

pub use aggregate_output::AggregateOutput;
pub(crate) use aggregate_output::{aggregate_name, output_aggregate};
pub use pid_usage::PidUsage;
pub(crate) use protect_cells::HIDDEN as HIDDEN_PREFIX;
pub use protect_cells::ProtectCells;
pub use refuse_nodes::RefuseNodes;

use crate::functions::{PID_FN, UNIT_FN};

/// Which identifier an output column carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ident {
    /// A person's pseudonym: counted for k.
    Person,
    /// A receipt's, checkup's or claim's pseudonym: joined on, never counted for k.
    Unit,
}

/// Identifier columns of a plan's output, by index in its schema.
pub(crate) type Idents = BTreeMap<usize, Ident>;

/// The identifier a (possibly aliased) expression is, when it is one as it stands: the
/// pseudonym function itself, or a bare reference to an identifier column of `schema`.
pub(crate) fn ident_of(e: &Expr, schema: &DFSchema, ids: &Idents) -> Option<Ident> {
    match e {
        Expr::Alias(a) => ident_of(&a.expr, schema, ids),
        Expr::ScalarFunction(f) if f.func.name() == PID_FN => Some(Ident::Person),
        Expr::ScalarFunction(f) if f.func.name() == UNIT_FN => Some(Ident::Unit),
        Expr::Column(c) => column_ident(c, schema, ids),
        _ => None,
    }
}

fn column_ident(c: &Column, schema: &DFSchema, ids: &Idents) -> Option<Ident> {
    schema
        .maybe_index_of_column(c)
        .and_then(|i| ids.get(&i).copied())
}

/// Whether `e` refers to an identifier anywhere inside (not looking into subquery plans).
pub(crate) fn mentions_ident(e: &Expr, schema: &DFSchema, ids: &Idents, outer: Outer<'_>) -> bool {
    let mut found = false;
    let _ = e.apply(|x| {
        // `pid IS NULL` says whether a row has a person (after an outer join), not who: it is
        // admitted anywhere (`CASE WHEN d.pid IS NULL THEN 0 ELSE 1 END`).
        if let Expr::IsNull(inner) | Expr::IsNotNull(inner) = x
            && ident_of(inner, schema, ids).is_some()
        {
            return Ok(datafusion::common::tree_node::TreeNodeRecursion::Jump);
        }
        match x {
            Expr::Column(c) if column_ident(c, schema, ids).is_some() => found = true,
            Expr::OuterReferenceColumn(_, c)
                if outer.is_some_and(|(s, o)| column_ident(c, s, o).is_some()) =>
            {
                found = true
            }
            Expr::ScalarFunction(f) if f.func.name() == PID_FN || f.func.name() == UNIT_FN => {
                found = true
            }
            _ => {}
        }
        Ok(if found {
            datafusion::common::tree_node::TreeNodeRecursion::Stop
        } else {
            datafusion::common::tree_node::TreeNodeRecursion::Continue
        })
    });
    found
}

/// The schema and identifiers of the plan a correlated subquery refers to.
pub(crate) type Outer<'a> = Option<(&'a DFSchema, &'a Idents)>;

/// The identifier columns of `plan`'s output, computed bottom-up.
pub(crate) fn idents(plan: &LogicalPlan) -> Idents {
    idents_with(plan, false)
}

/// The identifier columns that every output row has: as [`idents`], but an outer join keeps
/// only its preserved side's (the other side's are null where nothing matched, so they cannot
/// count the persons behind a row).
pub(crate) fn preserved_idents(plan: &LogicalPlan) -> Idents {
    idents_with(plan, true)
}

fn idents_with(plan: &LogicalPlan, preserved: bool) -> Idents {
    let idents = |p: &LogicalPlan| idents_with(p, preserved);
    match plan {
        LogicalPlan::Projection(p) => {
            let ids = idents(&p.input);
            let schema = p.input.schema();
            p.expr
                .iter()
                .enumerate()
                .filter_map(|(i, e)| ident_of(e, schema, &ids).map(|k| (i, k)))
                .collect()
        }
        LogicalPlan::Filter(f) => idents(&f.input),
        LogicalPlan::Sort(s) => idents(&s.input),
        LogicalPlan::Limit(l) => idents(&l.input),
        LogicalPlan::Repartition(r) => idents(&r.input),
        LogicalPlan::SubqueryAlias(a) => idents(&a.input),
        LogicalPlan::Window(w) => idents(&w.input),
        LogicalPlan::Distinct(Distinct::All(input)) => idents(input),
        LogicalPlan::Aggregate(a) => {
            let ids = idents(&a.input);
            let schema = a.input.schema();
            a.group_expr
                .iter()
                .enumerate()
                .filter_map(|(i, e)| match e {
                    Expr::Column(_) | Expr::Alias(_) => ident_of(e, schema, &ids).map(|k| (i, k)),
                    _ => None,
                })
                .collect()
        }
        LogicalPlan::Join(j) => {
            let left = idents(&j.left);
            let right = idents(&j.right);
            let offset = j.left.schema().fields().len();
            match j.join_type {
                JoinType::LeftSemi | JoinType::LeftAnti | JoinType::LeftMark => left,
                JoinType::RightSemi | JoinType::RightAnti | JoinType::RightMark => right,
                JoinType::Left if preserved => left,
                JoinType::Right if preserved => {
                    right.into_iter().map(|(i, k)| (i + offset, k)).collect()
                }
                _ => left
                    .into_iter()
                    .chain(right.into_iter().map(|(i, k)| (i + offset, k)))
                    .collect(),
            }
        }
        _ => Idents::new(),
    }
}

/// A short name of a plan node for messages.
pub(crate) fn node_name(plan: &LogicalPlan) -> String {
    let s = plan.display().to_string();
    s.split(':').next().unwrap_or(&s).trim().to_string()
}

#[cfg(test)]
pub(crate) mod testing {
    //! A session with two small person-level tables for the rules' unit tests.
    use std::sync::Arc;

    use arrow_schema::{DataType, Field, Schema};
    use datafusion::catalog::view::ViewTable;
    use datafusion::datasource::empty::EmptyTable;
    use datafusion::logical_expr::{LogicalPlan, ScalarUDF};
    use datafusion::prelude::SessionContext;
    use niji_pseudonymize::ProjectKey;

    use crate::functions::{IdentityFn, IdentityKind};

    /// A researcher's session with views `patients(pid, sex, birth_month, points)` and
    /// `diagnoses(pid, unit_key, code)` over empty tables.
    pub(crate) async fn session() -> SessionContext {
        let key = Arc::new(ProjectKey::generate("t").expect("key"));
        let private = SessionContext::new();
        private.register_udf(ScalarUDF::from(IdentityFn::new(IdentityKind::Person, &key)));
        private.register_udf(ScalarUDF::from(IdentityFn::new(IdentityKind::Unit, &key)));
        let raw_p = Schema::new(vec![
            Field::new("person_id", DataType::Int64, false),
            Field::new("sex", DataType::Utf8, true),
            Field::new("birth_month", DataType::Date32, true),
            Field::new("points", DataType::Int64, true),
        ]);
        let raw_d = Schema::new(vec![
            Field::new("person_id", DataType::Int64, false),
            Field::new("unit_id", DataType::Int64, false),
            Field::new("code", DataType::Utf8, true),
        ]);
        private
            .register_table("raw_p", Arc::new(EmptyTable::new(Arc::new(raw_p))))
            .expect("register");
        private
            .register_table("raw_d", Arc::new(EmptyTable::new(Arc::new(raw_d))))
            .expect("register");
        let outer =
            crate::session::restricted_session(&crate::spec::Limits::default()).expect("session");
        for (name, sql) in [
            (
                "patients",
                "SELECT niji_pid(person_id) AS pid, sex, birth_month, points FROM raw_p",
            ),
            (
                "diagnoses",
                "SELECT niji_pid(person_id) AS pid, niji_unit(unit_id) AS unit_key, code FROM raw_d",
            ),
        ] {
            let plan = private
                .sql(sql)
                .await
                .expect("view")
                .into_unoptimized_plan();
            outer
                .register_table(name, Arc::new(ViewTable::new(plan, None)))
                .expect("register view");
        }
        outer
    }

    /// The analyzed (type-coerced) plan of `sql`, before the policy.
    pub(crate) async fn plan(sql: &str) -> LogicalPlan {
        let ctx = session().await;
        let plan = ctx.state().create_logical_plan(sql).await.expect("plan");
        ctx.state()
            .analyzer()
            .execute_and_check(plan, ctx.state().config_options(), |_, _| {})
            .expect("analyze")
    }

    /// The refusal message of a rule, or "admitted".
    pub(crate) fn verdict(r: datafusion::error::Result<LogicalPlan>) -> String {
        match r {
            Ok(_) => "admitted".to_string(),
            Err(e) => match crate::Error::from_planning(e) {
                crate::Error::Refused { reason, .. } => reason,
                other => format!("error: {other}"),
            },
        }
    }
}
