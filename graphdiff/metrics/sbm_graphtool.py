"""SBM block fits with graph-tool, as SPECTRE / DiGress / DeFoG do, when graph-tool is available.

SPECTRE's ``is_sbm_graph`` fits ``graph_tool.inference.minimize_blockmodel_dl`` (degree-corrected
SBM, minimum description length), refines it with ``refinement_steps`` (1,000) merge-split sweeps
``state.multiflip_mcmc_sweep(beta=np.inf, niter=10)``, and reads the non-empty blocks' node counts
and the block edge-count matrix. :func:`graph_tool_block_counts` does the same and returns those
counts; the Wald test is :func:`graphdiff.metrics.vun.sbm_wald_score`.

graph-tool is not on the package index. It is used

* in-process when ``import graph_tool`` works, else
* through a subprocess of a Python that imports it: ``$GRAPHDIFF_GRAPH_TOOL_PYTHON`` or, when that
  is unset, the system ``/usr/bin/python3`` (Debian's ``python3-graph-tool`` installs there and
  imports only under that interpreter). Graphs travel as JSON edge lists; nothing is unpickled.

:func:`graph_tool_python` says which (``None`` when graph-tool is not available).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from functools import lru_cache
from typing import Any, Sequence

import networkx as nx
import numpy as np

__all__ = ["graph_tool_python", "graph_tool_block_counts", "REFINEMENT_STEPS"]

REFINEMENT_STEPS = 1000
_SYSTEM_PYTHON = "/usr/bin/python3"

# SPECTRE's procedure for one graph; runs where graph-tool imports (``gt``, ``np`` in scope).
_FIT = r"""
def fit(n, edges, steps):
    g = gt.Graph(directed=False)
    g.add_vertex(n)
    if edges:
        g.add_edge_list(edges)
    state = gt.minimize_blockmodel_dl(g)
    for _ in range(steps):
        state.multiflip_mcmc_sweep(beta=np.inf, niter=10)
    b = gt.contiguous_map(state.get_blocks())
    state = state.copy(b=b)
    e = state.get_matrix()
    B = state.get_nonempty_B()
    nc = state.get_nr().get_array()[:B]
    ec = np.asarray(e.todense())[:B, :B]
    return [nc.tolist(), ec.tolist()]
"""

# the subprocess: reads {"graphs": [[n, [[u, v], ...]], ...], "seed", "steps"} on stdin and prints
# one [node_counts, edge_counts] pair per graph
_CHILD = "import json, sys\nimport numpy as np\nimport graph_tool.all as gt\n" + _FIT + r"""
req = json.load(sys.stdin)
gt.seed_rng(req["seed"]); np.random.seed(req["seed"])
print(json.dumps([fit(n, edges, req["steps"]) for n, edges in req["graphs"]]))
"""


@lru_cache(maxsize=1)
def graph_tool_python() -> str | None:
    """``"in-process"``, the path of a Python that imports graph-tool, or ``None``."""
    try:
        import graph_tool  # type: ignore[import-not-found]  # noqa: F401

        return "in-process"
    except ImportError:
        pass
    exe = os.environ.get("GRAPHDIFF_GRAPH_TOOL_PYTHON") or _SYSTEM_PYTHON
    if not os.path.exists(exe) or os.path.realpath(exe) == os.path.realpath(sys.executable):
        return None
    try:
        ok = subprocess.run([exe, "-c", "import graph_tool.all"], capture_output=True, timeout=120).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return None
    return exe if ok else None


def _payload(graphs: Sequence[nx.Graph]) -> list[list[Any]]:
    out = []
    for G in graphs:
        idx = {v: i for i, v in enumerate(G.nodes())}
        out.append([len(idx), [[idx[u], idx[v]] for u, v in G.edges() if u != v]])
    return out


def graph_tool_block_counts(
    graphs: Sequence[nx.Graph], *, seed: int = 0, refinement_steps: int = REFINEMENT_STEPS, timeout: float | None = None
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per graph, the node counts ``(B,)`` and edge-count matrix ``(B, B)`` (diagonal = twice the
    intra-block edges) of graph-tool's refined minimum-description-length block model.

    Raises:
        RuntimeError: graph-tool is not available (see :func:`graph_tool_python`) or the
            subprocess failed (its stderr is in the message)."""
    where = graph_tool_python()
    if where is None:
        raise RuntimeError("graph-tool is not available: install it (e.g. apt-get install python3-graph-tool) or set "
                           "GRAPHDIFF_GRAPH_TOOL_PYTHON to a Python that imports graph_tool")
    req = {"graphs": _payload(graphs), "seed": int(seed), "steps": int(refinement_steps)}
    if where == "in-process":  # pragma: no cover - graph-tool is not pip-installable
        import graph_tool.all as gt  # type: ignore[import-not-found]

        ns: dict[str, Any] = {"gt": gt, "np": np}
        exec(compile(_FIT, "<graph-tool fit>", "exec"), ns)  # noqa: S102 - our own code, above
        gt.seed_rng(seed)
        np.random.seed(seed)
        raw = [ns["fit"](n, e, refinement_steps) for n, e in req["graphs"]]
    else:
        proc = subprocess.run([where, "-c", _CHILD], input=json.dumps(req), capture_output=True, text=True, timeout=timeout,
                              env={**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")})  # fmt: skip
        if proc.returncode != 0:
            raise RuntimeError(f"graph-tool subprocess ({where}) failed: {proc.stderr.strip()[-800:]}")
        raw = json.loads(proc.stdout)
    return [(np.asarray(nc, dtype=np.float64), np.asarray(ec, dtype=np.float64)) for nc, ec in raw]
