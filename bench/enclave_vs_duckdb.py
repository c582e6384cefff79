#!/usr/bin/env python3
"""Query benchmark: realistic aggregate queries through the enclave, through plain DataFusion
(the same views, no policy) and through DuckDB, all on the same Delta/Parquet files, measured in
the same run. Prints seconds and the ratios enclave / DataFusion (target <= 1.10) and enclave /
DuckDB.

    bench/enclave_vs_duckdb.py --persons 1000000          # builds the lake first (synth, ingest, link)
    bench/enclave_vs_duckdb.py --lake DIR/data/lake        # an existing lake
"""

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from delta import active_files

ROOT = Path(__file__).resolve().parent.parent


def sh(cmd, **kw):
    print("+", " ".join(map(str, cmd)), flush=True)
    return subprocess.run(cmd, check=True, **kw)


def build_lake(persons, work: Path):
    niji = str(ROOT / "target" / "release" / "niji")
    sh(["cargo", "build", "--release", "--quiet", "-p", "niji"], cwd=ROOT)
    data = work / "data"
    if (data / "lake" / "receipts").exists():
        return data / "lake"
    work.mkdir(parents=True, exist_ok=True)
    for step in (
        ["synth", "--persons", str(persons), "--years", "1", "--out", str(work / "synth")],
        ["keys", "init"],
        ["ingest", str(work / "synth")],
        ["link"],
    ):
        t = time.perf_counter()
        sh([niji, "--quiet", "--data-dir", str(data), *step], stdout=subprocess.DEVNULL)
        print(f"  {step[0]}: {time.perf_counter() - t:.0f} s", flush=True)
    return data / "lake"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--persons", type=int, default=1_000_000)
    ap.add_argument("--lake", type=Path)
    ap.add_argument("--work", type=Path, default=Path("/tmp/niji-bench-enclave"))
    args = ap.parse_args()
    try:
        import duckdb
    except ImportError:
        sh([sys.executable, "-m", "pip", "install", "--quiet", "duckdb"])
        import duckdb

    lake = args.lake or build_lake(args.persons, args.work)
    p = subprocess.run(
        # The release profile: the same artifacts as `niji` itself (the bench profile would build
        # DataFusion a second time).
        ["cargo", "bench", "--profile", "release", "--quiet", "-p", "niji-enclave", "--bench", "queries",
         "--", str(lake)],
        cwd=ROOT, check=True, capture_output=True, text=True,
    )
    rust = {r["query"]: r for r in map(json.loads, filter(None, p.stdout.splitlines()))}

    con = duckdb.connect()
    for t in ["receipts", "diagnoses", "observations", "checkups", "care_claims", "drugs"]:
        listing = ", ".join(f"'{f}'" for f in active_files(lake / t))
        birth = (", CAST(date_trunc('month', birth_date) AS DATE) AS birth_month"
                 if t in ("receipts", "checkups", "care_claims") else "")
        con.execute(f"CREATE VIEW {t} AS SELECT *, person_id AS pid, unit_id AS unit_key{birth} "
                    f"FROM read_parquet([{listing}], hive_partitioning = true)")
    print(f"{'query':28} {'enclave s':>10} {'datafusion s':>13} {'duckdb s':>9} {'enc/DF':>7} {'enc/duck':>9}")
    ratios = []
    for name, r in rust.items():
        sql = r["sql"]
        best = float("inf")
        for _ in range(4):
            t = time.perf_counter()
            con.execute(sql).fetchall()
            best = min(best, time.perf_counter() - t)
        ratios.append(r["enclave_s"] / r["datafusion_s"])
        print(f"{name:28} {r['enclave_s']:10.3f} {r['datafusion_s']:13.3f} {best:9.3f} "
              f"{r['enclave_s'] / r['datafusion_s']:7.2f} {r['enclave_s'] / best:9.2f}")
    geo = 1.0
    for x in ratios:
        geo *= x
    print(f"geometric mean enclave / DataFusion: {geo ** (1 / len(ratios)):.2f} (target <= 1.10)")


if __name__ == "__main__":
    main()
