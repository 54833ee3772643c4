"""User-facing models (``sample``, ``fit``, ``save_pretrained``, ``from_pretrained``), the bundled
pretrained models and the one-call molecule generator."""

from __future__ import annotations

from .base import PIPELINES, GraphDiffusionPipeline, GraphSamples, MoleculeSamples, pipeline_class, register_pipeline
from .pretrained import generate_molecules, list_pretrained, load_pretrained
from .train import prepare_training, read_config, train_from_options, training_lineage

__all__ = [
    "GraphDiffusionPipeline", "GraphSamples", "MoleculeSamples", "PIPELINES", "pipeline_class", "register_pipeline",
    "generate_molecules", "list_pretrained", "load_pretrained", "train_from_options", "training_lineage",
    "read_config", "prepare_training",
]
