#!/usr/bin/env python3
"""Linkage benchmark: `niji link` against Splink 4 (DuckDB backend) on the same pseudonymized
staging tables, scored against the same synthetic truth, measured in the same run. Prints seconds,
peak memory and pairwise precision, recall and F1 of both, and the speed ratio.

niji: `niji link --dry-run` (deterministic stage on the link keys under guards, then
Fellegi–Sunter on the pairs left apart), timed under /usr/bin/time -v; its quality is the one it
prints itself with --evaluate TRUTH, in a second, untimed run (reading the truth CSV is not
linkage work, and Splink's scoring is not timed either). When the data dir already has a links
table (an earlier `niji link` without --dry-run), niji's record-level F1 is also recomputed from it here as a cross-check.

Splink (4.x, pip-installed when missing or of another major version; Splink 5 changed its API):
the unit tables of the staging zone (receipts, checkups, care_claims, ehr_bundles) are read with
DuckDB from their active Parquet files (Delta log: add minus remove). Units are deduplicated to
distinct identity tuples (link keys id1, id2, id4, id5, care_key + sex + birth_date +
insurer_number), which is also the unit niji links internally (its "signatures"), keeping the
record -> tuple mapping, and Splink links the tuples: dedupe_only; blocking on each link key and
on birth_date + sex; comparisons ExactMatch on each key (the first 60 bits of each HMAC as an
integer, or --hex-keys), DateOfBirthComparison (exact, one character off, within a month, a year,
ten years), ExactMatch on sex and on the insurer's prefecture (digits 3-4 of the zero-padded
8-digit 保険者番号); u by random sampling, lambda from deterministic rules (a shared id1 or id5),
m by EM blocked on birth_date + sex, on id5 and on id1; predict and cluster at one match
probability. The Splink time covers the whole pipeline from reading the Parquet files to the
clusters; its peak memory is the peak RSS of this Python process up to then (interpreter, imports
and DuckDB included; DuckDB spills to a temporary folder). Quality is computed at the record
level: each unit inherits its tuple's cluster, units are matched to truth/records.csv by
(file, line), and pairs are counted from contingency counts.

    bench/link_vs_splink.py --data DIR/data --truth DIR/synth/truth --niji /path/to/niji
    bench/link_vs_splink.py --persons 1000000 --years 1 --work /tmp/niji-bench-link   # builds first
    bench/link_vs_splink.py --persons 5000 --work /tmp/splinkdev                      # a quick look
"""

import argparse
import json
import logging
import re
import resource
import subprocess
import tempfile
import sys
import time
from pathlib import Path

from delta import active_files

ROOT = Path(__file__).resolve().parent.parent
UNITS = ["receipts", "checkups", "care_claims", "ehr_bundles"]
KEYS = ["id1", "id2", "id4", "id5", "care_key"]
# EM blocking rules: birth_date + sex trains the keys and the prefecture; id5 (the oldest insured
# number, which holds no birth date) trains birth date and sex where they disagree in the data
# (levels never seen keep Splink's defaults). id1, id2 and id4 hash the birth date and sex, so
# pairs blocked on them never disagree there.
EM_RULES = [("birth_date", "sex"), ("id5",), ("id1",)]


def sh(cmd, **kw):
    print("+", " ".join(map(str, cmd)), flush=True)
    return subprocess.run(cmd, check=True, **kw)


def ensure_splink():
    """Splink 4.x (Splink 5 changed its API); DuckDB comes with it."""
    try:
        import splink

        if not splink.__version__.startswith("4."):
            raise ImportError(f"splink {splink.__version__}")
    except ImportError:
        sh([sys.executable, "-m", "pip", "install", "--quiet", "splink>=4.0,<5"])
        for m in [m for m in sys.modules if m == "splink" or m.startswith("splink.")]:
            del sys.modules[m]
    import duckdb
    import splink

    assert splink.__version__.startswith("4."), splink.__version__
    return duckdb, splink


def parquet(table_dir: Path):
    listing = ", ".join(f"'{f}'" for f in active_files(table_dir))
    return f"read_parquet([{listing}], hive_partitioning = true)"


def timed(cmd):
    """Runs cmd under /usr/bin/time -v; returns (seconds, peak RSS in MiB, stdout)."""
    start = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True)
    secs = time.perf_counter() - start
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1)) / 1024
    return secs, rss, p.stdout


def build(niji, persons, years, work: Path):
    """synth, keys init, ingest into work/{synth,data}; reused when already there."""
    data, synth = work / "data", work / "synth"
    if (data / "steward" / "staging" / "receipts" / "_delta_log").exists():
        print(f"reusing {data}")
        return data, synth / "truth"
    work.mkdir(parents=True, exist_ok=True)
    for step in (
        ["synth", "--persons", str(persons), "--years", str(years), "--out", str(synth)],
        ["keys", "init"],
        ["ingest", str(synth)],
    ):
        t = time.perf_counter()
        sh([niji, "--quiet", "--data-dir", str(data), *step], stdout=subprocess.DEVNULL)
        print(f"  {step[0]}: {time.perf_counter() - t:.0f} s", flush=True)
    return data, synth / "truth"


def run_niji(niji, data: Path, truth: Path):
    # Timed as Splink is, from reading the staging tables to the clusters; scoring against the
    # truth (reading truth/records.csv) is a second, untimed run of the same deterministic link.
    base = [niji, "--quiet", "--data-dir", str(data), "link", "--dry-run"]
    secs, rss, timed_out = timed(base)
    read = re.search(r"seconds: read ([\d.]+)", timed_out)
    _, _, out = timed([*base, "--evaluate", str(truth)])
    m = re.search(r"pairwise precision ([\d.]+)\s+recall ([\d.]+)\s+F1 ([\d.]+)", out)
    if not m:
        sys.exit(f"no pairwise line in niji's output:\n{out}")
    head = re.search(r"^link job .*$", out, re.M)
    return {"tool": "niji link", "seconds": secs, "mib": rss, "p": float(m[1]), "r": float(m[2]),
            "f1": float(m[3]), "note": head[0] if head else "", "out": out,
            "read": float(read[1]) if read else None}


def run_splink(duckdb, data: Path, tmp: Path, threshold: float, u_pairs: float, lam_recall: float, hex_keys: bool):
    """The whole Splink pipeline; leaves the tables `units` (file, line, tid) and `clusters`
    (tid, cluster_id) in the returned connection."""
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    start = time.perf_counter()
    last = [start]

    def step(what):
        now = time.perf_counter()
        mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"  {what:<34} {now - last[0]:8.1f} s  (peak so far {mib:.0f} MiB)", flush=True)
        last[0] = now

    con = duckdb.connect()
    con.execute(f"SET temp_directory = '{tmp}'")  # DuckDB spills here (not ./.tmp)
    staging = data / "steward" / "staging"
    cols = "record_id, file, line, sex, birth_date, insurer_number, " + ", ".join(KEYS)
    con.execute("CREATE VIEW raw AS " + " UNION ALL ".join(f"SELECT {cols} FROM {parquet(staging / t)}" for t in UNITS))
    ident = KEYS + ["sex", "birth_date", "insurer_number"]
    # One row per distinct identity tuple, and the tuple of each unit record.
    con.execute(
        "CREATE TABLE tuples AS SELECT row_number() OVER () AS unique_id, * FROM (SELECT DISTINCT "
        + ", ".join(ident) + " FROM raw)"
    )
    con.execute(
        "CREATE TABLE units AS SELECT r.file, r.line, t.unique_id AS tid FROM raw r JOIN tuples t ON "
        + " AND ".join(f"r.{c} IS NOT DISTINCT FROM t.{c}" for c in ident)
    )
    # Keys for Splink: by default the first 60 bits of each HMAC as a BIGINT (uniformly random, so
    # a collision among 10^7 keys has odds of about 1 in 20,000; niji interns keys to integers too),
    # or with hex_keys the whole HMAC as a 64-character hex string. The prefecture is digits 3-4
    # of the insurer number (zero-padded to 8, so 国保's 6 digits work too).
    key = "lower(hex({k}))" if hex_keys else "('0x' || left(hex({k}), 15))::BIGINT"
    con.execute(
        "CREATE TABLE splink_in AS SELECT unique_id, "
        + ", ".join(key.format(k=k) + f" AS {k}" for k in KEYS)
        + ", sex, birth_date, substr(insurer_number, 3, 2) AS prefecture FROM tuples"
    )
    con.execute("DROP TABLE tuples")
    n_units, n_tuples = con.execute("SELECT (SELECT count(*) FROM units), (SELECT count(*) FROM splink_in)").fetchall()[0]
    load = time.perf_counter() - start
    step(f"load, {n_units} records -> {n_tuples} tuples")

    settings = SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        blocking_rules_to_generate_predictions=[block_on(k) for k in KEYS] + [block_on("birth_date", "sex")],
        comparisons=[cl.ExactMatch(k) for k in KEYS]
        + [
            cl.DateOfBirthComparison("birth_date", input_is_string=False),
            cl.ExactMatch("sex"),
            cl.ExactMatch("prefecture"),
        ],
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
    )
    linker = Linker("splink_in", settings, db_api=DuckDBAPI(connection=con), set_up_basic_logging=False)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("id1"), block_on("id5")], recall=lam_recall
    )
    step("lambda (deterministic rule)")
    linker.training.estimate_u_using_random_sampling(max_pairs=u_pairs, seed=42)
    step(f"u (random sampling, {u_pairs:.0f} pairs)")
    for rule in EM_RULES:
        linker.training.estimate_parameters_using_expectation_maximisation(block_on(*rule))
        step(f"m (EM blocked on {'+'.join(rule)})")
    pred = linker.inference.predict(threshold_match_probability=threshold)
    n_pairs = con.execute(f"SELECT count(*) FROM {pred.physical_name}").fetchall()[0][0]
    step(f"predict, {n_pairs} pairs >= {threshold}")
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(pred, threshold_match_probability=threshold)
    con.execute(f"CREATE TABLE clusters AS SELECT unique_id AS tid, cluster_id FROM {clusters.physical_name}")
    n_clusters = con.execute("SELECT count(DISTINCT cluster_id) FROM clusters").fetchall()[0][0]
    step(f"cluster, {n_clusters} clusters")
    secs = time.perf_counter() - start
    mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    note = (f"splink {sys.modules['splink'].__version__}: {n_units} records, {n_tuples} tuples, "
            f"{n_pairs} pairs >= {threshold}, {n_clusters} clusters")
    return {"tool": "Splink 4 (DuckDB)", "seconds": secs, "mib": mib, "note": note, "read": load}, con


def pairwise(con, labelled: str):
    """Pairwise precision, recall, F1 of `labelled` (columns cluster, person) from contingency counts."""
    tp, pred, true = con.execute(f"""
        WITH l AS ({labelled}),
        c AS (SELECT count(*) AS n FROM l GROUP BY cluster, person),
        k AS (SELECT count(*) AS n FROM l GROUP BY cluster),
        t AS (SELECT count(*) AS n FROM l GROUP BY person)
        SELECT (SELECT sum(n * (n - 1) // 2) FROM c), (SELECT sum(n * (n - 1) // 2) FROM k),
               (SELECT sum(n * (n - 1) // 2) FROM t)""").fetchall()[0]
    tp, pred, true = int(tp or 0), int(pred or 0), int(true or 0)
    p = tp / pred if pred else 1.0
    r = tp / true if true else 1.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0), (tp, pred, true)


def score(duckdb, args, data: Path, truth: Path, tmp):
    """Runs Splink, then scores it (and niji's links table, when there is one) against the truth."""
    splink_row, con = run_splink(duckdb, data, Path(tmp), args.threshold, args.u_pairs, args.lambda_recall, args.hex_keys)
    print("  " + splink_row["note"], flush=True)
    con.execute(f"CREATE TABLE truth AS SELECT file, line, person_id FROM read_csv('{truth / 'records.csv'}', "
                "header = true, columns = {'source': 'VARCHAR', 'file': 'VARCHAR', 'line': 'BIGINT', "
                "'person_id': 'VARCHAR', 'drift': 'VARCHAR'})")
    n_truth, n_matched = con.execute(
        "SELECT (SELECT count(*) FROM truth), (SELECT count(*) FROM units u JOIN truth t USING (file, line))"
    ).fetchall()[0]
    print(f"  {n_matched} staging records matched to truth by (file, line) of {n_truth} truth records", flush=True)
    p, r, f1, counts = pairwise(con, "SELECT c.cluster_id AS cluster, t.person_id AS person FROM units u "
                                     "JOIN truth t USING (file, line) JOIN clusters c USING (tid)")
    splink_row.update(p=p, r=r, f1=f1)
    print(f"  pairs: {counts[0]} correct, {counts[1]} linked, {counts[2]} true", flush=True)

    # Cross-check of niji's own score from the registry's links table, when one exists (written
    # by an earlier `niji link` without --dry-run on the same staging).
    links = data / "steward" / "linkage" / "links"
    if (links / "_delta_log").exists() and not args.skip_niji:
        con.execute(f"CREATE TABLE links AS SELECT record_id, person_id, job_id FROM {parquet(links)}")
        con.execute("DELETE FROM links WHERE job_id <> (SELECT max(job_id) FROM links)")
        lp, lr, lf1, _ = pairwise(con, "SELECT l.person_id AS cluster, t.person_id AS person FROM raw r "
                                       "JOIN truth t USING (file, line) JOIN links l USING (record_id)")
        print(f"  cross-check, niji's links table (record level): precision {lp:.5f} recall {lr:.5f} F1 {lf1:.5f}")

    return splink_row


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, help="a niji data dir with ingested staging tables")
    ap.add_argument("--truth", type=Path, help="the truth folder of `niji synth` (records.csv, ...)")
    ap.add_argument("--persons", type=int, default=50_000, help="without --data: synthesize this many persons")
    ap.add_argument("--years", type=int, default=1, help="without --data: years of service months")
    ap.add_argument("--work", type=Path, default=Path("/tmp/niji-bench-link"), help="without --data: where to build")
    ap.add_argument("--niji", type=Path, default=ROOT / "target" / "release" / "niji",
                    help="the niji binary (default target/release/niji, built if missing)")
    ap.add_argument("--threshold", type=float, default=0.9, help="Splink match probability to link and cluster at")
    ap.add_argument("--u-pairs", type=float, default=5e6, help="pairs sampled for Splink's u estimate")
    ap.add_argument("--lambda-recall", type=float, default=0.8,
                    help="assumed recall of the deterministic rule (id1 or id5) for Splink's prior")
    ap.add_argument("--hex-keys", action="store_true",
                    help="give Splink the link keys as 64-character hex strings (default: 60-bit integers)")
    ap.add_argument("-v", "--verbose", action="store_true", help="show Splink's log (training warnings, EM iterations)")
    ap.add_argument("--skip-niji", action="store_true", help="only run Splink")
    args = ap.parse_args()

    duckdb, _ = ensure_splink()
    logging.basicConfig(format="%(message)s")
    logging.getLogger("splink").setLevel(logging.INFO if args.verbose else logging.ERROR)
    niji = args.niji.resolve()
    if not niji.exists():
        sh(["cargo", "build", "--release", "--quiet", "-p", "niji"], cwd=ROOT)
    niji = str(niji)
    if args.data:
        if not args.truth:
            ap.error("--data needs --truth")
        data, truth = args.data, args.truth
    else:
        data, truth = build(niji, args.persons, args.years, args.work)
    for t in UNITS:
        if not (data / "steward" / "staging" / t / "_delta_log").exists():
            sys.exit(f"no staging table {t} under {data}")

    rows = []
    if (data / "steward" / "linkage" / "links" / "_delta_log").exists():
        # Splink links from scratch; niji with a registry relinks into it (loads every earlier
        # link to keep person_ids stable), which is more work than a first link.
        print(f"note: {data} has a person registry, so niji's time includes relinking into it; "
              "for a first-link comparison use a data dir without steward/linkage", flush=True)
    if not args.skip_niji:
        print("niji link ...", flush=True)
        rows.append(run_niji(niji, data, truth))
        print("  " + rows[-1]["note"], flush=True)

    # Splink first in this process, so that its peak RSS is not the truth's.
    print("Splink ...", flush=True)
    with tempfile.TemporaryDirectory(prefix="splink-duckdb-") as tmp:
        splink_row = score(duckdb, args, data, truth, tmp)
    rows.append(splink_row)

    print()
    print(f"{'tool':20} {'seconds':>9} {'peak MiB':>9} {'precision':>10} {'recall':>8} {'F1':>8}")
    for row in rows:
        print(f"{row['tool']:20} {row['seconds']:9.1f} {row['mib']:9.0f} {row['p']:10.5f} {row['r']:8.5f} {row['f1']:8.5f}")
    if not args.skip_niji:
        niji_row = rows[0]
        print(f"niji / Splink speed: {splink_row['seconds'] / niji_row['seconds']:.1f}× faster")
        if niji_row["read"] is not None:
            # Both read the same staged Parquet first: niji into its record set (records to
            # signatures), Splink's load in DuckDB (distinct tuples, each record's tuple). The
            # rest is the linking proper.
            nr, sr = niji_row["read"], splink_row["read"]
            nl, sl = niji_row["seconds"] - nr, splink_row["seconds"] - sr
            print(f"  reading the staged records: niji {nr:.1f} s, DuckDB (Splink's load) {sr:.1f} s ({sr / nr:.1f}×); "
                  f"the rest: niji {nl:.1f} s, Splink {sl:.1f} s ({sl / nl:.1f}×)")
        ok = niji_row["f1"] >= splink_row["f1"]
        print(f"F1(niji) {niji_row['f1']:.5f} {'>=' if ok else '<'} F1(Splink) {splink_row['f1']:.5f}: "
              f"{'yes' if ok else 'NO'}")


if __name__ == "__main__":
    main()
