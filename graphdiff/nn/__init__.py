"""Graph networks shared by both diffusion families.

* :class:`GraphScoreNetwork` (alias :data:`PGSN`) — continuous family: position-enhanced score
  network on continuous ``X`` / ``A``.
* :class:`GraphTransformerDenoiser` — discrete family: logits of clean node / edge classes.
* :class:`GraphTransformer` — the backbone both use; :mod:`graphdiff.nn.layers` its layers;
  :mod:`graphdiff.nn.positional` the structural features (random walks, RRWP, distances, cycles,
  spectrum) recomputed from the noisy graph at every call.

Every network is called as ``net(state, t, **cond) -> GraphState`` and records its constructor
arguments in ``net.config`` (``type(net).from_config(net.config)`` rebuilds it).
"""

from .denoiser import GraphTransformerDenoiser
from .layers import (
    MLP,
    ConditionFiLM,
    GaussianFourierTimeEmbedding,
    GlobalConditioning,
    GraphTransformerLayer,
    SinusoidalTimeEmbedding,
    masked_softmax,
    time_embedding,
)
from .positional import FeatureBundle, StructuralFeatures
from .score_net import PGSN, GraphScoreNetwork
from .transformer import ConfigMixin, GraphTransformer, symmetrize_edges

__all__ = [
    "GraphScoreNetwork",
    "PGSN",
    "GraphTransformerDenoiser",
    "GraphTransformer",
    "GraphTransformerLayer",
    "GlobalConditioning",
    "ConditionFiLM",
    "StructuralFeatures",
    "FeatureBundle",
    "MLP",
    "SinusoidalTimeEmbedding",
    "GaussianFourierTimeEmbedding",
    "time_embedding",
    "masked_softmax",
    "symmetrize_edges",
    "ConfigMixin",
]
