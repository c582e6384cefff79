//! Regions and their facilities, and the insurers persons are covered by.

use niji_core::checkdigit;

use crate::rng::Rng;

/// What a facility is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FacilityKind {
    Clinic,
    /// A DPC hospital: outpatient receipts (医科) and inpatient receipts (DPC).
    Hospital,
    Pharmacy,
    /// A care provider (介護サービス事業所).
    CareProvider,
}

/// How a facility writes the space between family and given name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Spacing {
    Full,
    Half,
    None,
}

/// One facility and the habits of its software, which shape identifier drift.
#[derive(Debug, Clone)]
pub(crate) struct Facility {
    /// 医療機関コード (7 digits, last one a check digit) or 事業所番号 (10 digits).
    pub(crate) code: String,
    pub(crate) name: String,
    /// Writes the older wareki spec (GYYMMDD dates, no SN record).
    pub(crate) wareki: bool,
    /// Keys 記号/番号 in full-width digits.
    pub(crate) full_width_ids: bool,
    /// Writes カナ氏名 in half-width katakana.
    pub(crate) half_width_kana: bool,
    /// Registers only kana, so the 氏名 field holds the kana name.
    pub(crate) kana_only: bool,
    pub(crate) spacing: Spacing,
    /// Prescribes out of house (院外処方): drugs go to a pharmacy receipt.
    pub(crate) outside_rx: bool,
    /// Sends documents to the EHR information-sharing service.
    pub(crate) ehr: bool,
}

/// A region: one municipality with its own facilities. Persons of a region use only its
/// facilities, so a region is generated independently of every other.
#[derive(Debug, Clone)]
pub(crate) struct Region {
    pub(crate) index: u64,
    /// 都道府県 code 1–47.
    pub(crate) pref: u8,
    /// 市町村 code (3 digits) within the prefecture.
    pub(crate) town: u16,
    pub(crate) clinics: Vec<Facility>,
    pub(crate) hospital: Facility,
    pub(crate) pharmacies: Vec<Facility>,
    pub(crate) care_providers: Vec<Facility>,
}

/// Population weights of the prefectures (millions, roughly), index 0 = 北海道 (01).
const PREF_WEIGHTS: [f64; 47] = [
    5.1, 1.2, 1.2, 2.3, 0.9, 1.0, 1.8, 2.8, 1.9, 1.9, 7.3, 6.3, 14.0, 9.2, 2.2, 1.0, 1.1, 0.8, 0.8,
    2.0, 2.0, 3.6, 7.5, 1.8, 1.4, 2.6, 8.8, 5.4, 1.3, 0.9, 0.5, 0.7, 1.9, 2.8, 1.3, 0.7, 0.9, 1.3,
    0.7, 5.1, 0.8, 1.3, 1.7, 1.1, 1.1, 1.6, 1.5,
];

const CLINIC_NAMES: [&str; 8] = [
    "内科クリニック",
    "医院",
    "診療所",
    "ファミリークリニック",
    "整形外科",
    "内科医院",
    "こころのクリニック",
    "在宅クリニック",
];
const PLACE: [&str; 10] = [
    "さくら",
    "みどり",
    "中央",
    "駅前",
    "東",
    "西",
    "本町",
    "青葉",
    "ひかり",
    "みなと",
];

impl Region {
    pub(crate) fn new(
        seed: u64,
        index: u64,
        persons: u32,
        ehr_rate: f64,
        wareki_rate: f64,
    ) -> Self {
        let mut rng = Rng::stream(seed, &[crate::stream::REGION, index]);
        let pref = rng.weighted(&PREF_WEIGHTS) as u8 + 1;
        let town = rng.range(100, 999) as u16;
        let mut local = 0u64;
        let mut make = |kind: FacilityKind, rng: &mut Rng| {
            local += 1;
            let serial = (index * 16 + local) % 1_000_000;
            let code = match kind {
                FacilityKind::CareProvider => format!("{pref:02}7{:07}", serial % 10_000_000),
                _ => checkdigit::append(&format!("{serial:06}")),
            };
            let place = *rng.pick(&PLACE);
            let name = match kind {
                FacilityKind::Clinic => format!("{place}{}", rng.pick(&CLINIC_NAMES)),
                FacilityKind::Hospital => format!("{place}総合病院"),
                FacilityKind::Pharmacy => format!("{place}薬局"),
                FacilityKind::CareProvider => format!("{place}介護サービス"),
            };
            let spacing = match rng.weighted(&[0.75, 0.15, 0.10]) {
                0 => Spacing::Full,
                1 => Spacing::Half,
                _ => Spacing::None,
            };
            Facility {
                code,
                name,
                wareki: kind != FacilityKind::CareProvider && rng.chance(wareki_rate),
                full_width_ids: rng.chance(0.2),
                half_width_kana: rng.chance(0.15),
                kana_only: kind == FacilityKind::Pharmacy && rng.chance(0.3),
                spacing,
                outside_rx: kind == FacilityKind::Clinic && rng.chance(0.8),
                ehr: matches!(kind, FacilityKind::Hospital | FacilityKind::Clinic)
                    && rng.chance(ehr_rate),
            }
        };
        let clinics = (0..(persons / 500).max(1))
            .map(|_| make(FacilityKind::Clinic, &mut rng))
            .collect();
        let hospital = make(FacilityKind::Hospital, &mut rng);
        let pharmacies = (0..(persons / 1000).max(1))
            .map(|_| make(FacilityKind::Pharmacy, &mut rng))
            .collect();
        let care_providers = (0..(persons / 1000).max(1))
            .map(|_| make(FacilityKind::CareProvider, &mut rng))
            .collect();
        Region {
            index,
            pref,
            town,
            clinics,
            hospital,
            pharmacies,
            care_providers,
        }
    }

    /// The municipality's 国保 保険者番号 (6 digits), also its care insurer number.
    pub(crate) fn kokuho(&self) -> String {
        checkdigit::append(&format!("{:02}{:03}", self.pref, self.town))
    }

    /// The prefecture's 後期高齢者医療広域連合 (8 digits).
    pub(crate) fn koki(&self) -> String {
        checkdigit::append(&format!("39{:02}{:03}", self.pref, 1))
    }

    /// 協会けんぽ's branch in the prefecture.
    pub(crate) fn kyokai(&self) -> String {
        checkdigit::append(&format!("01{:02}001", self.pref))
    }

    /// One of the prefecture's health insurance societies (組合) or mutual-aid associations (共済).
    pub(crate) fn society(&self, rng: &mut Rng) -> String {
        if rng.chance(0.2) {
            checkdigit::append(&format!(
                "3{}{:02}{:03}",
                rng.range(1, 4),
                self.pref,
                rng.range(1, 30)
            ))
        } else {
            checkdigit::append(&format!("06{:02}{:03}", self.pref, rng.range(100, 400)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insurer_numbers_have_valid_check_digits() {
        for i in 0..50 {
            let r = Region::new(3, i, 2000, 0.5, 0.2);
            let mut rng = Rng::stream(1, &[i]);
            for n in [r.kokuho(), r.koki(), r.kyokai(), r.society(&mut rng)] {
                assert!(checkdigit::is_valid(&n), "{n}");
            }
            assert_eq!(r.kokuho().len(), 6);
            assert_eq!(r.koki().len(), 8);
            assert!(
                r.clinics
                    .iter()
                    .all(|c| c.code.len() == 7 && checkdigit::is_valid(&c.code))
            );
            assert!(r.care_providers.iter().all(|c| c.code.len() == 10));
        }
    }
}
