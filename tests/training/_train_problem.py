"""A tiny, fully stochastic training problem shared by the trainer tests, the SIGKILL script and
the distributed workers: dropout (global torch RNG), noise from the loss generator, numpy and
Python RNG draws, a shuffled data order crossing epoch boundaries, cosine LR with warmup and EMA.

Run as a script: ``python _train_problem.py CKPT_DIR OUT_FILE [--slow SECONDS]`` trains with
checkpoints every 4 steps and writes the final parameters to ``OUT_FILE`` (safetensors)."""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

STEPS = 40


def make_data(n: int = 44) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(123)
    x = torch.randn(n, 5, generator=g)
    w = torch.randn(5, 2, generator=g)
    return x, torch.tanh(x @ w) + 0.05 * torch.randn(n, 2, generator=g)


def make_model(seed: int = 0, dropout: float = 0.1) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(5, 16), nn.SiLU(), nn.Dropout(dropout), nn.Linear(16, 2))


def stochastic_loss(model: nn.Module, batch: tuple[torch.Tensor, torch.Tensor], generator: torch.Generator) -> dict:
    x, y = batch
    x = x + 0.01 * torch.randn(x.shape, generator=generator)
    jitter = 1.0 + 0.01 * float(np.random.rand()) + 0.01 * random.random()
    loss = jitter * (model(x) - y).pow(2).mean()
    return {"loss": loss, "jitter": jitter}


def deterministic_loss(model: nn.Module, batch: tuple[torch.Tensor, torch.Tensor], generator: torch.Generator) -> torch.Tensor:
    x, y = batch
    return (model(x) - y).pow(2).mean()


FIT_KW = dict(lr=3e-2, batch_size=8, warmup_steps=5, lr_schedule="cosine", ema_decay=0.9, seed=7, progress=False, weight_decay=0.01)


def run(ckpt_dir: str | None, steps: int = STEPS, slow: float = 0.0, **kw) -> nn.Module:
    """Train the problem (resuming from ``ckpt_dir`` when it holds a checkpoint)."""
    from graphdiff.training import fit

    model = make_model(seed=int(kw.pop("init_seed", 0)))
    loss = stochastic_loss
    if slow:
        def loss(m, b, g):  # type: ignore[no-redef]
            time.sleep(slow)
            return stochastic_loss(m, b, g)
    fit(model, loss, make_data(), steps=steps, checkpoint_dir=ckpt_dir, checkpoint_every=4, **{**FIT_KW, **kw})
    return model


if __name__ == "__main__":
    torch.set_num_threads(1)
    from safetensors.torch import save_file

    ckpt, out = sys.argv[1], Path(sys.argv[2])
    slow = float(sys.argv[4]) if len(sys.argv) > 4 and sys.argv[3] == "--slow" else 0.0
    m = run(ckpt, slow=slow)
    save_file({k: v.contiguous() for k, v in m.state_dict().items()}, str(out))
