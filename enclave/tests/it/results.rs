//! Admitted queries return the true aggregates (before rounding), and the views show only what
//! the approval grants.

use crate::fixture::{self, enclave, exact_spec, lake, rows, spec};

#[tokio::test]
async fn cells_that_pass_equal_the_true_aggregates() {
    let l = lake().await;
    let e = enclave(&l, exact_spec()).await;
    // Prevalence by sex, linked diagnoses × receipts, a per-person summary.
    let r = e
        .query(
            "alice",
            "SELECT r.sex, count(DISTINCT d.pid) AS persons \
             FROM diagnoses d JOIN receipts r ON d.pid = r.pid \
             WHERE d.code = 'E11' GROUP BY r.sex ORDER BY r.sex",
        )
        .await
        .expect("admitted");
    assert_eq!(rows(&r), vec![vec!["1", "30"], vec!["2", "30"]]);
    // The same through the unit: a diagnosis joined to its receipt (one person per unit, so
    // the group's persons are counted once, from the query's own count).
    let r = e
        .query(
            "alice",
            "SELECT r.sex, count(DISTINCT d.pid) AS persons \
             FROM diagnoses d JOIN receipts r ON d.unit_key = r.unit_key \
             WHERE d.code = 'E11' GROUP BY r.sex ORDER BY r.sex",
        )
        .await
        .expect("admitted");
    assert_eq!(rows(&r), vec![vec!["1", "30"], vec!["2", "30"]]);
    let plan = e
        .protected_plan(
            "SELECT r.sex, count(DISTINCT d.pid) AS persons \
             FROM diagnoses d JOIN receipts r ON d.unit_key = r.unit_key GROUP BY r.sex",
        )
        .await
        .expect("plan")
        .display_indent()
        .to_string();
    let aggregate = plan
        .lines()
        .find(|l| l.trim_start().starts_with("Aggregate:"))
        .expect("aggregate");
    assert_eq!(aggregate.matches("count(DISTINCT").count(), 1, "{plan}");

    let r = e
        .query(
            "alice",
            "SELECT n, count(*) AS persons FROM \
             (SELECT pid, count(*) AS n FROM diagnoses GROUP BY pid) GROUP BY n",
        )
        .await
        .expect("admitted");
    // Persons 1..=3: E11 and X99 (2 codes); 40..=60: E11 and I10 (2); the rest 1.
    let two = 3 + 21;
    let one = 120 - two;
    assert_eq!(
        rows(&r),
        vec![
            vec!["1".to_string(), one.to_string()],
            vec!["2".to_string(), two.to_string()]
        ]
    );

    let r = e
        .query(
            "alice",
            // A filtered sum first (it selects no row), then the mean and the person count that
            // the mean's contribution check answers.
            "SELECT r.sex, sum(r.points) FILTER (WHERE r.points > 1000000) AS big, \
                    avg(r.points) AS mean, count(DISTINCT r.pid) AS persons FROM receipts r \
             WHERE r.pid IN (SELECT pid FROM diagnoses WHERE code = 'I10') GROUP BY r.sex \
             ORDER BY r.sex",
        )
        .await
        .expect("admitted");
    let mean = |odd: bool| {
        let ps: Vec<i64> = (40..=120).filter(|p| (p % 2 == 1) == odd).collect();
        let total: i64 = ps
            .iter()
            .map(|&p| (0..3).map(|m| fixture::points(p, m)).sum::<i64>())
            .sum();
        total as f64 / (ps.len() * 3) as f64
    };
    let got = rows(&r);
    assert_eq!(got[0][0], "1");
    assert_eq!(got[0][1], "NULL", "no row passes the filter");
    assert!((got[0][2].parse::<f64>().expect("f") - mean(true)).abs() < 1e-9);
    assert!((got[1][2].parse::<f64>().expect("f") - mean(false)).abs() < 1e-9);
    let persons = |odd: bool| {
        (40..=120)
            .filter(|p| (p % 2 == 1) == odd)
            .count()
            .to_string()
    };
    assert_eq!(
        (&*got[0][3], &*got[1][3]),
        (&*persons(true), &*persons(false))
    );
    assert_eq!(r.report.cells_suppressed(), 0);
    assert_eq!(r.report.groups_withheld, 0);
}

#[tokio::test]
async fn counts_are_rounded_by_default_and_having_sees_protected_values() {
    let l = lake().await;
    let e = enclave(&l, spec()).await;
    let r = e
        .query(
            "alice",
            "SELECT code, count(*) AS n FROM diagnoses GROUP BY code HAVING count(*) > 0 ORDER BY n",
        )
        .await
        .expect("admitted");
    for row in rows(&r) {
        assert_eq!(row[1].parse::<i64>().expect("n") % 5, 0, "{row:?}");
    }
    assert_eq!(r.schema.fields().len(), 2, "hidden columns are stripped");
}

#[tokio::test]
async fn views_show_pid_and_birth_month_only() {
    let l = lake().await;
    let e = enclave(&l, spec()).await;
    let tables = e.catalog().describe();
    let receipts = &tables
        .iter()
        .find(|(n, _)| n == "receipts")
        .expect("receipts")
        .1;
    let names: Vec<&str> = receipts.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        vec![
            "pid",
            "unit_key",
            "source",
            "service_month",
            "sex",
            "birth_month",
            "points"
        ]
    );
    let diagnoses = &tables
        .iter()
        .find(|(n, _)| n == "diagnoses")
        .expect("diagnoses")
        .1;
    assert!(diagnoses.iter().all(|(n, _)| n != "uncoded_name"));
    // Birth month, not date: every birth date of the fixture is the 15th.
    let mut s = exact_spec();
    s.disclosure.k = 2;
    let e = enclave(&l, s).await;
    let r = e
        .query(
            "alice",
            "SELECT date_part('day', birth_month) AS d, count(*) FROM receipts GROUP BY 1",
        )
        .await
        .expect("admitted");
    assert_eq!(rows(&r), vec![vec!["1", "600"]]);
}

#[tokio::test]
async fn pids_differ_between_projects() {
    let l = lake().await;
    // Two projects' enclaves over the same lake: a per-person pseudonym cannot be output, but a
    // join across projects is impossible anyway since each session sees its own views only.
    let a = enclave(&l, spec()).await;
    let b = enclave(&l, spec()).await;
    let q = "SELECT count(DISTINCT pid) FROM receipts";
    let (ra, rb) = (
        a.query("x", q).await.expect("a"),
        b.query("x", q).await.expect("b"),
    );
    assert_eq!(ra.rows(), 1);
    assert_eq!(rb.rows(), 1);
    assert_ne!(ra.plan_hash, "");
}

#[tokio::test]
async fn rows_an_outer_join_leaves_unmatched_are_counted_by_their_preserved_side() {
    let l = lake().await;
    let e = enclave(&l, exact_spec()).await;
    let r = e
        .query(
            "alice",
            "SELECT r.sex, CASE WHEN d.pid IS NULL THEN 'no' ELSE 'yes' END AS e11, \
             count(DISTINCT r.pid) AS persons \
             FROM receipts r LEFT JOIN (SELECT DISTINCT pid FROM diagnoses WHERE code = 'E11') d \
             ON r.pid = d.pid GROUP BY 1, 2",
        )
        .await
        .expect("admitted");
    assert_eq!(
        rows(&r),
        vec![
            vec!["1", "no", "70"],
            vec!["1", "yes", "30"],
            vec!["2", "no", "70"],
            vec!["2", "yes", "30"],
        ]
    );
    assert_eq!(r.report.groups_withheld, 0);
}

#[tokio::test]
async fn distinct_persons_stay_one_row_per_person() {
    // Regression: the rewrite once carried `unit_key` under `SELECT DISTINCT pid`, which made
    // one row per receipt (found by the DuckDB oracle).
    let l = lake().await;
    let e = enclave(&l, exact_spec()).await;
    let r = e
        .query(
            "alice",
            "SELECT count(*) AS persons FROM (SELECT DISTINCT pid FROM receipts)",
        )
        .await
        .expect("admitted");
    assert_eq!(rows(&r), vec![vec!["200"]]);
    let r = e
        .query(
            "alice",
            "WITH d AS (SELECT DISTINCT pid FROM diagnoses WHERE code = 'E11') \
             SELECT r.sex, count(*) AS rows FROM d JOIN receipts r ON d.pid = r.pid GROUP BY 1",
        )
        .await
        .expect("admitted");
    // Persons 1..=60 with E11, three receipts each, half of each sex.
    assert_eq!(rows(&r), vec![vec!["1", "90"], vec!["2", "90"]]);
}
