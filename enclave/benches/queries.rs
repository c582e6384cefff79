//! Whole-query benchmark: realistic aggregate queries through the enclave (policy, pid
//! pseudonyms, hidden person counts, cell protection) and, in the same run on the same Delta
//! tables, through plain DataFusion with the same views (person_id as pid) and no policy.
//! `bench/enclave_vs_duckdb.py` adds DuckDB on the same Parquet files and prints the ratios.
//!
//! ```sh
//! cargo bench --profile release -p niji-enclave --bench queries -- /path/to/data/lake
//! ```
//!
//! Prints one JSON line per query: `{"query", "sql", "enclave_s", "datafusion_s", "rows"}`.

use std::time::Instant;

use datafusion::prelude::SessionContext;
use niji_enclave::{Enclave, ProjectSpec};
use niji_lake::ZoneRoot;
use niji_pseudonymize::ProjectKey;

/// (name, SQL): the same text runs in the enclave, plain DataFusion and DuckDB.
const QUERIES: &[(&str, &str)] = &[
    (
        "prevalence_by_age_sex",
        "SELECT r.sex, CAST(floor((2024 - CAST(date_part('year', r.birth_month) AS INT)) / 10) * 10 AS INT) AS band, \
         count(DISTINCT r.pid) AS persons, avg(r.points) AS mean_points \
         FROM receipts r GROUP BY 1, 2",
    ),
    (
        "diabetes_by_sex",
        "SELECT r.sex, count(DISTINCT d.pid) AS persons \
         FROM diagnoses d JOIN receipts r ON d.unit_key = r.unit_key \
         WHERE d.icd10 = 'E11' GROUP BY 1",
    ),
    (
        "hba1c_checkups_x_claims",
        "WITH h AS (SELECT o.pid, c.sex, max(o.value) AS hba1c FROM observations o \
                    JOIN checkups c ON o.unit_key = c.unit_key WHERE o.code LIKE '3D046%' GROUP BY o.pid, c.sex), \
              e AS (SELECT DISTINCT pid FROM diagnoses WHERE icd10 = 'E11') \
         SELECT h.sex, CASE WHEN e.pid IS NULL THEN 'no' ELSE 'yes' END AS e11, \
                count(*) AS persons, avg(h.hba1c) AS mean_hba1c \
         FROM h LEFT JOIN e ON h.pid = e.pid GROUP BY 1, 2",
    ),
    (
        "care_need_after_dementia",
        "WITH d AS (SELECT DISTINCT pid FROM diagnoses WHERE icd10 LIKE 'G30%'), \
              c AS (SELECT pid, max(care_level) AS level FROM care_claims GROUP BY pid) \
         SELECT coalesce(c.level, 'none') AS level, count(*) AS persons \
         FROM d LEFT JOIN c ON d.pid = c.pid GROUP BY 1",
    ),
    (
        "drug_points_by_month",
        "SELECT service_month, count(DISTINCT pid) AS persons, sum(points) AS points \
         FROM drugs GROUP BY 1",
    ),
];

const TABLES: &[&str] = &[
    "receipts",
    "diagnoses",
    "observations",
    "checkups",
    "care_claims",
    "drugs",
];

async fn plain(lake: &ZoneRoot) -> SessionContext {
    let ctx = SessionContext::new();
    for t in TABLES {
        let uri = lake.table(t).expect("table uri");
        niji_lake::register(&ctx, &format!("raw_{t}"), &uri, None)
            .await
            .expect("register");
        let has_birth = ["receipts", "checkups", "care_claims"].contains(t);
        let birth = if has_birth {
            ", CAST(date_trunc('month', CAST(birth_date AS TIMESTAMP)) AS DATE) AS birth_month"
        } else {
            ""
        };
        ctx.sql(&format!(
            "CREATE VIEW {t} AS SELECT *, person_id AS pid, unit_id AS unit_key{birth} FROM raw_{t}"
        ))
        .await
        .expect("view");
    }
    ctx
}

fn main() {
    let Some(lake) = std::env::args().skip(1).find(|a| !a.starts_with("--")) else {
        eprintln!(
            "usage: cargo bench --profile release -p niji-enclave --bench queries -- <data_dir>/lake"
        );
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let root = ZoneRoot::parse(&lake).expect("lake");
        let mut spec = ProjectSpec::new("bench", TABLES);
        spec.limits.timeout_seconds = 3600;
        spec.limits.memory_mib = 8192;
        let enclave = Enclave::open(&root, spec, ProjectKey::generate("bench").expect("key"))
            .await
            .expect("enclave");
        let ctx = plain(&root).await;
        for (name, sql) in QUERIES {
            let (mut best_e, mut best_p, mut rows) = (f64::MAX, f64::MAX, 0);
            for round in 0..4 {
                let t = Instant::now();
                let r = enclave.query("bench", sql).await.expect(name);
                let e = t.elapsed().as_secs_f64();
                let t = Instant::now();
                let b = ctx.sql(sql).await.expect(name).collect().await.expect(name);
                let p = t.elapsed().as_secs_f64();
                if round > 0 {
                    // The first round warms caches for both.
                    best_e = best_e.min(e);
                    best_p = best_p.min(p);
                }
                rows = r.rows();
                let _ = b;
            }
            println!(
                "{}",
                serde_json::json!({
                    "query": name,
                    "sql": sql,
                    "enclave_s": best_e,
                    "datafusion_s": best_p,
                    "rows": rows,
                })
            );
        }
    });
}
