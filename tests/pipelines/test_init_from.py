"""``init_from``: training starts from a pretrained model (train on, or fine-tune on new data)."""

from __future__ import annotations

import json

import networkx as nx
import pytest
import torch
from typer.testing import CliRunner

from graphdiff.cli import app
from graphdiff.pipelines.discrete import DiscreteGraphDiffusion
from graphdiff.pipelines import load_pretrained, train_from_options, training_lineage

TINY = dict(hidden=16, edge_hidden=8, global_hidden=8, depth=1, heads=2, time_dim=16, K=4)


def _write(path, graphs) -> str:
    path.write_text(json.dumps([nx.node_link_data(g, edges="links") for g in graphs]))
    return str(path)


@pytest.fixture(scope="module")
def base_model(tmp_path_factory):
    """A tiny discrete model trained 3 steps on cycles and paths of 4-7 nodes."""
    tmp = tmp_path_factory.mktemp("base")
    graphs = [nx.cycle_graph(n) for n in range(4, 8)] + [nx.path_graph(n) for n in range(4, 8)]
    s = train_from_options({"graphs_file": _write(tmp / "toy.json", graphs), "family": "discrete",
                            "network": dict(TINY), "train": {"steps": 3, "batch_size": 4}, "out": str(tmp / "run"),
                            "progress": False, "summary": "toy base model"})
    return s.model_dir


def _weights(pipe) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in pipe.network.state_dict().items()}


def test_training_starts_from_the_saved_weights_and_records_the_lineage(base_model, tmp_path):
    bigger = [nx.star_graph(n) for n in range(7, 11)] * 2  # 8-11 nodes: a different size distribution
    opts = {"graphs_file": _write(tmp_path / "stars.json", bigger), "family": "discrete", "init_from": str(base_model),
            "train": {"steps": 2, "batch_size": 4, "lr": 0.0, "warmup_steps": 0}, "out": str(tmp_path / "ft"),
            "progress": False}
    s = train_from_options(opts)
    base, tuned = load_pretrained(str(base_model)), DiscreteGraphDiffusion.from_pretrained(s.model_dir)
    # learning rate 0: the run changes nothing, so the result is exactly the saved model's weights
    for k, v in _weights(base).items():
        assert torch.equal(v, tuned.network.state_dict()[k]), k
    card = tuned.card
    assert card["init_from"] == {"model": str(base_model), "dataset": "toy", "steps": 3,
                                 "seconds": base.card["training"]["seconds"]}
    assert card["training"]["steps"] == 2 and tuned.dataset == "stars"
    assert "starting from" in card["summary"] and "toy base model" in card["summary"]
    assert tuned.node_counts.max_nodes == 11 and base.node_counts.max_nodes == 7  # sizes follow the new data
    assert tuned.sample(3, steps=2, seed=0).state.node_mask.sum(-1).min() >= 8

    # a positive learning rate moves the weights away from the saved ones
    opts.update(out=str(tmp_path / "ft2"), train={"steps": 2, "batch_size": 4, "lr": 1e-2, "warmup_steps": 0})
    moved = DiscreteGraphDiffusion.from_pretrained(train_from_options(opts).model_dir)
    assert any(not torch.equal(v, moved.network.state_dict()[k]) for k, v in _weights(base).items())


def test_init_from_refuses_options_it_would_ignore(base_model, tmp_path):
    gfile = _write(tmp_path / "g.json", [nx.cycle_graph(5)] * 4)
    base = {"graphs_file": gfile, "init_from": str(base_model), "train": {"steps": 1}, "out": str(tmp_path / "r")}
    with pytest.raises(ValueError, match="keeps the saved model's network and process: remove the network"):
        train_from_options({**base, "network": {"hidden": 32}})
    with pytest.raises(ValueError, match="is a discrete model; the options say family: continuous"):
        train_from_options({**base, "family": "continuous"})
    with pytest.raises(ValueError, match="unknown pretrained model .*no_model.*valid choices: .*qm9_ctmc"):
        train_from_options({**base, "init_from": str(tmp_path / "no_model")})
    with pytest.raises(ValueError, match="is a molecule model .* holds generic graphs"):
        train_from_options({**base, "init_from": "qm9_ctmc"})


def test_molecule_models_keep_their_atom_types(tmp_path):
    smi = tmp_path / "mine.smi"
    smi.write_text("CCO\nCC(=O)N\nC1CC1\nOCC#N\n")
    base = {"smiles_file": str(smi), "init_from": "qm9_ctmc", "out": str(tmp_path / "r"), "progress": False,
            "train": {"steps": 1, "batch_size": 4}}
    with pytest.raises(ValueError, match="has atom types C/N/O/F"):
        train_from_options({**base, "vocabulary": "zinc250k"})
    s = train_from_options(base)  # fine-tune the bundled QM9 model on my own SMILES: encoded with QM9's atom types
    tuned = load_pretrained(str(s.model_dir))
    assert tuned.vocabulary == load_pretrained("qm9_ctmc").vocabulary and tuned.dataset == "mine"
    assert tuned.card["init_from"]["model"] == "qm9_ctmc" and tuned.card["init_from"]["dataset"] == "qm9"


def test_cli_train_init_from(base_model, tmp_path):
    cfg = tmp_path / "run.yaml"
    cfg.write_text(f"graphs_file: {_write(tmp_path / 'g.json', [nx.cycle_graph(6)] * 4)}\nfamily: discrete\n"
                   f"train: {{steps: 1, batch_size: 2}}\nout: {tmp_path / 'run'}\nprogress: false\n")
    res = CliRunner().invoke(app, ["train", "-c", str(cfg), "--init-from", str(base_model)])
    assert res.exit_code == 0, res.output
    assert load_pretrained(str(tmp_path / "run" / "model")).card["init_from"]["model"] == str(base_model)
    res = CliRunner().invoke(app, ["train", "-c", str(cfg), "--init-from", "qm9_ctmc"])
    assert res.exit_code == 2 and "molecule model" in res.output


def test_several_stages_keep_the_whole_lineage(base_model, tmp_path):
    gfile = _write(tmp_path / "g.json", [nx.cycle_graph(6), nx.path_graph(5)] * 2)
    prev, runs = str(base_model), []
    for stage in (2, 3):
        s = train_from_options({"graphs_file": gfile, "init_from": prev, "out": str(tmp_path / f"stage{stage}"),
                                "progress": False, "train": {"steps": stage, "batch_size": 2}})
        prev = str(s.model_dir)
        runs.append(load_pretrained(prev))
    card = runs[-1].card
    assert card["training"]["steps"] == 3  # the newest stage only
    # nested newest first on the card; training_lineage lists the ancestors oldest first
    assert card["init_from"]["model"] == str(tmp_path / "stage2" / "model") and card["init_from"]["steps"] == 2
    assert card["init_from"]["init_from"]["model"] == str(base_model)
    assert [(st["model"], st["dataset"], st["steps"]) for st in training_lineage(card)] == [
        (str(base_model), "toy", 3), (str(tmp_path / "stage2" / "model"), "g", 2)]
    assert training_lineage(load_pretrained(str(base_model)).card) == []
