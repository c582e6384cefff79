"""Tests of the Python client against a running niji server (NIJI_URL, NIJI_TOKEN, NIJI_PROJECT:
scripts/notebooks.py starts `niji demo` and sets them)."""

import os

import pytest

from niji_client import (
    AuthenticationError,
    Client,
    PermissionDenied,
    QueryRefused,
    Result,
)

pytestmark = pytest.mark.skipif(
    "NIJI_TOKEN" not in os.environ, reason="needs a running server (scripts/notebooks.py)"
)


@pytest.fixture(scope="module")
def project():
    return Client.from_env().project()


def test_lists_tables_with_pid_and_no_identifier(project):
    tables = project.tables()
    assert "receipts" in tables and "diagnoses" in tables
    cols = [c for c, _ in tables["receipts"]]
    assert cols[0] == "pid"
    assert "birth_month" in cols and "birth_date" not in cols
    for forbidden in ("person_id", "id1", "insurer_number", "uncoded_name"):
        assert all(forbidden not in c for c, _ in sum(tables.values(), []))


def test_query_returns_a_dataframe_with_its_report(project):
    r = project.query(
        "SELECT sex, count(DISTINCT pid) AS persons, avg(points) AS mean_points "
        "FROM receipts GROUP BY sex ORDER BY sex"
    )
    assert isinstance(r, Result)
    df = r.to_pandas()
    assert list(df.columns) == ["sex", "persons", "mean_points"]
    assert len(df) == 2
    assert all(n % 5 == 0 and n >= 10 for n in df.persons)
    assert df.attrs["disclosure"]["k"] == 10
    assert r.report["cells"][0]["kind"] == "count"
    pl = r.to_polars()
    assert pl.shape == (2, 3)
    saved = project.saved_result(r.result_id)
    assert [row["persons"] for row in saved["rows"]] == list(df.persons)


def test_small_groups_are_reported_not_returned(project):
    r = project.query(
        "SELECT birth_month, sex, count(DISTINCT pid) AS persons FROM receipts GROUP BY 1, 2"
    )
    assert r.groups_withheld > 0
    assert all(n >= 10 for n in r.df.persons)
    assert "withheld" in r.summary()


@pytest.mark.parametrize(
    "sql, fragment",
    [
        ("SELECT * FROM receipts", "aggregate_output"),
        ("SELECT count(*) FROM receipts WHERE pid = 42", "pid_usage"),
        ("SELECT max(points) FROM receipts", "one person's value"),
        ("SELECT string_agg(code, ',') FROM diagnoses", ""),
        ("DROP TABLE receipts", "only queries"),
        ("SELEC 1", ""),
    ],
)
def test_refused_queries_raise_query_refused(project, sql, fragment):
    with pytest.raises(QueryRefused) as e:
        project.query(sql)
    assert e.value.status in (400, 422)
    assert e.value.request_id
    assert fragment in e.value.message


def test_bad_token_and_unknown_project():
    url = os.environ["NIJI_URL"]
    with pytest.raises(AuthenticationError):
        Client(url, "niji_not-a-token").me()
    with pytest.raises(PermissionDenied) as e:
        Client.from_env().project("prj-doesnotexist").query("SELECT count(*) FROM receipts")
    assert e.value.code == "not_found"
