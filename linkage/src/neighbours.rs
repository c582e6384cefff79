//! Links Fellegi–Sunter cannot weigh: small clusters whose keys cannot agree with anyone's,
//! joined to the one cluster their other evidence points to, and only when it is the only one.

use crate::birth::{birth_level, typo_variants};
use crate::cluster::{Births, Cluster, UnionFind};
use crate::deterministic::Rule;
use crate::record::{CARE, FastMap, ID1, ID2, ID4, ID5, NO_BIRTH, RecordSet};

/// Clusters of at most this many records may be a mistyped birth date.
const TYPO_RECORDS: u32 = 2;

/// Up to this many candidates at an insurer and facility, each is checked for a typo-like
/// birth date; beyond, the typo-like dates (about 70) are looked up in the run instead.
const SHORT_RUN: usize = 16;

/// A record with a mistyped birth date carries keys no other record has (id1, id2 and id4 are
/// hashed over the birth date), so it stays a small cluster of its own. It joins a larger cluster
/// of the same sex whose birth date is typo-like (a day or a year off, swapped digits, month
/// and day swapped, one digit of the year or the month), insured by the same insurer and seen at one of its facilities
/// in the same months (give or take one), when exactly one such cluster exists and no other
/// cluster of its insurer shares its birth date and sex (a twin).
pub(crate) fn near_birth(uf: &mut UnionFind, rules: &mut [Rule]) -> u64 {
    let roots = uf.roots();
    // (sex, insurer, facility, birth date, root), sorted: who is seen at an insurer and a
    // facility, by birth date.
    let mut index: Vec<(u8, u32, u32, i32, u32)> = Vec::new();
    // Clusters per (sex, insurer, birth date): two are twins or one person split, and a
    // typo-like record between them belongs to neither for sure.
    let mut born: FastMap<(u8, u32, i32), u32> = FastMap::default();
    for &r in &roots {
        let c = uf.cluster(r);
        if c.birth == NO_BIRTH {
            continue;
        }
        for &(insurer, _) in &c.insurer_months {
            *born.entry((c.sex, insurer, c.birth)).or_default() += 1;
            if c.records > 1 {
                for &f in &c.facilities {
                    index.push((c.sex, insurer, f, c.birth, r));
                }
            }
        }
    }
    index.sort_unstable();
    // The small clusters' (sex, insurer, facility), sorted the same way: one walk over both
    // finds each query's run of the index (a binary search per query would wait on memory).
    let mut queries: Vec<(u8, u32, u32, u32)> = Vec::new();
    for &r in &roots {
        let c = uf.cluster(r);
        if c.records > TYPO_RECORDS || c.birth == NO_BIRTH {
            continue;
        }
        for &(insurer, _) in &c.insurer_months {
            for &f in &c.facilities {
                queries.push((c.sex, insurer, f, r));
            }
        }
    }
    queries.sort_unstable();
    // (small, other) for every typo-like cluster found.
    let mut found: Vec<(u32, u32)> = Vec::new();
    let mut hi = 0;
    for group in queries.chunk_by(|a, b| (a.0, a.1, a.2) == (b.0, b.1, b.2)) {
        let (sex, insurer, f, _) = group[0];
        let at = (sex, insurer, f);
        // Both lists are sorted: the index is walked once.
        let mut lo = hi;
        while index.get(lo).is_some_and(|e| (e.0, e.1, e.2) < at) {
            lo += 1;
        }
        hi = lo;
        while index.get(hi).is_some_and(|e| (e.0, e.1, e.2) == at) {
            hi += 1;
        }
        let run = &index[lo..hi];
        if run.is_empty() {
            continue;
        }
        for &(_, _, _, r) in group {
            let c = uf.cluster(r);
            let mut consider = |e: &(u8, u32, u32, i32, u32)| {
                let o = uf.cluster(e.4);
                let near = c.first <= o.last + 1 && o.first <= c.last + 1;
                if o.records > c.records && near && born.get(&(o.sex, insurer, o.birth)) == Some(&1)
                {
                    found.push((r, e.4));
                }
            };
            if run.len() <= SHORT_RUN {
                run.iter()
                    .filter(|e| birth_level(c.birth, e.3) == 1)
                    .for_each(&mut consider);
            } else {
                for birth in typo_variants(c.birth) {
                    let from = run.partition_point(|e| e.3 < birth);
                    run[from..]
                        .iter()
                        .take_while(|e| e.3 == birth)
                        .for_each(&mut consider);
                }
            }
        }
    }
    found.sort_unstable();
    found.dedup();
    let mut pairs = Vec::new();
    for group in found.chunk_by(|a, b| a.0 == b.0) {
        if let [(r, o)] = *group
            && uf.conflict(r, o, Births::Any, true).is_none()
        {
            pairs.push((r, o));
        }
    }
    let mut merges = 0;
    for (small, big) in pairs {
        let (r, o) = (uf.find(small), uf.find(big));
        if r == o || uf.conflict(r, o, Births::Any, true).is_some() {
            continue;
        }
        rules[small as usize] = Rule::NearBirth;
        uf.union_roots(r, o);
        merges += 1;
    }
    merges
}

/// Care claims without the medical insured number carry only the care key, the birth date, the
/// sex and the municipality that insures them. Such a cluster joins a medical cluster of the
/// same birth date and sex that is active at the same time and holds no care key of its own (a
/// person has one care insured number), when exactly one lives nearest: insured by the same
/// municipality (its 国保 number is the care insurer's), else in the same prefecture. A medical
/// cluster two care clusters would choose joins neither.
pub(crate) fn care_by_locality(set: &RecordSet, uf: &mut UnionFind, rules: &mut [Rule]) -> u64 {
    let medical = |c: &Cluster| {
        c.keys
            .iter()
            .any(|&(k, _)| matches!(k as usize, ID1 | ID2 | ID4 | ID5))
    };
    let mut groups: FastMap<(i32, u8), (Vec<u32>, Vec<u32>)> = FastMap::default();
    for s in uf.roots() {
        let c = uf.cluster(s);
        if c.birth == NO_BIRTH {
            continue;
        }
        match (medical(c), c.has_kind(CARE)) {
            (true, false) => groups.entry((c.birth, c.sex)).or_default().1.push(s),
            (false, true) => groups.entry((c.birth, c.sex)).or_default().0.push(s),
            _ => {}
        }
    }
    let mut chosen: FastMap<u32, Vec<u32>> = FastMap::default();
    for (care, med) in groups.values() {
        if med.is_empty() {
            continue;
        }
        for &c in care {
            let cc = uf.cluster(c);
            let prefectures: Vec<u8> = cc
                .care_insurers
                .iter()
                .map(|&i| set.prefecture(i))
                .collect();
            let mut best: Option<(u8, u32)> = None;
            let mut tied = false;
            for &m in med {
                let mc = uf.cluster(m);
                let overlap = cc.first <= mc.last + 1 && mc.first <= cc.last + 1;
                if !overlap || cc.conflict(mc, Births::Equal, true).is_some() {
                    continue;
                }
                let level = if mc
                    .insurer_months
                    .iter()
                    .any(|(i, _)| cc.care_insurers.contains(i))
                {
                    0
                } else if mc.prefectures.iter().any(|p| prefectures.contains(p)) {
                    1
                } else {
                    continue;
                };
                match best {
                    Some((l, _)) if l < level => {}
                    Some((l, _)) if l == level => tied = true,
                    _ => {
                        best = Some((level, m));
                        tied = false;
                    }
                }
            }
            if let (Some((_, m)), false) = (best, tied) {
                chosen.entry(m).or_default().push(c);
            }
        }
    }
    let mut pairs: Vec<(u32, u32)> = chosen
        .into_iter()
        .filter_map(|(m, cs)| match cs.as_slice() {
            [c] => Some((*c, m)),
            _ => None,
        })
        .collect();
    pairs.sort_unstable();
    for &(c, m) in &pairs {
        rules[c as usize] = Rule::CareLocality;
        uf.union_roots(c, m);
    }
    pairs.len() as u64
}
