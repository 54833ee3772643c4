"""Sampling speed of the bundled QM9 models on this CPU, in one run: the discrete CTMC model and the
continuous SDE model with their few-step samplers, beside a plain 1000-step Euler-Maruyama sampler of
the same SDE model (the reference the few-step samplers replace).

Each row: one warm-up batch, then ``--n`` molecules (``--batch-size`` per batch, node counts from the
training set, seed 0); time per molecule (wall clock of ``pipe.sample``, decoding included), network
evaluations per molecule, and validity without correction / uniqueness of those molecules, so speed
is never quoted without the quality it buys. ::

    python benchmarks/sampling_speed.py                 # 1 thread
    python benchmarks/sampling_speed.py --threads 2

Writes ``benchmarks/results/sampling_speed.md``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, git_commit, machine_line, utc_now  # noqa: E402

# (bundled model, sampler or None for the card's, steps or None for the card's, molecules, precision)
ROWS: list[tuple[str, str | None, int | None, int, str]] = [
    ("qm9_ctmc", None, None, 1000, "float32"),
    ("qm9_ctmc", None, None, 1000, "bfloat16"),
    ("qm9_sde", None, None, 1000, "float32"),
    ("qm9_sde", None, None, 1000, "bfloat16"),
    ("qm9_sde", "dpm_solver_sde", 25, 1000, "float32"),
    ("qm9_sde", "dpm_solver_sde", 25, 1000, "bfloat16"),
    ("qm9_sde", "dpm_solver_sde", 15, 1000, "bfloat16"),
    ("qm9_sde", "dpm_solver", 50, 1000, "bfloat16"),
    ("qm9_sde", "euler_maruyama", 1000, 250, "float32"),
]


def _measure(pipe, sampler: str | None, steps: int | None, n: int, batch_size: int, precision: str) -> dict:
    from graphdiff.metrics import molecule_metrics

    pipe.sample(min(n, 32), steps=steps, sampler=sampler, seed=123, batch_size=batch_size, precision=precision)  # warm-up
    t0 = time.perf_counter()
    out = pipe.sample(n, steps=steps, sampler=sampler, seed=0, batch_size=batch_size, precision=precision)
    seconds = time.perf_counter() - t0
    batches = -(-n // batch_size)
    rep = out.report
    m = molecule_metrics(out.smiles, metrics=("validity", "uniqueness"), n_total=rep.n_total,
                         num_valid_without_correction=rep.n_valid_without_correction).to_dict()["values"]
    card = pipe.card.get("sampling", {})
    return {"sampler": sampler or card.get("sampler"), "steps": steps or card.get("steps"),
            "nfe": out.nfe / batches, "ms": 1000 * seconds / n,
            "validity_wo_correction": m["validity_wo_correction"], "uniqueness": m["uniqueness"]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=250)
    ap.add_argument("--scale", type=float, default=1.0, help="multiply every row's molecule count (0.1 for a smoke run)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "sampling_speed.md"))
    a = ap.parse_args(argv)
    if a.scale <= 0 or a.batch_size < 1 or a.threads < 1:
        ap.error(f"--scale must be > 0 and --batch-size / --threads >= 1 (got {a.scale}, {a.batch_size}, {a.threads})")
    torch.set_num_threads(a.threads)
    import graphdiff

    results = []
    pipes: dict = {}
    for name, sampler, steps, n, precision in ROWS:
        n = max(1, int(n * a.scale))
        pipe = pipes.setdefault(name, graphdiff.load_pretrained(name))
        r = _measure(pipe, sampler, steps, n, min(a.batch_size, n), precision)
        r.update(model=name, n=n, params=sum(p.numel() for p in pipe.network.parameters()), precision=precision)
        results.append(r)
        print(f"{name} {r['sampler']}:{r['steps']} {precision} n={n}: {r['ms']:.1f} ms/molecule, NFE {r['nfe']:.0f}, "
              f"validity w/o corr {r['validity_wo_correction']:.3f}", flush=True)

    lines = [
        f"## Sampling speed of the bundled QM9 models, {a.threads} torch thread{'s' if a.threads > 1 else ''} ({utc_now()})",
        "",
        f"- commit `{git_commit()}`; machine: {machine_line(a.threads)} (shared 2-core machine: times are upper bounds)",
        f"- command: `python benchmarks/sampling_speed.py {' '.join(argv if argv is not None else sys.argv[1:])}`".rstrip(),
        f"- protocol: one warm-up batch, then the molecules of each row in batches of {a.batch_size}; node counts "
        "from the QM9 training set, seed 0; time = wall clock of `pipe.sample` (network, sampler and decoding to "
        "RDKit molecules); NFE = network evaluations per molecule; validity w/o correction over all samples, "
        "uniqueness over valid ones (FCD / NSPDK of these models at 10,000 samples are in their own blocks); "
        "precision bfloat16 = the network under `torch.autocast` (`pipe.sample(..., precision=\"bfloat16\")`), "
        "sampler arithmetic in float32",
        "",
        "| model | parameters | sampler | steps | NFE | precision | molecules | ms per molecule | validity w/o correction | uniqueness |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(f"| `{r['model']}` | {r['params']:,} | {r['sampler']} | {r['steps']} | {r['nfe']:.0f} | {r['precision']} | {r['n']} | "
                     f"{r['ms']:.1f} | {100 * r['validity_wo_correction']:.1f}% | {100 * r['uniqueness']:.1f}% |")
    ref = next((r for r in results if r["steps"] == 1000), None)
    if ref is not None:
        lines += ["", "Speed-up over the 1000-step Euler-Maruyama sampler of the same SDE model: " + ", ".join(
            f"{r['model']} {r['sampler']}:{r['steps']} {r['precision']} {ref['ms'] / r['ms']:.0f}x" for r in results if r is not ref)]
    text = "\n".join(lines) + "\n"
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(text)
    print(text)
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
