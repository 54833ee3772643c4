"""Steering on top of a conditional model (parts ``steer`` and ``steer-report`` of
``conditional_qm9.py``): predictor guidance of the conditional model's own targets, and best-of-k
selection, on the same targets as the model-alone rows.

``steer`` samples ``--per`` molecules per target at the classifier-free scale ``--scale`` for each
predictor scale of ``--predictor-scales`` (the noisy predictor ``--predictor``, the first-order
rate tilt; 0 = no predictor) and each ``k`` of ``--candidates`` (best-of-k selection, the nearest of
``k`` candidates by RDKit properties; 1 = none), one JSON per row in ``--work``. ``steer-report``
writes their table into the results page between ``<!-- steer:begin -->`` and ``<!-- steer:end -->``
(appended when the markers are missing), leaving the rest of the page as it is; ratios are against
the ``uncond`` part's JSON in the same ``--work``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch
from _common import git_commit, machine_line, utc_now, write_page_block

BEGIN, END = "<!-- steer:begin -->", "<!-- steer:end -->"  # the markers write_page_block(..., "steer") uses

PROPS = ["logp", "qed", "mw"]


def _floats(text: str) -> list[float]:
    return [float(x) for x in str(text).split(",") if x.strip()]


def run_steer(args, targets, score) -> None:
    import graphdiff
    from graphdiff.data import load

    torch.set_num_threads(args.threads)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    train = load(args.dataset).smiles("train")
    _, tv = targets(args.seed, args.targets, args.dataset)
    pipe = graphdiff.load_pretrained(args.model)
    tgt = np.repeat(tv, args.per, axis=0)
    cond = {p: tgt[:, j] for j, p in enumerate(PROPS)}
    scales, ks = _floats(args.predictor_scales), [int(k) for k in _floats(args.candidates)]
    if any(s > 0 for s in scales) and not args.predictor:
        raise SystemExit("--predictor-scales above 0 need --predictor")
    for ps in scales:
        for k in ks:
            kw = {"candidates": k}
            if ps > 0:
                kw.update(predictor=args.predictor, predictor_scale=ps)
            out = pipe.sample(len(tgt), condition=cond, guidance_scale=args.scale, seed=args.seed, progress=True, **kw)
            r = score(out, tgt, train)
            r.update(scale=args.scale, predictor_scale=ps, candidates=k, per=args.per, model=str(args.model),
                     predictor=args.predictor if ps > 0 else None, commit=git_commit(), date=utc_now(),
                     machine=machine_line(args.threads))
            print(f"p={ps:g} k={k}", {key: v for key, v in r.items() if key not in ("achieved", "targets")}, flush=True)
            tag = "" if args.model == "qm9_cond" else f"{_short(args.model)}-"
            (work / f"steer-{tag}w{args.scale:g}-p{ps:g}-k{k}-{len(tgt)}.json").write_text(json.dumps(r))


def _short(model: str) -> str:
    """A model's short name: a bundled name, or the run folder of ``runs/<run>/model``."""
    p = Path(model)
    return p.parent.name if p.name == "model" else p.name


def _predictor_line(folder: str | None) -> str:
    if not folder or not (Path(folder) / "config.json").exists():
        return ""
    cfg = json.loads((Path(folder) / "config.json").read_text()).get("card", {})  # save_weights' wrapper
    card = cfg.get("card", {})
    tr = card.get("training", {})
    vm = tr.get("valid_mae", {})
    mae = "; ".join(f"{p} " + ", ".join(f"{t}: {v:.3g}" for t, v in vm.get(p, {}).items()) for p in PROPS if p in vm)
    return (f"- predictor: `NoisyGraphPredictor` of ({', '.join(PROPS)}) jointly (graph transformer, hidden "
            f"{cfg.get('body', {}).get('hidden')}, depth {cfg.get('body', {}).get('depth')}), trained on the model's own noisy graphs of the training split for "
            f"{tr.get('minutes')} min on one thread ({tr.get('steps')} steps of {tr.get('batch_size')} graphs); held-out MAE "
            f"on graphs noised at {mae} ({tr.get('valid_graphs')} graphs)")


def steer_report(args, targets) -> None:
    work = Path(args.work)
    unc_f = work / "uncond.json"
    if not unc_f.exists():
        raise SystemExit(f"{unc_f} is missing: run --part uncond --work {work} first (the ratios' reference)")
    unc = json.loads(unc_f.read_text())["uncond"]
    rows = [json.loads(f.read_text()) for f in sorted(work.glob("steer-*.json"))]
    if not rows:
        raise SystemExit(f"no steer-*.json in {work}: run --part steer first")
    models = list(dict.fromkeys(r["model"] for r in sorted(rows, key=lambda r: r["model"] != "qm9_cond")))
    rows.sort(key=lambda r: (r["candidates"] > 1, r["n"], models.index(r["model"]), r["candidates"], r["predictor_scale"]))
    folder = next((r["predictor"] for r in rows if r.get("predictor")), None)

    def ratios(r):
        return {p: r["mae"][p] / unc["mae"][p] for p in PROPS}

    def gate(r):
        return all(v <= 0.25 for v in ratios(r).values()) and (r["validity_wo_correction"] or 0) >= 0.97

    def line(r):
        k, ps = r["candidates"], r["predictor_scale"]
        label = f"w = {r['scale']:g}" + (f" + predictor {ps:g}" if ps > 0 else " (model alone)" if k == 1 else "")
        if len(models) > 1:  # several models: name each row's
            label = f"`{_short(r['model'])}` {label}"
        label += f", best-of-{k}" if k > 1 else ""
        rr = ratios(r)
        return (f"| {label} | {r['n']} | {r['calls']} | {r['mae']['logp']:.3f} | {r['mae']['qed']:.4f} | {r['mae']['mw']:.2f} | "
                + " / ".join(f"{rr[p]:.0%}" for p in PROPS) + f" | {r['validity_wo_correction']:.4f} | {r['uniqueness']:.4f} | "
                f"{r['novelty']:.4f} | {'PASS' if gate(r) else 'fail'} |")

    head = ["| row | samples | calls / molecule | MAE logP | MAE QED | MAE MW | ratios logP / QED / MW | validity w/o corr. | "
            "uniqueness | novelty | gate |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    model = [r for r in rows if r["candidates"] == 1]
    sel = [r for r in rows if r["candidates"] > 1]
    commits = sorted({r["commit"] for r in rows})
    lines = ["", "## Steering on top of the model: predictor guidance and best-of-k selection", "",
             f"- date: {utc_now()} (report); rows measured {min(r['date'] for r in rows)} to {max(r['date'] for r in rows)} at "
             f"commit(s) {', '.join(commits)}; machine: {rows[0]['machine']}; load average {os.getloadavg()[0]:.1f} at report "
             "time (2 cores shared with other jobs)",
             f"- model{'s' if len(models) > 1 else ''} {', '.join(f'`{m}`' for m in models)} at classifier-free scale w = {rows[0]['scale']:g}, the same {args.targets} targets (seed "
             f"{args.seed}) as above, card sampler, sizes from p(N | y); ratio = MAE / MAE of the unconditional reference "
             f"(`{args.reference}`, {unc['n']} samples, its card sampler, {unc['calls']} calls, measured with these rows: MAE {unc['mae']['logp']:.3f} / "
             f"{unc['mae']['qed']:.4f} / {unc['mae']['mw']:.2f}); gate = each ratio <= 25% at validity w/o correction >= 97%",
        ]
    pl = _predictor_line(folder)
    if pl:
        lines.append(pl + "; predictor guidance = the first-order rate tilt on top of classifier-free guidance "
                     "(one more call per step: the predictor's forward + backward)")
    lines += [f"- commands: `python benchmarks/conditional_qm9.py --part uncond --work W`; `--part steer --work W --scale "
              f"{rows[0]['scale']:g} --per P --predictor-scales S --candidates K"
              + (" --predictor PRED" if folder else "") + "` (P = 2 or 10 samples per target; S, K as in the rows); "
              "`--part steer-report --work W`", ""]
    if model:
        lines += ["**The model** (alone, and with predictor guidance):", ""] + head + [line(r) for r in model] + [""]
    if sel:
        lines += ["**Best-of-k selection** (not the model: a selection step after it that draws k candidates per "
                  "molecule, computes their properties with RDKit, the very oracle the MAE is scored with, and keeps the "
                  "nearest to the target, valid-without-correction candidates first; samples = molecules returned, k times as "
                  "many drawn; calls per molecule are k times the model's):", ""] + head + [line(r) for r in sel] + [""]
    full = [r for r in rows if r["n"] >= 1000]
    alone = [r for r in full if r["candidates"] == 1 and gate(r)]
    chosen = [r for r in full if r["candidates"] > 1 and gate(r)]
    verdict = ("the model alone (with or without the predictor) " + ("meets" if alone else "does **not** meet")
               + " the gate at 1,000 samples" + (f" ({', '.join(line(r).split(' | ')[0][2:] for r in alone)})" if alone else ""))
    if chosen:
        verdict += "; best-of-k selection meets it at " + ", ".join(
            f"k = {r['candidates']}" + (f" with predictor {r['predictor_scale']:g}" if r["predictor_scale"] else "") for r in chosen)
    elif any(r["candidates"] > 1 for r in full):
        verdict += "; best-of-k selection does not meet it at 1,000 samples either"
    lines += [f"**Gate verdict**: {verdict}.", ""]
    write_page_block(args.out, lines, "steer")
    print("\n".join(lines))
