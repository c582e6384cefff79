//! The audit log: every query appended, edits and removals detected.

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use niji_enclave::audit::verify;
use niji_enclave::{AuditLog, Clock, Error};

use crate::fixture::{enclave, lake, spec};

#[derive(Debug)]
struct Fixed;

impl Clock for Fixed {
    fn now(&self) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0)
            .single()
            .expect("time")
    }
}

#[tokio::test]
async fn every_query_is_chained_and_tampering_is_detected() {
    let l = lake().await;
    let path = l.dir.path().join("audit.jsonl");
    let log = Arc::new(AuditLog::open(&path, Box::new(Fixed)).expect("log"));
    let e = enclave(&l, spec()).await.with_audit(log);
    e.query("alice", "SELECT sex, count(*) FROM receipts GROUP BY sex")
        .await
        .expect("ok");
    e.query("alice", "SELECT * FROM receipts")
        .await
        .expect_err("refused");
    e.query(
        "bob",
        "SELECT code, count(DISTINCT pid) FROM diagnoses GROUP BY code",
    )
    .await
    .expect("ok");
    let head = verify(&path).expect("verifies");
    assert_eq!(head.entries, 3);

    let text = std::fs::read_to_string(&path).expect("read");
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].contains("\"plan_hash\":\""), "{}", lines[0]);
    assert!(
        lines[1].contains("\"outcome\":\"query_refused\""),
        "{}",
        lines[1]
    );
    assert!(lines[2].contains("\"groups_withheld\":1"), "{}", lines[2]);

    // An edited entry.
    std::fs::write(
        &path,
        text.replacen("\"account\":\"bob\"", "\"account\":\"eve\"", 1),
    )
    .expect("write");
    assert!(matches!(
        verify(&path),
        Err(Error::AuditBroken { entry: 3, .. })
    ));
    // A removed entry.
    std::fs::write(&path, format!("{}\n{}\n", lines[0], lines[2])).expect("write");
    assert!(matches!(
        verify(&path),
        Err(Error::AuditBroken { entry: 2, .. })
    ));
    // The original verifies again, and appending goes on from its head.
    std::fs::write(&path, &text).expect("write");
    let log = AuditLog::open(&path, Box::new(Fixed)).expect("reopen");
    log.append(niji_enclave::AuditRecord::event(
        "close", "admin", "p-test", "closed",
    ))
    .expect("append");
    assert_eq!(verify(&path).expect("verifies").entries, 4);
}
