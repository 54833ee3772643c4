"""Run every benchmark (long: tens of minutes on 2 CPU cores) and rebuild BENCHMARKS.md.

    python benchmarks/run_all.py            # all benchmarks, then collect
    python benchmarks/run_all.py --collect  # only rebuild BENCHMARKS.md from benchmarks/results/*.md
    python benchmarks/run_all.py --check    # exit 1 when BENCHMARKS.md is not what --collect writes

Each benchmark script writes its own markdown block (date, commit, machine, command, protocol) to
``benchmarks/results/``: those files are the one source of every number. BENCHMARKS.md is a generated
one-page view of them: the headline tables (:data:`HEADLINES`, copied from the files) and an index
that links every file. ``tests/test_benchmarks_page.py`` keeps it in sync.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

# (script, arguments) of a full run
BENCHMARKS: list[tuple[str, list[str]]] = [
    ("samplers_gmm.py", []),
    ("metrics_speed_graphs.py", ["--n", "1000", "--nodes", "20"]),
    ("metrics_speed_molecules.py", ["--n", "10000"]),
    ("moses_metrics.py", ["--scale", "0.05", "--n-jobs", "2"]),  # --compare needs a molsets environment of its own
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
    ("cspd_timeseries.py", []),
    ("lsgm_digits.py", ["--weights", str(ROOT / "notebooks" / "data" / "lsgm_digits")]),
]

ORDER = ["samplers_gmm", "metrics_speed_graphs", "metrics_speed_molecules", "molecule_roundtrip",
         "continuous", "discrete", "molecules_", "sampling_speed", "throughput_memory", "reliability"]


@dataclass(frozen=True)
class Headline:
    """One headline table of BENCHMARKS.md: table number ``table`` (0-based, in file order) of
    ``benchmarks/results/<stem>.md``, keeping only ``columns`` (all when empty). ``note``: the start of a
    line of that file copied under the table (e.g. the single-fragment share, which issue #26 wants
    beside every validity), an error when the file has no such line."""

    title: str
    stem: str
    table: int = 0
    columns: tuple[str, ...] = ()
    note: str = ""


_CARD_COLUMNS = ("metric", "value", "protocol", "n_gen", "n_ref")
_FRAGMENTS = "- single-fragment samples"
_MMD_COLUMNS = ("sampler", "steps", "NFE", "seeds", "degree", "clustering", "orbit")

#: the tables on the summary page, in order (the bundled models first)
HEADLINES: list[Headline] = [
    Headline("QM9, discrete CTMC: the bundled `qm9_ctmc`, 10,000 samples, 23 network calls", "discrete_qm9", 0, _CARD_COLUMNS,
             _FRAGMENTS),
    Headline("QM9, continuous SDE: the bundled `qm9_sde`, 10,000 samples, 50 NFE", "molecules_qm9_continuous_samplers", 0,
             note=_FRAGMENTS),
    Headline("ZINC250k, discrete CTMC: the bundled `zinc250k_ctmc`, 10,000 samples, 97 network calls", "discrete_zinc250k", 2,
             _CARD_COLUMNS, _FRAGMENTS),
    Headline("community-small, continuous SDE: the bundled `community_small_sde` (GDSS protocol, MMD²)",
             "continuous_community_small", 0, _MMD_COLUMNS),
    Headline("ego-small, continuous SDE: the bundled `ego_small_sde` (GDSS protocol, MMD²)", "continuous_ego_small", 0, _MMD_COLUMNS),
    Headline("Graph classes: class-conditional SDE on community graphs with 2-5 communities, mean over the classes "
             "(MMD² per class, 25-min CPU model)", "graph_classes", 0),
    Headline("Sampling speed of the bundled QM9 models (2 torch threads)", "sampling_speed_2threads", 0),
    Headline("CSPD: white vs GP / OU diffusion noise for forecasting irregular series (CRPS, energy score; 1 seed)",
             "cspd_timeseries", 0, ("data set", "noise", "sampler", "CRPS", "energy score")),
    Headline("LSGM vs the pixel-space VP model of the same size on the 8x8 digits (bits/pixel, classifier scores)", "lsgm_digits", 0),
]


def _tables(text: str) -> list[list[list[str]]]:
    """The markdown tables of ``text``: each a list of rows (header first, separator dropped) of cells."""
    tables: list[list[list[str]]] = []
    current: list[list[str]] | None = None
    for line in text.splitlines():
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if current is None:
                current = []
                tables.append(current)
            if not all(set(c) <= set("-: ") and c for c in cells):
                current.append(cells)
        else:
            current = None
    return tables


def _title(text: str, stem: str) -> str:
    for line in text.splitlines():
        if line.startswith("#"):
            return line.lstrip("#").strip().replace("|", "\\|")
    return stem


def headline_table(h: Headline, results: Path | None = None) -> list[str]:
    """The markdown lines of headline ``h``; ValueError naming the file when it has no such table
    or lacks a column (a benchmark rewrote its file: update :data:`HEADLINES`)."""
    path = (results or HERE / "results") / f"{h.stem}.md"
    tables = _tables(path.read_text())
    if h.table >= len(tables):
        raise ValueError(f"{path} has {len(tables)} tables; HEADLINES asks for table {h.table}")
    header, *rows = tables[h.table]
    keep = list(range(len(header)))
    if h.columns:
        missing = [c for c in h.columns if c not in header]
        if missing:
            raise ValueError(f"table {h.table} of {path} has no column(s) {missing}; its columns are {header}")
        keep = [header.index(c) for c in h.columns]
    out = ["| " + " | ".join(header[k] for k in keep) + " |", "|" + "---|" * len(keep)]
    out += ["| " + " | ".join(row[k] if k < len(row) else "" for k in keep) + " |" for row in rows]
    if h.note:
        lines = [ln for ln in path.read_text().splitlines() if ln.startswith(h.note)]
        if not lines:
            raise ValueError(f"{path} has no line starting with {h.note!r}, which HEADLINES copies under its table")
        out += ["", lines[0]]
    return out


def render(results: Path | None = None) -> str:
    """The text of BENCHMARKS.md, generated from ``benchmarks/results/*.md``."""
    results = results or HERE / "results"
    files = sorted(results.glob("*.md"))

    def rank(p: Path) -> tuple[int, str]:
        for i, key in enumerate(ORDER):
            if p.stem.startswith(key):
                return i, p.stem
        return len(ORDER), p.stem

    parts = [
        "# graphdiff benchmarks",
        "",
        "A one-page summary, generated by `python benchmarks/run_all.py --collect` from the result files in",
        "[`benchmarks/results/`](benchmarks/results/): edit those (or re-run their scripts), not this page. Every",
        "file states its date, commit, machine, exact command and protocol (counts, kernel, steps / NFE, threads,",
        "machine load); the evaluation protocols and the published numbers we compare with are described in",
        "[`docs/protocols.md`](docs/protocols.md). Times measured on the shared 2-core development machine under",
        "load are upper bounds.",
        "",
        "## Headline tables",
    ]
    for h in HEADLINES:
        parts += ["", f"### {h.title}", "", f"From [`{h.stem}.md`](benchmarks/results/{h.stem}.md), which has the protocol and command.", ""]
        parts += headline_table(h, results)
    parts += ["", "## Every result file", "", "| file | what it measures |", "|---|---|"]
    for p in sorted(files, key=rank):
        parts.append(f"| [`{p.stem}`](benchmarks/results/{p.name}) | {_title(p.read_text(), p.stem)} |")
    return "\n".join(parts) + "\n"


def collect() -> Path:
    out = ROOT / "BENCHMARKS.md"
    out.write_text(render())
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--collect", action="store_true", help="only rebuild BENCHMARKS.md")
    ap.add_argument("--check", action="store_true", help="exit 1 when BENCHMARKS.md differs from what --collect writes")
    args = ap.parse_args()
    if args.check:
        if (ROOT / "BENCHMARKS.md").read_text() != render():
            print("error: BENCHMARKS.md is out of date; run python benchmarks/run_all.py --collect", file=sys.stderr)
            return 1
        print("BENCHMARKS.md is up to date")
        return 0
    if not args.collect:  # run every benchmark first
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
