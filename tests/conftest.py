"""Shared pytest fixtures. Tests needing the benchmark data use ``shared_data`` and are skipped,
with the reason printed, when ``GRAPHDIFF_DATA`` is unset or missing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

pytest.register_assert_rewrite("graphdiff.testing")  # the shipped suites report like test modules


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory):
    """The suite never writes to the user's cache (``~/.cache/graphdiff``): unless ``GRAPHDIFF_CACHE``
    is set already (a deliberate, e.g. warm, cache), every cache of the run (metric reference
    statistics, RDKit properties, downloads) goes to one temporary folder shared by the session."""
    if os.environ.get("GRAPHDIFF_CACHE"):
        yield
        return
    os.environ["GRAPHDIFF_CACHE"] = str(tmp_path_factory.mktemp("graphdiff-cache"))
    try:
        yield
    finally:
        os.environ.pop("GRAPHDIFF_CACHE", None)


@pytest.fixture(autouse=True)
def _seed_and_threads():
    """Every test starts from seed 0 on one intra-op thread (small tensor ops are much slower
    multi-threaded on a shared 2-core machine); the thread count is restored afterwards."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(autouse=True)
def _no_graph_tool_unless_marked(request, monkeypatch):
    """SBM validity's ``auto`` backend uses graph-tool when the machine can run it (1-2 min a graph
    with SPECTRE's sweeps): the suite resolves ``auto`` to our fit everywhere, so it runs the same
    with and without graph-tool installed; tests marked ``graph_tool`` see the real availability."""
    if request.node.get_closest_marker("graph_tool") is None:
        import graphdiff.metrics.sbm_graphtool as sbm_graphtool

        monkeypatch.setattr(sbm_graphtool, "graph_tool_python", lambda: None)


def shared_data_dir() -> Path | None:
    root = os.environ.get("GRAPHDIFF_DATA")
    if not root:
        return None
    p = Path(root)
    return p if p.is_dir() else None


@pytest.fixture
def shared_data() -> Path:
    p = shared_data_dir()
    if p is None:
        pytest.skip("needs the benchmark data: set GRAPHDIFF_DATA to ../shared/data (make test does this when it exists)")
    return p
