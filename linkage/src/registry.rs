//! The person registry in the steward zone: stable `person_id`s across runs, the link table and
//! the lineage of merges and splits.
//!
//! Tables (partitioned by `job_id`; the current state is the latest linkage job's partition,
//! earlier partitions are the history):
//! - `persons`: `person_id`, `first_seen` (job), `status` (`active` / `merged`), `merged_into`;
//! - `links`: `record_id`, `source`, `service_month`, `person_id`, `unit_id` (an opaque number
//!   of the unit in this job, the lake's join key between unit and detail tables), `stage`,
//!   `rule`, `weight`;
//! - `lineage`: `kind` (`merge` / `split`), `person_id`, `other_person_id`.
//!
//! A run relinks every staged record and each new cluster inherits the `person_id` its records
//! had: a cluster holding records of two earlier persons is a merge (the smaller id stays, the
//! other is marked `merged` into it); an earlier person spread over two clusters is a split (the
//! cluster with most of its records keeps the id, the others get new ids).

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::builder::{Float64Builder, Int64Builder, StringBuilder};
use arrow_array::{Array, ArrayRef, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::compute::cast;
use datafusion::prelude::SessionContext;
use futures::StreamExt;
use niji_lake::{CommitInfo, TableUri, TableWriter, ZoneRoot};

use crate::link::Linkage;
use crate::record::{FastMap, RecordMap, RecordSet};
use crate::staging::{Strs, format_month};
use crate::{Error, Result};

/// One person of the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonRow {
    pub person_id: i64,
    pub first_seen: String,
    pub merged_into: Option<i64>,
}

/// The registry as the latest job left it.
#[derive(Debug, Default)]
pub struct Previous {
    pub job_id: Option<String>,
    /// record_id → person_id.
    pub links: EarlierLinks,
    pub persons: Vec<PersonRow>,
}

/// record_id → person_id of the latest job.
pub type EarlierLinks = RecordMap<i64>;

/// The person ids given to this run's clusters, and what changed.
#[derive(Debug, Default)]
pub struct Assignment {
    /// person_id of each cluster.
    pub person_of: Vec<i64>,
    pub persons: Vec<PersonRow>,
    /// (absorbed person, kept person).
    pub merges: Vec<(i64, i64)>,
    /// (earlier person, person that took part of its records).
    pub splits: Vec<(i64, i64)>,
    pub new_persons: u64,
}

const NO_PERSON: i64 = i64::MIN;

/// The earlier person of every record (`i64::MIN` for a record new to the registry), looked up
/// on all cores: each lookup is a cache miss in a table of millions of records. It needs no
/// linkage, so it can run while [`crate::link`] does; [`assign_earlier`] takes it.
pub fn earlier_persons(set: &RecordSet, previous: &Previous) -> Vec<i64> {
    let links = &previous.links;
    let mut out = vec![NO_PERSON; set.len()];
    if links.is_empty() {
        return out;
    }
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = set.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        for (n, part) in out.chunks_mut(chunk).enumerate() {
            scope.spawn(move || {
                for (j, slot) in part.iter_mut().enumerate() {
                    if let Some(p) = links.get(set.record_id(n * chunk + j)) {
                        *slot = p;
                    }
                }
            });
        }
    });
    out
}

/// Gives each cluster a person id, inheriting the ids of `previous`.
pub fn assign(set: &RecordSet, linkage: &Linkage, previous: &Previous, job_id: &str) -> Assignment {
    assign_earlier(
        set,
        linkage,
        previous,
        &earlier_persons(set, previous),
        job_id,
    )
}

/// [`assign`] with the records' earlier persons already looked up ([`earlier_persons`] of the
/// same set and registry; an earlier person past the set's end is ignored).
pub fn assign_earlier(
    set: &RecordSet,
    linkage: &Linkage,
    previous: &Previous,
    earlier: &[i64],
    job_id: &str,
) -> Assignment {
    let clusters = linkage.clusters;
    let earlier = &earlier[..earlier.len().min(set.len())];
    // Records of each earlier person per cluster: the first cluster seen in a slot per person
    // id (ids are given from 1 up), any further cluster in a map (splits are rare).
    let max_id = previous
        .persons
        .iter()
        .map(|p| p.person_id)
        .max()
        .unwrap_or(0);
    let mut first = vec![(0u32, 0u64); usize::try_from(max_id).map_or(0, |m| m + 1)];
    let mut more: FastMap<(i64, u32), u64> = FastMap::default();
    for (i, &p) in earlier.iter().enumerate() {
        if p == NO_PERSON {
            continue;
        }
        let c = linkage.cluster(set, i);
        match usize::try_from(p).ok().and_then(|k| first.get_mut(k)) {
            Some(slot) if slot.1 == 0 || slot.0 == c => *slot = (c, slot.1 + 1),
            _ => *more.entry((p, c)).or_default() += 1,
        }
    }
    let mut sorted: Vec<(i64, u32, u64)> = first
        .iter()
        .enumerate()
        .filter(|(_, s)| s.1 > 0)
        .map(|(p, &(c, n))| (p as i64, c, n))
        .chain(more.iter().map(|(&(p, c), &n)| (p, c, n)))
        .collect();
    sorted.sort_unstable();
    // Each earlier person is owned by the cluster holding most of its records.
    let mut owner: FastMap<i64, (u64, u32)> = FastMap::default();
    for &(p, c, n) in &sorted {
        let e = owner.entry(p).or_insert((n, c));
        if n > e.0 {
            *e = (n, c);
        }
    }
    let mut owned: Vec<Vec<i64>> = vec![Vec::new(); clusters];
    for (&p, &(_, c)) in &owner {
        owned[c as usize].push(p);
    }
    let mut next = previous
        .persons
        .iter()
        .map(|p| p.person_id)
        .max()
        .unwrap_or(0)
        + 1;
    let mut out = Assignment::default();
    let mut merged_into: HashMap<i64, i64> = HashMap::new();
    let mut new_rows = Vec::new();
    for ids in owned.iter_mut() {
        ids.sort_unstable();
        let id = match ids.first() {
            Some(&keep) => {
                for &other in &ids[1..] {
                    out.merges.push((other, keep));
                    merged_into.insert(other, keep);
                }
                keep
            }
            None => {
                let id = next;
                next += 1;
                out.new_persons += 1;
                new_rows.push(PersonRow {
                    person_id: id,
                    first_seen: job_id.to_owned(),
                    merged_into: None,
                });
                id
            }
        };
        out.person_of.push(id);
    }
    for &(p, c, _) in &sorted {
        if owner[&p].1 != c {
            out.splits.push((p, out.person_of[c as usize]));
        }
    }
    out.persons = previous
        .persons
        .iter()
        .map(|p| PersonRow {
            merged_into: p.merged_into.or(merged_into.get(&p.person_id).copied()),
            ..p.clone()
        })
        .chain(new_rows)
        .collect();
    out
}

fn schema(cols: &[(&str, DataType, bool)]) -> SchemaRef {
    Arc::new(Schema::new(
        cols.iter()
            .map(|(n, t, null)| Field::new(*n, t.clone(), *null))
            .collect::<Vec<_>>(),
    ))
}

fn persons_schema() -> SchemaRef {
    schema(&[
        ("job_id", DataType::Utf8, false),
        ("person_id", DataType::Int64, false),
        ("first_seen", DataType::Utf8, false),
        ("status", DataType::Utf8, false),
        ("merged_into", DataType::Int64, true),
    ])
}

fn links_schema() -> SchemaRef {
    schema(&[
        ("job_id", DataType::Utf8, false),
        ("record_id", DataType::Utf8, false),
        ("source", DataType::Utf8, false),
        ("service_month", DataType::Utf8, false),
        ("person_id", DataType::Int64, false),
        ("unit_id", DataType::Int64, false),
        ("stage", DataType::Utf8, false),
        ("rule", DataType::Utf8, false),
        ("weight", DataType::Float64, true),
    ])
}

fn lineage_schema() -> SchemaRef {
    schema(&[
        ("job_id", DataType::Utf8, false),
        ("kind", DataType::Utf8, false),
        ("person_id", DataType::Int64, false),
        ("other_person_id", DataType::Int64, false),
    ])
}

/// The registry's zone: `<data_dir>/steward/linkage`.
#[derive(Debug, Clone)]
pub struct Registry {
    zone: ZoneRoot,
}

async fn query(ctx: &SessionContext, sql: &str) -> Result<Vec<RecordBatch>> {
    ctx.sql(sql)
        .await
        .map_err(|e| Error::query("plan a registry read", e))?
        .collect()
        .await
        .map_err(|e| Error::query("read the registry", e))
}

fn col<T: Array + Clone + 'static>(b: &RecordBatch, i: usize, ty: DataType) -> Result<T> {
    cast(b.column(i), &ty)
        .ok()
        .and_then(|a| a.as_any().downcast_ref::<T>().cloned())
        .ok_or(Error::Column {
            table: "registry".into(),
            column: "?",
        })
}

impl Registry {
    pub fn new(zone: ZoneRoot) -> Self {
        Registry { zone }
    }

    fn table(&self, name: &str) -> Result<TableUri> {
        Ok(self.zone.table(name)?)
    }

    /// The state the latest linkage job left (empty when there is none).
    pub async fn load(&self) -> Result<Previous> {
        let persons = self.table("persons")?;
        if niji_lake::table_version(&persons).await?.is_none() {
            return Ok(Previous::default());
        }
        let ctx = SessionContext::new();
        niji_lake::register(&ctx, "persons", &persons, None).await?;
        niji_lake::register(&ctx, "links", &self.table("links")?, None).await?;
        let last = query(&ctx, "SELECT max(CAST(job_id AS VARCHAR)) FROM persons").await?;
        let Some(job) = last
            .first()
            .and_then(|b| col::<StringArray>(b, 0, DataType::Utf8).ok())
            .filter(|a| a.len() == 1 && a.is_valid(0))
            .map(|a| a.value(0).to_owned())
        else {
            return Ok(Previous::default());
        };
        let q = job.replace('\'', "''");
        let mut prev = Previous {
            job_id: Some(job.clone()),
            ..Default::default()
        };
        for b in query(
            &ctx,
            &format!("SELECT person_id, first_seen, merged_into FROM persons WHERE job_id = '{q}'"),
        )
        .await?
        {
            let (ids, first, into): (Int64Array, StringArray, Int64Array) = (
                col(&b, 0, DataType::Int64)?,
                col(&b, 1, DataType::Utf8)?,
                col(&b, 2, DataType::Int64)?,
            );
            for i in 0..b.num_rows() {
                prev.persons.push(PersonRow {
                    person_id: ids.value(i),
                    first_seen: first.value(i).to_owned(),
                    merged_into: into.is_valid(i).then(|| into.value(i)),
                });
            }
        }
        // Streamed, the ids read in place: millions of rows, never all decoded at once.
        let mut links = ctx
            .sql(&format!(
                "SELECT record_id, person_id FROM links WHERE job_id = '{q}'"
            ))
            .await
            .map_err(|e| Error::query("plan a registry read", e))?
            .execute_stream()
            .await
            .map_err(|e| Error::query("read the registry", e))?;
        while let Some(b) = links.next().await {
            let b = b.map_err(|e| Error::query("read the registry", e))?;
            let rec = Strs::of("links", &b, "record_id")?;
            let ids: Int64Array = col(&b, 1, DataType::Int64)?;
            for i in 0..b.num_rows() {
                if let Some(r) = rec.get(i) {
                    prev.links.insert(r, ids.value(i));
                }
            }
        }
        Ok(prev)
    }

    /// Writes this job's persons, links and lineage, one commit per table.
    pub async fn write(
        &self,
        job_id: &str,
        set: &RecordSet,
        linkage: &Linkage,
        a: &Assignment,
    ) -> Result<()> {
        let parts = ["job_id"];
        let arrow = |table: &'static str| move |source| Error::Arrow { table, source };
        // persons
        let mut w = TableWriter::open(&self.table("persons")?, persons_schema(), &parts).await?;
        let (mut job, mut id, mut first, mut status, mut into) = (
            StringBuilder::new(),
            Int64Builder::new(),
            StringBuilder::new(),
            StringBuilder::new(),
            Int64Builder::new(),
        );
        for p in &a.persons {
            job.append_value(job_id);
            id.append_value(p.person_id);
            first.append_value(&p.first_seen);
            status.append_value(if p.merged_into.is_some() {
                "merged"
            } else {
                "active"
            });
            into.append_option(p.merged_into);
        }
        let cols: Vec<ArrayRef> = vec![
            Arc::new(job.finish()),
            Arc::new(id.finish()),
            Arc::new(first.finish()),
            Arc::new(status.finish()),
            Arc::new(into.finish()),
        ];
        w.write(RecordBatch::try_new(persons_schema(), cols).map_err(arrow("persons"))?)
            .await?;
        let persons = w.prepare().await?;
        // links, in batches
        let mut w = TableWriter::open(&self.table("links")?, links_schema(), &parts).await?;
        let mut start = 0;
        while start < set.len() {
            let end = (start + 65_536).min(set.len());
            let mut b: [StringBuilder; 6] = std::array::from_fn(|_| StringBuilder::new());
            let (mut pid, mut unit, mut weight) = (
                Int64Builder::new(),
                Int64Builder::new(),
                Float64Builder::new(),
            );
            for i in start..end {
                let (rule, wt) = linkage.rule(set, i);
                b[0].append_value(job_id);
                b[1].append_value(set.record_id(i));
                b[2].append_value(set.source(i).name());
                b[3].append_value(format_month(set.month(i)));
                pid.append_value(a.person_of[linkage.cluster(set, i) as usize]);
                unit.append_value(i as i64);
                b[4].append_value(rule.stage());
                b[5].append_value(rule.name());
                weight.append_option((rule == crate::Rule::Score).then_some(f64::from(wt)));
            }
            let [job, rec, src, month, stage, rule] = b.map(|mut x| Arc::new(x.finish()));
            let cols: Vec<ArrayRef> = vec![
                job,
                rec,
                src,
                month,
                Arc::new(pid.finish()),
                Arc::new(unit.finish()),
                stage,
                rule,
                Arc::new(weight.finish()),
            ];
            w.write(RecordBatch::try_new(links_schema(), cols).map_err(arrow("links"))?)
                .await?;
            start = end;
        }
        let links = w.prepare().await?;
        // lineage
        let mut w = TableWriter::open(&self.table("lineage")?, lineage_schema(), &parts).await?;
        let (mut job, mut kind, mut p, mut o) = (
            StringBuilder::new(),
            StringBuilder::new(),
            Int64Builder::new(),
            Int64Builder::new(),
        );
        for (k, list) in [("merge", &a.merges), ("split", &a.splits)] {
            for &(x, y) in list {
                job.append_value(job_id);
                kind.append_value(k);
                p.append_value(x);
                o.append_value(y);
            }
        }
        let cols: Vec<ArrayRef> = vec![
            Arc::new(job.finish()),
            Arc::new(kind.finish()),
            Arc::new(p.finish()),
            Arc::new(o.finish()),
        ];
        w.write(RecordBatch::try_new(lineage_schema(), cols).map_err(arrow("lineage"))?)
            .await?;
        let lineage = w.prepare().await?;
        let info = CommitInfo::new(job_id, "link");
        // persons last: a reader that finds the job in `persons` finds it in the others too.
        niji_lake::commit_all(vec![links, lineage, persons], &info).await?;
        Ok(())
    }
}

/// A new linkage job id: `link-<UTC time>-<nanos>`, sortable by time.
pub fn job_id() -> String {
    let now = chrono::Utc::now();
    format!(
        "link-{}-{:06}",
        now.format("%Y%m%dT%H%M%SZ"),
        now.timestamp_subsec_micros()
    )
}
