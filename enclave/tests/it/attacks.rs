//! The adversarial suite: each test is an attack that must be refused or neutralised.

use niji_enclave::Error;

use crate::fixture::{self, enclave, exact_spec, lake, rows, spec};

/// The refusal's rule and message, or a description of what came back instead.
async fn refusal(e: &niji_enclave::Enclave, sql: &str) -> (String, String) {
    match e.query("mallory", sql).await {
        Ok(r) => panic!("admitted: {sql}\n{:?}", rows(&r)),
        Err(Error::Refused { rule, reason }) => (rule.to_string(), reason),
        Err(other) => (other.code().to_string(), other.to_string()),
    }
}

#[tokio::test]
async fn attack_1_differencing_on_pid_is_refused() {
    let l = lake().await;
    let e = enclave(&l, spec()).await;
    for sql in [
        "SELECT count(*) FROM receipts WHERE pid <> 12345",
        "SELECT sum(points) FROM receipts WHERE pid = 12345",
        "SELECT count(*) FROM receipts WHERE pid NOT IN (SELECT pid FROM receipts WHERE pid < 0)",
        "SELECT count(*) FROM receipts WHERE pid BETWEEN 0 AND 1000000000",
    ] {
        let (rule, reason) = refusal(&e, sql).await;
        assert_eq!(rule, "pid_usage", "{sql}: {reason}");
    }
}

#[tokio::test]
async fn attack_2_tiny_groups_are_withheld_with_their_keys() {
    let l = lake().await;
    let e = enclave(&l, spec()).await;
    let r = e
        .query(
            "mallory",
            "SELECT code, count(DISTINCT pid) AS persons FROM diagnoses GROUP BY code",
        )
        .await
        .expect("admitted");
    let got = rows(&r);
    assert!(
        got.iter().all(|row| row[0] != "X99"),
        "the 3-person code must not even appear: {got:?}"
    );
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(r.report.groups_withheld, 1);
    // Narrowing to the rare code: the whole result is withheld.
    let r = e
        .query(
            "mallory",
            "SELECT count(*) FROM diagnoses WHERE code = 'X99'",
        )
        .await
        .expect("admitted");
    assert_eq!(r.rows(), 0);
    assert_eq!(r.report.groups_withheld, 1);
}

#[tokio::test]
async fn attack_3_extremes_are_refused() {
    let l = lake().await;
    let e = enclave(&l, spec()).await;
    for sql in [
        "SELECT max(points) FROM receipts",
        "SELECT sex, min(points) FROM receipts GROUP BY sex",
        "SELECT median(points) FROM receipts",
        "SELECT approx_percentile_cont(points, 0.99) FROM receipts",
    ] {
        let (rule, _) = refusal(&e, sql).await;
        assert_eq!(rule, "aggregate_output", "{sql}");
    }
    // The same through a scalar subquery or a window across persons.
    for sql in [
        "SELECT count(*) FROM receipts WHERE points = (SELECT max(points) FROM receipts)",
        "SELECT avg(p) FROM (SELECT points AS p, rank() OVER (ORDER BY points DESC) AS r FROM receipts) WHERE r = 1",
    ] {
        let (rule, _) = refusal(&e, sql).await;
        assert_eq!(rule, "aggregate_output", "{sql}");
    }
}

#[tokio::test]
async fn attack_4_row_leaks_are_refused() {
    let l = lake().await;
    let e = enclave(&l, spec()).await;
    for sql in [
        "SELECT * FROM receipts",
        "SELECT points FROM receipts ORDER BY points DESC LIMIT 1",
        "SELECT sex, points FROM receipts",
        "WITH x AS (SELECT * FROM receipts) SELECT * FROM x",
        "SELECT 1",
    ] {
        let (rule, reason) = refusal(&e, sql).await;
        assert!(
            rule == "aggregate_output" || rule == "protect_cells",
            "{sql}: {rule} {reason}"
        );
    }
}

#[tokio::test]
async fn attack_5_unique_keys_are_refused_or_withheld() {
    let l = lake().await;
    let e = enclave(&l, spec()).await;
    let (rule, _) = refusal(&e, "SELECT pid, count(*) FROM receipts GROUP BY pid").await;
    assert_eq!(rule, "aggregate_output");
    let (rule, _) = refusal(
        &e,
        "SELECT unit_key, count(*) FROM receipts GROUP BY unit_key",
    )
    .await;
    assert_eq!(rule, "aggregate_output");
    // A combination that singles persons out: every group is withheld.
    let r = e
        .query(
            "mallory",
            "SELECT birth_month, service_month, points, count(*) FROM receipts \
             GROUP BY birth_month, service_month, points",
        )
        .await
        .expect("admitted");
    assert_eq!(r.rows(), 0, "{:?}", rows(&r));
    assert!(r.report.groups_withheld > 100);
}

#[tokio::test]
async fn attack_6_value_collecting_aggregates_do_not_exist() {
    let l = lake().await;
    let e = enclave(&l, spec()).await;
    for sql in [
        "SELECT string_agg(code, ',') FROM diagnoses",
        "SELECT array_agg(points) FROM receipts",
        "SELECT sex, first_value(points) FROM receipts GROUP BY sex",
    ] {
        let err = e.query("mallory", sql).await.expect_err(sql);
        assert!(
            matches!(err, Error::Plan { .. } | Error::Refused { .. }),
            "{sql}: {err}"
        );
    }
}

#[tokio::test]
async fn attack_7_case_trackers_are_refused() {
    let l = lake().await;
    let e = enclave(&l, spec()).await;
    for sql in [
        "SELECT sum(CASE WHEN pid = 99 THEN points ELSE 0 END) FROM receipts",
        "SELECT count(CASE WHEN pid > 0 THEN 1 END) FROM receipts",
        "SELECT sex, avg(points) FILTER (WHERE pid = 5) FROM receipts GROUP BY sex",
        "SELECT count(*) FROM (SELECT pid + 0 AS x FROM receipts) GROUP BY x",
    ] {
        let (rule, _) = refusal(&e, sql).await;
        assert_eq!(rule, "pid_usage", "{sql}");
    }
    // A tracker without pid: a sum of an indicator that only a few persons have.
    let r = e
        .query(
            "mallory",
            "SELECT sex, sum(CASE WHEN points > 147 THEN 1 ELSE 0 END) AS n FROM receipts GROUP BY sex",
        )
        .await
        .expect("admitted");
    // Persons with points > 147: ids ≡ 48, 49 (mod 50) and person 7's large receipt: 5 odd
    // and 4 even persons, fewer than k in each sex.
    assert_eq!(r.report.cells_suppressed(), 2, "{:?}", r.report);
    assert!(rows(&r).iter().all(|row| row[1] == "NULL"));
}

#[tokio::test]
async fn attack_8_repetition_and_rephrasing_give_the_same_noise() {
    let l = lake().await;
    let mut s = spec();
    s.disclosure.rounding_base = 1; // noise alone, to see it
    s.disclosure.k = 2; // cells of five persons, to see many
    let e = enclave(&l, s).await;
    let variants = [
        "SELECT sex, count(DISTINCT pid) FROM receipts WHERE points > 110 GROUP BY sex",
        "SELECT sex, count(DISTINCT pid) FROM receipts WHERE points + 0 > 110 GROUP BY sex",
        "SELECT sex, count(DISTINCT pid) FROM receipts WHERE 110 < points AND true GROUP BY sex",
        "SELECT sex, count(DISTINCT pid) FROM (SELECT * FROM receipts WHERE points > 110) GROUP BY sex",
    ];
    let mut seen = Vec::new();
    for _ in 0..3 {
        for sql in variants {
            let r = e.query("mallory", sql).await.expect(sql);
            seen.push(rows(&r));
        }
    }
    assert!(seen.windows(2).all(|w| w[0] == w[1]), "{seen:?}");
    // The noise is there: across many cells, some published counts differ from the truth.
    let r = e
        .query(
            "mallory",
            "SELECT birth_month, count(DISTINCT pid) FROM receipts GROUP BY birth_month",
        )
        .await
        .expect("admitted");
    let got = rows(&r);
    assert_eq!(got.len(), 40);
    let off = got.iter().filter(|row| row[1] != "5").count();
    assert!(
        off > 0,
        "every one of 40 cells exactly true: no noise? {got:?}"
    );
    assert!(
        got.iter()
            .all(|row| (3..=7).contains(&row[1].parse::<i64>().expect("count"))),
        "{got:?}"
    );
}

#[tokio::test]
async fn attack_9_a_dominant_contributor_suppresses_the_sum() {
    let l = lake().await;
    let e = enclave(&l, exact_spec()).await;
    let r = e
        .query(
            "mallory",
            "SELECT sex, sum(points) AS total, count(*) AS n FROM receipts GROUP BY sex",
        )
        .await
        .expect("admitted");
    let got = rows(&r);
    // Person 7 is odd: sex "1".
    assert_eq!(got[0][0], "1");
    assert_eq!(got[0][1], "NULL", "{got:?}");
    assert_eq!(got[0][2], "300");
    let even: i64 = (1..=fixture::PERSONS)
        .filter(|p| p % 2 == 0)
        .map(|p| (0..3).map(|m| fixture::points(p, m)).sum::<i64>())
        .sum();
    assert_eq!(
        got[1],
        vec!["2".to_string(), even.to_string(), "300".into()]
    );
    assert_eq!(r.report.cells[0].suppressed_dominance, 1);
    // The mean hides it the same way.
    let r = e
        .query(
            "mallory",
            "SELECT sex, avg(points) FROM receipts GROUP BY sex",
        )
        .await
        .expect("admitted");
    assert_eq!(rows(&r)[0][1], "NULL");
}

#[tokio::test]
async fn attack_10_totals_minus_cells() {
    let l = lake().await;
    let e = enclave(&l, spec()).await;
    let (rule, _) = refusal(
        &e,
        "SELECT code, count(DISTINCT pid) FROM diagnoses GROUP BY ROLLUP(code)",
    )
    .await;
    assert_eq!(rule, "aggregate_output");
    let (rule, _) = refusal(
        &e,
        "SELECT code, count(DISTINCT pid), sum(count(DISTINCT pid)) OVER () FROM diagnoses GROUP BY code",
    )
    .await;
    assert_eq!(rule, "aggregate_output");
    // All persons minus all but the three with the rare code: the difference is a multiple of
    // 5, never 3.
    let count = |sql: &'static str| {
        let e = &e;
        async move {
            let r = e.query("mallory", sql).await.expect(sql);
            rows(&r)[0][0].parse::<i64>().expect("count")
        }
    };
    let all = count("SELECT count(DISTINCT pid) FROM receipts").await;
    let rest = count(
        "SELECT count(DISTINCT pid) FROM receipts \
         WHERE pid NOT IN (SELECT pid FROM diagnoses WHERE code = 'X99')",
    )
    .await;
    assert_eq!(all % 5, 0);
    assert_eq!(rest % 5, 0);
    assert_ne!(all - rest, 3);
}

#[tokio::test]
async fn the_file_system_and_other_tables_are_out_of_reach() {
    let l = lake().await;
    let e = enclave(&l, spec()).await;
    for sql in [
        "SELECT count(*) FROM read_parquet('/etc/passwd')",
        "CREATE EXTERNAL TABLE x STORED AS PARQUET LOCATION '/tmp'",
        "COPY (SELECT 1) TO '/tmp/x.csv'",
        "EXPLAIN ANALYZE SELECT count(*) FROM receipts",
        "DROP TABLE receipts",
        "INSERT INTO receipts VALUES (1)",
        "SET datafusion.execution.batch_size = 1",
        "SHOW TABLES",
        "SELECT count(*) FROM '/etc/passwd'",
        "SELECT count(*) FROM raw_receipts",
        "SELECT count(*) FROM drugs",
        "SELECT count(*) FROM information_schema.tables",
        "SELECT count(niji_pid(1)) FROM receipts",
        "SELECT count(*) FROM receipts WHERE __niji_ok",
        "SELECT uncoded_name, count(*) FROM diagnoses GROUP BY uncoded_name",
        "SELECT count(person_id) FROM receipts",
    ] {
        let err = e.query("mallory", sql).await.expect_err(sql);
        assert!(
            matches!(
                err,
                Error::Refused { .. } | Error::Plan { .. } | Error::Syntax { .. }
            ),
            "{sql}: {err}"
        );
        assert!(!err.to_string().contains("山田"), "{err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_stop_a_query_and_the_enclave_stays_healthy() {
    let l = lake().await;
    let mut s = spec();
    s.limits.memory_mib = 0;
    let starved = enclave(&l, s).await;
    let err = starved
        .query(
            "mallory",
            "SELECT sex, count(DISTINCT pid) FROM receipts GROUP BY sex",
        )
        .await
        .expect_err("no memory");
    assert!(matches!(err, Error::MemoryLimit { .. }), "{err}");

    let mut s = spec();
    s.limits.timeout_seconds = 1;
    let hurried = enclave(&l, s).await;
    let err = hurried
        .query(
            "mallory",
            "SELECT a.sex, count(*) FROM receipts a, receipts b, receipts c GROUP BY a.sex",
        )
        .await
        .expect_err("too slow");
    assert!(matches!(err, Error::Timeout { .. }), "{err}");
    // The caller got its answer at the limit; the same enclave answers the next queries. (A
    // stopped query's operator may finish the batch it is computing before it notices.)
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    let r = loop {
        match hurried
            .query("alice", "SELECT sex, count(*) FROM receipts GROUP BY sex")
            .await
        {
            Ok(r) => break r,
            Err(Error::Timeout { .. }) if std::time::Instant::now() < deadline => {
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            }
            Err(e) => panic!("the enclave did not recover: {e}"),
        }
    };
    assert_eq!(r.rows(), 2);

    let mut s = spec();
    s.limits.max_rows = 1;
    let narrow = enclave(&l, s).await;
    let err = narrow
        .query("alice", "SELECT sex, count(*) FROM receipts GROUP BY sex")
        .await
        .expect_err("two rows");
    assert!(matches!(err, Error::TooManyRows { limit: 1 }), "{err}");
}
