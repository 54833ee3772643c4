"""Run every benchmark (long: tens of minutes on 2 CPU cores) and rebuild BENCHMARKS.md.

    python benchmarks/run_all.py            # all benchmarks, then collect
    python benchmarks/run_all.py --collect  # only rebuild BENCHMARKS.md from benchmarks/results/*.md

Each benchmark script writes its own markdown block (date, commit, machine, command, protocol) to
``benchmarks/results/``; BENCHMARKS.md is those blocks in a fixed order.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

# (script, arguments) in the order they appear in BENCHMARKS.md
BENCHMARKS: list[tuple[str, list[str]]] = [
    ("samplers_gmm.py", []),
    ("metrics_speed_graphs.py", ["--n", "1000", "--nodes", "20"]),
    ("metrics_speed_molecules.py", ["--n", "10000"]),
    ("molecule_roundtrip.py", ["qm9"]),
    # the bundled models' blocks (continuous_<dataset>.md) are reproduced from the shipped weights
    ("continuous_graphs.py", ["--dataset", "community_small", "--load", "graphdiff/pretrained/community_small_sde",
                              "--seeds", "10", "--reference-seeds", "10"]),
    ("continuous_graphs.py", ["--dataset", "ego_small", "--load", "graphdiff/pretrained/ego_small_sde",
                              "--seeds", "10", "--reference-seeds", "10"]),
    ("molecule_model_eval.py", ["qm9_sde", "--n", "10000"]),
    ("discrete_graphs.py", ["--dataset", "qm9", "--load", "graphdiff/pretrained/qm9_ctmc", "--n", "10000", "--steps", "50",
                            "--time-power", "2", "--seed", "1"]),
    ("sampling_speed.py", []),
    ("sampling_speed.py", ["--threads", "2", "--out", str(HERE / "results" / "sampling_speed_2threads.md")]),
    ("throughput_memory.py", []),
    ("reliability.py", []),
]

ORDER = ["samplers_gmm", "metrics_speed_graphs", "metrics_speed_molecules", "molecule_roundtrip",
         "continuous", "discrete", "molecules_", "sampling_speed", "throughput_memory", "reliability"]


def collect() -> Path:
    files = sorted((HERE / "results").glob("*.md"))

    def rank(p: Path) -> tuple[int, str]:
        for i, key in enumerate(ORDER):
            if p.stem.startswith(key):
                return i, p.stem
        return len(ORDER), p.stem

    parts = [
        "# graphdiff benchmarks\n",
        "Every block below was written by a script in `benchmarks/` and states its date, commit, machine, "
        "command and protocol. Rebuild this file with `python benchmarks/run_all.py --collect` after "
        "re-running a benchmark. Numbers measured on the shared 2-core development machine under load "
        "are upper bounds for times.\n",
    ]
    for p in sorted(files, key=rank):
        text = p.read_text().strip()
        if not text.startswith("#"):
            text = f"## {p.stem}\n\n{text}"
        elif text.startswith("# "):  # a block with its own title: demote its headings one level
            text = "\n".join(("#" + line) if line.startswith("#") else line for line in text.splitlines())
        parts.append(text + "\n")
    out = ROOT / "BENCHMARKS.md"
    out.write_text("\n".join(parts))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--collect", action="store_true", help="only rebuild BENCHMARKS.md")
    args = ap.parse_args()
    if not args.collect:
        env = dict(os.environ)
        for script, extra in BENCHMARKS:
            path = HERE / script
            if not path.exists():
                print(f"skip {script}: not present")
                continue
            print(f"== {script} {' '.join(extra)}", flush=True)
            rc = subprocess.call([sys.executable, str(path), *extra], cwd=ROOT, env=env)
            if rc != 0:
                print(f"{script} failed with exit code {rc}", file=sys.stderr)
    print(f"wrote {collect()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
