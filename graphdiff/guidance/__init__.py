"""Steering a diffusion model: conditions, guidance and constrained (inpainting) sampling.

* :mod:`.condition`: :class:`ConditionSpec`, the named condition a model was trained with
  (standardisation stats and ranges, stored in the card), and condition dropout for training;
* :mod:`.node_counts`: :class:`ConditionalNodeCounts`, the graph size law ``p(N | y)``;
* :mod:`.graph_labels`: conditions of generic graphs (class labels, numeric columns) read from
  their graph attributes, :func:`condition_on_graph_attributes`.
"""

from .condition import ConditionSpec, drop_conditions
from .graph_labels import condition_on_graph_attributes
from .node_counts import ConditionalNodeCounts

__all__ = ["ConditionSpec", "drop_conditions", "ConditionalNodeCounts", "condition_on_graph_attributes"]
