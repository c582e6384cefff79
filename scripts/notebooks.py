#!/usr/bin/env python3
"""Runs the Python client's tests and executes every notebook top to bottom against a real niji
server on synthetic data (`niji demo`, started here on a free loopback port).

    scripts/notebooks.py [--niji target/debug/niji] [--persons 5000]

Prints a closing line `notebooks: N passed, M failed` and exits non-zero on any failure.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def start_demo(niji, persons, workdir):
    log = open(workdir / "demo.log", "w")
    proc = subprocess.Popen(
        [niji, "--quiet", "demo", "--dir", str(workdir / "demo"), "--persons", str(persons),
         "--listen", "127.0.0.1:0"],
        stdout=subprocess.PIPE, stderr=log, text=True,
    )
    env = {}
    deadline = time.time() + 900
    for line in proc.stdout:
        sys.stdout.write(line)
        if m := re.search(r"API:\s+(http://\S+)", line):
            env["NIJI_URL"] = m.group(1)
        if m := re.search(r"project:\s+(\S+)", line):
            env["NIJI_PROJECT"] = m.group(1)
        if m := re.search(r"token:\s+(\S+)", line):
            env["NIJI_TOKEN"] = m.group(1)
        if "Serving until" in line or time.time() > deadline:
            break
    if len(env) != 3:
        proc.kill()
        sys.exit(f"niji demo did not start; see {workdir / 'demo.log'}:\n" + (workdir / "demo.log").read_text()[-3000:])
    return proc, env


def run_notebook(path, env):
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.get("outputs"):
            raise SystemExit(f"{path.name} is committed with outputs: clear them")
    old = dict(os.environ)
    os.environ.update(env)
    try:
        NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    finally:
        os.environ.clear()
        os.environ.update(old)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--niji", default=str(ROOT / "target" / "debug" / "niji"))
    ap.add_argument("--persons", type=int, default=5000)
    args = ap.parse_args()

    passed = failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        proc, env = start_demo(args.niji, args.persons, Path(tmp))
        try:
            p = subprocess.run(
                [sys.executable, "-m", "pytest", "-q", str(ROOT / "clients" / "python" / "tests")],
                env={**os.environ, **env, "NIJI_LAKE": str(Path(tmp) / "demo" / "data" / "lake")},
                capture_output=True, text=True,
            )
            print(p.stdout[-3000:], p.stderr[-2000:])
            m = re.search(r"(\d+) passed", p.stdout)
            f = re.search(r"(\d+) failed", p.stdout)
            passed += int(m.group(1)) if m else 0
            failed += int(f.group(1)) if f else (0 if p.returncode == 0 else 1)
            for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
                started = time.time()
                try:
                    run_notebook(path, env)
                    passed += 1
                    print(f"notebook {path.name}: ok ({time.time() - started:.0f} s)")
                except Exception as e:  # noqa: BLE001 - report every notebook
                    failed += 1
                    print(f"notebook {path.name}: FAILED\n{e}"[:4000])
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
    print(f"notebooks: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
