"""The public way to turn a config file into a model, its data and fit() arguments
(read_config / prepare_training), which benchmarks use instead of parsing YAML themselves."""

from __future__ import annotations

import pytest

from graphdiff.pipelines import prepare_training, read_config
from graphdiff.pipelines.discrete import DiscreteGraphDiffusion


def test_read_config_errors_and_empty_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="config file not found"):
        read_config(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1, 2\n")
    with pytest.raises(ValueError, match="not valid YAML"):
        read_config(bad)
    seq = tmp_path / "seq.yaml"
    seq.write_text("- 1\n- 2\n")
    with pytest.raises(ValueError, match="mapping"):
        read_config(seq)
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    assert read_config(empty) == {}


def test_prepare_training_from_a_file(tmp_path):
    cfg = tmp_path / "run.yaml"
    cfg.write_text("family: discrete\ndataset: synthetic_community\nmax_train: 6\n"
                   "network: {hidden: 16, edge_hidden: 8, global_hidden: 8, depth: 1, heads: 2, time_dim: 16}\n"
                   "train: {steps: 3, batch_size: 4, lr: 0.001}\n")
    pipe, state, fit_kwargs = prepare_training(cfg)
    assert isinstance(pipe, DiscreteGraphDiffusion) and state.batch_size == 6
    assert fit_kwargs == {"steps": 3, "batch_size": 4, "lr": 0.001}
    with pytest.raises(ValueError, match="unknown train option"):
        prepare_training({**read_config(cfg), "train": {"stepz": 3}})
