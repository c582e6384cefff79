//! Linkage quality on the synthetic population: F1 ≥ 0.995 and no twin pair merged.

use niji_linkage::staging::{Selection, read_staging};
use niji_linkage::{LinkOptions, RecordSet, Truth, evaluate, link};

use crate::fixture::{population, runtime};

#[test]
fn default_drift_links_with_f1_above_0_995_and_no_twins_merged() {
    let f = population();
    let mut set = RecordSet::new();
    let started = std::time::Instant::now();
    runtime()
        .block_on(read_staging(
            &f.staging(),
            &Selection::default(),
            &mut set,
            &mut |_| {},
        ))
        .unwrap();
    let read = started.elapsed();
    let linkage = link(&set, &LinkOptions::default());
    let linked = started.elapsed() - read;
    let truth = Truth::load(&f.truth()).unwrap();
    let q = evaluate(&set, &linkage.record_clusters(&set), &truth);
    println!(
        "{} records, {} signatures, {} clusters; read {:.2?}, linked {:.2?}",
        set.len(),
        set.signatures(),
        linkage.clusters,
        read,
        linked
    );
    println!("deterministic: {:?}", linkage.deterministic);
    println!(
        "probabilistic: pairs {} accepted {} merges {} blocked {} lambda {:.4} care by locality {}",
        linkage.score.pairs,
        linkage.score.accepted,
        linkage.score.merges,
        linkage.score.blocked,
        linkage.score.lambda,
        linkage.score.care_locality
    );
    println!("rules: {:?}", linkage.rule_counts(&set));
    for (i, (name, levels)) in niji_linkage::FIELDS.iter().enumerate() {
        println!(
            "  {name:<20} {:?} m {:?} u {:?}",
            levels,
            linkage.score.m.get(i),
            linkage.score.u.get(i)
        );
    }
    println!("{q}");
    assert_eq!(q.unmatched, 0);
    assert_eq!(q.twins_merged, 0, "twins merged");
    assert!(q.twin_pairs > 0, "the population has no twins to test");
    assert!(q.f1() >= 0.995, "F1 {:.5}", q.f1());
}
