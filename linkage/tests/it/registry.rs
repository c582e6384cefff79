//! Stable person ids: linking the second year after the first gives the same persons as
//! linking both at once, and no person id given in the first run changes (except persons the
//! new evidence merged, each recorded in the lineage).

use std::collections::HashMap;

use niji_linkage::registry::{Previous, Registry, assign};
use niji_linkage::staging::{Selection, read_staging};
use niji_linkage::{LinkOptions, RecordSet, link};

use crate::fixture::{population, runtime};

/// Links the selected staging rows into the registry at `zone`; returns record → person.
fn run_job(
    zone: &niji_lake::ZoneRoot,
    selection: &Selection,
    job: &str,
) -> (HashMap<String, i64>, Vec<(i64, i64)>, usize) {
    let f = population();
    let rt = runtime();
    let registry = Registry::new(zone.clone());
    let previous: Previous = rt.block_on(registry.load()).unwrap();
    let mut set = RecordSet::new();
    rt.block_on(read_staging(&f.staging(), selection, &mut set, &mut |_| {}))
        .unwrap();
    let linkage = link(&set, &LinkOptions::default());
    let a = assign(&set, &linkage, &previous, job);
    rt.block_on(registry.write(job, &set, &linkage, &a))
        .unwrap();
    let map = (0..set.len())
        .map(|i| {
            (
                set.record_id(i).to_owned(),
                a.person_of[linkage.cluster(&set, i) as usize],
            )
        })
        .collect();
    (map, a.merges, a.splits.len())
}

/// Two record → person maps describe the same partition.
fn same_partition(a: &HashMap<String, i64>, b: &HashMap<String, i64>) -> bool {
    let mut ab: HashMap<i64, i64> = HashMap::new();
    let mut ba: HashMap<i64, i64> = HashMap::new();
    a.len() == b.len()
        && a.iter().all(|(r, &x)| {
            let Some(&y) = b.get(r) else { return false };
            *ab.entry(x).or_insert(y) == y && *ba.entry(y).or_insert(x) == x
        })
}

#[test]
fn month_by_month_gives_the_same_persons_and_keeps_every_id() {
    let dir = tempfile::tempdir().unwrap();
    let zone = niji_lake::ZoneRoot::parse(dir.path().join("inc").to_str().unwrap()).unwrap();
    let first_year = Selection {
        months: Some(("2023-01".into(), "2023-12".into())),
        ..Default::default()
    };
    let (first, _, _) = run_job(&zone, &first_year, "link-1");
    let (second, merges, splits) = run_job(&zone, &Selection::default(), "link-2");
    println!("incremental: {} merges, {splits} splits", merges.len());
    // A person keeps its id; the only change allowed is a merge the second year's evidence
    // revealed, recorded in the lineage (the absorbed person points to the kept one).
    assert_eq!(splits, 0);
    for (r, p) in &first {
        let now = second[r];
        assert!(
            now == *p || merges.contains(&(*p, now)),
            "a person id of the first run changed without a recorded merge"
        );
    }
    assert!(
        merges.len() * 100
            <= first
                .values()
                .collect::<std::collections::HashSet<_>>()
                .len()
    );

    let zone = niji_lake::ZoneRoot::parse(dir.path().join("once").to_str().unwrap()).unwrap();
    let (once, _, _) = run_job(&zone, &Selection::default(), "link-1");
    assert!(same_partition(&second, &once));
    // Loading the registry back gives the links just written.
    let previous = runtime().block_on(Registry::new(zone).load()).unwrap();
    assert_eq!(previous.links.len(), once.len());
    for (r, p) in &once {
        assert_eq!(previous.links.get(r), Some(*p));
    }
    assert_eq!(previous.links.get("no such record"), None);
}
