"""Test helpers and conformance suites shipped in the package, for the library's own tests and for
people who extend it (after e3nn's ``assert_equivariant`` and PyG's ``torch_geometric.testing``).

* :func:`assert_permutation_equivariant`, :func:`assert_symmetric`, :func:`random_graph_state`:
  every network test calls the first.
* :class:`ProcessConformance` (:mod:`.processes`): the checks every continuous process passes;
  a test class subclasses it and implements ``make_process``.
* :class:`CTMCConformance` (:mod:`.ctmc`): the same for CTMC rate families.
* :data:`SAMPLER_CASES` / :func:`assert_sampler_reproduces` (:mod:`.samplers`): every registered
  sampler, fed the exact score of a Gaussian mixture, reproduces it at its documented steps.

The suites need pytest (imported when first used). See ``docs/extending.md``.
"""

from __future__ import annotations

from typing import Callable, Iterable, Sequence

import torch
from torch import Tensor

from .._lazy import lazy_exports
from ..states import GraphState, pair_mask

__all__ = ["run_suite", "assert_configs_close", "permute_state", "assert_permutation_equivariant", "assert_symmetric", "random_graph_state", "random_categorical_state",
           "categorical_batch", "randomize_",
           "ProcessConformance", "CTMCConformance", "SAMPLER_CASES", "GMM", "add_sampler_case", "assert_sampler_reproduces",
           "run_sampler_case"]

# suites, imported on first use (they need pytest)
__getattr__, __dir__ = lazy_exports(__name__, {
    "ProcessConformance": ".processes:ProcessConformance", "CTMCConformance": ".ctmc:CTMCConformance",
    "SAMPLER_CASES": ".samplers:SAMPLER_CASES", "GMM": ".samplers:GMM", "add_sampler_case": ".samplers:add_sampler_case",
    "assert_sampler_reproduces": ".samplers:assert_sampler_reproduces", "run_sampler_case": ".samplers:run_sampler_case"})


def permute_state(state: GraphState, perm: Tensor) -> GraphState:
    """Permute the real nodes of every graph by ``perm`` ``(B, N)`` (padding stays in place if
    ``perm`` maps padded slots to themselves)."""
    b = torch.arange(state.batch_size, device=perm.device)[:, None]
    X = state.X[b, perm]
    A = state.A[b[:, :, None], perm[:, :, None], perm[:, None, :]]
    return GraphState(X, A, state.node_mask[b, perm])


def random_node_permutation(node_mask: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """``(B, N)`` permutation that shuffles the real nodes of each graph and fixes padding."""
    B, N = node_mask.shape
    perm = torch.arange(N).repeat(B, 1)
    for i in range(B):
        n = int(node_mask[i].sum())
        perm[i, :n] = torch.randperm(n, generator=generator)
    return perm.to(node_mask.device)


def assert_permutation_equivariant(
    fn: Callable[[GraphState], GraphState | tuple[Tensor, Tensor] | Tensor],
    state: GraphState,
    atol: float = 1e-5,
    generator: torch.Generator | None = None,
    trials: int = 2,
) -> None:
    """Assert ``fn(permute(state)) == permute(fn(state))`` for random node permutations.

    ``fn`` may return a :class:`GraphState`, a tuple ``(X_out, A_out)`` or a node tensor
    ``(B, N, ...)``; only entries at real nodes (and real node pairs) are compared."""
    g = generator or torch.Generator().manual_seed(0)
    out = _as_pair(fn(state))
    nm = state.node_mask
    for _ in range(trials):
        perm = random_node_permutation(nm, g)
        out_p = _as_pair(fn(permute_state(state, perm)))
        b = torch.arange(state.batch_size)[:, None]
        X_expected = out[0][b, perm]
        m = nm[b, perm]
        _close(out_p[0][m], X_expected[m], atol, "node output")
        if out[1] is not None:
            A_expected = out[1][b[:, :, None], perm[:, :, None], perm[:, None, :]]
            em = m[:, :, None] & m[:, None, :]
            _close(out_p[1][em], A_expected[em], atol, "edge output")


def _as_pair(o):
    if isinstance(o, GraphState):
        return o.X, o.A
    if isinstance(o, tuple):
        return o[0], o[1]
    return o, None


def _close(a: Tensor, b: Tensor, atol: float, what: str) -> None:
    if a.shape != b.shape:
        raise AssertionError(f"{what}: shapes differ {tuple(a.shape)} vs {tuple(b.shape)}")
    if a.numel() == 0:
        return
    err = (a.float() - b.float()).abs().max().item()
    if err > atol:
        raise AssertionError(f"{what} is not permutation-equivariant: max abs error {err:.3e} > {atol:.1e}")


def assert_symmetric(A: Tensor, atol: float = 0.0, zero_diagonal: bool = True) -> None:
    """Assert ``A`` ``(B, N, N[, C])`` is symmetric (and has a zero diagonal)."""
    err = (A - A.transpose(1, 2)).abs().max().item() if A.numel() else 0.0
    if err > atol:
        raise AssertionError(f"not symmetric: max |A - A^T| = {err:.3e}")
    if zero_diagonal and A.numel() and torch.diagonal(A, dim1=1, dim2=2).abs().max().item() > atol:
        raise AssertionError("diagonal is not zero")


def random_graph_state(
    batch_size: int = 3,
    max_nodes: int = 7,
    node_features: int = 4,
    edge_channels: int | None = None,
    p: float = 0.4,
    generator: torch.Generator | None = None,
    min_nodes: int = 1,
) -> GraphState:
    """A random valid :class:`GraphState` with graphs of different sizes (for tests)."""
    g = generator or torch.Generator().manual_seed(0)
    sizes = torch.randint(min_nodes, max_nodes + 1, (batch_size,), generator=g)
    sizes[0] = max_nodes
    mask = torch.arange(max_nodes)[None] < sizes[:, None]
    em = pair_mask(mask)
    up = torch.triu(torch.rand(batch_size, max_nodes, max_nodes, generator=g) < p, 1)
    adj = (up | up.transpose(1, 2)) & em
    if edge_channels is None:
        A = adj.float()
    else:
        w = torch.rand(batch_size, max_nodes, max_nodes, edge_channels, generator=g)
        w = torch.triu(w.permute(0, 3, 1, 2), 1)
        w = (w + w.transpose(-1, -2)).permute(0, 2, 3, 1)
        A = w * adj[..., None]
    X = torch.randn(batch_size, max_nodes, node_features, generator=g) * mask[..., None]
    return GraphState(X, A, mask)


def random_categorical_state(batch_size: int = 4, max_nodes: int = 7, node_classes: int = 3, edge_classes: int = 4,
                             seed: int = 0) -> GraphState:
    """A random valid categorical :class:`GraphState` (the discrete family's state): ``X`` node classes
    ``(B, N)`` in ``[0, node_classes)`` and ``A`` symmetric edge classes ``(B, N, N)`` in
    ``[0, edge_classes)`` (0 = no edge), both zero at padding; graphs of different sizes."""
    g = torch.Generator().manual_seed(seed)
    s = random_graph_state(batch_size, max_nodes, 1, p=0.5, generator=g)
    cls = torch.randint(1, edge_classes, (batch_size, max_nodes, max_nodes), generator=g).triu(1)
    E = (cls + cls.transpose(1, 2)) * (s.A > 0)
    X = torch.randint(0, node_classes, (batch_size, max_nodes), generator=g) * s.node_mask
    return GraphState(X, E.long(), s.node_mask)


def categorical_batch(sizes: Sequence[int], generator: torch.Generator, node_classes: int = 3,
                      edge_classes: int = 4) -> GraphState:
    """A padded categorical :class:`GraphState` with the given node counts (``max(sizes)`` slots):
    node classes and every pair's edge class (0 = no edge) uniform from ``generator``, zero at
    padding; a size of 1 or 0 gives a graph with no pairs (the masks' edge cases)."""
    sizes_t = torch.as_tensor(list(sizes))
    B, N = len(sizes_t), int(sizes_t.max())
    nm = torch.arange(N)[None] < sizes_t[:, None]
    X = torch.randint(0, node_classes, (B, N), generator=generator) * nm
    up = torch.triu(torch.randint(0, edge_classes, (B, N, N), generator=generator), 1)
    A = (up + up.transpose(1, 2)) * (nm[:, :, None] & nm[:, None, :])
    return GraphState(X, A, nm).validate()


def randomize_(params: Iterable[torch.nn.Parameter], seed: int = 11, scale: float = 0.3) -> None:
    """Fill ``params`` in place with ``scale`` x standard normal draws (seeded), e.g. a network's
    zero-initialised conditioning layers (:func:`graphdiff.guidance.training.conditioning_parameters`),
    as after training, so a test of that path does not pass because its weights are zero."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in params:
            p.copy_(torch.randn(p.shape, generator=g, dtype=p.dtype) * scale)


def assert_configs_close(a: object, b: object, rel: float = 1e-12, where: str = "config") -> None:
    """Assert two JSON configs are equal, floats to a relative ``rel`` (a process that normalises
    a probability vector on construction may move it by an ulp on a round trip)."""
    import math

    if isinstance(a, dict) and isinstance(b, dict):
        assert sorted(a) == sorted(b), f"{where}: keys {sorted(a)} != {sorted(b)}"
        for k in a:
            assert_configs_close(a[k], b[k], rel, f"{where}.{k}")
    elif isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        assert len(a) == len(b), f"{where}: lengths {len(a)} != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            assert_configs_close(x, y, rel, f"{where}[{i}]")
    elif isinstance(a, float) or isinstance(b, float):
        assert math.isclose(a, b, rel_tol=rel, abs_tol=rel), f"{where}: {a} != {b}"
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def run_suite(suite: type) -> dict[str, list[str]]:
    """Run every ``test_*`` method of a conformance suite class (a subclass of
    :class:`ProcessConformance` / :class:`CTMCConformance` with ``make_process``) without pytest's
    collection, each ``pytest.mark.parametrize`` case in turn. Returns ``{"passed": [...],
    "skipped": [...]}``; the first failure raises (``AssertionError``). Under pytest, name the
    subclass ``Test...`` instead and pytest runs the same checks."""
    import pytest

    out: dict[str, list[str]] = {"passed": [], "skipped": []}
    obj = suite()
    for name in sorted(n for n in dir(suite) if n.startswith("test_")):
        fn = getattr(suite, name)
        cases: list[dict] = [{}]
        for mark in getattr(fn, "pytestmark", []):
            if mark.name != "parametrize":
                continue
            argnames = [a.strip() for a in mark.args[0].split(",")] if isinstance(mark.args[0], str) else list(mark.args[0])
            rows = [v if len(argnames) > 1 else (v,) for v in mark.args[1]]
            cases = [{**c, **dict(zip(argnames, r))} for c in cases for r in rows]
        for kwargs in cases:
            label = name + (f"[{', '.join(f'{k}={v}' for k, v in kwargs.items())}]" if kwargs else "")
            try:
                fn(obj, **kwargs)
            except pytest.skip.Exception:
                out["skipped"].append(label)
                continue
            out["passed"].append(label)
    return out
