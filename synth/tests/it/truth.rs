//! The ground truth: every source record is attributed, drift events exist, nothing after death.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::{cp932, fixture};

struct Person {
    death: Option<chrono::NaiveDate>,
    twin_of: String,
}

fn persons() -> HashMap<String, Person> {
    let text = std::fs::read_to_string(fixture().join("truth/persons.csv")).unwrap();
    text.lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (
                f[0].to_string(),
                Person {
                    death: chrono::NaiveDate::parse_from_str(f[5], "%Y-%m-%d").ok(),
                    twin_of: f[4].to_string(),
                },
            )
        })
        .collect()
}

#[test]
fn every_receipt_and_care_claim_is_in_the_truth_and_nothing_follows_death() {
    let dir = fixture();
    let people = persons();
    assert_eq!(people.len(), 3000);
    let text = std::fs::read_to_string(dir.join("truth/records.csv")).unwrap();
    let mut by_file: BTreeMap<String, Vec<(usize, String)>> = BTreeMap::new();
    let mut sources: BTreeSet<String> = BTreeSet::new();
    let mut drift: BTreeMap<String, usize> = BTreeMap::new();
    for l in text.lines().skip(1) {
        let f: Vec<&str> = l.split(',').collect();
        assert_eq!(f.len(), 5, "{l}");
        assert!(people.contains_key(f[3]), "unknown person in truth");
        sources.insert(f[0].to_string());
        for d in f[4].split(';').filter(|d| !d.is_empty()) {
            *drift.entry(d.to_string()).or_default() += 1;
        }
        by_file
            .entry(f[1].to_string())
            .or_default()
            .push((f[2].parse().unwrap(), f[3].to_string()));
    }
    assert_eq!(sources.len(), 6, "{sources:?}");
    for kind in ["spelling_variant", "kana_variant", "birth_typo"] {
        assert!(
            drift.get(kind).copied().unwrap_or(0) > 0,
            "no {kind} in {drift:?}"
        );
    }
    let mut checked = 0;
    for (rel, rows) in &by_file {
        let path = dir.join(rel);
        assert!(path.exists(), "{rel} missing");
        if !(rel.ends_with(".UKE") || rel.ends_with(".csv")) {
            assert!(rows.iter().all(|(line, _)| *line == 0));
            continue;
        }
        let text = cp932(&path);
        let lines: Vec<&str> = text.split_terminator("\r\n").collect();
        let lead = if rel.ends_with(".UKE") { "RE," } else { "2," };
        let expected: Vec<usize> = lines
            .iter()
            .enumerate()
            .filter(|(_, l)| {
                l.starts_with(lead) && (lead == "RE," || l.split(',').nth(3) == Some("01"))
            })
            .map(|(i, _)| i + 1)
            .collect();
        let got: Vec<usize> = rows.iter().map(|(l, _)| *l).collect();
        assert_eq!(got, expected, "{rel}: truth lines differ from the receipts");
        for (line, person) in rows {
            let f: Vec<&str> = lines[line - 1].split(',').collect();
            let month = if lead == "RE," {
                crate::any_month(f[3])
            } else {
                crate::any_month(f[4])
            }
            .unwrap();
            if let Some(death) = people[person].death {
                assert!(
                    month <= death,
                    "{rel}:{line}: a record in a month after the person's death"
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 1000);
}

#[test]
fn drift_events_twins_and_deaths_occur() {
    let dir = fixture();
    let people = persons();
    let twins = people.values().filter(|p| !p.twin_of.is_empty()).count();
    assert!(twins > 0, "no twins");
    let deaths = people.values().filter(|p| p.death.is_some()).count();
    assert!(deaths > 10 && deaths < 300, "{deaths} deaths");
    let events = std::fs::read_to_string(dir.join("truth/events.csv")).unwrap();
    let mut kinds: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for l in events.lines().skip(1) {
        let f: Vec<&str> = l.split(',').collect();
        kinds.entry(f[2]).or_default().insert(f[0]);
    }
    for k in [
        "insurer_change:job",
        "insurer_change:retirement",
        "insurer_change:koki75",
        "name_change:marriage",
        "death",
    ] {
        assert!(kinds.contains_key(k), "no {k} event: {:?}", kinds.keys());
    }
    // DOMAIN.md: about 11% of patients change ID1 within a year. Over two years, the share of
    // all persons (patients are older, and change more) whose insurer changed must be near it.
    let changed: BTreeSet<&str> = kinds
        .iter()
        .filter(|(k, _)| k.starts_with("insurer_change") || **k == "marriage")
        .flat_map(|(_, v)| v.iter().copied())
        .collect();
    let yearly = changed.len() as f64 / people.len() as f64 / 2.0;
    assert!(
        (0.06..0.16).contains(&yearly),
        "yearly share of persons changing insurer {yearly:.3}"
    );
}
