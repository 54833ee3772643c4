"""LSGM (latent score model, Vahdat et al. 2021) vs the pixel-space VP model of the same size on the
sklearn 8x8 digits: a likelihood bound (bits per pixel on the held-out digits) and a sample score
from a digits classifier (confidence, class balance, Fréchet distance in its hidden features).

    python benchmarks/lsgm_digits.py                      # at most 2 x 10 min training on one thread
    python benchmarks/lsgm_digits.py --minutes 0.2 --samples 200 --out /tmp/x.md   # smoke run

Writes benchmarks/results/lsgm_digits.md (or --out) and, with --weights, the LSGM weights
(safetensors + JSON card, a folder) that the notebook can load.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, git_commit, machine_line, utc_now  # noqa: E402

from graphdiff.examples import DigitsUNet, load_digits  # noqa: E402
from graphdiff.examples.lsgm_digits import (  # noqa: E402
    DigitsClassifierScore, build_lsgm, count_parameters, decode_levels, pixel_bound_bits, train_lsgm,
)
from graphdiff.losses import dsm_loss  # noqa: E402
from graphdiff.processes import VPSDE  # noqa: E402
from graphdiff.samplers import sample  # noqa: E402
from graphdiff.training import fit  # noqa: E402


def train_pixel(*, channels: int, steps: int, minutes: float, batch_size: int, lr: float, seed: int):
    """The pixel-space VP model (eps-prediction, sigma^2-weighted DSM) on dequantised ``x / 8 - 1``."""
    torch.manual_seed(seed)
    net = DigitsUNet(channels=channels)
    proc = VPSDE()
    data = load_digits("train", discrete=True)

    def loss_fn(m, levels, g):
        x = levels.float() / 8.0 - 1.0
        u = (torch.rand(x.shape, generator=g) - 0.5) / 8.0
        return dsm_loss(m, proc, x + u, parametrization="eps", generator=g)

    res = fit(net, loss_fn, data, steps=steps, batch_size=batch_size, lr=lr, warmup_steps=min(100, steps // 10),
              lr_schedule="cosine", ema_decay=0.999, ema_warmup=True, seed=seed, progress=True, log_every=0,
              max_seconds=minutes * 60)
    if res.ema is not None:
        res.ema.copy_to(net)
    net.eval()
    return net, proc, res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0, help="training budget per model (wall clock)")
    ap.add_argument("--steps", type=int, default=1200, help="planned steps per model (cosine schedule length)")
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--sampler-steps", type=int, default=50)
    ap.add_argument("--bound-samples", type=int, default=4, help="z / t draws per test digit for the bound")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=str(ROOT / "benchmarks/results/lsgm_digits.md"))
    ap.add_argument("--weights", default="", help="also save the LSGM weights here (.safetensors)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    test = load_digits("test", discrete=True)
    scorer = DigitsClassifierScore(seed=args.seed)
    rows = []
    train = load_digits("train", discrete=True)
    ref = scorer.score(train[: min(args.samples, len(train))], levels=True)
    rows.append((f"{min(args.samples, len(train))} training digits (reference)", "-", "-", "-", "-", ref))

    # LSGM
    lsgm = build_lsgm(vae_channels=24, score_channels=64, depth=2, seed=args.seed)
    t0 = time.time()
    res = train_lsgm(lsgm, steps=args.steps, batch_size=args.batch_size, lr=2e-3, seed=args.seed,
                     max_seconds=args.minutes * 60, progress=True)
    lsgm_min = (time.time() - t0) / 60
    g = torch.Generator().manual_seed(args.seed + 1)
    nats = lsgm.evaluate_bound(test, samples=args.bound_samples, generator=g)
    lsgm_bpd = float(nats.mean()) / (64 * math.log(2))
    with torch.no_grad():
        terms = lsgm.bound(test, generator=torch.Generator().manual_seed(5))
    gen = lsgm.sample(args.samples, steps=args.sampler_steps, generator=torch.Generator().manual_seed(args.seed + 2), decode=decode_levels)
    rows.append(("LSGM (VAE + latent VP score model)", count_parameters(lsgm), f"{res.final_step} / {lsgm_min:.1f}",
                 f"{lsgm_bpd:.3f}", f"{float(torch.sigmoid(lsgm.mix_logit).mean()):.2f}", scorer.score(gen)))
    if args.weights:
        from graphdiff.training import save_weights
        save_weights(args.weights, lsgm.state_dict(), {"model": "lsgm_digits", "vae_channels": 24, "score_channels": 64, "depth": 2,
                                                       "steps": res.final_step, "bound_bits_per_pixel": round(lsgm_bpd, 4)})

    # pixel-space model of the same size
    t0 = time.time()
    net, proc, pres = train_pixel(channels=24, steps=args.steps, minutes=args.minutes, batch_size=args.batch_size, lr=2e-3, seed=args.seed)
    pix_min = (time.time() - t0) / 60
    pix_bpd = float(pixel_bound_bits(net, proc, test, samples=args.bound_samples, generator=torch.Generator().manual_seed(args.seed + 1)).mean())
    with torch.no_grad():
        pg = sample(proc, net, torch.zeros(args.samples, 1, 8, 8), method="dpm_solver", parametrization="eps",
                    steps=args.sampler_steps, generator=torch.Generator().manual_seed(args.seed + 2)).samples
    rows.append(("pixel-space VP (DigitsUNet, 24 ch)", count_parameters(net), f"{pres.final_step} / {pix_min:.1f}",
                 f"{pix_bpd:.3f}", "-", scorer.score(pg)))

    lines = [
        f"# LSGM vs pixel-space diffusion on the 8x8 digits ({utc_now()})",
        "",
        f"- commit `{git_commit()}`; machine: {machine_line(args.threads)}; shared 2-core box under load from other jobs",
        f"- command: `python benchmarks/lsgm_digits.py --minutes {args.minutes} --steps {args.steps} --samples {args.samples} --seed {args.seed}`",
        f"- data: sklearn digits, levels 0..16, fixed split (seed 0): {len(load_digits('train'))} train, {len(test)} held-out",
        f"- training: AdamW lr 2e-3, batch {args.batch_size}, cosine schedule over {args.steps} planned steps, stopped by a "
        f"{args.minutes} min wall-clock budget per model, EMA 0.999; seed {args.seed}",
        "- LSGM: conv encoder / categorical decoder (17 levels per pixel), latent 2x4x4, latent VP SDE (beta 0.1..20) with "
        "mixed score parametrisation; trained end to end on the bound (latent cross entropy by the VDM / LSGM likelihood-"
        "weighted bound, t importance-sampled in log-SNR) + the unweighted eps loss for the score net",
        "- pixel model: DigitsUNet(24) on x/8 - 1, sigma^2-weighted DSM on uniformly dequantised data",
        f"- bound: bits per pixel on the held-out digits, {args.bound_samples} draws of (z, t) per digit; LSGM's is a bound on the "
        "discrete likelihood directly; the pixel model's is the VDM bound of dequantised data + log2(8) per pixel (same quantity)",
        f"- samples: {args.samples} per model, dpm_solver {args.sampler_steps} steps (LSGM in latent space, decoded by the "
        "expected level); scored by an sklearn MLP classifier (128 hidden ReLU) trained on the train split, "
        f"held-out accuracy {scorer.test_accuracy:.3f}: confidence = mean top-class probability, class entropy of the "
        "predicted labels (ln 10 = 2.303 balanced), Fréchet distance of hidden features to the held-out digits",
        "",
        "| model | params | steps / min | bound (bits/pixel) | mix a | confidence | class entropy | Fréchet (hidden) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, params, steps, bpd, mix, s in rows:
        lines.append(f"| {name} | {params} | {steps} | {bpd} | {mix} | {s.confidence:.3f} | {s.class_entropy:.3f} | {s.frechet:.2f} |")
    lines += [
        "",
        "LSGM bound terms on the held-out digits (nats per image, one draw): "
        f"reconstruction {float(terms.reconstruction.mean()):.1f}, -H(q) {float(terms.neg_entropy.mean()):.1f}, "
        f"latent cross entropy {float(terms.cross_entropy.mean()):.1f} (diffusion {float(terms.diffusion.mean()):.1f}, "
        f"prior KL {float(terms.prior.mean()):.3f}, t0 decoder {float(terms.latent_reconstruction.mean()):.1f})",
        "",
    ]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
