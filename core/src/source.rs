//! The source kinds niji ingests.

use serde::{Deserialize, Serialize};

/// One kind of source extract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    /// NDB 医科 receipts (RECEIPTC.UKE).
    NdbMed,
    /// NDB DPC inpatient receipts (RECEIPTD.UKE).
    NdbDpc,
    /// NDB 調剤 (pharmacy) receipts (RECEIPTY.UKE).
    NdbPha,
    /// NDB 特定健診 checkups (HL7 CDA R2).
    NdbCheckup,
    /// care-DB 介護給付費明細書 (CSV).
    Care,
    /// EHR-DB JP-CLINS FHIR R4 bundles.
    Ehr,
}

impl Source {
    /// Every source, in a fixed order.
    pub const ALL: [Source; 6] = [
        Source::NdbMed,
        Source::NdbDpc,
        Source::NdbPha,
        Source::NdbCheckup,
        Source::Care,
        Source::Ehr,
    ];

    /// The name used on the command line, in folders and in tables.
    pub fn name(self) -> &'static str {
        match self {
            Source::NdbMed => "ndb-med",
            Source::NdbDpc => "ndb-dpc",
            Source::NdbPha => "ndb-pha",
            Source::NdbCheckup => "ndb-checkup",
            Source::Care => "care",
            Source::Ehr => "ehr",
        }
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Source {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<Self> {
        Source::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or(crate::Error::UnknownCode { field: "source" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for s in Source::ALL {
            assert_eq!(s.name().parse::<Source>(), Ok(s));
        }
        assert!("ndb".parse::<Source>().is_err());
    }
}
