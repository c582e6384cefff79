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
    Accumulator, AggregateUDFImpl, ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature,
    TypeSignature, Volatility,
};
use niji_pseudonymize::ProjectKey;

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

/// `niji_pid(person_id)` / `niji_unit(unit_id)`: the project's keyed pseudonyms.
#[derive(Debug)]
pub(crate) struct IdentityFn {
    kind: IdentityKind,
    key: Arc<ProjectKey>,
    signature: Signature,
}

impl IdentityFn {
    pub(crate) fn new(kind: IdentityKind, key: Arc<ProjectKey>) -> Self {
        IdentityFn {
            kind,
            key,
            signature: Signature::exact(vec![DataType::Int64], Volatility::Immutable),
        }
    }
}

impl PartialEq for IdentityFn {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind && self.key.fingerprint() == other.key.fingerprint()
    }
}
impl Eq for IdentityFn {}
impl Hash for IdentityFn {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.kind.hash(state);
        self.key.fingerprint().hash(state);
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
        let out: ArrayRef = match self.kind {
            IdentityKind::Person => Arc::new(
                self.key
                    .pid_array(ids)
                    .map_err(|e| datafusion::error::DataFusionError::External(Box::new(e)))?,
            ),
            IdentityKind::Unit => {
                Arc::new(ids.unary::<_, Int64Type>(|v| self.key.unit_pid(v as u64)))
            }
        };
        Ok(ColumnarValue::Array(out))
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
    /// (the XOR of their pids), so the same persons always get the same noise, whatever the
    /// SQL that reached them.
    fn noise(&self, cell_key: i64) -> i64 {
        const DOMAIN: u64 = 0x6e6f_6973_6520_7631; // "noise v1"
        self.key.pid((cell_key as u64) ^ DOMAIN).rem_euclid(5) - 2
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

/// `niji_cell(value, contribution_status, cell_key)`: the published value of one cell (after the
/// group passed k): null when the contribution rules fail; counts noised and rounded.
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
            signature: Signature::any(3, Volatility::Immutable),
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
        let (value, st, key) = (&arrays[0], &arrays[1], &arrays[2]);
        let st = st.as_primitive::<Int8Type>();
        let key = key.as_primitive::<Int64Type>();
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
            .zip(key.iter())
            .map(|(c, k)| {
                c.map(|c| {
                    let noisy = if p.noise {
                        (c + p.noise(k.unwrap_or(0))).max(0)
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
        Ok(DataType::Int8)
    }
    fn accumulator(&self, _args: AccumulatorArgs) -> DfResult<Box<dyn Accumulator>> {
        Ok(Box::new(ContribAcc {
            k: self.k,
            share: f64::from(self.dominance_permille) / 1000.0,
            per_person: HashMap::new(),
        }))
    }
    fn state_fields(&self, args: StateFieldsArgs) -> DfResult<Vec<FieldRef>> {
        Ok(vec![Arc::new(Field::new(
            format!("{}[per_person]", args.name),
            DataType::Binary,
            true,
        ))])
    }
}

#[derive(Debug)]
struct ContribAcc {
    k: u64,
    share: f64,
    per_person: HashMap<i64, f64>,
}

impl Accumulator for ContribAcc {
    fn update_batch(&mut self, values: &[ArrayRef]) -> DfResult<()> {
        let pids = values[0].as_primitive::<Int64Type>();
        let xs = values[1].as_primitive::<Float64Type>();
        for (p, x) in pids.iter().zip(xs.iter()) {
            if let (Some(p), Some(x)) = (p, x) {
                *self.per_person.entry(p).or_default() += x;
            }
        }
        Ok(())
    }

    fn evaluate(&mut self) -> DfResult<ScalarValue> {
        let mut totals: Vec<f64> = self.per_person.values().map(|v| v.abs()).collect();
        let sum: f64 = totals.iter().sum();
        if sum == 0.0 {
            return Ok(ScalarValue::Int8(Some(status::OK)));
        }
        let nonzero = totals.iter().filter(|v| **v > 0.0).count() as u64;
        if nonzero < self.k {
            return Ok(ScalarValue::Int8(Some(status::FEW_CONTRIBUTORS)));
        }
        totals.sort_by(|a, b| b.total_cmp(a));
        let top2: f64 = totals.iter().take(2).sum();
        Ok(ScalarValue::Int8(Some(if top2 > self.share * sum {
            status::DOMINATED
        } else {
            status::OK
        })))
    }

    fn size(&self) -> usize {
        std::mem::size_of::<Self>() + self.per_person.capacity() * 24
    }

    fn state(&mut self) -> DfResult<Vec<ScalarValue>> {
        let mut bytes = Vec::with_capacity(self.per_person.len() * 16);
        for (p, x) in &self.per_person {
            bytes.extend_from_slice(&p.to_le_bytes());
            bytes.extend_from_slice(&x.to_le_bytes());
        }
        Ok(vec![ScalarValue::Binary(Some(bytes))])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> DfResult<()> {
        for blob in state_blobs(states, "niji_contrib")? {
            for chunk in blob.chunks_exact(16) {
                let p = i64::from_le_bytes(chunk[..8].try_into().unwrap_or_default());
                let x = f64::from_le_bytes(chunk[8..].try_into().unwrap_or_default());
                *self.per_person.entry(p).or_default() += x;
            }
        }
        Ok(())
    }
}

/// `niji_cell_key(pid)`: the XOR of the distinct pids of a cell, a function of the set of
/// persons only (the seed of sticky noise).
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct CellKeyFn {
    signature: Signature,
}

impl CellKeyFn {
    pub(crate) fn new() -> Self {
        CellKeyFn {
            signature: Signature::exact(vec![DataType::Int64], Volatility::Immutable),
        }
    }
}

impl AggregateUDFImpl for CellKeyFn {
    fn name(&self) -> &str {
        "niji_cell_key"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _arg_types: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Int64)
    }
    fn accumulator(&self, _args: AccumulatorArgs) -> DfResult<Box<dyn Accumulator>> {
        Ok(Box::new(CellKeyAcc::default()))
    }
    fn state_fields(&self, args: StateFieldsArgs) -> DfResult<Vec<FieldRef>> {
        Ok(vec![Arc::new(Field::new(
            format!("{}[persons]", args.name),
            DataType::Binary,
            true,
        ))])
    }
}

#[derive(Debug, Default)]
struct CellKeyAcc {
    persons: std::collections::HashSet<i64>,
}

impl Accumulator for CellKeyAcc {
    fn update_batch(&mut self, values: &[ArrayRef]) -> DfResult<()> {
        self.persons
            .extend(values[0].as_primitive::<Int64Type>().iter().flatten());
        Ok(())
    }

    fn evaluate(&mut self) -> DfResult<ScalarValue> {
        Ok(ScalarValue::Int64(Some(
            self.persons.iter().fold(0i64, |acc, p| acc ^ p),
        )))
    }

    fn size(&self) -> usize {
        std::mem::size_of::<Self>() + self.persons.capacity() * 8
    }

    fn state(&mut self) -> DfResult<Vec<ScalarValue>> {
        let bytes: Vec<u8> = self.persons.iter().flat_map(|p| p.to_le_bytes()).collect();
        Ok(vec![ScalarValue::Binary(Some(bytes))])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> DfResult<()> {
        for blob in state_blobs(states, "niji_cell_key")? {
            for chunk in blob.chunks_exact(8) {
                self.persons
                    .insert(i64::from_le_bytes(chunk.try_into().unwrap_or_default()));
            }
        }
        Ok(())
    }
}

/// The binary partial states of one of the enclave's aggregates.
fn state_blobs<'a>(
    states: &'a [ArrayRef],
    name: &str,
) -> DfResult<impl Iterator<Item = &'a [u8]> + 'a> {
    let Some(blobs) = states[0].as_any().downcast_ref::<BinaryArray>() else {
        return exec_err!("{name}: unexpected state type");
    };
    Ok(blobs.iter().flatten())
}

/// Reads a hidden status column.
pub(crate) fn statuses(a: &dyn Array) -> Option<&Int8Array> {
    a.as_any().downcast_ref::<Int8Array>()
}
