//! Per-project pseudonyms and crypto-shredding.

use arrow_array::Int64Array;
use niji_pseudonymize::{Error, ProjectKey};

#[test]
fn two_projects_give_one_person_different_pids() {
    let a = ProjectKey::generate("P-2025-001").unwrap();
    let b = ProjectKey::generate("P-2025-002").unwrap();
    let same = (1..=1000u64).filter(|id| a.pid(*id) == b.pid(*id)).count();
    assert_eq!(same, 0);
    // Within a project the mapping is stable and tells persons apart.
    assert_eq!(a.pid(17), a.pid(17));
    let mut pids: Vec<i64> = (1..=10_000u64).map(|id| a.pid(id)).collect();
    pids.sort_unstable();
    pids.dedup();
    assert_eq!(pids.len(), 10_000);
}

#[test]
fn a_destroyed_key_cannot_be_loaded_or_used_again() {
    let dir = tempfile::tempdir().unwrap();
    let path = ProjectKey::path_in(&dir.path().join("steward"), "P-2025-003").unwrap();
    let key = ProjectKey::create(&path, "P-2025-003").unwrap();
    let ids = Int64Array::from(vec![1, 2, 3]);
    let before = key.pid_array(&ids).unwrap();

    // Loading it again gives the same pids, so they are reproducible until destruction.
    let again = ProjectKey::open(&path, "P-2025-003").unwrap();
    assert_eq!(again.pid_array(&ids).unwrap(), before);
    drop(again);

    // Creating a second key for the project in the same place is refused.
    assert!(matches!(
        ProjectKey::create(&path, "P-2025-003"),
        Err(Error::KeyFileExists { .. })
    ));

    key.destroy().unwrap();
    assert!(!path.exists(), "the key file must be gone");
    assert_eq!(
        std::fs::read_dir(path.parent().unwrap()).unwrap().count(),
        0,
        "no copy left beside it"
    );
    let err = ProjectKey::open(&path, "P-2025-003").unwrap_err();
    assert!(matches!(err, Error::KeyFileMissing { .. }), "{err}");
    assert!(err.to_string().contains("destroyed"), "{err}");

    // A new key for the same project is a different key: the old pids are not reproduced.
    let fresh = ProjectKey::create(&path, "P-2025-003").unwrap();
    let after = fresh.pid_array(&ids).unwrap();
    assert_eq!(after.len(), 3);
    for row in 0..3 {
        assert_ne!(after.value(row), before.value(row));
    }
}
