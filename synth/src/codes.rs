//! Code lists the generator draws from: diseases (MEDIS 傷病名コード with ICD-10), drugs
//! (レセプト電算 医薬品コード), procedures (診療行為コード), checkup items (JLAC10 17-digit codes) and
//! care services. Codes follow the real formats and are realistic, not an authoritative master.

use niji_core::Sex;

/// The conditions the population model knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Cond {
    Hypertension,
    Diabetes,
    Dyslipidemia,
    Ckd,
    HeartFailure,
    Osteoporosis,
    KneeOa,
    Asthma,
    Depression,
    Dementia,
    Gastritis,
    Stroke,
    HipFracture,
    Pneumonia,
    GastricCancer,
    Uri,
}

/// A disease's codes and model parameters.
#[derive(Debug)]
pub(crate) struct Disease {
    pub(crate) cond: Cond,
    /// 傷病名コード (7 digits).
    pub(crate) code: &'static str,
    pub(crate) name: &'static str,
    pub(crate) icd10: &'static str,
    /// Chronic conditions persist and bring monthly visits; acute ones are episodes.
    pub(crate) chronic: bool,
    /// An acute condition that brings an admission (DPC) rather than an outpatient visit.
    pub(crate) admits: bool,
    /// 14-digit DPC 診断群分類番号 used for its admissions.
    pub(crate) dpc: &'static str,
    /// Drugs prescribed for it.
    pub(crate) drugs: &'static [Drug],
}

/// A drug: code, name, unit, daily quantity and points per day.
#[derive(Debug)]
pub(crate) struct Drug {
    pub(crate) code: &'static str,
    pub(crate) name: &'static str,
    pub(crate) per_day: u32,
    /// Points per day's dose (薬価 / 10, rounded).
    pub(crate) points: u32,
    /// 剤形: 1 内服, 3 外用, 4 注射.
    pub(crate) form: u8,
    /// MHLW YJ code, carried into FHIR MedicationRequest.
    pub(crate) yj: &'static str,
}

const fn drug(
    code: &'static str,
    name: &'static str,
    per_day: u32,
    points: u32,
    form: u8,
    yj: &'static str,
) -> Drug {
    Drug {
        code,
        name,
        per_day,
        points,
        form,
        yj,
    }
}

const AMLODIPINE: Drug = drug("622078301", "アムロジピン錠５ｍｇ", 1, 1, 1, "2171022F2025");
const OLMESARTAN: Drug = drug(
    "620002582",
    "オルメサルタン錠２０ｍｇ",
    1,
    3,
    1,
    "2149044F2021",
);
const METFORMIN: Drug = drug(
    "620008811",
    "メトホルミン塩酸塩錠２５０ｍｇ",
    3,
    1,
    1,
    "3962002F1011",
);
const SITAGLIPTIN: Drug = drug(
    "622071901",
    "シタグリプチン錠５０ｍｇ",
    1,
    7,
    1,
    "3969010F2020",
);
const ROSUVASTATIN: Drug = drug(
    "621925601",
    "ロスバスタチン錠２．５ｍｇ",
    1,
    2,
    1,
    "2189017F1026",
);
const FUROSEMIDE: Drug = drug("620004856", "フロセミド錠２０ｍｇ", 1, 1, 1, "2139005F1049");
const BISOPROLOL: Drug = drug(
    "620009136",
    "ビソプロロールフマル酸塩錠２．５ｍｇ",
    1,
    2,
    1,
    "2123016F2024",
);
const ALENDRONATE: Drug = drug(
    "620004467",
    "アレンドロン酸錠３５ｍｇ",
    1,
    5,
    1,
    "3999018F2035",
);
const LOXOPROFEN: Drug = drug(
    "620098801",
    "ロキソプロフェンＮａ錠６０ｍｇ",
    3,
    1,
    1,
    "1149019F1560",
);
const BUDESONIDE: Drug = drug(
    "621997901",
    "ブデソニド・ホルモテロール吸入",
    2,
    10,
    3,
    "2290801G1023",
);
const SERTRALINE: Drug = drug(
    "622093501",
    "セルトラリン錠２５ｍｇ",
    1,
    3,
    1,
    "1179046F1025",
);
const DONEPEZIL: Drug = drug(
    "621936101",
    "ドネペジル塩酸塩錠５ｍｇ",
    1,
    5,
    1,
    "1190012F2024",
);
const FAMOTIDINE: Drug = drug(
    "620000402",
    "ファモチジン錠２０ｍｇ",
    2,
    1,
    1,
    "2325003F2011",
);
const CARBOCISTEINE: Drug = drug(
    "620007736",
    "カルボシステイン錠５００ｍｇ",
    3,
    1,
    1,
    "2233002F2014",
);
const ACETAMINOPHEN: Drug = drug(
    "620003853",
    "アセトアミノフェン錠２００ｍｇ",
    3,
    1,
    1,
    "1141007F1063",
);
const CEFTRIAXONE: Drug = drug(
    "620007384",
    "セフトリアキソンナトリウム静注用１ｇ",
    2,
    58,
    4,
    "6132419F1052",
);
const CLOPIDOGREL: Drug = drug(
    "620006489",
    "クロピドグレル錠７５ｍｇ",
    1,
    6,
    1,
    "3399008F2020",
);
const ELDECALCITOL: Drug = drug(
    "621995301",
    "エルデカルシトールカプセル０．７５μｇ",
    1,
    5,
    1,
    "3112004M1020",
);

#[allow(clippy::too_many_arguments)] // a table row: every field is named at the call site's column
const fn disease(
    cond: Cond,
    code: &'static str,
    name: &'static str,
    icd10: &'static str,
    chronic: bool,
    admits: bool,
    dpc: &'static str,
    drugs: &'static [Drug],
) -> Disease {
    Disease {
        cond,
        code,
        name,
        icd10,
        chronic,
        admits,
        dpc,
        drugs,
    }
}

/// Every disease of the model.
pub(crate) const DISEASES: &[Disease] = &[
    disease(
        Cond::Hypertension,
        "8833421",
        "高血圧症",
        "I10",
        true,
        false,
        "",
        &[AMLODIPINE, OLMESARTAN],
    ),
    disease(
        Cond::Diabetes,
        "2500015",
        "２型糖尿病",
        "E11",
        true,
        false,
        "",
        &[METFORMIN, SITAGLIPTIN],
    ),
    disease(
        Cond::Dyslipidemia,
        "2724010",
        "脂質異常症",
        "E785",
        true,
        false,
        "",
        &[ROSUVASTATIN],
    ),
    disease(
        Cond::Ckd,
        "5859005",
        "慢性腎臓病",
        "N189",
        true,
        false,
        "",
        &[OLMESARTAN],
    ),
    disease(
        Cond::HeartFailure,
        "4289004",
        "心不全",
        "I509",
        true,
        false,
        "",
        &[FUROSEMIDE, BISOPROLOL],
    ),
    disease(
        Cond::Osteoporosis,
        "7330005",
        "骨粗鬆症",
        "M819",
        true,
        false,
        "",
        &[ALENDRONATE, ELDECALCITOL],
    ),
    disease(
        Cond::KneeOa,
        "7153006",
        "変形性膝関節症",
        "M179",
        true,
        false,
        "",
        &[LOXOPROFEN],
    ),
    disease(
        Cond::Asthma,
        "4939004",
        "気管支喘息",
        "J459",
        true,
        false,
        "",
        &[BUDESONIDE],
    ),
    disease(
        Cond::Depression,
        "2961003",
        "うつ病",
        "F329",
        true,
        false,
        "",
        &[SERTRALINE],
    ),
    disease(
        Cond::Dementia,
        "3310007",
        "アルツハイマー型認知症",
        "G309",
        true,
        false,
        "",
        &[DONEPEZIL],
    ),
    disease(
        Cond::Gastritis,
        "5354003",
        "慢性胃炎",
        "K295",
        true,
        false,
        "",
        &[FAMOTIDINE],
    ),
    disease(
        Cond::Stroke,
        "4349004",
        "脳梗塞",
        "I639",
        false,
        true,
        "010060xx99x20x",
        &[CLOPIDOGREL],
    ),
    disease(
        Cond::HipFracture,
        "8206002",
        "大腿骨頚部骨折",
        "S720",
        false,
        true,
        "160800xx01xxxx",
        &[ACETAMINOPHEN],
    ),
    disease(
        Cond::Pneumonia,
        "4860006",
        "肺炎",
        "J189",
        false,
        true,
        "040080x099x0xx",
        &[CEFTRIAXONE],
    ),
    disease(
        Cond::GastricCancer,
        "1519008",
        "胃癌",
        "C169",
        false,
        true,
        "060020xx02x0xx",
        &[ACETAMINOPHEN],
    ),
    disease(
        Cond::Uri,
        "4659007",
        "急性上気道炎",
        "J069",
        false,
        false,
        "",
        &[CARBOCISTEINE, ACETAMINOPHEN],
    ),
];

/// The disease entry of `cond`.
pub(crate) fn disease_of(cond: Cond) -> &'static Disease {
    DISEASES
        .iter()
        .find(|d| d.cond == cond)
        .expect("every Cond has a Disease")
}

fn logistic(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Prevalence of a chronic condition at `age` for `sex` (roughly Japanese figures).
pub(crate) fn prevalence(cond: Cond, age: i32, sex: Sex) -> f64 {
    let a = f64::from(age);
    let male = sex == Sex::Male;
    match cond {
        Cond::Hypertension => logistic((a - 62.0) / 9.0) * if male { 0.65 } else { 0.55 },
        Cond::Diabetes => logistic((a - 62.0) / 10.0) * if male { 0.22 } else { 0.11 },
        Cond::Dyslipidemia => logistic((a - 55.0) / 9.0) * if male { 0.30 } else { 0.38 },
        Cond::Ckd => logistic((a - 75.0) / 8.0) * 0.15,
        Cond::HeartFailure => logistic((a - 82.0) / 6.0) * 0.12,
        Cond::Osteoporosis => logistic((a - 70.0) / 7.0) * if male { 0.05 } else { 0.30 },
        Cond::KneeOa => logistic((a - 70.0) / 8.0) * if male { 0.10 } else { 0.22 },
        Cond::Asthma => 0.04,
        Cond::Depression if age >= 15 => 0.03,
        Cond::Dementia => logistic((a - 86.0) / 5.0) * 0.45,
        Cond::Gastritis if age >= 20 => 0.04 + 0.001 * a,
        _ => 0.0,
    }
}

/// Yearly incidence of an acute event at `age`.
pub(crate) fn incidence(cond: Cond, age: i32, sex: Sex) -> f64 {
    let a = f64::from(age);
    let male = sex == Sex::Male;
    match cond {
        Cond::Stroke => 0.0002 * ((a - 40.0) / 9.0).exp().min(60.0) * if male { 1.3 } else { 1.0 },
        Cond::HipFracture => {
            0.00005 * ((a - 50.0) / 6.5).exp().min(400.0) * if male { 0.4 } else { 1.0 }
        }
        Cond::Pneumonia => 0.0005 * ((a - 60.0) / 7.0).exp().min(100.0),
        Cond::GastricCancer => {
            0.00004 * ((a - 40.0) / 12.0).exp().min(20.0) * if male { 2.0 } else { 1.0 }
        }
        Cond::Uri => {
            if age < 15 {
                1.2
            } else {
                0.5
            }
        }
        _ => 0.0,
    }
}

/// A 診療行為 (procedure) with its points.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Act {
    pub(crate) code: &'static str,
    pub(crate) points: u32,
    /// 診療識別 (11 初診, 12 再診, 13 医学管理, 25 処方箋, 60 検査, 70 画像, 90 入院 …).
    pub(crate) kind: &'static str,
}

pub(crate) const FIRST_VISIT: Act = Act {
    code: "111000110",
    points: 291,
    kind: "11",
};
pub(crate) const REVISIT: Act = Act {
    code: "112007410",
    points: 75,
    kind: "12",
};
pub(crate) const OUTPATIENT_MGMT: Act = Act {
    code: "112011310",
    points: 52,
    kind: "12",
};
pub(crate) const DISEASE_MGMT: Act = Act {
    code: "113001810",
    points: 225,
    kind: "13",
};
pub(crate) const PRESCRIPTION: Act = Act {
    code: "120004270",
    points: 60,
    kind: "80",
};
pub(crate) const DISPENSING: Act = Act {
    code: "120000710",
    points: 11,
    kind: "21",
};
pub(crate) const HBA1C: Act = Act {
    code: "160010010",
    points: 49,
    kind: "60",
};
pub(crate) const BIOCHEM: Act = Act {
    code: "160154410",
    points: 123,
    kind: "60",
};
pub(crate) const BLOOD_DRAW: Act = Act {
    code: "160095710",
    points: 40,
    kind: "60",
};
pub(crate) const ECG: Act = Act {
    code: "160068410",
    points: 130,
    kind: "60",
};
pub(crate) const XRAY: Act = Act {
    code: "170000410",
    points: 210,
    kind: "70",
};
pub(crate) const ADMISSION_FEE: Act = Act {
    code: "190117710",
    points: 1688,
    kind: "90",
};

/// Pharmacy fees (調剤技術料): 調剤基本料1, 薬剤調製料 (内服), 調剤管理料.
pub(crate) const PHARMACY_ACTS: [Act; 3] = [
    Act {
        code: "420000110",
        points: 45,
        kind: "",
    },
    Act {
        code: "420003510",
        points: 24,
        kind: "",
    },
    Act {
        code: "420008610",
        points: 60,
        kind: "",
    },
];

/// A comment (CO) on a prescription.
pub(crate) const COMMENT_CODE: &str = "810000001";

/// A checkup item: JLAC10 17-character code, display name, unit.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CheckItem {
    pub(crate) code: &'static str,
    pub(crate) name: &'static str,
    pub(crate) unit: &'static str,
}

const fn item(code: &'static str, name: &'static str, unit: &'static str) -> CheckItem {
    CheckItem { code, name, unit }
}

pub(crate) const HEIGHT: CheckItem = item("9N001000000000001", "身長", "cm");
pub(crate) const WEIGHT: CheckItem = item("9N006000000000001", "体重", "kg");
pub(crate) const BMI: CheckItem = item("9N011000000000001", "BMI", "kg/m2");
pub(crate) const WAIST: CheckItem = item("9N016160100000001", "腹囲(実測)", "cm");
pub(crate) const SBP: CheckItem = item("9A755000000000001", "収縮期血圧(その他)", "mmHg");
pub(crate) const DBP: CheckItem = item("9A765000000000001", "拡張期血圧(その他)", "mmHg");
pub(crate) const TG: CheckItem = item("3F015000002327101", "中性脂肪(トリグリセリド)", "mg/dl");
pub(crate) const HDL: CheckItem = item("3F070000002327101", "HDLコレステロール", "mg/dl");
pub(crate) const LDL: CheckItem = item("3F077000002327101", "LDLコレステロール", "mg/dl");
pub(crate) const AST: CheckItem = item("3B035000002327201", "GOT(AST)", "U/L");
pub(crate) const ALT: CheckItem = item("3B045000002327201", "GPT(ALT)", "U/L");
pub(crate) const GGT: CheckItem = item("3B090000002327101", "γ-GT(γ-GTP)", "U/L");
pub(crate) const FPG: CheckItem = item("3D010000001926101", "空腹時血糖", "mg/dl");
pub(crate) const HBA1C_NGSP: CheckItem = item("3D046000001906202", "HbA1c(NGSP値)", "%");
pub(crate) const URINE_GLUCOSE: CheckItem = item("1A020000000190111", "尿糖", "");
pub(crate) const URINE_PROTEIN: CheckItem = item("1A010000000190111", "尿蛋白", "");
pub(crate) const METABO: CheckItem = item("9N501000000000153", "メタボリックシンドローム判定", "");
pub(crate) const GUIDANCE: CheckItem = item("9N506000000000153", "保健指導レベル", "");
pub(crate) const MED_BP: CheckItem = item("9N701000000000011", "服薬1(血圧)", "");
pub(crate) const MED_GLUCOSE: CheckItem = item("9N706000000000011", "服薬2(血糖)", "");
pub(crate) const MED_LIPID: CheckItem = item("9N711000000000011", "服薬3(脂質)", "");
pub(crate) const SMOKING: CheckItem = item("9N736000000000011", "喫煙", "");

/// Care services: サービス種類コード, サービス項目コード, 単位数, name.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CareService {
    pub(crate) kind: &'static str,
    pub(crate) item: &'static str,
    pub(crate) units: u32,
    pub(crate) name: &'static str,
}

const fn care(
    kind: &'static str,
    item: &'static str,
    units: u32,
    name: &'static str,
) -> CareService {
    CareService {
        kind,
        item,
        units,
        name,
    }
}

/// Home-care services by need level (light first).
pub(crate) const CARE_SERVICES: &[CareService] = &[
    care("11", "1111", 250, "身体介護１"),
    care("11", "1211", 183, "生活援助２"),
    care("13", "1111", 471, "訪問看護Ⅰ２"),
    care("15", "1521", 658, "通所介護Ⅰ２１"),
    care("16", "1121", 715, "通所リハⅠ２１"),
    care("17", "1001", 100, "福祉用具貸与"),
    care("21", "1211", 704, "短期生活Ⅰ２"),
];

/// Preventive services for 要支援.
pub(crate) const PREVENTIVE_SERVICES: &[CareService] = &[
    care("A2", "1111", 1176, "通所型サービス１"),
    care("67", "1001", 100, "予防福祉用具貸与"),
];

/// 居宅介護支援 (care management), billed monthly for home care.
pub(crate) const CARE_MANAGEMENT: CareService = care("43", "1121", 1076, "居宅介護支援Ⅰ１");
