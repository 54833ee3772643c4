"""Steering a diffusion model: conditions, guidance and constrained (inpainting) sampling.

* :mod:`.condition`: :class:`ConditionSpec`, the named condition a model was trained with
  (standardisation stats and ranges, stored in the card), and condition dropout for training;
* :mod:`.node_counts`: the graph size law ``p(N | y)``: :class:`NeuralNodeCounts` (a small
  classifier) or :class:`ConditionalNodeCounts` (joint-bin tallies);
* :mod:`.graph_labels`: conditions of generic graphs (class labels, numeric columns) read from
  their graph attributes, :func:`condition_on_graph_attributes`;
* :mod:`.predictor`, :mod:`.predictor_training`: :class:`NoisyGraphPredictor`, a property
  predictor on a model's noisy graphs for predictor guidance, and :func:`train_predictor`;
* guidance itself: :mod:`.ctmc` (classifier-free and predictor guidance of CTMC rates), :mod:`.tilt`
  (the first-order rate tilt of a differentiable predictor), :mod:`.sde` (score mixing),
  :mod:`.gradient` (gradient guidance of scores), :mod:`.sampling` (all of it behind
  ``pipe.sample``; scaffolds of score models are inpainted by :mod:`graphdiff.samplers.repaint`).
"""

from .._lazy import lazy_exports

# Lazy: samplers import guidance.ctmc, which loads this package first; importing the predictor and
# its training loop here would pull them into every sampler import.
_EXPORTS = {
    "ConditionSpec": ".condition:ConditionSpec",
    "drop_conditions": ".condition:drop_conditions",
    "condition_on_graph_attributes": ".graph_labels:condition_on_graph_attributes",
    "ConditionalNodeCounts": ".node_counts:ConditionalNodeCounts",
    "NeuralNodeCounts": ".node_counts:NeuralNodeCounts",
    "refit_size_law": ".training:refit_size_law",
    "NoisyGraphPredictor": ".predictor:NoisyGraphPredictor",
    "train_predictor": ".predictor_training:train_predictor",
}
__all__ = list(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
