"""Small tensor helpers shared by processes, losses and samplers.

Everything here is shape-agnostic: a per-sample quantity of shape ``(B,)`` is broadcast against a
``(B, ...)`` tensor with :func:`append_dims` / :func:`bcast` (after k-diffusion's ``append_dims``).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

__all__ = [
    "append_dims",
    "bcast",
    "apply_mask",
    "expand_mask",
    "sum_except_batch",
    "masked_mean",
    "num_real",
    "randn_like",
    "as_time",
]


def append_dims(x: Tensor, target_dims: int) -> Tensor:
    """Append trailing singleton dims so ``x`` has ``target_dims`` dims (``(B,) -> (B, 1, 1, ...)``)."""
    missing = target_dims - x.dim()
    if missing < 0:
        raise ValueError(f"input has {x.dim()} dims but target_dims is {target_dims}, which is less")
    return x[(...,) + (None,) * missing]


def bcast(c: Tensor | float, like: Tensor) -> Tensor:
    """Broadcast a coefficient against ``like`` ``(B, ...)``.

    ``c`` may be a Python float, a ``(B,)`` per-sample tensor, or a tensor whose leading dims
    already match ``like`` (e.g. ``(B, D)`` per-entry coefficients of a product process)."""
    if not isinstance(c, Tensor):
        return torch.as_tensor(c, dtype=like.dtype, device=like.device)
    return append_dims(c.to(like.dtype), like.dim())


def expand_mask(mask: Tensor | None, like: Tensor) -> Tensor | None:
    """``mask`` (bool, broadcastable to ``like`` after appending trailing dims) expanded to ``like.shape``."""
    if mask is None:
        return None
    if mask.dtype != torch.bool:
        raise TypeError(f"mask must be a bool tensor, got {mask.dtype}")
    return append_dims(mask, like.dim()).expand(like.shape)


def apply_mask(x: Tensor, mask: Tensor | None) -> Tensor:
    """Zero ``x`` where ``mask`` is False (exact zeros); identity when ``mask`` is None."""
    if mask is None:
        return x
    return torch.where(expand_mask(mask, x), x, torch.zeros((), dtype=x.dtype, device=x.device))


def sum_except_batch(x: Tensor, mask: Tensor | None = None) -> Tensor:
    """``(B,)``: sum over every dim but the first, over real entries only."""
    return apply_mask(x, mask).reshape(x.shape[0], -1).sum(-1)


def num_real(like: Tensor, mask: Tensor | None = None) -> Tensor:
    """``(B,)`` float: number of real (unmasked) entries per sample."""
    if mask is None:
        n = math.prod(like.shape[1:])
        return torch.full((like.shape[0],), float(n), dtype=like.dtype, device=like.device)
    return expand_mask(mask, like).reshape(like.shape[0], -1).sum(-1).to(like.dtype)


def masked_mean(x: Tensor, mask: Tensor | None = None) -> Tensor:
    """Scalar mean of ``x`` over real entries (all entries of all samples)."""
    if mask is None:
        return x.mean()
    m = expand_mask(mask, x)
    return x[m].sum() / m.sum().clamp_min(1)


def randn_like(like: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """Standard normal with the shape/dtype/device of ``like``, drawn from ``generator``
    (on the generator's device, then moved)."""
    dev = generator.device if generator is not None else like.device
    dtype = like.dtype if like.is_floating_point() else torch.get_default_dtype()
    return torch.randn(like.shape, generator=generator, device=dev, dtype=dtype).to(like.device)


def as_time(t: Tensor | float, batch_size: int, like: Tensor | None = None) -> Tensor:
    """A ``(B,)`` float time tensor from a scalar or a ``(B,)`` tensor."""
    dtype = like.dtype if like is not None and like.is_floating_point() else torch.get_default_dtype()
    device = like.device if like is not None else None
    t = torch.as_tensor(t, dtype=dtype, device=device)
    if t.dim() == 0:
        t = t.expand(batch_size)
    return t
