//! The identifier fields that key kinds are made of.

use std::fmt;

/// One identifier field of a person, as the sources record it. Errors name a field with this
/// type and never carry the field's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    /// 保険者番号 of the health insurer (8 digits, 国保 6).
    InsurerNumber,
    /// 記号 of the insurance card.
    Symbol,
    /// 番号 of the insurance card.
    Number,
    /// 枝番: two digits or empty.
    Branch,
    /// 生年月日.
    BirthDate,
    /// 男女区分.
    Sex,
    /// 氏名 as recorded (often kanji).
    Name,
    /// カナ氏名.
    KanaName,
    /// 介護保険 被保険者番号 (10 characters).
    CareInsuredNumber,
    /// 介護保険 保険者番号 (6 digits).
    CareInsurerNumber,
}

impl Field {
    /// Every field, in a fixed order (the order of [`Field::index`]).
    pub const ALL: [Field; 10] = [
        Field::InsurerNumber,
        Field::Symbol,
        Field::Number,
        Field::Branch,
        Field::BirthDate,
        Field::Sex,
        Field::Name,
        Field::KanaName,
        Field::CareInsuredNumber,
        Field::CareInsurerNumber,
    ];

    /// A stable snake_case name, used in error messages and reports.
    pub fn name(self) -> &'static str {
        match self {
            Field::InsurerNumber => "insurer_number",
            Field::Symbol => "symbol",
            Field::Number => "number",
            Field::Branch => "branch",
            Field::BirthDate => "birth_date",
            Field::Sex => "sex",
            Field::Name => "name",
            Field::KanaName => "kana_name",
            Field::CareInsuredNumber => "care_insured_number",
            Field::CareInsurerNumber => "care_insurer_number",
        }
    }

    /// The position of the field in [`Field::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_matches_all() {
        for (i, f) in Field::ALL.into_iter().enumerate() {
            assert_eq!(f.index(), i);
        }
        assert_eq!(Field::CareInsuredNumber.to_string(), "care_insured_number");
    }
}
