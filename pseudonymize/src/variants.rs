//! The kanji variant table of rule set `norm-1`: old and variant forms folded for names.
//!
//! Each entry maps a variant (異体字, 旧字体) that registers and insurers write for the same
//! surname or given name to one chosen form (渡邊/渡邉 → 渡辺, 齋藤/齊藤/斎藤 → 斉藤, 髙 → 高 …).
//! Folding trades a few false matches between truly different names for many fewer missed
//! matches; the table is kept to pairs commonly seen in name data. Compatibility ideographs that
//! NFKC already maps (e.g. U+FA10 塚) are not listed; the twelve compatibility ideographs that NFKC
//! keeps as they are (such as U+FA11 﨑) are. Changing the table changes the rule set version.

/// `(variant, chosen form)`, sorted by variant. No chosen form is itself a variant, so folding
/// is idempotent.
const TABLE: [(char, char); 62] = [
    ('來', '来'),
    ('兒', '児'),
    ('冨', '富'),
    ('勳', '勲'),
    ('國', '国'),
    ('圓', '円'),
    ('增', '増'),
    ('壽', '寿'),
    ('學', '学'),
    ('實', '実'),
    ('寬', '寛'),
    ('將', '将'),
    ('峯', '峰'),
    ('嵜', '崎'),
    ('嶋', '島'),
    ('嶌', '島'),
    ('廣', '広'),
    ('彌', '弥'),
    ('德', '徳'),
    ('惠', '恵'),
    ('應', '応'),
    ('戶', '戸'),
    ('斎', '斉'),
    ('曾', '曽'),
    ('會', '会'),
    ('條', '条'),
    ('榮', '栄'),
    ('槇', '槙'),
    ('櫻', '桜'),
    ('淵', '渕'),
    ('淸', '清'),
    ('澁', '渋'),
    ('澤', '沢'),
    ('濱', '浜'),
    ('濵', '浜'),
    ('瀧', '滝'),
    ('瀨', '瀬'),
    ('煕', '熙'),
    ('熈', '熙'),
    ('禮', '礼'),
    ('稻', '稲'),
    ('縣', '県'),
    ('聰', '聡'),
    ('與', '与'),
    ('舘', '館'),
    ('莊', '荘'),
    ('萬', '万'),
    ('藏', '蔵'),
    ('豐', '豊'),
    ('邉', '辺'),
    ('邊', '辺'),
    ('鐵', '鉄'),
    ('關', '関'),
    ('靑', '青'),
    ('靜', '静'),
    ('顯', '顕'),
    ('髙', '高'),
    ('黑', '黒'),
    ('齊', '斉'),
    ('齋', '斉'),
    ('龜', '亀'),
    ('﨑', '崎'),
];

/// Supplementary-plane variants (kept apart so the main table stays in one sorted order).
const SUPPLEMENTARY: [(char, char); 1] = [('𠮷', '吉')];

/// The chosen form of `c`, or `c` itself when it is not a listed variant.
pub(crate) fn fold(c: char) -> char {
    if c < '\u{3400}' {
        return c;
    }
    if let Ok(i) = TABLE.binary_search_by(|(v, _)| v.cmp(&c)) {
        return TABLE[i].1;
    }
    SUPPLEMENTARY
        .iter()
        .find(|(v, _)| *v == c)
        .map_or(c, |(_, f)| *f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use unicode_normalization::UnicodeNormalization;

    #[test]
    fn sorted_and_no_chosen_form_is_a_variant() {
        assert!(
            TABLE.windows(2).all(|w| w[0].0 < w[1].0),
            "table must be sorted"
        );
        for (v, f) in TABLE.iter().chain(SUPPLEMENTARY.iter()) {
            assert_ne!(v, f);
            assert_eq!(fold(*f), *f, "{f} is both a chosen form and a variant");
        }
    }

    #[test]
    fn every_entry_survives_nfkc() {
        // An entry NFKC would rewrite first could never be looked up.
        for (v, f) in TABLE.iter().chain(SUPPLEMENTARY.iter()) {
            assert_eq!(
                v.to_string().nfkc().collect::<String>(),
                v.to_string(),
                "{v}"
            );
            assert_eq!(
                f.to_string().nfkc().collect::<String>(),
                f.to_string(),
                "{f}"
            );
        }
    }

    #[test]
    fn known_pairs() {
        assert_eq!(fold('邊'), '辺');
        assert_eq!(fold('邉'), '辺');
        assert_eq!(fold('齋'), '斉');
        assert_eq!(fold('髙'), '高');
        assert_eq!(fold('﨑'), '崎');
        assert_eq!(fold('𠮷'), '吉');
        assert_eq!(fold('辺'), '辺');
        assert_eq!(fold('a'), 'a');
        assert_eq!(
            TABLE.len() + SUPPLEMENTARY.len(),
            63,
            "the module docs give the count"
        );
    }
}
