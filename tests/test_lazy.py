"""``graphdiff._lazy.lazy_exports``: the PEP 562 hooks of the package inits."""

from __future__ import annotations

import sys
import types

import pytest

from graphdiff._lazy import lazy_exports


@pytest.fixture
def package():
    mod = types.ModuleType("fake_lazy_pkg")
    sys.modules[mod.__name__] = mod
    yield mod
    del sys.modules[mod.__name__]


def test_names_resolve_on_first_use_and_stay(package):
    import json

    package.__getattr__, package.__dir__ = lazy_exports(package.__name__, {"dumps": "json:dumps"})
    assert "dumps" not in vars(package)
    assert package.dumps is json.dumps  # through the hook
    assert vars(package)["dumps"] is json.dumps  # kept: the hook is not asked again
    assert "dumps" in dir(package)


def test_unknown_names_and_malformed_targets(package):
    package.__getattr__, _ = lazy_exports(package.__name__, {"dumps": "json:dumps"})
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        package.nope
    with pytest.raises(ValueError, match="module:attribute"):
        lazy_exports(package.__name__, {"x": "json.dumps"})


def test_the_package_inits_use_it():
    import graphdiff
    from graphdiff import guidance, metrics, testing

    assert graphdiff.GraphState.__name__ == "GraphState"
    assert graphdiff.samplers.__name__ == "graphdiff.samplers"  # a submodule by name
    assert metrics.graph_metrics.__module__ == "graphdiff.metrics.graph"
    assert guidance.ConditionSpec.__module__ == "graphdiff.guidance.condition"
    assert testing.run_sampler_case.__module__ == "graphdiff.testing.samplers"
    for pkg in (graphdiff, metrics, guidance, testing):
        assert set(pkg.__all__) <= set(dir(pkg))
