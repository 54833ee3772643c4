"""Evaluation metrics that reproduce the reference implementations (see ``docs/protocols.md``).

* :func:`graph_metrics` (``graphdiff.metrics.graph``): MMD of graph statistics, validity, V.U.N.;
  :func:`data_reference`: what a perfect generator scores (test-sized subsets of the training graphs).
* :func:`molecule_metrics` (``graphdiff.metrics.molecules``): validity, uniqueness, novelty, FCD,
  NSPDK MMD; ``suite="moses"`` / ``"guacamol"`` switch to :func:`moses_metrics`
  (``graphdiff.metrics.moses``) and :func:`guacamol_metrics` (``graphdiff.metrics.guacamol``).
* :class:`MetricCard` (``graphdiff.metrics.cards``): every value with the facts behind it.

Names are resolved lazily, so ``import graphdiff.metrics`` is cheap and does not need RDKit, the
``fcd`` package or torch until a metric that uses them is called.
"""

from __future__ import annotations

from .._lazy import lazy_exports

# public name -> ".submodule:attribute"
_LAZY = {
    "graph_metrics": ".graph:graph_metrics",
    "GraphMetricsResult": ".graph:GraphMetricsResult",
    "GraphProtocol": ".graph:GraphProtocol",
    "get_protocol": ".graph:get_protocol",
    "GDSS_PROTOCOL": ".graph:GDSS_PROTOCOL",
    "SPECTRE_PROTOCOL": ".graph:SPECTRE_PROTOCOL",
    "data_reference": ".graph:data_reference",
    "DataReference": ".graph:DataReference",
    "mmd2": ".mmd:mmd2",
    "vun_metrics": ".vun:vun_metrics",
    "VUNResult": ".vun:VUNResult",
    "is_sbm_graph": ".vun:is_sbm_graph",
    "fit_sbm": ".vun:fit_sbm",
    "molecule_metrics": ".molecules:molecule_metrics",
    "MOLECULE_SUITES": ".molecules:MOLECULE_SUITES",
    "moses_metrics": ".moses:moses_metrics",
    "moses_reference": ".moses:moses_reference",
    "MosesReference": ".moses:MosesReference",
    "guacamol_metrics": ".guacamol:guacamol_metrics",
    "molecule_reference": ".molecules:molecule_reference",
    "MoleculeMetricsResult": ".cards:MoleculeMetricsResult",
    "MoleculeReference": ".molecules:MoleculeReference",
    "canonicalize_smiles": ".molecules:canonicalize_smiles",
    "MetricCard": ".cards:MetricCard",
    "cards_to_markdown": ".cards:cards_to_markdown",
    "frechet_distance": ".fcd:frechet_distance",
    "fcd_stats": ".fcd:fcd_stats",
    "nspdk_mmd": ".nspdk:nspdk_mmd",
    "nspdk_features": ".nspdk:nspdk_features",
}

__all__ = sorted(_LAZY)
__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
