"""Checks before work: a model card against its weight file's shapes (before anything is built),
and the numbers of ``sample()`` (refused, never rounded or replaced by the card's default)."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from graphdiff.errors import CheckpointError
from graphdiff.pipelines import load_pretrained
from graphdiff.pipelines.base import GraphDiffusionPipeline
from graphdiff.pipelines.checks import check_count, check_sampler_options
from graphdiff.pipelines.pretrained import PRETRAINED_DIR


def _tampered(tmp_path, **network_config):
    d = tmp_path / "model"
    shutil.copytree(PRETRAINED_DIR / "community_small_sde", d)
    cfg = json.loads((d / "config.json").read_text())
    cfg["card"]["network"]["config"].update(network_config)
    (d / "config.json").write_text(json.dumps(cfg))
    return d


@pytest.mark.parametrize("change", [{"hidden": 100000}, {"hidden": -5}, {"depth": 4}, {"heads": 0}])
def test_card_is_checked_against_the_weight_shapes_before_building(tmp_path, monkeypatch, change):
    d = _tampered(tmp_path, **change)
    klass = type(load_pretrained("community_small"))

    def no_build(card):  # the old code built the network (40 GB for hidden 100000) before comparing
        raise AssertionError("the network was built before the card was checked")

    monkeypatch.setattr(klass, "_build", classmethod(lambda cls, card: no_build(card)))
    with pytest.raises(CheckpointError, match="config.json"):
        GraphDiffusionPipeline.from_pretrained(d)


def test_untampered_card_still_loads(tmp_path):
    d = _tampered(tmp_path)
    pipe = GraphDiffusionPipeline.from_pretrained(d)
    assert pipe.network.config["hidden"] == 64


@pytest.fixture(scope="module")
def pipe():
    return load_pretrained("community_small")


@pytest.mark.parametrize("kwargs, match", [
    (dict(steps=0), "steps"), (dict(steps=2.7), "steps"), (dict(steps=-1), "steps"), (dict(steps=True), "steps"),
    (dict(nfe=0), "nfe"), (dict(n=2.5), "n must"), (dict(n=-1), "n must"), (dict(batch_size=0), "batch_size"),
    (dict(num_nodes=[12, -3]), "num_nodes"), (dict(num_nodes=[12.5, 13]), "num_nodes"), (dict(num_nodes=[0, 12]), "num_nodes"),
    (dict(num_nodes=[12]), "entries"), (dict(num_nodes=[[12, 13]]), "num_nodes"),
    (dict(sampler_options={"snr": -1}), "snr"), (dict(sampler_options={"s_noise": 1e9}), "s_noise"),
    (dict(sampler_options={"corrector_steps": -1}), "corrector_steps"), (dict(sampler_options={"temperature": float("nan")}), "temperature"),
])
def test_sample_refuses_bad_numbers_before_any_work(pipe, monkeypatch, kwargs, match):
    monkeypatch.setattr(type(pipe), "sample_batch", lambda *a, **k: pytest.fail("sampled before refusing"))
    args = {"n": 2, **kwargs}
    with pytest.raises(ValueError, match=match):
        pipe.sample(args.pop("n"), **args)


def test_whole_float_steps_and_nodes_are_accepted(pipe):
    a = pipe.sample(2, steps=2.0, seed=0, num_nodes=torch.tensor([12.0, 14.0]))
    b = pipe.sample(2, steps=2, seed=0, num_nodes=[12, 14])
    assert torch.equal(a.state.A, b.state.A) and a.state.node_mask.sum(-1).tolist() == [12, 14]


def test_check_count_and_options():
    assert check_count(3.0, "x") == 3 and check_count(0, "x", minimum=0) == 0
    for bad in (0, 2.5, float("inf"), "3", None, True):
        with pytest.raises(ValueError):
            check_count(bad, "x")
    check_sampler_options({"snr": 0.2, "corrector_steps": 0, "s_noise": 1.0, "target_guidance": 0.05, "predictor": "ancestral"})


def _train_opts(tmp_path, **over):
    import networkx as nx

    f = tmp_path / "toy.json"
    f.write_text(json.dumps([nx.node_link_data(g, edges="links") for g in [nx.cycle_graph(4), nx.path_graph(5)] * 2]))
    opts = {"graphs_file": str(f), "family": "discrete", "out": str(tmp_path / "run"), "progress": False,
            "network": dict(hidden=8, edge_hidden=8, global_hidden=8, depth=1, heads=2, time_dim=8, K=2),
            "train": {"steps": 1, "batch_size": 2}}
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(opts.get(k), dict):
            opts[k] = {**opts[k], **v}
        else:
            opts[k] = v
    return opts


@pytest.mark.parametrize("over, match", [
    ({"sampling": {"sampler": "bogus"}}, "unknown sampler 'bogus'"),
    ({"sampling": {"steps": 0}}, "sampling.steps"),
    ({"sampling": {"options": {"pc": {"snr": -1}}}}, "snr"),
    ({"sampling": ["steps", 3]}, "'sampling' must be a mapping"),
    ({"train": {"batch_size": 0}}, "train.batch_size"),
    ({"train": {"steps": 20.7}}, "train.steps"),
    ({"train": {"steps": 0}}, "train.steps"),
    ({"train": {"lr": float("nan")}}, "train.lr"),
    ({"network": {"hidden": -5}}, "cannot build a model"),
    ({"out": "/proc/x/run"}, "cannot write to /proc/x"),
    ({"device": "cuda:7"}, "device"),
])
def test_training_config_is_refused_before_the_first_step(tmp_path, over, match):
    from graphdiff.pipelines import train_from_options

    with pytest.raises(ValueError, match=match):
        train_from_options(_train_opts(tmp_path, **over))
    assert not (tmp_path / "run" / "checkpoints").exists() and not (tmp_path / "run" / "model").exists()


def test_nproc_must_divide_the_batch_before_spawning(tmp_path, monkeypatch):
    from graphdiff.pipelines import train_from_options
    from graphdiff.training import distributed

    monkeypatch.setattr(distributed, "launch", lambda *a, **k: pytest.fail("spawned workers"))
    with pytest.raises(ValueError, match="divide evenly over --nproc 3"):
        train_from_options(_train_opts(tmp_path, train={"batch_size": 4}), nproc=3)


def test_resuming_with_other_data_is_refused(tmp_path):
    """A resumed run must train on the data of the run it continues (it used to take the new data
    and the card then claimed it, with the new step count)."""
    import networkx as nx

    from graphdiff.pipelines import train_from_options

    opts = _train_opts(tmp_path, train={"steps": 1, "checkpoint_every": 1})
    train_from_options(opts)
    other = tmp_path / "other.json"
    other.write_text(json.dumps([nx.node_link_data(g, edges="links") for g in [nx.star_graph(4), nx.path_graph(6)] * 2]))
    with pytest.raises(CheckpointError, match="other data"):
        train_from_options({**opts, "graphs_file": str(other), "train": {"steps": 2, "batch_size": 2, "checkpoint_every": 1}})
    again = train_from_options({**opts, "train": {"steps": 2, "batch_size": 2, "checkpoint_every": 1}})
    assert again.steps == 2  # the same data resumes
