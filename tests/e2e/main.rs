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
    assert!(
        text.contains("synth") && text.contains("RUST_LOG"),
        "{text}"
    );
    let o = niji().args(["synth", "--help"]).output().unwrap();
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(
        text.contains("truth/records.csv") && text.contains("--seed"),
        "{text}"
    );
}
