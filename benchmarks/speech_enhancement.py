"""SGMSE+-style speech enhancement on the synthetic espeak-ng set (benchmarks/speech_data.py).

Steps, so a long CPU training run and its evaluation can be separated:

    python benchmarks/speech_enhancement.py train --data ~/.cache/graphdiff/speech_synth \
        --run ~/.cache/graphdiff/speech_runs/pc16 --minutes 32 --checkpoint-minutes 5,10,20
    python benchmarks/speech_enhancement.py eval --data ~/.cache/graphdiff/speech_synth \
        --run ~/.cache/graphdiff/speech_runs/pc16 --n 16
    python benchmarks/speech_enhancement.py curve --data ~/.cache/graphdiff/speech_synth \
        --run ~/.cache/graphdiff/speech_runs/pc16 --n 3

``train`` fits :class:`graphdiff.examples.speech.SpeechEnhancer` (OU-VE SDE, y-conditioned U-Net
on the compressed complex STFT; ``--parametrization`` precond, x0 or eps) on one thread for at most
``--minutes`` and saves EMA weights at each ``--checkpoint-minutes`` mark and at the end
(safetensors + JSON under ``--run``). ``eval`` enhances test utterances ``--start`` to ``--start +
--n - 1`` (the first 16 for the results page; 16 onwards serve as a validation set for choices)
and scores the noisy input, a Wiener filter and the model with PESQ (wide band, the ``pesq``
package), ESTOI (``pystoi``) and SI-SDR: SGMSE+'s PC sampler (30 steps, ALD corrector snr 0.5: 60
network calls), the same draws ending in the posterior mean at ``eps``, the probability-flow ODE
from the prior's mean, and the network's one-call posterior mean at ``T``; also by noise type.
Gate, on the PC sampling row: the model beats the noisy input on all three and the Wiener filter
on PESQ. ``curve`` scores every checkpoint on the first ``--n`` utterances
(speech_enhancement_curve.md). Results: benchmarks/results/speech_enhancement.md; the pipeline
checks are benchmarks/speech_diagnose.py (speech_diagnosis.md); stochastic regeneration and means
of samples are benchmarks/speech_sampling.py (speech_enhancement_sampling.md).

pesq and pystoi are in the ``speech`` extra: pip install 'graphdiff-ml[speech]'.
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

RESULTS = Path(__file__).resolve().parent / "results" / "speech_enhancement.md"
SR = 16000
ANCHOR = "SGMSE+ on VoiceBank-DEMAND (Richter et al. 2023): PESQ 2.93, ESTOI 0.87, SI-SDR 17.3 dB (real speech and noise; not comparable data)"


def load_split(data: Path, name: str) -> tuple[list[torch.Tensor], list[torch.Tensor], np.ndarray, np.ndarray]:
    path = data / f"{name}.npz"
    if not path.exists():
        raise SystemExit(f"error: {path} not found; make the data with benchmarks/speech_data.py --out {data}")
    with np.load(path) as d:  # each d[key] reads the whole array: read once
        off, c_all, n_all, snr, kinds = d["offsets"], d["clean"], d["noisy"], d["snr_db"], d["noise_type"]
    clean = [torch.from_numpy(c_all[a:b].copy()) for a, b in zip(off[:-1], off[1:])]
    noisy = [torch.from_numpy(n_all[a:b].copy()) for a, b in zip(off[:-1], off[1:])]
    return clean, noisy, snr, kinds


def mix_text(kinds: np.ndarray) -> str:
    """``"babble 219, pink 188, white 193"``: noise types, counted."""
    return ", ".join(f"{t} {int((kinds == t).sum())}" for t in np.unique(kinds))


def noise_mix(data: Path, name: str) -> str:
    """:func:`mix_text` of a split's noise types (read from its file)."""
    with np.load(data / f"{name}.npz") as d:
        return mix_text(d["noise_type"])


def cmd_train(args: argparse.Namespace) -> int:
    from graphdiff.examples.speech import SpeechEnhancer, SpeechScoreNet

    torch.manual_seed(args.seed)
    clean, noisy, _, _ = load_split(args.data, "train")
    enh = SpeechEnhancer(SpeechScoreNet(channels=args.channels), parametrization=args.parametrization)
    marks = sorted(float(m) for m in args.checkpoint_minutes.split(",") if m.strip()) if args.checkpoint_minutes else []
    saved: list[float] = []
    args.run.mkdir(parents=True, exist_ok=True)
    n_params = sum(p.numel() for p in enh.net.parameters())
    print(f"train: {len(clean)} utterances, {n_params} parameters, {args.minutes} min budget, threads {torch.get_num_threads()}")

    def callback(step: int, elapsed: float) -> None:
        while marks and elapsed >= 60 * marks[0]:
            m = marks.pop(0)
            enh.save(args.run / f"min{m:g}", extra={"train_minutes": round(elapsed / 60, 2), "train_steps": step}, state_dict=enh.ema_state_dict())
            saved.append(m)
            print(f"  checkpoint at {m:g} min (step {step})", flush=True)

    t0 = time.time()
    log = enh.fit(clean, noisy, steps=args.max_steps, batch_size=args.batch, crop_frames=args.crop_frames, lr=args.lr,
                  max_seconds=60 * args.minutes, seed=args.seed, log_every=50, progress=True, callback=callback)
    info = {"train_minutes": round(log.seconds / 60, 2), "train_steps": log.steps, "stopped_by": log.stopped_by,
            "batch_size": args.batch, "crop_frames": args.crop_frames, "lr": args.lr, "threads": torch.get_num_threads(),
            "train_utterances": len(clean), "parameters": n_params, "losses_every_50": [round(v, 6) for v in log.losses],
            "load_average_at_end": os.getloadavg()[0]}
    enh.save(args.run / "final", extra=info)
    (args.run / "train_log.json").write_text(json.dumps({**info, "checkpoints_minutes": saved, "wall_seconds": time.time() - t0}, indent=1))
    print(f"done: {log.steps} steps in {log.seconds / 60:.1f} min -> {args.run / 'final'}")
    return 0


def _metrics(est: torch.Tensor, ref: torch.Tensor) -> tuple[float, float, float]:
    from graphdiff._optional import require
    from graphdiff.examples.speech import si_sdr

    pesq = require("pesq").pesq
    stoi = require("pystoi").stoi
    e, r = est.double().numpy(), ref.double().numpy()
    return (float(pesq(SR, r, e, "wb")), float(stoi(r, e, SR, extended=True)), float(si_sdr(est[None].double(), ref[None].double())[0]))


def _score(name: str, outs: list[torch.Tensor], clean: list[torch.Tensor]) -> dict:
    vals = np.array([_metrics(o, c) for o, c in zip(outs, clean)])
    return {"system": name, "n": len(outs), "pesq": vals[:, 0], "estoi": vals[:, 1], "si_sdr": vals[:, 2]}


def _fmt(row: dict) -> str:
    def ms(v: np.ndarray) -> str:
        return f"{v.mean():.3f} ± {v.std(ddof=1) / np.sqrt(len(v)):.3f}" if len(v) > 1 else f"{v.mean():.3f}"

    return f"| {row['system']} | {row['n']} | {ms(row['pesq'])} | {ms(row['estoi'])} | {ms(row['si_sdr'])} |"


def _by_noise(rows: list[dict], kinds: np.ndarray, label: str = "system") -> list[str]:
    """The "By noise type (means)" table: each row's mean PESQ / ESTOI / SI-SDR per noise kind."""
    lines = ["By noise type (means):", "", "| system | noise | n | PESQ | ESTOI | SI-SDR (dB) |", "|---|---|---|---|---|---|"]
    for r in rows:
        for t in np.unique(kinds):
            k = kinds == t
            lines.append(f"| {r[label]} | {t} | {int(k.sum())} | {r['pesq'][k].mean():.3f} | "
                         f"{r['estoi'][k].mean():.3f} | {r['si_sdr'][k].mean():.3f} |")
    return lines


def cmd_curve(args: argparse.Namespace) -> int:
    """Quality vs training minutes: every checkpoint under --run (min*, final) on the first --n
    test utterances, in its own result file (a separate process from eval, to share the CPU)."""
    from tqdm import tqdm

    from graphdiff.examples.speech import SpeechEnhancer

    clean, noisy, _, _ = load_split(args.data, "test")
    k = min(args.n, len(clean))
    t0 = time.time()
    ckpts = sorted((p for p in args.run.glob("min*") if (p / "config.json").exists()), key=lambda p: float(p.name[3:]))
    curve = []
    for p in ckpts + [args.run / "final"]:
        enh = SpeechEnhancer.load(p)
        c = json.loads((p / "config.json").read_text())["card"]
        g = torch.Generator().manual_seed(args.seed)
        o = [enh.enhance(y, steps=args.steps, snr=args.snr, generator=g) for y in tqdm(noisy[:k], desc=p.name)]
        curve.append(_score(f"{c['train_minutes']} min ({c['train_steps']} steps): PC sample", o, clean[:k]))
        curve.append(_score(f"{c['train_minutes']} min: posterior mean at T (1 call)", [enh.posterior_mean(y) for y in noisy[:k]], clean[:k]))
    lines = [
        "# Speech enhancement: quality vs CPU training minutes (OU-VE score model, synthetic espeak-ng speech)",
        "",
        f"- date: {utc_now()}; commit: {git_commit()}; machine: {cpu_name('cpu')}, {os.cpu_count()} cores shared with other jobs "
        f"(load average {os.getloadavg()[0]:.1f} at the end); torch threads {torch.get_num_threads()}",
        f"- command: `python benchmarks/speech_enhancement.py curve --data DATA --run RUN --n {args.n}`; the checkpoints are the "
        "EMA weights saved during the run of speech_enhancement.md (same data, model and sampler: 30 PC steps, ALD snr 0.5; "
        "and the one-call posterior mean at T of the same network)",
        f"- protocol: the first {k} test utterances only (a trend, not a measurement: see speech_enhancement.md for the "
        "main numbers); PESQ wb, ESTOI, SI-SDR (dB), mean ± standard error; sampling seed fixed per checkpoint",
        "",
        "| checkpoint | n | PESQ | ESTOI | SI-SDR (dB) |", "|---|---|---|---|---|", *[_fmt(r) for r in curve], "",
        f"Wall time {time.time() - t0:.0f} s.", "",
    ]
    text = "\n".join(lines)
    Path(args.results).write_text(text)
    print(text)
    return 0


def _enhance_both(enh, noisy: torch.Tensor, steps: int, snr: float, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """One PC sampling run (as ``enh.enhance``): the waveform of the sample at ``eps`` and of the
    network's posterior mean there (``denoise_final=True``: one more call), from the same draw."""
    from graphdiff.samplers import sample_pc

    y, _, norm = enh.states(noisy[None])
    proc = enh.sde.given(y)
    x = sample_pc(proc, enh.score_fn(y), proc.prior_sample(y, generator=gen), steps=steps, snr=snr, n_corrector=1,
                  corrector="ald", generator=gen).samples
    with torch.no_grad():
        xd = enh.denoise(x, torch.full((1,), enh.sde.eps), y)
    return enh._wave(x, noisy[None], norm, True), enh._wave(xd, noisy[None], norm, True)


def _gate(model: dict, noisy_row: dict, wiener: dict) -> dict:
    gate = {m: bool(model[m].mean() > noisy_row[m].mean()) for m in ("pesq", "estoi", "si_sdr")}
    gate["pesq_vs_wiener"] = bool(model["pesq"].mean() > wiener["pesq"].mean())
    return gate


def cmd_eval(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from graphdiff.examples.speech import SpeechEnhancer, wiener_filter

    clean, noisy, snr_db, kinds = load_split(args.data, "test")
    lo = args.start
    n = min(args.n, len(clean) - lo)
    clean, noisy, snr_db, kinds = clean[lo: lo + n], noisy[lo: lo + n], snr_db[lo: lo + n], kinds[lo: lo + n]
    gen = torch.Generator().manual_seed(args.seed)
    t0 = time.time()
    rows = [_score("noisy input", noisy, clean),
            _score("Wiener filter (decision-directed)", [wiener_filter(y[None])[0] for y in noisy], clean)]
    final = SpeechEnhancer.load(args.run / "final")
    card = json.loads((args.run / "final" / "config.json").read_text())["card"]
    t_enh = time.time()
    pairs = [_enhance_both(final, y, args.steps, args.snr, gen) for y in tqdm(noisy, desc="enhance")]
    t_enh = time.time() - t_enh
    pc = f"OU-VE score model, {card['train_minutes']} min: PC sampling, {args.steps} steps ({2 * args.steps} calls)"
    rows.append(_score(pc, [p[0] for p in pairs], clean))
    rows.append(_score(f"same samples + posterior mean at t = eps ({2 * args.steps + 1} calls)", [p[1] for p in pairs], clean))
    shorts = ["noisy", "Wiener", "PC sample", "PC sample + final mean"]
    if not args.no_ode:  # after the PC draws: skipping it leaves them unchanged
        rows.append(_score(f"same network: probability-flow ODE from the prior mean x_T = y, {args.steps} Euler steps "
                           f"({args.steps} calls; deterministic)",
                           [final.enhance(y, steps=args.steps, sampler="ode", start="mean") for y in tqdm(noisy, desc="ode")], clean))
        shorts.append("ODE from prior mean")
    rows.append(_score("same network: posterior mean at T, x_T = y (1 call; a point estimate, not a sample)",
                       [final.posterior_mean(y) for y in noisy], clean))
    for r, short in zip(rows, shorts + ["posterior mean at T"]):
        r["short"] = short
    gate_row = rows[3] if args.denoise_final else rows[2]
    gate = _gate(gate_row, rows[0], rows[1])
    passed = all(gate.values())
    others = [f"{r['short']}: {'passes' if all(_gate(r, rows[0], rows[1]).values()) else 'fails'}"
              for r in rows[2:] if r is not gate_row]
    snr_txt = f"{float(np.mean(snr_db)):.1f} dB mean input SNR (range {float(np.min(snr_db)):.1f}-{float(np.max(snr_db)):.1f})"
    kinds_txt = mix_text(kinds)
    train_mix = noise_mix(args.data, "train") if (args.data / "train.npz").exists() else "noise mix not available"
    lines = [
        "# Speech enhancement: OU-VE score model (SGMSE+ recipe) on synthetic espeak-ng speech",
        "",
        f"- date: {utc_now()}; commit: {git_commit()}; machine: {cpu_name('cpu')}, {os.cpu_count()} cores shared with other jobs "
        f"(load average {os.getloadavg()[0]:.1f} at the end); torch threads {torch.get_num_threads()}",
        f"- commands: `python benchmarks/speech_data.py --out DATA --train 600 --test 40` (seed 0), "
        f"`python benchmarks/speech_enhancement.py train --data DATA --run RUN --minutes {card['train_minutes']:.0f} "
        f"--parametrization {card['parametrization']} ...`, `python benchmarks/speech_enhancement.py eval --data DATA --run RUN "
        f"--n {args.n}{' --start %d' % lo if lo else ''}{' --denoise-final' if args.denoise_final else ''}"
        f"{' --no-ode' if args.no_ode else ''}`",
        f"- data: espeak-ng sentences (7 English voices x 10 variants, speed 130-190, pitch 25-75), 22.05 -> 16 kHz, "
        f"cut to 3 s; train {card['train_utterances']} utterances ({train_mix}); test: utterances "
        f"{lo}-{lo + n - 1} of 40 held-out sentences ({kinds_txt} noise; {snr_txt}); babble = 5 held-out synthetic talkers",
        f"- model: {card['parameters']} parameters, channels {card['channels']}, parametrization {card['parametrization']}"
        f"{' (sigma_data %g)' % card['sigma_data'] if card.get('parametrization') == 'precond' else ''}, "
        f"SDE {card['sde']}, STFT n_fft 510 hop 128, compression exponent 0.5 scale 0.15; trained {card['train_steps']} steps "
        f"({card['train_minutes']} min, stopped by {card['stopped_by']}), batch {card['batch_size']}, crops of "
        f"{card['crop_frames']} frames, Adam lr {card['lr']}, EMA 0.999, {card['threads']} thread",
        f"- sampling: predictor-corrector, {args.steps} steps, ALD corrector snr {args.snr}: {2 * args.steps} network calls per "
        f"utterance; prior N(y, sigma(T)^2); {t_enh / n:.1f} s per utterance on this loaded CPU (both PC rows come from the "
        "same draws)",
        "- metrics: PESQ wide band (`pesq` 0.0.4), ESTOI (`pystoi`, extended=True), SI-SDR (dB); mean ± standard error over utterances",
        f"- anchor: {ANCHOR}",
        "",
        "| system | n | PESQ | ESTOI | SI-SDR (dB) |",
        "|---|---|---|---|---|",
        *[_fmt(r) for r in rows],
        "",
        f"Gate (the PC sampling row{' with the final posterior-mean step' if args.denoise_final else ''}, chosen before this "
        f"table; > noisy on PESQ, ESTOI, SI-SDR; > Wiener on PESQ): {'PASSED' if passed else 'NOT MET'} "
        f"({', '.join(f'{k}: {v}' for k, v in gate.items())}). The same test on the other rows: {'; '.join(others)}.",
        "",
        *_by_noise(rows, kinds, "short"),
    ]
    lines += ["", f"Evaluation wall time {time.time() - t0:.0f} s.", ""]
    text = "\n".join(lines)
    out = Path(args.results)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(text)
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="SGMSE+-style speech enhancement benchmark")
    sub = ap.add_subparsers(dest="cmd", required=True)
    default_data = Path.home() / ".cache" / "graphdiff" / "speech_synth"
    tr = sub.add_parser("train")
    tr.add_argument("--data", type=Path, default=default_data)
    tr.add_argument("--run", type=Path, required=True)
    tr.add_argument("--minutes", type=float, default=40.0)
    tr.add_argument("--max-steps", type=int, default=100000)
    tr.add_argument("--checkpoint-minutes", default="10,20,30")
    tr.add_argument("--channels", type=int, default=16)
    tr.add_argument("--batch", type=int, default=8)
    tr.add_argument("--crop-frames", type=int, default=32)
    tr.add_argument("--lr", type=float, default=1e-3)
    tr.add_argument("--seed", type=int, default=0)
    tr.add_argument("--parametrization", default="precond", help="precond (default), x0 or eps (see graphdiff.examples.speech)")
    ev = sub.add_parser("eval")
    ev.add_argument("--data", type=Path, default=default_data)
    ev.add_argument("--run", type=Path, required=True)
    ev.add_argument("--n", type=int, default=16)
    ev.add_argument("--start", type=int, default=0, help="first test utterance (16 onwards: a validation set)")
    ev.add_argument("--denoise-final", action="store_true", help="the gate row ends with the posterior mean at eps")
    ev.add_argument("--steps", type=int, default=30)
    ev.add_argument("--snr", type=float, default=0.5)
    ev.add_argument("--seed", type=int, default=0)
    ev.add_argument("--no-ode", action="store_true", help="skip the probability-flow ODE row (30 calls per utterance)")
    ev.add_argument("--results", default=str(RESULTS))
    cu = sub.add_parser("curve")
    cu.add_argument("--data", type=Path, default=default_data)
    cu.add_argument("--run", type=Path, required=True)
    cu.add_argument("--n", type=int, default=3)
    cu.add_argument("--steps", type=int, default=30)
    cu.add_argument("--snr", type=float, default=0.5)
    cu.add_argument("--seed", type=int, default=0)
    cu.add_argument("--results", default=str(RESULTS.with_name("speech_enhancement_curve.md")))
    args = ap.parse_args(argv)
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    if args.cmd == "train":
        if not args.minutes > 0:
            print("error: --minutes must be > 0", file=sys.stderr)
            return 2
        return cmd_train(args)
    return cmd_curve(args) if args.cmd == "curve" else cmd_eval(args)


if __name__ == "__main__":
    raise SystemExit(main())
