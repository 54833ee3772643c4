"""graphdiff — diffusion-based generation of graphs and molecules.

The public API is curated here and imported lazily, so ``import graphdiff`` stays fast and
optional dependencies (rdkit, fcd, ...) are only needed by the features that use them.
"""

from __future__ import annotations

from ._lazy import lazy_exports

__version__ = "0.1.0"

# public name -> "module:attribute"
_LAZY = {
    "GraphState": "graphdiff.states:GraphState",
    "TensorState": "graphdiff.states:TensorState",
    "NodeCountDistribution": "graphdiff.states:NodeCountDistribution",
    "generate_molecules": "graphdiff.pipelines:generate_molecules",
    "load_pretrained": "graphdiff.pipelines:load_pretrained",
    "list_pretrained": "graphdiff.pipelines:list_pretrained",
    "GraphDiffusionPipeline": "graphdiff.pipelines:GraphDiffusionPipeline",
    "train_from_options": "graphdiff.pipelines:train_from_options",
    "load_dataset": "graphdiff.data:load",
    "list_datasets": "graphdiff.data:list_datasets",
    "GraphScoreNetwork": "graphdiff.nn:GraphScoreNetwork",
    "GraphTransformerDenoiser": "graphdiff.nn:GraphTransformerDenoiser",
    "fit": "graphdiff.training:fit",
    "EMA": "graphdiff.training:EMA",
    "graph_metrics": "graphdiff.metrics:graph_metrics",
    "data_reference": "graphdiff.metrics:data_reference",
    "molecule_metrics": "graphdiff.metrics:molecule_metrics",
    "MoleculeGenerator": "graphdiff.estimators:MoleculeGenerator",
    "GraphGenerator": "graphdiff.estimators:GraphGenerator",
}

__all__ = sorted(_LAZY) + ["__version__"]


_SUBMODULES = {"data", "metrics", "nn", "processes", "samplers", "losses", "training", "pipelines", "viz", "testing",
               "states", "likelihood", "examples", "errors", "cli", "estimators", "registry"}
__getattr__, __dir__ = lazy_exports(__name__, _LAZY, _SUBMODULES)
