//! Input records in compact form: link keys and strings interned to `u32` ids, and records
//! with the same identity collapsed into signatures.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher, RandomState};

use niji_core::Source;

use crate::{Error, Result};

/// Link-key kinds, in the order of [`RecordIn::keys`].
pub const KEY_KINDS: [&str; 5] = ["id1", "id2", "id4", "id5", "care_key"];
/// Index of each kind in [`RecordIn::keys`].
pub(crate) const ID1: usize = 0;
pub(crate) const ID2: usize = 1;
pub(crate) const ID4: usize = 2;
pub(crate) const ID5: usize = 3;
pub(crate) const CARE: usize = 4;

/// No value (null key, unknown facility, unknown insurer…).
pub(crate) const NONE: u32 = 0;
/// Unknown birth date.
pub(crate) const NO_BIRTH: i32 = i32::MIN;

/// One unit row of a staging unit table, borrowed.
#[derive(Clone, Copy)]
pub struct RecordIn<'a> {
    pub record_id: &'a str,
    pub source: Source,
    /// Service month as `year * 12 + (month - 1)`.
    pub month: u32,
    pub facility: Option<&'a str>,
    /// 1 male, 2 female, 0 unknown.
    pub sex: u8,
    /// Days since 1970-01-01.
    pub birth: Option<i32>,
    /// 保険者番号, zero-padded to 8 digits.
    pub insurer: Option<&'a str>,
    /// id1, id2, id4, id5, care_key.
    pub keys: [Option<&'a [u8; 32]>; 5],
    /// File as recorded by ingest, and line of the unit (0 for whole documents).
    pub file: &'a str,
    pub line: u32,
}

impl std::fmt::Debug for RecordIn<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Identity values are never shown.
        f.debug_struct("RecordIn")
            .field("source", &self.source)
            .field("month", &self.month)
            .finish_non_exhaustive()
    }
}

/// A multiply-rotate hasher (the Fx hash) for the record set's own maps. Their keys are link
/// keys (HMACs, uniformly spread by construction), interned ids and strings of the project's
/// own staging zone, never attacker-chosen input, so a keyed DoS-resistant hash buys nothing
/// here and costs most of the time of reading the staging rows.
#[derive(Default, Clone, Copy)]
pub(crate) struct FastHasher(u64);

impl FastHasher {
    const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(Self::SEED);
    }
}

impl Hasher for FastHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes(c.try_into().unwrap_or_default()));
        }
        let mut tail = [0u8; 8];
        let rest = chunks.remainder();
        tail[..rest.len()].copy_from_slice(rest);
        self.add(u64::from_le_bytes(tail) ^ ((rest.len() as u64) << 56));
    }
    fn write_u8(&mut self, v: u8) {
        self.add(u64::from(v));
    }
    fn write_u32(&mut self, v: u32) {
        self.add(u64::from(v));
    }
    fn write_i32(&mut self, v: i32) {
        self.add(u64::from(v as u32));
    }
    fn write_u64(&mut self, v: u64) {
        self.add(v);
    }
    fn write_usize(&mut self, v: usize) {
        self.add(v as u64);
    }
}

/// A map under [`FastHasher`].
pub(crate) type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;
/// A set under [`FastHasher`].
pub(crate) type FastSet<K> = HashSet<K, BuildHasherDefault<FastHasher>>;

/// A map keyed by record id. Ids of the form `<file_id>:<line>`, as ingest writes them, are kept
/// per file as (line, value) pairs in line order and found by a binary search: neither a hash
/// of each id nor a heap string per record, and the lookups of one file's records stay in one
/// place of memory. Other ids, and lines inserted out of order, are kept under a 128-bit digest
/// of the id: two SipHash values under independent random keys (two ids share a digest with
/// probability about n²·2⁻¹²⁹).
#[derive(Debug, Default)]
pub struct RecordMap<V> {
    files: FastMap<Box<str>, Vec<(u32, V)>>,
    keys: (RandomState, RandomState),
    other: FastMap<u128, V>,
    len: usize,
}

/// `<file_id>:<line>` split, the line in canonical decimal form only (`a:07` is not `a:7`).
fn split_record_id(record_id: &str) -> Option<(&str, u32)> {
    let (file, line) = record_id.rsplit_once(':')?;
    let canonical =
        line.bytes().all(|b| b.is_ascii_digit()) && (line == "0" || !line.starts_with('0'));
    canonical
        .then(|| line.parse().ok())
        .flatten()
        .map(|l| (file, l))
}

impl<V: Copy> RecordMap<V> {
    /// An empty map.
    pub fn new() -> Self {
        Self {
            files: FastMap::default(),
            keys: Default::default(),
            other: FastMap::default(),
            len: 0,
        }
    }

    fn digest(&self, record_id: &str) -> u128 {
        (u128::from(self.keys.0.hash_one(record_id)) << 64)
            | u128::from(self.keys.1.hash_one(record_id))
    }

    fn insert_other(&mut self, record_id: &str, value: V) {
        let d = self.digest(record_id);
        if self.other.insert(d, value).is_none() {
            self.len += 1;
        }
    }

    /// Sets the value of a record.
    pub fn insert(&mut self, record_id: &str, value: V) {
        let Some((file, line)) = split_record_id(record_id) else {
            return self.insert_other(record_id, value);
        };
        let lines = match self.files.get_mut(file) {
            Some(lines) => lines,
            None => self.files.entry(file.into()).or_default(),
        };
        if lines.last().is_none_or(|&(last, _)| line > last) {
            lines.push((line, value));
            self.len += 1;
        } else if let Ok(i) = lines.binary_search_by_key(&line, |e| e.0) {
            lines[i].1 = value;
        } else {
            self.insert_other(record_id, value);
        }
    }

    /// The value of a record.
    pub fn get(&self, record_id: &str) -> Option<V> {
        let in_file = split_record_id(record_id).and_then(|(file, line)| {
            let lines = self.files.get(file)?;
            let i = lines.binary_search_by_key(&line, |e| e.0).ok()?;
            Some(lines[i].1)
        });
        match in_file {
            Some(v) => Some(v),
            None if self.other.is_empty() => None,
            None => self.other.get(&self.digest(record_id)).copied(),
        }
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// Interns values to dense `u32` ids starting at 1 (0 is [`NONE`]).
#[derive(Debug, Default)]
pub(crate) struct Interner<K: Hash + Eq> {
    ids: FastMap<K, u32>,
    pub(crate) values: Vec<K>,
    /// The id [`Interner::id_str`] returned last (0 for none).
    last: u32,
}

impl<K: Hash + Eq + Clone> Interner<K> {
    pub(crate) fn id(&mut self, k: &K) -> Result<u32> {
        if let Some(&id) = self.ids.get(k) {
            return Ok(id);
        }
        let id = u32::try_from(self.values.len() + 1).map_err(|_| Error::TooLarge {
            limit: u64::from(u32::MAX),
        })?;
        self.ids.insert(k.clone(), id);
        self.values.push(k.clone());
        Ok(id)
    }
    pub(crate) fn get(&self, id: u32) -> Option<&K> {
        id.checked_sub(1).and_then(|i| self.values.get(i as usize))
    }
}

impl<K: Hash + Eq + Clone + Ord> Interner<K> {
    /// Renumbers the values in their sorted order; returns old id → new id (index 0 is
    /// [`NONE`]).
    fn sort(&mut self) -> Vec<u32> {
        let mut order: Vec<usize> = (0..self.values.len()).collect();
        order.sort_unstable_by(|&a, &b| self.values[a].cmp(&self.values[b]));
        let mut new_of = vec![NONE; self.values.len() + 1];
        for (new, &old) in order.iter().enumerate() {
            new_of[old + 1] = new as u32 + 1;
        }
        self.values = order.iter().map(|&old| self.values[old].clone()).collect();
        for id in self.ids.values_mut() {
            *id = new_of[*id as usize];
        }
        self.last = new_of[self.last as usize];
        new_of
    }
}

impl Interner<Box<str>> {
    /// The id of a string, allocating only the first time it is seen. Rows come in runs of one
    /// file and one facility (a UKE file is one facility's month): the value returned last
    /// answers those without hashing.
    pub(crate) fn id_str(&mut self, s: &str) -> Result<u32> {
        if self.get(self.last).is_some_and(|v| **v == *s) {
            return Ok(self.last);
        }
        let id = match self.ids.get(s) {
            Some(&id) => id,
            None => self.id(&Box::from(s))?,
        };
        self.last = id;
        Ok(id)
    }
}

/// The identity of a group of records: keys, sex, birth date and insurer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct SigKey {
    pub(crate) keys: [u32; 5],
    pub(crate) sex: u8,
    pub(crate) birth: i32,
    pub(crate) insurer: u32,
    /// Care claims carry the *oldest* insured number, so their id5 has no time meaning.
    pub(crate) care: bool,
}

/// What finds a record's signature without interning its link keys first: the keys as one
/// 128-bit digest (each key is an HMAC, pseudorandom, so the XOR of its first 16 bytes rotated
/// by its slot tells two key tuples apart except with probability 2^-128), with the rest of the
/// identity as is. Keys are interned once per new signature, not once per record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Probe {
    keys: u128,
    sex: u8,
    birth: i32,
    insurer: u32,
    care: bool,
}

fn keys_digest(keys: &[Option<&[u8; 32]>; 5]) -> u128 {
    let mut d = 0u128;
    for (slot, k) in keys.iter().enumerate() {
        if let Some(k) = k {
            let head = u128::from_le_bytes(k[..16].try_into().unwrap_or_default());
            // The slot's own bit marks the key present, whatever its head.
            d ^= head.rotate_left(25 * slot as u32 + 1) ^ (1u128 << (slot * 8));
        }
    }
    d
}

/// Records sharing a [`SigKey`]: when they occur and where.
#[derive(Debug, Clone)]
pub(crate) struct Signature {
    pub(crate) key: SigKey,
    /// Months seen, as a bit set ([`month_bit`]).
    pub(crate) months: u128,
    pub(crate) first: u32,
    pub(crate) last: u32,
    /// Facilities seen (at most [`MAX_FACILITIES`]).
    pub(crate) facilities: Vec<u32>,
    pub(crate) records: u32,
}

impl Signature {
    fn add_facility(&mut self, facility: u32) {
        if facility != NONE
            && self.facilities.len() < MAX_FACILITIES
            && !self.facilities.contains(&facility)
        {
            self.facilities.push(facility);
        }
    }
}

/// Facilities kept per signature or cluster.
pub(crate) const MAX_FACILITIES: usize = 24;

/// All records of a run, compactly.
#[derive(Debug, Default)]
pub struct RecordSet {
    ids: Vec<u8>,
    id_ends: Vec<u64>,
    pub(crate) source: Vec<u8>,
    pub(crate) month: Vec<u32>,
    pub(crate) file: Vec<u32>,
    pub(crate) line: Vec<u32>,
    pub(crate) sig: Vec<u32>,
    pub(crate) files: Interner<Box<str>>,
    pub(crate) facilities: Interner<Box<str>>,
    pub(crate) insurers: Interner<Box<str>>,
    keys: Interner<[u8; 32]>,
    sig_ids: FastMap<Probe, u32>,
    pub(crate) sigs: Vec<Signature>,
    /// Pairs of signatures that are two persons: one card, two names in one file.
    pub(crate) apart: Vec<(u32, u32)>,
    /// The cards of the file being read ([`RecordSet::names_in_file`]).
    file_cards: FileCards,
}

/// The cards seen in the file being read, each with the first signature and names it came
/// with (the first eight bytes of id2 and id4, 0 for none).
#[derive(Debug, Default)]
struct FileCards {
    file: u32,
    cards: FastMap<u64, (u32, u64, u64)>,
}

/// The first eight bytes of a key (0 for none): HMACs differ there but for 2^-64.
fn key_head(k: Option<&[u8; 32]>) -> u64 {
    k.map_or(0, |k| {
        u64::from_le_bytes(k[..8].try_into().unwrap_or_default())
    })
}

/// The bit of `month` in a month set (any 128 consecutive months have distinct bits).
pub(crate) fn month_bit(month: u32) -> u128 {
    1u128 << (month % 128)
}

impl RecordSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.source.len()
    }

    /// Makes room for `additional` more records.
    pub fn reserve(&mut self, additional: usize) {
        // Record ids are about 32 bytes; the average so far is better when there is one.
        let id_bytes = match self.len() {
            0 => 32,
            n => self.ids.len().div_ceil(n),
        };
        self.ids.reserve(additional.saturating_mul(id_bytes));
        self.id_ends.reserve(additional);
        self.source.reserve(additional);
        self.month.reserve(additional);
        self.file.reserve(additional);
        self.line.reserve(additional);
        self.sig.reserve(additional);
    }

    /// Whether there are no records.
    pub fn is_empty(&self) -> bool {
        self.source.is_empty()
    }

    /// Number of distinct identities (signatures).
    pub fn signatures(&self) -> usize {
        self.sigs.len()
    }

    /// The signature of `probe`, created (its keys interned) when it is new.
    fn signature(
        &mut self,
        probe: Probe,
        keys: &[Option<&[u8; 32]>; 5],
        month: u32,
    ) -> Result<u32> {
        if let Some(&sig) = self.sig_ids.get(&probe) {
            return Ok(sig);
        }
        let mut ids = [NONE; 5];
        for (slot, k) in ids.iter_mut().zip(keys) {
            if let Some(k) = k {
                *slot = self.keys.id(k)?;
            }
        }
        let sig = self.sigs.len() as u32;
        self.sigs.push(Signature {
            key: SigKey {
                keys: ids,
                sex: probe.sex,
                birth: probe.birth,
                insurer: probe.insurer,
                care: probe.care,
            },
            months: 0,
            first: month,
            last: month,
            facilities: Vec::new(),
            records: 0,
        });
        self.sig_ids.insert(probe, sig);
        Ok(sig)
    }

    /// Adds one record.
    pub fn push(&mut self, r: &RecordIn<'_>) -> Result<()> {
        self.push_many(std::slice::from_ref(r))
    }

    /// Adds records (a staging batch). In passes, so that the random accesses of one pass (the
    /// signature lookup, the signature's counters) do not wait on each other: each record's
    /// lookup is independent of the last, and the processor overlaps them.
    pub fn push_many(&mut self, records: &[RecordIn<'_>]) -> Result<()> {
        if self.len() + records.len() >= u32::MAX as usize - 1 {
            return Err(Error::TooLarge {
                limit: u64::from(u32::MAX),
            });
        }
        // 1. The record's own columns, its strings interned, its probe.
        let mut probes = Vec::with_capacity(records.len());
        let mut places = Vec::with_capacity(records.len());
        for r in records {
            self.ids.extend_from_slice(r.record_id.as_bytes());
            self.id_ends.push(self.ids.len() as u64);
            self.source.push(source_index(r.source));
            self.month.push(r.month);
            let file = self.files.id_str(r.file)?;
            self.file.push(file);
            self.line.push(r.line);
            let facility = match r.facility {
                Some(f) if !f.is_empty() => self.facilities.id_str(f)?,
                _ => NONE,
            };
            let insurer = match r.insurer {
                Some(i) if !i.is_empty() => self.insurers.id_str(i)?,
                _ => NONE,
            };
            probes.push(Probe {
                keys: keys_digest(&r.keys),
                sex: r.sex,
                birth: r.birth.unwrap_or(NO_BIRTH),
                insurer,
                care: r.source == Source::Care,
            });
            places.push((file, facility));
        }
        // 2. The lookups alone.
        let found: Vec<Option<u32>> = probes
            .iter()
            .map(|p| self.sig_ids.get(p).copied())
            .collect();
        // 3. New signatures, in record order, and the names each file gives a card.
        let mut sigs = Vec::with_capacity(records.len());
        for (((r, probe), found), &(file, _)) in records.iter().zip(probes).zip(found).zip(&places)
        {
            let sig = match found {
                Some(sig) => sig,
                None => self.signature(probe, &r.keys, r.month)?,
            };
            if r.keys[ID1].is_some() && (r.keys[ID2].is_some() || r.keys[ID4].is_some()) {
                self.names_in_file(file, &r.keys, sig);
            }
            sigs.push(sig);
        }
        // 4. The signatures' counters.
        for ((r, &sig), &(_, facility)) in records.iter().zip(&sigs).zip(&places) {
            let s = &mut self.sigs[sig as usize];
            s.months |= month_bit(r.month);
            s.first = s.first.min(r.month);
            s.last = s.last.max(r.month);
            s.records += 1;
            s.add_facility(facility);
        }
        self.sig.extend_from_slice(&sigs);
        Ok(())
    }

    /// One file is one facility's (or one insurer's) month, and it writes a person's name one
    /// way: two names under one card (id1) in one file are two persons, twins of the same sex
    /// on one family card whose 枝番 (id5) the file does not carry. Rows of a file come in a
    /// run, so only the cards of the current file are kept. The staging read takes a table's
    /// file ranges in order, so the only file seen as two runs is one that straddles the cut
    /// between two ranges (one per core and table): a pair across that cut is missed, the same
    /// way on every run.
    fn names_in_file(&mut self, file: u32, keys: &[Option<&[u8; 32]>; 5], sig: u32) {
        let seen = &mut self.file_cards;
        if seen.file != file {
            seen.file = file;
            seen.cards.clear();
        }
        let (id2, id4) = (key_head(keys[ID2]), key_head(keys[ID4]));
        let &mut (first, a2, a4) = seen
            .cards
            .entry(key_head(keys[ID1]))
            .or_insert((sig, id2, id4));
        let differ = |a: u64, b: u64| a != 0 && b != 0 && a != b;
        if first != sig && (differ(a2, id2) || differ(a4, id4)) {
            self.apart.push((first.min(sig), first.max(sig)));
        }
    }

    /// Renumbers signatures, link keys, insurers and facilities in an order that depends only
    /// on their values, not on the order the records came in (threads, the file listing of a
    /// table): the same records link to the same persons on every run. Records keep their
    /// order.
    pub fn canonicalize(&mut self) {
        let insurers = self.insurers.sort();
        let facilities = self.facilities.sort();
        let digests: Vec<u128> = self
            .sigs
            .iter()
            .map(|s| keys_digest(&s.key.keys.map(|k| self.keys.get(k))))
            .collect();
        let mut tagged: Vec<(usize, u128, Signature)> = std::mem::take(&mut self.sigs)
            .into_iter()
            .zip(digests)
            .enumerate()
            .map(|(old, (s, d))| (old, d, s))
            .collect();
        for (_, _, s) in &mut tagged {
            s.key.insurer = insurers[s.key.insurer as usize];
            for f in &mut s.facilities {
                *f = facilities[*f as usize];
            }
            s.facilities.sort_unstable();
        }
        tagged.sort_unstable_by_key(|(_, d, s)| {
            (s.key.birth, s.key.sex, *d, s.key.insurer, s.key.care)
        });
        let mut new_of = vec![0u32; tagged.len()];
        self.sig_ids.clear();
        for (new, (old, d, s)) in tagged.iter().enumerate() {
            new_of[*old] = new as u32;
            let k = &s.key;
            let probe = Probe {
                keys: *d,
                sex: k.sex,
                birth: k.birth,
                insurer: k.insurer,
                care: k.care,
            };
            self.sig_ids.insert(probe, new as u32);
        }
        self.sigs = tagged.into_iter().map(|(_, _, s)| s).collect();
        for s in &mut self.sig {
            *s = new_of[*s as usize];
        }
        for (a, b) in &mut self.apart {
            let (x, y) = (new_of[*a as usize], new_of[*b as usize]);
            (*a, *b) = (x.min(y), x.max(y));
        }
        self.apart.sort_unstable();
        self.apart.dedup();
        // Keys in the order the signatures first use them (every key belongs to a signature).
        let mut key_of = vec![NONE; self.keys.values.len() + 1];
        let mut values = Vec::with_capacity(self.keys.values.len());
        for s in &mut self.sigs {
            for k in s.key.keys.iter_mut().filter(|k| **k != NONE) {
                if key_of[*k as usize] == NONE {
                    values.push(self.keys.values[*k as usize - 1]);
                    key_of[*k as usize] = values.len() as u32;
                }
                *k = key_of[*k as usize];
            }
        }
        self.keys.values = values;
        for id in self.keys.ids.values_mut() {
            *id = key_of[*id as usize];
        }
    }

    /// The record id of record `i`.
    pub fn record_id(&self, i: usize) -> &str {
        let start = if i == 0 {
            0
        } else {
            self.id_ends[i - 1] as usize
        };
        let end = self.id_ends[i] as usize;
        std::str::from_utf8(&self.ids[start..end]).unwrap_or("")
    }

    /// The source of record `i`.
    pub fn source(&self, i: usize) -> Source {
        Source::ALL[self.source[i] as usize]
    }

    /// The service month of record `i` (`year * 12 + month - 1`).
    pub fn month(&self, i: usize) -> u32 {
        self.month[i]
    }

    /// The file and line of record `i`.
    pub fn location(&self, i: usize) -> (&str, u32) {
        (
            self.files.get(self.file[i]).map_or("", |s| &**s),
            self.line[i],
        )
    }

    /// The prefecture code (two digits) of an interned insurer number, 0 if unknown.
    pub(crate) fn prefecture(&self, insurer: u32) -> u8 {
        self.insurers
            .get(insurer)
            .and_then(|s| {
                let b = s.as_bytes();
                // 8 digits: 法別 (2) + 都道府県 (2) + …; 国保's 6 digits are zero-padded to 8,
                // so digits 3–4 are their first two real digits either way.
                (b.len() == 8 && b[2..4].iter().all(u8::is_ascii_digit))
                    .then(|| (b[2] - b'0') * 10 + (b[3] - b'0'))
            })
            .unwrap_or(0)
    }

    /// Approximate heap bytes held (for reports).
    pub fn heap_bytes(&self) -> usize {
        self.ids.capacity()
            + self.id_ends.capacity() * 8
            + self.len() * (1 + 4 + 4 + 4 + 4)
            + self.sigs.len() * (std::mem::size_of::<Signature>() + 16)
            + self.keys.values.len() * 48
            + self.sig_ids.len() * 48
    }
}

fn source_index(s: Source) -> u8 {
    Source::ALL.iter().position(|x| *x == s).unwrap_or(0) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_with_the_same_identity_share_a_signature() {
        let k = [1u8; 32];
        let mut set = RecordSet::new();
        for (id, month) in [("a", 24_300), ("b", 24_301)] {
            set.push(&RecordIn {
                record_id: id,
                source: Source::NdbMed,
                month,
                facility: Some("f"),
                sex: 1,
                birth: Some(0),
                insurer: Some("06130488"),
                keys: [Some(&k), None, None, None, None],
                file: "x",
                line: 3,
            })
            .unwrap();
        }
        assert_eq!(set.len(), 2);
        assert_eq!(set.signatures(), 1);
        assert_eq!(set.record_id(1), "b");
        assert_eq!(set.sigs[0].months.count_ones(), 2);
        assert_eq!(set.prefecture(set.sigs[0].key.insurer), 13);
    }

    #[test]
    fn canonical_numbering_does_not_depend_on_the_order_records_came_in() {
        // Pseudorandom keys, as HMACs are (keys of one repeated byte share digests).
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let keys: Vec<[u8; 32]> = (0..9)
            .map(|_| {
                std::array::from_fn(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
            })
            .collect();
        let ids: Vec<String> = (0..40).map(|i| format!("r{i}")).collect();
        let record = |i: usize| RecordIn {
            record_id: &ids[i],
            source: Source::NdbMed,
            month: 24_290 + (i % 5) as u32,
            facility: Some(["f1", "f2", "f3"][i % 3]),
            sex: 1,
            birth: Some((i % 4) as i32),
            insurer: Some(["06130488", "138016", "01010016"][i % 3]),
            keys: [
                Some(&keys[i % 9]),
                Some(&keys[(i * 5) % 9]),
                None,
                None,
                None,
            ],
            file: "x",
            line: i as u32,
        };
        let numbering = |order: &mut dyn Iterator<Item = usize>| {
            let mut set = RecordSet::new();
            for i in order {
                set.push(&record(i)).unwrap();
            }
            set.canonicalize();
            let mut by_record: Vec<(String, SigKey, Vec<u32>)> = (0..set.len())
                .map(|i| {
                    let s = &set.sigs[set.sig[i] as usize];
                    (set.record_id(i).to_string(), s.key, s.facilities.clone())
                })
                .collect();
            by_record.sort_by(|a, b| a.0.cmp(&b.0));
            (
                by_record,
                set.keys.values.clone(),
                set.insurers.values.clone(),
            )
        };
        let forward = numbering(&mut (0..40));
        let backward = numbering(&mut (0..40).rev());
        assert_eq!(forward, backward);
        // Another order without canonical numbering does renumber (the test can fail).
        let mut a = RecordSet::new();
        let mut b = RecordSet::new();
        (0..40).for_each(|i| a.push(&record(i)).unwrap());
        (0..40).rev().for_each(|i| b.push(&record(i)).unwrap());
        assert_ne!(a.keys.values, b.keys.values);
    }

    #[test]
    fn record_map_finds_every_record_whatever_the_order_or_form_of_its_id() {
        let mut m = RecordMap::new();
        // Lines in order, out of order, repeated; non-canonical lines; ids of another form.
        let ids = [
            "f1:2",
            "f1:13",
            "f1:21",
            "f2:1",
            "f1:5",
            "f1:0",
            "f1:007",
            "f1:7",
            "x",
            "a:b:3",
            "f2:",
            ":4",
            "f1:99999999999",
        ];
        for (v, id) in ids.iter().enumerate() {
            m.insert(id, v);
        }
        assert_eq!(m.len(), ids.len());
        for (v, id) in ids.iter().enumerate() {
            assert_eq!(m.get(id), Some(v), "{id}");
        }
        // Overwrites, in the per-file part and in the digest part.
        m.insert("f1:13", 100);
        m.insert("f1:5", 101);
        m.insert("x", 102);
        assert_eq!(
            (m.get("f1:13"), m.get("f1:5"), m.get("x")),
            (Some(100), Some(101), Some(102))
        );
        assert_eq!(m.len(), ids.len());
        for absent in ["f1:3", "f1:22", "f3:1", "y", "f1:013", "f1"] {
            assert_eq!(m.get(absent), None, "{absent}");
        }
    }

    #[test]
    fn strings_keep_their_ids_in_runs_and_alternations() {
        let mut i = Interner::<Box<str>>::default();
        let ids: Vec<u32> = ["a", "a", "b", "a", "b", "b", "c", "a"]
            .iter()
            .map(|s| i.id_str(s).unwrap())
            .collect();
        assert_eq!(ids, [1, 1, 2, 1, 2, 2, 3, 1]);
        assert_eq!(i.get(2).map(|s| &**s), Some("b"));
    }

    #[test]
    fn another_key_or_the_same_key_in_another_slot_is_another_signature() {
        let (a, b) = ([1u8; 32], [2u8; 32]);
        let mut set = RecordSet::new();
        let tuples = [
            [Some(&a), None, None, None, None],
            [None, Some(&a), None, None, None],
            [Some(&b), None, None, None, None],
            [Some(&a), Some(&b), None, None, None],
            [Some(&b), Some(&a), None, None, None],
            [None; 5],
            [Some(&a), None, None, None, None],
        ];
        for (line, keys) in tuples.into_iter().enumerate() {
            set.push(&RecordIn {
                record_id: "r",
                source: Source::NdbMed,
                month: 24_300,
                facility: None,
                sex: 1,
                birth: Some(0),
                insurer: None,
                keys,
                file: "x",
                line: line as u32,
            })
            .unwrap();
        }
        assert_eq!(set.signatures(), 6);
        assert_eq!(set.sig[0], set.sig[6]);
        assert_eq!(set.sigs[3].key.keys, [1, 2, 0, 0, 0]);
        assert_eq!(set.sigs[4].key.keys, [2, 1, 0, 0, 0]);
    }
}
