"""Every YAML recipe in ``configs/`` and every training stage in ``benchmarks/stages/`` is one
``graphdiff train`` accepts: known keys, valid training options, and a network and process that
build -- checked by one training step on a tiny stand-in for the config's data (the GPU recipes are
otherwise unrun, so a typo would only show on the GPU)."""

from __future__ import annotations

import json
from pathlib import Path

import networkx as nx
import pytest

from graphdiff.cli import load_config
from graphdiff.pipelines import load_pretrained, train_from_options

ROOT = Path(__file__).resolve().parents[1]
RECIPES = sorted((ROOT / "configs").glob("*.yaml"))
STAGES = sorted((ROOT / "benchmarks" / "stages").glob("*.yaml"))
CONFIGS = RECIPES + STAGES
MOLECULES = {"qm9", "zinc250k", "moses"}


def test_there_are_configs():
    assert len(RECIPES) >= 10 and len(STAGES) >= 11


def test_recipes_are_not_lab_stages():
    """``configs/`` holds recipes to start from (fine-tuning a bundled model by name is one); a run
    that continues another run's output (``init_from: runs/...``) is a stage of an experiment and
    lives under ``benchmarks/stages/``."""
    staged = [p.name for p in RECIPES if str(load_config(p).get("init_from") or "").startswith("runs/")]
    assert not staged, f"move these stages to benchmarks/stages/: {staged}"


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_config_trains_one_step_on_a_stand_in(path: Path, tmp_path: Path):
    cfg = load_config(path)
    assert cfg.get("family") in ("discrete", "continuous"), "say the family explicitly"
    dataset = cfg.pop("dataset")
    if cfg.get("init_from"):
        # stages trained on from an earlier run: start from a fresh tiny model of the same family instead
        init = tmp_path / "init"
        stand_in = {"family": cfg["family"], "out": str(init), "train": {"steps": 1, "batch_size": 2}, "progress": False,
                    "network": {"hidden": 16, "edge_hidden": 8, "global_hidden": 8, "depth": 1, "heads": 2, "K": 4}}
        stand_in.update(_data(dataset, tmp_path))
        train_from_options(stand_in)
        cfg["init_from"] = str(init / "model")
    cfg.update(_data(dataset, tmp_path, labels=(cfg.get("condition") or {}).get("labels", ())))
    cfg["train"] = {**cfg.get("train", {}), "steps": 1, "batch_size": 2, "checkpoint_every": 1}
    cfg["train"].pop("max_minutes", None)
    cfg.update(device="cpu", out=str(tmp_path / "run"), progress=False)
    summary = train_from_options(cfg)
    assert summary.steps == 1
    pipe = load_pretrained(str(summary.model_dir))
    assert pipe.family == cfg["family"]


def _data(dataset: str, tmp_path: Path, labels=()) -> dict:
    if dataset in MOLECULES:
        smi = tmp_path / "mols.smi"
        smi.write_text("CCO\nc1ccccc1O\nCC(=O)N\nCCF\n")
        return {"smiles_file": str(smi), "vocabulary": dataset}
    graphs = tmp_path / "graphs.json"
    stand_in = (nx.cycle_graph(5), nx.path_graph(6), nx.star_graph(4), nx.grid_2d_graph(2, 3))
    for i, g in enumerate(stand_in):  # class attributes for a config conditioned on graph labels
        g.graph.update({name: i % 2 for name in labels})
    graphs.write_text(json.dumps([nx.node_link_data(g, edges="links") for g in stand_in]))
    return {"graphs_file": str(graphs)}
