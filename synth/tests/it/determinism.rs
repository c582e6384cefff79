//! Same arguments, byte-identical output; another seed, other output.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use crate::files;

fn digest(dir: &std::path::Path) -> BTreeMap<String, Vec<u8>> {
    files(dir, "")
        .into_iter()
        .map(|p| {
            (
                p.strip_prefix(dir).unwrap().to_string_lossy().into_owned(),
                Sha256::digest(std::fs::read(&p).unwrap()).to_vec(),
            )
        })
        .collect()
}

fn run(seed: u64) -> (tempfile::TempDir, niji_synth::Summary) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let mut params = niji_synth::Params::new(400, 1, seed);
    params.region_size = 200;
    let s = niji_synth::generate(&params, &out, &mut |_| {}).unwrap();
    (dir, s)
}

#[test]
fn two_runs_with_one_seed_are_byte_identical() {
    let (a, sa) = run(11);
    let (b, _) = run(11);
    let (c, _) = run(12);
    let (da, db, dc) = (
        digest(&a.path().join("out")),
        digest(&b.path().join("out")),
        digest(&c.path().join("out")),
    );
    assert!(da.len() > 20);
    assert_eq!(da, db);
    assert_ne!(da, dc);
    assert_eq!(
        sa.total().files + 4,
        da.len() as u64,
        "summary counts every file but the four truth files"
    );
}

#[test]
fn refuses_a_non_empty_output_folder_and_bad_parameters() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("keep.txt"), "x").unwrap();
    let err = niji_synth::generate(&niji_synth::Params::new(10, 1, 1), dir.path(), &mut |_| {})
        .unwrap_err();
    assert!(err.to_string().contains("not empty"), "{err}");
    assert!(dir.path().join("keep.txt").exists());
    let err = niji_synth::generate(
        &niji_synth::Params::new(0, 1, 1),
        &dir.path().join("new"),
        &mut |_| {},
    )
    .unwrap_err();
    assert!(err.to_string().contains("persons"), "{err}");
}
