//! Units to rows of the staging tables.

use chrono::{Datelike, NaiveDate};

use crate::keys::Keyed;
use crate::tables::{self, TableBuf, Val};
use crate::unit::{Detail, Header, Unit};

/// The `YYYY-MM` partition value of a service month (`unknown` if the unit has none).
pub fn month_key(m: Option<NaiveDate>) -> String {
    m.map_or_else(
        || "unknown".to_string(),
        |d| format!("{:04}-{:02}", d.year(), d.month()),
    )
}

/// The staging buffers of one job, one a table.
#[derive(Debug)]
pub struct Staging {
    pub bufs: Vec<TableBuf>,
}

impl Default for Staging {
    fn default() -> Self {
        Staging {
            bufs: tables::ALL.iter().map(|d| TableBuf::new(d)).collect(),
        }
    }
}

/// Where a landed unit goes.
#[derive(Debug)]
pub struct Provenance<'a> {
    pub job_id: &'a str,
    /// The file as recorded (relative to the input root).
    pub file: &'a str,
    /// First 16 hex digits of the file's SHA-256.
    pub file_id: &'a str,
}

impl Staging {
    fn buf(&mut self, name: &str) -> &mut TableBuf {
        self.bufs
            .iter_mut()
            .find(|b| b.def.name == name)
            .expect("known table")
    }

    /// Appends a landed unit and its details. `flags` are the warning codes of the unit.
    pub fn push(&mut self, unit: &Unit, keyed: &Keyed, p: &Provenance<'_>, flags: &str) {
        let record_id = format!("{}:{}", p.file_id, unit.line);
        let source = unit.source.name();
        let month = month_key(unit.service_month);
        let [id1, id2, id4, id5, care] = &keyed.keys;
        let head = [
            Val::S(Some(&record_id)),
            Val::S(Some(source)),
            Val::S(Some(&month)),
            Val::S(Some(p.job_id)),
            Val::S(Some(p.file)),
            Val::S(Some(p.file_id)),
            Val::I64(Some(unit.line as i64)),
            Val::S(unit.facility.as_deref()),
            Val::S(keyed.sex.as_deref()),
            Val::D(keyed.birth),
            Val::S(keyed.insurer.as_deref()),
            Val::K(id1.as_ref()),
            Val::K(id2.as_ref()),
            Val::K(id4.as_ref()),
            Val::K(id5.as_ref()),
            Val::K(care.as_ref()),
            Val::I32(Some(keyed.version as i32)),
            Val::S(Some(flags).filter(|f| !f.is_empty())),
        ];
        match &unit.header {
            Header::Receipt {
                kind,
                payer,
                points,
                days,
                kohi,
                admission,
                discharge,
                dpc_code,
                dpc_outcome,
                died,
            } => {
                let tail = [
                    Val::S(Some(kind)),
                    Val::S(payer.as_deref()),
                    Val::I64(*points),
                    Val::I32(*days),
                    Val::I32(Some(*kohi)),
                    Val::D(*admission),
                    Val::D(*discharge),
                    Val::S(dpc_code.as_deref()),
                    Val::S(dpc_outcome.as_deref()),
                    Val::B(*died),
                ];
                self.buf("receipts").push(&[&head, &tail]);
            }
            Header::Checkup { date, institution } => {
                let tail = [Val::D(*date), Val::S(institution.as_deref())];
                self.buf("checkups").push(&[&head, &tail]);
            }
            Header::CareClaim {
                form,
                care_level,
                cert_start,
                cert_end,
                units,
            } => {
                let tail = [
                    Val::S(Some(form)),
                    Val::S(care_level.as_deref()),
                    Val::D(*cert_start),
                    Val::D(*cert_end),
                    Val::I64(*units),
                ];
                self.buf("care_claims").push(&[&head, &tail]);
            }
            Header::EhrBundle {
                bundle_type,
                document_type,
                date,
            } => {
                let tail = [
                    Val::S(Some(bundle_type)),
                    Val::S(document_type.as_deref()),
                    Val::D(*date),
                ];
                self.buf("ehr_bundles").push(&[&head, &tail]);
            }
        }
        for (seq, d) in unit.details.iter().enumerate() {
            let seq = Some(seq as i32);
            let key = [
                Val::S(Some(&record_id)),
                Val::S(Some(source)),
                Val::S(Some(&month)),
                Val::I32(seq),
            ];
            match d {
                Detail::Diagnosis {
                    code,
                    icd10,
                    name,
                    start,
                    outcome,
                    main,
                } => {
                    let t = [
                        Val::S(Some(code)),
                        Val::S(icd10.as_deref()),
                        Val::S(name.as_deref()),
                        Val::D(*start),
                        Val::S(outcome.as_deref()),
                        Val::B(Some(*main)),
                    ];
                    self.buf("diagnoses").push(&[&key, &t]);
                }
                Detail::Procedure {
                    kind,
                    code,
                    points,
                    count,
                } => {
                    let t = [
                        Val::S(kind.as_deref()),
                        Val::S(Some(code)),
                        Val::I64(*points),
                        Val::I32(*count),
                    ];
                    self.buf("procedures").push(&[&key, &t]);
                }
                Detail::Drug {
                    kind,
                    code,
                    quantity,
                    points,
                    count,
                    date,
                } => {
                    let t = [
                        Val::S(kind.as_deref()),
                        Val::S(Some(code)),
                        Val::F64(*quantity),
                        Val::I64(*points),
                        Val::I32(*count),
                        Val::D(*date),
                    ];
                    self.buf("drugs").push(&[&key, &t]);
                }
                Detail::Material {
                    code,
                    quantity,
                    points,
                    count,
                } => {
                    let t = [
                        Val::S(Some(code)),
                        Val::F64(*quantity),
                        Val::I64(*points),
                        Val::I32(*count),
                    ];
                    self.buf("materials").push(&[&key, &t]);
                }
                Detail::Observation {
                    code,
                    value,
                    value_code,
                    unit: u,
                    date,
                } => {
                    let t = [
                        Val::S(Some(code)),
                        Val::F64(*value),
                        Val::S(value_code.as_deref()),
                        Val::S(u.as_deref()),
                        Val::D(*date),
                    ];
                    self.buf("observations").push(&[&key, &t]);
                }
                Detail::CareService {
                    kind,
                    item,
                    units,
                    count,
                    service_units,
                } => {
                    let t = [
                        Val::S(Some(kind)),
                        Val::S(Some(item)),
                        Val::I64(*units),
                        Val::I32(*count),
                        Val::I64(*service_units),
                    ];
                    self.buf("care_services").push(&[&key, &t]);
                }
                Detail::Allergy {
                    code,
                    system,
                    category,
                    date,
                } => {
                    let t = [
                        Val::S(Some(code)),
                        Val::S(system.as_deref()),
                        Val::S(category.as_deref()),
                        Val::D(*date),
                    ];
                    self.buf("allergies").push(&[&key, &t]);
                }
                Detail::Other { record, fields } => {
                    let t = [Val::S(Some(record)), Val::I32(Some(*fields))];
                    self.buf("other_records").push(&[&key, &t]);
                }
            }
        }
    }
}
