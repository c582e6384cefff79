//! Property tests: normalisation is idempotent, kinds never collide, the fast HMAC is HMAC.

use arrow_array::StringArray;
use hmac::{KeyInit, Mac};
use niji_pseudonymize::{
    Field, HmacSha256, Identity, KeyKind, LinkKeyer, MemoryKeyStore, SecretKey, normalize,
};
use proptest::prelude::*;

/// Characters that exercise every rule: kana of both widths and scripts, small kana, voiced
/// marks (combining, spacing and half-width), spaces of every kind, dashes and separators,
/// kanji variants and their chosen forms, compatibility ideographs, digits and Latin of both
/// widths, variation selectors, controls and the separator byte itself.
const ALPHABET: &[char] = &[
    'あ',
    'か',
    'う',
    'っ',
    'ゃ',
    'ぁ',
    'ゕ',
    'ゝ',
    'ア',
    'カ',
    'ウ',
    'ッ',
    'ャ',
    'ァ',
    'ヵ',
    'ヶ',
    'ヮ',
    'ヽ',
    'ｱ',
    'ｶ',
    'ｳ',
    'ｯ',
    'ｬ',
    'ﾞ',
    'ﾟ',
    'ｰ',
    '･',
    '\u{3099}',
    '\u{309A}',
    '゛',
    '゜',
    'ㇰ',
    'ㇷ',
    ' ',
    '　',
    '\t',
    '\u{A0}',
    '\u{200B}',
    'ー',
    '-',
    '－',
    '‐',
    '―',
    '〜',
    '・',
    '＝',
    '渡',
    '邊',
    '邉',
    '辺',
    '齋',
    '斉',
    '斎',
    '髙',
    '高',
    '﨑',
    '崎',
    '\u{FA10}',
    '𠮷',
    '々',
    '1',
    '１',
    '9',
    '９',
    'a',
    'A',
    'ａ',
    'Ｚ',
    'ß',
    '\u{FE00}',
    '\u{E0100}',
    '\u{1F}',
    '\u{0}',
    '\n',
    'é',
    'e',
    '\u{301}',
    '\u{316}',
    '㈱',
    '①',
    'Å',
];

fn tricky() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(ALPHABET), 0..24)
        .prop_map(|cs| cs.into_iter().collect())
}

fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![tricky(), any::<String>()]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn normalisation_is_idempotent(field in prop::sample::select(Field::ALL.to_vec()), raw in any_text()) {
        if let Ok(once) = normalize::normalize(field, &raw) {
            let twice = normalize::normalize(field, &once);
            prop_assert_eq!(twice.as_ref().ok(), Some(&once), "{} not idempotent", field);
            prop_assert!(!once.contains('\u{1F}'), "separator survived in {}", field);
        }
    }

    #[test]
    fn kinds_never_share_a_key(values in prop::collection::vec(any_text(), 5)) {
        let keyer = LinkKeyer::new(&MemoryKeyStore::from_keys([SecretKey::from_bytes([5; 32])])).unwrap();
        let keys: Vec<_> = KeyKind::ALL
            .iter()
            .map(|k| keyer.key_normalized(*k, &values[..k.fields().len()]).unwrap())
            .collect();
        for (i, a) in keys.iter().enumerate() {
            for b in &keys[i + 1..] {
                prop_assert_ne!(a.bytes(), b.bytes(), "{} and {} collide", a.kind(), b.kind());
            }
        }
    }

    #[test]
    fn one_identity_gives_distinct_keys_per_kind(
        digits in "[1-9][0-9]{5}",
        number in "[0-9]{1,8}",
        kana in "[ア-ン]{1,8}",
    ) {
        // A valid 国保 number from random digits.
        let insurer = niji_core::checkdigit::append(&digits[..5]);
        let identity = Identity::new()
            .insurer_number(&insurer)
            .symbol(&number)
            .number(&number)
            .branch("01")
            .birth_date("19800405")
            .sex("1")
            .name(&kana)
            .kana_name(&kana)
            .care_insured_number("0001234567")
            .care_insurer_number(&digits);
        let keyer = LinkKeyer::new(&MemoryKeyStore::from_keys([SecretKey::from_bytes([6; 32])])).unwrap();
        let keys: Vec<_> = KeyKind::ALL.iter().map(|k| keyer.key(*k, &identity).unwrap()).collect();
        for (i, a) in keys.iter().enumerate() {
            for b in &keys[i + 1..] {
                prop_assert_ne!(a.bytes(), b.bytes());
            }
        }
    }

    #[test]
    fn fast_hmac_equals_the_hmac_crate(
        key in prop::collection::vec(any::<u8>(), 0..150),
        msg in prop::collection::vec(any::<u8>(), 0..200),
    ) {
        let mut reference = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
        reference.update(&msg);
        let want: [u8; 32] = reference.finalize().into_bytes().into();
        prop_assert_eq!(HmacSha256::new(&key).mac(&msg), want);
    }

    #[test]
    fn batch_equals_one_at_a_time(rows in prop::collection::vec((tricky(), "[1-5][0-9]{6}", "[12]"), 1..20)) {
        let store = MemoryKeyStore::from_keys([SecretKey::from_bytes([7; 32]), SecretKey::from_bytes([8; 32])]);
        let keyer = LinkKeyer::new(&store).unwrap();
        let names = StringArray::from_iter_values(rows.iter().map(|r| r.0.as_str()));
        let births = StringArray::from_iter_values(rows.iter().map(|r| r.1.as_str()));
        let sexes = StringArray::from_iter_values(rows.iter().map(|r| r.2.as_str()));
        let batch = keyer.key_batch(KeyKind::Id2, &[&names, &births, &sexes]).unwrap();
        let mut errors = batch.errors.iter().map(|e| e.row).peekable();
        for (row, (name, birth, sex)) in rows.iter().enumerate() {
            let single = keyer.key(KeyKind::Id2, &Identity::new().name(name).birth_date(birth).sex(sex));
            match single {
                Ok(k) => prop_assert_eq!(batch.keys.value(row), k.bytes()),
                Err(_) => {
                    prop_assert!(arrow_array::Array::is_null(&batch.keys, row));
                    prop_assert_eq!(errors.next(), Some(row));
                }
            }
        }
        prop_assert_eq!(errors.next(), None);
    }
}
