//! Linkage quality against the synthetic truth (`truth/records.csv`, `persons.csv`,
//! `events.csv`): pairwise precision, recall and F1, split and merge rates, and a breakdown by
//! drift kind. Pairs are counted from cluster sizes, never enumerated.

use std::collections::HashMap;
use std::fmt;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::Path;

use crate::record::RecordSet;
use crate::{Error, Result};

const SPELLING: u8 = 1;
const KANA: u8 = 2;
const TYPO: u8 = 4;

/// Pairs of records of one person with a property, and how many of them were linked.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PairRecall {
    pub pairs: u64,
    pub linked: u64,
}

impl PairRecall {
    /// linked / pairs (1 when there are none).
    pub fn recall(&self) -> f64 {
        if self.pairs == 0 {
            1.0
        } else {
            self.linked as f64 / self.pairs as f64
        }
    }
}

/// The quality report.
#[derive(Debug, Clone, Default)]
pub struct Quality {
    /// Records scored, and records without a truth row.
    pub records: u64,
    pub unmatched: u64,
    pub persons: u64,
    pub clusters: u64,
    pub true_pairs: u64,
    pub predicted_pairs: u64,
    pub true_positive_pairs: u64,
    /// Persons split over more than one cluster; clusters holding more than one person.
    pub split_persons: u64,
    pub merged_clusters: u64,
    /// By drift kind: name of the kind and its pair recall.
    pub by_drift: Vec<(&'static str, PairRecall)>,
    /// Twin pairs (both with records) and how many of them share a cluster.
    pub twin_pairs: u64,
    pub twins_merged: u64,
}

impl Quality {
    pub fn precision(&self) -> f64 {
        ratio(self.true_positive_pairs, self.predicted_pairs)
    }
    pub fn recall(&self) -> f64 {
        ratio(self.true_positive_pairs, self.true_pairs)
    }
    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }
    /// Share of persons split over two or more clusters.
    pub fn split_rate(&self) -> f64 {
        ratio(self.split_persons, self.persons)
    }
    /// Share of clusters holding two or more persons.
    pub fn merge_rate(&self) -> f64 {
        ratio(self.merged_clusters, self.clusters)
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 1.0 } else { a as f64 / b as f64 }
}

fn pairs(n: u64) -> u64 {
    n * n.saturating_sub(1) / 2
}

impl fmt::Display for Quality {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "records scored {} (without truth {}), persons {}, clusters {}",
            self.records, self.unmatched, self.persons, self.clusters
        )?;
        writeln!(
            f,
            "pairwise precision {:.5}  recall {:.5}  F1 {:.5}  ({} true pairs, {} linked, {} correct)",
            self.precision(),
            self.recall(),
            self.f1(),
            self.true_pairs,
            self.predicted_pairs,
            self.true_positive_pairs
        )?;
        writeln!(
            f,
            "split persons {} ({:.3}%), merged clusters {} ({:.3}%)",
            self.split_persons,
            100.0 * self.split_rate(),
            self.merged_clusters,
            100.0 * self.merge_rate()
        )?;
        writeln!(f, "by drift kind (pair recall):")?;
        for (name, r) in &self.by_drift {
            writeln!(
                f,
                "  {name:<24} {:.5}  ({} of {} pairs)",
                r.recall(),
                r.linked,
                r.pairs
            )?;
        }
        write!(
            f,
            "  {:<24} {} of {} twin pairs merged",
            "twins", self.twins_merged, self.twin_pairs
        )
    }
}

/// The truth of a synthetic run.
#[derive(Debug, Default)]
pub struct Truth {
    /// hash(source, path below the source folder, line) → (person, drift flags).
    records: HashMap<u64, (u32, u8)>,
    persons: HashMap<Box<str>, u32>,
    twins: Vec<(u32, u32)>,
    /// (person, month, kind): 0 insurer change, 1 marriage.
    events: Vec<(u32, u32, u8)>,
}

const EVENT_KINDS: [&str; 2] = ["insurer_change", "marriage"];

fn key(source: &str, rest: &str, line: u64) -> u64 {
    let mut h = DefaultHasher::new();
    (source, rest, line).hash(&mut h);
    h.finish()
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| Error::Truth {
        path: path.display().to_string(),
        reason: e.to_string(),
    })
}

fn month_of(date: &str) -> Option<u32> {
    let y: u32 = date.get(0..4)?.parse().ok()?;
    let m: u32 = date.get(5..7)?.parse().ok()?;
    Some(y * 12 + m - 1)
}

impl Truth {
    /// Reads `dir` (the `truth` folder of a synth run).
    pub fn load(dir: &Path) -> Result<Self> {
        let mut t = Truth::default();
        let bad = |file: &str, line: usize| Error::Truth {
            path: dir.join(file).display().to_string(),
            reason: format!("line {line} is malformed"),
        };
        let persons = read(&dir.join("persons.csv"))?;
        let mut twin_of = Vec::new();
        for (n, l) in persons.lines().enumerate().skip(1) {
            let f: Vec<&str> = l.split(',').collect();
            if f.len() < 5 {
                return Err(bad("persons.csv", n + 1));
            }
            let id = t.person(f[0]);
            if !f[4].is_empty() {
                twin_of.push((id, f[4].to_owned()));
            }
        }
        for (a, other) in twin_of {
            let b = t.person(&other);
            let pair = (a.min(b), a.max(b));
            if a != b && !t.twins.contains(&pair) {
                t.twins.push(pair);
            }
        }
        let records = read(&dir.join("records.csv"))?;
        for (n, l) in records.lines().enumerate().skip(1) {
            let f: Vec<&str> = l.split(',').collect();
            if f.len() < 5 {
                return Err(bad("records.csv", n + 1));
            }
            let line: u64 = f[2].parse().map_err(|_| bad("records.csv", n + 1))?;
            let rest = f[1].split_once('/').map_or(f[1], |(_, r)| r);
            let mut flags = 0;
            for d in f[4].split(';') {
                flags |= match d {
                    "spelling_variant" => SPELLING,
                    "kana_variant" => KANA,
                    "birth_typo" => TYPO,
                    _ => 0,
                };
            }
            let p = t.person(f[3]);
            t.records.insert(key(f[0], rest, line), (p, flags));
        }
        let events = read(&dir.join("events.csv"))?;
        for (n, l) in events.lines().enumerate().skip(1) {
            let f: Vec<&str> = l.split(',').collect();
            if f.len() < 3 {
                return Err(bad("events.csv", n + 1));
            }
            let kind = if f[2].starts_with("insurer_change") {
                0
            } else if f[2] == "marriage" {
                1
            } else {
                continue;
            };
            let month = month_of(f[1]).ok_or_else(|| bad("events.csv", n + 1))?;
            let p = t.person(f[0]);
            t.events.push((p, month, kind));
        }
        Ok(t)
    }

    fn person(&mut self, id: &str) -> u32 {
        let next = self.persons.len() as u32;
        *self.persons.entry(Box::from(id)).or_insert(next)
    }

    /// The truth row of a staging record: its file may be recorded relative to any folder, so
    /// leading path components are dropped until a truth row matches.
    fn find(&self, source: &str, file: &str, line: u32) -> Option<(u32, u8)> {
        let mut rest = file;
        loop {
            if let Some(&v) = self.records.get(&key(source, rest, u64::from(line))) {
                return Some(v);
            }
            rest = rest.split_once('/')?.1;
        }
    }
}

/// Scores `clusters` (one per record of `set`) against `truth`.
pub fn evaluate(set: &RecordSet, clusters: &[u32], truth: &Truth) -> Quality {
    let mut q = Quality::default();
    // (person, cluster) → (records, per flag kind: flagged records)
    let mut cells: HashMap<(u32, u32), [u64; 4]> = HashMap::new();
    let mut per_person: HashMap<u32, [u64; 4]> = HashMap::new();
    let mut per_cluster: HashMap<u32, u64> = HashMap::new();
    let with_events: HashMap<u32, ()> = truth.events.iter().map(|e| (e.0, ())).collect();
    let mut timeline: HashMap<u32, Vec<(u32, u32)>> = HashMap::new();
    for (i, &c) in clusters.iter().enumerate() {
        let (file, line) = set.location(i);
        let Some((p, flags)) = truth.find(set.source(i).name(), file, line) else {
            q.unmatched += 1;
            continue;
        };
        q.records += 1;
        let add = |v: &mut [u64; 4]| {
            v[0] += 1;
            for (k, bit) in [SPELLING, KANA, TYPO].into_iter().enumerate() {
                if flags & bit != 0 {
                    v[k + 1] += 1;
                }
            }
        };
        add(cells.entry((p, c)).or_default());
        add(per_person.entry(p).or_default());
        *per_cluster.entry(c).or_default() += 1;
        if with_events.contains_key(&p) {
            timeline.entry(p).or_default().push((set.month(i), c));
        }
    }
    q.persons = per_person.len() as u64;
    q.clusters = per_cluster.len() as u64;
    q.true_pairs = per_person.values().map(|v| pairs(v[0])).sum();
    q.predicted_pairs = per_cluster.values().map(|&n| pairs(n)).sum();
    q.true_positive_pairs = cells.values().map(|v| pairs(v[0])).sum();
    let mut persons_per_cluster: HashMap<u32, u32> = HashMap::new();
    let mut clusters_per_person: HashMap<u32, u32> = HashMap::new();
    for &(p, c) in cells.keys() {
        *persons_per_cluster.entry(c).or_default() += 1;
        *clusters_per_person.entry(p).or_default() += 1;
    }
    q.split_persons = clusters_per_person.values().filter(|&&n| n > 1).count() as u64;
    q.merged_clusters = persons_per_cluster.values().filter(|&&n| n > 1).count() as u64;
    // Events: pairs of one person's records on either side of the event.
    for (kind, name) in EVENT_KINDS.iter().enumerate() {
        let mut r = PairRecall::default();
        for &(p, month, k) in &truth.events {
            if k as usize != kind {
                continue;
            }
            let Some(recs) = timeline.get(&p) else {
                continue;
            };
            let mut sides: HashMap<u32, (u64, u64)> = HashMap::new();
            for &(m, c) in recs {
                let e = sides.entry(c).or_default();
                if m < month {
                    e.0 += 1;
                } else {
                    e.1 += 1;
                }
            }
            let (b, a) = sides
                .values()
                .fold((0, 0), |acc, s| (acc.0 + s.0, acc.1 + s.1));
            r.pairs += b * a;
            r.linked += sides.values().map(|s| s.0 * s.1).sum::<u64>();
        }
        q.by_drift.push((name, r));
    }
    // Record-level drift: pairs with at least one flagged record.
    for (k, name) in ["spelling_variant", "kana_variant", "birth_typo"]
        .into_iter()
        .enumerate()
    {
        let flagged = |v: &[u64; 4]| pairs(v[0]) - pairs(v[0] - v[k + 1]);
        q.by_drift.push((
            name,
            PairRecall {
                pairs: per_person.values().map(flagged).sum(),
                linked: cells.values().map(flagged).sum(),
            },
        ));
    }
    // Twins: pairs of twins who share a cluster.
    let mut clusters_of: HashMap<u32, Vec<u32>> = HashMap::new();
    for &(p, c) in cells.keys() {
        clusters_of.entry(p).or_default().push(c);
    }
    for (a, b) in &truth.twins {
        let (Some(ca), Some(cb)) = (clusters_of.get(a), clusters_of.get(b)) else {
            continue;
        };
        q.twin_pairs += 1;
        if ca.iter().any(|c| cb.contains(c)) {
            q.twins_merged += 1;
        }
    }
    q
}
