"""A conditional model gains new condition entries on top of its trained weights (``init_from`` with a
``condition:`` block naming the model's entries and more): the old entries keep their weights and their
standardisation, the new entries' input columns start at zero, so the network computes exactly what it did,
whatever value the new entries take, until it is trained. Any other change of the condition is refused."""

from __future__ import annotations

import pytest
import torch

from graphdiff.data.molecules import smiles_to_state
from graphdiff.guidance.training import conditioning_parameters
from graphdiff.nn import GraphTransformerDenoiser
from graphdiff.nn.layers import GlobalConditioning
from graphdiff.pipelines import load_pretrained, train_from_options
from graphdiff.testing import random_categorical_state, randomize_

D = torch.float64
SMALL = dict(num_node_classes=3, num_edge_classes=4, K=4, hidden=16, edge_hidden=8, global_hidden=8, depth=2,
             heads=2, time_dim=16)


def _trained_like(net):
    """The conditioning layers with random weights, as after training."""
    randomize_(conditioning_parameters(net))
    return net


@pytest.mark.parametrize("film", [False, True])
def test_carried_input_weight_computes_exactly_what_the_old_module_did(film):
    torch.manual_seed(0)
    old = GlobalConditioning("sinusoidal", 8, 8, 4, cond_dims={"qed": 1, "logp": 1}, cond_classes={"label": 3},
                             film=film).double()
    _trained_like(old)
    new = GlobalConditioning("sinusoidal", 8, 8, 4, cond_dims={"qed": 1, "logp": 1, "alerts": 1, "mw": 1},
                             cond_classes={"label": 3, "kind": 2}, film=film).double()
    # the new layout interleaves: alerts, logp, mw, qed (sorted), then the labels
    assert list(new.input_columns()) == ["alerts", "logp", "mw", "qed", "kind", "label"]
    state = dict(old.state_dict())
    for part in ("cond_mlp", "film_mlp") if film else ("cond_mlp",):
        state[f"{part}.net.0.weight"] = new.carry_input_weight(old, state[f"{part}.net.0.weight"])
    missing, unexpected = new.load_state_dict(state, strict=False)
    assert not unexpected and all(k.startswith("label_embeddings.kind.") for k in missing)
    B, t, g = 4, torch.rand(4, dtype=D), torch.randn(4, 4, dtype=D)
    old_cond = {"qed": torch.randn(B, dtype=D), "logp": torch.tensor([0.3, float("nan"), -1.0, 2.0], dtype=D),
                "label": torch.tensor([0, 2, -1, 1])}
    extra = {"alerts": torch.tensor([0.0, 1.0, float("nan"), 3.0], dtype=D), "mw": torch.randn(B, dtype=D),
             "kind": torch.tensor([1, 0, -1, 1])}
    for cond in (old_cond, {}, {"qed": old_cond["qed"]}):
        a = old.features(t, g, cond)
        for given in (cond, {**cond, **extra}):  # the new entries absent or given: the same output
            b = new.features(t, g, given)
            assert torch.equal(a[0], b[0])
            assert (a[1] is None and b[1] is None) or torch.equal(a[1], b[1])


def test_carry_refuses_a_dropped_or_resized_entry():
    old = GlobalConditioning("sinusoidal", 8, 8, 4, cond_dims={"qed": 1, "logp": 1})
    w = old.state_dict()["cond_mlp.net.0.weight"]
    with pytest.raises(ValueError, match="missing or change width"):
        GlobalConditioning("sinusoidal", 8, 8, 4, cond_dims={"qed": 1, "mw": 1}).carry_input_weight(old, w)
    with pytest.raises(ValueError, match="missing or change width"):
        GlobalConditioning("sinusoidal", 8, 8, 4, cond_dims={"qed": 2, "logp": 1}).carry_input_weight(old, w)


SMILES = ["CCO", "CC(=O)N", "C1CC1", "OCC#N", "CCCCO", "C=CC#N", "CC(C)O", "NCC(=O)O"]


@pytest.fixture(scope="module")
def logp_model(tmp_path_factory):
    """A tiny discrete QM9-vocabulary model conditioned on logP (FiLM path on), trained 3 steps."""
    pytest.importorskip("rdkit")
    tmp = tmp_path_factory.mktemp("base")
    f = tmp / "mols.smi"
    f.write_text("\n".join(SMILES) + "\n")
    s = train_from_options({"smiles_file": str(f), "vocabulary": "qm9", "family": "discrete", "progress": False,
                            "network": dict(hidden=16, edge_hidden=8, global_hidden=8, depth=2, heads=2, time_dim=16,
                                            K=4, cond_film=True),
                            "condition": {"properties": ["logp"]}, "out": str(tmp / "run"),
                            "train": {"steps": 3, "batch_size": 4, "lr": 1e-2, "warmup_steps": 0}})
    return s.model_dir, f


def test_init_from_adds_entries_and_starts_where_the_model_was(logp_model, tmp_path):
    base_dir, f = logp_model
    opts = {"smiles_file": str(f), "init_from": str(base_dir), "out": str(tmp_path / "r"), "progress": False,
            "condition": {"properties": ["logp", "qed", "alerts"]},
            "train": {"steps": 1, "batch_size": 4, "lr": 0.0, "warmup_steps": 0, "cond_lr_scale": 10}}
    tuned = load_pretrained(str(train_from_options(opts).model_dir))
    base = load_pretrained(str(base_dir))
    assert tuned.network.config["cond_dims"] == {"alerts": 1, "logp": 1, "qed": 1}
    old_e, new_e = base.card["condition"]["entries"], tuned.card["condition"]["entries"]
    assert [e["name"] for e in new_e] == ["logp", "qed", "alerts"]
    assert (new_e[0]["mean"], new_e[0]["std"]) == (old_e[0]["mean"], old_e[0]["std"])  # kept, not refitted
    assert new_e[2]["low"] == 0 and new_e[2]["std"] > 0  # the new entry standardised on the data
    assert len(tuned.card["condition"]["node_counts"]["bins"]) == 3
    st = smiles_to_state(SMILES[:4], base.vocabulary).state
    t = torch.full((4,), 0.4)
    logp = torch.tensor([0.5, -1.0, float("nan"), 2.0])
    with torch.no_grad():
        for cond in ({"logp": logp}, {}):
            want = base.network(st, t, **cond)
            for extra in ({}, {"qed": torch.randn(4), "alerts": torch.tensor([0.0, 1.0, 2.0, float("nan")])}):
                got = tuned.network(st, t, **cond, **extra)
                assert torch.equal(got.X, want.X) and torch.equal(got.A, want.A)
    # trained on, the new entry is read
    opts.update(out=str(tmp_path / "r2"), train={"steps": 3, "batch_size": 4, "lr": 1e-2, "warmup_steps": 0})
    moved = load_pretrained(str(train_from_options(opts).model_dir))
    with torch.no_grad():
        a = moved.network(st, t, alerts=torch.zeros(4)).X
        b = moved.network(st, t, alerts=torch.full((4,), 2.0)).X
    assert not torch.allclose(a, b)


def test_init_from_still_refuses_other_condition_changes(logp_model, tmp_path):
    base_dir, f = logp_model
    opts = {"smiles_file": str(f), "init_from": str(base_dir), "out": str(tmp_path / "r"), "progress": False,
            "train": {"steps": 1, "batch_size": 4}}
    with pytest.raises(ValueError, match="already conditioned on"):  # logp dropped
        train_from_options({**opts, "condition": {"properties": ["qed", "alerts"]}})
    with pytest.raises(ValueError, match="keeps the saved model's network and process"):
        train_from_options({**opts, "condition": {"properties": ["logp", "qed"]}, "network": {"hidden": 32}})


def test_a_whole_network_gains_entries_exactly():
    """The same through a whole denoiser (the function train.py's init_from uses)."""
    from graphdiff.guidance import ConditionSpec
    from graphdiff.guidance.training import extend_condition

    class Pipe:
        pass

    torch.manual_seed(0)
    net = _trained_like(GraphTransformerDenoiser(**SMALL, cond_dims={"logp": 1}, cond_film=True).double())
    pipe = Pipe()
    pipe.network = net
    pipe.card = {"condition": ConditionSpec.from_data(["logp"], [[0.0], [1.0]]).to_dict()}
    extend_condition(pipe, ConditionSpec.from_data(["logp", "hbd"], [[0.0, 1.0], [1.0, 2.0]]))
    assert pipe.network is not net and pipe.network.config["cond_dims"] == {"hbd": 1, "logp": 1}
    s, t = random_categorical_state(4, 6, 3, 4, 0), torch.rand(4, dtype=D)
    logp = torch.randn(4, dtype=D)
    with torch.no_grad():
        a = net(s, t, logp=logp)
        b = pipe.network(s, t, logp=logp, hbd=torch.tensor([0.0, 1.0, 2.0, 3.0], dtype=D))
    assert torch.equal(a.X, b.X) and torch.equal(a.A, b.A)
