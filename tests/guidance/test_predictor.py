"""Noisy-graph property predictors and predictor guidance through the pipelines, on a toy where
the property is the edge count (graphs of 5-8 nodes, edge densities 0.1-0.9): a predictor trained
on each family's own noisy graphs, saved and reloaded, steers an (untrained) model's samples up
or down with a fixed seed; the bad inputs each raise a clear error."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import torch

from graphdiff.errors import CheckpointError
from graphdiff.guidance.predictor import NoisyGraphPredictor
from graphdiff.guidance.predictor_training import noisy_graphs, train_predictor
from graphdiff.pipelines.continuous import ContinuousGraphDiffusion
from graphdiff.pipelines.discrete import DiscreteGraphDiffusion
from graphdiff.states import GraphState

TINY = dict(hidden=32, depth=2, heads=4, edge_hidden=16, global_hidden=16, time_dim=16)
FAMILIES = {"discrete": DiscreteGraphDiffusion, "continuous": ContinuousGraphDiffusion}


def _data():
    rng = np.random.default_rng(0)
    gs = [nx.gnp_random_graph(int(rng.integers(5, 9)), float(rng.uniform(0.1, 0.9)), seed=i) for i in range(200)]
    return GraphState.from_networkx(gs), np.array([[g.number_of_edges()] for g in gs], dtype=float)


@pytest.fixture(scope="module", params=list(FAMILIES))
def trained(request, tmp_path_factory):
    torch.manual_seed(0)
    graphs, edges = _data()
    pipe = FAMILIES[request.param].create(train_state=graphs, dataset="toy", network=TINY)
    pred = train_predictor(pipe, graphs, edges, ["edges"], kinds=["column"], network=TINY, steps=120, batch_size=32)
    folder = tmp_path_factory.mktemp(f"pred_{request.param}")
    pred.save_pretrained(folder)
    return pipe, pred, folder


def _edges(out) -> float:
    return float(((out.state.A != 0).sum((1, 2)) / 2).float().mean())


def test_training_report_and_round_trip(trained):
    pipe, pred, folder = trained
    rep = pred.card["training"]
    assert rep["steps"] == 120 and rep["valid_graphs"] == 20
    mae = rep["valid_mae"]["edges"]
    assert mae["t=0.1"] < mae["t=0.9"]  # the less noise, the better it predicts
    back = NoisyGraphPredictor.from_pretrained(folder)
    graphs, _ = _data()
    st, t = noisy_graphs(pipe, graphs[:8], torch.Generator().manual_seed(0))
    torch.testing.assert_close(back.predict(st, t), pred.predict(st, t))
    assert back.family == pipe.family and back.spec.names == ["edges"]


def test_guidance_moves_the_edge_count(trained):
    pipe, pred, folder = trained
    kw = dict(num_nodes=[8] * 32, steps=20, seed=0)
    plain = _edges(pipe.sample(32, **kw))
    up = pipe.sample(32, predictor=str(folder), predictor_scale=20.0, condition={"edges": 24.0}, **kw)
    down = pipe.sample(32, predictor=pred, predictor_scale=20.0, condition={"edges": 4.0}, **kw)
    assert _edges(up) > plain + 1.0 and _edges(down) < plain - 1.0, (_edges(down), plain, _edges(up))
    assert up.nfe_per_graph == 2 * 20  # the predictor is one more call per step
    assert up.info["predictor"] == {"edges": 24.0} and up.info["predictor_scale"] == 20.0
    zero = pipe.sample(32, predictor=pred, predictor_scale=0.0, condition={"edges": 24.0}, **kw)
    assert torch.equal(zero.state.A, pipe.sample(32, **kw).state.A)


def test_bad_inputs(trained, tmp_path):
    pipe, pred, folder = trained
    kw = dict(num_nodes=[6, 6], steps=2)
    with pytest.raises(ValueError, match="predictor_scale needs a predictor"):
        pipe.sample(2, predictor_scale=2.0, **kw)
    with pytest.raises(ValueError, match=r"predictor guidance needs a target: .*edges \(training range"):
        pipe.sample(2, predictor=pred, **kw)
    with pytest.raises(ValueError, match="unknown condition 'logp'; the predictor predicts: edges .*unconditional"):
        pipe.sample(2, predictor=pred, condition={"edges": 3.0, "logp": 1.0}, **kw)
    with pytest.raises(ValueError, match="predictor_scale must be a finite number >= 0"):
        pipe.sample(2, predictor=pred, predictor_scale=-1.0, condition={"edges": 3.0}, **kw)
    with pytest.raises(ValueError, match="predictor guidance is scaled by predictor_scale"):
        pipe.sample(2, predictor=pred, guidance_scale=2.0, condition={"edges": 3.0}, **kw)
    with pytest.raises(TypeError, match="NoisyGraphPredictor or the folder"):
        pipe.sample(2, predictor=3, condition={"edges": 3.0}, **kw)
    other = "continuous" if pipe.family == "discrete" else "discrete"
    graphs, _ = _data()
    alien = FAMILIES[other].create(train_state=graphs, dataset="toy", network=TINY)
    with pytest.raises(ValueError, match=f"reads noisy graphs of the {pipe.family} family"):
        alien.sample(2, predictor=pred, condition={"edges": 3.0}, **kw)
    pipe.save_pretrained(tmp_path / "model")
    with pytest.raises(CheckpointError, match="does not hold a noisy graph predictor"):
        NoisyGraphPredictor.from_pretrained(tmp_path / "model")
    with pytest.raises(FileNotFoundError, match="no noisy predictor"):
        NoisyGraphPredictor.from_pretrained(tmp_path / "nothing")


def test_cli_predictor_flags(trained, tmp_path):
    from typer.testing import CliRunner

    from graphdiff.cli import app

    pipe, pred, folder = trained
    pipe.save_pretrained(tmp_path / "model")
    out = tmp_path / "g.json"
    args = ["sample", "-m", str(tmp_path / "model"), "-n", "3", "--steps", "2", "--device", "cpu", "-o", str(out)]
    res = CliRunner().invoke(app, args + ["--predictor", str(folder), "--predictor-scale", "5", "--condition", "edges=20"])
    assert res.exit_code == 0, res.output
    assert out.exists()
    res = CliRunner().invoke(app, args[:-1] + [str(tmp_path / "h.json"), "--predictor", str(folder)])
    assert res.exit_code == 2 and "needs a target" in res.output
