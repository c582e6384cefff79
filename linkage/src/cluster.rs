//! Union-find over signatures with per-cluster state, and the guards that keep two persons apart.

use smallvec::SmallVec;

use crate::birth::birth_level;
use crate::record::{ID1, ID2, ID4, ID5, MAX_FACILITIES, NO_BIRTH, NONE, RecordSet, Signature};

/// Why two clusters must not be merged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guard {
    /// Their sexes differ.
    Sex,
    /// Their birth dates differ (deterministic stage only: a typo is the probabilistic stage's
    /// question).
    Birth,
    /// They hold different id5 values in the same service month: one person has one insured
    /// number at a time (same-sex twins share id1 but not id5).
    Id5SameMonth,
    /// They hold different id5 values under the same id1: the same card with another 枝番 is
    /// another person.
    Id5SameCard,
    /// They were seen under different insurers in the same month (name keys only: common names
    /// with the same birth date).
    InsurerSameMonth,
    /// They share a card (id1) but no name key and no id5: a twin whose 枝番 is unknown.
    TwinLike,
    /// One file (a facility's month) holds the card under both of their names: twins.
    TwoNamesInOneFile,
}

/// How two clusters' birth dates must relate for them to merge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Births {
    /// The same date (or one unknown).
    Equal,
    /// The same date or a typo of it ([`birth_level`] 1): under a key without the birth date
    /// that names one insured person (id5), a typo-like date is a typo.
    TypoLike,
    /// Any: a different date is the scoring's question, not a guard's.
    Any,
}

/// The state of one cluster (kept at its root).
#[derive(Debug, Clone, Default)]
pub(crate) struct Cluster {
    pub(crate) sex: u8,
    pub(crate) birth: i32,
    /// Records behind the birth date (the larger side's birth date wins on a merge).
    pub(crate) records: u32,
    /// id5 values of non-care records with their months.
    pub(crate) id5_months: SmallVec<[(u32, u128); 1]>,
    /// (id1, id5) pairs seen on the same non-care record.
    pub(crate) card_branch: SmallVec<[(u32, u32); 1]>,
    /// Insurers of non-care records with their months.
    pub(crate) insurer_months: SmallVec<[(u32, u128); 1]>,
    /// Every key held, as (kind, key).
    pub(crate) keys: SmallVec<[(u8, u32); 4]>,
    pub(crate) first: u32,
    pub(crate) last: u32,
    pub(crate) facilities: SmallVec<[u32; 4]>,
    /// Insurer prefectures (two-digit codes).
    pub(crate) prefectures: SmallVec<[u8; 4]>,
    /// Care insurers (the municipality) of care records.
    pub(crate) care_insurers: SmallVec<[u32; 1]>,
    /// The cluster's side of each pair of `RecordSet::apart` (pair index, second side).
    pub(crate) apart: SmallVec<[(u32, bool); 1]>,
}

fn add_masked<A: smallvec::Array<Item = (u32, u128)>>(v: &mut SmallVec<A>, id: u32, mask: u128) {
    match v.iter_mut().find(|(k, _)| *k == id) {
        Some((_, m)) => *m |= mask,
        None => v.push((id, mask)),
    }
}

fn add_unique<A: smallvec::Array>(v: &mut SmallVec<A>, x: A::Item)
where
    A::Item: PartialEq + Copy,
{
    if !v.contains(&x) {
        v.push(x);
    }
}

impl Cluster {
    pub(crate) fn from_signature(s: &Signature, set: &RecordSet) -> Self {
        let k = &s.key;
        let mut c = Cluster {
            sex: k.sex,
            birth: k.birth,
            records: s.records,
            first: s.first,
            last: s.last,
            facilities: SmallVec::from_slice(&s.facilities),
            ..Default::default()
        };
        for (kind, &key) in k.keys.iter().enumerate() {
            if key != NONE {
                c.keys.push((kind as u8, key));
            }
        }
        if k.care {
            if k.insurer != NONE {
                c.care_insurers.push(k.insurer);
            }
        } else {
            if k.keys[ID5] != NONE {
                c.id5_months.push((k.keys[ID5], s.months));
                if k.keys[ID1] != NONE {
                    c.card_branch.push((k.keys[ID1], k.keys[ID5]));
                }
            }
            if k.insurer != NONE {
                c.insurer_months.push((k.insurer, s.months));
                let p = set.prefecture(k.insurer);
                if p != 0 {
                    c.prefectures.push(p);
                }
            }
        }
        c
    }

    /// The first guard that forbids merging `self` and `o`.
    pub(crate) fn conflict(&self, o: &Cluster, births: Births, names: bool) -> Option<Guard> {
        if self.sex != 0 && o.sex != 0 && self.sex != o.sex {
            return Some(Guard::Sex);
        }
        if births != Births::Any
            && self.birth != NO_BIRTH
            && o.birth != NO_BIRTH
            && self.birth != o.birth
            && (births == Births::Equal || birth_level(self.birth, o.birth) != 1)
        {
            return Some(Guard::Birth);
        }
        for &(a, ma) in &self.id5_months {
            for &(b, mb) in &o.id5_months {
                if a != b && ma & mb != 0 {
                    return Some(Guard::Id5SameMonth);
                }
            }
        }
        for &(c1, b1) in &self.card_branch {
            for &(c2, b2) in &o.card_branch {
                if c1 == c2 && b1 != b2 {
                    return Some(Guard::Id5SameCard);
                }
            }
        }
        if self.twin_like(o) {
            return Some(Guard::TwinLike);
        }
        if self
            .apart
            .iter()
            .any(|&(t, side)| o.apart.contains(&(t, !side)))
        {
            return Some(Guard::TwoNamesInOneFile);
        }
        if names {
            for &(a, ma) in &self.insurer_months {
                for &(b, mb) in &o.insurer_months {
                    if a != b && ma & mb != 0 {
                        return Some(Guard::InsurerSameMonth);
                    }
                }
            }
        }
        None
    }

    fn shares(&self, o: &Cluster, kind: usize) -> bool {
        self.keys
            .iter()
            .any(|&(k, key)| k as usize == kind && o.has_key(kind, key))
    }

    pub(crate) fn has_kind(&self, kind: usize) -> bool {
        self.keys.iter().any(|&(k, _)| k as usize == kind)
    }

    /// Same card, both named, no name and no id5 in common.
    fn twin_like(&self, o: &Cluster) -> bool {
        let named = |c: &Cluster| c.has_kind(ID2) || c.has_kind(ID4);
        self.shares(o, ID1)
            && named(self)
            && named(o)
            && !self.shares(o, ID2)
            && !self.shares(o, ID4)
            && !self.shares(o, ID5)
    }

    /// Whether the cluster holds id5 evidence (so it anchors a key group).
    pub(crate) fn anchored(&self) -> bool {
        !self.id5_months.is_empty()
    }

    /// Takes `o` into `self`.
    pub(crate) fn absorb(&mut self, o: Cluster) {
        if self.sex == 0 {
            self.sex = o.sex;
        }
        if self.birth == NO_BIRTH || (o.birth != NO_BIRTH && o.records > self.records) {
            self.birth = o.birth;
        }
        self.records += o.records;
        for (k, m) in o.id5_months {
            add_masked(&mut self.id5_months, k, m);
        }
        for (k, m) in o.insurer_months {
            add_masked(&mut self.insurer_months, k, m);
        }
        for x in o.card_branch {
            add_unique(&mut self.card_branch, x);
        }
        for x in o.keys {
            add_unique(&mut self.keys, x);
        }
        for x in o.prefectures {
            add_unique(&mut self.prefectures, x);
        }
        for x in o.care_insurers {
            add_unique(&mut self.care_insurers, x);
        }
        for x in o.apart {
            add_unique(&mut self.apart, x);
        }
        for f in o.facilities {
            if self.facilities.len() >= MAX_FACILITIES {
                break;
            }
            add_unique(&mut self.facilities, f);
        }
        self.first = self.first.min(o.first);
        self.last = self.last.max(o.last);
    }

    pub(crate) fn has_key(&self, kind: usize, key: u32) -> bool {
        self.keys.contains(&(kind as u8, key))
    }
}

/// Union-find over signatures; the root of each set holds the cluster state.
#[derive(Debug)]
pub(crate) struct UnionFind {
    parent: Vec<u32>,
    state: Vec<Option<Box<Cluster>>>,
}

impl UnionFind {
    pub(crate) fn new(set: &RecordSet) -> Self {
        let mut state: Vec<Option<Box<Cluster>>> = set
            .sigs
            .iter()
            .map(|s| Some(Box::new(Cluster::from_signature(s, set))))
            .collect();
        for (t, &(a, b)) in set.apart.iter().enumerate() {
            for (sig, side) in [(a, false), (b, true)] {
                if let Some(c) = state[sig as usize].as_mut() {
                    c.apart.push((t as u32, side));
                }
            }
        }
        UnionFind {
            parent: (0..set.sigs.len() as u32).collect(),
            state,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.parent.len()
    }

    pub(crate) fn find(&mut self, mut x: u32) -> u32 {
        let mut root = x;
        while self.parent[root as usize] != root {
            root = self.parent[root as usize];
        }
        while self.parent[x as usize] != root {
            let next = self.parent[x as usize];
            self.parent[x as usize] = root;
            x = next;
        }
        root
    }

    /// The state of root `r`.
    pub(crate) fn cluster(&self, r: u32) -> &Cluster {
        self.state[r as usize]
            .as_deref()
            .expect("only roots are asked for their state")
    }

    /// Merges the sets of roots `a` and `b` (no guard checked here); returns the new root.
    pub(crate) fn union_roots(&mut self, a: u32, b: u32) -> u32 {
        if a == b {
            return a;
        }
        let (big, small) = if self.cluster(a).records >= self.cluster(b).records {
            (a, b)
        } else {
            (b, a)
        };
        let s = self.state[small as usize].take().expect("root state");
        self.parent[small as usize] = big;
        self.state[big as usize]
            .as_mut()
            .expect("root state")
            .absorb(*s);
        big
    }

    /// The guard that forbids merging roots `a` and `b`, if any.
    pub(crate) fn conflict(&self, a: u32, b: u32, births: Births, names: bool) -> Option<Guard> {
        self.cluster(a).conflict(self.cluster(b), births, names)
    }

    /// The roots, in order.
    pub(crate) fn roots(&mut self) -> Vec<u32> {
        (0..self.len() as u32)
            .filter(|&s| self.find(s) == s)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cluster(sex: u8, birth: i32, id5: u32, id1: u32, months: u128) -> Cluster {
        Cluster {
            sex,
            birth,
            records: 1,
            id5_months: smallvec::smallvec![(id5, months)],
            card_branch: smallvec::smallvec![(id1, id5)],
            ..Default::default()
        }
    }

    #[test]
    fn twins_on_one_card_are_kept_apart_even_in_different_months() {
        let a = cluster(1, 100, 1, 9, 0b0011);
        let b = cluster(1, 100, 2, 9, 0b1100);
        assert_eq!(
            a.conflict(&b, Births::Equal, false),
            Some(Guard::Id5SameCard)
        );
        let c = cluster(1, 100, 2, 8, 0b0010);
        assert_eq!(
            a.conflict(&c, Births::Equal, false),
            Some(Guard::Id5SameMonth)
        );
    }

    #[test]
    fn sex_and_birth_conflicts_are_found() {
        let a = cluster(1, 100, 1, 9, 1);
        assert_eq!(
            a.conflict(&cluster(2, 100, 1, 9, 1), Births::Equal, false),
            Some(Guard::Sex)
        );
        assert_eq!(
            a.conflict(&cluster(1, 101, 1, 9, 1), Births::Equal, false),
            Some(Guard::Birth)
        );
        assert_eq!(
            a.conflict(&cluster(1, 101, 1, 9, 1), Births::Any, false),
            None
        );
        // A day off is a typo under id5; years apart are not.
        assert_eq!(
            a.conflict(&cluster(1, 101, 1, 9, 1), Births::TypoLike, false),
            None
        );
        assert_eq!(
            a.conflict(&cluster(1, 5000, 1, 9, 1), Births::TypoLike, false),
            Some(Guard::Birth)
        );
    }
}
