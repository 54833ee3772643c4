"""Bad-input reliability: run the fuzz suite (``tests/fuzz``) with ``--scale`` times its example
counts and tabulate, per public entry point, how many generated inputs were tried and how each
ended: a result, a typed error (``graphdiff.errors.*`` or a ValueError / TypeError raised by
graphdiff's own code), or a known bug (each has a strict-xfail reproducer in
``tests/fuzz/test_known_bugs.py``). Any unexplained exception fails the fuzz test and is listed.

    python benchmarks/reliability.py --scale 5

Writes ``benchmarks/results/reliability.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from _common import git_commit as _commit  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=5.0, help="multiplier of every fuzz test's max_examples")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "reliability.md")
    args = ap.parse_args()

    import torch

    with tempfile.TemporaryDirectory() as d:
        report = Path(d) / "tally.json"
        env = dict(os.environ, GRAPHDIFF_FUZZ_SCALE=str(args.scale), GRAPHDIFF_FUZZ_REPORT=str(report),
                   OMP_NUM_THREADS="1")
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/fuzz"]
        t0 = time.time()
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
        wall = time.time() - t0
        tally = json.loads(report.read_text()) if report.exists() else {}
    summary = next((ln for ln in reversed(proc.stdout.splitlines()) if " in " in ln and ("passed" in ln or "failed" in ln)), "")
    failed = [ln for ln in proc.stdout.splitlines() if ln.startswith(("FAILED", "XPASS"))]

    classes = ["result", "typed", "known_bug", "UNEXPLAINED"]
    rows = []
    totals: Counter = Counter()
    for entry in sorted(tally):
        c = Counter()
        detail = []
        for k, v in sorted(tally[entry].items()):
            c[k.split(":")[0]] += v
            if ":" in k:
                detail.append(f"{k.split(':', 1)[1]} {v}")
        totals.update(c)
        n = sum(c.values())
        rows.append(f"| `{entry}` | {n} | " + " | ".join(str(c[k]) for k in classes) + f" | {', '.join(detail) or '-'} |")
    n_all = sum(totals.values())
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"# Reliability under bad input (fuzz suite, {now})",
        "",
        f"- commit `{_commit()}`; machine: {platform.machine()}, {os.cpu_count()} CPU cores (shared), Python "
        f"{platform.python_version()}, torch {torch.__version__}",
        f"- command: `python benchmarks/reliability.py --scale {args.scale:g}` (runs `pytest tests/fuzz` with "
        f"`GRAPHDIFF_FUZZ_SCALE={args.scale:g}`; hypothesis derandomized, so the inputs are the same on every run)",
        f"- pytest: {summary.strip() or 'no summary'}; wall time {wall:.0f} s",
        "- outcome classes: *result* (a value, whose invariants the test then checks: round trips, counts add up, "
        "fractions in [0, 1], tensors unchanged after tampering or a CheckpointError); *typed* (a `graphdiff.errors` "
        "error, or a ValueError / TypeError / FileNotFoundError raised by a `raise` statement in graphdiff); "
        "*known bug* (matches a bug with a strict-xfail reproducer in `tests/fuzz/test_known_bugs.py`); "
        "*UNEXPLAINED* (anything else: fails the suite)",
        "",
        f"**{n_all} generated inputs**: {totals['result']} results, {totals['typed']} typed errors, "
        f"{totals['known_bug']} known bugs, {totals['UNEXPLAINED']} unexplained.",
        "",
        "| entry point | inputs | result | typed error | known bug | unexplained | detail |",
        "|---|---|---|---|---|---|---|",
        *rows,
        "",
    ]
    if failed:
        lines += ["Failures:", "", *[f"- `{f}`" for f in failed], ""]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines))
    print("\n".join(lines))
    if proc.returncode not in (0,):
        print(proc.stdout[-4000:], file=sys.stderr)


if __name__ == "__main__":
    main()
