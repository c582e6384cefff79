//! The analysis lake: every staged unit and fact keyed by person_id, and no identifier column.

use std::collections::HashMap;

use arrow_array::RecordBatch;
use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use niji_linkage::lake::LakeIndex;
use niji_linkage::registry::{Registry, assign};
use niji_linkage::staging::{Selection, read_staging};
use niji_linkage::{LinkOptions, RecordSet, link};

use crate::fixture::{population, runtime};

#[test]
fn the_lake_has_person_ids_and_no_identifier_columns() {
    let f = population();
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let zone = |p: &str| niji_lake::ZoneRoot::parse(dir.path().join(p).to_str().unwrap()).unwrap();
    let registry = Registry::new(zone("linkage"));
    let mut set = RecordSet::new();
    rt.block_on(read_staging(
        &f.staging(),
        &Selection::default(),
        &mut set,
        &mut |_| {},
    ))
    .unwrap();
    let linkage = link(&set, &LinkOptions::default());
    let a = assign(&set, &linkage, &Default::default(), "link-1");
    rt.block_on(registry.write("link-1", &set, &linkage, &a))
        .unwrap();
    let index = std::sync::Arc::new(LakeIndex::new(&set, &linkage, &a));
    let written = rt
        .block_on(niji_linkage::lake::write_lake(
            &f.staging(),
            &zone("lake"),
            "link-1",
            index,
        ))
        .unwrap();
    let rows = |t: &str| written.iter().find(|(n, _)| *n == t).map(|(_, r)| *r);
    assert_eq!(
        rows("receipts").unwrap()
            + rows("checkups").unwrap()
            + rows("care_claims").unwrap()
            + rows("ehr_bundles").unwrap(),
        set.len() as u64
    );
    assert!(rows("diagnoses").unwrap() > 0);
    let banned = [
        "id1",
        "id2",
        "id4",
        "id5",
        "care_key",
        "insurer_number",
        "file",
        "file_id",
        "line",
        "record_id",
    ];
    for (table, _) in &written {
        let uri = zone("lake").table(table).unwrap();
        let batches = rt.block_on(niji_lake::read_all(&uri, None)).unwrap();
        let schema = batches[0].schema();
        for f in schema.fields() {
            assert!(
                !banned.contains(&f.name().as_str()),
                "{table} has column {}",
                f.name()
            );
        }
        assert!(schema.field_with_name("person_id").is_ok());
        assert!(schema.field_with_name("service_month").is_ok());
    }

    // Every lake row carries the person and unit the registry's links give its record: units
    // and their detail rows (a receipt's diagnoses) agree.
    let links = rt
        .block_on(niji_lake::read_all(
            &zone("linkage").table("links").unwrap(),
            None,
        ))
        .unwrap();
    let person_of_unit: HashMap<i64, i64> = links.iter().flat_map(unit_persons).collect();
    assert_eq!(person_of_unit.len(), set.len());
    let mut units_seen = std::collections::HashSet::new();
    let units = ["receipts", "checkups", "care_claims", "ehr_bundles"];
    for table in units
        .into_iter()
        .chain(["diagnoses", "drugs", "care_services"])
    {
        let uri = zone("lake").table(table).unwrap();
        let mut checked = 0;
        let batches = rt.block_on(niji_lake::read_all(&uri, None)).unwrap();
        for (unit, person) in batches.iter().flat_map(unit_persons) {
            assert_eq!(
                person_of_unit.get(&unit),
                Some(&person),
                "{table}: a row's person is not its unit's"
            );
            if units.contains(&table) {
                assert!(units_seen.insert(unit), "{table}: a unit twice");
            } else {
                assert!(units_seen.contains(&unit), "{table}: no such unit");
            }
            checked += 1;
        }
        assert!(checked > 0, "{table} is empty");
    }
}

/// (unit_id, person_id) of each row of a links or lake batch.
fn unit_persons(b: &RecordBatch) -> Vec<(i64, i64)> {
    let col = |n: &str| b.column_by_name(n).unwrap().as_primitive::<Int64Type>();
    let (unit, person) = (col("unit_id"), col("person_id"));
    unit.values()
        .iter()
        .copied()
        .zip(person.values().iter().copied())
        .collect()
}
