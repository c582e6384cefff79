//! A lake with two tables whose every row is known, so the tests can compute true answers.
//!
//! - `receipts`: persons 1..=200, three receipts each (2024-04..06); sex "1" for odd ids, "2"
//!   for even; birth 1950-01-15 plus (id mod 40) years; points 100 + id mod 50, except one
//!   receipt of person 7 worth 10,000,000 points (a dominant contributor).
//! - `diagnoses`: E11 for persons 1..=60, I10 for 40..=120, the rare X99 for persons 1..=3.

use std::sync::Arc;

use arrow_array::{Date32Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use niji_enclave::{Enclave, ProjectSpec};
use niji_lake::{CommitInfo, TableWriter, ZoneRoot};
use niji_pseudonymize::ProjectKey;

pub(crate) const PERSONS: i64 = 200;
pub(crate) const MONTHS: [&str; 3] = ["2024-04", "2024-05", "2024-06"];
pub(crate) const DOMINANT: i64 = 7;

pub(crate) struct Lake {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) root: ZoneRoot,
}

pub(crate) fn points(person: i64, month: usize) -> i64 {
    if person == DOMINANT && month == 0 {
        10_000_000
    } else {
        100 + person % 50
    }
}

pub(crate) fn diagnoses() -> Vec<(i64, &'static str)> {
    let mut out = Vec::new();
    for p in 1..=60 {
        out.push((p, "E11"));
    }
    for p in 40..=120 {
        out.push((p, "I10"));
    }
    for p in 1..=3 {
        out.push((p, "X99"));
    }
    out
}

fn birth_days(person: i64) -> i32 {
    let d = chrono::NaiveDate::from_ymd_opt(1950 + (person % 40) as i32, 1, 15).expect("date");
    (d - chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")).num_days() as i32
}

pub(crate) async fn lake() -> Lake {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = ZoneRoot::parse(&dir.path().join("lake").display().to_string()).expect("root");
    let info = CommitInfo::new("fixture", "test lake");

    let schema = Arc::new(Schema::new(vec![
        Field::new("person_id", DataType::Int64, false),
        Field::new("unit_id", DataType::Int64, false),
        Field::new("source", DataType::Utf8, false),
        Field::new("service_month", DataType::Utf8, false),
        Field::new("sex", DataType::Utf8, true),
        Field::new("birth_date", DataType::Date32, true),
        Field::new("points", DataType::Int64, true),
    ]));
    let (mut pid, mut unit, mut month, mut sex, mut birth, mut pts) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    for p in 1..=PERSONS {
        for (m, name) in MONTHS.iter().enumerate() {
            pid.push(p);
            unit.push(p * 10 + m as i64);
            month.push(*name);
            sex.push(if p % 2 == 1 { "1" } else { "2" });
            birth.push(birth_days(p));
            pts.push(points(p, m));
        }
    }
    let n = pid.len();
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(Int64Array::from(pid)),
            Arc::new(Int64Array::from(unit)),
            Arc::new(StringArray::from(vec!["ndb-med"; n])),
            Arc::new(StringArray::from(month)),
            Arc::new(StringArray::from(sex)),
            Arc::new(Date32Array::from(birth)),
            Arc::new(Int64Array::from(pts)),
        ],
    )
    .expect("batch");
    let mut w = TableWriter::open(
        &root.table("receipts").expect("uri"),
        schema,
        &["source", "service_month"],
    )
    .await
    .expect("writer");
    w.write(batch).await.expect("write");
    w.prepare()
        .await
        .expect("prepare")
        .commit(&info)
        .await
        .expect("commit");

    let schema = Arc::new(Schema::new(vec![
        Field::new("person_id", DataType::Int64, false),
        Field::new("unit_id", DataType::Int64, false),
        Field::new("source", DataType::Utf8, false),
        Field::new("service_month", DataType::Utf8, false),
        Field::new("code", DataType::Utf8, true),
        Field::new("uncoded_name", DataType::Utf8, true),
    ]));
    let d = diagnoses();
    let n = d.len();
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(Int64Array::from_iter_values(d.iter().map(|(p, _)| *p))),
            Arc::new(Int64Array::from_iter_values(d.iter().map(|(p, _)| p * 10))),
            Arc::new(StringArray::from(vec!["ndb-med"; n])),
            Arc::new(StringArray::from(vec!["2024-04"; n])),
            Arc::new(StringArray::from_iter_values(d.iter().map(|(_, c)| *c))),
            Arc::new(StringArray::from(vec!["山田 太郎の記載"; n])),
        ],
    )
    .expect("batch");
    let mut w = TableWriter::open(
        &root.table("diagnoses").expect("uri"),
        schema,
        &["source", "service_month"],
    )
    .await
    .expect("writer");
    w.write(batch).await.expect("write");
    w.prepare()
        .await
        .expect("prepare")
        .commit(&info)
        .await
        .expect("commit");
    Lake { dir, root }
}

/// The default project over both tables.
pub(crate) fn spec() -> ProjectSpec {
    ProjectSpec::new("p-test", &["receipts", "diagnoses"])
}

/// A project with exact answers (no noise, no rounding) for correctness tests.
pub(crate) fn exact_spec() -> ProjectSpec {
    let mut s = spec();
    s.disclosure.noise = false;
    s.disclosure.rounding_base = 1;
    s
}

pub(crate) async fn enclave(lake: &Lake, spec: ProjectSpec) -> Enclave {
    Enclave::open(
        &lake.root,
        spec,
        ProjectKey::generate("p-test").expect("key"),
    )
    .await
    .expect("enclave")
}

/// The result as rows of display strings, sorted.
pub(crate) fn rows(r: &niji_enclave::QueryResult) -> Vec<Vec<String>> {
    use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
    let mut out = Vec::new();
    let opts = FormatOptions::default().with_null("NULL");
    for b in &r.batches {
        let fmts: Vec<_> = b
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &opts).expect("fmt"))
            .collect();
        for i in 0..b.num_rows() {
            out.push(fmts.iter().map(|f| f.value(i).to_string()).collect());
        }
    }
    out.sort();
    out
}
