//! 男女区分 as the sources code it (1 男, 2 女).

use serde::{Deserialize, Serialize};

/// A person's sex as recorded in claims (男女区分) and checkups (administrativeGenderCode).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Sex {
    Male,
    Female,
}

impl Sex {
    /// The code used by UKE, CDA and care claims: `1` male, `2` female.
    pub fn code(self) -> char {
        match self {
            Sex::Male => '1',
            Sex::Female => '2',
        }
    }

    /// The FHIR `administrative-gender` value.
    pub fn fhir(self) -> &'static str {
        match self {
            Sex::Male => "male",
            Sex::Female => "female",
        }
    }

    /// Reads `1`/`2`, or the FHIR words.
    pub fn parse(s: &str) -> crate::Result<Self> {
        match s.trim() {
            "1" | "male" => Ok(Sex::Male),
            "2" | "female" => Ok(Sex::Female),
            _ => Err(crate::Error::UnknownCode { field: "sex" }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_codes() {
        for s in [Sex::Male, Sex::Female] {
            assert_eq!(Sex::parse(&s.code().to_string()), Ok(s));
            assert_eq!(Sex::parse(s.fhir()), Ok(s));
        }
        assert!(Sex::parse("3").is_err());
        assert!(Sex::parse("").is_err());
    }
}
