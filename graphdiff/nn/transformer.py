"""The graph-transformer backbone shared by the continuous score network and the discrete
denoiser, and the small config mixin that both use for checkpoints.

:class:`GraphTransformer` maps node inputs ``(B, N, Fx)``, edge inputs ``(B, N, N, Fe)`` and a
global input ``(B, Fy)`` through input MLPs, ``depth`` :class:`~graphdiff.nn.layers.GraphTransformerLayer`
and output MLPs to node outputs ``(B, N, Ox)`` and edge outputs ``(B, N, N, Oe)``; edge outputs are
symmetrised ``(out + out^T) / 2`` with a zero diagonal, and everything at padding is zero
(DiGress ``GraphTransformer``, Vignac et al. 2023, App. B.1).
"""

from __future__ import annotations

import json
from typing import Any, Mapping

import torch
from torch import Tensor, nn

from ..errors import InvalidGraphError
from ..states import pair_mask
from .layers import MLP, ConditionFiLM, GraphTransformerLayer

__all__ = ["GraphTransformer", "ConfigMixin", "symmetrize_edges", "check_node_mask"]


def check_node_mask(X: Tensor, A: Tensor, node_mask: Tensor) -> None:
    """Raise :class:`InvalidGraphError` unless ``node_mask`` is a bool ``(B, N)`` tensor matching the
    leading dims of ``X`` (``(B, N, ...)``) and ``A`` (``(B, N, N, ...)``)."""
    if node_mask.dtype != torch.bool:
        raise InvalidGraphError(f"node_mask must be a bool tensor, got {node_mask.dtype}; pass node_mask.bool()")
    if node_mask.dim() != 2:
        raise InvalidGraphError(f"node_mask must be (B, N), got {tuple(node_mask.shape)}")
    B, N = node_mask.shape
    if X.dim() < 2 or tuple(X.shape[:2]) != (B, N):
        raise InvalidGraphError(f"X {tuple(X.shape)} does not match node_mask (B, N) = {(B, N)}")
    if A.dim() < 3 or tuple(A.shape[:3]) != (B, N, N):
        raise InvalidGraphError(f"A {tuple(A.shape)} does not match node_mask: expected (B, N, N, ...) = {(B, N, N)}")


def symmetrize_edges(e: Tensor, node_mask: Tensor) -> Tensor:
    """``(e + e^T) / 2`` over the two node axes of ``e`` ``(B, N, N, C)``, zero on the diagonal and
    on pairs touching a padded node."""
    pm = pair_mask(node_mask)
    return 0.5 * (e + e.transpose(1, 2)) * pm.unsqueeze(-1).to(e.dtype)


class ConfigMixin:
    """Records constructor keyword arguments as a JSON-able :attr:`config` dict (diffusers-style) so
    a checkpoint stores ``config`` next to the weights and :meth:`from_config` rebuilds the net."""

    config: dict[str, Any]

    def _record_config(self, **kwargs: Any) -> None:
        cfg = {k: (list(v) if isinstance(v, tuple) else v) for k, v in kwargs.items()}
        json.dumps(cfg)  # fail early if not JSON-able
        self.config = cfg

    @classmethod
    def from_config(cls, config: Mapping[str, Any]):
        """Rebuild from :attr:`config` (unknown keys raise ``TypeError``)."""
        return cls(**dict(config))


class GraphTransformer(nn.Module):
    """Input MLPs -> ``depth`` graph-transformer layers -> output MLPs.

    Args:
        node_in, edge_in, global_in: input widths ``Fx``, ``Fe``, ``Fy``.
        node_out, edge_out: output widths (``node_out`` may be 0).
        hidden, edge_hidden, global_hidden: channel widths ``dx``, ``de``, ``dy``.
        depth: number of layers; heads: attention heads (divide ``hidden``).
        ff_mult: feed-forward expansion; dropout; act: activation name.
        cond_dim: width of a per-graph condition embedding ``c`` that FiLMs the node and edge
            channels before every layer (:class:`~graphdiff.nn.layers.ConditionFiLM`, zero at init);
            0 = none (the default).

    ``forward(x (B,N,Fx), e (B,N,N,Fe), y (B,Fy), node_mask (B,N), c=None) -> (x_out, e_out)``.
    """

    def __init__(self, node_in: int, edge_in: int, global_in: int, node_out: int, edge_out: int,
                 hidden: int = 64, edge_hidden: int = 32, global_hidden: int = 32, depth: int = 3,
                 heads: int = 4, ff_mult: int = 2, dropout: float = 0.0, act: str = "silu",
                 cond_dim: int = 0) -> None:
        super().__init__()
        if depth < 1:
            raise ValueError(f"depth must be >= 1, got {depth}")
        self.mlp_in_x = MLP(node_in, hidden, hidden, 2, act, act_last=True)
        self.mlp_in_e = MLP(edge_in, edge_hidden, edge_hidden, 2, act, act_last=True)
        self.mlp_in_y = MLP(global_in, global_hidden, global_hidden, 2, act, act_last=True)
        self.layers = nn.ModuleList(
            GraphTransformerLayer(hidden, edge_hidden, global_hidden, heads, ff_mult, dropout, act,
                                  update_global=i < depth - 1)
            for i in range(depth)
        )
        self.node_out = node_out
        self.mlp_out_x = MLP(hidden, hidden, node_out, 2, act) if node_out > 0 else None
        self.mlp_out_e = MLP(edge_hidden, edge_hidden, edge_out, 2, act)
        self.cond_film = ConditionFiLM(cond_dim, hidden, edge_hidden, depth) if cond_dim > 0 else None

    def forward(self, x: Tensor, e: Tensor, y: Tensor, node_mask: Tensor,
                c: Tensor | None = None) -> tuple[Tensor, Tensor]:
        pmask = pair_mask(node_mask, diagonal=True)
        h = self.mlp_in_x(x, node_mask)
        e = self.mlp_in_e(e, pmask)
        e = 0.5 * (e + e.transpose(1, 2))
        y = self.mlp_in_y(y)
        film = self.cond_film
        if film is not None:
            if c is None:
                raise ValueError("this backbone has per-layer conditioning (cond_dim > 0): pass the condition embedding c")
            xm, pm = node_mask.unsqueeze(-1).to(h.dtype), pmask.unsqueeze(-1).to(h.dtype)
        for i, layer in enumerate(self.layers):
            if film is not None:
                h, e = film(i, c, h, e, xm, pm)
            h, e, y = layer(h, e, y, node_mask)
        x_out = self.mlp_out_x(h, node_mask) if self.mlp_out_x is not None else h.new_zeros(h.shape[:2] + (0,))
        e_out = symmetrize_edges(self.mlp_out_e(e), node_mask)
        return x_out, e_out
