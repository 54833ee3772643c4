"""Discrete CTMC graph diffusion: sample a trained model and score it with the dataset's protocol.

Molecules (``qm9``, ``zinc250k``): the GDSS protocol of :func:`graphdiff.metrics.molecule_metrics`
— validity without correction (from the decoder's report; denominator = all samples), validity
after decoding, uniqueness, novelty vs the training SMILES, FCD and NSPDK MMD vs the test SMILES.
Generic graphs (``planar``, ``sbm``, ...): MMD^2 of :func:`graphdiff.metrics.graph_metrics` with the
SPECTRE protocol (ratios to the training graphs) and ``n`` = the test-set size by default.

The model is a :meth:`DiscreteGraphDiffusion.save_pretrained` folder (``--load``), or is trained
here from a config (``--config``, see ``configs/*_ctmc.yaml``) for ``--train-minutes``. Usage::

    GRAPHDIFF_DATA=../shared/data nice -n 5 python benchmarks/discrete_graphs.py \\
        --dataset qm9 --load graphdiff/pretrained/qm9_ctmc --steps 50 --n 1000

Writes a markdown block to ``benchmarks/results/discrete_<dataset>.md`` (``--out``) and, with
``--save``, the model plus its metrics to a ``save_pretrained`` folder.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import torch

from graphdiff.cli import parse_key_values
from graphdiff.pipelines.bucketing import sample_by_size
from graphdiff.pipelines.discrete import DISCRETE_SAMPLERS, DiscreteGraphDiffusion
from graphdiff.states import GraphState

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import git_commit as _git_commit  # noqa: E402
from _common import cpu_name, lineage_text, mean_sd  # noqa: E402

MOLECULE_DATASETS = ("qm9", "zinc250k", "moses")
#: published numbers at the protocol's settings, for context only
REFERENCE = {
    "qm9": "DiGress (Vignac et al. 2023, 500 steps, GPU): validity 99.0%; DeFoG (Qin et al. 2025, 500 steps): "
           "validity 99.3%, FCD 0.12 (as reported)",
}


def generate(pipe: DiscreteGraphDiffusion, n: int, *, steps: int, sampler: str, seed: int, batch_size: int,
             sort_sizes: bool = False, options: dict | None = None, nproc: int = 1) -> tuple[GraphState, int, int, float]:
    """``n`` graphs, sizes drawn from the model's node-count distribution (seeded), sampled in
    batches of ``batch_size`` with :meth:`DiscreteGraphDiffusion.sample_batch` (in size order with
    ``sort_sizes``, returned in draw order); returns ``(state, network calls per graph, network calls in
    all, seconds)`` (state padded to the largest graph).
    ``nproc > 1`` shards the same sizes over CPU processes (``pipe.sample(nproc=...)``: each rank has its
    own noise stream, so the graphs differ from a one-process run)."""
    if nproc > 1:
        out = pipe.sample(n, steps=steps, sampler=sampler, seed=seed, batch_size=batch_size, nproc=nproc,
                          sampler_options=options, sort_sizes=sort_sizes)
        return out.state, out.nfe_per_graph, out.nfe, out.seconds
    sizes = pipe.node_counts.sample(n, generator=torch.Generator().manual_seed(seed))
    g = torch.Generator().manual_seed(seed + 1)
    pipe.network.eval()
    t0 = time.perf_counter()
    calls: list[int] = []
    with torch.no_grad():
        state, nfe = sample_by_size(lambda m: pipe.sample_batch(m, steps=steps, sampler=sampler, generator=g, options=options),
                                    sizes, batch_size, sort_sizes=sort_sizes, batch_calls=calls)
    return state, max(calls, default=0), nfe, time.perf_counter() - t0


def evaluate_molecules(pipe: DiscreteGraphDiffusion, ds: Any, state: GraphState, *, n_jobs: int = 1) -> tuple[dict, Any]:
    """GDSS-protocol molecule metrics of ``state`` (decoded with the card's protocol)."""
    from graphdiff.data.molecules import decode_molecules
    from graphdiff.metrics import molecule_metrics

    protocol = pipe.card.get("sampling", {}).get("decode", "gdss")
    report = decode_molecules(state, pipe.vocabulary, protocol=protocol)
    mols = [r.mol if r.valid else None for r in report.results]
    res = molecule_metrics(mols, ds.smiles("train"), ds.smiles("test"), n_total=len(mols),
                           num_valid_without_correction=report.n_valid_without_correction, n_jobs=n_jobs)
    values = {k: float(v) for k, v in res.values.items()}
    values["n_empty"] = report.n_empty
    values["single_fragment"] = 1.0 - report.n_multi_fragment / max(report.n_total, 1)  # before the largest is kept
    return values, res


def molecule_data_reference(ds: Any, n: int, subsets: int, n_jobs: int = 1) -> dict[str, list[float]]:
    """FCD and NSPDK of ``subsets`` random sets of ``n`` training molecules (seeds 0..subsets-1) against
    the test set: what a perfect generator scores with this many samples (both metrics are biased
    upward at small ``n``: on ZINC250k FCD is about 1.5 at 1,000 molecules and 0.2 at 10,000)."""
    import random

    from graphdiff.metrics import molecule_metrics

    train, test = ds.smiles("train"), ds.smiles("test")
    out: dict[str, list[float]] = {"fcd": [], "nspdk": []}
    for seed in range(subsets):
        res = molecule_metrics(random.Random(seed).sample(train, n), test_smiles=test,
                               metrics=("fcd", "nspdk"), n_jobs=n_jobs)
        for k in out:
            out[k].append(float(res.values[k]))
    return out


#: SPECTRE datasets whose graphs have a validity test (V.U.N.)
VUN_DATASETS = ("planar", "sbm", "tree")


class _GraphReport:
    """MMD cards plus, for planar / SBM / tree, the V.U.N. cards, as one markdown block."""

    def __init__(self, mmd: Any, vun: Any | None):
        self.mmd, self.vun = mmd, vun

    def to_markdown(self) -> str:
        parts = [self.mmd.to_markdown()]
        if self.vun is not None:
            parts += ["", self.vun.to_markdown()]
        return "\n".join(parts)


def evaluate_graphs(ds: Any, state: GraphState, name: str | None = None) -> tuple[dict, Any]:
    """SPECTRE-protocol MMD^2 (and ratios to the training graphs) of generic graphs, and V.U.N.
    (valid, unique, novel vs the training graphs) for planar / SBM / tree."""
    from graphdiff.metrics import graph_metrics, vun_metrics

    graphs = state.to_networkx()
    res = graph_metrics(ds.split("test"), graphs, protocol="spectre", train_graphs=ds.split("train"))
    values = {k: float(v) for k, v in res.items()}
    vun = None
    if name in VUN_DATASETS:
        vun = vun_metrics(graphs, ds.split("train"), validity=name)
        fractions = ("valid", "unique", "novel", "unique_novel")
        values.update({f"vun_{k}": float(getattr(vun, k)) for k in fractions}, vun=float(vun.vun))
    return values, _GraphReport(res, vun)


def train(config: str, minutes: float, threads: int, init: str | None = None) -> DiscreteGraphDiffusion:
    """Train the model of a ``configs/*_ctmc.yaml`` for at most ``minutes`` of wall-clock time; with
    ``init``, train on from that model (the config's ``init_from``: same network and process, the
    config's data and ``train:`` options, a fresh optimizer and learning-rate schedule)."""
    from graphdiff.pipelines import prepare_training, read_config

    opts = read_config(config)
    if init:
        opts["init_from"] = init
    pipe, state, kw = prepare_training(opts)
    kw["max_minutes"] = minutes
    t0 = time.perf_counter()

    def log(info) -> None:
        if info.step % 100 == 0:
            print(f"step {info.step} loss {info.loss:.4f} ({time.perf_counter() - t0:.0f} s)", flush=True)

    out = Path(opts.get("out", "runs/model"))
    pipe.fit(state, device="cpu", checkpoint_dir=out / "checkpoints", progress=False, callback=log, **kw)
    pipe.card["training"].update(planned_steps=kw["steps"], threads=threads)
    return pipe


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", default="qm9")
    p.add_argument("--load", default=None, help="save_pretrained folder to evaluate")
    p.add_argument("--config", default=None, help="train from this config instead of --load")
    p.add_argument("--train-minutes", type=float, default=30.0)
    p.add_argument("--init", default=None,
                   help="with --config: train on from this model (bundled name or folder; the config's init_from)")
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--sampler", default="ancestral", choices=DISCRETE_SAMPLERS.all_names())
    p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                   help="sampler option (repeatable; VALUE as JSON), e.g. --option temperature=0.9")
    p.add_argument("--time-power", type=float, default=None,
                   help="warp of the sampling time grid, t_i = (1 - i/n)^p (default: the model card's)")
    p.add_argument("--n", type=int, default=None, help="samples (default: 1000 molecules / the test-set size)")
    p.add_argument("--batch-size", type=int, default=500)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--sort-sizes", action="store_true",
                   help="sample in size order (each batch padded only to similar sizes; different noise than unsorted)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--nproc", type=int, default=1,
                   help="shard sampling over this many CPU processes (gloo; same sizes, other noise than --nproc 1)")
    p.add_argument("--n-jobs", type=int, default=1, help="processes for NSPDK / graph statistics")
    p.add_argument("--data-reference", type=int, default=0, metavar="K",
                   help="molecules: also score K random sets of --n training molecules vs the test set (a perfect generator)")
    p.add_argument("--nll", type=int, default=0, help="also bound -log p(G | N) on this many test graphs (CTMC ELBO)")
    p.add_argument("--save", default=None, help="save_pretrained folder for the model and these metrics")
    p.add_argument("--out", default=None, help="markdown file (default benchmarks/results/discrete_<dataset>.md)")
    a = p.parse_args(argv)
    if a.nll < 0:
        p.error(f"--nll must be >= 0 (test graphs to score), got {a.nll}")
    try:
        options = parse_key_values(a.option)
    except ValueError as exc:
        p.error(f"--option {exc}")
    if a.nproc < 1 or a.data_reference < 0:
        p.error(f"--nproc must be >= 1 and --data-reference >= 0, got {a.nproc} and {a.data_reference}")
    if a.data_reference and a.dataset not in MOLECULE_DATASETS:
        p.error("--data-reference scores training molecules (FCD / NSPDK): molecule datasets only")
    if a.init and (a.load or not a.config):
        p.error("--init continues training: give it with --config (the data and train options), not --load")
    torch.set_num_threads(a.threads)

    from graphdiff.data import load

    ds = load(a.dataset)
    molecules = a.dataset in MOLECULE_DATASETS
    n = a.n or (1000 if molecules else len(ds.split("test")))
    if a.data_reference and n > len(ds.smiles("train")):
        p.error(f"--data-reference draws --n {n} training molecules per set; {a.dataset} has {len(ds.smiles('train'))}")
    if a.load:
        pipe = DiscreteGraphDiffusion.from_pretrained(a.load)
    elif a.config:
        pipe = train(a.config, a.train_minutes, a.threads, init=a.init)
    else:
        raise SystemExit("give --load (a trained model) or --config (train one)")
    if a.time_power is not None:
        pipe.time_power = a.time_power
    n_params = sum(q.numel() for q in pipe.network.parameters())

    state, nfe, nfe_total, seconds = generate(pipe, n, steps=a.steps, sampler=a.sampler, seed=a.seed, batch_size=a.batch_size,
                                   sort_sizes=a.sort_sizes, options=options, nproc=a.nproc)
    print(f"sampled {n} in {seconds:.1f} s ({nfe} network calls per graph, {nfe_total} in all)", flush=True)
    t0 = time.perf_counter()
    values, res = evaluate_molecules(pipe, ds, state, n_jobs=a.n_jobs) if molecules else evaluate_graphs(ds, state, a.dataset)
    eval_seconds = time.perf_counter() - t0
    data_ref = molecule_data_reference(ds, n, a.data_reference, a.n_jobs) if a.data_reference else None
    if a.nll:
        test = ds.to_state("test", indices=range(min(a.nll, len(ds.smiles("test"))))) if molecules else \
            GraphState.from_networkx(ds.split("test")[: a.nll])
        t1 = time.perf_counter()
        values["nelbo_test_nats"] = float(pipe.nll(test, n_samples=8, seed=a.seed).mean())
        values["nelbo_test_graphs"] = test.batch_size
        print(f"test negative ELBO {values['nelbo_test_nats']:.3f} nats per graph ({time.perf_counter() - t1:.0f} s)")
    print(json.dumps(values, indent=1), flush=True)

    tr = pipe.card.get("training", {})
    what = "molecule" if molecules else "graph"
    cmd = f"python benchmarks/discrete_graphs.py {' '.join(argv if argv is not None else sys.argv[1:])}"
    lines = [
        f"## Discrete CTMC diffusion on {a.dataset} ({'GDSS molecule' if molecules else 'SPECTRE graph'} protocol)",
        "",
        f"- date: {_dt.datetime.now(_dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}; commit `{_git_commit()}`",
        f"- machine: {platform.machine()} {cpu_name(platform.processor() or '')} CPU, {os.cpu_count()} cores visible, torch "
        f"{torch.__version__}, {a.threads} thread(s) (shared, heavily loaded machine: times are upper bounds)",
        f"- command: `{cmd}`",
        f"- model: {pipe.card.get('summary', 'DiscreteGraphDiffusion')}; GraphTransformerDenoiser {n_params} parameters "
        f"({4 * n_params / 1e6:.2f} MB fp32); process {json.dumps(pipe.process_config()['ctmc']['name'])} "
        f"rates={pipe.rates}, edge_weight={pipe.edge_weight}",
        f"- training: {tr.get('steps', '?')} steps (batch {tr.get('batch_size', '?')}, lr {tr.get('lr', '?')}, EMA "
        f"{tr.get('ema_decay', '?')}{', size-grouped batches' if tr.get('group_by_size') else ''}) in "
        f"{float(tr.get('seconds', 0)) / 60:.1f} min on {tr.get('device', '?')}" + lineage_text(pipe.card),
        f"- sampling: {a.sampler}, {a.steps} steps (time grid (1 - i/n)^{pipe.time_power:g}"
        f"{''.join(f', {k} {v}' for k, v in options.items())}), {nfe} network calls per {what}{f' ({nfe_total} in all over batches)' if nfe_total != nfe else ''}, "
        f"{n} {what}s, seed {a.seed}"
        f"{f', sharded over {a.nproc} processes' if a.nproc > 1 else ''}; "
        f"{seconds:.1f} s = {1000 * seconds / n:.1f} ms per {what}"
        + (" (in size order, batches padded only to similar sizes)" if a.sort_sizes else "") + f"; metrics took {eval_seconds:.0f} s",
    ]
    if molecules:
        lines.append(f"- protocol: {n} samples, node counts from the training set, decoded with "
                     f"`{pipe.card.get('sampling', {}).get('decode', 'gdss')}`; validity w/o correction / all samples; "
                     f"uniqueness / valid; novelty vs {len(ds.smiles('train'))} train SMILES; FCD and NSPDK vs the "
                     f"{len(ds.smiles('test'))} test SMILES")
    if data_ref:
        k = len(data_ref["fcd"])
        lines.append(f"- data reference (what a perfect generator scores with {n} samples): {k} random set(s) of {n} "
                     f"training molecules vs the test set: FCD {mean_sd(data_ref['fcd'], '.3f')}, "
                     f"NSPDK {mean_sd(data_ref['nspdk'], '.5f')}")
    if a.dataset in REFERENCE:
        lines.append(f"- published, for context: {REFERENCE[a.dataset]}")
    if a.nll:
        lines.append(f"- likelihood: negative CTMC ELBO on the first {values['nelbo_test_graphs']} test graphs, "
                     f"8 time samples each: {values['nelbo_test_nats']:.3f} nats per graph (bound on -log p(G | N))")
    if "single_fragment" in values:
        lines.append(f"- single-fragment samples (one connected molecule before the largest fragment is kept): "
                     f"{100 * values['single_fragment']:.1f}%")
    lines += ["", res.to_markdown() if hasattr(res, "to_markdown") else "```\n" + json.dumps(values, indent=1) + "\n```", ""]
    text = "\n".join(lines)
    print(text)
    out = Path(a.out or f"benchmarks/results/discrete_{a.dataset}.md")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n")

    if a.save:
        metrics = {"protocol": "gdss" if molecules else "spectre", "n_samples": n, "steps": a.steps, "sampler": a.sampler,
                   "time_power": pipe.time_power,
                   "seed": a.seed, "nfe": nfe, "nfe_total": nfe_total, "ms_per_sample_cpu": round(1000 * seconds / n, 2), "sort_sizes": bool(a.sort_sizes),
                   "values": {k: round(v, 6) for k, v in values.items()}, "date": _dt.date.today().isoformat()}
        if options:
            metrics["options"] = options
        if data_ref:
            metrics["data_reference"] = {"n": n, **{k: [round(x, 6) for x in v] for k, v in data_ref.items()}}
        sampling = pipe.card.setdefault("sampling", {})
        sampling.update({"steps": a.steps, "sampler": a.sampler})  # the model's defaults = what was measured
        if options:
            sampling["options"] = {**sampling.get("options", {}), a.sampler: options}
        print("saved", pipe.save_pretrained(a.save, metrics=metrics))
    return 0


if __name__ == "__main__":
    sys.exit(main())
