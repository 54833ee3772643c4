"""Sampling rows beside SGMSE+'s PC sampler for the speech benchmark (benchmarks/speech_enhancement.py):
StoRM-style stochastic regeneration and Monte-Carlo means of samples, same network and data.

    python benchmarks/speech_sampling.py select --data DATA --run RUN/final --start 16 --n 8
    python benchmarks/speech_sampling.py test --data DATA --run RUN/final --n 16 --t-start S --corrector ald

Regeneration (``SpeechEnhancer.enhance(start="regenerate", t_start=s)``): the network's one-call
posterior mean at ``T`` (the predictive stage) is noised with the OU-VE marginal to ``s`` and the
reverse sampler runs from ``s`` to ``eps`` with the step size of the 30-step grid
(``round(30 (s - eps) / (T - eps))`` steps): ``1 + 2 steps`` calls with the ALD corrector (snr
0.5), ``1 + steps`` without. Every result is still a random conditional sample.

``select`` runs each candidate ``s`` in ``--t-starts`` with and without the corrector on
held-out test utterances ``--start`` .. ``--start + --n - 1`` (16-23, not the 16 of the results
table), ``--draws`` samples per utterance, and picks the candidate with the highest mean PESQ
(the gate's metric against the Wiener filter; ties to fewer calls). ``test`` then scores, once, on
the table's utterances: the one-call posterior mean, ``--k`` PC samples (30 steps, 60 calls each)
and ``--k`` regenerated samples at the chosen setting; for each sampler its first draw (one
sample per utterance, as the gate row), the metric averaged over the ``k`` draws, and the mean of
the ``k`` samples in the state domain (a Monte-Carlo posterior mean: ``k`` times the calls, not a
sample). Results: speech_enhancement_regen_select.md and speech_enhancement_sampling.md.
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
from _common import cpu_name, git_commit, utc_now  # noqa: E402
from speech_enhancement import _fmt, _gate, _metrics, load_split  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
METRICS = ("pesq", "estoi", "si_sdr")


def regen_steps(sde, t_start: float, grid: int = 30) -> int:
    """Steps from ``t_start`` to ``eps`` at the step size of a ``grid``-step run from ``T``."""
    return max(1, round(grid * (t_start - sde.eps) / (sde.T - sde.eps)))


def calls(steps: int, corrector: str | None, regenerate: bool) -> int:
    return int(regenerate) + steps * (2 if corrector else 1)


def _row(name: str, per_utt: list[np.ndarray]) -> dict:
    """``per_utt``: one (pesq, estoi, si_sdr) vector per utterance (a draw-average where so named)."""
    v = np.array(per_utt)
    return {"system": name, "n": len(v), **{m: v[:, i] for i, m in enumerate(METRICS)}}


def _header(title: str, args: argparse.Namespace, cmd: str, lo: int, n: int, kinds: np.ndarray, card: dict) -> list[str]:
    kinds_txt = ", ".join(f"{t} {int((kinds == t).sum())}" for t in np.unique(kinds))
    return [
        f"# {title}", "",
        f"- date: {utc_now()}; commit: {git_commit()}; machine: {cpu_name('cpu')}, {os.cpu_count()} cores shared with other jobs "
        f"(load average {os.getloadavg()[0]:.1f} at the end); torch threads {torch.get_num_threads()}",
        f"- command: `python benchmarks/speech_sampling.py {cmd}` (DATA from `benchmarks/speech_data.py --train 600 --test 40`, "
        f"seed 0; RUN/final the {card.get('train_minutes')}-min {card.get('parametrization')} checkpoint of speech_enhancement.md)",
        f"- utterances: test {lo}-{lo + n - 1} ({kinds_txt} noise); PESQ wb, ESTOI, SI-SDR (dB), mean ± standard error over "
        f"utterances; sampling seed {args.seed}, one generator in utterance order",
    ]


def cmd_select(args: argparse.Namespace) -> int:
    from graphdiff.examples.speech import SpeechEnhancer, wiener_filter

    clean, noisy, _, kinds = load_split(args.data, "test")
    lo, n = args.start, min(args.n, len(clean) - args.start)
    clean, noisy, kinds = clean[lo: lo + n], noisy[lo: lo + n], kinds[lo: lo + n]
    enh = SpeechEnhancer.load(args.run)
    card = json.loads((args.run / "config.json").read_text())["card"]
    gen, t0 = torch.Generator().manual_seed(args.seed), time.time()
    cands = [(float(s), c) for s in args.t_starts.split(",") for c in ("ald", None)]
    per = {c: [] for c in cands}
    for y, x in zip(noisy, clean):
        for s, c in cands:
            k = regen_steps(enh.sde, s)
            outs = [enh.enhance(y, steps=k, corrector=c, start="regenerate", t_start=s, generator=gen) for _ in range(args.draws)]
            per[(s, c)].append(np.mean([_metrics(o, x) for o in outs], 0))
        print(f"utterance done ({time.time() - t0:.0f} s)", flush=True)
    ref = [_row("noisy input", [_metrics(y, x) for y, x in zip(noisy, clean)]),
           _row("Wiener filter", [_metrics(wiener_filter(y[None])[0], x) for y, x in zip(noisy, clean)]),
           _row("posterior mean at T (1 call; point estimate)", [_metrics(enh.posterior_mean(y), x) for y, x in zip(noisy, clean)])]
    rows = []
    for s, c in cands:
        k = regen_steps(enh.sde, s)
        rows.append(_row(f"regenerated sample, t_start {s:g}, {k} steps, {'ALD corrector' if c else 'no corrector'} "
                         f"({calls(k, c, True)} calls; metric averaged over {args.draws} draws)", per[(s, c)]))
        rows[-1]["key"] = (s, c, calls(k, c, True))
    best = max(rows, key=lambda r: (round(float(r["pesq"].mean()), 3), -r["key"][2]))
    s, c, nc = best["key"]
    lines = _header("Speech enhancement: choosing the regeneration start time on held-out utterances", args,
                    f"select --data DATA --run RUN/final --start {lo} --n {n} --t-starts {args.t_starts} --draws {args.draws}",
                    lo, n, kinds, card)
    lines += [
        "- protocol: candidates t_start x {ALD corrector (snr 0.5), none}, steps at the 30-step grid's step size; the "
        "choice is the highest mean PESQ (ties to fewer calls), fixed before the test utterances 0-15 are run",
        "", "| system | n | PESQ | ESTOI | SI-SDR (dB) |", "|---|---|---|---|---|", *[_fmt(r) for r in ref + rows], "",
        f"Chosen: t_start {s:g}, {'ALD corrector' if c else 'no corrector'} ({nc} calls). Wall time {time.time() - t0:.0f} s.", "",
    ]
    text = "\n".join(lines)
    Path(args.results).write_text(text)
    print(text)
    return 0


def cmd_test(args: argparse.Namespace) -> int:
    from graphdiff.examples.speech import SpeechEnhancer, wiener_filter

    clean, noisy, _, kinds = load_split(args.data, "test")
    lo, n = args.start, min(args.n, len(clean) - args.start)
    clean, noisy, kinds = clean[lo: lo + n], noisy[lo: lo + n], kinds[lo: lo + n]
    enh = SpeechEnhancer.load(args.run)
    card = json.loads((args.run / "config.json").read_text())["card"]
    corr = None if args.corrector == "none" else args.corrector
    k_rg = regen_steps(enh.sde, args.t_start)
    gen, t0 = torch.Generator().manual_seed(args.seed), time.time()
    keys = ("pm", "pc1", "pcavg", "pcmean", "rg1", "rgavg", "rgmean")
    res = {key: [] for key in keys}
    state_err = {key: [] for key in ("pm", "pc1", "pcmean", "rg1", "rgmean")}
    secs = {"pc": 0.0, "rg": 0.0}
    for y_w, x_w in zip(noisy, clean):
        y, x0, norm = enh.states(y_w[None], x_w[None])
        pm = enh.denoise(y, torch.ones(1) * enh.sde.T, y)
        wave = lambda s: enh._wave(s, y_w[None], norm, True)  # noqa: E731
        t1 = time.time()
        pcs = [enh.sample_states(y, steps=args.steps, generator=gen) for _ in range(args.k)]
        t2 = time.time()
        rgs = [enh.sample_states(y, steps=k_rg, corrector=corr, start="regenerate", t_start=args.t_start, x0_hat=pm, generator=gen)
               for _ in range(args.k)]
        secs["pc"] += t2 - t1
        secs["rg"] += time.time() - t2
        m_pc, m_rg = [np.array([_metrics(wave(s), x_w) for s in ss]) for ss in (pcs, rgs)]
        for key, st in (("pm", pm), ("pcmean", torch.stack(pcs).mean(0)), ("rgmean", torch.stack(rgs).mean(0))):
            res[key].append(np.array(_metrics(wave(st), x_w)))
        res["pc1"].append(m_pc[0]), res["pcavg"].append(m_pc.mean(0)), res["rg1"].append(m_rg[0]), res["rgavg"].append(m_rg.mean(0))
        rms = lambda z: float(z.pow(2).mean().sqrt())  # noqa: E731
        for key, st in (("pm", pm), ("pc1", pcs[0]), ("pcmean", torch.stack(pcs).mean(0)), ("rg1", rgs[0]),
                        ("rgmean", torch.stack(rgs).mean(0))):
            state_err[key].append((rms(st - x0), rms(st - pm), rms(y - x0)))
        print(f"utterance {len(res['pm'])}/{n} ({time.time() - t0:.0f} s)", flush=True)
    c_pc, c_rg = calls(args.steps, "ald", False), calls(k_rg, corr, True)
    rg_txt = f"t_start {args.t_start:g}, {k_rg} steps, {'ALD corrector snr 0.5' if corr else 'no corrector'}"
    names = {
        "pm": "posterior mean at T, x_T = y (1 call; a point estimate, not a sample)",
        "pc1": f"PC sample, {args.steps} steps ({c_pc} calls): first of {args.k} draws",
        "pcavg": f"PC sample ({c_pc} calls): metric averaged over {args.k} draws per utterance",
        "pcmean": f"mean of {args.k} PC samples ({args.k * c_pc} calls; an average, not a sample)",
        "rg1": f"regenerated sample, {rg_txt} ({c_rg} calls): first of {args.k} draws",
        "rgavg": f"regenerated sample ({c_rg} calls): metric averaged over {args.k} draws per utterance",
        "rgmean": f"mean of {args.k} regenerated samples ({1 + args.k * (c_rg - 1)} calls; an average, not a sample)",
    }
    noisy_row = _row("noisy input", [_metrics(y, x) for y, x in zip(noisy, clean)])
    wiener = _row("Wiener filter (decision-directed)", [_metrics(wiener_filter(y[None])[0], x) for y, x in zip(noisy, clean)])
    rows = [noisy_row, wiener] + [_row(names[key], res[key]) for key in keys]
    gates = []
    for key, r in zip(keys, rows[2:]):
        g = _gate(r, noisy_row, wiener)
        gates.append(f"| {names[key]} | {'passes' if all(g.values()) else 'fails'} | "
                     + " | ".join("yes" if g[m] else "no" for m in ("pesq", "estoi", "si_sdr", "pesq_vs_wiener")) + " |")
    lines = _header("Speech enhancement: stochastic regeneration and sample means beside SGMSE+'s PC sampler", args,
                    f"test --data DATA --run RUN/final --n {n} --t-start {args.t_start:g} --corrector {args.corrector} --k {args.k}",
                    lo, n, kinds, card)
    lines += [
        f"- samplers: PC = SGMSE+'s, {args.steps} steps from the prior N(y, sigma(T)^2), ALD corrector snr 0.5; regeneration = "
        f"the one-call posterior mean at T noised with the OU-VE marginal to t_start, then {rg_txt} (setting chosen on held-out "
        "utterances 16-23, speech_enhancement_regen_select.md); per utterance the draws are PC 1-k then regeneration 1-k; "
        f"sampling time {secs['pc'] / n / args.k:.1f} s per PC sample, {secs['rg'] / n / args.k:.1f} s per regenerated sample "
        "on this loaded CPU",
        "", "| system | n | PESQ | ESTOI | SI-SDR (dB) |", "|---|---|---|---|---|", *[_fmt(r) for r in rows], "",
        "Gate test on every row (> noisy on PESQ, ESTOI, SI-SDR; > Wiener on PESQ); the gate row of the issue stays the PC "
        "sample (speech_enhancement.md):", "",
        "| system | gate | > noisy PESQ | > noisy ESTOI | > noisy SI-SDR | > Wiener PESQ |", "|---|---|---|---|---|---|", *gates, "",
        "State-domain RMSE (compressed STFT, mean over utterances; noisy input y: "
        f"{np.mean([e[2] for e in state_err['pm']]):.4f}):", "",
        "| system | RMSE vs clean | RMS distance from the posterior mean at T |", "|---|---|---|",
        *[f"| {names[key]} | {np.mean([e[0] for e in v]):.4f} | {np.mean([e[1] for e in v]):.4f} |" for key, v in state_err.items()],
        "", "By noise type (means):", "", "| system | noise | n | PESQ | ESTOI | SI-SDR (dB) |", "|---|---|---|---|---|---|",
    ]
    for r in rows:
        for t in np.unique(kinds):
            sel = kinds == t
            lines.append(f"| {r['system']} | {t} | {int(sel.sum())} | {r['pesq'][sel].mean():.3f} | {r['estoi'][sel].mean():.3f} | "
                         f"{r['si_sdr'][sel].mean():.3f} |")
    lines += ["", f"Wall time {time.time() - t0:.0f} s.", ""]
    text = "\n".join(lines)
    Path(args.results).write_text(text)
    print(text)
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    default_data = Path.home() / ".cache" / "graphdiff" / "speech_synth"
    for name, start, n, out in (("select", 16, 8, "speech_enhancement_regen_select.md"), ("test", 0, 16, "speech_enhancement_sampling.md")):
        p = sub.add_parser(name)
        p.add_argument("--data", type=Path, default=default_data)
        p.add_argument("--run", type=Path, required=True, help="a checkpoint folder (RUN/final)")
        p.add_argument("--start", type=int, default=start)
        p.add_argument("--n", type=int, default=n)
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("--results", default=str(RESULTS / out))
    sub.choices["select"].add_argument("--t-starts", default="0.2,0.35,0.5")
    sub.choices["select"].add_argument("--draws", type=int, default=2)
    sub.choices["test"].add_argument("--t-start", type=float, required=True)
    sub.choices["test"].add_argument("--corrector", choices=("ald", "none"), required=True)
    sub.choices["test"].add_argument("--k", type=int, default=4)
    sub.choices["test"].add_argument("--steps", type=int, default=30)
    args = ap.parse_args(argv)
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    with torch.no_grad():
        return cmd_select(args) if args.cmd == "select" else cmd_test(args)


if __name__ == "__main__":
    raise SystemExit(main())
