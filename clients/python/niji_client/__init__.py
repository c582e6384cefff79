"""Python client of the niji query API.

Researchers of an approved project query pseudonymized, linked health data through it and get
disclosure-controlled aggregates back as pandas or Polars DataFrames, each with its disclosure
report (groups withheld, cells suppressed, rounding and noise).

    from niji_client import Client

    niji = Client("http://127.0.0.1:8400", token="niji_...")   # or Client.from_env()
    project = niji.project("prj-...")
    project.tables()                                   # {"receipts": [("pid", "Int64"), ...]}
    result = project.query("SELECT sex, count(DISTINCT pid) AS persons FROM receipts GROUP BY sex")
    result.df                                           # a pandas DataFrame
    result.report                                       # what disclosure control did

A query the policy refuses raises :class:`QueryRefused` with the rule and the reason.
"""

from __future__ import annotations

import io
import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

__all__ = [
    "Client",
    "Project",
    "Result",
    "NijiError",
    "AuthenticationError",
    "PermissionDenied",
    "QueryRefused",
    "QueryFailed",
    "ARROW_STREAM",
]

ARROW_STREAM = "application/vnd.apache.arrow.stream"


class NijiError(Exception):
    """An error answered by the API: a stable ``code``, a ``message`` and the ``request_id``."""

    def __init__(self, status: int, code: str, message: str, request_id: str = ""):
        super().__init__(f"{code}: {message}" + (f" (request {request_id})" if request_id else ""))
        self.status = status
        self.code = code
        self.message = message
        self.request_id = request_id


class AuthenticationError(NijiError):
    """No, an expired or a revoked token; wrong credentials."""


class PermissionDenied(NijiError):
    """The role or membership does not allow it, or the project has ended."""


class QueryRefused(NijiError):
    """The enclave will not run the query: bad SQL, or a query the disclosure policy refuses."""


class QueryFailed(NijiError):
    """The query was admitted but stopped: time, memory or row limit."""


_REFUSED = {"sql_syntax", "query_invalid", "query_refused"}
_FAILED = {"query_timeout", "query_memory_limit", "query_too_many_rows"}


def _error(status: int, body: bytes) -> NijiError:
    try:
        e = json.loads(body)["error"]
        code, message, rid = e.get("code", "unknown"), e.get("message", ""), e.get("request_id", "")
    except (ValueError, KeyError, TypeError):
        code, message, rid = "http_error", body[:200].decode("utf-8", "replace"), ""
    if code in _REFUSED:
        cls = QueryRefused
    elif code in _FAILED:
        cls = QueryFailed
    elif code in ("unauthenticated", "login_failed"):
        cls = AuthenticationError
    elif code in ("forbidden", "project_ended", "not_found"):
        cls = PermissionDenied
    else:
        cls = NijiError
    return cls(status, code, message, rid)


@dataclass
class Result:
    """One query's result: the table (Arrow), the disclosure report and the saved result id."""

    table: Any
    report: Dict[str, Any]
    result_id: str = ""
    sql: str = ""

    @property
    def df(self):
        """The result as a pandas DataFrame (with the report in ``df.attrs["disclosure"]``)."""
        return self.to_pandas()

    def to_pandas(self):
        df = self.table.to_pandas()
        df.attrs["disclosure"] = self.report
        return df

    def to_polars(self):
        import polars as pl

        return pl.from_arrow(self.table)

    @property
    def groups_withheld(self) -> int:
        return int(self.report.get("groups_withheld", 0))

    @property
    def cells_suppressed(self) -> int:
        return sum(
            c.get("suppressed_dominance", 0) + c.get("suppressed_few_contributors", 0)
            for c in self.report.get("cells", [])
        )

    def summary(self) -> str:
        """One line on what disclosure control did."""
        r = self.report
        return (
            f"{self.table.num_rows} rows; {self.groups_withheld} groups withheld (< {r.get('k')} persons); "
            f"{self.cells_suppressed} cells suppressed; counts rounded to {r.get('rounding_base')}"
            + ("; sticky noise" if r.get("noise") else "")
        )


@dataclass
class Client:
    """A connection to a niji server with a bearer token."""

    url: str
    token: Optional[str] = None
    timeout: float = 300.0
    _headers: Dict[str, str] = field(default_factory=dict, repr=False)

    @classmethod
    def from_env(cls) -> "Client":
        """``NIJI_URL`` and ``NIJI_TOKEN`` from the environment."""
        return cls(os.environ.get("NIJI_URL", "http://127.0.0.1:8400"), os.environ["NIJI_TOKEN"])

    @classmethod
    def login(cls, url: str, username: str, password: str, totp: Optional[str] = None) -> "Client":
        """Logs in with a password (and a one-time code for reviewers and administrators)."""
        c = cls(url)
        body = {"username": username, "password": password}
        if totp:
            body["totp"] = totp
        c.token = c._json("POST", "/api/v1/login", body)["token"]
        return c

    # -- transport -------------------------------------------------------------------------
    def _request(
        self, method: str, path: str, body: Optional[dict] = None, accept: str = "application/json"
    ) -> Tuple[bytes, Dict[str, str]]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url.rstrip("/") + path, data=data, method=method)
        req.add_header("Accept", accept)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if self.token:
            req.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return resp.read(), {k.lower(): v for k, v in resp.headers.items()}
        except urllib.error.HTTPError as e:
            raise _error(e.code, e.read()) from None

    def _json(self, method: str, path: str, body: Optional[dict] = None) -> Any:
        raw, _ = self._request(method, path, body)
        return json.loads(raw)

    # -- API -------------------------------------------------------------------------------
    def me(self) -> Dict[str, Any]:
        return self._json("GET", "/api/v1/me")

    def projects(self) -> List[Dict[str, Any]]:
        return self._json("GET", "/api/v1/projects")["projects"]

    def project(self, project_id: Optional[str] = None) -> "Project":
        """A project by id (``NIJI_PROJECT`` or the caller's only active project by default)."""
        if project_id is None:
            project_id = os.environ.get("NIJI_PROJECT")
        if project_id is None:
            active = [p["id"] for p in self.projects() if p["state"] == "active"]
            if len(active) != 1:
                raise ValueError(f"name the project: {len(active)} active projects")
            project_id = active[0]
        return Project(self, project_id)


@dataclass
class Project:
    """An approved project: its tables and its queries."""

    client: Client
    id: str

    def info(self) -> Dict[str, Any]:
        return self.client._json("GET", f"/api/v1/projects/{self.id}")

    def tables(self) -> Dict[str, List[Tuple[str, str]]]:
        """Each table with its columns and types."""
        return {
            t["table"]: [(c["name"], c["type"]) for c in t["columns"]] for t in self.info()["tables"]
        }

    def columns(self, table: str) -> List[str]:
        return [c for c, _ in self.tables()[table]]

    def query(self, sql: str) -> Result:
        """Runs SQL in the project's enclave; the result travels as Arrow IPC."""
        import pyarrow.ipc as ipc

        raw, headers = self.client._request(
            "POST", f"/api/v1/projects/{self.id}/queries", {"sql": sql}, accept=ARROW_STREAM
        )
        table = ipc.open_stream(io.BytesIO(raw)).read_all()
        report = json.loads(headers.get("x-niji-disclosure", "{}"))
        return Result(table=table, report=report, result_id=headers.get("x-niji-result-id", ""), sql=sql)

    def sql(self, sql: str):
        """Runs SQL and returns a pandas DataFrame (report in ``df.attrs["disclosure"]``)."""
        return self.query(sql).to_pandas()

    def saved_result(self, result_id: str) -> Dict[str, Any]:
        return self.client._json("GET", f"/api/v1/projects/{self.id}/results/{result_id}")
