"""train.cond_lr_scale: the conditioning path (GlobalConditioning's condition MLP and label embeddings,
chosen by module type) in its own AdamW group at lr x scale; errors for a bad scale or a model
without conditioning weights."""

from __future__ import annotations

import pytest
import torch

from graphdiff.guidance.training import check_cond_lr_scale, conditioning_lr_scales, conditioning_parameters
from graphdiff.nn import GraphScoreNetwork
from graphdiff.nn.denoiser import GraphTransformerDenoiser

SMALL = dict(num_node_classes=3, num_edge_classes=4, K=2, hidden=16, edge_hidden=8, global_hidden=8, depth=1, heads=2)


def _names(net, params):
    by_id = {id(p): n for n, p in net.named_parameters()}
    return [by_id[id(p)] for p in params]


def test_conditioning_parameters_are_the_condition_mlp_and_label_embeddings():
    net = GraphTransformerDenoiser(**SMALL, cond_dims={"logp": 1, "qed": 1}, cond_classes={"label": 3})
    names = _names(net, conditioning_parameters(net))
    cond = net.conditioning
    want = [p for p in cond.cond_mlp.parameters()] + [p for p in cond.label_embeddings.parameters()]
    assert [id(p) for p in conditioning_parameters(net)] == [id(p) for p in want]
    assert names and all(n.startswith(("conditioning.cond_mlp.", "conditioning.label_embeddings.")) for n in names)
    assert not any("time_mlp" in n for n in names)  # the time path is not the condition's
    # the continuous family's network has the same module
    score = GraphScoreNetwork(num_node_features=3, hidden=16, depth=1, heads=2, cond_dims={"mw": 1})
    assert _names(score, conditioning_parameters(score)) == [
        n for n, _ in score.named_parameters() if n.startswith("conditioning.cond_mlp.")]


def test_unconditional_network_has_none_and_a_scale_then_fails():
    net = GraphTransformerDenoiser(**SMALL)
    assert conditioning_parameters(net) == []
    assert conditioning_lr_scales(net, 1) == []  # scale 1 = one group, whatever the network
    with pytest.raises(ValueError, match="no conditioning weights"):
        conditioning_lr_scales(net, 10)


@pytest.mark.parametrize("bad", [0, -2.0, float("nan"), float("inf"), "10", True, None])
def test_bad_scales_are_refused(bad):
    net = GraphTransformerDenoiser(**SMALL, cond_dims={"logp": 1})
    with pytest.raises(ValueError, match="cond_lr_scale must be a finite number > 0"):
        conditioning_lr_scales(net, bad)


def test_scale_groups_for_a_conditional_network():
    net = GraphTransformerDenoiser(**SMALL, cond_dims={"logp": 1})
    [(params, scale)] = conditioning_lr_scales(net, 10)
    assert scale == 10.0 and [id(p) for p in params] == [id(p) for p in net.conditioning.cond_mlp.parameters()]
    assert check_cond_lr_scale(3) == 3.0
    with pytest.raises(ValueError, match="needs a conditional model"):
        check_cond_lr_scale(3, conditional=False)
    assert check_cond_lr_scale(1, conditional=False) == 1.0


# --------------------------------------------------------------------------------------------
# the config option, end to end
# --------------------------------------------------------------------------------------------

SMILES = ["CCO", "CC(=O)N", "C1CC1", "OCC#N", "CCCCO", "c1ccncc1", "CC(C)O", "NCC(=O)O"]


@pytest.fixture
def opts(tmp_path, monkeypatch):
    pytest.importorskip("rdkit")
    monkeypatch.setenv("GRAPHDIFF_CACHE", str(tmp_path / "cache"))
    f = tmp_path / "m.smi"
    f.write_text("\n".join(SMILES) + "\n")
    return {"smiles_file": str(f), "init_from": "qm9_ctmc", "out": str(tmp_path / "r"), "progress": False,
            "condition": {"properties": ["logp", "mw"]},
            "train": {"steps": 3, "batch_size": 4, "lr": 1e-3, "warmup_steps": 0, "cond_lr_scale": 10}}


def test_config_option_trains_the_conditioning_path_in_its_own_group(opts, monkeypatch):
    from graphdiff.pipelines import load_pretrained, train_from_options
    from graphdiff.training.checkpoint import read_checkpoint_record

    made = []
    real = torch.optim.AdamW

    class AdamW(real):  # type: ignore[misc, valid-type]
        def __init__(self, *a, **k):
            super().__init__(*a, **k)
            made.append(self)

    monkeypatch.setattr(torch.optim, "AdamW", AdamW)
    s = train_from_options(opts)
    [opt] = made
    g0, g1 = opt.param_groups
    assert g0["initial_lr"] == pytest.approx(1e-3) and g1["initial_lr"] == pytest.approx(1e-2)
    tuned = load_pretrained(str(s.model_dir))
    n_cond = sum(p.numel() for p in tuned.network.conditioning.cond_mlp.parameters())
    assert sum(p.numel() for p in g1["params"]) == n_cond
    assert sum(p.numel() for p in g0["params"]) + n_cond == sum(p.numel() for p in tuned.network.parameters())
    assert tuned.card["training"]["cond_lr_scale"] == 10.0
    rec = read_checkpoint_record(s.model_dir.parent / "checkpoints")
    assert rec["state"]["extra"]["hyperparameters"]["lr_scales"] == [10.0]


def test_config_option_errors_before_reading_data(opts, tmp_path):
    from graphdiff.pipelines import train_from_options

    for bad in (0, -1, "x"):
        with pytest.raises(ValueError, match="cond_lr_scale must be a finite number > 0"):
            train_from_options({**opts, "train": {**opts["train"], "cond_lr_scale": bad}})
    uncond = {k: v for k, v in opts.items() if k != "condition"}
    with pytest.raises(ValueError, match="needs a conditional model"):
        train_from_options(uncond)
    assert not (tmp_path / "cache").exists()  # failed before any property was computed
