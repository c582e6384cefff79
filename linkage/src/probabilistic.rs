//! The probabilistic stage: Fellegi–Sunter scoring of candidate pairs of clusters, with m and u
//! estimated by EM, over comparison fields that exist in pseudonymized data.

use crate::birth::{birth_level, ymd};
use crate::cluster::{Births, Cluster, UnionFind};
use crate::deterministic::{Rule, ordered};
use crate::neighbours;
use crate::record::{CARE, FastMap, FastSet, ID1, ID2, ID4, NO_BIRTH, RecordSet};

/// Comparison fields and their number of levels. Level 0 is always the strongest agreement.
pub const FIELDS: [(&str, &[&str]); 9] = [
    ("id1", &["agree", "disagree", "missing"]),
    ("id2", &["agree", "disagree", "missing"]),
    ("id4", &["agree", "disagree", "missing"]),
    ("id5", &["agree", "disagree", "missing"]),
    ("care_key", &["agree", "disagree", "missing"]),
    (
        "birth_date",
        &["exact", "typo_like", "year_month", "other", "missing"],
    ),
    ("insurer_prefecture", &["agree", "disagree", "missing"]),
    ("facility", &["shared", "none_shared"]),
    ("time", &["overlap", "adjacent", "apart"]),
];
const NF: usize = FIELDS.len();

/// Settings of the stage.
#[derive(Debug, Clone)]
pub struct ScoreOptions {
    /// Pairs whose match weight (log2 of the posterior odds) reaches this are linked.
    pub threshold: f64,
    /// EM iterations.
    pub iterations: usize,
    /// Blocks with more clusters than this are skipped (they carry no information).
    pub max_block: usize,
    /// Months between two clusters' spans that still count as adjacent.
    pub adjacent_months: u32,
    /// Random pairs of clusters drawn to estimate u.
    pub u_samples: usize,
    /// Weight (in pairs) of the prior m in the EM updates.
    pub prior_weight: f64,
}

impl Default for ScoreOptions {
    fn default() -> Self {
        ScoreOptions {
            threshold: 12.0,
            iterations: 30,
            max_block: 200,
            adjacent_months: 6,
            u_samples: 200_000,
            prior_weight: 5.0,
        }
    }
}

/// The fitted model and what the stage did.
#[derive(Debug, Clone, Default)]
pub struct ScoreStats {
    /// Candidate pairs compared.
    pub pairs: u64,
    /// Pairs at or above the threshold.
    pub accepted: u64,
    /// Accepted pairs a guard refused at merge time.
    pub blocked: u64,
    /// Merges made.
    pub merges: u64,
    /// Small clusters joined to the one cluster of a typo-like birth date at their insurer and
    /// facility.
    pub near_birth: u64,
    /// Care-only clusters joined to the one nearest medical cluster of their birth date.
    pub care_locality: u64,
    /// The prior share of matches among candidates.
    pub lambda: f64,
    /// m and u per field and level.
    pub m: Vec<Vec<f64>>,
    pub u: Vec<Vec<f64>>,
}

type Pattern = [u8; NF];

fn key_level(a: &Cluster, b: &Cluster, kind: usize) -> u8 {
    let mut has_a = false;
    let mut has_b = false;
    for &(k, key) in &a.keys {
        if k as usize == kind {
            has_a = true;
            if b.has_key(kind, key) {
                return 0;
            }
        }
    }
    for &(k, _) in &b.keys {
        has_b |= k as usize == kind;
    }
    if has_a && has_b { 1 } else { 2 }
}

/// The comparison pattern of two clusters. With `birth_keys_discounted`, keys hashed over the
/// birth date (id1, id2, id4 and the care key) that disagree when the birth dates differ are
/// scored as missing: they must differ then, and a birth-date typo would count several times.
fn compare(a: &Cluster, b: &Cluster, opts: &ScoreOptions, birth_keys_discounted: bool) -> Pattern {
    let mut p = [0u8; NF];
    for (kind, level) in p.iter_mut().take(KEY_FIELDS).enumerate() {
        *level = key_level(a, b, kind);
    }
    p[BIRTH] = birth_level(a.birth, b.birth);
    if birth_keys_discounted && matches!(p[BIRTH], 1..=3) {
        for k in [ID1, ID2, ID4, CARE] {
            if p[k] == 1 {
                p[k] = 2;
            }
        }
    }
    p[6] = if a.prefectures.is_empty() || b.prefectures.is_empty() {
        2
    } else if a.prefectures.iter().any(|x| b.prefectures.contains(x)) {
        0
    } else {
        1
    };
    p[7] = u8::from(!a.facilities.iter().any(|f| b.facilities.contains(f)));
    p[8] = if a.first <= b.last && b.first <= a.last {
        0
    } else {
        let gap = a.first.max(b.first) - a.last.min(b.last);
        if gap <= opts.adjacent_months { 1 } else { 2 }
    };
    p
}

/// Index of the birth date among [`FIELDS`].
const BIRTH: usize = 5;

/// Candidate pairs of roots from the three blocking rules.
fn block(
    uf: &mut UnionFind,
    guarded: &FastSet<(u32, u32)>,
    opts: &ScoreOptions,
) -> Vec<(u32, u32)> {
    // (a) shared keys whose merge a guard (or an ambiguity) blocked.
    let mut pairs: Vec<(u32, u32)> = Vec::with_capacity(guarded.len());
    for &(a, b) in guarded {
        let (ra, rb) = (uf.find(a), uf.find(b));
        if ra != rb {
            pairs.push(ordered(ra, rb));
        }
    }
    // (b) exact birth date and sex; (c) birth year-month, sex and a shared facility. Each block
    // is a run of one packed key in a sorted vector (sorting beats hashing a million roots).
    let mut blocks: Vec<(u64, u32)> = Vec::new();
    for r in uf.roots() {
        let c = uf.cluster(r);
        if c.birth == NO_BIRTH {
            continue;
        }
        let sex = u64::from(c.sex & 3);
        blocks.push(((u64::from(c.birth as u32) << 2) | sex, r));
        if let Some((y, m, _)) = ymd(c.birth) {
            // Year-month in 20 bits, sex in 2, the facility in 32; the top bit marks rule (c).
            let ym = (y as u64 * 12 + u64::from(m)) & 0xF_FFFF;
            for &f in &c.facilities {
                blocks.push((1 << 63 | ym << 34 | sex << 32 | u64::from(f), r));
            }
        }
    }
    blocks.sort_unstable();
    for block in blocks.chunk_by(|a, b| a.0 == b.0) {
        if block.len() < 2 || block.len() > opts.max_block {
            continue;
        }
        for (i, &(_, a)) in block.iter().enumerate() {
            pairs.extend(block[i + 1..].iter().map(|&(_, b)| ordered(a, b)));
        }
    }
    pairs.sort_unstable();
    pairs.dedup();
    pairs
}

/// u: level frequencies over random pairs of clusters born in the same year-month with the same
/// sex (almost all non-matches). Candidates come from blocks on the birth date, so u must be
/// conditioned the same way, or agreement on the birth month would look like strong evidence.
fn estimate_u(roots: &[u32], uf: &UnionFind, opts: &ScoreOptions) -> Vec<Vec<f64>> {
    let mut u: Vec<Vec<f64>> = FIELDS
        .iter()
        .map(|(_, levels)| vec![1.0; levels.len()])
        .collect();
    let mut groups: FastMap<(i32, u32, u8), Vec<u32>> = FastMap::default();
    for &r in roots {
        let c = uf.cluster(r);
        if let Some((y, m, _)) = ymd(c.birth).filter(|_| c.birth != NO_BIRTH) {
            groups.entry((y, m, c.sex)).or_default().push(r);
        }
    }
    // In key order: the same data draw the same pairs on every run.
    let mut keys: Vec<(i32, u32, u8)> = groups
        .iter()
        .filter(|(_, g)| g.len() > 1)
        .map(|(k, _)| *k)
        .collect();
    keys.sort_unstable();
    let members: Vec<&Vec<u32>> = keys.iter().map(|k| &groups[k]).collect();
    let weights: Vec<usize> = members.iter().map(|g| g.len()).collect();
    let total: usize = weights.iter().sum();
    if total == 0 {
        return u.into_iter().map(normalized).collect();
    }
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    // Cumulative sizes: a group is drawn in proportion to its size.
    let mut cumulative = Vec::with_capacity(weights.len());
    let mut acc = 0;
    for w in &weights {
        acc += w;
        cumulative.push(acc);
    }
    for _ in 0..opts.u_samples {
        let pick = (next() % total as u64) as usize;
        let g = members[cumulative.partition_point(|&c| c <= pick)];
        let n = g.len() as u64;
        let (a, b) = (g[(next() % n) as usize], g[(next() % n) as usize]);
        if a == b {
            continue;
        }
        let p = compare(uf.cluster(a), uf.cluster(b), opts, false);
        for f in KEY_FIELDS..NF {
            u[f][p[f] as usize] += 1.0;
        }
        // Link keys: over random pairs of the whole population, where a shared key is as rare
        // as it is between two persons (small same-month groups hold too many fragments of one
        // person to estimate it).
        let n = roots.len() as u64;
        let (a, b) = (roots[(next() % n) as usize], roots[(next() % n) as usize]);
        if a != b {
            let p = compare(uf.cluster(a), uf.cluster(b), opts, false);
            for f in 0..KEY_FIELDS {
                u[f][p[f] as usize] += 1.0;
            }
        }
    }
    u.into_iter().map(normalized).collect()
}

/// The first fields are the link keys.
const KEY_FIELDS: usize = 5;

fn normalized(mut v: Vec<f64>) -> Vec<f64> {
    let s: f64 = v.iter().sum();
    v.iter_mut().for_each(|x| *x /= s);
    v
}

/// Prior m per field (also the Dirichlet pseudo-counts of the EM updates).
fn prior_m() -> Vec<Vec<f64>> {
    vec![
        vec![0.6, 0.2, 0.2],
        vec![0.6, 0.2, 0.2],
        vec![0.6, 0.2, 0.2],
        vec![0.6, 0.2, 0.2],
        vec![0.6, 0.2, 0.2],
        vec![0.85, 0.04, 0.08, 0.02, 0.01],
        vec![0.8, 0.1, 0.1],
        vec![0.7, 0.3],
        vec![0.5, 0.4, 0.1],
    ]
}

/// Estimates m and λ by EM over the pattern counts, u held fixed.
fn em(patterns: &[(Pattern, u64)], u: &[Vec<f64>], opts: &ScoreOptions) -> (Vec<Vec<f64>>, f64) {
    let prior = prior_m();
    let mut m = prior.clone();
    let mut lambda = 0.1;
    for _ in 0..opts.iterations {
        let mut mm: Vec<Vec<f64>> = prior
            .iter()
            .map(|v| v.iter().map(|x| x * opts.prior_weight).collect())
            .collect();
        let (mut gm, mut total) = (0.0, 0.0);
        for &(p, n) in patterns {
            let (mut pm, mut pu) = (lambda, 1.0 - lambda);
            for f in 0..NF {
                pm *= m[f][p[f] as usize];
                pu *= u[f][p[f] as usize];
            }
            let g = pm / (pm + pu).max(f64::MIN_POSITIVE);
            let n = n as f64;
            gm += g * n;
            total += n;
            for f in 0..NF {
                mm[f][p[f] as usize] += g * n;
            }
        }
        m = mm.into_iter().map(normalized).collect();
        lambda = (gm / total.max(1.0)).clamp(1e-6, 1.0 - 1e-6);
    }
    (m, lambda)
}

/// The level that means "missing on one side" per field (it weighs nothing).
fn is_missing(f: usize, level: u8) -> bool {
    FIELDS[f].1.get(level as usize) == Some(&"missing")
}

/// The match weight: log2 of m/u summed over the fields that are present on both sides. The
/// prior λ is left out, so the threshold means the same across runs.
fn weight(p: &Pattern, m: &[Vec<f64>], u: &[Vec<f64>]) -> f64 {
    (0..NF)
        .filter(|&f| !is_missing(f, p[f]))
        .map(|f| (m[f][p[f] as usize] / u[f][p[f] as usize]).log2())
        .sum()
}

/// Runs the stage: scores candidates, then merges accepted pairs by decreasing weight under the
/// hard guards. `rules`/`weights` are set for the signatures that join by score.
pub(crate) fn run(
    set: &RecordSet,
    uf: &mut UnionFind,
    guarded: &FastSet<(u32, u32)>,
    rules: &mut [Rule],
    weights: &mut [f32],
    opts: &ScoreOptions,
) -> ScoreStats {
    let pairs = block(uf, guarded, opts);
    let mut scored: Vec<(Pattern, u32, u32)> = Vec::with_capacity(pairs.len());
    let mut patterns: FastMap<Pattern, u64> = FastMap::default();
    for &(a, b) in &pairs {
        let (ca, cb) = (uf.cluster(a), uf.cluster(b));
        // Hard guards first: such pairs are not candidates at all.
        if ca.conflict(cb, Births::Any, true).is_some() {
            continue;
        }
        let p = compare(ca, cb, opts, true);
        *patterns.entry(p).or_default() += 1;
        scored.push((p, a, b));
    }
    let roots = uf.roots();
    let u = estimate_u(&roots, uf, opts);
    // Sorted, so that the sums of the EM come out the same on every run.
    let mut patterns: Vec<(Pattern, u64)> = patterns.into_iter().collect();
    patterns.sort_unstable();
    let (m, lambda) = em(&patterns, &u, opts);
    let mut stats = ScoreStats {
        pairs: scored.len() as u64,
        lambda,
        ..Default::default()
    };
    // A pair with neither a key nor the birth date in common is left to the rules that check the
    // insurer and that the other cluster is the only one (see `neighbours`).
    let mut accepted: Vec<(f64, u32, u32)> = scored
        .iter()
        .filter(|(p, _, _)| p[BIRTH] == 0 || p[..KEY_FIELDS].contains(&0))
        .map(|(p, a, b)| (weight(p, &m, &u), *a, *b))
        .filter(|(w, _, _)| *w >= opts.threshold)
        .collect();
    accepted.sort_by(|x, y| y.0.total_cmp(&x.0));
    stats.accepted = accepted.len() as u64;
    for (w, a, b) in accepted {
        let (ra, rb) = (uf.find(a), uf.find(b));
        if ra == rb {
            continue;
        }
        if uf.conflict(ra, rb, Births::Any, true).is_some() {
            stats.blocked += 1;
            continue;
        }
        // The smaller side is the one that joins by score.
        let joining = if uf.cluster(ra).records >= uf.cluster(rb).records {
            b
        } else {
            a
        };
        rules[joining as usize] = Rule::Score;
        weights[joining as usize] = w as f32;
        uf.union_roots(ra, rb);
        stats.merges += 1;
    }
    stats.near_birth = neighbours::near_birth(uf, rules);
    stats.care_locality = neighbours::care_by_locality(set, uf, rules);
    stats.m = m;
    stats.u = u;
    stats
}
