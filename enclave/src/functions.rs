//! The enclave's own functions (pseudonyms, cell protection, contributions) and the allow-list
//! of DataFusion's functions a researcher may call.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int8Type, Int64Type};
use arrow_array::{Array, ArrayRef, BinaryArray, BooleanArray, Int8Array, Int64Array};
use arrow_schema::{DataType, Field, FieldRef};
use datafusion::arrow;
use datafusion::common::{ScalarValue, exec_err};
use datafusion::error::Result as DfResult;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDFImpl, ColumnarValue, EmitTo, Expr, GroupsAccumulator,
    ScalarFunctionArgs, ScalarUDFImpl, Signature, TypeSignature, Volatility, cast, lit,
};
use niji_pseudonymize::{IdPermutation, PermutationDomain, ProjectKey};

/// Name of the person pseudonym function (only in the catalog's private session).
pub(crate) const PID_FN: &str = "niji_pid";
/// Name of the unit (receipt, checkup, claim) pseudonym function.
pub(crate) const UNIT_FN: &str = "niji_unit";

/// Scalar functions a query may call.
pub(crate) const SCALAR_ALLOWED: &[&str] = &[
    "abs",
    "ceil",
    "floor",
    "round",
    "trunc",
    "power",
    "pow",
    "sqrt",
    "ln",
    "log",
    "log10",
    "log2",
    "exp",
    "signum",
    "coalesce",
    "nullif",
    "nvl",
    "nvl2",
    "greatest",
    "least",
    "date_part",
    "datepart",
    "date_trunc",
    "datetrunc",
    "date_bin",
    "to_char",
    "date_format",
    "to_date",
    "make_date",
    "current_date",
    "today",
    "now",
    "to_timestamp",
    "substr",
    "substring",
    "left",
    "right",
    "upper",
    "lower",
    "length",
    "char_length",
    "character_length",
    "octet_length",
    "starts_with",
    "ends_with",
    "concat",
    "concat_ws",
    "trim",
    "btrim",
    "ltrim",
    "rtrim",
    "lpad",
    "rpad",
    "replace",
    "split_part",
    "strpos",
    "instr",
    "position",
    "regexp_like",
    "regexp_match",
    "regexp_replace",
    "isnan",
    "iszero",
    "cot",
    "pi",
    "get_field",
];

/// Aggregate functions a query may call (where, is the policy's business).
pub(crate) const AGGREGATE_ALLOWED: &[&str] = &[
    "count",
    "sum",
    "avg",
    "mean",
    "stddev",
    "stddev_samp",
    "stddev_pop",
    "var",
    "var_samp",
    "var_pop",
    "var_population",
    "var_sample",
    "corr",
    "covar",
    "covar_samp",
    "covar_pop",
    "regr_slope",
    "regr_intercept",
    "regr_r2",
    "regr_count",
    "bool_and",
    "bool_or",
    "min",
    "max",
    "median",
    "approx_median",
    "approx_percentile_cont",
    "percentile_cont",
    "approx_distinct",
];

/// Window functions a query may call (only partitioned by pid; see the policy).
pub(crate) const WINDOW_ALLOWED: &[&str] = &[
    "row_number",
    "rank",
    "dense_rank",
    "percent_rank",
    "cume_dist",
    "ntile",
    "lag",
    "lead",
    "first_value",
    "last_value",
    "nth_value",
];

/// Aggregates whose outer value is one person's value: refused on the output.
pub(crate) const EXTREME: &[&str] = &[
    "min",
    "max",
    "median",
    "approx_median",
    "approx_percentile_cont",
    "percentile_cont",
];

/// Aggregates whose result is a count (rounded and noised).
pub(crate) const COUNTS: &[&str] = &["count", "regr_count", "approx_distinct"];

/// Aggregates whose cells the contribution rules check (dominance and contributors).
pub(crate) const VALUE_SUMS: &[&str] = &["sum", "avg", "mean"];

/// Which pseudonym an [`IdentityFn`] computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum IdentityKind {
    /// `pid`: the project's pseudonym of `person_id`.
    Person,
    /// `unit_key`: the project's pseudonym of a receipt, checkup, claim or bundle.
    Unit,
}

/// `niji_pid(person_id)` / `niji_unit(unit_id)`: the project's keyed pseudonyms, computed by
/// the project's [`IdPermutation`] (their values never leave the engine; the policy sees to it).
#[derive(Debug)]
pub(crate) struct IdentityFn {
    kind: IdentityKind,
    permutation: IdPermutation,
    signature: Signature,
}

impl IdentityFn {
    pub(crate) fn new(kind: IdentityKind, key: &ProjectKey) -> Self {
        let domain = match kind {
            IdentityKind::Person => PermutationDomain::Person,
            IdentityKind::Unit => PermutationDomain::Unit,
        };
        IdentityFn {
            kind,
            permutation: key.permutation(domain),
            signature: Signature::exact(vec![DataType::Int64], Volatility::Immutable),
        }
    }
}

impl PartialEq for IdentityFn {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind && self.permutation == other.permutation
    }
}
impl Eq for IdentityFn {}
impl Hash for IdentityFn {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // Equal functions hash alike; the key itself stays out of any hasher.
        self.kind.hash(state);
    }
}

impl ScalarUDFImpl for IdentityFn {
    fn name(&self) -> &str {
        match self.kind {
            IdentityKind::Person => PID_FN,
            IdentityKind::Unit => UNIT_FN,
        }
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _arg_types: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Int64)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let ids = arrays[0].as_primitive::<Int64Type>();
        Ok(ColumnarValue::Array(Arc::new(
            self.permutation.apply_array(ids),
        )))
    }
}

/// What a cell holds, which decides its protection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum CellKind {
    /// A count: sticky noise, then rounding.
    Count,
    /// A sum or mean: the contribution rules.
    ValueSum,
    /// Any other admitted aggregate (spread, correlation): the group's k only.
    Other,
}

/// Status codes of a cell, in the hidden status columns.
pub(crate) mod status {
    /// Published.
    pub(crate) const OK: i8 = 0;
    /// Two persons make more than the dominance share of the cell.
    pub(crate) const DOMINATED: i8 = 2;
    /// Fewer than k persons contribute a non-zero value.
    pub(crate) const FEW_CONTRIBUTORS: i8 = 3;
}

/// Settings shared by the protection functions of one query.
#[derive(Debug)]
pub(crate) struct Protection {
    pub(crate) k: u64,
    pub(crate) base: u64,
    pub(crate) noise: bool,
    pub(crate) dominance: f64,
    pub(crate) key: Arc<ProjectKey>,
    /// Groups withheld for resting on fewer than k persons.
    pub(crate) withheld: AtomicU64,
}

impl Protection {
    /// Sticky noise in −2..=2 for a cell: a keyed function of the set of persons behind it
    /// (its smallest and largest pid and its number of persons), so the same persons always
    /// get the same noise, whatever the SQL that reached them.
    fn noise(&self, min_pid: i64, max_pid: i64, persons: i64) -> i64 {
        const DOMAIN: u64 = 0x6e6f_6973_6520_7632; // "noise v2"
        let key = (min_pid as u64)
            ^ (max_pid as u64).rotate_left(21)
            ^ (persons as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
            ^ DOMAIN;
        self.key.pid(key).rem_euclid(5) - 2
    }

    fn round(&self, v: i64) -> i64 {
        let b = self.base as i64;
        if b <= 1 {
            v
        } else {
            ((v + b / 2).div_euclid(b)) * b
        }
    }
}

/// `niji_cell(value, contribution_status, min_pid, max_pid, persons)`: the published value of
/// one cell (after the group passed k): null when the contribution rules fail; counts noised
/// (keyed by the last three, see [`Protection::noise`]) and rounded.
#[derive(Debug)]
pub(crate) struct CellFn {
    kind: CellKind,
    protection: Arc<Protection>,
    signature: Signature,
}

impl CellFn {
    pub(crate) fn new(kind: CellKind, protection: Arc<Protection>) -> Self {
        CellFn {
            kind,
            protection,
            signature: Signature::any(5, Volatility::Immutable),
        }
    }
}

impl PartialEq for CellFn {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind && Arc::ptr_eq(&self.protection, &other.protection)
    }
}
impl Eq for CellFn {}
impl Hash for CellFn {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.kind.hash(state);
        (Arc::as_ptr(&self.protection) as usize).hash(state);
    }
}

impl ScalarUDFImpl for CellFn {
    fn name(&self) -> &str {
        "niji_cell"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, arg_types: &[DataType]) -> DfResult<DataType> {
        Ok(arg_types[0].clone())
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let (value, st) = (&arrays[0], &arrays[1]);
        let st = st.as_primitive::<Int8Type>();
        let int64 = |a: &ArrayRef| arrow::compute::cast(a, &DataType::Int64);
        let (lo, hi, n) = (int64(&arrays[2])?, int64(&arrays[3])?, int64(&arrays[4])?);
        let (lo, hi, n) = (
            lo.as_primitive::<Int64Type>(),
            hi.as_primitive::<Int64Type>(),
            n.as_primitive::<Int64Type>(),
        );
        let keep: BooleanArray = st
            .iter()
            .map(|s| Some(s.unwrap_or(0) == status::OK))
            .collect();
        let value = arrow::compute::nullif(value, &arrow::compute::not(&keep)?)?;
        if self.kind != CellKind::Count {
            return Ok(ColumnarValue::Array(value));
        }
        let p = &self.protection;
        let counts = arrow::compute::cast(&value, &DataType::Int64)?;
        let counts = counts.as_primitive::<Int64Type>();
        let out: Int64Array = counts
            .iter()
            .enumerate()
            .map(|(i, c)| {
                c.map(|c| {
                    let noisy = if p.noise {
                        let key = |a: &Int64Array| if a.is_valid(i) { a.value(i) } else { 0 };
                        (c + p.noise(key(lo), key(hi), key(n))).max(0)
                    } else {
                        c
                    };
                    p.round(noisy)
                })
            })
            .collect();
        let out = arrow::compute::cast(&out, value.data_type())?;
        Ok(ColumnarValue::Array(out))
    }
}

/// `niji_group_ok(n1, n2, …)`: whether a group rests on at least k persons (the smallest of
/// its distinct-person counts). Volatile so that the optimizer neither duplicates nor moves
/// it: each evaluation counts the groups it withholds, for the disclosure report.
#[derive(Debug)]
pub(crate) struct GroupOkFn {
    protection: Arc<Protection>,
    signature: Signature,
}

impl GroupOkFn {
    pub(crate) fn new(protection: Arc<Protection>) -> Self {
        GroupOkFn {
            protection,
            signature: Signature::variadic(vec![DataType::Int64], Volatility::Volatile),
        }
    }
}

impl PartialEq for GroupOkFn {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.protection, &other.protection)
    }
}
impl Eq for GroupOkFn {}
impl Hash for GroupOkFn {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (Arc::as_ptr(&self.protection) as usize).hash(state);
    }
}

impl ScalarUDFImpl for GroupOkFn {
    fn name(&self) -> &str {
        "niji_group_ok"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _arg_types: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Boolean)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let n = args.number_rows;
        let mut ok = vec![true; n];
        for a in &arrays {
            let a = a.as_primitive::<Int64Type>();
            for (i, v) in a.iter().enumerate() {
                if (v.unwrap_or(0) as u64) < self.protection.k {
                    ok[i] = false;
                }
            }
        }
        let withheld = ok.iter().filter(|o| !**o).count() as u64;
        self.protection
            .withheld
            .fetch_add(withheld, Ordering::Relaxed);
        Ok(ColumnarValue::Array(Arc::new(BooleanArray::from(ok))))
    }
}

/// `niji_contrib(pid, value)`: the contribution rules of a sum or mean cell, per person: the
/// status [`status::DOMINATED`] when the two largest persons' totals exceed the dominance share
/// of the cell's absolute total, [`status::FEW_CONTRIBUTORS`] when fewer than k persons
/// contribute a non-zero value (a count hidden in a sum of indicators), else [`status::OK`].
///
/// It keeps every person of the group (a row with no value counts as a zero contribution), so
/// it also knows the group's person count, `count(DISTINCT pid)`: it returns both in one
/// `Int64`, `persons * CONTRIB_BASE + status` ([`contrib_persons`], [`contrib_status`]), and
/// the group's persons need no second set of their own.
#[derive(Debug)]
pub(crate) struct ContribFn {
    k: u64,
    dominance_permille: u32,
    signature: Signature,
}

impl ContribFn {
    pub(crate) fn new(k: u64, dominance: f64) -> Self {
        ContribFn {
            k,
            dominance_permille: (dominance * 1000.0).round() as u32,
            signature: Signature::one_of(
                vec![TypeSignature::Exact(vec![
                    DataType::Int64,
                    DataType::Float64,
                ])],
                Volatility::Immutable,
            ),
        }
    }

    fn rules(&self) -> ContribRules {
        ContribRules {
            k: self.k,
            share: f64::from(self.dominance_permille) / 1000.0,
        }
    }
}

impl PartialEq for ContribFn {
    fn eq(&self, other: &Self) -> bool {
        self.k == other.k && self.dominance_permille == other.dominance_permille
    }
}
impl Eq for ContribFn {}
impl Hash for ContribFn {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.k.hash(state);
        self.dominance_permille.hash(state);
    }
}

impl AggregateUDFImpl for ContribFn {
    fn name(&self) -> &str {
        "niji_contrib"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _arg_types: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Int64)
    }
    fn accumulator(&self, _args: AccumulatorArgs) -> DfResult<Box<dyn Accumulator>> {
        Ok(Box::new(OneGroup(PerPerson::new(self.rules()))))
    }
    fn state_fields(&self, args: StateFieldsArgs) -> DfResult<Vec<FieldRef>> {
        Ok(vec![blob_field(args.name, "per_person")])
    }
    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }
    fn create_groups_accumulator(
        &self,
        _args: AccumulatorArgs,
    ) -> DfResult<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(PerPerson::new(self.rules())))
    }
}

fn blob_field(name: &str, what: &str) -> FieldRef {
    Arc::new(Field::new(
        format!("{name}[{what}]"),
        DataType::Binary,
        true,
    ))
}

/// `niji_contrib` packs a group's person count and status as `persons * CONTRIB_BASE + status`.
pub(crate) const CONTRIB_BASE: i64 = 8;

fn pack(persons: usize, status: i8) -> i64 {
    persons as i64 * CONTRIB_BASE + i64::from(status)
}

/// The person count in a `niji_contrib` result.
pub(crate) fn contrib_persons(packed: Expr) -> Expr {
    packed / lit(CONTRIB_BASE)
}

/// The status in a `niji_contrib` result.
pub(crate) fn contrib_status(packed: Expr) -> Expr {
    cast(packed % lit(CONTRIB_BASE), DataType::Int8)
}

/// A hasher for pids, which are already uniformly spread by the project's permutation.
#[derive(Default, Clone, Copy)]
struct PidHasher(u64);

impl Hasher for PidHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_i64(&mut self, v: i64) {
        self.0 = v as u64;
    }
}

/// One group's persons and each one's total.
type PidMap = HashMap<i64, f64, std::hash::BuildHasherDefault<PidHasher>>;

/// Bytes of one (pid, total) entry in a partial state.
const ENTRY: usize = 16;

/// The rules of `niji_contrib`.
#[derive(Debug, Clone, Copy)]
struct ContribRules {
    k: u64,
    share: f64,
}

impl ContribRules {
    fn status(&self, persons: &PidMap) -> i8 {
        let mut totals: Vec<f64> = persons.values().map(|v| v.abs()).collect();
        let sum: f64 = totals.iter().sum();
        if sum == 0.0 {
            return status::OK;
        }
        let nonzero = totals.iter().filter(|v| **v > 0.0).count() as u64;
        if nonzero < self.k {
            return status::FEW_CONTRIBUTORS;
        }
        totals.sort_by(|a, b| b.total_cmp(a));
        let top2: f64 = totals.iter().take(2).sum();
        if top2 > self.share * sum {
            status::DOMINATED
        } else {
            status::OK
        }
    }
}

/// Per group (by index), each person's total: the groups accumulator of `niji_contrib`, and
/// with one group its plain accumulator.
#[derive(Debug)]
struct PerPerson {
    rules: ContribRules,
    groups: Vec<PidMap>,
    entries: usize,
}

impl PerPerson {
    fn new(rules: ContribRules) -> Self {
        PerPerson {
            rules,
            groups: Vec::new(),
            entries: 0,
        }
    }

    fn grow(&mut self, total: usize) {
        if self.groups.len() < total {
            self.groups.resize_with(total, PidMap::default);
        }
    }

    fn add(&mut self, group: usize, pid: i64, x: f64) {
        let map = &mut self.groups[group];
        let before = map.len();
        *map.entry(pid).or_default() += x;
        self.entries += map.len() - before;
    }

    /// Adds rows `(pid, value)`, row `i` to group `group_of(i)`.
    fn update(
        &mut self,
        values: &[ArrayRef],
        group_of: impl Fn(usize) -> usize,
        filter: Option<&BooleanArray>,
        total: usize,
    ) {
        self.grow(total);
        let (pids, xs) = (
            values[0].as_primitive::<Int64Type>(),
            values[1].as_primitive::<Float64Type>(),
        );
        for i in 0..pids.len() {
            let kept = filter.is_none_or(|f| f.is_valid(i) && f.value(i));
            if kept && pids.is_valid(i) {
                let x = if xs.is_valid(i) { xs.value(i) } else { 0.0 };
                self.add(group_of(i), pids.value(i), x);
            }
        }
    }

    fn merge(
        &mut self,
        states: &[ArrayRef],
        group_of: impl Fn(usize) -> usize,
        total: usize,
    ) -> DfResult<()> {
        let Some(blobs) = states[0].as_any().downcast_ref::<BinaryArray>() else {
            return exec_err!("niji_contrib: unexpected state type");
        };
        self.grow(total);
        for (i, blob) in blobs.iter().enumerate() {
            for chunk in blob.unwrap_or_default().chunks_exact(ENTRY) {
                let pid = i64::from_le_bytes(chunk[..8].try_into().unwrap_or_default());
                let x = f64::from_le_bytes(chunk[8..].try_into().unwrap_or_default());
                self.add(group_of(i), pid, x);
            }
        }
        Ok(())
    }

    fn take(&mut self, emit_to: EmitTo) -> Vec<PidMap> {
        let taken = emit_to.take_needed(&mut self.groups);
        self.entries -= taken.iter().map(|m| m.len()).sum::<usize>();
        taken
    }

    fn blob(map: &PidMap) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(map.len() * ENTRY);
        for (p, x) in map {
            bytes.extend_from_slice(&p.to_le_bytes());
            bytes.extend_from_slice(&x.to_le_bytes());
        }
        bytes
    }

    fn bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.groups.capacity() * std::mem::size_of::<PidMap>()
            + self.entries * ENTRY * 2
    }
}

impl GroupsAccumulator for PerPerson {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> DfResult<()> {
        self.update(values, |i| group_indices[i], opt_filter, total_num_groups);
        Ok(())
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> DfResult<ArrayRef> {
        let rules = self.rules;
        let groups = self.take(emit_to);
        Ok(Arc::new(
            groups
                .iter()
                .map(|m| Some(pack(m.len(), rules.status(m))))
                .collect::<Int64Array>(),
        ))
    }

    fn state(&mut self, emit_to: EmitTo) -> DfResult<Vec<ArrayRef>> {
        let groups = self.take(emit_to);
        let blobs: BinaryArray = groups.iter().map(|m| Some(Self::blob(m))).collect();
        Ok(vec![Arc::new(blobs)])
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> DfResult<()> {
        self.merge(values, |i| group_indices[i], total_num_groups)
    }

    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> DfResult<Vec<ArrayRef>> {
        let (pids, xs) = (
            values[0].as_primitive::<Int64Type>(),
            values[1].as_primitive::<Float64Type>(),
        );
        let blobs: BinaryArray = (0..pids.len())
            .map(|i| {
                let kept = opt_filter.is_none_or(|f| f.is_valid(i) && f.value(i));
                let mut bytes = Vec::with_capacity(ENTRY);
                if kept && pids.is_valid(i) {
                    let x = if xs.is_valid(i) { xs.value(i) } else { 0.0 };
                    bytes.extend_from_slice(&pids.value(i).to_le_bytes());
                    bytes.extend_from_slice(&x.to_le_bytes());
                }
                Some(bytes)
            })
            .collect();
        Ok(vec![Arc::new(blobs)])
    }

    fn size(&self) -> usize {
        self.bytes()
    }
}

/// The plain accumulator (an aggregation without GROUP BY): one group.
#[derive(Debug)]
struct OneGroup(PerPerson);

impl Accumulator for OneGroup {
    fn update_batch(&mut self, values: &[ArrayRef]) -> DfResult<()> {
        self.0.update(values, |_| 0, None, 1);
        Ok(())
    }

    fn evaluate(&mut self) -> DfResult<ScalarValue> {
        let packed = self.0.groups.first().map_or(pack(0, status::OK), |m| {
            pack(m.len(), self.0.rules.status(m))
        });
        Ok(ScalarValue::Int64(Some(packed)))
    }

    fn size(&self) -> usize {
        self.0.bytes()
    }

    fn state(&mut self) -> DfResult<Vec<ScalarValue>> {
        let bytes = self
            .0
            .groups
            .first()
            .map(PerPerson::blob)
            .unwrap_or_default();
        Ok(vec![ScalarValue::Binary(Some(bytes))])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> DfResult<()> {
        self.0.merge(states, |_| 0, 1)
    }
}

/// Reads a hidden status column.
pub(crate) fn statuses(a: &dyn Array) -> Option<&Int8Array> {
    a.as_any().downcast_ref::<Int8Array>()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(pids: &[i64], xs: &[f64]) -> Vec<ArrayRef> {
        vec![
            Arc::new(Int64Array::from(pids.to_vec())),
            // NaN stands for a row with no value.
            Arc::new(arrow_array::Float64Array::from_iter(
                xs.iter().map(|x| (!x.is_nan()).then_some(*x)),
            )),
        ]
    }

    /// (persons, status) per group.
    fn statuses_of(a: ArrayRef) -> Vec<(i64, i8)> {
        a.as_primitive::<Int64Type>()
            .values()
            .iter()
            .map(|v| (v / CONTRIB_BASE, (v % CONTRIB_BASE) as i8))
            .collect()
    }

    /// Group 0: ten persons of 1.0 each (passes); group 1: one person of 100 among ten of 1
    /// (dominated); group 2: three persons (too few contributors). Fed whole, or split over two
    /// partial accumulators merged through their states, or converted row by row to states:
    /// the same statuses.
    #[test]
    fn contributions_survive_partial_states() {
        let rules = ContribRules { k: 10, share: 0.9 };
        let mut pids = Vec::new();
        let mut xs = Vec::new();
        let mut groups = Vec::new();
        for p in 0..10 {
            // A person seen twice adds up to one contributor.
            pids.extend([p, p]);
            xs.extend([0.5, 0.5]);
            groups.extend([0, 0]);
            pids.push(100 + p);
            xs.push(if p == 0 { 100.0 } else { 1.0 });
            groups.push(1);
        }
        for p in 0..3 {
            pids.push(200 + p);
            xs.push(5.0);
            groups.push(2);
        }
        // Group 1 also has a person with no value: a person all the same, not a contributor.
        pids.push(300);
        xs.push(f64::NAN);
        groups.push(1);
        let values = batch(&pids, &xs);
        let expected = vec![
            (10, status::OK),
            (11, status::DOMINATED),
            (3, status::FEW_CONTRIBUTORS),
        ];

        let mut whole = PerPerson::new(rules);
        whole.update_batch(&values, &groups, None, 3).unwrap();
        assert_eq!(statuses_of(whole.evaluate(EmitTo::All).unwrap()), expected);

        let half = pids.len() / 2;
        let mut merged = PerPerson::new(rules);
        for (lo, hi) in [(0, half), (half, pids.len())] {
            let mut part = PerPerson::new(rules);
            let slice: Vec<ArrayRef> = values.iter().map(|v| v.slice(lo, hi - lo)).collect();
            part.update_batch(&slice, &groups[lo..hi], None, 3).unwrap();
            let state = part.state(EmitTo::All).unwrap();
            merged.merge_batch(&state, &[0, 1, 2], 3).unwrap();
        }
        assert_eq!(statuses_of(merged.evaluate(EmitTo::All).unwrap()), expected);

        let mut converted = PerPerson::new(rules);
        let state = converted.convert_to_state(&values, None).unwrap();
        converted.merge_batch(&state, &groups, 3).unwrap();
        assert_eq!(
            statuses_of(converted.evaluate(EmitTo::All).unwrap()),
            expected
        );

        // A FILTER that drops the dominant person's row lets group 1 pass... with nine
        // contributors, which is too few.
        let keep: BooleanArray = pids.iter().map(|p| Some(*p != 100)).collect();
        let mut filtered = PerPerson::new(rules);
        filtered
            .update_batch(&values, &groups, Some(&keep), 3)
            .unwrap();
        assert_eq!(
            statuses_of(filtered.evaluate(EmitTo::All).unwrap())[1],
            (10, status::FEW_CONTRIBUTORS)
        );

        // Without GROUP BY: the plain accumulator over group 1's rows alone.
        let rows: Vec<usize> = (0..pids.len()).filter(|i| groups[*i] == 1).collect();
        let one = batch(
            &rows.iter().map(|i| pids[*i]).collect::<Vec<_>>(),
            &rows.iter().map(|i| xs[*i]).collect::<Vec<_>>(),
        );
        let mut single = OneGroup(PerPerson::new(rules));
        single.update_batch(&one).unwrap();
        assert_eq!(
            single.evaluate().unwrap(),
            ScalarValue::Int64(Some(11 * CONTRIB_BASE + i64::from(status::DOMINATED)))
        );
    }
}
