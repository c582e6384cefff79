//! The whole in-memory linkage: deterministic stage, then probabilistic stage, then dense
//! cluster numbers per record.

use crate::cluster::UnionFind;
use crate::deterministic::{self, DeterministicStats, Rule};
use crate::probabilistic::{self, ScoreOptions, ScoreStats};
use crate::record::{FastSet, RecordSet};

/// Settings of a linkage run.
#[derive(Debug, Clone, Default)]
pub struct LinkOptions {
    /// The probabilistic stage's settings.
    pub score: ScoreOptions,
    /// Skip the probabilistic stage (deterministic links only).
    pub deterministic_only: bool,
}

/// Seconds taken by each stage of a linkage run.
#[derive(Debug, Clone, Copy, Default)]
pub struct StageSeconds {
    /// The shared-key stage under its guards.
    pub deterministic: f64,
    /// Fellegi–Sunter and the near-birth and care-locality rules.
    pub probabilistic: f64,
}

/// The result: a cluster number for every record, and how each record was linked.
#[derive(Debug, Clone)]
pub struct Linkage {
    /// Dense cluster number of each signature.
    sig_cluster: Vec<u32>,
    /// How each signature joined its cluster.
    rules: Vec<Rule>,
    /// The match weight for signatures linked by score.
    weights: Vec<f32>,
    /// Number of clusters.
    pub clusters: usize,
    pub deterministic: DeterministicStats,
    pub score: ScoreStats,
    /// Seconds each stage took.
    pub seconds: StageSeconds,
}

impl Linkage {
    /// The cluster of record `i`.
    pub fn cluster(&self, set: &RecordSet, i: usize) -> u32 {
        self.sig_cluster[set.sig[i] as usize]
    }

    /// The cluster of every record, in record order.
    pub fn record_clusters(&self, set: &RecordSet) -> Vec<u32> {
        set.sig
            .iter()
            .map(|&s| self.sig_cluster[s as usize])
            .collect()
    }

    /// The rule that linked record `i`, and its weight (0 for deterministic rules).
    pub fn rule(&self, set: &RecordSet, i: usize) -> (Rule, f32) {
        let s = set.sig[i] as usize;
        (self.rules[s], self.weights[s])
    }

    /// Records linked per rule.
    pub fn rule_counts(&self, set: &RecordSet) -> Vec<(Rule, u64)> {
        let mut counts = std::collections::BTreeMap::new();
        for &s in &set.sig {
            *counts.entry(self.rules[s as usize]).or_insert(0u64) += 1;
        }
        counts.into_iter().collect()
    }
}

/// Links the records of `set`.
pub fn link(set: &RecordSet, opts: &LinkOptions) -> Linkage {
    let started = std::time::Instant::now();
    let mut uf = UnionFind::new(set);
    let n = uf.len();
    let mut rules = vec![Rule::Single; n];
    let mut weights = vec![0f32; n];
    let mut candidates: FastSet<(u32, u32)> = FastSet::default();
    let deterministic = deterministic::run(set, &mut uf, &mut rules, &mut candidates);
    let deterministic_secs = started.elapsed().as_secs_f64();
    let score = if opts.deterministic_only {
        ScoreStats::default()
    } else {
        probabilistic::run(
            set,
            &mut uf,
            &candidates,
            &mut rules,
            &mut weights,
            &opts.score,
        )
    };
    let mut dense = vec![u32::MAX; n];
    let mut next = 0u32;
    let mut sig_cluster = vec![0u32; n];
    for s in 0..n as u32 {
        let r = uf.find(s) as usize;
        if dense[r] == u32::MAX {
            dense[r] = next;
            next += 1;
        }
        sig_cluster[s as usize] = dense[r];
    }
    Linkage {
        sig_cluster,
        rules,
        weights,
        clusters: next as usize,
        deterministic,
        score,
        seconds: StageSeconds {
            deterministic: deterministic_secs,
            probabilistic: started.elapsed().as_secs_f64() - deterministic_secs,
        },
    }
}

#[cfg(test)]
mod tests {
    use niji_core::Source;

    use super::*;
    use crate::record::RecordIn;

    /// A record: keys by number (0 = none), in the order id1, id2, id4, id5, care. A record
    /// with a care key is a care claim.
    struct R {
        month: u32,
        birth: i32,
        insurer: &'static str,
        keys: [u8; 5],
    }

    fn set(records: &[R]) -> RecordSet {
        let keys: Vec<[u8; 32]> = (0..=255u8).map(|k| [k; 32]).collect();
        let mut set = RecordSet::new();
        for (i, r) in records.iter().enumerate() {
            let id = format!("r{i}");
            // One file per month, as a UKE file is one facility's month.
            let file = format!("f{}", r.month);
            let k = r.keys.map(|n| (n != 0).then(|| &keys[n as usize]));
            set.push(&RecordIn {
                record_id: &id,
                source: if r.keys[4] == 0 {
                    Source::NdbMed
                } else {
                    Source::Care
                },
                month: 2024 * 12 + r.month,
                facility: Some("clinic"),
                sex: 2,
                birth: Some(r.birth),
                insurer: Some(r.insurer),
                keys: k,
                file: &file,
                line: i as u32 + 1,
            })
            .unwrap();
        }
        set
    }

    fn clusters(records: &[R]) -> Vec<u32> {
        let s = set(records);
        link(&s, &LinkOptions::default()).record_clusters(&s)
    }

    #[test]
    fn twins_share_a_card_but_stay_apart() {
        // id1 10 is the shared card; id5 20/21 and names 30/31 differ. One twin is seen in
        // months 0–1, the other in months 3–4: no month in common.
        let c = clusters(&[
            R {
                month: 0,
                birth: 9000,
                insurer: "06130488",
                keys: [10, 30, 40, 20, 0],
            },
            R {
                month: 1,
                birth: 9000,
                insurer: "06130488",
                keys: [10, 30, 40, 20, 0],
            },
            R {
                month: 3,
                birth: 9000,
                insurer: "06130488",
                keys: [10, 31, 41, 21, 0],
            },
            R {
                month: 4,
                birth: 9000,
                insurer: "06130488",
                keys: [10, 31, 41, 21, 0],
            },
            // A record without 枝番 (old spec) of the second twin: linked by its names.
            R {
                month: 4,
                birth: 9000,
                insurer: "06130488",
                keys: [10, 31, 41, 0, 0],
            },
        ]);
        assert_ne!(c[0], c[2]);
        assert_eq!(c[0], c[1]);
        assert_eq!(c[2], c[3]);
        assert_eq!(c[3], c[4]);
    }

    #[test]
    fn twins_with_one_reading_of_their_names_stay_apart_when_a_file_holds_both() {
        // Infant twins on one card (id1 10) whose receipts carry no 枝番 (no id5): their kanji
        // names (id2 30/31) differ, the kana (id4 40) is the same. One twin is seen only in
        // month 3, in the same clinic's file as the other.
        let twin = |month, name| R {
            month,
            birth: 9000,
            insurer: "06130488",
            keys: [10, name, 40, 0, 0],
        };
        let c = clusters(&[twin(0, 30), twin(1, 30), twin(3, 30), twin(3, 31)]);
        assert_eq!(c[..3], [c[0]; 3]);
        assert_ne!(c[3], c[0], "the twin seen once joined the other");
        // In a file of its own, the other name is a spelling variant of the one person: the
        // card and the kana agree, and nothing says two persons.
        let c = clusters(&[twin(0, 30), twin(1, 30), twin(3, 30), twin(4, 31)]);
        assert_eq!(c, [c[0]; 4]);
    }

    #[test]
    fn a_birth_date_typo_is_linked_by_its_id5() {
        // The typo changes every key that holds the birth date; id5 (no birth date) stays.
        let mut records = vec![
            R {
                month: 0,
                birth: 9000,
                insurer: "06130488",
                keys: [10, 30, 40, 20, 0],
            },
            R {
                month: 1,
                birth: 9000,
                insurer: "06130488",
                keys: [10, 30, 40, 20, 0],
            },
            R {
                month: 2,
                birth: 9001,
                insurer: "06130488",
                keys: [11, 32, 42, 20, 0],
            },
        ];
        // Other persons born in the same month, so that u can be estimated.
        for k in 0..40u8 {
            for month in 0..2 {
                records.push(R {
                    month,
                    birth: 8990 + i32::from(k % 20),
                    insurer: "06130488",
                    keys: [100 + k, 0, 0, 150 + k, 0],
                });
            }
        }
        let s = set(&records);
        let l = link(&s, &LinkOptions::default());
        let c = l.record_clusters(&s);
        assert_eq!(c[0], c[2]);
        assert_ne!(c[0], c[3]);
        assert_eq!(l.rule(&s, 2).0, Rule::Id5);
    }

    /// Five monthly records of one identity.
    fn person(birth: i32, insurer: &'static str, keys: [u8; 5]) -> Vec<R> {
        (0..5)
            .map(|month| R {
                month,
                birth,
                insurer,
                keys,
            })
            .collect()
    }

    #[test]
    fn a_typo_without_id5_joins_the_one_cluster_of_a_typo_like_birth_date() {
        let typo = R {
            month: 2,
            birth: 9001,
            insurer: "06130488",
            keys: [11, 32, 42, 0, 0],
        };
        let mut records = vec![typo];
        records.extend(person(9000, "06130488", [10, 30, 40, 20, 0]));
        records.extend(person(9100, "06130488", [12, 33, 43, 22, 0]));
        let s = set(&records);
        let l = link(&s, &LinkOptions::default());
        let c = l.record_clusters(&s);
        assert_eq!(c[0], c[1]);
        assert_ne!(c[0], c[6]);
        assert_eq!(l.rule(&s, 0).0, Rule::NearBirth);
        // With a twin (same birth date, sex and insurer) the typo belongs to neither for sure.
        records.extend(person(9000, "06130488", [13, 34, 44, 23, 0]));
        let c = clusters(&records);
        assert_ne!(c[0], c[1]);
        assert_ne!(c[0], c[11]);
        assert_ne!(c[1], c[11]);
    }

    #[test]
    fn care_claims_without_the_medical_number_join_the_cluster_of_their_municipality() {
        // The care insurer is the municipality 13-101; person 1 has its 国保, person 2 lives in
        // the same prefecture under 協会けんぽ. Both were born on the care claims' birth date.
        let care = |month| R {
            month,
            birth: 9000,
            insurer: "00131016",
            keys: [0, 0, 0, 0, 50],
        };
        let mut records = vec![care(1), care(2)];
        records.extend(person(9000, "00131016", [10, 30, 40, 20, 0]));
        records.extend(person(9000, "01130012", [11, 31, 41, 21, 0]));
        let s = set(&records);
        let l = link(&s, &LinkOptions::default());
        let c = l.record_clusters(&s);
        assert_eq!(c[0], c[1]);
        assert_eq!(c[0], c[2]);
        assert_ne!(c[0], c[7]);
        assert_eq!(l.rule(&s, 0).0, Rule::CareLocality);
        // Two medical clusters of that municipality: neither.
        records.extend(person(9000, "00131016", [12, 32, 42, 22, 0]));
        let c = clusters(&records);
        assert_ne!(c[0], c[2]);
        assert_ne!(c[0], c[12]);
        assert_ne!(c[2], c[12]);
    }

    #[test]
    fn an_insurer_change_is_linked_by_name_and_a_marriage_by_card() {
        // Insurer change: new card and id5, same names. Then marriage: new names, same card.
        let c = clusters(&[
            R {
                month: 0,
                birth: 9000,
                insurer: "06130488",
                keys: [10, 30, 40, 20, 0],
            },
            R {
                month: 3,
                birth: 9000,
                insurer: "39131002",
                keys: [11, 30, 40, 21, 0],
            },
            R {
                month: 6,
                birth: 9000,
                insurer: "39131002",
                keys: [11, 33, 43, 21, 0],
            },
        ]);
        assert_eq!(c[0], c[1]);
        assert_eq!(c[1], c[2]);
    }

    #[test]
    fn common_names_under_two_insurers_in_one_month_stay_apart() {
        let c = clusters(&[
            R {
                month: 0,
                birth: 9000,
                insurer: "06130488",
                keys: [10, 30, 40, 0, 0],
            },
            R {
                month: 0,
                birth: 9000,
                insurer: "39131002",
                keys: [11, 30, 40, 0, 0],
            },
        ]);
        assert_ne!(c[0], c[1]);
    }
}
