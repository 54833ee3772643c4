"""Product of independent processes, one per named component of a graph state (GDSS, Jo et al.
2022, Sec. 3: a joint SDE over node features ``X`` and adjacency ``A``).

``ProductProcess({"X": VESDE(...), "A": VPSDE(...)}, symmetric={"A"})`` diffuses each component with
its own process under a shared time ``t``. Samplers only ever see flat tensors:
:meth:`ProductProcess.pack` turns a :class:`~graphdiff.states.GraphState` into ``(flat (B, D),
flat_mask (B, D))`` (``D = N F + N N C``: node components first, in the order given) and
:meth:`ProductProcess.unpack` inverts it exactly. Packing records the layout (``N`` and each
component's trailing shape); coefficient methods on flat tensors (``alpha(t)``, ``sigma(t)``,
``diffusion(t)``, ...) return per-entry ``(B, D)`` tensors for that layout.

Component kinds: ``"X"`` is node-level (``(B, N, ...)``, masked by ``node_mask``); every other
component is pair-level (``(B, N, N, ...)``, masked by the edge mask: both endpoints real,
off-diagonal).

Symmetric noise (GDSS convention): for a component in ``symmetric``, draw the strict upper
triangle i.i.d. ``N(0, 1)``, mirror it, and zero the diagonal. Every off-diagonal entry then has
variance 1 (``A_ij = A_ji`` are the *same* draw, so the pair carries one degree of freedom), the
diagonal has variance 0. Densities (:meth:`prior_logp`) and divergences count each unordered pair
once: :meth:`density_weight` is 1/2 on symmetric entries.
"""

from __future__ import annotations

import math
from typing import Callable, Iterable, Mapping

import torch
from torch import Tensor

from ..errors import InvalidGraphError
from ..states import GraphState, pair_mask
from ..utils import apply_mask, randn_like
from .base import Marginal, Process, ReverseSDE, ScoreFn
from .registry import process_from_config, register_process

__all__ = ["ProductProcess"]

_NODE_COMPONENTS = ("X",)
_VALID_COMPONENTS = ("X", "A")


@register_process("product", kind="product")
class ProductProcess(Process):
    """Independent processes on the components of a :class:`GraphState`, sharing time ``t``.

    Args:
        components: mapping ``{"X": process, "A": process}`` (a subset is allowed: components
            not listed are left untouched by :meth:`unpack` — it fills them with zeros).
        symmetric: names of pair components whose noise is symmetric with zero diagonal.
    """

    def __init__(self, components: Mapping[str, Process], symmetric: Iterable[str] = ()):
        if not components:
            raise ValueError("ProductProcess needs at least one component")
        for name in components:
            if name not in _VALID_COMPONENTS:
                raise ValueError(f"unknown GraphState component {name!r}; valid choices: {', '.join(_VALID_COMPONENTS)}")
        self.components: dict[str, Process] = dict(components)
        self.symmetric = frozenset(symmetric)
        for name in self.symmetric:
            if name not in self.components or name in _NODE_COMPONENTS:
                raise ValueError(f"symmetric component {name!r} must be a pair component among {sorted(self.components)}")
        Ts = {p.T for p in self.components.values()}
        if len(Ts) != 1:
            raise ValueError(f"all components must share the end time T, got {sorted(Ts)}")
        self.T = Ts.pop()
        self.eps = max(p.eps for p in self.components.values())
        self.num_nodes: int | None = None
        self.trailing: dict[str, tuple[int, ...]] = {}

    # ----------------------------------------------------------------- saving
    def config(self) -> dict:
        """``{"name": "product", "components": {name: process config}, "symmetric": [...]}``."""
        return {"name": self.name, "components": {k: p.config() for k, p in self.components.items()},
                "symmetric": sorted(self.symmetric)}

    @classmethod
    def from_config(cls, config: dict) -> "ProductProcess":
        comps = {k: process_from_config(c) for k, c in config["components"].items()}
        return cls(comps, symmetric=config.get("symmetric", ()))

    # ----------------------------------------------------------------- layout
    def _sizes(self) -> list[tuple[str, int]]:
        if self.num_nodes is None:
            raise RuntimeError("ProductProcess has no layout yet: call pack(state) (or set_layout) before using flat tensors")
        N = self.num_nodes
        out = []
        for name in self.components:
            lead = N if name in _NODE_COMPONENTS else N * N
            out.append((name, lead * math.prod(self.trailing[name])))
        return out

    @property
    def dim(self) -> int:
        """Flat size ``D`` of the current layout."""
        return sum(s for _, s in self._sizes())

    def set_layout(self, num_nodes: int, trailing: Mapping[str, tuple[int, ...]]) -> None:
        """Fix the flat layout: ``num_nodes`` ``N`` and each component's trailing shape
        (``()`` for ``(B, N, N)`` adjacency, ``(F,)`` for ``(B, N, F)`` features)."""
        missing = set(self.components) - set(trailing)
        if missing:
            raise ValueError(f"set_layout: missing trailing shapes for {sorted(missing)}")
        self.num_nodes = int(num_nodes)
        self.trailing = {k: tuple(int(d) for d in trailing[k]) for k in self.components}

    def _component_masks(self, node_mask: Tensor) -> dict[str, Tensor]:
        pair = pair_mask(node_mask)
        return {name: node_mask if name in _NODE_COMPONENTS else pair for name in self.components}

    def pack(self, state: GraphState) -> tuple[Tensor, Tensor]:
        """``state -> (flat (B, D) float, flat_mask (B, D) bool)``; records the layout."""
        B, N = state.node_mask.shape
        trailing = {}
        for name in self.components:
            x = getattr(state, name)
            if not x.is_floating_point():
                raise InvalidGraphError(f"component {name} must be a float tensor for continuous diffusion, got {x.dtype}")
            lead = 2 if name in _NODE_COMPONENTS else 3
            if tuple(x.shape[1:lead]) != ((N,) if lead == 2 else (N, N)):
                raise InvalidGraphError(f"component {name} has shape {tuple(x.shape)}, expected leading (B, N{', N' if lead == 3 else ''}) with N={N}")
            trailing[name] = tuple(x.shape[lead:])
        self.set_layout(N, trailing)
        masks = self._component_masks(state.node_mask)
        flats, fmasks = [], []
        for name in self.components:
            x = getattr(state, name)
            m = masks[name]
            m = m.reshape(m.shape + (1,) * (x.dim() - m.dim())).expand(x.shape)
            flats.append(x.reshape(B, -1))
            fmasks.append(m.reshape(B, -1))
        return torch.cat(flats, 1), torch.cat(fmasks, 1)

    def flat_mask(self, node_mask: Tensor) -> Tensor:
        """``(B, D)`` bool mask of the current layout for ``node_mask`` ``(B, N)``."""
        self._check_nodes(node_mask.shape[1])
        B = node_mask.shape[0]
        masks = self._component_masks(node_mask)
        out = []
        for name in self.components:
            m = masks[name]
            shape = m.shape + self.trailing[name]
            out.append(m.reshape(m.shape + (1,) * len(self.trailing[name])).expand(shape).reshape(B, -1))
        return torch.cat(out, 1)

    def _check_nodes(self, N: int) -> None:
        if self.num_nodes is None:
            raise RuntimeError("ProductProcess has no layout yet: call pack(state) (or set_layout) first")
        if N != self.num_nodes:
            raise InvalidGraphError(f"layout has N={self.num_nodes} nodes but got N={N}; call pack/set_layout again")

    def split(self, flat: Tensor) -> dict[str, Tensor]:
        """Flat ``(B, D)`` -> ``{name: (B, N[, N], ...)}`` views for the current layout."""
        B = flat.shape[0]
        N = self.num_nodes
        if flat.shape[1:] != (self.dim,):
            raise ValueError(f"flat tensor has shape {tuple(flat.shape)}, expected (B, {self.dim})")
        out, start = {}, 0
        for name, size in self._sizes():
            lead = (N,) if name in _NODE_COMPONENTS else (N, N)
            out[name] = flat[:, start:start + size].reshape((B,) + lead + self.trailing[name])
            start += size
        return out

    def merge(self, parts: Mapping[str, Tensor]) -> Tensor:
        """Inverse of :meth:`split`."""
        B = next(iter(parts.values())).shape[0]
        return torch.cat([parts[name].reshape(B, -1) for name in self.components], 1)

    def unpack(self, flat: Tensor, node_mask: Tensor) -> GraphState:
        """Flat ``(B, D)`` -> :class:`GraphState` (components not diffused are zeros)."""
        self._check_nodes(node_mask.shape[1])
        parts = self.split(flat)
        B, N = node_mask.shape
        X = parts.get("X", flat.new_zeros(B, N, 0))
        A = parts.get("A", flat.new_zeros(B, N, N))
        return GraphState(X, A, node_mask)

    # ----------------------------------------------------------------- per-entry coefficients
    def _per_entry(self, fn_name: str, t: Tensor) -> Tensor:
        cols = []
        for name, size in self._sizes():
            c = getattr(self.components[name], fn_name)(t)
            cols.append(c[:, None].expand(c.shape[0], size))
        return torch.cat(cols, 1)

    def alpha(self, t: Tensor) -> Tensor:
        return self._per_entry("alpha", t)

    def sigma(self, t: Tensor) -> Tensor:
        return self._per_entry("sigma", t)

    def log_snr(self, t: Tensor) -> Tensor:
        return self._per_entry("log_snr", t)

    def d_log_snr(self, t: Tensor) -> Tensor:
        return self._per_entry("d_log_snr", t)

    def d_alpha(self, t: Tensor) -> Tensor:
        return self._per_entry("d_alpha", t)

    def d_sigma(self, t: Tensor) -> Tensor:
        return self._per_entry("d_sigma", t)

    def drift_coef(self, t: Tensor) -> Tensor:
        return self._per_entry("drift_coef", t)

    def diffusion(self, t: Tensor) -> Tensor:
        return self._per_entry("diffusion", t)

    def drift(self, x: Tensor, t: Tensor) -> Tensor:
        return self.drift_coef(t) * x

    def reverse(self, score_fn: ScoreFn, probability_flow: bool = False) -> ReverseSDE:
        """Reverse SDE / PF ODE with per-entry coefficients (every component must be an SDE)."""
        return ReverseSDE(self, score_fn, probability_flow)  # type: ignore[arg-type]

    def prior_scale(self, like: Tensor) -> Tensor:
        """``(D,)`` per-entry prior std."""
        return torch.cat([torch.full((size,), float(self.components[name].prior_std), dtype=like.dtype, device=like.device) for name, size in self._sizes()])

    def density_weight(self, like: Tensor) -> Tensor:
        """``(D,)``: 1/2 on entries of symmetric components (each unordered pair appears twice), else 1."""
        return torch.cat([torch.full((size,), 0.5 if name in self.symmetric else 1.0, dtype=like.dtype, device=like.device) for name, size in self._sizes()])

    # ----------------------------------------------------------------- sampling
    def noise(self, like: Tensor, generator: torch.Generator | None = None, mask: Tensor | None = None) -> Tensor:
        """Flat ``(B, D)`` standard noise: symmetric with zero diagonal on ``symmetric``
        components, 0 where ``mask`` is False (padding, and the diagonal of pair components)."""
        parts = self.split(randn_like(like, generator))
        for name in self.symmetric:
            z = parts[name]
            zt = z.movedim((1, 2), (-2, -1))
            up = torch.triu(zt, diagonal=1)
            parts[name] = (up + up.transpose(-1, -2)).movedim((-2, -1), (1, 2))
        return apply_mask(self.merge(parts), mask)

    def marginal(self, x0: Tensor, t: Tensor) -> Marginal:
        return Marginal(self.alpha(t) * x0, self.sigma(t))

    def prior_sample(self, like: Tensor, generator: torch.Generator | None = None, mask: Tensor | None = None) -> Tensor:
        return self.prior_scale(like) * self.noise(like, generator, mask)

    def prior_logp(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        """``(B,)`` prior log-density over the independent degrees of freedom (real entries;
        one per unordered pair of a symmetric component)."""
        s = self.prior_scale(x)
        w = self.density_weight(x) * (torch.ones_like(x) if mask is None else mask.to(x.dtype))
        return (w * (-0.5 * torch.log(2 * math.pi * s**2) - 0.5 * x**2 / s**2)).sum(-1)

    def flat_fn(self, fn: Callable[[GraphState, Tensor], GraphState], node_mask: Tensor) -> Callable[[Tensor, Tensor], Tensor]:
        """Wrap a network on graph states, ``fn(state, t) -> GraphState``, into the flat
        ``(x (B, D), t (B,)) -> (B, D)`` function that losses and samplers take::

            flat, mask = proc.pack(state)
            loss = dsm_loss(proc.flat_fn(net, state.node_mask), proc, flat, mask=mask)
        """
        def wrapped(flat: Tensor, t: Tensor) -> Tensor:
            out = fn(self.unpack(flat, node_mask), t)
            return self.merge({name: getattr(out, name) for name in self.components})

        return wrapped

    def state_noise(self, state: GraphState, generator: torch.Generator | None = None) -> GraphState:
        """Structured noise shaped like ``state`` (packs it first)."""
        flat, m = self.pack(state)
        return self.unpack(self.noise(flat, generator, m), state.node_mask)

    def __repr__(self) -> str:
        inner = ", ".join(f"{k!r}: {v!r}" for k, v in self.components.items())
        return f"ProductProcess({{{inner}}}, symmetric={sorted(self.symmetric)})"
