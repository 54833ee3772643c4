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

from .condition import ConditionSpec, drop_conditions
from .graph_labels import condition_on_graph_attributes
from .node_counts import ConditionalNodeCounts
from .predictor import NoisyGraphPredictor
from .predictor_training import train_predictor

__all__ = ["ConditionSpec", "drop_conditions", "ConditionalNodeCounts", "condition_on_graph_attributes",
           "NoisyGraphPredictor", "train_predictor"]
