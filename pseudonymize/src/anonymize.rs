//! Generalisation for anonymized extracts (匿名化情報) and the k-anonymity check.
//!
//! The transforms follow the examples the law's guidance gives: birth date to year-month, ages
//! in bands with a top code (`90以上`), measurements in bands with top and bottom codes (weight
//! in 5 kg bands, systolic pressure `201以上`), and categories seen fewer than k times folded into
//! `その他`. [`check_k_anonymity`] then reports every combination of quasi-identifiers shared by
//! fewer than k rows, so nothing leaves until each is generalised further or suppressed.
//!
//! Labels: an age band is written `40-44` (both ends included) and the top band `90以上`; a
//! numeric band is written `60以上65未満` (the interval [60, 65)), the top code `201以上` and the
//! bottom code `300未満`.

use std::collections::HashMap;

use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, Int64Type};
use arrow_array::{Array, RecordBatch, StringArray};
use arrow_schema::DataType;
use chrono::{Datelike, NaiveDate};

use crate::error::{Error, Result};

/// The label rare categories are folded into.
pub const OTHER: &str = "その他";

/// A birth date in any form [`crate::normalize`] accepts, as `YYYY-MM`.
///
/// ```
/// assert_eq!(niji_pseudonymize::anonymize::birth_year_month("3550405").unwrap(), "1980-04");
/// ```
pub fn birth_year_month(raw: &str) -> Result<String> {
    Ok(year_month(crate::normalize::parse_birth_date(raw)?))
}

/// `date` as `YYYY-MM`.
pub fn year_month(date: NaiveDate) -> String {
    format!("{:04}-{:02}", date.year(), date.month())
}

/// Age in whole years on `on` of a person born on `birth` (a 29 February birthday falls on
/// 1 March in other years). An `on` before `birth` is an error.
pub fn age_on(birth: NaiveDate, on: NaiveDate) -> Result<u32> {
    if on < birth {
        return Err(Error::InvalidValue {
            what: "age (date before birth)",
        });
    }
    let mut age = on.year() - birth.year();
    if (on.month(), on.day()) < (birth.month(), birth.day()) {
        age -= 1;
    }
    Ok(age as u32)
}

/// Age bands of a fixed width from 0, with every age from `top` on in one band.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AgeBands {
    width: u32,
    top: u32,
}

impl AgeBands {
    /// Bands `0-4`, `5-9`, … for width 5, and `{top}以上` from `top`.
    pub fn new(width: u32, top: u32) -> Result<Self> {
        if width == 0 || top == 0 {
            return Err(Error::InvalidParameter {
                what: "age band width and top code must be positive",
            });
        }
        Ok(AgeBands { width, top })
    }

    /// The band of `age`.
    pub fn label(&self, age: u32) -> String {
        if age >= self.top {
            return format!("{}以上", self.top);
        }
        let lo = age / self.width * self.width;
        let hi = (lo + self.width - 1).min(self.top - 1);
        if lo == hi {
            lo.to_string()
        } else {
            format!("{lo}-{hi}")
        }
    }
}

/// Numeric bands of a fixed width, with optional bottom and top codes.
///
/// ```
/// use niji_pseudonymize::anonymize::NumericBands;
/// let weight = NumericBands::new(5.0).unwrap().bottom_coded(30.0).top_coded(120.0);
/// assert_eq!(weight.label(63.2).unwrap(), "60以上65未満");
/// assert_eq!(weight.label(28.0).unwrap(), "30未満");
/// let systolic = NumericBands::new(10.0).unwrap().origin(1.0).top_coded(201.0);
/// assert_eq!(systolic.label(215.0).unwrap(), "201以上");
/// assert_eq!(systolic.label(135.0).unwrap(), "131以上141未満");
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NumericBands {
    width: f64,
    origin: f64,
    bottom: Option<f64>,
    top: Option<f64>,
}

impl NumericBands {
    /// Bands `[origin + i·width, origin + (i+1)·width)`, origin 0.
    pub fn new(width: f64) -> Result<Self> {
        if !(width.is_finite() && width > 0.0) {
            return Err(Error::InvalidParameter {
                what: "band width must be a positive number",
            });
        }
        Ok(NumericBands {
            width,
            origin: 0.0,
            bottom: None,
            top: None,
        })
    }

    /// Moves the band edges to start at `origin` (e.g. 1 for bands 1–10, 11–20 …).
    pub fn origin(mut self, origin: f64) -> Self {
        self.origin = origin;
        self
    }

    /// Values below `below` get the one label `{below}未満`.
    pub fn bottom_coded(mut self, below: f64) -> Self {
        self.bottom = Some(below);
        self
    }

    /// Values at or above `at` get the one label `{at}以上`.
    pub fn top_coded(mut self, at: f64) -> Self {
        self.top = Some(at);
        self
    }

    /// The band of `x`; NaN and infinities are errors.
    pub fn label(&self, x: f64) -> Result<String> {
        if !x.is_finite() {
            return Err(Error::InvalidValue {
                what: "numeric band (not a finite number)",
            });
        }
        if let Some(top) = self.top
            && x >= top
        {
            return Ok(format!("{}以上", num(top)));
        }
        if let Some(bottom) = self.bottom
            && x < bottom
        {
            return Ok(format!("{}未満", num(bottom)));
        }
        let i = ((x - self.origin) / self.width).floor();
        let mut lo = self.origin + i * self.width;
        let mut hi = lo + self.width;
        // The bands next to the codes end at the codes.
        if let Some(bottom) = self.bottom {
            lo = lo.max(bottom);
        }
        if let Some(top) = self.top {
            hi = hi.min(top);
        }
        Ok(format!("{}以上{}未満", num(lo), num(hi)))
    }
}

/// A band edge, without float noise (`0.30000000000000004` → `0.3`) or a trailing `.0`.
fn num(x: f64) -> String {
    let s = format!("{:.6}", x);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.into() }
}

/// `values` with every value seen fewer than `k` times replaced by [`OTHER`].
pub fn fold_rare<S: AsRef<str>>(values: &[S], k: usize) -> Vec<&str> {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for v in values {
        *counts.entry(v.as_ref()).or_default() += 1;
    }
    values
        .iter()
        .map(|v| {
            if counts[v.as_ref()] < k {
                OTHER
            } else {
                v.as_ref()
            }
        })
        .collect()
}

/// As [`fold_rare`], over an Arrow string column; nulls stay null and are not counted.
pub fn fold_rare_array(values: &StringArray, k: usize) -> StringArray {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for v in values.iter().flatten() {
        *counts.entry(v).or_default() += 1;
    }
    values
        .iter()
        .map(|v| v.map(|v| if counts[v] < k { OTHER } else { v }))
        .collect()
}

/// One combination of quasi-identifier values and how many rows share it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EquivalenceClass {
    /// The values, in the order of the quasi-identifiers (`None` for a null).
    pub values: Vec<Option<String>>,
    /// How many rows have them.
    pub size: usize,
}

/// The outcome of a k-anonymity check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KAnonymityReport {
    /// The k checked.
    pub k: usize,
    /// Rows checked.
    pub rows: usize,
    /// Distinct equivalence classes.
    pub classes: usize,
    /// The classes smaller than k, smallest first (then by values).
    pub violations: Vec<EquivalenceClass>,
}

impl KAnonymityReport {
    /// Whether every class has at least k rows.
    pub fn is_k_anonymous(&self) -> bool {
        self.violations.is_empty()
    }

    /// How many rows lie in classes smaller than k (the rows to suppress if nothing else is
    /// generalised).
    pub fn rows_at_risk(&self) -> usize {
        self.violations.iter().map(|c| c.size).sum()
    }
}

/// Checks that every combination of quasi-identifier values occurs in at least `k` rows. Each
/// row holds the quasi-identifier values of one record, in one fixed order.
///
/// ```
/// use niji_pseudonymize::anonymize::check_k_anonymity;
/// let rows = [["40-44", "F"], ["40-44", "F"], ["45-49", "M"]];
/// let report = check_k_anonymity(&rows, 2).unwrap();
/// assert!(!report.is_k_anonymous());
/// assert_eq!(report.violations[0].values, [Some("45-49".to_string()), Some("M".to_string())]);
/// assert_eq!(report.violations[0].size, 1);
/// ```
pub fn check_k_anonymity<R, S>(
    rows: impl IntoIterator<Item = R>,
    k: usize,
) -> Result<KAnonymityReport>
where
    R: AsRef<[S]>,
    S: AsRef<str>,
{
    let mut width = None;
    let mut classes: HashMap<Vec<Option<String>>, usize> = HashMap::new();
    let mut n = 0;
    for row in rows {
        let row = row.as_ref();
        if *width.get_or_insert(row.len()) != row.len() {
            return Err(Error::InvalidParameter {
                what: "every row must have the same quasi-identifiers",
            });
        }
        let key = row.iter().map(|v| Some(v.as_ref().to_owned())).collect();
        *classes.entry(key).or_default() += 1;
        n += 1;
    }
    report(classes, n, k)
}

/// Checks k-anonymity over the named columns of `batch` (string or integer columns).
pub fn check_k_anonymity_batch(
    batch: &RecordBatch,
    quasi_identifiers: &[&str],
    k: usize,
) -> Result<KAnonymityReport> {
    let columns = quasi_identifiers
        .iter()
        .map(|name| {
            let col = batch
                .column_by_name(name)
                .ok_or_else(|| Error::UnknownColumn {
                    column: (*name).into(),
                })?;
            match col.data_type() {
                DataType::Utf8
                | DataType::LargeUtf8
                | DataType::Utf8View
                | DataType::Int32
                | DataType::Int64 => Ok(col.as_ref()),
                _ => Err(Error::ColumnType {
                    column: (*name).into(),
                    expected: "a string or integer column",
                }),
            }
        })
        .collect::<Result<Vec<&dyn Array>>>()?;
    let mut classes: HashMap<Vec<Option<String>>, usize> = HashMap::new();
    for row in 0..batch.num_rows() {
        let key = columns.iter().map(|c| cell(*c, row)).collect();
        *classes.entry(key).or_default() += 1;
    }
    report(classes, batch.num_rows(), k)
}

fn cell(col: &dyn Array, row: usize) -> Option<String> {
    if col.is_null(row) {
        return None;
    }
    Some(match col.data_type() {
        DataType::Utf8 => col.as_string::<i32>().value(row).to_owned(),
        DataType::LargeUtf8 => col.as_string::<i64>().value(row).to_owned(),
        DataType::Utf8View => col.as_string_view().value(row).to_owned(),
        DataType::Int32 => col.as_primitive::<Int32Type>().value(row).to_string(),
        _ => col.as_primitive::<Int64Type>().value(row).to_string(),
    })
}

fn report(
    classes: HashMap<Vec<Option<String>>, usize>,
    rows: usize,
    k: usize,
) -> Result<KAnonymityReport> {
    if k == 0 {
        return Err(Error::InvalidParameter {
            what: "k must be at least 1",
        });
    }
    let count = classes.len();
    let mut violations: Vec<_> = classes
        .into_iter()
        .filter(|(_, size)| *size < k)
        .map(|(values, size)| EquivalenceClass { values, size })
        .collect();
    violations.sort_by(|a, b| a.size.cmp(&b.size).then_with(|| a.values.cmp(&b.values)));
    Ok(KAnonymityReport {
        k,
        rows,
        classes: count,
        violations,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::Int64Array;
    use std::sync::Arc;

    fn d(y: i32, m: u32, dd: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, dd).unwrap()
    }

    #[test]
    fn year_months_and_ages() {
        assert_eq!(birth_year_month("1980-04-05").unwrap(), "1980-04");
        assert_eq!(birth_year_month("平成元年1月8日").unwrap(), "1989-01");
        assert!(birth_year_month("19800230").is_err());
        assert_eq!(age_on(d(1980, 4, 5), d(2025, 4, 4)).unwrap(), 44);
        assert_eq!(age_on(d(1980, 4, 5), d(2025, 4, 5)).unwrap(), 45);
        assert_eq!(age_on(d(2000, 2, 29), d(2025, 2, 28)).unwrap(), 24);
        assert_eq!(age_on(d(2000, 2, 29), d(2025, 3, 1)).unwrap(), 25);
        assert!(age_on(d(2000, 1, 1), d(1999, 1, 1)).is_err());
    }

    #[test]
    fn age_bands() {
        let b = AgeBands::new(5, 90).unwrap();
        assert_eq!(b.label(0), "0-4");
        assert_eq!(b.label(44), "40-44");
        assert_eq!(b.label(89), "85-89");
        assert_eq!(b.label(90), "90以上");
        assert_eq!(b.label(104), "90以上");
        let odd = AgeBands::new(10, 75).unwrap();
        assert_eq!(odd.label(72), "70-74");
        assert_eq!(AgeBands::new(1, 3).unwrap().label(2), "2");
        assert!(AgeBands::new(0, 90).is_err());
    }

    #[test]
    fn numeric_bands() {
        let w = NumericBands::new(5.0).unwrap();
        assert_eq!(w.label(60.0).unwrap(), "60以上65未満");
        assert_eq!(w.label(64.99).unwrap(), "60以上65未満");
        assert_eq!(w.label(-2.0).unwrap(), "-5以上0未満");
        let bw = NumericBands::new(100.0)
            .unwrap()
            .bottom_coded(300.0)
            .top_coded(4000.0);
        assert_eq!(bw.label(250.0).unwrap(), "300未満");
        assert_eq!(bw.label(4000.0).unwrap(), "4000以上");
        assert_eq!(bw.label(3999.9).unwrap(), "3900以上4000未満");
        let tenth = NumericBands::new(0.1).unwrap();
        assert_eq!(tenth.label(0.35).unwrap(), "0.3以上0.4未満");
        assert!(w.label(f64::NAN).is_err());
        assert!(NumericBands::new(0.0).is_err());
        let cut = NumericBands::new(10.0).unwrap().top_coded(95.0);
        assert_eq!(cut.label(92.0).unwrap(), "90以上95未満");
    }

    #[test]
    fn rare_categories() {
        let v = ["I10", "I10", "E11", "E11", "C71", "I10"];
        assert_eq!(fold_rare(&v, 2), ["I10", "I10", "E11", "E11", OTHER, "I10"]);
        assert_eq!(fold_rare(&v, 3), ["I10", "I10", OTHER, OTHER, OTHER, "I10"]);
        let a = StringArray::from(vec![Some("a"), None, Some("b"), Some("a")]);
        let out = fold_rare_array(&a, 2);
        assert_eq!(out.value(0), "a");
        assert!(out.is_null(1));
        assert_eq!(out.value(2), OTHER);
    }

    #[test]
    fn k_anonymity_over_rows_and_batches() {
        let rows = vec![
            vec!["40-44", "F", "13"],
            vec!["40-44", "F", "13"],
            vec!["40-44", "F", "13"],
            vec!["45-49", "M", "13"],
            vec!["45-49", "M", "13"],
            vec!["90以上", "F", "47"],
        ];
        let r = check_k_anonymity(&rows, 3).unwrap();
        assert_eq!((r.rows, r.classes), (6, 3));
        assert_eq!(r.violations.len(), 2);
        assert_eq!(r.violations[0].size, 1);
        assert_eq!(r.violations[1].size, 2);
        assert_eq!(r.rows_at_risk(), 3);
        assert!(check_k_anonymity(&rows, 1).unwrap().is_k_anonymous());
        assert!(check_k_anonymity(&rows, 0).is_err());
        assert!(check_k_anonymity([vec!["a"], vec!["a", "b"]], 2).is_err());

        let batch = RecordBatch::try_from_iter([
            (
                "age",
                Arc::new(StringArray::from(vec![Some("40-44"), Some("40-44"), None])) as _,
            ),
            ("pref", Arc::new(Int64Array::from(vec![13, 13, 13])) as _),
        ])
        .unwrap();
        let r = check_k_anonymity_batch(&batch, &["age", "pref"], 2).unwrap();
        assert_eq!(
            r.violations,
            [EquivalenceClass {
                values: vec![None, Some("13".into())],
                size: 1
            }]
        );
        assert!(matches!(
            check_k_anonymity_batch(&batch, &["sex"], 2),
            Err(Error::UnknownColumn { .. })
        ));
    }
}
