"""Correctness against an independent engine: the enclave's published cells against DuckDB over the
same Parquet files of the lake (scripts/notebooks.py sets NIJI_LAKE to the demo's lake).

For realistic analyses, every group DuckDB finds with at least k persons is published, no group
under k is, counts differ from DuckDB's only by the sticky noise (±2) and the rounding to 5, and
means are exact unless the report says the cell was suppressed.
"""

import json
import math
import os
from pathlib import Path

import pytest

from niji_client import Client

pytestmark = pytest.mark.skipif(
    "NIJI_LAKE" not in os.environ or "NIJI_TOKEN" not in os.environ,
    reason="needs a running demo server and its lake (scripts/notebooks.py)",
)

K = 10
AGE = "(2024 - CAST(date_part('year', birth_month) AS INT))"
BAND = f"CAST(floor({AGE} / 10) * 10 AS INT)"


def active_files(table_dir: Path):
    """The Parquet files of the table's latest version, from its Delta log."""
    files = {}
    for commit in sorted((table_dir / "_delta_log").glob("*.json")):
        for line in commit.read_text().splitlines():
            action = json.loads(line)
            if "add" in action:
                files[action["add"]["path"]] = True
            elif "remove" in action:
                files.pop(action["remove"]["path"], None)
    return [str(table_dir / p) for p in files]


@pytest.fixture(scope="module")
def duck():
    duckdb = pytest.importorskip("duckdb")
    con = duckdb.connect()
    lake = Path(os.environ["NIJI_LAKE"])
    for table in ["receipts", "diagnoses", "checkups", "observations", "care_claims"]:
        files = active_files(lake / table)
        assert files, table
        listing = ", ".join(f"'{f}'" for f in files)
        # The project's view: the birth month instead of the birth date.
        extra = (
            ", CAST(date_trunc('month', birth_date) AS DATE) AS birth_month"
            if table in ("receipts", "checkups", "care_claims")
            else ""
        )
        con.execute(
            f"CREATE VIEW {table} AS SELECT *{extra} "
            f"FROM read_parquet([{listing}], hive_partitioning = true)"
        )
    return con


@pytest.fixture(scope="module")
def project():
    return Client.from_env().project()


def compare(project, duck, enclave_sql, duck_sql, keys, count_cols, mean_cols):
    r = project.query(enclave_sql)
    got = r.to_pandas()
    truth = duck.execute(duck_sql).df()
    truth_k = truth[truth["persons"] >= K]
    key = lambda row: tuple(None if (isinstance(v, float) and math.isnan(v)) else str(v) for v in (row[k] for k in keys))
    published = {key(row): row for _, row in got.iterrows()}
    expected = {key(row): row for _, row in truth_k.iterrows()}
    assert set(published) == set(expected), (sorted(published), sorted(expected))
    assert r.groups_withheld == len(truth) - len(truth_k)
    for k, want in expected.items():
        have = published[k]
        for c in count_cols:
            assert int(have[c]) % 5 == 0
            assert abs(int(have[c]) - int(want[c])) <= 4, (k, c, have[c], want[c])
        for c in mean_cols:
            if have[c] is None or (isinstance(have[c], float) and math.isnan(have[c])):
                continue  # suppressed: the report counts it
            assert math.isclose(float(have[c]), float(want[c]), rel_tol=1e-9, abs_tol=1e-9), (k, c)
    return len(expected)


def test_prevalence_by_age_band_and_sex(project, duck):
    n = compare(
        project,
        duck,
        f"SELECT sex, {BAND} AS band, count(DISTINCT pid) AS persons, avg(points) AS mean_points "
        "FROM receipts GROUP BY 1, 2",
        f"SELECT sex, {BAND} AS band, count(DISTINCT person_id) AS persons, avg(points) AS mean_points "
        "FROM receipts GROUP BY 1, 2",
        ["sex", "band"],
        ["persons"],
        ["mean_points"],
    )
    assert n >= 4


def test_linked_checkups_and_claims(project, duck):
    n = compare(
        project,
        duck,
        """WITH h AS (SELECT o.pid, c.sex, max(o.value) AS hba1c FROM observations o
                      JOIN checkups c ON o.unit_key = c.unit_key WHERE o.code LIKE '3D046%' GROUP BY o.pid, c.sex),
                e AS (SELECT DISTINCT pid FROM diagnoses WHERE icd10 = 'E11')
           SELECT h.sex, CASE WHEN e.pid IS NULL THEN 'no' ELSE 'yes' END AS e11,
                  count(*) AS persons, avg(h.hba1c) AS mean_hba1c
           FROM h LEFT JOIN e ON h.pid = e.pid GROUP BY 1, 2""",
        """WITH h AS (SELECT o.person_id, c.sex, max(o.value) AS hba1c FROM observations o
                      JOIN checkups c ON o.unit_id = c.unit_id WHERE o.code LIKE '3D046%' GROUP BY o.person_id, c.sex),
                e AS (SELECT DISTINCT person_id FROM diagnoses WHERE icd10 = 'E11')
           SELECT h.sex, CASE WHEN e.person_id IS NULL THEN 'no' ELSE 'yes' END AS e11,
                  count(*) AS persons, avg(h.hba1c) AS mean_hba1c
           FROM h LEFT JOIN e ON h.person_id = e.person_id GROUP BY 1, 2""",
        ["sex", "e11"],
        ["persons"],
        ["mean_hba1c"],
    )
    assert n >= 2


def test_care_need_after_a_diagnosis(project, duck):
    compare(
        project,
        duck,
        """WITH d AS (SELECT DISTINCT pid FROM diagnoses WHERE icd10 LIKE 'G30%' OR icd10 LIKE 'I63%'),
                c AS (SELECT pid, max(care_level) AS level FROM care_claims GROUP BY pid)
           SELECT coalesce(c.level, 'none') AS level, count(*) AS persons
           FROM d LEFT JOIN c ON d.pid = c.pid GROUP BY 1""",
        """WITH d AS (SELECT DISTINCT person_id FROM diagnoses WHERE icd10 LIKE 'G30%' OR icd10 LIKE 'I63%'),
                c AS (SELECT person_id, max(care_level) AS level FROM care_claims GROUP BY person_id)
           SELECT coalesce(c.level, 'none') AS level, count(*) AS persons
           FROM d LEFT JOIN c ON d.person_id = c.person_id GROUP BY 1""",
        ["level"],
        ["persons"],
        [],
    )
