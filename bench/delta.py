"""The active Parquet files of a Delta table, read from its log (add minus remove actions), so
that DuckDB and Splink read exactly the files niji's engines see. Shared by the bench scripts."""

import json
from pathlib import Path


def active_files(table_dir: Path):
    files = {}
    for commit in sorted((table_dir / "_delta_log").glob("*.json")):
        for line in commit.read_text().splitlines():
            a = json.loads(line)
            if "add" in a:
                files[a["add"]["path"]] = True
            elif "remove" in a:
                files.pop(a["remove"]["path"], None)
    return [str(table_dir / p) for p in files]
