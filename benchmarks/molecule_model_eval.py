"""Sample any molecule model (a bundled name or a ``save_pretrained`` folder) and score it with the
GDSS molecule protocol on its dataset's test split; optionally save the model with the metrics in
its card (how the bundled cards are made reproducible).

    python benchmarks/molecule_model_eval.py runs/qm9_sde_cpu/model --n 1000 --save graphdiff/pretrained/qm9_sde
    python benchmarks/molecule_model_eval.py qm9 --n 10000        # the bundled default model

Writes a markdown block to ``benchmarks/results/molecules_<dataset>_<family>.md`` (date, commit,
machine, command, protocol, steps / NFE, time per molecule).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT  # noqa: E402
from _common import git_commit as _commit  # noqa: E402

from graphdiff.pipelines.precision import PRECISIONS  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", help="bundled model name or save_pretrained folder")
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--steps", type=int, default=None, help="default: the card's")
    ap.add_argument("--sampler", default=None, help="default: the card's")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--precision", default="float32", choices=PRECISIONS + ("auto",), help="network precision while sampling")
    ap.add_argument("--no-sort-sizes", action="store_true", help="sample in draw order (the default before size-sorted batches)")
    ap.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                    help="sampler option (repeatable; VALUE as JSON), e.g. --option temperature=0.8")
    ap.add_argument("--save", default=None, help="save_pretrained folder for the model with these metrics in its card "
                    "(and this sampler, steps and options as its default sampling)")
    ap.add_argument("--out", default=None)
    a = ap.parse_args(argv)
    from graphdiff.cli import parse_key_values

    try:
        options = parse_key_values(a.option)
    except ValueError as exc:
        ap.error(f"--option {exc}")
    torch.set_num_threads(a.threads)

    import graphdiff
    from graphdiff.metrics import molecule_metrics

    pipe = graphdiff.load_pretrained(a.model)
    if pipe.vocabulary is None:
        raise SystemExit(f"{a.model} is not a molecule model")
    dataset = pipe.dataset or "qm9"
    ds = graphdiff.load_dataset(dataset)
    t0 = time.perf_counter()
    out = pipe.sample(a.n, steps=a.steps, sampler=a.sampler, seed=a.seed, progress=True, precision=a.precision,
                      sampler_options=options, sort_sizes=not a.no_sort_sizes)
    a.precision = out.info["precision"]  # "auto" resolved
    seconds = time.perf_counter() - t0
    rep = out.report
    res = molecule_metrics(out.smiles, train_smiles=ds.smiles("train"), test_smiles=ds.smiles("test"),
                           num_valid_without_correction=rep.n_valid_without_correction, n_total=rep.n_total)
    values = {k: (None if v is None else round(float(v), 6)) for k, v in res.to_dict()["values"].items()}
    info = out.info
    metrics = {
        "protocol": "gdss", "dataset": dataset, "split": "test", "n_samples": a.n, "sampler": info["sampler"],
        "steps": info["steps"], "nfe": out.nfe_per_graph, "nfe_total": out.nfe, "seed": a.seed, "precision": a.precision, "options": info["options"], "decode": pipe.card.get("sampling", {}).get("decode", "gdss"),
        "ms_per_sample_cpu": round(1000 * seconds / max(a.n, 1), 2), "values": values, "counts": res.counts,
        "sort_sizes": bool(out.info.get("sort_sizes")), "single_fragment": round(out.single_fragment_fraction, 6),
        "date": dt.date.today().isoformat(),
        "command": "python benchmarks/molecule_model_eval.py " + " ".join(sys.argv[1:] if argv is None else argv),
    }
    family = pipe.family
    lines = [
        f"## {family} model on {dataset} ({a.model}), GDSS molecule protocol",
        "",
        f"- date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC; commit `{_commit()}`",
        f"- machine: {platform.machine()} CPU, {torch.get_num_threads()} torch thread(s), torch {torch.__version__}; "
        f"load average {os.getloadavg()[0]:.1f} at the end (a shared machine: the time per molecule is wall clock)",
        f"- command: `{metrics['command']}`",
        f"- model: {pipe.card.get('summary', type(pipe).__name__)}; {sum(p.numel() for p in pipe.network.parameters()):,} parameters; "
        f"training: {json.dumps(pipe.card.get('training', {}))}",
        f"- sampling: {info['sampler']}, {info['steps']} steps, {out.nfe_per_graph} network calls per molecule ({out.nfe} in all over batches), seed {a.seed}, "
        f"network in {a.precision}, size-sorted batches {metrics['sort_sizes']}"
        + (f", options {json.dumps(info['options'])}" if info["options"] else "") + "; "
        f"{seconds:.1f} s for {a.n} molecules = {metrics['ms_per_sample_cpu']} ms per molecule",
        f"- protocol: node counts from the training set; decoded with `{metrics['decode']}`; validity w/o correction / all samples; "
        "uniqueness / valid; novelty vs the train SMILES; FCD and NSPDK vs the test SMILES",
        "",
        res.to_markdown(),
        "",
        f"Single-fragment samples (one connected molecule before the largest fragment is kept): "
        f"**{100 * out.single_fragment_fraction:.1f}%** ({rep.n_multi_fragment} of {rep.n_total} in several fragments).",
        "",
    ]
    path = Path(a.out) if a.out else ROOT / "benchmarks" / "results" / f"molecules_{dataset}_{family}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))
    print("\n".join(lines))
    print(f"wrote {path}")
    if a.save:
        # the card's default sampling becomes the one these metrics were measured with
        sampling = pipe.card.setdefault("sampling", {})
        sampling.update(sampler=info["sampler"], steps=info["steps"])
        if options:
            sampling.setdefault("options", {})[info["sampler"]] = options
        pipe.save_pretrained(a.save, metrics=metrics)
        print(f"saved the model with its metrics to {a.save}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
