"""Graph-transformer denoiser for the discrete (CTMC / D3PM) family.

After DiGress (Vignac et al. 2023, Sec. 4 and App. B): categorical node types and edge classes
of the noisy graph ``G_t`` enter as one-hots, together with structural features of the noisy
graph's binary adjacency ``E_t != 0`` — RRWP (GRIT, Ma et al. 2023; as used by DeFoG, Qin et al.
2025), optional shortest-path distances, cycle counts and spectral features (DiGress's "extra
features") — and a graph transformer predicts logits of the clean node and edge classes.

``net(state, t, **cond) -> GraphState`` with ``X`` = node logits ``(B, N, num_node_classes)`` and
``A`` = edge logits ``(B, N, N, num_edge_classes)`` (symmetric; zero on the diagonal and at
padding, where they carry no meaning).
"""

from __future__ import annotations

from typing import Mapping

import torch
from torch import Tensor, nn

from ..errors import InvalidGraphError
from ..states import GraphState, pair_mask
from .layers import GlobalConditioning, batch_time
from .positional import StructuralFeatures
from .transformer import ConfigMixin, GraphTransformer, check_node_mask

__all__ = ["GraphTransformerDenoiser"]


class GraphTransformerDenoiser(ConfigMixin, nn.Module):
    """Predicts clean-graph class logits from a noisy categorical graph.

    Args:
        num_node_classes: node types (1 for graphs without node types).
        num_edge_classes: edge classes including class 0 = no edge (2 for plain graphs).
        K: RRWP length ``[I, M, ..., M^(K-1)]`` and return probabilities ``diag(M^k)``, ``k <= K``.
        hidden, edge_hidden, global_hidden, depth, heads, ff_mult, dropout, act: backbone sizes.
        time_embedding: ``"sinusoidal"`` or ``"fourier"``; time_dim: its width.
        distance: add shortest-path one-hots ``0..K``; cycles: add cycle counts (DiGress);
        spectral: number of Laplacian eigenvalues to add (0 = off).
        cond_dims: names and widths of continuous global conditions passed as ``**cond``;
        cond_classes: names and class counts of label conditions. Any condition may be left
            out (or NaN / label < 0 per graph): see :class:`~graphdiff.nn.layers.GlobalConditioning`.
        cond_film: a conditional network also FiLMs the node and edge channels before every layer
            by its own zero-initialised projection of a condition embedding
            (:class:`~graphdiff.nn.layers.ConditionFiLM`); off by default.

    Inputs ``X`` ``(B, N)`` long / ``E`` ``(B, N, N)`` long are one-hot encoded; float
    ``(B, N, Cx)`` / ``(B, N, N, Ce)`` class probabilities are also accepted (the positional graph
    is then ``P(edge) = 1 - E[..., 0] > 0.5``).
    """

    def __init__(
        self,
        num_node_classes: int,
        num_edge_classes: int = 2,
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
        distance: bool = False,
        cycles: bool = True,
        spectral: int = 0,
        cond_dims: Mapping[str, int] | None = None,
        cond_classes: Mapping[str, int] | None = None,
        cond_film: bool = False,
    ) -> None:
        super().__init__()
        if num_node_classes < 1 or num_edge_classes < 2:
            raise ValueError("num_node_classes must be >= 1 and num_edge_classes >= 2 (class 0 = no edge)")
        self._record_config(
            num_node_classes=num_node_classes, num_edge_classes=num_edge_classes, K=K, hidden=hidden,
            edge_hidden=edge_hidden, global_hidden=global_hidden, depth=depth, heads=heads, ff_mult=ff_mult,
            dropout=dropout, act=act, time_embedding=time_embedding, time_dim=time_dim, distance=distance,
            cycles=cycles, spectral=spectral, cond_dims=dict(cond_dims or {}),
            cond_classes=dict(cond_classes or {}),
        )
        if cond_film:  # recorded only when on, so the configs of other models stay as they were
            self.config["cond_film"] = True
        self.num_node_classes, self.num_edge_classes = num_node_classes, num_edge_classes
        self.features = StructuralFeatures(K=K, threshold=0.5, soft=False, distance=distance, cycles=cycles,
                                           spectral=spectral)
        self.conditioning = GlobalConditioning(time_embedding, time_dim, global_hidden, self.features.graph_dim,
                                               cond_dims, act, cond_classes, film=cond_film)
        self.backbone = GraphTransformer(
            node_in=num_node_classes + self.features.node_dim,
            edge_in=num_edge_classes + self.features.edge_dim,
            global_in=self.conditioning.out_dim,
            node_out=num_node_classes,
            edge_out=num_edge_classes,
            hidden=hidden, edge_hidden=edge_hidden, global_hidden=global_hidden, depth=depth, heads=heads,
            ff_mult=ff_mult, dropout=dropout, act=act, cond_dim=self.conditioning.film_dim,
        )

    def encode(self, state: GraphState) -> tuple[Tensor, Tensor, Tensor]:
        """One-hot (or probability) node ``(B, N, Cx)`` and edge ``(B, N, N, Ce)`` inputs, zero at
        padding (edges also on the diagonal), and the binary adjacency ``(B, N, N)``."""
        X, E, nm = state.X, state.A, state.node_mask
        check_node_mask(X, E, nm)
        dtype = next(self.parameters()).dtype
        pm = pair_mask(nm)
        Cx, Ce = self.num_node_classes, self.num_edge_classes
        if X.dim() == 2 and not X.is_floating_point():
            X = torch.where(nm, X, torch.zeros_like(X))
            if X.numel() and (X.min() < 0 or X.max() >= Cx):
                raise InvalidGraphError(f"node classes must lie in [0, {Cx}), got range [{int(X.min())}, {int(X.max())}]")
            Xh = nn.functional.one_hot(X.long(), Cx).to(dtype)
        elif X.dim() == 3 and X.is_floating_point() and X.shape[-1] == Cx:
            Xh = X
            dtype = X.dtype
        else:
            raise InvalidGraphError(f"X must be (B, N) long or (B, N, {Cx}) float, got {tuple(X.shape)} {X.dtype}")
        if E.dim() == 3 and not E.is_floating_point():
            E = torch.where(pm, E, torch.zeros_like(E))
            if E.numel() and (E.min() < 0 or E.max() >= Ce):
                raise InvalidGraphError(f"edge classes must lie in [0, {Ce}), got range [{int(E.min())}, {int(E.max())}]")
            Eh = nn.functional.one_hot(E.long(), Ce).to(dtype)
            hard = E != 0
        elif E.dim() == 4 and E.is_floating_point() and E.shape[-1] == Ce:
            Eh = E.to(dtype)
            hard = (1 - Eh[..., 0]) > 0.5
        else:
            raise InvalidGraphError(f"E must be (B, N, N) long or (B, N, N, {Ce}) float, got {tuple(E.shape)} {E.dtype}")
        # torch.where rather than multiplication, so NaN / Inf at padding cannot leak into real outputs
        Xh = torch.where(nm.unsqueeze(-1), Xh.to(dtype), torch.zeros((), dtype=dtype, device=Xh.device))
        Eh = torch.where(pm.unsqueeze(-1), Eh, torch.zeros((), dtype=dtype, device=Eh.device))
        return Xh, Eh, hard & pm

    def forward(self, state: GraphState, t: Tensor | float, **cond: Tensor) -> GraphState:
        """Noisy categorical ``state`` and ``t`` ``(B,)`` -> :class:`GraphState` of logits:
        ``X`` ``(B, N, num_node_classes)``, ``A`` ``(B, N, N, num_edge_classes)``."""
        nm = state.node_mask
        Xh, Eh, hard = self.encode(state)
        dtype = Xh.dtype
        feats = self.features(hard.to(dtype), nm, hard=hard)
        x_in = torch.cat([Xh, feats.node.to(dtype)], -1)
        e_in = torch.cat([Eh, feats.edge.to(dtype)], -1)
        y_in, c = self.conditioning.features(batch_time(t, nm.shape[0], Xh.device).to(dtype), feats.graph.to(dtype), cond)
        x_out, e_out = self.backbone(x_in, e_in, y_in, nm, c)
        return GraphState(x_out, e_out, nm)
