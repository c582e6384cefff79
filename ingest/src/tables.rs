//! The staging tables: their schemas and the column buffers that turn units into Arrow batches.
//!
//! Unit tables (`receipts`, `checkups`, `care_claims`, `ehr_bundles`) carry the provenance, the
//! pseudonymized identity (link keys, key version, sex, birth date, insurer number) and the
//! header; detail tables carry the coded facts with the `record_id` of their unit. Every table is
//! partitioned by `source` and `service_month` (`YYYY-MM`). Strings are plain UTF-8 in Arrow;
//! Parquet stores codes dictionary-encoded. No name, 記号/番号 or other direct identifier has a
//! column anywhere.

use std::sync::Arc;

use arrow_array::builder::{
    BooleanBuilder, Date32Builder, FixedSizeBinaryBuilder, Float64Builder, Int32Builder,
    Int64Builder, StringBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use chrono::NaiveDate;

/// A cell value for [`TableBuf::push`].
#[derive(Debug, Clone, Copy)]
pub enum Val<'a> {
    S(Option<&'a str>),
    I64(Option<i64>),
    I32(Option<i32>),
    F64(Option<f64>),
    D(Option<NaiveDate>),
    B(Option<bool>),
    K(Option<&'a [u8; 32]>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ty {
    S,
    I64,
    I32,
    F64,
    D,
    B,
    K,
}

impl Ty {
    fn arrow(self) -> DataType {
        match self {
            Ty::S => DataType::Utf8,
            Ty::I64 => DataType::Int64,
            Ty::I32 => DataType::Int32,
            Ty::F64 => DataType::Float64,
            Ty::D => DataType::Date32,
            Ty::B => DataType::Boolean,
            Ty::K => DataType::FixedSizeBinary(32),
        }
    }
}

/// The columns every table begins with.
const PROVENANCE: &[(&str, Ty, bool)] = &[
    ("record_id", Ty::S, false),
    ("source", Ty::S, false),
    ("service_month", Ty::S, false),
];

/// Identity columns of unit tables, after the provenance.
const IDENTITY: &[(&str, Ty, bool)] = &[
    ("job_id", Ty::S, false),
    ("file", Ty::S, false),
    ("file_id", Ty::S, false),
    ("line", Ty::I64, false),
    ("facility", Ty::S, true),
    ("sex", Ty::S, true),
    ("birth_date", Ty::D, true),
    ("insurer_number", Ty::S, true),
    ("id1", Ty::K, true),
    ("id2", Ty::K, true),
    ("id4", Ty::K, true),
    ("id5", Ty::K, true),
    ("care_key", Ty::K, true),
    ("key_version", Ty::I32, false),
    ("dq_flags", Ty::S, true),
];

/// One staging table: name, whether it is a unit table, and its own columns.
#[derive(Debug)]
pub struct TableDef {
    pub name: &'static str,
    pub unit: bool,
    columns: &'static [(&'static str, Ty, bool)],
}

macro_rules! table {
    ($name:literal, $unit:literal, [$(($col:literal, $ty:ident)),* $(,)?]) => {
        TableDef { name: $name, unit: $unit, columns: &[$(($col, Ty::$ty, true)),*] }
    };
}

pub const RECEIPTS: TableDef = table!(
    "receipts",
    true,
    [
        ("receipt_kind", S),
        ("payer", S),
        ("points", I64),
        ("days", I32),
        ("kohi_count", I32),
        ("admission_date", D),
        ("discharge_date", D),
        ("dpc_code", S),
        ("dpc_outcome", S),
        ("died", B),
    ]
);
pub const CHECKUPS: TableDef = table!("checkups", true, [("checkup_date", D), ("institution", S)]);
pub const CARE_CLAIMS: TableDef = table!(
    "care_claims",
    true,
    [
        ("form", S),
        ("care_level", S),
        ("cert_start", D),
        ("cert_end", D),
        ("units", I64),
    ]
);
pub const EHR_BUNDLES: TableDef = table!(
    "ehr_bundles",
    true,
    [("bundle_type", S), ("document_type", S), ("bundle_date", D)]
);
pub const DIAGNOSES: TableDef = table!(
    "diagnoses",
    false,
    [
        ("seq", I32),
        ("code", S),
        ("icd10", S),
        ("uncoded_name", S),
        ("start_date", D),
        ("outcome", S),
        ("main", B),
    ]
);
pub const PROCEDURES: TableDef = table!(
    "procedures",
    false,
    [
        ("seq", I32),
        ("kind", S),
        ("code", S),
        ("points", I64),
        ("count", I32)
    ]
);
pub const DRUGS: TableDef = table!(
    "drugs",
    false,
    [
        ("seq", I32),
        ("kind", S),
        ("code", S),
        ("quantity", F64),
        ("points", I64),
        ("count", I32),
        ("date", D),
    ]
);
pub const MATERIALS: TableDef = table!(
    "materials",
    false,
    [
        ("seq", I32),
        ("code", S),
        ("quantity", F64),
        ("points", I64),
        ("count", I32)
    ]
);
pub const OBSERVATIONS: TableDef = table!(
    "observations",
    false,
    [
        ("seq", I32),
        ("code", S),
        ("value", F64),
        ("value_code", S),
        ("unit", S),
        ("date", D),
    ]
);
pub const CARE_SERVICES: TableDef = table!(
    "care_services",
    false,
    [
        ("seq", I32),
        ("service_kind", S),
        ("service_item", S),
        ("units", I64),
        ("count", I32),
        ("service_units", I64),
    ]
);
pub const ALLERGIES: TableDef = table!(
    "allergies",
    false,
    [
        ("seq", I32),
        ("code", S),
        ("system", S),
        ("category", S),
        ("date", D)
    ]
);
pub const OTHER_RECORDS: TableDef = table!(
    "other_records",
    false,
    [("seq", I32), ("record", S), ("fields", I32)]
);

/// Every staging table, unit tables first.
pub const ALL: [&TableDef; 12] = [
    &RECEIPTS,
    &CHECKUPS,
    &CARE_CLAIMS,
    &EHR_BUNDLES,
    &DIAGNOSES,
    &PROCEDURES,
    &DRUGS,
    &MATERIALS,
    &OBSERVATIONS,
    &CARE_SERVICES,
    &ALLERGIES,
    &OTHER_RECORDS,
];

/// Partition columns of every table.
pub const PARTITIONS: [&str; 2] = ["source", "service_month"];

impl TableDef {
    fn all_columns(&self) -> impl Iterator<Item = &(&'static str, Ty, bool)> {
        let identity: &[(&str, Ty, bool)] = if self.unit { IDENTITY } else { &[] };
        PROVENANCE.iter().chain(identity).chain(self.columns)
    }

    /// The table's Arrow schema.
    pub fn schema(&self) -> SchemaRef {
        Arc::new(Schema::new(
            self.all_columns()
                .map(|(n, t, null)| Field::new(*n, t.arrow(), *null))
                .collect::<Vec<_>>(),
        ))
    }
}

enum Col {
    S(StringBuilder),
    I64(Int64Builder),
    I32(Int32Builder),
    F64(Float64Builder),
    D(Date32Builder),
    B(BooleanBuilder),
    K(FixedSizeBinaryBuilder),
}

/// Rows of one table being gathered into a batch.
pub struct TableBuf {
    pub def: &'static TableDef,
    schema: SchemaRef,
    cols: Vec<Col>,
    rows: usize,
}

impl std::fmt::Debug for TableBuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TableBuf")
            .field("table", &self.def.name)
            .field("rows", &self.rows)
            .finish()
    }
}

fn epoch_days(d: NaiveDate) -> i32 {
    (d - NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")).num_days() as i32
}

impl TableBuf {
    pub fn new(def: &'static TableDef) -> Self {
        let cols = def
            .all_columns()
            .map(|(_, t, _)| match t {
                Ty::S => Col::S(StringBuilder::new()),
                Ty::I64 => Col::I64(Int64Builder::new()),
                Ty::I32 => Col::I32(Int32Builder::new()),
                Ty::F64 => Col::F64(Float64Builder::new()),
                Ty::D => Col::D(Date32Builder::new()),
                Ty::B => Col::B(BooleanBuilder::new()),
                Ty::K => Col::K(FixedSizeBinaryBuilder::new(32)),
            })
            .collect();
        TableBuf {
            def,
            schema: def.schema(),
            cols,
            rows: 0,
        }
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Appends one row given in parts (e.g. the shared head and the table's own columns); the
    /// values follow the schema's column order. A value of the wrong type is a programming error
    /// and panics.
    pub fn push(&mut self, parts: &[&[Val<'_>]]) {
        let width: usize = parts.iter().map(|p| p.len()).sum();
        assert_eq!(
            width,
            self.cols.len(),
            "row width of table {}",
            self.def.name
        );
        for (col, v) in self
            .cols
            .iter_mut()
            .zip(parts.iter().flat_map(|p| p.iter()))
        {
            match (col, *v) {
                (Col::S(b), Val::S(x)) => b.append_option(x),
                (Col::I64(b), Val::I64(x)) => b.append_option(x),
                (Col::I32(b), Val::I32(x)) => b.append_option(x),
                (Col::F64(b), Val::F64(x)) => b.append_option(x),
                (Col::D(b), Val::D(x)) => b.append_option(x.map(epoch_days)),
                (Col::B(b), Val::B(x)) => b.append_option(x),
                (Col::K(b), Val::K(Some(k))) => b.append_value(k).expect("32 bytes"),
                (Col::K(b), Val::K(None)) => b.append_null(),
                _ => panic!("value of the wrong type for table {}", self.def.name),
            }
        }
        self.rows += 1;
    }

    /// Takes the rows gathered so far as a batch (None if there are none).
    pub fn take(&mut self) -> Option<RecordBatch> {
        if self.rows == 0 {
            return None;
        }
        let arrays: Vec<ArrayRef> = self
            .cols
            .iter_mut()
            .map(|c| -> ArrayRef {
                match c {
                    Col::S(b) => Arc::new(b.finish()),
                    Col::I64(b) => Arc::new(b.finish()),
                    Col::I32(b) => Arc::new(b.finish()),
                    Col::F64(b) => Arc::new(b.finish()),
                    Col::D(b) => Arc::new(b.finish()),
                    Col::B(b) => Arc::new(b.finish()),
                    Col::K(b) => Arc::new(b.finish()),
                }
            })
            .collect();
        self.rows = 0;
        Some(RecordBatch::try_new(self.schema.clone(), arrays).expect("builders follow the schema"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemas_have_no_identifier_columns_and_share_partitions() {
        for t in ALL {
            let s = t.schema();
            for p in PARTITIONS {
                assert!(s.field_with_name(p).is_ok(), "{} lacks {p}", t.name);
            }
            for banned in [
                "name", "kana", "symbol", "number", "branch", "karte", "address",
            ] {
                assert!(
                    s.fields().iter().all(|f| f.name() != banned),
                    "{} has {banned}",
                    t.name
                );
            }
        }
    }

    #[test]
    fn rows_become_batches() {
        let mut b = TableBuf::new(&PROCEDURES);
        let row = [
            Val::S(Some("r:1")),
            Val::S(Some("ndb-med")),
            Val::S(Some("2024-05")),
            Val::I32(Some(0)),
            Val::S(Some("12")),
            Val::S(Some("112007410")),
            Val::I64(Some(75)),
            Val::I32(Some(1)),
        ];
        b.push(&[&row]);
        b.push(&[&row[..3], &row[3..]]);
        let batch = b.take().unwrap();
        assert_eq!(batch.num_rows(), 2);
        assert_eq!(batch.schema(), PROCEDURES.schema());
        assert!(b.take().is_none());
    }
}
