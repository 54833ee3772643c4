"""Sampling rows beside SGMSE+'s PC sampler for the speech benchmark (benchmarks/speech_enhancement.py):
StoRM-style stochastic regeneration and Monte-Carlo means of samples, same network and data.

    python benchmarks/speech_sampling.py select --data DATA --run RUN/final --start 16 --n 8
    python benchmarks/speech_sampling.py test --data DATA --run RUN/final --n 16 --t-start S --corrector ald
    python benchmarks/speech_sampling.py paired --data DATA --run RUN/final --blocks 0-15,24-39 --pc-blocks 24-39

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

``paired`` replays ``test``'s seeded stream per block of utterances, scores only the first draw of
each sampler (the rest are consumed without network calls, :func:`advance_generator`), saves the
per-utterance scores as JSON beside the page and reports paired differences against the Wiener
filter and the noisy input (:func:`paired_stats`: mean, standard error, 95% t interval,
wins/losses) and the decision rule :data:`RULE` (speech_sampling_paired.md).
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
from speech_enhancement import _by_noise, _fmt, _gate, _metrics, load_split, mix_text  # noqa: E402

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
    kinds_txt = mix_text(kinds)
    return [
        f"# {title}", "",
        f"- date: {utc_now()}; commit: {git_commit()}; machine: {cpu_name('cpu')}, {os.cpu_count()} cores shared with other jobs "
        f"(load average {os.getloadavg()[0]:.1f} at the end); torch threads {torch.get_num_threads()}",
        f"- command: `python benchmarks/speech_sampling.py {cmd}` (DATA from `benchmarks/speech_data.py --train 600 --test 40`, "
        f"seed 0; RUN/final the {card.get('train_minutes')}-min {card.get('parametrization')} checkpoint of speech_enhancement.md)",
        f"- utterances: test {lo}-{lo + n - 1} ({kinds_txt} noise); PESQ wb, ESTOI, SI-SDR (dB), mean ± standard error over "
        f"utterances; sampling seed {args.seed}, one generator in utterance order",
    ]


def _test_block(args: argparse.Namespace, enhancer: type) -> tuple:
    """``(lo, n, clean, noisy, kinds, enhancer, card)``: test utterances ``args.start`` .. (at most
    ``args.n``) and the model of ``args.run`` with its card."""
    clean, noisy, _, kinds = load_split(args.data, "test")
    lo, n = args.start, min(args.n, len(clean) - args.start)
    clean, noisy, kinds = clean[lo: lo + n], noisy[lo: lo + n], kinds[lo: lo + n]
    enh = enhancer.load(args.run)
    card = json.loads((args.run / "config.json").read_text())["card"]
    return lo, n, clean, noisy, kinds, enh, card


def cmd_select(args: argparse.Namespace) -> int:
    from graphdiff.examples.speech import SpeechEnhancer, wiener_filter

    lo, n, clean, noisy, kinds, enh, card = _test_block(args, SpeechEnhancer)
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

    lo, n, clean, noisy, kinds, enh, card = _test_block(args, SpeechEnhancer)
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
        "", *_by_noise(rows, kinds),
    ]
    lines += ["", f"Wall time {time.time() - t0:.0f} s.", ""]
    text = "\n".join(lines)
    Path(args.results).write_text(text)
    print(text)
    return 0


# ---------------------------------------------------------------- paired comparison (per-utterance scores)
RULE = ("the regenerated sample (t_start 0.2, no corrector, 6 calls; its first draw in the seed-0 stream of `test`) meets "
        "the gate if, over the 32 utterances 0-15 + 24-39, its mean beats the noisy input's on PESQ, ESTOI and SI-SDR, and "
        "its paired PESQ difference vs the Wiener filter is positive with a 95% CI (t-distribution) that excludes 0; "
        "written into speech_enhancement.md before the run; the fresh set 24-39 is also reported alone")


def paired_stats(a, b, level: float = 0.95) -> dict:
    """Paired differences ``a - b`` over utterances: mean, standard error, the two-sided ``level``
    confidence interval by Student's t (``n - 1`` degrees of freedom), and wins / losses / ties."""
    from scipy.stats import t as student_t

    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    if d.ndim != 1 or d.size < 2:
        raise ValueError(f"need two equal-length 1-D score vectors of at least 2 utterances, got differences of shape {d.shape}")
    se = float(d.std(ddof=1) / np.sqrt(d.size))
    half = float(student_t.ppf(0.5 + level / 2, d.size - 1)) * se
    mean = float(d.mean())
    return {"n": int(d.size), "mean": mean, "se": se, "lo": mean - half, "hi": mean + half,
            "wins": int((d > 0).sum()), "losses": int((d < 0).sum()), "ties": int((d == 0).sum())}


def advance_generator(enh, y: torch.Tensor, generator: torch.Generator, **kw) -> None:
    """Consume exactly the random numbers ``enh.sample_states(y, generator=generator, **kw)`` would,
    without network calls: the denoiser is stood in by ``x0_hat = y`` for the call (the samplers'
    draws depend on shapes only, not values), so a stream of draws can skip the ones not scored."""
    enh.denoise = lambda x, t, y_: y_  # instance attribute shadows the method
    try:
        enh.sample_states(y, generator=generator, **kw)
    finally:
        del enh.denoise


def _blocks(text: str) -> list[tuple[int, int]]:
    out = []
    for part in filter(None, text.split(",")):
        a, _, b = part.partition("-")
        lo, hi = int(a), int(b or a)
        if hi < lo:
            raise ValueError(f"bad utterance range {part!r}: need LO-HI with LO <= HI")
        out.append((lo, hi))
    return out


def _pfmt(s: dict, digits: int) -> str:
    f = f"{{:+.{digits}f}}"
    return (f"{f.format(s['mean'])} ± {s['se']:.{digits}f} [{f.format(s['lo'])}, {f.format(s['hi'])}] "
            f"{s['wins']}/{s['losses']}")


def cmd_paired(args: argparse.Namespace) -> int:
    from graphdiff.examples.speech import SpeechEnhancer, wiener_filter

    clean, noisy, snr_db, kinds = load_split(args.data, "test")
    blocks, pc_blocks = _blocks(args.blocks), _blocks(args.pc_blocks)
    if any(hi >= len(clean) for _, hi in blocks) or any(b not in blocks for b in pc_blocks):
        raise SystemExit(f"error: blocks must lie in 0-{len(clean) - 1} and --pc-blocks must be among --blocks")
    enh = SpeechEnhancer.load(args.run)
    card = json.loads((args.run / "config.json").read_text())["card"]
    corr = None if args.corrector == "none" else args.corrector
    k_rg = regen_steps(enh.sde, args.t_start)
    pc_kw = dict(steps=args.steps)
    rg_kw = dict(steps=k_rg, corrector=corr, start="regenerate", t_start=args.t_start)
    utts, t0 = [], time.time()
    for lo, hi in blocks:
        gen = torch.Generator().manual_seed(args.seed)  # each block: the stream of `test --start lo --k K`
        for i in range(lo, hi + 1):
            y_w, x_w = noisy[i], clean[i]
            y, _, norm = enh.states(y_w[None])
            pm = enh.denoise(y, torch.ones(1) * enh.sde.T, y)
            wave = lambda s: enh._wave(s, y_w[None], norm, True)  # noqa: E731
            rec = {"index": i, "noise": str(kinds[i]), "snr_db": float(snr_db[i]), "noisy": _metrics(y_w, x_w),
                   "wiener": _metrics(wiener_filter(y_w[None])[0], x_w), "posterior_mean": _metrics(wave(pm), x_w)}
            for j in range(args.k):  # PC draws 1..k, then regeneration draws 1..k, as in `test`
                if j == 0 and (lo, hi) in pc_blocks:
                    rec["pc_first"] = _metrics(wave(enh.sample_states(y, generator=gen, **pc_kw)), x_w)
                else:
                    advance_generator(enh, y, gen, **pc_kw)
            rec["regen_first"] = _metrics(wave(enh.sample_states(y, generator=gen, x0_hat=pm, **rg_kw)), x_w)
            for _ in range(args.k - 1):
                advance_generator(enh, y, gen, x0_hat=pm, **rg_kw)
            utts.append(rec)
            print(f"utterance {i} ({time.time() - t0:.0f} s)", flush=True)
    out = Path(args.results)
    blk = ",".join(f"{a}-{b}" for a, b in blocks)
    pcb = args.pc_blocks or '""'
    cmd = (f"paired --data DATA --run RUN/final --blocks {blk} --pc-blocks {pcb} --t-start {args.t_start:g} "
           f"--corrector {args.corrector} --k {args.k}")
    out.with_suffix(".json").write_text(json.dumps({"command": f"python benchmarks/speech_sampling.py {cmd}", "seed": args.seed,
                                                    "metrics": list(METRICS), "utterances": utts}, indent=1))
    text = _paired_page(args, cmd, utts, blocks, card, k_rg, corr, time.time() - t0)
    out.write_text(text)
    print(text)
    return 0


def _paired_page(args, cmd: str, utts: list[dict], blocks, card: dict, k_rg: int, corr, wall: float) -> str:
    rg_txt = f"regenerated sample, t_start {args.t_start:g}, {k_rg} steps, {'ALD corrector' if corr else 'no corrector'} " \
             f"({calls(k_rg, corr, True)} calls): first draw"
    systems = [("noisy", "noisy input"), ("wiener", "Wiener filter (decision-directed)"),
               ("posterior_mean", "posterior mean at T (1 call; a point estimate, not a sample)"),
               ("regen_first", rg_txt), ("pc_first", f"PC sample, {args.steps} steps ({calls(args.steps, 'ald', False)} calls): first draw")]
    sets = [(f"{a}-{b}", [u for u in utts if a <= u["index"] <= b]) for a, b in blocks]
    if len(blocks) > 1:
        sets.append(("all " + " + ".join(s for s, _ in sets), utts))
    kinds = np.array([u["noise"] for u in utts])
    lines = _header("Speech enhancement: paired per-utterance comparison of the regenerated sample with Wiener and the input",
                    args, cmd, 0, 0, kinds, card)
    lines[4] = (f"- utterances: test {', '.join(s for s, _ in sets[:len(blocks)])} "
                f"({mix_text(kinds)} noise); PESQ wb, ESTOI, SI-SDR (dB); "
                f"per-utterance scores in {Path(args.results).with_suffix('.json').name}")
    lines += [
        f"- draws: per block a generator seeded {args.seed} at its first utterance and, per utterance, {args.k} PC draws then "
        f"{args.k} regeneration draws, exactly the stream of `test --start LO --k {args.k}`; only the first draw of each "
        "sampler is scored, the others are consumed without network calls (`advance_generator`), so on 0-15 the first "
        "draws are those of speech_enhancement_sampling.md; PC is scored only on --pc-blocks",
        f"- decision rule (fixed before the run): {RULE}",
        "- paired cells: mean of (system - reference) ± standard error [95% CI, t with n - 1 df] wins/losses over utterances",
    ]
    for name, sub in sets:
        lines += ["", f"Means, utterances {name}:", "", "| system | n | PESQ | ESTOI | SI-SDR (dB) |", "|---|---|---|---|---|"]
        for key, label in systems:
            v = [u[key] for u in sub if key in u]
            if len(v) > 1:
                lines.append(_fmt(_row(label, v)))
        lines += ["", f"Paired differences, utterances {name}:", "",
                  "| system | minus | n | PESQ | ESTOI | SI-SDR (dB) |", "|---|---|---|---|---|---|"]
        for key, label in systems[1:]:
            for ref in ("noisy", "wiener"):
                pair = [(u[key], u[ref]) for u in sub if key in u]
                if key == ref or len(pair) < 2:
                    continue
                a, b = np.array([p[0] for p in pair]), np.array([p[1] for p in pair])
                cells = [_pfmt(paired_stats(a[:, m], b[:, m]), 3 if m < 2 else 2) for m in range(3)]
                lines.append(f"| {label} | {dict(systems)[ref]} | {len(pair)} | " + " | ".join(cells) + " |")
    lines += ["", f"By noise type, utterances {sets[-1][0]} (means; paired PESQ difference against Wiener with its 95% CI "
              "and wins/losses):", "", "| system | noise | n | PESQ | ESTOI | SI-SDR (dB) | PESQ - Wiener |", "|---|---|---|---|---|---|---|"]
    for key, label in systems:
        for t in np.unique(kinds):
            sub = [u for u in utts if u["noise"] == t and key in u]
            if not sub:
                continue
            v, w = np.array([u[key] for u in sub]), np.array([u["wiener"] for u in sub])
            d = _pfmt(paired_stats(v[:, 0], w[:, 0]), 3) if key != "wiener" and len(sub) > 1 else ""
            lines.append(f"| {label} | {t} | {len(sub)} | {v[:, 0].mean():.3f} | {v[:, 1].mean():.3f} | {v[:, 2].mean():.3f} | {d} |")
    lines += ["", "Decision rule, evaluated:", ""]
    for name, sub in sets:
        r, nz, w = (np.array([u[k] for u in sub]) for k in ("regen_first", "noisy", "wiener"))
        beats = {m: bool(r[:, i].mean() > nz[:, i].mean()) for i, m in enumerate(METRICS)}
        s = paired_stats(r[:, 0], w[:, 0])
        ok = all(beats.values()) and s["lo"] > 0
        lines.append(f"- utterances {name} (n {len(sub)}): mean > noisy on PESQ / ESTOI / SI-SDR: "
                     + " / ".join("yes" if beats[m] else "no" for m in METRICS)
                     + f"; PESQ - Wiener {s['mean']:+.3f}, 95% CI [{s['lo']:+.3f}, {s['hi']:+.3f}]"
                     + f" -> {'MET' if ok else 'NOT MET'}" + (" (the rule's set)" if sub is utts and len(blocks) > 1 else ""))
    lines += ["", f"Wall time {wall:.0f} s.", ""]
    return "\n".join(lines)


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
    p = sub.add_parser("paired", help="per-utterance scores and paired differences against Wiener and the input")
    p.add_argument("--data", type=Path, default=default_data)
    p.add_argument("--run", type=Path, required=True, help="a checkpoint folder (RUN/final)")
    p.add_argument("--blocks", default="0-15,24-39", help="utterance ranges LO-HI, comma-separated; a seed-0 stream each")
    p.add_argument("--pc-blocks", default="", help="the blocks on which the PC sample's first draw is scored too")
    p.add_argument("--t-start", type=float, default=0.2)
    p.add_argument("--corrector", choices=("ald", "none"), default="none")
    p.add_argument("--k", type=int, default=4, help="draws per sampler and utterance in the stream (as `test`)")
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--results", default=str(RESULTS / "speech_sampling_paired.md"))
    args = ap.parse_args(argv)
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    with torch.no_grad():
        return {"select": cmd_select, "test": cmd_test, "paired": cmd_paired}[args.cmd](args)


if __name__ == "__main__":
    raise SystemExit(main())
