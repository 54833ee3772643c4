"""MOSES metrics: agreement with the MOSES package, and time / peak memory at MOSES scale.

``--compare``: one set scored both ways. Generated = MOSES training molecules, ZINC250k molecules
(some fail MOSES's filters: charges, P, I, ...) and a few invalid strings; reference = subsets of
MOSES test / scaffold test / train. Our ``moses_metrics`` runs here; ``moses.get_all_metrics``
(molsets 0.3.1) runs in a separate Python given by ``--molsets-python`` (a virtual environment of
its own, never a graphdiff dependency), on the same lists, through a JSON file.

``--scale F``: the full MOSES protocol scaled by ``F`` (30,000 * F samples from the scaffold
test set standing in for a model, against F of test, scaffold test and train), first with an
empty cache, then again with the reference statistics cached; reports wall / CPU seconds and the
peak resident memory of each run (``ru_maxrss``; each run in its own process).

    python benchmarks/moses_metrics.py --compare --molsets-python /tmp/molsets/bin/python
    python benchmarks/moses_metrics.py --scale 0.1

Writes ``benchmarks/results/moses_metrics.md`` (sections are replaced, not appended).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from _common import git_commit, machine_line, utc_now  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "moses_metrics.md"
FULL = {"gen": 30000, "test": 176074, "test_scaffolds": 176225, "train": 1584663}

_MOSES_CHILD = r"""
import json, sys, time, warnings
warnings.filterwarnings("ignore")
import moses
from moses.metrics import get_all_metrics
d = json.load(open(sys.argv[1]))
t = time.time()
out = get_all_metrics(d["gen"], k=[1000, 10000], n_jobs=1, device="cpu", test=d["test"],
                      test_scaffolds=d["test_scaffolds"], train=d["train"])
out = {k: float(v) for k, v in out.items()}
out["_seconds"] = time.time() - t
import rdkit, numpy, pandas, torch
out["_versions"] = f"molsets {moses.__version__}, rdkit {rdkit.__version__}, numpy {numpy.__version__}, pandas {pandas.__version__}, torch {torch.__version__}"
json.dump(out, open(sys.argv[2], "w"))
"""

# our name -> MOSES get_all_metrics key
KEYS = {
    "valid": "valid", "unique@1000": "unique@1000", "unique@10000": "unique@10000", "novelty": "Novelty",
    "fcd": "FCD/Test", "snn": "SNN/Test", "frag": "Frag/Test", "scaf": "Scaf/Test",
    "fcd_testsf": "FCD/TestSF", "snn_testsf": "SNN/TestSF", "frag_testsf": "Frag/TestSF", "scaf_testsf": "Scaf/TestSF",
    "intdiv1": "IntDiv", "intdiv2": "IntDiv2", "filters": "Filters",
    "logp": "logP", "sa": "SA", "qed": "QED", "weight": "weight",
}  # fmt: skip


def read_csv_smiles(path: Path, n: int | None = None, skip: int = 0) -> list[str]:
    out: list[str] = []
    with gzip.open(path, "rt") as fh:
        next(fh)
        for i, line in enumerate(fh):
            if i < skip:
                continue
            if n is not None and len(out) >= n:
                break
            out.append(line.split(",")[0].strip())
    return out


def write_section(title: str, body: str) -> None:
    text = RESULTS.read_text() if RESULTS.exists() else "# MOSES metrics: agreement with molsets and MOSES-scale cost\n"
    block = f"## {title}\n\n{body.strip()}\n"
    pat = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.S | re.M)
    text = pat.sub(lambda _: block + "\n", text) if pat.search(text) else text.rstrip() + "\n\n" + block
    RESULTS.write_text(text)


def compare(data: Path, molsets_python: str, n_gen: int, n_ref: int, n_train: int) -> None:
    from graphdiff.metrics.moses import moses_metrics

    moses_dir = data / "molecules" / "moses"
    test = read_csv_smiles(moses_dir / "test.csv.gz", n_ref)
    sf = read_csv_smiles(moses_dir / "test_scaffolds.csv.gz", n_ref)
    train = read_csv_smiles(moses_dir / "train.csv.gz", n_train)
    zinc = [line.strip() for line in gzip.open(data / "molecules" / "zinc250k" / "250k_rndm_zinc_drugs_clean.smi.gz", "rt")]
    n_half = n_gen // 2
    gen = train[: n_half // 4] + read_csv_smiles(moses_dir / "train.csv.gz", n_half - n_half // 4, skip=n_train)
    gen += zinc[: n_gen - len(gen) - 4] + ["C1CC", "not_smiles", "C(C)(C)(C)(C)C", ""]
    with tempfile.TemporaryDirectory() as tmp:
        inp, out = Path(tmp) / "in.json", Path(tmp) / "out.json"
        inp.write_text(json.dumps({"gen": gen, "test": test, "test_scaffolds": sf, "train": train}))
        child = Path(tmp) / "child.py"
        child.write_text(_MOSES_CHILD)
        env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONPATH": ""}
        subprocess.run([molsets_python, str(child), str(inp), str(out)], check=True, env=env)
        theirs = json.loads(out.read_text())
    t0 = time.time()
    ours = moses_metrics(gen, test, test_scaffolds=sf, train=train, cache=False)
    ours_s = time.time() - t0
    rows = ["| metric | graphdiff | molsets 0.3.1 | abs. difference |", "|---|---|---|---|"]
    for name, key in KEYS.items():
        a, b = ours.values[name], theirs[key]
        rows.append(f"| {name} | {a:.6f} | {b:.6f} | {abs(a - b):.2e} |")
    cards = {c.name: c for c in ours.cards}
    body = f"""
- date: {utc_now()}; commit: {git_commit()}; {machine_line(1)}
- command: `python benchmarks/moses_metrics.py --compare --molsets-python {molsets_python} --n-gen {n_gen} --n-ref {n_ref} --n-train {n_train}`
- set: {len(gen)} generated = {n_half // 4} MOSES train molecules (also in the train reference, so novelty < 1) + {n_half - n_half // 4} other
  MOSES train molecules + {len(gen) - n_half - 4} ZINC250k molecules (first lines of the .smi) + 4 invalid entries; references: first
  {len(test)} of MOSES test, first {len(sf)} of scaffold test, first {len(train)} of train (same lists both sides)
- graphdiff: this repository's `moses_metrics` ({ours_s:.0f} s); molsets: `moses.get_all_metrics(gen, k=[1000, 10000], n_jobs=1,
  test=..., test_scaffolds=..., train=...)` ({theirs['_seconds']:.0f} s) in a separate virtual environment ({theirs['_versions']};
  Python 3.11; molsets installed with `--no-deps` and its pins satisfied by hand, torch read from graphdiff's environment
  because the CPU wheel index is unreachable here)
- filters: {cards['filters'].notes}

{chr(10).join(rows)}
"""
    write_section("Agreement with molsets (one set scored both ways)", body)
    print(body)


def _scale_child(data: Path, frac: float, cache_dir: str, n_jobs: int) -> dict:
    """One evaluation in this process; returns timings and peak RSS."""
    os.environ["GRAPHDIFF_CACHE"] = cache_dir
    from graphdiff.metrics.moses import moses_metrics

    moses_dir = data / "molecules" / "moses"
    n = {k: max(2, round(v * frac)) for k, v in FULL.items()}
    t0, c0 = time.time(), _cpu_seconds()
    test = read_csv_smiles(moses_dir / "test.csv.gz", n["test"])
    sf_all = read_csv_smiles(moses_dir / "test_scaffolds.csv.gz", n["test_scaffolds"] + n["gen"])
    sf, gen = sf_all[: n["test_scaffolds"]], sf_all[n["test_scaffolds"] :]
    gen_source = "scaffold-test molecules after the reference part"
    if len(gen) < n["gen"]:  # the full protocol uses the whole scaffold-test file: stand-ins from ZINC250k
        with gzip.open(data / "molecules" / "zinc250k" / "250k_rndm_zinc_drugs_clean.smi.gz", "rt") as fh:
            gen = [line.strip() for _, line in zip(range(n["gen"]), fh)]
        gen_source = "the first ZINC250k molecules (the scaffold-test file is all reference at this scale)"
    train = read_csv_smiles(moses_dir / "train.csv.gz", n["train"])
    parts: dict[str, float] = {"read files": _cpu_seconds() - c0}
    from graphdiff.metrics.moses import _train_index, moses_reference

    for name, fn in (("test statistics", lambda: moses_reference(test, n_jobs=n_jobs)),
                     ("scaffold-test statistics", lambda: moses_reference(sf, n_jobs=n_jobs)),
                     ("train index", lambda: _train_index(train, cache=True, n_jobs=n_jobs, progress=False))):  # fmt: skip
        c = _cpu_seconds()
        fn()  # a no-op read from the cache on the warm run
        parts[name] = _cpu_seconds() - c
    c = _cpu_seconds()
    res = moses_metrics(gen, test, test_scaffolds=sf, train=train, n_jobs=n_jobs)
    parts["generated set + metrics"] = _cpu_seconds() - c
    return {
        "n": n, "wall_s": time.time() - t0, "cpu_s": _cpu_seconds() - c0, "parts": parts,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "values": res.values,
        "peak_rss_children_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, "gen_source": gen_source,
    }  # fmt: skip


def _cpu_seconds() -> float:
    """CPU seconds of this process and its finished children (the worker processes)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def scale(data: Path, frac: float, n_jobs: int) -> None:
    with tempfile.TemporaryDirectory() as cache:
        runs = []
        for label in ("cold cache", "warm cache"):
            load = os.getloadavg()[0]
            out = subprocess.run([sys.executable, __file__, "--child", str(frac), "--data", str(data), "--cache", cache,
                                  "--n-jobs", str(n_jobs)],
                                 check=True, stdout=subprocess.PIPE, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})  # fmt: skip
            runs.append((label, load, json.loads(out.stdout.strip().splitlines()[-1])))
    n = runs[0][2]["n"]
    rows = ["| run | wall s | CPU s | peak RSS (MB) | largest worker RSS (MB) | 1-min load at start |", "|---|---|---|---|---|---|"]
    rows += [f"| {lab} | {r['wall_s']:.0f} | {r['cpu_s']:.0f} | {r['peak_rss_mb']:.0f} | {r.get('peak_rss_children_mb', 0):.0f} | "
             f"{load:.1f} |" for lab, load, r in runs]
    vals = ", ".join(f"{k} {v:.4f}" for k, v in runs[1][2]["values"].items())
    rows += ["", "| CPU seconds by part | cold | warm |", "|---|---|---|"]
    rows += [f"| {k} | {runs[0][2]['parts'][k]:.1f} | {runs[1][2]['parts'][k]:.1f} |" for k in runs[0][2]["parts"]]
    body = f"""
- date: {utc_now()}; commit: {git_commit()}; {machine_line(1)}
- command: `python benchmarks/moses_metrics.py --scale {frac} --n-jobs {n_jobs}`
- sizes (MOSES protocol x {frac}): {n['gen']} samples ({runs[0][2].get('gen_source', 'scaffold-test molecules')}, standing in for
  a model) vs {n['test']} test, {n['test_scaffolds']} scaffold test, {n['train']} train; one torch / BLAS thread, n_jobs={n_jobs}
  (RDKit work in that many worker processes; CPU seconds include finished workers; peak RSS is the main process's,
  the largest finished worker's beside it)

{chr(10).join(rows)}

values (warm run): {vals}
"""
    write_section(f"Scale {frac}", body)
    print(body)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path(os.environ.get("GRAPHDIFF_DATA", ROOT.parent / "shared" / "data")))
    ap.add_argument("--compare", action="store_true")
    ap.add_argument("--molsets-python", default="/tmp/molsets311/bin/python")
    ap.add_argument("--n-gen", type=int, default=2000)
    ap.add_argument("--n-ref", type=int, default=5000)
    ap.add_argument("--n-train", type=int, default=20000)
    ap.add_argument("--scale", type=float)
    ap.add_argument("--n-jobs", type=int, default=1)
    ap.add_argument("--child", type=float, help=argparse.SUPPRESS)
    ap.add_argument("--cache", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child is not None:
        print(json.dumps(_scale_child(args.data, args.child, args.cache, args.n_jobs)))
        return
    if args.compare:
        compare(args.data, args.molsets_python, args.n_gen, args.n_ref, args.n_train)
    if args.scale is not None:
        scale(args.data, args.scale, args.n_jobs)


if __name__ == "__main__":
    main()
