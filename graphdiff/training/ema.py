"""Exponential moving average of model weights (Polyak averaging).

``shadow <- decay * shadow + (1 - decay) * param`` after every optimiser step, as used by score-based
and denoising diffusion models (Song et al. 2021, "Score-Based Generative Modeling through SDEs",
App. H; Ho et al. 2020, App. B). With ``warmup=True`` the effective decay is
``min(decay, (1 + n) / (10 + n))`` after ``n`` updates (TensorFlow's ``ExponentialMovingAverage``
``num_updates`` rule), so early averages are not dominated by the random initialisation.
Floating-point buffers are averaged too when ``average_buffers``; other buffers (integer counters)
are copied.
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator, Mapping

import torch
from torch import Tensor, nn

__all__ = ["EMA"]


def _unwrap(model: nn.Module) -> nn.Module:
    wrappers = (nn.parallel.DistributedDataParallel, nn.DataParallel)
    return model.module if isinstance(model, wrappers) else model


class EMA:
    """EMA of a module's parameters and buffers.

    Args:
        model: the module whose weights are averaged (a DDP wrapper is unwrapped).
        decay: the target decay in ``[0, 1]``.
        warmup: use ``min(decay, (1 + n) / (10 + n))`` after ``n`` updates.
        average_buffers: also average floating-point buffers (otherwise they are copied).

    Typical use::

        ema = EMA(net, decay=0.999)
        ...; opt.step(); ema.update(net)
        with ema.swapped(net):   # evaluate with the averaged weights
            sample(net)
    """

    def __init__(self, model: nn.Module, *, decay: float = 0.999, warmup: bool = False, average_buffers: bool = True) -> None:
        if not 0.0 <= decay <= 1.0:
            raise ValueError(f"decay must be in [0, 1], got {decay}")
        self.decay = float(decay)
        self.warmup = bool(warmup)
        self.average_buffers = bool(average_buffers)
        self.num_updates = 0
        self.shadow: dict[str, Tensor] = {
            name: t.detach().clone() for name, t in self._named_tensors(_unwrap(model))
        }
        self._backup: dict[str, Tensor] | None = None

    @staticmethod
    def _named_tensors(model: nn.Module) -> Iterator[tuple[str, Tensor]]:
        yield from model.named_parameters()
        yield from model.named_buffers()

    def current_decay(self) -> float:
        """The decay the next :meth:`update` will use."""
        if self.warmup:
            n = self.num_updates
            return min(self.decay, (1.0 + n) / (10.0 + n))
        return self.decay

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        """Fold the current weights of ``model`` into the average."""
        d = self.current_decay()
        model = _unwrap(model)
        params = dict(model.named_parameters())
        for name, t in self._named_tensors(model):
            s = self.shadow[name]
            averaged = name in params or self.average_buffers
            if averaged and t.is_floating_point():
                s.lerp_(t.detach().to(s.dtype), 1.0 - d)
            else:
                s.copy_(t.detach())
        self.num_updates += 1

    @torch.no_grad()
    def copy_to(self, model: nn.Module) -> None:
        """Overwrite the weights of ``model`` with the averaged ones."""
        for name, t in self._named_tensors(_unwrap(model)):
            t.copy_(self.shadow[name].to(t.dtype))

    @torch.no_grad()
    def store(self, model: nn.Module) -> None:
        """Remember the current weights of ``model`` (to be put back by :meth:`restore`)."""
        self._backup = {name: t.detach().clone() for name, t in self._named_tensors(_unwrap(model))}

    @torch.no_grad()
    def restore(self, model: nn.Module) -> None:
        """Put back the weights saved by :meth:`store`."""
        if self._backup is None:
            raise RuntimeError("EMA.restore called without a matching EMA.store")
        for name, t in self._named_tensors(_unwrap(model)):
            t.copy_(self._backup[name])
        self._backup = None

    @contextlib.contextmanager
    def swapped(self, model: nn.Module) -> Iterator[nn.Module]:
        """Context in which ``model`` carries the EMA weights; the training weights come back after."""
        self.store(model)
        self.copy_to(model)
        try:
            yield model
        finally:
            self.restore(model)

    def to(self, device: torch.device | str) -> "EMA":
        self.shadow = {k: v.to(device) for k, v in self.shadow.items()}
        return self

    def state_dict(self) -> dict[str, Any]:
        return {
            "decay": self.decay,
            "warmup": self.warmup,
            "average_buffers": self.average_buffers,
            "num_updates": self.num_updates,
            "shadow": {k: v.detach().clone() for k, v in self.shadow.items()},
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        shadow = state["shadow"]
        missing = set(self.shadow) - set(shadow)
        unexpected = set(shadow) - set(self.shadow)
        if missing or unexpected:
            raise KeyError(f"EMA state mismatch: missing {sorted(missing)}, unexpected {sorted(unexpected)}")
        for k, v in shadow.items():
            if v.shape != self.shadow[k].shape:
                raise ValueError(f"EMA tensor {k!r} has shape {tuple(v.shape)}, expected {tuple(self.shadow[k].shape)}")
            self.shadow[k] = v.detach().to(self.shadow[k].device, self.shadow[k].dtype).clone()
        self.decay = float(state["decay"])
        self.warmup = bool(state.get("warmup", False))
        self.average_buffers = bool(state.get("average_buffers", True))
        self.num_updates = int(state["num_updates"])
