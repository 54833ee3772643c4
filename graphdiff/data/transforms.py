"""Dense graph batches -> the tensors a model family works on, and back.

* :class:`GraphEncoding` (continuous SDE family): a graph as float node features ``X`` ``(B, N, F)``
  and adjacency ``A`` ``(B, N, N)``, optionally centred on ``[-1, 1]``; decoding thresholds it back
  (see :mod:`graphdiff.pipelines.continuous` for the GDSS / GraphGDP conventions).
* :func:`to_categorical` (discrete CTMC family): node classes ``X`` ``(B, N)`` long and edge classes
  ``A`` ``(B, N, N)`` long, class 0 = no edge.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import Tensor, nn

from ..errors import InvalidGraphError, unknown_name
from ..states import GraphState, pair_mask

__all__ = ["GraphEncoding", "NODE_FEATURES", "to_categorical"]

#: node feature encodings of :class:`GraphEncoding`
NODE_FEATURES = ("atoms", "degree", "categorical", "given", "none")


# ----------------------------------------------------------------------------- continuous
def _max_or_zero(t: Tensor) -> int:
    return int(t.max()) if t.numel() else 0


def _symmetric_from_upper(A: Tensor) -> Tensor:
    """Mirror the strict upper triangle of ``(B, N, N)`` ``A`` (zero diagonal)."""
    up = torch.triu(A, diagonal=1)
    return up + up.transpose(-1, -2)


@dataclass(frozen=True)
class GraphEncoding:
    """Dense graph <-> continuous ``(X (B, N, F), A (B, N, N))`` tensors (see module docstring).

    Attributes:
        node_features: one of :data:`NODE_FEATURES`.
        num_node_features: ``F`` (atom vocabulary size, degree classes ``max_degree + 1``, ...).
        adjacency: ``"binary"`` (threshold 0.5) or ``"bond_order"`` (thresholds 0.5 / 1.5 / 2.5).
        centered: map values affinely onto ``[-1, 1]`` (GraphGDP) instead of ``{0, 1}`` / ``0..3`` (GDSS).
    """

    node_features: str
    num_node_features: int
    adjacency: str = "binary"
    centered: bool = True

    def __post_init__(self) -> None:
        if self.node_features not in NODE_FEATURES:
            raise unknown_name("node feature encoding", self.node_features, NODE_FEATURES)
        if self.adjacency not in ("binary", "bond_order"):
            raise unknown_name("adjacency encoding", self.adjacency, ("binary", "bond_order"))
        if self.num_node_features < 0 or (self.node_features == "none") != (self.num_node_features == 0):
            raise ValueError(f"num_node_features={self.num_node_features} does not fit node_features={self.node_features!r}")

    # affine maps raw -> encoded
    @property
    def _x_affine(self) -> tuple[float, float]:
        onehot = self.node_features in ("atoms", "degree", "categorical")
        return (2.0, -1.0) if (self.centered and onehot) else (1.0, 0.0)

    @property
    def _a_affine(self) -> tuple[float, float]:
        if not self.centered:
            return 1.0, 0.0
        return (2.0, -1.0) if self.adjacency == "binary" else (2.0 / 3.0, -1.0)

    @property
    def edge_threshold(self) -> float:
        """Encoded value of the raw threshold 0.5 (the network's positional-graph threshold)."""
        s, b = self._a_affine
        return 0.5 * s + b

    def encode(self, state: GraphState) -> GraphState:
        """A dataset :class:`GraphState` (categorical ``X`` (B, N) / bond classes, or 0/1 ``A`` with
        ``X`` (B, N, F)) -> float ``X`` (B, N, F), ``A`` (B, N, N), zero at padding and on the diagonal."""
        nm = state.node_mask.bool()
        A = state.A
        if A.dim() != 3:
            raise InvalidGraphError(f"continuous graph diffusion needs a scalar adjacency (B, N, N), got {tuple(A.shape)}")
        pm = pair_mask(nm)
        A = A.float() * pm
        if self.adjacency == "binary":
            A = (A != 0).float()
        B, N = nm.shape
        F = self.num_node_features
        if self.node_features in ("atoms", "categorical"):
            if state.X.dim() != 2 or state.X.is_floating_point():
                raise InvalidGraphError(f"node_features={self.node_features!r} needs categorical X (B, N) long, got {tuple(state.X.shape)} {state.X.dtype}")
            ids = state.X.long().masked_fill(~nm, 0)
            if ids.numel() and (int(ids.max()) >= F or int(ids.min()) < 0):
                raise InvalidGraphError(f"node class ids must lie in [0, {F}), got max {int(ids.max())}")
            X = nn.functional.one_hot(ids, F).float()
        elif self.node_features == "degree":
            deg = (A != 0).sum(-1).clamp(max=F - 1)
            X = nn.functional.one_hot(deg, F).float()
        elif self.node_features == "given":
            if state.X.dim() != 3 or state.X.shape[-1] != F:
                raise InvalidGraphError(f"node_features='given' needs X (B, N, {F}) float, got {tuple(state.X.shape)}")
            X = state.X.float()
        else:
            X = A.new_zeros(B, N, 0)
        xs, xb = self._x_affine
        as_, ab = self._a_affine
        X = (X * xs + xb) * nm[..., None]
        A = (A * as_ + ab) * pm
        return GraphState(X, A, nm)

    def template(self, node_mask: Tensor) -> GraphState:
        """Zero continuous state of the right shapes for ``node_mask`` (B, N)."""
        B, N = node_mask.shape
        z = torch.zeros(B, N, self.num_node_features, device=node_mask.device)
        return GraphState(z, torch.zeros(B, N, N, device=node_mask.device), node_mask.bool())

    def decode(self, state: GraphState) -> GraphState:
        """Continuous ``X``, ``A`` -> graphs: ``A`` symmetric with zero diagonal, thresholded (binary:
        float 0/1; bond order: long classes 0..3 via :func:`graphdiff.data.molecules.quantize_bonds`);
        ``X``: argmax ids (B, N) long for one-hot encodings of categories, the raw features for
        ``"given"``, and ``(B, N, 0)`` for ``"degree"`` / ``"none"`` (auxiliary features)."""
        nm = state.node_mask.bool()
        pm = pair_mask(nm)
        as_, ab = self._a_affine
        raw = torch.nan_to_num((state.A.float() - ab) / as_, nan=0.0)
        raw = _symmetric_from_upper(raw)
        if self.adjacency == "binary":
            A: Tensor = ((raw >= 0.5) & pm).float()
        else:
            from .molecules import quantize_bonds

            A = quantize_bonds(raw.cpu()).to(raw.device) * pm
        B, N = nm.shape
        xs, xb = self._x_affine
        if self.node_features in ("atoms", "categorical"):
            X: Tensor = state.X.argmax(-1).masked_fill(~nm, 0)
        elif self.node_features == "given":
            X = ((state.X - xb) / xs) * nm[..., None]
        else:
            X = state.X.new_zeros(B, N, 0)
        return GraphState(X, A, nm)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# ----------------------------------------------------------------------------- categorical
def to_categorical(state: GraphState, *, node_classes: int, edge_classes: int) -> GraphState:
    """A dataset graph batch -> categorical ``X`` ``(B, N)`` long and ``A`` ``(B, N, N)`` long, zero
    at padding and on the diagonal.

    Node ids are kept when ``X`` is already ``(B, N)`` long; any other ``X`` (float features, an
    empty ``(B, N, 0)``) becomes the single class 0 when ``node_classes == 1``. A float or boolean
    ``A`` (or any ``A`` when ``edge_classes == 2``) becomes ``{0, 1}`` by ``A != 0``."""
    nm = state.node_mask.bool()
    B, N = nm.shape
    pm = pair_mask(nm)
    X = state.X
    if X.dim() == 2 and not X.is_floating_point() and X.dtype != torch.bool:
        X = X.long()
    elif node_classes == 1:
        X = torch.zeros(B, N, dtype=torch.long, device=nm.device)
    else:
        raise InvalidGraphError(f"a model with {node_classes} node classes needs categorical X (B, N) long, got {tuple(X.shape)} {X.dtype}")
    A = state.A
    if A.dim() != 3:
        raise InvalidGraphError(f"discrete graph diffusion needs a scalar adjacency (B, N, N), got {tuple(A.shape)}")
    if A.is_floating_point() or A.dtype == torch.bool or edge_classes == 2:
        A = (A != 0).long()
    else:
        A = A.long()
    X = X.masked_fill(~nm, 0)
    A = A.masked_fill(~pm, 0)
    if X.numel() and (int(X.min()) < 0 or int(X.max()) >= node_classes):
        raise InvalidGraphError(f"node classes must lie in [0, {node_classes}), got [{int(X.min())}, {int(X.max())}]")
    if A.numel() and (int(A.min()) < 0 or int(A.max()) >= edge_classes):
        raise InvalidGraphError(f"edge classes must lie in [0, {edge_classes}), got [{int(A.min())}, {int(A.max())}]")
    return GraphState(X, A, nm)
