"""Conditioning on QED's integer descriptors (issue 25): does giving the model the target's structural-alert,
H-bond-donor and rotatable-bond counts (``alerts``, ``hbd``, ``rotb``, graphdiff.data.properties, counted as
``rdkit.Chem.QED.properties`` counts them) besides (logP, QED, MW) let it hit QED more closely?

Protocol: benchmarks/conditional_qm9.py's (100 targets = test molecules drawn with ``--seed``, ``--per`` samples per
target, the card sampler, ``w`` = ``--scale``, MAE over valid molecules). Rows (``--row``):

* ``base``: a model conditioned on (logP, QED, MW) only (``--model``, e.g. ``qm9_cond``), given those;
* ``absent``: the descriptor model given (logP, QED, MW) only (the descriptors absent);
* ``imputed``: the descriptor model given (logP, QED, MW) and, per sample, the (alerts, hbd, rotb) of one of the
  ``--k`` training molecules nearest to the target in standardised (logP, QED, MW) (training mean / std),
  drawn uniformly per sample (``--seed``); training molecules whose canonical SMILES is the target's are left
  out (QM9's test molecules are not in its training split, but a duplicate would leak the answer);
* ``oracle``: the descriptor model given the target molecule's own descriptors (an upper bound, not something a
  user can ask for).

Sizes: ``p(N | y)`` refitted on the training set for the descriptor model (``--refit-sizes``, default on): the
card's tally from training bins six continuous entries into 2 quantile bins each (``max_cells``), far coarser in
(logP, QED, MW) than the 8 bins of the three-entry model; the refit keeps 8 bins for (logP, QED, MW) and
treats the integer descriptors as their own bins (labels), so with the descriptors absent it is exactly the
three-entry tally. Each row's JSON keeps per-sample achieved properties, so ``report`` gives match rates
(achieved descriptor = the target molecule's; = the requested one) and a paired bootstrap over the targets.

    python benchmarks/conditional_descriptors.py --row base --model qm9_cond --work W
    python benchmarks/conditional_descriptors.py --row imputed --model runs/qm9_cond_descriptors/model --work W
    python benchmarks/conditional_descriptors.py --part report --work W
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, git_commit, machine_line, utc_now, write_page_block  # noqa: E402
from conditional_qm9 import PROPS, score, targets  # noqa: E402

DESC = ["alerts", "hbd", "rotb"]
ALL = PROPS + DESC
ROWS = ("base", "absent", "imputed", "oracle")
UNCOND = {"logp": 1.103, "qed": 0.0782, "mw": 6.75}  # qm9_ctmc, this page's unconditional reference


def training_table(dataset: str = "qm9") -> tuple[list[str], np.ndarray]:
    """Training SMILES and their (logP, QED, MW, alerts, hbd, rotb), through the property cache (the training run
    of the descriptor stage computes the same table, so this is a cache hit after it)."""
    from graphdiff.data import load
    from graphdiff.data.properties import cached_properties

    train = load(dataset).smiles("train")
    return train, cached_properties(train, ALL, progress=True)


def nearest(tv: np.ndarray, tsmiles: list[str], train: list[str], tp: np.ndarray, k: int) -> tuple[np.ndarray, int]:
    """Indices ``(len(tv), k)`` of the ``k`` training rows nearest to each target in standardised (logP, QED, MW),
    leaving out rows whose canonical SMILES is the target's; and how many such duplicates were left out."""
    from graphdiff.data.molecules import canonical_smiles

    ok = np.isfinite(tp).all(1)
    mu, sd = tp[ok, :3].mean(0), tp[ok, :3].std(0)
    z = (tp[:, :3] - mu) / sd
    z[~ok] = np.inf
    out, dropped = [], 0
    for t, s in zip(tv, tsmiles):
        d = (((t - mu) / sd - z) ** 2).sum(1)
        order = np.argsort(d)[: k + 20]
        cs = canonical_smiles(s)
        keep = []
        for i in order:
            if canonical_smiles(train[i]) == cs:
                dropped += 1
                continue
            keep.append(int(i))
            if len(keep) == k:
                break
        out.append(keep)
    return np.asarray(out), dropped


def refit_sizes(train: list[str], tp: np.ndarray) -> dict:
    """``p(N | logP, QED, MW, alerts, hbd, rotb)`` (ConditionalNodeCounts): 8 quantile bins per continuous
    entry as the three-entry model's tally, each descriptor value its own bin (clipped to the training max)."""
    from graphdiff.guidance import ConditionalNodeCounts
    from rdkit import Chem, rdBase

    with rdBase.BlockLogs():
        sizes = np.array([Chem.MolFromSmiles(s).GetNumAtoms() for s in train])
    classes = [0, 0, 0] + [int(np.nanmax(tp[:, j])) + 1 for j in range(3, 6)]
    return ConditionalNodeCounts.fit(tp, sizes, labels=classes, max_cells=8 ** 3 * int(np.prod(classes[3:]))).to_dict()


def run_row(args) -> None:
    import graphdiff
    from graphdiff.data.properties import compute_properties

    torch.set_num_threads(args.threads)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    tsmiles, tv = targets(args.seed, args.targets)
    train, tp = training_table()
    tdesc = compute_properties(tsmiles, DESC)
    pipe = graphdiff.load_pretrained(args.model)
    tgt = np.repeat(tv, args.per, axis=0)
    cond = {p: tgt[:, j] for j, p in enumerate(PROPS)}
    req = np.full((len(tgt), 3), np.nan)
    info: dict = {}
    if args.row in ("imputed", "oracle"):
        if args.row == "oracle":
            req = np.repeat(tdesc, args.per, axis=0)
        else:
            nn_idx, dropped = nearest(tv, tsmiles, train, tp, args.k)
            rng = np.random.default_rng(args.seed)
            pick = nn_idx[np.repeat(np.arange(len(tv)), args.per), rng.integers(0, args.k, len(tgt))]
            req = tp[pick, 3:]
            info = {"k": args.k, "duplicates_left_out": dropped,
                    "imputed_match": {d: float((req[:, j] == np.repeat(tdesc, args.per, 0)[:, j]).mean())
                                      for j, d in enumerate(DESC)}}
        cond.update({d: req[:, j] for j, d in enumerate(DESC)})
    num_nodes = None
    if args.row != "base" and args.refit_sizes:
        t0 = time.perf_counter()
        counts = refit_sizes(train, tp)
        pipe.card["condition"]["node_counts"] = counts
        info["refit_seconds"] = time.perf_counter() - t0
        if args.sizes == "three":  # p(N | logP, QED, MW): the descriptors left out of the size draw
            from graphdiff.guidance import ConditionalNodeCounts

            raw = np.concatenate([tgt, np.full((len(tgt), 3), np.nan)], axis=1)
            p = ConditionalNodeCounts.from_dict(counts).probs(raw).float()[:, : pipe.node_counts.max_nodes + 1]
            # the draw sample_guided makes for the base row (same generator, same law): the same sizes
            num_nodes = torch.multinomial(p, 1, generator=torch.Generator().manual_seed(args.seed)).reshape(-1)
            info["sizes"] = "p(N | logP, QED, MW)"
    t0 = time.perf_counter()
    out = pipe.sample(len(tgt), condition=cond, guidance_scale=args.scale, seed=args.seed, progress=True,
                      num_nodes=num_nodes)
    r = score(out, tgt, train)
    r.update(row=args.row, model=str(args.model), scale=args.scale, seed=args.seed, per=args.per, commit=git_commit(),
             date=utc_now(), load=os.getloadavg()[0], wall=time.perf_counter() - t0, info=info,
             achieved_desc=compute_properties(out.molecules, DESC).tolist(), target_desc=np.repeat(tdesc, args.per, 0).tolist(),
             requested_desc=req.tolist(), smiles=list(out.smiles))
    print(args.row, {k: v for k, v in r.items() if k not in ("achieved", "targets", "achieved_desc", "target_desc",
                                                             "requested_desc", "smiles")}, flush=True)
    (work / f"{args.name or args.row}.json").write_text(json.dumps(r))


def bootstrap(a: dict, b: dict, per: int, draws: int = 2000, seed: int = 0) -> list[tuple[float, float, float]]:
    """Paired difference ``a - b`` of the MAEs over the same targets: (estimate, 2.5%, 97.5%) per property,
    resampling the targets (a sample-weighted mean, as the MAE over valid molecules)."""
    ea = np.abs(np.asarray(a["achieved"], float) - np.asarray(a["targets"], float)).reshape(-1, per, 3)
    eb = np.abs(np.asarray(b["achieved"], float) - np.asarray(b["targets"], float)).reshape(-1, per, 3)
    na, nb = np.isfinite(ea).sum(1), np.isfinite(eb).sum(1)
    sa, sb = np.nansum(ea, 1), np.nansum(eb, 1)
    rng = np.random.default_rng(seed)
    T = ea.shape[0]
    idx = rng.integers(0, T, (draws, T))
    diff = sa[idx].sum(1) / na[idx].sum(1) - sb[idx].sum(1) / nb[idx].sum(1)
    est = sa.sum(0) / na.sum(0) - sb.sum(0) / nb.sum(0)
    lo, hi = np.percentile(diff, [2.5, 97.5], axis=0)
    return [(float(est[j]), float(lo[j]), float(hi[j])) for j in range(3)]


def match_rates(r: dict, against: str) -> dict[str, float]:
    """Share of valid samples whose achieved descriptor equals the ``against`` one (target_desc / requested_desc)."""
    got, want = np.asarray(r["achieved_desc"], float), np.asarray(r[against], float)
    ok = np.isfinite(got).all(1) & np.isfinite(want).all(1)
    if not ok.any():
        return {}
    eq = got[ok] == want[ok]
    return {**{d: float(eq[:, j].mean()) for j, d in enumerate(DESC)}, "all three": float(eq.all(1).mean())}


LABELS = {"base": "`qm9_cond` (bundled; logP, QED, MW)", "absent": "descriptor model, descriptors absent (a)",
          "imputed": "descriptor model, descriptors imputed from k = 10 nearest training molecules (b)",
          "oracle": "descriptor model, the target's own descriptors (c; upper bound, not user-facing)",
          "absent-n3": "(a), sizes drawn as in the `qm9_cond` row (p(N) given logP, QED, MW)",
          "imputed-n3": "(b), sizes drawn as in the `qm9_cond` row (p(N) given logP, QED, MW)",
          "oracle-n3": "(c), sizes drawn as in the `qm9_cond` row (p(N) given logP, QED, MW)"}


def label(k: str) -> str:
    """A row's label; ``<row>-more``: the same row of the model trained on further (the continuation)."""
    if k.endswith("-more") and k[: -len("-more")] in LABELS:
        return LABELS[k[: -len("-more")]] + ", after the continuation"
    return LABELS.get(k, k)


def report(args) -> None:
    work = Path(args.work)
    rows = {p.stem: json.loads(p.read_text()) for p in sorted(work.glob("*.json"))}
    known = [*ROWS, "absent-n3", "imputed-n3", "oracle-n3", "absent-n3-more", "imputed-n3-more", "oracle-n3-more"]
    order = [k for k in known if k in rows] + sorted(k for k in rows if k not in known)
    lines = [
        "| row | samples | MAE logP | MAE QED | MAE MW | ratios logP / QED / MW | validity w/o corr. | uniqueness | "
        "novelty | alerts / HBD / ROTB = target's | all three | = requested | gate |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for k in order:
        r = rows[k]
        m = r["mae"]
        ratios = {p: m[p] / UNCOND[p] for p in PROPS}
        gate = all(v <= 0.25 for v in ratios.values()) and (r["validity_wo_correction"] or 0) >= 0.97
        mt = match_rates(r, "target_desc")
        mr = match_rates(r, "requested_desc")
        lines.append(
            f"| {label(k)} | {r['n']} | {m['logp']:.3f} | {m['qed']:.4f} | {m['mw']:.2f} | "
            + " / ".join(f"{v:.0%}" for v in ratios.values())
            + f" | {r['validity_wo_correction']:.4f} | {r['uniqueness']:.4f} | {r['novelty']:.4f} | "
            + " / ".join(f"{mt[d]:.1%}" for d in DESC) + f" | {mt['all three']:.1%} | "
            + (" / ".join(f"{mr[d]:.1%}" for d in DESC) if mr else "-") + f" | {'pass' if gate else 'fail'} |")
    lines.append("")
    per = args.per
    pairs = [(a, b) for a, b in (("imputed", "base"), ("imputed-n3", "base"), ("absent", "base"), ("oracle", "base"),
                                 ("oracle-n3", "base"), ("imputed", "absent"), ("imputed-n3", "absent-n3"),
                                 ("imputed-n3-more", "base"), ("oracle-n3-more", "base"),
                                 ("imputed-n3-more", "imputed-n3"))
             if a in rows and b in rows]
    if pairs:
        lines += ["Paired differences on the same 100 targets (MAE of the first row minus the second; 95% interval of a "
                  "bootstrap that resamples the targets, 2,000 draws):", ""]
        for a, b in pairs:
            bs = bootstrap(rows[a], rows[b], per)
            lines.append(f"- {a} - {b}: " + ", ".join(
                f"{p} {e:+.3f} [{lo:+.3f}, {hi:+.3f}]" if p != "qed" else f"{p} {e:+.4f} [{lo:+.4f}, {hi:+.4f}]"
                for p, (e, lo, hi) in zip(PROPS, bs)))
        lines.append("")
    lines += ["QED MAE split by whether the achieved descriptors equal the target molecule's (share of samples, MAE "
              "where they match, MAE where they do not):", "",
              "| row | alerts = target's | QED MAE if so / if not | all three = target's | QED MAE if so / if not |",
              "|---|---|---|---|---|"]
    for k in order:
        r = rows[k]
        e = np.abs(np.asarray(r["achieved"], float) - np.asarray(r["targets"], float))[:, 1]
        eq = np.asarray(r["achieved_desc"], float) == np.asarray(r["target_desc"], float)
        ok = np.isfinite(e)
        cells = []
        for m in (eq[:, 0] & ok, eq.all(1) & ok):
            cells += [f"{m.sum() / ok.sum():.1%}", f"{e[m].mean():.4f} / {e[ok & ~m].mean():.4f}"]
        lines.append(f"| {label(k)} | " + " | ".join(cells) + " |")
    lines.append("")
    info = rows.get("imputed", {}).get("info") or {}
    if info:
        lines += [f"Imputation: k = {info['k']} nearest training molecules, {info['duplicates_left_out']} exact "
                  "duplicates of a target's canonical SMILES left out; share of samples whose imputed descriptor equals "
                  "the target molecule's: " + ", ".join(f"{d} {v:.1%}" for d, v in info["imputed_match"].items()) + ".", ""]
    lines.append("- rows: " + "; ".join(f"{k} at commit {rows[k]['commit']} {rows[k]['date']}, {rows[k]['wall']:.0f} s, "
                                         f"load {rows[k]['load']:.1f}, model `{rows[k]['model']}`" for k in order))
    lines.append(f"- machine: {machine_line(args.threads)}")
    write_page_block(args.out, lines, "descriptors")
    print("\n".join(lines))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--part", default="row", choices=["row", "report"])
    p.add_argument("--row", default="imputed", choices=ROWS)
    p.add_argument("--name", default=None, help="the row's JSON name in --work (default: the row)")
    p.add_argument("--model", default="qm9_cond")
    p.add_argument("--targets", type=int, default=100)
    p.add_argument("--per", type=int, default=10)
    p.add_argument("--scale", type=float, default=1.0)
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--no-refit-sizes", dest="refit_sizes", action="store_false")
    p.add_argument("--sizes", default="all", choices=["all", "three"],
                   help="p(N | every given entry) (default) or p(N | logP, QED, MW) only, the base row's draw")
    p.add_argument("--work", default="/tmp/graphdiff_conditional_descriptors")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "conditional_qm9.md"))
    args = p.parse_args()
    run_row(args) if args.part == "row" else report(args)


if __name__ == "__main__":
    main()
