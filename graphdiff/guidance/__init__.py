"""Steering a diffusion model: conditions, guidance and constrained (inpainting) sampling.

* :mod:`.condition`: :class:`ConditionSpec`, the named condition a model was trained with
  (standardisation stats and ranges, stored in the card), and condition dropout for training;
* :mod:`.node_counts`: :class:`ConditionalNodeCounts`, the graph size law ``p(N | y)``;
* :mod:`.graph_labels`: conditions of generic graphs (class labels, numeric columns) read from
  their graph attributes, :func:`condition_on_graph_attributes`;
* :mod:`.predictor`, :mod:`.predictor_training`: :class:`NoisyGraphPredictor`, a property
  predictor on a model's noisy graphs for predictor guidance, and :func:`train_predictor`;
* guidance itself: :mod:`.ctmc` (classifier-free and predictor guidance of CTMC rates), :mod:`.tilt`
  (the first-order rate tilt of a differentiable predictor), :mod:`.sde` (score mixing),
  :mod:`.gradient` (gradient guidance of scores), :mod:`.sampling` (all of it behind
  ``pipe.sample``; scaffolds of score models are inpainted by :mod:`graphdiff.samplers.repaint`).
"""

from importlib import import_module
from typing import Any

# Lazy (PEP 562): samplers import guidance.ctmc, which loads this package first; importing the
# predictor and its training loop here would pull them into every sampler import.
_EXPORTS = {
    "ConditionSpec": ".condition",
    "drop_conditions": ".condition",
    "condition_on_graph_attributes": ".graph_labels",
    "ConditionalNodeCounts": ".node_counts",
    "NoisyGraphPredictor": ".predictor",
    "train_predictor": ".predictor_training",
}
__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(_EXPORTS[name], __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
