"""Position-enhanced graph score network for the continuous (SDE / flow) family.

After GraphGDP's PGSN (Huang et al. 2022, "GraphGDP: Generative diffusion processes for
permutation invariant graph generation", ICDM; "position-enhanced graph score network"): at
every call, random-walk positional features and shortest-path distances are recomputed from the *noisy* adjacency (thresholded, or clamped with
``soft_adjacency``) and fed with the noisy node / edge values to a graph transformer that updates
node, edge and global channels; the edge output is symmetrised.

``net(state, t, **cond) -> GraphState`` with ``X`` ``(B, N, F)`` and ``A`` shaped like the input
(``(B, N, N)`` or ``(B, N, N, C)``): symmetric, zero diagonal, zero at padding. The network output
is the raw model output; the loss / process decides whether it is a score, noise or ``x0``.
"""

from __future__ import annotations

from typing import Mapping

import torch
from torch import Tensor, nn

from ..errors import InvalidGraphError, unknown_name
from ..states import GraphState, pair_mask
from .layers import GlobalConditioning, batch_time
from .positional import StructuralFeatures
from .transformer import ConfigMixin, GraphTransformer, check_node_mask

__all__ = ["GraphScoreNetwork", "PGSN", "CHANNEL_REDUCTIONS"]

CHANNEL_REDUCTIONS = ("sum", "max")


class GraphScoreNetwork(ConfigMixin, nn.Module):
    """Position-enhanced graph score network (PGSN) on dense continuous graphs.

    Args:
        num_node_features: ``F``, width of the continuous node features ``X`` (may be 0).
        num_edge_channels: ``C``; the input ``A`` is ``(B, N, N)`` when ``C == 1`` (output has the
            same shape) or ``(B, N, N, C)``.
        K: random-walk length for return probabilities, RRWP and distances ``0..K``.
        hidden, edge_hidden, global_hidden: node / edge / global channel widths.
        depth: transformer layers; heads: attention heads; ff_mult: feed-forward expansion.
        dropout: dropout rate; act: activation name.
        time_embedding: ``"sinusoidal"`` or ``"fourier"``; time_dim: its width.
        threshold: an entry is an edge of the positional graph iff its (channel-reduced) value
            ``> threshold`` (0.5 for ``{0, 1}`` data, 0 for data centred on ``{-1, 1}``).
        soft_adjacency: random walks on ``clamp(A, 0, 1)`` (entries below ``threshold`` zeroed)
            instead of the thresholded graph.
        channel_reduce: how edge channels become one positional adjacency: ``"sum"`` or ``"max"``.
        distance, cycles, spectral: extra structural features (see
            :class:`~graphdiff.nn.positional.StructuralFeatures`).
        cond_dims: names and widths of continuous global conditions passed as ``**cond``;
        cond_classes: names and class counts of label conditions. Any condition may be left
            out (or NaN / label < 0 per graph): see :class:`~graphdiff.nn.layers.GlobalConditioning`.
        cond_film: a conditional network also FiLMs the node and edge channels before every layer
            by its own zero-initialised projection of a condition embedding
            (:class:`~graphdiff.nn.layers.ConditionFiLM`); off by default.
    """

    def __init__(
        self,
        num_node_features: int,
        num_edge_channels: int = 1,
        K: int = 8,
        hidden: int = 64,
        edge_hidden: int = 32,
        global_hidden: int = 32,
        depth: int = 3,
        heads: int = 4,
        ff_mult: int = 2,
        dropout: float = 0.0,
        act: str = "silu",
        time_embedding: str = "sinusoidal",
        time_dim: int = 64,
        threshold: float = 0.5,
        soft_adjacency: bool = False,
        channel_reduce: str = "sum",
        distance: bool = True,
        cycles: bool = False,
        spectral: int = 0,
        cond_dims: Mapping[str, int] | None = None,
        cond_classes: Mapping[str, int] | None = None,
        cond_film: bool = False,
    ) -> None:
        super().__init__()
        if num_node_features < 0 or num_edge_channels < 1:
            raise ValueError("num_node_features must be >= 0 and num_edge_channels >= 1")
        if channel_reduce not in CHANNEL_REDUCTIONS:
            raise unknown_name("channel reduction", channel_reduce, CHANNEL_REDUCTIONS)
        self._record_config(
            num_node_features=num_node_features, num_edge_channels=num_edge_channels, K=K, hidden=hidden,
            edge_hidden=edge_hidden, global_hidden=global_hidden, depth=depth, heads=heads, ff_mult=ff_mult,
            dropout=dropout, act=act, time_embedding=time_embedding, time_dim=time_dim, threshold=threshold,
            soft_adjacency=soft_adjacency, channel_reduce=channel_reduce, distance=distance, cycles=cycles,
            spectral=spectral, cond_dims=dict(cond_dims or {}),
            cond_classes=dict(cond_classes or {}),
        )
        if cond_film:  # recorded only when on, so the configs of other models stay as they were
            self.config["cond_film"] = True
        self.num_node_features, self.num_edge_channels = num_node_features, num_edge_channels
        self.channel_reduce = channel_reduce
        self.features = StructuralFeatures(K=K, threshold=threshold, soft=soft_adjacency, distance=distance,
                                           cycles=cycles, spectral=spectral)
        self.conditioning = GlobalConditioning(time_embedding, time_dim, global_hidden, self.features.graph_dim,
                                               cond_dims, act, cond_classes, film=cond_film)
        self.backbone = GraphTransformer(
            node_in=num_node_features + self.features.node_dim,
            edge_in=num_edge_channels + self.features.edge_dim,
            global_in=self.conditioning.out_dim,
            node_out=num_node_features,
            edge_out=num_edge_channels,
            hidden=hidden, edge_hidden=edge_hidden, global_hidden=global_hidden, depth=depth, heads=heads,
            ff_mult=ff_mult, dropout=dropout, act=act, cond_dim=self.conditioning.film_dim,
        )

    def positional_adjacency(self, A: Tensor) -> Tensor:
        """The scalar ``(B, N, N)`` adjacency the positional features are computed from."""
        if A.dim() == 3:
            return A
        return A.sum(-1) if self.channel_reduce == "sum" else A.amax(-1)

    def forward(self, state: GraphState, t: Tensor | float, **cond: Tensor) -> GraphState:
        """``state.X`` ``(B, N, F)`` float, ``state.A`` ``(B, N, N)`` or ``(B, N, N, C)`` float,
        ``t`` ``(B,)`` -> :class:`GraphState` of the same shapes (raw network output)."""
        X, A, nm = state.X, state.A, state.node_mask
        if X.dim() != 3 or not X.is_floating_point() or X.shape[-1] != self.num_node_features:
            raise InvalidGraphError(f"X must be float (B, N, {self.num_node_features}), got {tuple(X.shape)} {X.dtype}")
        squeeze = A.dim() == 3
        if squeeze and self.num_edge_channels != 1:
            raise InvalidGraphError(f"A is (B, N, N) but the network has num_edge_channels={self.num_edge_channels}")
        if not squeeze and (A.dim() != 4 or A.shape[-1] != self.num_edge_channels):
            raise InvalidGraphError(f"A must be (B, N, N, {self.num_edge_channels}), got {tuple(A.shape)}")
        if not A.is_floating_point():
            raise InvalidGraphError(f"A must be a float tensor for the continuous score network, got {A.dtype}")
        check_node_mask(X, A, nm)
        B, N = nm.shape
        dtype = next(self.parameters()).dtype
        X, A = X.to(dtype), A.to(dtype)
        # torch.where rather than multiplication, so NaN / Inf at padding cannot leak into real outputs
        pm = pair_mask(nm)  # off-diagonal real pairs
        A = torch.where(pm if squeeze else pm.unsqueeze(-1), A, torch.zeros((), dtype=dtype, device=A.device))
        X = torch.where(nm.unsqueeze(-1), X, torch.zeros((), dtype=dtype, device=X.device))
        Ac = A.unsqueeze(-1) if squeeze else A

        feats = self.features(self.positional_adjacency(A), nm)
        x_in = torch.cat([X, feats.node.to(dtype)], -1)
        e_in = torch.cat([Ac, feats.edge.to(dtype)], -1)
        y_in, c = self.conditioning.features(batch_time(t, B, X.device).to(dtype), feats.graph.to(dtype), cond)
        x_out, e_out = self.backbone(x_in, e_in, y_in, nm, c)
        return GraphState(x_out, e_out[..., 0] if squeeze else e_out, nm)


PGSN = GraphScoreNetwork
