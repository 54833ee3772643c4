"""``make demo``: generate molecules with the bundled default model, offline, and write

* ``samples.smi`` — one SMILES per line (``INVALID`` marks a sample that is not a molecule),
* ``molecules.png`` — a grid of the first valid molecules,
* ``metrics.md`` / ``metrics.json`` — validity, uniqueness, novelty, FCD and NSPDK, with the
  protocol and counts (novelty / FCD / NSPDK need the QM9 files: ``$GRAPHDIFF_DATA`` or the cache).

Run ``python -m graphdiff.demo --help`` for options.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m graphdiff.demo", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="demo_output", help="output folder (default: demo_output)")
    ap.add_argument("--model", default="qm9", help="bundled model name (default: qm9)")
    ap.add_argument("-n", type=int, default=1000, help="number of molecules (default: 1000)")
    ap.add_argument("--steps", type=int, default=None, help="sampling steps (default: the model card's)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-metrics", action="store_true", help="skip the metrics table")
    args = ap.parse_args(argv)

    import graphdiff
    from graphdiff.pipelines.pretrained import list_pretrained

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if not list_pretrained():
        print("graphdiff demo: this installation bundles no pretrained model yet, so there is nothing to sample.\n"
              "Train one with `graphdiff train --config configs/qm9_ctmc.yaml` and pass --model <its folder>.",
              file=sys.stderr)
        return 1
    t0 = time.perf_counter()
    samples = graphdiff.generate_molecules(n=args.n, model=args.model, steps=args.steps, seed=args.seed, progress=True)
    print(samples.summary())
    smi_path = samples.save(out / "samples.smi")
    print(f"wrote {smi_path}")

    from graphdiff.viz import molecule_grid

    valid = [m for m in samples.molecules if m is not None]
    molecule_grid(valid[:24], out / "molecules.png", mols_per_row=6)
    print(f"wrote {out / 'molecules.png'}")

    if args.no_metrics:
        return 0
    from graphdiff.metrics import molecule_metrics

    train = test = None
    note = ""
    try:
        ds = graphdiff.data.load("qm9", download=False)
        train, test = ds.smiles("train"), ds.smiles("test")
    except Exception as exc:  # data not available offline: report what could still be computed
        note = f"novelty, FCD and NSPDK skipped: QM9 reference files not found ({type(exc).__name__}: {exc})"
    metrics = ("validity", "uniqueness", "novelty", "fcd", "nspdk") if test is not None else ("validity", "uniqueness")
    rep = samples.report
    result = molecule_metrics(
        samples.smiles, train_smiles=train, test_smiles=test, metrics=metrics,
        num_valid_without_correction=getattr(rep, "n_valid_without_correction", None),
        n_total=getattr(rep, "n_total", None),
    )
    table = result.to_markdown()
    header = (f"# graphdiff demo — {len(samples)} molecules from `{args.model}` "
              f"({samples.info.get('sampler')}, {samples.info.get('steps')} steps, seed {args.seed})\n\n")
    (out / "metrics.md").write_text(header + table + ("\n\n" + note if note else "") + "\n")
    (out / "metrics.json").write_text(json.dumps(result.to_dict(), indent=2, default=str))
    print(table)
    if note:
        print(note)
    print(f"wrote {out / 'metrics.md'} ({time.perf_counter() - t0:.1f} s in all)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
