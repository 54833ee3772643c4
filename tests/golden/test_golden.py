"""Golden outputs: exact results of a few calls that refactors must not change.

Recorded from the code before the second house pass (issue #23) into ``golden.json`` next to this
file: seeded samples of every sampler (continuous samplers on a Gaussian mixture's exact score,
every family on tiny fresh pipelines, two bundled models), ``steps_for_nfe`` for several samplers
and options, and metric values on fixed inputs. Integer outputs (graphs, SMILES, step counts) must
match exactly; floats to ``1e-5`` (the same operations on another CPU may round differently).
Options whose defaults may change on purpose (``sort_sizes``, ``precision``) are pinned to the
values the outputs were recorded with.

Regenerate only when a change of behaviour is intended, and say so in the commit:
``python tests/golden/test_golden.py --record``.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
import torch

GOLDEN = Path(__file__).with_name("golden.json")
RTOL = ATOL = 1e-5

# every continuous sampler at a few steps; the options are those the exact-score tests use
_CONTINUOUS = {
    "euler_maruyama": (4, {}), "pc": (3, {"snr": 0.16, "n_corrector": 1}), "ode_euler": (4, {}),
    "ode_heun": (3, {}), "rk45": (0, {"rtol": 1e-2, "atol": 1e-2}), "dpm_solver": (4, {}), "ddim": (4, {}),
    "dpm_solver_sde": (4, {}), "ddpm": (4, {}), "flow_euler": (4, {}), "flow_heun": (3, {}),
}
_TINY_CT = dict(hidden=16, edge_hidden=8, global_hidden=8, depth=1, heads=2, time_dim=16, K=4)
_TINY_DT = dict(hidden=16, edge_hidden=8, global_hidden=8, depth=1, heads=2, time_dim=16, K=4)


def _graphs() -> list[nx.Graph]:
    return [nx.cycle_graph(n) for n in range(4, 8)] + [nx.path_graph(n) for n in range(4, 8)]


def _state_json(st: Any) -> dict[str, Any]:
    return {"X": st.X.tolist(), "A": st.A.tolist(), "node_mask": st.node_mask.int().tolist()}


def _gmm_samplers() -> dict[str, Any]:
    from graphdiff.processes import GaussianMixture, RectifiedFlow, VPSDE
    from graphdiff.samplers import sample

    gmm = GaussianMixture(means=torch.tensor([[-2.0, 0.0], [2.0, 1.0]]),
                          variances=torch.tensor([[0.3, 0.2], [0.2, 0.5]]), weights=torch.tensor([0.4, 0.6]))
    out: dict[str, Any] = {}
    like = torch.zeros(5, 2)
    for name, (steps, kw) in _CONTINUOUS.items():
        flow = name.startswith("flow")
        proc = RectifiedFlow() if flow else VPSDE()
        fn = gmm.velocity_fn(proc) if flow else gmm.score_fn(proc)
        par = "velocity" if flow else "score"
        res = sample(proc, fn, like, method=name, parametrization=par, steps=steps,
                     generator=torch.Generator().manual_seed(3), **kw)
        out[name] = {"samples": res.samples.tolist(), "nfe": int(res.nfe)}
    return out


def _ctmc_tensor_samplers() -> dict[str, Any]:
    from graphdiff.processes.ctmc import UniformCTMC
    from graphdiff.samplers.ctmc import sample_ctmc_ancestral, sample_ctmc_predictor_corrector, sample_ctmc_tau_leaping

    proc = UniformCTMC(3)
    table = torch.tensor([[2.0, -1.0, 0.5], [0.0, 1.0, -2.0], [1.0, 1.0, 0.0]])

    def den(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:  # x0 logits that depend on x_t and t
        return table[x.clamp_max(2)] * (1.0 + t[:, None, None])

    out = {}
    for name, fn, kw in (("ancestral", sample_ctmc_ancestral, {}), ("tau_leaping", sample_ctmc_tau_leaping, {}),
                         ("predictor_corrector", sample_ctmc_predictor_corrector, {"corrector_steps": 2})):
        g = torch.Generator().manual_seed(4)
        x = proc.prior_sample(torch.zeros(6, 5, dtype=torch.long), generator=g)
        res = fn(proc, den, x, steps=5, generator=g, **kw)
        out[name] = {"samples": res.samples.tolist(), "nfe": int(res.nfe)}
    return out


def _fresh_pipelines() -> tuple[Any, Any]:
    from graphdiff.pipelines.continuous import ContinuousGraphDiffusion
    from graphdiff.pipelines.discrete import DiscreteGraphDiffusion
    from graphdiff.states import GraphState

    train = GraphState.from_networkx(_graphs())
    torch.manual_seed(0)
    cont = ContinuousGraphDiffusion.create(train_state=train, dataset="toy", network=dict(_TINY_CT))
    torch.manual_seed(0)
    disc = DiscreteGraphDiffusion.create(train_state=train, dataset="toy", network=dict(_TINY_DT))
    return cont, disc


def _pipeline_samples(cont: Any, disc: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, (steps, kw) in _CONTINUOUS.items():
        if name.startswith("flow"):
            continue
        opts = {k: v for k, v in kw.items() if name != "rk45"}
        s = cont.sample(3, steps=steps or None, sampler=name, seed=2, sampler_options=opts, sort_sizes=False)
        out[f"continuous/{name}"] = {**_state_json(s.state), "nfe": s.nfe}
    for name, opts in (("ancestral", {}), ("tau_leaping", {"jump": "exponential"}), ("pc", {"corrector_steps": 2}),
                       ("ancestral", {"target_guidance": 0.1, "temperature": 0.8})):
        s = disc.sample(3, steps=4, sampler=name, seed=2, sampler_options=opts, sort_sizes=False)
        key = f"discrete/{name}" + ("" if not opts else "/" + ",".join(f"{k}={v}" for k, v in sorted(opts.items())))
        out[key] = {**_state_json(s.state), "nfe": s.nfe}
    return out


def _steps_for_nfe(cont: Any, disc: Any) -> dict[str, Any]:
    cases = [
        (cont, "euler_maruyama", {}, 20), (cont, "pc", {}, 20), (cont, "pc", {"n_corrector": 2}, 20),
        (cont, "ode_euler", {}, 7), (cont, "ode_heun", {}, 20), (cont, "ode_heun", {}, 1), (cont, "rk45", {}, 20),
        (cont, "dpm_solver", {}, 20), (cont, "dpm_solver", {"order": 1}, 20), (cont, "dpm_solver", {"order": 3}, 20),
        (cont, "ddim", {}, 13), (cont, "dpm_solver_sde", {}, 20), (cont, "ddpm", {}, 9),
        (disc, "ancestral", {}, 20), (disc, "tau_leaping", {}, 20), (disc, "pc", {}, 20),
        (disc, "pc", {"corrector_steps": 2}, 100), (disc, "pc", {"corrector_steps": 3}, 97),
        (disc, "pc", {"corrector_steps": 2, "final": "none"}, 100), (disc, "pc", {"corrector_steps": 0}, 10),
        (disc, "pc", {"corrector_steps": 3}, 2),
    ]
    out = {}
    for pipe, name, opts, nfe in cases:
        key = f"{pipe.family}/{name}/{json.dumps(opts, sort_keys=True)}/{nfe}"
        try:
            out[key] = pipe.steps_for_nfe(nfe, sampler=name, sampler_options=opts)
        except ValueError as exc:
            out[key] = f"ValueError: {exc}"
    return out


def _bundled() -> dict[str, Any]:
    from graphdiff.pipelines import load_pretrained

    out: dict[str, Any] = {}
    # qm9_ctmc's sampler is pinned to the card default the values were recorded with (the card moved to
    # 12 x (1 + 1) calls, t^3, on 2026-12-07: benchmarks/results/few_call_qm9.md)
    pc = {"predictor": "ancestral", "corrector_steps": 2, "time_power": 2.0}
    for name, steps, sampler, opts in (("qm9_ctmc", 3, "pc", pc), ("qm9_sde", 3, "dpm_solver", None),
                                       ("community_small_sde", 3, None, None)):
        pipe = load_pretrained(name)
        s = pipe.sample(4, steps=steps, sampler=sampler, seed=1, sort_sizes=False, precision="float32", sampler_options=opts)
        rec: dict[str, Any] = {"nfe": s.nfe, "steps_for_nfe_49": pipe.steps_for_nfe(49, sampler=sampler, sampler_options=opts)}
        if hasattr(s, "smiles"):
            rec["smiles"] = s.smiles
        rec.update(_state_json(s.state))
        out[name] = rec
    return out


def _metrics() -> dict[str, Any]:
    from graphdiff.metrics import graph_metrics, molecule_metrics, nspdk_mmd

    ref = [nx.cycle_graph(n) for n in range(4, 9)] + [nx.star_graph(3)]
    gen = [nx.path_graph(n) for n in range(3, 8)] + [nx.complete_graph(4)]
    g = graph_metrics(ref, gen, protocol="gdss", metrics=("degree", "clustering", "orbit"))
    gs = graph_metrics(ref, gen, protocol="spectre", metrics=("degree", "clustering", "spectral"))
    smiles = ["CCO", "OCC", "c1ccccc1", "C1CC1", "CC(=O)O", "not a smiles", None, "CCN"]
    m = molecule_metrics(smiles, train_smiles=["CCO", "CCC"], metrics=("validity", "uniqueness", "novelty"))
    nspdk = nspdk_mmd(["CCO", "c1ccccc1", "CC(=O)O"], ["CCN", "C1CC1", "CCO", "CC=O"])
    return {"graph_gdss": {k: float(v) for k, v in g.items()},
            "graph_spectre": {k: float(v) for k, v in gs.items()},
            "molecules": {k: float(v) for k, v in m.values.items()},
            "nspdk": float(nspdk)}


def compute() -> dict[str, Any]:
    torch.set_num_threads(1)
    cont, disc = _fresh_pipelines()
    return {"gmm_samplers": _gmm_samplers(), "ctmc_samplers": _ctmc_tensor_samplers(),
            "pipelines": _pipeline_samples(cont, disc), "steps_for_nfe": _steps_for_nfe(cont, disc),
            "bundled": _bundled(), "metrics": _metrics()}


def _assert_same(got: Any, want: Any, where: str) -> None:
    if isinstance(want, dict):
        assert isinstance(got, dict) and sorted(got) == sorted(want), f"{where}: keys {sorted(got)} != {sorted(want)}"
        for k in want:
            _assert_same(got[k], want[k], f"{where}/{k}")
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), f"{where}: length {len(got)} != {len(want)}"
        for i, (a, b) in enumerate(zip(got, want)):
            _assert_same(a, b, f"{where}[{i}]")
    elif isinstance(want, float):
        assert isinstance(got, (int, float)) and math.isclose(got, want, rel_tol=RTOL, abs_tol=ATOL), f"{where}: {got} != {want}"
    else:
        assert got == want, f"{where}: {got!r} != {want!r}"


@pytest.fixture(scope="module")
def outputs() -> dict[str, Any]:
    pytest.importorskip("rdkit")
    return compute()


@pytest.mark.parametrize("part", ["gmm_samplers", "ctmc_samplers", "pipelines", "steps_for_nfe", "bundled", "metrics"])
def test_golden(outputs, part):
    want = json.loads(GOLDEN.read_text())
    _assert_same(outputs[part], want[part], part)


if __name__ == "__main__":
    if "--record" not in sys.argv:
        sys.exit("usage: python tests/golden/test_golden.py --record  (rewrites golden.json)")
    GOLDEN.write_text(json.dumps(compute(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {GOLDEN}")
