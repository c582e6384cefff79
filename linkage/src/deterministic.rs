//! The deterministic multi-key stage: records sharing a strong key are united, strongest kind
//! first, unless a guard says the two clusters are different persons.

use crate::cluster::{Births, Guard, UnionFind};
use crate::record::{CARE, FastSet, ID1, ID2, ID4, ID5, NONE, RecordSet};

/// How a signature joined its cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rule {
    /// Alone (or only with records of the same identity).
    Single,
    /// A shared id5.
    Id5,
    /// A shared care key.
    CareKey,
    /// A shared id1.
    Id1,
    /// A shared id4 (kana name).
    Id4,
    /// A shared id2 (name).
    Id2,
    /// The Fellegi–Sunter score.
    Score,
    /// A small cluster and the one cluster of a typo-like birth date at its insurer and
    /// facility.
    NearBirth,
    /// A care-only cluster (no medical number on its claims) and the one medical cluster born
    /// on the same day with the same sex, active at the same time, insured nearest to it.
    CareLocality,
}

impl Rule {
    /// The rule's name in the links table.
    pub fn name(self) -> &'static str {
        match self {
            Rule::Single => "single",
            Rule::Id5 => "id5",
            Rule::CareKey => "care_key",
            Rule::Id1 => "id1",
            Rule::Id4 => "id4",
            Rule::Id2 => "id2",
            Rule::Score => "fellegi_sunter",
            Rule::NearBirth => "near_birth",
            Rule::CareLocality => "care_locality",
        }
    }

    /// The stage that applies the rule.
    pub fn stage(self) -> &'static str {
        match self {
            Rule::Single => "none",
            Rule::Score | Rule::NearBirth | Rule::CareLocality => "probabilistic",
            _ => "deterministic",
        }
    }
}

/// The key kinds of the deterministic stage, in order of strength.
pub(crate) const ORDER: [(usize, Rule); 5] = [
    (ID5, Rule::Id5),
    (CARE, Rule::CareKey),
    (ID1, Rule::Id1),
    (ID4, Rule::Id4),
    (ID2, Rule::Id2),
];

/// What the deterministic stage did.
#[derive(Debug, Default, Clone)]
pub struct DeterministicStats {
    /// Merges per rule.
    pub merges: Vec<(Rule, u64)>,
    /// Merges refused per guard.
    pub blocked: Vec<(Guard, u64)>,
    /// Merges left open because a record fitted more than one cluster.
    pub ambiguous: u64,
}

fn bump<K: PartialEq>(v: &mut Vec<(K, u64)>, k: K) {
    match v.iter_mut().find(|(x, _)| *x == k) {
        Some((_, n)) => *n += 1,
        None => v.push((k, 1)),
    }
}

/// Runs the stage; `rules[sig]` is set for each signature that joins a cluster, and pairs of
/// roots a guard or an ambiguity kept apart are added to `candidates`.
pub(crate) fn run(
    set: &RecordSet,
    uf: &mut UnionFind,
    rules: &mut [Rule],
    candidates: &mut FastSet<(u32, u32)>,
) -> DeterministicStats {
    let mut stats = DeterministicStats::default();
    // (key, signature) per kind, sorted by key: each run is one key group.
    let groups: Vec<Vec<(u32, u32)>> = ORDER
        .iter()
        .map(|&(kind, _)| {
            let mut v: Vec<(u32, u32)> = set
                .sigs
                .iter()
                .enumerate()
                .filter(|(_, s)| s.key.keys[kind] != NONE)
                .map(|(i, s)| (s.key.keys[kind], i as u32))
                .collect();
            v.sort_unstable();
            v
        })
        .collect();
    // A second pass resolves groups that later merges made unambiguous.
    for _pass in 0..3 {
        let mut merged = 0;
        for (&(kind, rule), pairs) in ORDER.iter().zip(&groups) {
            let names = kind == ID2 || kind == ID4;
            for group in pairs.chunk_by(|a, b| a.0 == b.0) {
                if group.len() < 2 {
                    continue;
                }
                merged += merge_group(group, rule, names, uf, rules, candidates, &mut stats);
            }
        }
        if merged == 0 {
            break;
        }
    }
    stats
}

/// Merges the clusters of one key group into as few clusters as the guards allow.
fn merge_group(
    group: &[(u32, u32)],
    rule: Rule,
    names: bool,
    uf: &mut UnionFind,
    rules: &mut [Rule],
    candidates: &mut FastSet<(u32, u32)>,
    stats: &mut DeterministicStats,
) -> u64 {
    let mut roots: Vec<u32> = group.iter().map(|&(_, s)| uf.find(s)).collect();
    roots.sort_unstable();
    roots.dedup();
    if roots.len() < 2 {
        return 0;
    }
    // Clusters with id5 evidence first, then the larger: they anchor the group.
    roots.sort_by_key(|&r| {
        let c = uf.cluster(r);
        (!c.anchored(), std::cmp::Reverse(c.records))
    });
    // id5 holds no birth date and names one insured person: under it, a typo-like birth date
    // is a typo.
    let births = if rule == Rule::Id5 {
        Births::TypoLike
    } else {
        Births::Equal
    };
    let mut bins: Vec<u32> = Vec::new();
    let mut merged = 0;
    for r in roots {
        for b in &mut bins {
            *b = uf.find(*b);
        }
        let mut fits = Vec::new();
        for &b in &bins {
            let guard = uf.conflict(b, r, births, names);
            match guard {
                None => fits.push(b),
                Some(g) => {
                    bump(&mut stats.blocked, g);
                    candidates.insert(ordered(b, r));
                }
            }
        }
        match fits.as_slice() {
            [] => bins.push(r),
            [b] => {
                let b = *b;
                for x in [b, r] {
                    if rules[x as usize] == Rule::Single {
                        rules[x as usize] = rule;
                    }
                }
                uf.union_roots(b, r);
                bump(&mut stats.merges, rule);
                merged += 1;
            }
            many => {
                stats.ambiguous += 1;
                for &b in many {
                    candidates.insert(ordered(b, r));
                }
            }
        }
    }
    merged
}

pub(crate) fn ordered(a: u32, b: u32) -> (u32, u32) {
    if a < b { (a, b) } else { (b, a) }
}
