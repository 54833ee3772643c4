"""Product CTMC on graphs: one CTMC over node classes and one over edge classes.

Operates on :class:`~graphdiff.states.GraphState` with categorical ``X`` ``(B, N)`` long and
``A`` ``(B, N, N)`` long (edge class 0 = no edge). Edges are noised on the strict upper triangle
and mirrored, so noisy graphs stay symmetric with a zero diagonal (DiGress, Vignac et al. 2023,
Sec. 3); padded nodes and the edges touching them stay class 0 and never change.

Samplers and losses see the two parts as components ``X`` ``(B, N)`` and ``A`` ``(B, M)`` with
``M = N (N - 1) / 2`` upper-triangle pairs (row-major ``torch.triu_indices(N, N, 1)`` order).
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor

from ...states import GraphState
from ..registry import process_from_config, register_process
from .base import CTMC

__all__ = ["GraphCTMC"]


@register_process("graph", kind="graph_ctmc")
class GraphCTMC:
    """Independent CTMCs on nodes and edges of dense categorical graphs.

    Args:
        node_process: CTMC over node classes (``Kx`` data classes).
        edge_process: CTMC over edge classes (``Ke`` data classes, class 0 = no edge).
    """

    component_names: tuple[str, ...] = ("X", "A")

    def __init__(self, node_process: CTMC, edge_process: CTMC):
        self.node_process = node_process
        self.edge_process = edge_process

    def __repr__(self) -> str:
        return f"GraphCTMC(node_process={self.node_process!r}, edge_process={self.edge_process!r})"

    def config(self) -> dict:
        return {"name": self.name, "node_process": self.node_process.config(), "edge_process": self.edge_process.config()}

    @classmethod
    def from_config(cls, config: dict) -> "GraphCTMC":
        return cls(process_from_config(config["node_process"]), process_from_config(config["edge_process"]))

    @property
    def components(self) -> list[CTMC]:
        return [self.node_process, self.edge_process]

    def time_grid(self, n: int, t_min: float = 0.0, device: torch.device | None = None) -> Tensor:
        """``(n + 1,)`` decreasing times from 1 to ``t_min``."""
        return self.node_process.time_grid(n, t_min, device)

    # ------------------------------------------------------------------ views
    @staticmethod
    def _triu(N: int, device: torch.device) -> tuple[Tensor, Tensor]:
        iu = torch.triu_indices(N, N, 1, device=device)
        return iu[0], iu[1]

    def split(self, state: GraphState) -> tuple[list[Tensor], list[Tensor]]:
        """``([X (B, N), A_up (B, M)], [node_mask, edge_mask_up])``."""
        if state.X.dim() != 2 or state.X.is_floating_point() or state.A.dim() != 3 or state.A.is_floating_point():
            raise ValueError("GraphCTMC needs categorical graphs: X (B, N) long and A (B, N, N) long")
        nm = state.node_mask
        i, j = self._triu(state.max_nodes, nm.device)
        return [state.X, state.A[:, i, j]], [nm, nm[:, i] & nm[:, j]]

    def join(self, parts: Sequence[Tensor], like: GraphState) -> GraphState:
        """Build a symmetric, zero-diagonal, zero-padded :class:`GraphState` from components."""
        nm = like.node_mask
        B, N = nm.shape
        i, j = self._triu(N, nm.device)
        X = torch.where(nm, parts[0], torch.zeros_like(parts[0]))
        up = torch.where(nm[:, i] & nm[:, j], parts[1], torch.zeros_like(parts[1]))
        A = torch.zeros(B, N, N, dtype=up.dtype, device=up.device)
        A[:, i, j] = up
        A[:, j, i] = up
        return GraphState(X, A, nm)

    def split_output(self, output: "tuple[Tensor, Tensor] | GraphState") -> list[Tensor]:
        """``(node_logits (B, N, Kx), edge_logits (B, N, N, Ke))`` -> ``[(B, N, Kx), (B, M, Ke)]``
        (edge logits read on the upper triangle)."""
        if isinstance(output, GraphState):
            node, edge = output.X, output.A
        else:
            node, edge = output
        i, j = self._triu(edge.shape[1], edge.device)
        return [node, edge[:, i, j]]

    def join_output(self, parts: Sequence[Tensor], like: GraphState) -> tuple[Tensor, Tensor]:
        """Inverse of :meth:`split_output`: ``[(B, N, Kx), (B, M, Ke)]`` -> ``(node (B, N, Kx),
        edge (B, N, N, Ke))`` with the edge logits mirrored (diagonal zero)."""
        B, N = like.node_mask.shape
        i, j = self._triu(N, parts[1].device)
        E = parts[1].new_zeros(B, N, N, parts[1].shape[-1])
        E[:, i, j] = parts[1]
        E[:, j, i] = parts[1]
        return parts[0], E

    # ------------------------------------------------------------------ process API
    def sample_marginal(self, state: GraphState, t: "float | Tensor", generator: torch.Generator | None = None) -> GraphState:
        """Noisy graph ``G_t ~ q_t(. | G_0)``: nodes and upper-triangle edges jump independently."""
        parts, masks = self.split(state)
        out = [p.sample_marginal(x, t, generator=generator, mask=m) for p, x, m in zip(self.components, parts, masks)]
        return self.join(out, state)

    def marginal(self, state: GraphState, t: "float | Tensor") -> tuple[Tensor, Tensor]:
        """``(q_t(X | X0) (B, N, Sx), q_t(A | A0) (B, N, N, Se))``."""
        return self.node_process.marginal(state.X, t), self.edge_process.marginal(state.A, t)

    def prior_sample(self, node_mask: Tensor, generator: torch.Generator | None = None) -> GraphState:
        """A graph drawn from the stationary laws for the given ``node_mask`` ``(B, N)``."""
        B, N = node_mask.shape
        i, j = self._triu(N, node_mask.device)
        X = self.node_process.prior_sample((B, N), generator=generator, device=node_mask.device)
        up = self.edge_process.prior_sample((B, i.numel()), generator=generator, device=node_mask.device)
        like = GraphState(X, torch.zeros(B, N, N, dtype=torch.long, device=node_mask.device), node_mask)
        return self.join([X, up], like)

    def prior_logp(self, state: GraphState) -> Tensor:
        """``(B,)`` log-probability under the stationary laws (real nodes, upper-triangle edges)."""
        parts, masks = self.split(state)
        return sum(p.prior_logp(x, m) for p, x, m in zip(self.components, parts, masks))
