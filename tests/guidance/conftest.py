"""Shared fixtures of the steering tests."""

from __future__ import annotations

import numpy as np
import pytest


def toy_conditional_qm9(size_law: str = "bins"):
    """qm9_ctmc given an (untrained, zero-initialised) logp / mw condition and a p(N | y) in which the
    weight fixes the size: ``(pipe, values (3000, 2), sizes (3000,))``."""
    from graphdiff.guidance import ConditionSpec
    from graphdiff.guidance.node_counts import fit_node_counts
    from graphdiff.guidance.training import make_conditional
    from graphdiff.pipelines import load_pretrained

    pipe = load_pretrained("qm9_ctmc")
    rng = np.random.default_rng(0)
    n = rng.integers(3, 10, 3000)
    vals = np.stack([rng.normal(0.3, 1.0, 3000), 14.0 * n + rng.normal(0, 2, 3000)], 1)
    spec = ConditionSpec.from_data(["logp", "mw"], vals)
    spec.extra["node_counts"] = fit_node_counts(vals, n, size_law=size_law).to_dict()
    make_conditional(pipe, spec)
    return pipe, vals, n


@pytest.fixture(scope="module")
def toy_conditional():
    return toy_conditional_qm9
