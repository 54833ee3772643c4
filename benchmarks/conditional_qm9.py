"""Property-targeted generation on QM9 or ZINC250k with classifier-free guidance (the FreeGress protocol).

Protocol (FreeGress, Ninniri et al. 2024; DiGress's conditional QM9 experiments): ``--targets``
molecules drawn (``--seed``) from the ``--dataset``'s test split give the targets (their logP, QED and MW,
RDKit, conditioned on jointly); ``--per`` samples per target. For each sample the absolute error
of each property against its target; MAE over the valid molecules the user gets (decoded, with
valence correction). Beside it: validity without correction, validity, uniqueness, novelty, and
network calls per sample. Reference rows: the unconditional model (``--reference``, no steering:
its samples are scored against the same targets) and an oracle returning the training molecule
nearest to the target (standardised property space). A sweep of the guidance scale ``w`` (0 =
the conditional model's null condition, 1 = conditional, > 1 = guided) gives the MAE-vs-validity
curve (``--plot``). Gate (issue 25, QM9 only): each property's MAE <= 25% of the unconditional MAE
at >= 97% validity without correction. ZINC250k (``--dataset zinc250k``; model default
``runs/zinc_cond/model`` from configs/zinc_cond.yaml, reference ``zinc250k_ctmc``) is reported beside
the published rows (FreeGress's table), not gated.

Parts (run separately, e.g. in parallel, then ``report``): ``main`` (``--scale``, ``--per``
samples per target), ``sweep`` (``--scales``, ``--sweep-per`` samples per target), ``uncond``
(the reference model), ``curve`` (one point of the training curve: ``--model`` at ``--scale`` with
``--per`` samples per target, filed under its fine-tuning steps and minutes read from its card, so
several checkpoints or stages of a model give MAE vs training time), ``report`` (markdown + plot, written between the report markers, the rest of the page kept;
from the parts' JSON in ``--work``). Steering on top of the model at ``--scale``: ``steer`` (one row
per predictor scale of ``--predictor-scales`` with the noisy predictor ``--predictor``, 0 = none,
times each ``k`` of ``--candidates``, best-of-k selection, 1 = none; ``--per`` samples per target)
and ``steer-report`` (its table, written into the page between the steer markers, the rest kept).

    python benchmarks/conditional_qm9.py --part all --model graphdiff/pretrained/qm9_cond
    python benchmarks/conditional_qm9.py --dataset zinc250k --part all --per 5 --sweep-per 2 --scales 0,1,2
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, git_commit, machine_line, utc_now, write_page_block  # noqa: E402

PROPS = ["logp", "qed", "mw"]
# Per dataset: the default conditional model and unconditional reference, whether the issue-25 gate
# applies, and the published rows (MAE logP / QED / MW, as FreeGress, Ninniri et al. 2024, reports them).
PUBLISHED_ZINC = [("DiGress", 0.74, 0.15, 20.92), ("FreeGress", 0.17, 0.04, 8.96), ("GrIDDD", 0.19, 0.04, 4.89)]
DATASETS = {
    "qm9": {"name": "QM9", "model": "qm9_cond", "reference": "qm9_ctmc", "gate": True, "published": []},
    "zinc250k": {"name": "ZINC250k", "model": "runs/zinc_cond/model", "reference": "zinc250k_ctmc", "gate": False,
                 "published": PUBLISHED_ZINC},
}


def targets(seed: int, k: int, dataset: str = "qm9") -> tuple[list[str], np.ndarray]:
    """``k`` test molecules of ``dataset`` drawn with ``seed`` (skipping any RDKit cannot score) and
    their (logP, QED, MW)."""
    from graphdiff.data import load
    from graphdiff.data.properties import compute_properties

    test = load(dataset).smiles("test")
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(test))
    picked, vals = [], []
    for i in order:
        v = compute_properties([test[i]], PROPS)[0]
        if np.isfinite(v).all():
            picked.append(test[i])
            vals.append(v)
        if len(picked) == k:
            break
    return picked, np.asarray(vals)


def score(out, tgt: np.ndarray, train: list[str]) -> dict:
    """MAE per property over valid molecules, and the set metrics."""
    from graphdiff.data.properties import compute_properties
    from graphdiff.metrics.molecules import molecule_metrics

    got = compute_properties(out.molecules, PROPS)
    ok = np.isfinite(got).all(1)
    err = np.abs(got[ok] - tgt[ok])
    n_wo = sum(int(r.valid_without_correction) for r in out.report.results)
    m = molecule_metrics(out.smiles, train, None, metrics=["validity", "uniqueness", "novelty"],
                         num_valid_without_correction=n_wo).values
    return {"mae": {p: float(err[:, j].mean()) for j, p in enumerate(PROPS)}, "n": len(out.smiles), "n_valid": int(ok.sum()),
            "validity_wo_correction": m.get("validity_wo_correction"), "validity": m["validity"],
            "uniqueness": m["uniqueness"], "novelty": m["novelty"], "calls": int(out.nfe_per_graph),
            "seconds": out.seconds, "achieved": got.tolist(), "targets": tgt.tolist()}


def fine_tuning_stages(card: dict, reference: dict | None = None) -> list[dict]:
    """The training stages of a conditional model since its unconditional parent ``reference`` (a card):
    every stage of its card's lineage after the parent's own stages and the parent, plus its own training
    (zinc250k_ctmc was itself trained in seven stages; qm9_ctmc in one)."""
    from graphdiff.pipelines.train import training_lineage

    skip = 1 + len(training_lineage(reference or {}))
    return training_lineage(card)[skip:] + [card.get("training", {})]


def fine_tuning(card: dict, reference: dict | None = None) -> tuple[int, float]:
    """Fine-tuning steps and wall-clock minutes of a conditional model since its unconditional parent."""
    stages = fine_tuning_stages(card, reference)
    return (sum(int(s.get("steps") or 0) for s in stages),
            sum(float(s.get("seconds") or 0) for s in stages) / 60)


def run_part(part: str, args) -> None:
    import graphdiff
    from graphdiff.data import load

    torch.set_num_threads(args.threads)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    train = load(args.dataset).smiles("train")
    _, tv = targets(args.seed, args.targets, args.dataset)
    if part == "uncond":
        pipe = graphdiff.load_pretrained(args.reference)
        tgt = np.repeat(tv, args.per, axis=0)
        out = pipe.sample(len(tgt), seed=args.sample_seed, progress=True)
        res = {"uncond": {**score(out, tgt, train), "load": os.getloadavg()[0]}}
    elif part == "curve":
        pipe = graphdiff.load_pretrained(args.model)
        steps, minutes = fine_tuning(pipe.card, graphdiff.load_pretrained(args.reference).card)
        tgt = np.repeat(tv, args.per, axis=0)
        out = pipe.sample(len(tgt), condition={p: tgt[:, j] for j, p in enumerate(PROPS)}, guidance_scale=args.scale,
                          seed=args.sample_seed, progress=True)
        r = score(out, tgt, train)
        r.update(steps=steps, minutes=minutes, scale=args.scale, model=str(args.model))
        print(steps, {k: v for k, v in r.items() if k not in ("achieved", "targets")}, flush=True)
        (work / f"curve-{steps:06d}-{len(tgt)}.json").write_text(json.dumps(r))
        return
    else:
        pipe = graphdiff.load_pretrained(args.model)
        per = args.per if part == "main" else args.sweep_per
        scales = [args.scale] if part == "main" else [float(s) for s in args.scales.split(",")]
        tgt = np.repeat(tv, per, axis=0)
        res = {}
        for w in scales:
            out = pipe.sample(len(tgt), condition={p: tgt[:, j] for j, p in enumerate(PROPS)}, guidance_scale=w,
                              seed=args.sample_seed, progress=True)
            res[f"w={w:g}"] = {**score(out, tgt, train), "load": os.getloadavg()[0]}
            print(w, {k: v for k, v in res[f"w={w:g}"].items() if k not in ("achieved", "targets")}, flush=True)
    (work / f"{part}.json").write_text(json.dumps(res))


def oracle(tv: np.ndarray, train_props: np.ndarray) -> dict:
    ok = np.isfinite(train_props).all(1)
    tp = train_props[ok]
    mu, sd = tp.mean(0), tp.std(0)
    z = (tp - mu) / sd
    errs = []
    for t in tv:
        i = int(np.argmin((((t - mu) / sd - z) ** 2).sum(1)))
        errs.append(np.abs(tp[i] - t))
    e = np.asarray(errs)
    return {p: float(e[:, j].mean()) for j, p in enumerate(PROPS)}


def report(args) -> None:
    import graphdiff
    work = Path(args.work)
    ds = DATASETS[args.dataset]
    rows = {}
    for part in ("uncond", "main", "sweep"):
        f = work / f"{part}.json"
        if f.exists():
            rows.update({(part, k): v for k, v in json.loads(f.read_text()).items()})
    _, tv = targets(args.seed, args.targets, args.dataset)
    if args.train_props and Path(args.train_props).exists():
        orc = oracle(tv, np.load(args.train_props))
    else:
        from graphdiff.data import load
        from graphdiff.data.properties import compute_properties

        orc = oracle(tv, compute_properties(load(args.dataset).smiles("train"), PROPS, progress=True))
    unc = rows.get(("uncond", "uncond"))
    card = graphdiff.load_pretrained(args.model).card
    ref_card = graphdiff.load_pretrained(args.reference).card
    steps, minutes = fine_tuning(card, ref_card)
    stages = len(fine_tuning_stages(card, ref_card))

    def fmt(v, f=".4f"):
        return "-" if v is None else format(v, f)

    lines = [
        f"# Property-targeted generation on {ds['name']} (classifier-free guidance, FreeGress protocol)",
        "",
        f"- date: {utc_now()}; commit {git_commit()}; machine: {machine_line(args.threads)}; load average "
        f"{os.getloadavg()[0]:.1f} at report time (2 cores shared with other jobs: timings are not comparable)",
        f"- model: `{args.model}` (conditional CTMC, {steps} fine-tuning steps in {stages} stage(s), {minutes:.0f} min "
        f"on CPU, from `{args.reference}`; condition {', '.join(PROPS)} jointly); reference: `{args.reference}`",
        args.commands or (f"- command: `python benchmarks/conditional_qm9.py --dataset {args.dataset} --part all --model {args.model} --targets "
                          f"{args.targets} --per {args.per} --scale {args.scale:g} --scales {args.scales} --sweep-per "
                          f"{args.sweep_per} --seed {args.seed}`"),
        f"- protocol: {args.targets} targets = the (logP, QED, MW) of test molecules drawn with seed {args.seed}; "
        f"main rows {args.per} samples per target, sweep rows {args.sweep_per}; card sampler "
        f"({card.get('sampling', {}).get('sampler')}, {card.get('sampling', {}).get('steps')} steps, "
        f"{card.get('sampling', {}).get('options', {})}); sizes from p(N | y) (card); MAE over valid molecules "
        f"(after valence correction); oracle = nearest training molecule in standardised (logP, QED, MW)",
        "- timings (wall clock, 1 torch thread; load average at the part's end): " + (", ".join(
            f"{part}{'' if key == part else ' ' + key} {r['seconds']:.0f} s" + (f" (load {r['load']:.1f})" if "load" in r else "")
            for (part, key), r in sorted(rows.items())) or "-"),
        "",
        "| row | samples | calls / sample | MAE logP | MAE QED | MAE MW | validity w/o corr. | validity | uniqueness | novelty |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    if unc:
        lines.append(f"| unconditional `{args.reference}` | {unc['n']} | {unc['calls']} | {unc['mae']['logp']:.3f} | "
                     f"{unc['mae']['qed']:.4f} | {unc['mae']['mw']:.2f} | {fmt(unc['validity_wo_correction'])} | "
                     f"{unc['validity']:.4f} | {unc['uniqueness']:.4f} | {unc['novelty']:.4f} |")
    lines.append(f"| oracle (nearest training molecule) | {args.targets} | - | {orc['logp']:.3f} | {orc['qed']:.4f} | {orc['mw']:.2f} | - | - | - | - |")
    for name, *mae in ds["published"]:
        lines.append(f"| published: {name} | - | - | {mae[0]:.2f} | {mae[1]:.2f} | {mae[2]:.2f} | - | - | - | - |")
    sweep = []
    for (part, key), r in sorted(rows.items(), key=lambda kv: (kv[0][0] != "main", float(kv[0][1][2:]) if kv[0][1].startswith("w=") else -1)):
        if part == "uncond":
            continue
        label = f"conditional, {key}" + (" (main)" if part == "main" else " (sweep)")
        lines.append(f"| {label} | {r['n']} | {r['calls']} | {r['mae']['logp']:.3f} | {r['mae']['qed']:.4f} | "
                     f"{r['mae']['mw']:.2f} | {fmt(r['validity_wo_correction'])} | {r['validity']:.4f} | "
                     f"{r['uniqueness']:.4f} | {r['novelty']:.4f} |")
        sweep.append((part, float(key[2:]), r))
    if ds["published"]:
        lines += ["", "Published rows: FreeGress's table (their models trained on GPUs; FreeGress's validity 0.81-0.87 "
                  "there); the other columns are not given in the same form, so they are left blank.", ""]
    else:
        lines += ["", "Published (ZINC250k, not QM9; FreeGress's table): MAE logP / QED / MW " + ", ".join(
                  f"{n} {a} / {b} / {c}" for n, a, b, c in PUBLISHED_ZINC) + ". No QM9 row with these three properties "
                  "is published, so the unconditional and oracle rows are the anchors here.", ""]
    main = [r for p, w, r in sweep if p == "main"] or [r for p, w, r in sweep if p == "sweep" and w == args.scale]
    if ds["gate"] and unc and main:
        r = main[0]
        ratios = {p: r["mae"][p] / unc["mae"][p] for p in PROPS}
        ok = all(v <= 0.25 for v in ratios.values()) and (r["validity_wo_correction"] or 0) >= 0.97
        lines += [f"**Gate** (each MAE <= 25% of the unconditional MAE at >= 97% validity without correction), row "
                  f"w = {args.scale:g} ({r['n']} samples): MAE ratios " + ", ".join(f"{p} {v:.0%}" for p, v in ratios.items())
                  + f", validity w/o correction {r['validity_wo_correction']:.2%}: **{'PASS' if ok else 'FAIL'}**.", ""]
    curve = [json.loads(f.read_text()) for f in work.glob("curve-*.json")]
    if curve:  # the reported model's own rows at the curve's scale are its last points
        have = {(r["n"], r["steps"]) for r in curve}
        for part in ("main", "sweep"):
            r = rows.get((part, f"w={curve[0]['scale']:g}"))
            if r and (r["n"], steps) not in have:
                curve.append({**r, "steps": steps, "minutes": minutes, "scale": curve[0]["scale"]})
    curve.sort(key=lambda r: (r["n"], r["steps"]))
    if curve and unc:
        lines += ["Training curve: the same targets at w = " + ", ".join(sorted({f"{r['scale']:g}" for r in curve}))
                  + " after each amount of fine-tuning (wall-clock minutes on the shared CPU, summed over the stages "
                  "since `qm9_ctmc`); ratio = MAE / unconditional MAE.", "",
                  "| fine-tuning steps | minutes | samples | MAE logP | MAE QED | MAE MW | ratios logP / QED / MW | "
                  "validity w/o corr. |", "|---|---|---|---|---|---|---|---|"]
        for r in curve:
            ratios = " / ".join(f"{r['mae'][p] / unc['mae'][p]:.0%}" for p in PROPS)
            lines.append(f"| {r['steps']} | {r['minutes']:.0f} | {r['n']} | {r['mae']['logp']:.3f} | {r['mae']['qed']:.4f} | "
                         f"{r['mae']['mw']:.2f} | {ratios} | {fmt(r['validity_wo_correction'])} |")
        lines.append("")
    if args.plot and sweep and unc:
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(1, 3 if curve else 2, figsize=(13.5 if curve else 9, 3.6))
        for p, c in zip(PROPS, ("C0", "C1", "C2")):
            pts = sorted((w, r["mae"][p] / unc["mae"][p], r["validity_wo_correction"]) for part, w, r in sweep if part == "sweep")
            ax[0].plot([q[0] for q in pts], [q[1] for q in pts], "o-", color=c, label=p)
            ax[1].plot([q[2] for q in pts], [q[1] for q in pts], "o-", color=c, label=p)
            for w, y, x in pts:
                ax[1].annotate(f"w={w:g}", (x, y), fontsize=7)
        ax[0].axhline(0.25, ls="--", c="k", lw=0.8)
        ax[1].axhline(0.25, ls="--", c="k", lw=0.8)
        ax[1].axvline(0.97, ls=":", c="k", lw=0.8)
        ax[0].set(xlabel="guidance scale w", ylabel="MAE / unconditional MAE", title="targeting vs w")
        ax[1].set(xlabel="validity without correction", ylabel="MAE / unconditional MAE", title="MAE vs validity")
        ax[0].legend()
        if curve:  # MAE vs fine-tuning time, one line per sample count
            for p, c in zip(PROPS, ("C0", "C1", "C2")):
                for n, style in ((min(r["n"] for r in curve), "o-"), (max(r["n"] for r in curve), "s--")):
                    pts = [(r["minutes"], r["mae"][p] / unc["mae"][p]) for r in curve if r["n"] == n]
                    ax[2].plot([q[0] for q in pts], [q[1] for q in pts], style, color=c, label=f"{p}, {n} samples")
            ax[2].axhline(0.25, ls="--", c="k", lw=0.8)
            ax[2].set(xlabel="fine-tuning minutes (shared CPU)", ylabel="MAE / unconditional MAE",
                      title=f"training curve (w = {curve[0]['scale']:g})")
            ax[2].legend(fontsize=7)
        fig.tight_layout()
        png = Path(args.out).with_suffix(".png")
        fig.savefig(png, dpi=110)
        lines += [f"![MAE vs guidance scale and validity]({png.name})", ""]
    write_page_block(args.out, lines, "report")  # hand-written sections outside the markers are kept
    print("\n".join(lines))


def resolve(args: argparse.Namespace) -> argparse.Namespace:
    """Fill the dataset-dependent defaults (model, reference, work folder, results page) left unset."""
    ds = DATASETS[args.dataset]
    args.model = args.model or ds["model"]
    args.reference = args.reference or ds["reference"]
    args.work = args.work or f"/tmp/graphdiff_conditional_{args.dataset}"
    args.sample_seed = args.seed if getattr(args, "sample_seed", None) is None else args.sample_seed
    args.out = args.out or str(ROOT / "benchmarks" / "results" / f"conditional_{args.dataset}.md")
    return args


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--part", default="all", choices=["main", "sweep", "uncond", "curve", "report", "all", "steer", "steer-report"])
    p.add_argument("--dataset", default="qm9", choices=sorted(DATASETS))
    p.add_argument("--model", default=None, help="default: the dataset's (qm9_cond; runs/zinc_cond/model)")
    p.add_argument("--reference", default=None, help="default: the dataset's unconditional model")
    p.add_argument("--targets", type=int, default=100)
    p.add_argument("--per", type=int, default=10)
    p.add_argument("--scale", type=float, default=2.0)
    p.add_argument("--scales", default="0,1,2,3,5")
    p.add_argument("--sweep-per", type=int, default=10)
    p.add_argument("--seed", type=int, default=0, help="draws the targets (and the samples, unless --sample-seed)")
    p.add_argument("--sample-seed", type=int, default=None,
                   help="the sampling seed alone (default: --seed), for more draws on the same targets")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--work", default=None, help="default: /tmp/graphdiff_conditional_<dataset>")
    p.add_argument("--train-props", default=None, help=".npy cache of the training set's (logP, QED, MW) for the oracle")
    p.add_argument("--plot", action="store_true")
    p.add_argument("--commands", default=None, help="report: the commands line, when the parts were run separately")
    p.add_argument("--out", default=None, help="default: benchmarks/results/conditional_<dataset>.md")
    p.add_argument("--predictor", default=None, help="steer: folder of a NoisyGraphPredictor of the model's noisy graphs")
    p.add_argument("--predictor-scales", default="0", help="steer: predictor guidance scales (0 = no predictor)")
    p.add_argument("--candidates", default="1", help="steer: best-of-k candidates per molecule (1 = the model alone)")
    args = resolve(p.parse_args())
    if args.part in ("steer", "steer-report"):
        from conditional_steer import run_steer, steer_report

        return run_steer(args, targets, score) if args.part == "steer" else steer_report(args, targets)
    if args.part == "all":
        for part in ("uncond", "main", "sweep"):
            run_part(part, args)
        report(args)
    elif args.part == "report":
        report(args)
    else:
        run_part(args.part, args)


if __name__ == "__main__":
    main()
