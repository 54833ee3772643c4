"""Conditional training from options: RDKit properties / CSV columns, condition dropout, and
fine-tuning an unconditional model into a conditional one (zero-initialised input)."""

from __future__ import annotations

import pytest
import torch

from graphdiff.data.molecules import smiles_to_state
from graphdiff.pipelines import load_pretrained, train_from_options

pytest.importorskip("rdkit")

SMILES = ["CCO", "CC(=O)N", "C1CC1", "OCC#N", "CCCCO", "c1ccncc1", "CC(C)O", "NCC(=O)O"]


def test_fine_tuning_adds_a_condition_that_starts_as_the_unconditional_model(tmp_path):
    f = tmp_path / "mols.csv"
    f.write_text("smiles,gap\n" + "\n".join(f"{s},{0.1 * i}" for i, s in enumerate(SMILES)) + "\n")
    opts = {"smiles_file": str(f), "init_from": "qm9_ctmc", "out": str(tmp_path / "r"), "progress": False,
            "condition": {"properties": ["logp", "mw"], "columns": ["gap"], "dropout": 0.2},
            "train": {"steps": 1, "batch_size": 4, "lr": 0.0, "warmup_steps": 0}}
    s = train_from_options(opts)
    tuned, base = load_pretrained(str(s.model_dir)), load_pretrained("qm9_ctmc")
    cond = tuned.card["condition"]
    assert [e["name"] for e in cond["entries"]] == ["logp", "mw", "gap"]
    assert [e["kind"] for e in cond["entries"]] == ["property", "property", "column"] and cond["dropout"] == 0.2
    assert cond["entries"][1]["low"] == pytest.approx(42.08, abs=0.01)  # cyclopropane, the lightest
    assert "node_counts" in cond and tuned.network.config["cond_dims"] == {"gap": 1, "logp": 1, "mw": 1}
    # lr 0: the old weights are kept and the new input is still zero, so any condition gives the old output
    st = smiles_to_state(SMILES[:4], base.vocabulary).state
    t = torch.full((4,), 0.4)
    with torch.no_grad():
        want = base.network(st, t)
        got = tuned.network(st, t, logp=torch.randn(4), mw=torch.randn(4), gap=torch.randn(4))
    torch.testing.assert_close(got.X, want.X)
    torch.testing.assert_close(got.A, want.A)

    # trained with a learning rate, the condition changes the prediction
    opts.update(out=str(tmp_path / "r2"), train={"steps": 3, "batch_size": 4, "lr": 1e-2, "warmup_steps": 0})
    moved = load_pretrained(str(train_from_options(opts).model_dir))
    with torch.no_grad():
        a = moved.network(st, t, logp=torch.zeros(4), mw=torch.zeros(4), gap=torch.zeros(4)).X
        b = moved.network(st, t, logp=torch.full((4,), 2.0), mw=torch.zeros(4), gap=torch.zeros(4)).X
    assert not torch.allclose(a, b)


def test_condition_block_errors(tmp_path):
    f = tmp_path / "m.smi"
    f.write_text("\n".join(SMILES) + "\n")
    base = {"smiles_file": str(f), "init_from": "qm9_ctmc", "out": str(tmp_path / "r"), "progress": False,
            "train": {"steps": 1, "batch_size": 4}}
    with pytest.raises(ValueError, match="unknown property .tpsa.; valid choices: alerts, hbd, logp, mw, qed, rotb, sa"):
        train_from_options({**base, "condition": {"properties": ["tpsa"]}})
    with pytest.raises(ValueError, match="unknown condition option"):
        train_from_options({**base, "condition": {"properties": ["qed"], "drop": 0.1}})
    with pytest.raises(ValueError, match="needs `properties`"):
        train_from_options({**base, "condition": {"dropout": 0.1}})
    # refused before any molecule is read: the SMILES file does not even exist
    early = {**base, "smiles_file": str(tmp_path / "missing.smi")}
    for cond, msg in (({"properties": ["qed"], "size_law": "knn"}, "unknown condition size_law 'knn'"),
                      ({"properties": ["tpsa"]}, "unknown property .tpsa."),
                      ({"properties": ["qed"], "drop": 0.1}, "unknown condition option"),
                      (["qed"], "must be a mapping")):
        with pytest.raises(ValueError, match=msg):
            train_from_options({**early, "condition": cond})
    assert not (tmp_path / "r").exists()


def test_training_on_from_a_conditional_model_keeps_its_weights_and_standardisation(tmp_path):
    from graphdiff.data.properties import compute_properties
    from graphdiff.pipelines.train import _prepare_conditional

    f = tmp_path / "first.smi"
    f.write_text("\n".join(SMILES) + "\n")
    cond = {"properties": ["logp", "mw"], "dropout": 0.1}
    first = {"smiles_file": str(f), "init_from": "qm9_ctmc", "out": str(tmp_path / "r1"), "progress": False,
             "condition": cond, "train": {"steps": 2, "batch_size": 4, "lr": 1e-2, "warmup_steps": 0}}
    parent_dir = str(train_from_options(first).model_dir)
    parent = load_pretrained(parent_dir)
    old = {e["name"]: e for e in parent.card["condition"]["entries"]}

    heavier = ["CCCCCCCO", "OC(=O)CCC(=O)O", "c1ccccc1O", "CCN(CC)CC"]  # other means, a wider weight range
    g = tmp_path / "second.smi"
    g.write_text("\n".join(heavier) + "\n")
    second = {"smiles_file": str(g), "init_from": parent_dir, "out": str(tmp_path / "r2"), "progress": False,
              "condition": dict(cond, dropout=0.2), "train": {"steps": 1, "batch_size": 4}}
    pipe, _, y = _prepare_conditional(second)
    raw = compute_properties(heavier, ["logp", "mw"])
    for j, name in enumerate(["logp", "mw"]):  # the parent's standardisation, not the new data's
        want = (raw[:, j] - old[name]["mean"]) / old[name]["std"]
        torch.testing.assert_close(y[:, j], torch.as_tensor(want, dtype=torch.float32))
    new = {e["name"]: e for e in pipe.card["condition"]["entries"]}
    assert new["mw"]["mean"] == old["mw"]["mean"] and new["mw"]["std"] == old["mw"]["std"]
    assert new["mw"]["low"] == old["mw"]["low"] and new["mw"]["high"] == pytest.approx(118.09, abs=0.01)  # succinic acid
    assert pipe.card["condition"]["dropout"] == 0.2
    for k, v in parent.network.state_dict().items():  # the conditioning input too: nothing re-initialised
        torch.testing.assert_close(pipe.network.state_dict()[k], v)

    with pytest.raises(ValueError, match="is conditioned on logp, mw: give the `condition:` block"):
        _prepare_conditional({k: v for k, v in second.items() if k != "condition"})
    with pytest.raises(ValueError, match="already conditioned on .*cannot re-condition it on .'qed'."):
        _prepare_conditional(dict(second, condition={"properties": ["qed"]}))
