#!/usr/bin/env python3
"""Ingest benchmark: `niji ingest` of synthetic UKE receipts against DuckDB on the same bytes.

niji does the real work (CP932 decoding, parsing, validation, normalisation, HMAC link keys,
quarantine, Parquet and a Delta commit). The peer, measured in the same run on the same files, is
DuckDB reading the same receipts as UTF-8 CSV with ragged rows into Parquet, with no validation
and no hashing. Prints MB/s and records/s of both, the ratio, and niji's peak memory.

    bench/ingest_vs_duckdb.py --persons 1000000      # the issue's figure (about 10 minutes)
    bench/ingest_vs_duckdb.py --persons 50000        # a quick look
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def ensure_duckdb():
    try:
        import duckdb  # noqa: F401
    except ImportError:
        sh([sys.executable, "-m", "pip", "install", "--quiet", "duckdb==2.0.1"])
    import duckdb

    return duckdb


def timed(cmd, env=None):
    """Runs cmd under /usr/bin/time -v; returns (seconds, peak RSS in MiB, stdout)."""
    start = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-v", *cmd], check=True, capture_output=True, text=True, env=env)
    secs = time.perf_counter() - start
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1)) / 1024
    return secs, rss, p.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--persons", type=int, default=1_000_000)
    ap.add_argument("--years", type=int, default=1)
    ap.add_argument("--work", type=Path, default=Path("/tmp/niji-bench-ingest"))
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    args = ap.parse_args()

    duckdb = ensure_duckdb()
    sh(["cargo", "build", "--release", "--quiet", "-p", "niji"], cwd=ROOT)
    niji = str(ROOT / "target" / "release" / "niji")
    if args.work.exists():
        shutil.rmtree(args.work)
    args.work.mkdir(parents=True)
    synth, data = args.work / "synth", args.work / "data"

    print(f"generating {args.persons} persons x {args.years} year(s) ...", flush=True)
    sh([niji, "--quiet", "synth", "--persons", str(args.persons), "--years", str(args.years), "--out", str(synth)], stdout=subprocess.DEVNULL)
    receipts = [synth / s for s in ("ndb-med", "ndb-dpc", "ndb-pha")]
    files = sorted(p for d in receipts for p in d.rglob("*.UKE"))
    total = sum(p.stat().st_size for p in files)
    lines = sum(p.read_bytes().count(b"\n") for p in files)
    print(f"{len(files)} UKE files, {total / 1e6:.1f} MB, {lines} records")

    # niji: the whole ingest job.
    sh([niji, "--data-dir", str(data), "keys", "init"], stdout=subprocess.DEVNULL)
    secs, rss, _ = timed([niji, "--quiet", "--data-dir", str(data), "ingest", *map(str, receipts)])
    manifest = json.loads(max((data / "steward" / "jobs").glob("*.json")).read_text())
    read = sum(t["read"] for t in manifest["totals"].values())
    assert read == lines, f"niji read {read} records of {lines}"

    # DuckDB: the same receipts as UTF-8 CSV with ragged rows into Parquet. The conversion to
    # UTF-8 is not timed.
    utf8 = args.work / "utf8"
    for p in files:
        out = utf8 / p.relative_to(synth)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(p.read_bytes().decode("cp932").encode("utf-8"))
    utf8_bytes = sum(p.stat().st_size for p in utf8.rglob("*.UKE"))
    columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(48)) + "}"
    con = duckdb.connect()
    start = time.perf_counter()
    con.execute(
        f"COPY (SELECT * FROM read_csv('{utf8}/**/*.UKE', header = false, delim = ',', quote = '', "
        f"escape = '', columns = {columns}, null_padding = true, auto_detect = false)) "
        f"TO '{args.work}/duckdb.parquet' (FORMAT parquet)"
    )
    duck_secs = time.perf_counter() - start
    duck_rows = con.execute(f"SELECT count(*) FROM '{args.work}/duckdb.parquet'").fetchone()[0]
    assert duck_rows == lines, f"duckdb read {duck_rows} rows of {lines}"

    niji_mbs, duck_mbs = total / 1e6 / secs, utf8_bytes / 1e6 / duck_secs
    print(f"niji ingest : {secs:7.1f} s  {niji_mbs:7.1f} MB/s  {read / secs:10.0f} records/s  peak {rss:.0f} MiB")
    print(f"duckdb 2.0  : {duck_secs:7.1f} s  {duck_mbs:7.1f} MB/s  {duck_rows / duck_secs:10.0f} records/s  (CSV -> Parquet, no validation, no hashing)")
    print(f"ratio niji / duckdb (MB/s): {niji_mbs / duck_mbs:.2f}  (target >= 1.0; peak memory target < 1024 MiB)")
    if not args.keep:
        shutil.rmtree(args.work)


if __name__ == "__main__":
    main()
