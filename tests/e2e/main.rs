//! End-to-end tests over the `niji` binary, as a user runs it.

use std::process::Command;

fn niji() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_niji"));
    c.env_remove("NIJI_CONFIG")
        .env_remove("NIJI_DATA_DIR")
        .env("NO_COLOR", "1");
    c
}

#[test]
fn synth_writes_every_source_and_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("extracts");
    let o = niji()
        .args([
            "synth",
            "--persons",
            "300",
            "--years",
            "1",
            "--seed",
            "3",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8(o.stdout).unwrap();
    for source in [
        "ndb-med",
        "ndb-pha",
        "ndb-checkup",
        "care",
        "ehr",
        "total",
        "records/s",
    ] {
        assert!(stdout.contains(source), "summary lacks {source}:\n{stdout}");
    }
    for sub in [
        "ndb-med",
        "ndb-checkup",
        "truth/records.csv",
        "truth/persons.csv",
        "truth/events.csv",
        "truth/synth.json",
    ] {
        assert!(out.join(sub).exists(), "{sub} missing");
    }
}

#[test]
fn bad_arguments_fail_with_a_clear_message() {
    let o = niji()
        .args(["synth", "--persons", "0", "--out", "x"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("--persons"), "{err}");

    let o = niji()
        .args(["synth", "--persons", "10", "--years", "99", "--out", "x"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--years"));

    let o = niji()
        .args([
            "synth",
            "--persons",
            "10",
            "--birth-typo-rate",
            "2",
            "--out",
            "/nonexistent-niji/x",
        ])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("birth_typo"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("f"), "x").unwrap();
    let o = niji()
        .args(["synth", "--persons", "10", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("not empty"));
}

#[test]
fn help_teaches_the_commands() {
    let o = niji().arg("--help").output().unwrap();
    let text = String::from_utf8(o.stdout).unwrap();
    for command in [
        "synth", "ingest", "link", "keys", "serve", "demo", "audit", "account",
    ] {
        assert!(text.contains(command), "--help lacks {command}:\n{text}");
    }
    assert!(text.contains("RUST_LOG"), "{text}");
    let o = niji().args(["synth", "--help"]).output().unwrap();
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(
        text.contains("truth/records.csv") && text.contains("--seed"),
        "{text}"
    );
}

#[test]
fn demo_prepares_a_queryable_project_and_an_audit_log_that_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let demo = dir.path().join("demo");
    let o = niji()
        .args(["--quiet", "demo", "--persons", "400", "--no-serve", "--dir"])
        .arg(&demo)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(
        o.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    for expected in [
        "API:",
        "token:",
        "niji_",
        "curl -s http://127.0.0.1:",
        "/queries",
    ] {
        assert!(
            stdout.contains(expected),
            "demo output lacks {expected}:\n{stdout}"
        );
    }
    // The lake holds no raw identifier of the inputs: no name of the receipts' RE records.
    let mut names = std::collections::BTreeSet::new();
    let mut stack = vec![demo.join("extracts")];
    while let Some(p) = stack.pop() {
        for e in std::fs::read_dir(&p).unwrap() {
            let path = e.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|x| x == "UKE") {
                let bytes = std::fs::read(&path).unwrap();
                let (text, _, _) = encoding_rs::SHIFT_JIS.decode(&bytes);
                for line in text.lines().filter(|l| l.starts_with("RE,")) {
                    let f: Vec<&str> = line.split(',').collect();
                    for i in [4, 36] {
                        if let Some(n) = f.get(i) {
                            let n = n.replace([' ', '\u{3000}'], "");
                            if n.chars().count() >= 3 {
                                names.insert(n);
                            }
                        }
                    }
                }
            }
        }
    }
    assert!(names.len() > 50, "{} names", names.len());
    // Every string of every lake table, read back through Delta Lake (the files are compressed).
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut values = 0usize;
    for e in std::fs::read_dir(demo.join("data/lake")).unwrap() {
        let table = e.unwrap().path();
        let uri = niji_lake::TableUri::parse(&table.display().to_string()).unwrap();
        let batches = rt.block_on(niji_lake::read_all(&uri, None)).unwrap();
        for b in batches {
            for col in b.columns() {
                let Ok(strings) = arrow_cast(col) else {
                    continue;
                };
                for v in strings.iter().flatten() {
                    values += 1;
                    assert!(
                        !names.contains(v),
                        "a name reached the lake table {}",
                        table.display()
                    );
                    for n in &names {
                        assert!(!v.contains(n.as_str()), "a name inside a lake value");
                    }
                }
            }
        }
    }
    assert!(values > 1000, "{values} string values scanned");
    // The steward's job reports: the ingest manifest and the link report.
    let reports: Vec<String> = std::fs::read_dir(demo.join("data/steward/jobs"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    assert!(
        reports
            .iter()
            .any(|r| r.contains("\"kind\": \"link\"") && r.contains("\"persons\""))
    );
    assert!(reports.len() >= 2, "{} reports", reports.len());
    // The review decisions of the demo are in the audit log, and the chain verifies.
    let o = niji()
        .args(["audit", "verify", "--log"])
        .arg(demo.join("data/steward/audit.jsonl"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("chain intact"));
}

#[test]
fn serve_refuses_a_public_address_without_tls() {
    let dir = tempfile::tempdir().unwrap();
    let o = niji()
        .args(["serve", "--listen", "0.0.0.0:0", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("loopback") && err.contains("--allow-remote-plaintext"),
        "{err}"
    );
}

/// A column as strings, when it is a string column.
fn arrow_cast(
    col: &datafusion::arrow::array::ArrayRef,
) -> Result<datafusion::arrow::array::StringArray, ()> {
    use datafusion::arrow::datatypes::DataType;
    match col.data_type() {
        DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8 | DataType::Dictionary(..) => {
            let c = datafusion::arrow::compute::cast(col, &DataType::Utf8).map_err(|_| ())?;
            c.as_any()
                .downcast_ref::<datafusion::arrow::array::StringArray>()
                .cloned()
                .ok_or(())
        }
        _ => Err(()),
    }
}
