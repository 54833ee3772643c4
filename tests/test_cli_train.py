"""``graphdiff train`` without a YAML file: atom types read from the data, skipped molecules named
with the fix, a finished run reported as complete, and ``device="auto"``."""

from __future__ import annotations

import json

import pytest
import torch
from typer.testing import CliRunner

from graphdiff.cli import app

pytest.importorskip("rdkit")
runner = CliRunner()

SMILES = ["CCO", "CC(=O)O", "c1ccccc1O", "CCN", "C[NH3+]", "CC(=O)[O-]", "FC(F)F", "OCCO"] * 2
TINY = {"hidden": 16, "edge_hidden": 8, "global_hidden": 8, "depth": 1, "heads": 2, "time_dim": 16, "K": 4}


def _write(tmp_path, rows):
    f = tmp_path / "my.smi"
    f.write_text("\n".join(rows) + "\n")
    return f


def test_train_smiles_without_config_reads_the_atom_types_from_the_data(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    f = _write(tmp_path, SMILES)
    res = runner.invoke(app, ["train", "--smiles", str(f), "--steps", "2"])
    assert res.exit_code == 0, res.output
    assert "trained 2 steps" in res.output
    card = json.loads((tmp_path / "runs" / "my" / "model" / "config.json").read_text())["card"]
    # C, O, N, F and the charged N+ / O- of the file; none of ZINC's S, Cl, Br, I, P
    assert sorted(card["vocabulary"]["types"]) == ["C", "F", "N", "N+", "O", "O-"]
    assert card["dataset"] == "my" and card["training"]["train_graphs"] == len(SMILES)


def test_rerunning_a_finished_run_says_it_is_complete(tmp_path):
    f = _write(tmp_path, SMILES)
    out = tmp_path / "run"
    cfg = tmp_path / "run.yaml"
    cfg.write_text(json.dumps({"smiles_file": str(f), "out": str(out), "network": TINY, "progress": False,
                               "train": {"steps": 3, "checkpoint_every": 10}}))  # JSON is YAML
    first = runner.invoke(app, ["train", "--config", str(cfg)])
    assert first.exit_code == 0 and "trained 3 steps" in first.output, first.output
    weights = (out / "model" / "model.safetensors").read_bytes()
    again = runner.invoke(app, ["train", "--config", str(cfg)])
    assert again.exit_code == 0, again.output
    assert "already complete" in again.output and "3 steps" in again.output and "trained 3 steps" not in again.output
    assert (out / "model" / "model.safetensors").read_bytes() == weights  # untouched
    longer = runner.invoke(app, ["train", "--config", str(cfg), "--steps", "4"])  # more steps: trains on
    assert longer.exit_code == 0 and "trained 4 steps" in longer.output, longer.output


def test_molecules_the_vocabulary_cannot_encode_are_counted_named_and_the_fix_given(tmp_path):
    f = _write(tmp_path, SMILES + ["CCS", "CS(=O)C", "CCBr", "not a smiles"])
    cfg = tmp_path / "run.yaml"
    cfg.write_text(json.dumps({"smiles_file": str(f), "out": str(tmp_path / "run"), "network": TINY, "progress": False,
                               "vocabulary": ["C", "N", "O", "F", "N+", "O-"], "train": {"steps": 1}}))
    res = runner.invoke(app, ["train", "--config", str(cfg)])
    assert res.exit_code == 0, res.output
    assert "skipped 3 of 20 molecules with atoms the model cannot encode: Br (1 molecule), S (2 molecules)" in res.output
    assert "remove the `vocabulary:` option" in res.output
    assert "skipped 1 of 20 rows that RDKit cannot parse" in res.output
    card = json.loads((tmp_path / "run" / "model" / "config.json").read_text())["card"]
    assert card["training"]["train_graphs"] == 16


def test_train_needs_a_data_source_and_one_only(tmp_path):
    res = runner.invoke(app, ["train"])
    assert res.exit_code == 2 and "--smiles my.smi" in res.output
    f = _write(tmp_path, SMILES)
    res = runner.invoke(app, ["train", "--smiles", str(f), "--dataset", "qm9"])
    assert res.exit_code == 2 and "one of --smiles, --graphs and --dataset" in res.output
    res = runner.invoke(app, ["train", "--smiles", str(tmp_path / "nope.smi")])
    assert res.exit_code == 2 and "file not found" in res.output


def test_device_auto_picks_cuda_when_present(monkeypatch):
    from graphdiff.pipelines.checks import check_device, resolve_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == "cpu" and check_device("auto") == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == "cuda"
    assert resolve_device("cpu") == "cpu" and resolve_device(torch.device("cpu")) == torch.device("cpu")


def test_a_smiles_file_without_one_parsable_molecule_is_one_error_line(tmp_path):
    f = _write(tmp_path, ["xx", "yy"])
    res = runner.invoke(app, ["train", "--smiles", str(f), "--steps", "1", "-o", str(tmp_path / "o")])
    assert res.exit_code == 2 and "none of its 2 rows is a SMILES RDKit can parse" in res.output
