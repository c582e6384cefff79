//! Known-answer tests: RFC 4231 HMAC-SHA256 vectors, and link keys computed independently.

use arrow_array::{Array, BinaryArray, StringArray};
use hmac::{KeyInit, Mac};
use niji_pseudonymize::{HmacSha256, Identity, KeyKind, LinkKeyer, MemoryKeyStore, SecretKey};

use crate::hex;

/// RFC 4231 section 4, test cases 1–4, 6 and 7 (case 5 truncates the output to 128 bits).
fn rfc4231() -> Vec<(&'static str, Vec<u8>, Vec<u8>, &'static str)> {
    vec![
        (
            "1",
            vec![0x0b; 20],
            b"Hi There".to_vec(),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
        ),
        (
            "2",
            b"Jefe".to_vec(),
            b"what do ya want for nothing?".to_vec(),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
        ),
        (
            "3",
            vec![0xaa; 20],
            vec![0xdd; 50],
            "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
        ),
        (
            "4",
            (1..=25).collect(),
            vec![0xcd; 50],
            "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
        ),
        (
            "6",
            vec![0xaa; 131],
            b"Test Using Larger Than Block-Size Key - Hash Key First".to_vec(),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
        ),
        (
            "7",
            vec![0xaa; 131],
            b"This is a test using a larger than block-size key and a larger than block-size data. \
The key needs to be hashed before being used by the HMAC algorithm."
                .to_vec(),
            "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
        ),
    ]
}

#[test]
fn rfc4231_vectors_single() {
    for (case, key, data, want) in rfc4231() {
        assert_eq!(
            hex(&HmacSha256::new(&key).mac(&data)),
            want,
            "test case {case}"
        );
        let mut reference = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
        reference.update(&data);
        assert_eq!(
            hex(&reference.finalize().into_bytes()),
            want,
            "hmac crate, test case {case}"
        );
    }
}

#[test]
fn rfc4231_vectors_batch() {
    for (case, key, data, want) in rfc4231() {
        let array = BinaryArray::from(vec![Some(data.as_slice()), None, Some(data.as_slice())]);
        let out = HmacSha256::new(&key).mac_array(&array);
        assert_eq!(out.value_length(), 32);
        assert_eq!(hex(out.value(0)), want, "test case {case}");
        assert!(out.is_null(1));
        assert_eq!(hex(out.value(2)), want, "test case {case}");
    }
}

fn store(n: u8) -> MemoryKeyStore {
    MemoryKeyStore::from_keys((1..=n).map(|i| SecretKey::from_bytes([i; 32])))
}

/// The expected values were computed with Python's `hmac` module from the message layout the
/// crate documents, not with this crate.
#[test]
fn link_keys_match_an_independent_computation() {
    let s = store(2);
    let v1 = LinkKeyer::at_version(&s, 1).unwrap();
    let v2 = LinkKeyer::new(&s).unwrap();
    let person = Identity::new()
        .kana_name("ｻﾄｳ ﾀﾛｳ")
        .birth_date("S55.4.5")
        .sex("男");
    // HMAC(K1, "id4␟サトウタロウ␟19800405␟1")
    let k1 = v1.key(KeyKind::Id4, &person).unwrap();
    assert_eq!(
        hex(k1.bytes()),
        "2fba259f0b6069b728173db45b450618e53990fbb9fc049847f72aa432dc65b3"
    );
    // HMAC(K2, "rekey␟id4␟" ‖ k1)
    let k2 = v2.key(KeyKind::Id4, &person).unwrap();
    assert_eq!(
        hex(k2.bytes()),
        "3ed9ef7c47b631a82b0928fbb7ab4078ac9dc1432d70739ac7817b4cf2929fc1"
    );
    assert_eq!(k2.version(), 2);

    // A 国保 number (6 digits) written full-width: HMAC(K1, "id1␟00138107␟19D0001␟187␟19800405␟2").
    let kokuho = Identity::new()
        .insurer_number("１３８１０７")
        .symbol("１９Ｄ０００１")
        .number(" 187")
        .birth_date("昭和55年4月5日")
        .sex("2");
    let k = v1.key(KeyKind::Id1, &kokuho).unwrap();
    assert_eq!(
        hex(k.bytes()),
        "55c0a188a0698928d8cd6a7d7600c260a73b8cec4151d8a460aca70b452a190d"
    );
}

#[test]
fn batch_and_single_agree_on_the_known_answer() {
    let keyer = LinkKeyer::at_version(&store(1), 1).unwrap();
    let kana = StringArray::from(vec!["さとう　たろう", "ｻﾄｳﾀﾛｳ"]);
    let birth = StringArray::from(vec!["1980-04-05", "3550405"]);
    let sex = StringArray::from(vec!["1", "M"]);
    let batch = keyer
        .key_batch(KeyKind::Id4, &[&kana, &birth, &sex])
        .unwrap();
    assert!(batch.errors.is_empty());
    for row in 0..2 {
        assert_eq!(
            hex(batch.keys.value(row)),
            "2fba259f0b6069b728173db45b450618e53990fbb9fc049847f72aa432dc65b3",
            "row {row}"
        );
    }
}
