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
