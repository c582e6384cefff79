//! Rotation: links made before and after a rotation still match, without the raw identifiers.

use arrow_array::{Array, StringArray};
use niji_pseudonymize::{Error, Identity, KeyKind, KeyStore, LinkKey, LinkKeyer, LocalKeyFile};

fn people() -> Vec<Identity<'static>> {
    vec![
        Identity::new()
            .insurer_number("06130488")
            .symbol("１９Ｄ")
            .number("187")
            .branch("01")
            .birth_date("3550405")
            .sex("1")
            .kana_name("ｻﾄｳ ﾀﾛｳ")
            .name("佐藤 太郎"),
        Identity::new()
            .insurer_number("138107")
            .symbol("")
            .number("00042")
            .branch("")
            .birth_date("1991-12-31")
            .sex("2")
            .kana_name("わたなべ　はなこ")
            .name("渡邊 花子"),
    ]
}

#[test]
fn rekeyed_old_keys_equal_new_keys_from_raw_identifiers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("steward/keys.json");
    let mut file = LocalKeyFile::create(&path).unwrap();

    // Before the rotation: link keys at version 1, stored as bytes.
    let v1 = LinkKeyer::new(&file).unwrap();
    assert_eq!(v1.version(), 1);
    let mut stored: Vec<(KeyKind, [u8; 32])> = Vec::new();
    for person in people() {
        for kind in [KeyKind::Id1, KeyKind::Id2, KeyKind::Id4, KeyKind::Id5] {
            stored.push((kind, *v1.key(kind, &person).unwrap().bytes()));
        }
    }

    // Rotate; reopen the file as a new process would.
    let added = file.rotate().unwrap();
    assert_eq!(added.version, 2);
    let reopened = LocalKeyFile::open(&path).unwrap();
    assert_eq!(reopened.current_version().unwrap(), 2);
    let versions = reopened.versions().unwrap();
    assert_eq!(versions.len(), 2);
    assert_ne!(versions[0].fingerprint, versions[1].fingerprint);
    let v2 = LinkKeyer::new(&reopened).unwrap();

    // Re-key the stored bytes (no raw identifiers), then hash the raw identifiers at v2.
    let mut i = 0;
    for person in people() {
        for kind in [KeyKind::Id1, KeyKind::Id2, KeyKind::Id4, KeyKind::Id5] {
            let (k, old) = stored[i];
            assert_eq!(k, kind);
            let rekeyed = v2.rekey(kind, &old, 1).unwrap();
            let fresh = v2.key(kind, &person).unwrap();
            assert_eq!(&rekeyed, fresh.bytes(), "{kind} of person {i}");
            assert_ne!(&old, fresh.bytes(), "{kind}: rotation must change the key");
            let upgraded = v2.upgrade(&LinkKey::from_parts(kind, 1, old)).unwrap();
            assert_eq!(upgraded, fresh);
            i += 1;
        }
    }
}

#[test]
fn batches_across_two_rotations() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.json");
    let mut file = LocalKeyFile::create(&path).unwrap();
    let kana = StringArray::from(vec![Some("ｽｽﾞｷ"), None, Some("タナカ")]);
    let birth = StringArray::from(vec!["19800405", "19800405", "H020202"]);
    let sex = StringArray::from(vec!["1", "2", "2"]);
    let cols: [&dyn Array; 3] = [&kana, &birth, &sex];
    let old = LinkKeyer::new(&file)
        .unwrap()
        .key_batch(KeyKind::Id4, &cols)
        .unwrap();
    assert_eq!(old.version, 1);
    file.rotate().unwrap();
    file.rotate().unwrap();
    let v3 = LinkKeyer::new(&file).unwrap();
    let fresh = v3.key_batch(KeyKind::Id4, &cols).unwrap();
    assert_eq!(fresh.version, 3);
    assert_eq!(
        v3.upgrade_batch(KeyKind::Id4, 1, &old.keys).unwrap(),
        fresh.keys
    );
    // A v2 keyer cannot bring v3 keys back.
    let v2 = LinkKeyer::at_version(&file, 2).unwrap();
    assert!(matches!(
        v2.upgrade_batch(KeyKind::Id4, 3, &fresh.keys),
        Err(Error::Downgrade { from: 3, to: 2 })
    ));
}

#[test]
fn kinds_stay_apart_after_rekeying() {
    let dir = tempfile::tempdir().unwrap();
    let mut file = LocalKeyFile::create(dir.path().join("keys.json")).unwrap();
    file.rotate().unwrap();
    let v2 = LinkKeyer::new(&file).unwrap();
    let same = [0x42u8; 32];
    let a = v2.rekey(KeyKind::Id1, &same, 1).unwrap();
    let b = v2.rekey(KeyKind::Id5, &same, 1).unwrap();
    assert_ne!(a, b);
}

#[test]
fn init_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.json");
    let first = LocalKeyFile::create(&path).unwrap();
    let before = std::fs::read(&path).unwrap();
    let err = LocalKeyFile::create(&path).unwrap_err();
    assert!(matches!(err, Error::KeyFileExists { .. }), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), before);
    assert_eq!(
        LocalKeyFile::open(&path).unwrap().versions().unwrap(),
        first.versions().unwrap()
    );
}
