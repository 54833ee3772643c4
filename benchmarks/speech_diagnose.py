"""Cheap checks of the speech-enhancement pipeline (benchmarks/speech_enhancement.py), each a number:

1. the compressed-STFT round trip (waveform -> state -> waveform) on the test utterances;
2. the metrics on clean vs clean (PESQ's ceiling is 4.64);
3. an oracle: clean "speech" replaced by a Gaussian, x0 ~ N(0, s0^2), y = x0 + N(0, sn^2) per entry,
   so the posterior p(x0 | y) = N(m, v) and the score of every marginal are closed form; the PC
   sampler (30 steps, ALD snr 0.5, prior N(y, sigma(T)^2)) run with that exact score must return
   samples with mean m and std sqrt(v), whose error against x0 is sqrt(2 v) (a posterior *sample*
   is worse in MSE than the posterior mean, sqrt(v));
4. for each trained checkpoint, the error of its denoiser x0_hat(x_t, y, t) = E[x0 | x_t, y] on
   held-out utterances, against the trivial estimate (x_t - (1 - a) y) / a (error sigma / a) and
   against doing nothing (y): a network that does not beat the trivial estimate at small t cannot
   remove the noise the sampler leaves there;
5. for each checkpoint, on two held-out utterances: the state error of the one-call posterior mean
   at T against that of a PC sample (30 steps, ALD snr 0.5). For a calibrated posterior the ratio is
   sqrt(2) (item 3): a sample can only beat the input when the posterior mean beats it by more.

    python benchmarks/speech_diagnose.py --data DATA --runs RUN_A/final RUN_B/final
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import cpu_name, git_commit, utc_now  # noqa: E402
from speech_enhancement import _metrics, load_split  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "speech_diagnosis.md"
TIMES = (0.03, 0.05, 0.1, 0.2, 0.4, 0.7, 1.0)


def oracle(sde, s0: float, sn: float, seed: int = 0) -> dict:
    """Exact-score PC sampling of the Gaussian posterior (item 3)."""
    from graphdiff.samplers import sample_pc

    g = torch.Generator().manual_seed(seed)
    x0 = s0 * torch.randn(4, 2, 64, 64, generator=g)
    y = x0 + sn * torch.randn(x0.shape, generator=g)
    k = s0**2 / (s0**2 + sn**2)
    m, v = k * y, k * sn**2

    def score(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        a, s = sde.alpha(t)[:, None, None, None], sde.sigma(t)[:, None, None, None]
        return -(x - a * m - (1 - a) * y) / (a**2 * v + s**2)

    proc = sde.given(y)
    out = sample_pc(proc, score, proc.prior_sample(y, generator=g), steps=30, snr=0.5, n_corrector=1, corrector="ald", generator=g).samples
    rms = lambda z: float(z.pow(2).mean().sqrt())  # noqa: E731
    return {"std_ratio": float((out - m).std()) / math.sqrt(v), "bias": float((out - m).mean()) / math.sqrt(v),
            "rmse_sample": rms(out - x0), "rmse_mean": rms(m - x0), "rmse_y": rms(y - x0), "sqrt2v": math.sqrt(2 * v),
            "sigma_eps": float(sde.sigma(torch.tensor([sde.eps])))}


def denoiser_errors(run: Path, clean: list, noisy: list, seed: int = 0) -> tuple[list[tuple], dict]:
    from graphdiff.examples.speech import SpeechEnhancer

    enh = SpeechEnhancer.load(run)
    ys, xs = zip(*[enh.states(n[None], c[None])[:2] for c, n in zip(clean, noisy)])
    frames = min(y.shape[-1] for y in ys) // 4 * 4
    y, x0 = torch.cat([v[..., :frames] for v in ys]), torch.cat([v[..., :frames] for v in xs])
    g = torch.Generator().manual_seed(seed)
    rows = []
    for tt in TIMES:
        t = torch.full((y.shape[0],), tt)
        with torch.no_grad():
            xt, _ = enh.sde.sample_marginal(x0, t, generator=g, y=y)
            err = float((enh.denoise(xt, t, y) - x0).pow(2).mean().sqrt())
        trivial = float(enh.sde.sigma(t[:1]) / enh.sde.alpha(t[:1]))
        rows.append((tt, trivial, err, float((y - x0).pow(2).mean().sqrt())))
    import json

    return rows, json.loads((run / "config.json").read_text())["card"]


def sample_vs_mean(run: Path, clean: list, noisy: list, seed: int = 0) -> list[tuple]:
    from graphdiff.examples.speech import SpeechEnhancer
    from graphdiff.samplers import sample_pc

    enh = SpeechEnhancer.load(run)
    out = []
    for c, n in zip(clean, noisy):
        y, x0, _ = enh.states(n[None], c[None])
        proc, g = enh.sde.given(y), torch.Generator().manual_seed(seed)
        with torch.no_grad():
            mean_t = enh.denoise(y, torch.ones(1), y)
        x = sample_pc(proc, enh.score_fn(y), proc.prior_sample(y, generator=g), steps=30, snr=0.5, n_corrector=1,
                      corrector="ald", generator=g).samples
        rms = lambda z: float(z.pow(2).mean().sqrt())  # noqa: E731
        out.append((rms(y - x0), rms(mean_t - x0), rms(x - x0)))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=Path.home() / ".cache" / "graphdiff" / "speech_synth")
    ap.add_argument("--runs", type=Path, nargs="*", default=[], help="checkpoint folders (RUN/final) for item 4")
    ap.add_argument("--results", default=str(RESULTS))
    args = ap.parse_args(argv)
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    from graphdiff.examples.speech import SpectrogramTransform, SpeechEnhancer, sgmse_sde
    from graphdiff.processes import OUVESDE

    clean, noisy, _, _ = load_split(args.data, "test")
    tf = SpectrogramTransform()
    rt = max(float((tf.inverse(tf(c[None]), c.numel())[0] - c).norm() / c.norm()) for c in clean[:16])
    p, e, s = _metrics(clean[0], clean[0])
    states = [SpeechEnhancer().states(n[None], c[None])[1] for c, n in zip(clean[16:24], noisy[16:24])]
    clean_rms = float(torch.cat([z.flatten() for z in states]).pow(2).mean().sqrt())
    lines = [
        "# Speech enhancement: pipeline diagnosis (oracle checks, denoiser error by time)",
        "",
        f"- date: {utc_now()}; commit: {git_commit()}; machine: {cpu_name('cpu')}, {os.cpu_count()} cores shared "
        f"(load average {os.getloadavg()[0]:.1f}); torch threads {torch.get_num_threads()}",
        f"- command: `python benchmarks/speech_diagnose.py --data DATA --runs {' '.join(str(r) for r in args.runs) or '(none)'}` "
        "(DATA from `benchmarks/speech_data.py --train 600 --test 40`, seed 0)",
        "- protocol: see the script's docstring; item 4 uses held-out utterances 16-23 (not the 16 of the results table), "
        "one draw of x_t per t",
        "",
        f"1. STFT + compression round trip, largest relative error over 16 test utterances: {rt:.1e}.",
        f"2. Clean vs clean: PESQ {p:.3f}, ESTOI {e:.3f}, SI-SDR {s:.0f} dB.",
        f"3. Exact-score oracle (x0 ~ N(0, 0.07^2), y = x0 + N(0, 0.057^2) per entry, as the speech states' RMS; "
        f"clean state RMS on utterances 16-23: {clean_rms:.3f}):",
        "",
        "| SDE | sample std / posterior std | bias / posterior std | RMSE sample | sqrt(2 v) | RMSE posterior mean | RMSE y | sigma(eps) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, sde in (("OUVESDE() (unit noise per real channel)", OUVESDE()), ("sgmse_sde() (SGMSE+'s complex noise)", sgmse_sde())):
        o = oracle(sde, 0.07, 0.057)
        lines.append(f"| {name} | {o['std_ratio']:.3f} | {o['bias']:+.3f} | {o['rmse_sample']:.4f} | {o['sqrt2v']:.4f} | "
                     f"{o['rmse_mean']:.4f} | {o['rmse_y']:.4f} | {o['sigma_eps']:.4f} |")
    lines += ["", "4. Denoiser error (state RMSE) by time on utterances 16-23:", ""]
    for run in args.runs:
        rows, card = denoiser_errors(run, clean[16:24], noisy[16:24])
        lines += [f"`{run}` (parametrization {card['parametrization']}, SDE sigma_min {card['sde']['sigma_min']:.4f}, "
                  f"sigma_max {card['sde']['sigma_max']:.4f}, {card.get('train_minutes', '?')} min):", "",
                  "| t | trivial sigma/a | network x0_hat | doing nothing (y) |", "|---|---|---|---|",
                  *[f"| {t:.2f} | {a:.4f} | {b:.4f} | {c:.4f} |" for t, a, b, c in rows], ""]
    if args.runs:
        lines += ["5. State RMSE of a PC sample vs the one-call posterior mean at T (utterances 16 and 17, both babble):", "",
                  "| checkpoint | utterance | input y | posterior mean | PC sample | sample / mean |", "|---|---|---|---|---|---|"]
        for run in args.runs:
            for u, (ry, rm, rs) in zip((16, 17), sample_vs_mean(run, clean[16:18], noisy[16:18])):
                lines.append(f"| `{run.parent.name}/{run.name}` | {u} | {ry:.4f} | {rm:.4f} | {rs:.4f} | {rs / rm:.2f} |")
        lines.append("")
    text = "\n".join(lines) + "\n"
    Path(args.results).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
