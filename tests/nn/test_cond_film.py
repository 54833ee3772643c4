"""Per-layer conditioning (``cond_film``): a second, opt-in route for the condition, a zero-initialised
FiLM of the node and edge channels before every transformer layer. At init it changes nothing (so
it can be added to a trained conditional model, as ``init_from`` does with ``network: {cond_film:
true}``); it keeps permutation equivariance; the null / partial condition works; and
``train.cond_lr_scale`` covers its weights."""

from __future__ import annotations

import json

import networkx as nx
import pytest
import torch

from graphdiff.guidance.training import conditioning_lr_scales, conditioning_parameters, set_cond_film
from graphdiff.nn import ConditionFiLM, GraphScoreNetwork, GraphTransformer, GraphTransformerDenoiser
from graphdiff.pipelines import load_pretrained, train_from_options
from graphdiff.states import GraphState
from graphdiff.testing import (assert_permutation_equivariant, assert_symmetric, random_categorical_state, random_graph_state,
                               randomize_)

D = torch.float64
SMALL = dict(num_node_classes=3, num_edge_classes=4, K=4, hidden=16, edge_hidden=8, global_hidden=8, depth=3,
             heads=2, time_dim=16)
COND = dict(cond_dims={"logp": 1, "qed": 1}, cond_classes={"label": 3})


def _trained_like(net):
    """The conditioning layers with random weights, as after training."""
    randomize_(conditioning_parameters(net))
    return net


def categorical_state(B=4, N=7, Cx=3, Ce=4, seed=0) -> GraphState:
    return random_categorical_state(B, N, Cx, Ce, seed)


def _cond(B=4):
    g = torch.Generator().manual_seed(7)
    return {"logp": torch.randn(B, generator=g, dtype=D), "qed": torch.randn(B, generator=g, dtype=D),
            "label": torch.tensor([0, 2, 1, -1])[:B]}


def _pair(**kw):
    """A conditional net without the path (weights 'trained') and the same net with the path added."""
    torch.manual_seed(0)
    old = _trained_like(GraphTransformerDenoiser(**SMALL, **COND, **kw).double())
    torch.manual_seed(1)
    new = GraphTransformerDenoiser(**SMALL, **COND, **kw, cond_film=True).double()
    missing, unexpected = new.load_state_dict(old.state_dict(), strict=False)
    assert not unexpected and missing and all(k.startswith(("conditioning.film_mlp.", "backbone.cond_film.")) for k in missing)
    return old, new


@pytest.mark.parametrize("cond", [_cond(), {}, {"qed": torch.tensor([0.5, float("nan"), -1.0, 2.0], dtype=D)}],
                         ids=["full", "null", "partial"])
def test_zero_init_path_changes_nothing_exactly(cond):
    old, new = _pair()
    s, t = categorical_state(), torch.rand(4, dtype=D)
    a, b = old(s, t, **cond), new(s, t, **cond)
    assert torch.equal(a.X, b.X) and torch.equal(a.A, b.A)


def test_zero_init_exact_for_the_continuous_network_too():
    kw = dict(num_node_features=3, hidden=16, edge_hidden=8, global_hidden=8, depth=2, heads=2, cond_dims={"mw": 1})
    torch.manual_seed(0)
    old = _trained_like(GraphScoreNetwork(**kw).double())
    new = GraphScoreNetwork(**kw, cond_film=True).double()
    new.load_state_dict(old.state_dict(), strict=False)
    s = random_graph_state(3, 6, 3, generator=torch.Generator().manual_seed(2))
    s = GraphState(s.X.to(D), s.A.to(D), s.node_mask)
    t, mw = torch.rand(3, dtype=D), torch.randn(3, dtype=D)
    a, b = old(s, t, mw=mw), new(s, t, mw=mw)
    assert torch.equal(a.X, b.X) and torch.equal(a.A, b.A)


def test_trained_path_is_equivariant_symmetric_masked_and_reads_the_condition():
    _, net = _pair()
    _trained_like(net)
    s, t, cond = categorical_state(), torch.rand(4, dtype=D), _cond()
    assert_permutation_equivariant(lambda st: net(st, t, **cond), s, atol=1e-5)
    out = net(s, t, **cond)
    assert_symmetric(out.A, atol=1e-12)
    assert out.X[~s.node_mask].abs().sum() == 0 and out.A[~s.edge_mask].abs().sum() == 0
    # the path alone moves the output: switch the global route off, keep the per-layer one
    with torch.no_grad():
        net.conditioning.cond_mlp.net[-1].weight.zero_()
        net.conditioning.cond_mlp.net[-1].bias.zero_()
    other = {**cond, "logp": cond["logp"] + 1}
    assert not torch.allclose(net(s, t, **cond).X, net(s, t, **other).X)
    for c in ({}, {"label": torch.tensor([-1, -1, 1, 0])}):  # null and partial conditions
        o = net(s, t, **c)
        assert torch.isfinite(o.X).all() and torch.isfinite(o.A).all()


def test_gradients_reach_the_new_weights_from_zero():
    _, net = _pair()
    s, t = categorical_state(), torch.rand(4, dtype=D)
    out = net(s, t, **_cond())
    (out.X[s.node_mask].pow(2).sum() + out.A[s.edge_mask].pow(2).sum()).backward()
    film = net.backbone.cond_film
    assert isinstance(film, ConditionFiLM) and len(film.proj) == 3
    assert all(lin.weight.grad is not None and lin.weight.grad.abs().sum() > 0 for lin in film.proj)


def test_config_records_the_option_only_when_on():
    plain = GraphTransformerDenoiser(**SMALL, **COND)
    assert "cond_film" not in plain.config and plain.backbone.cond_film is None
    _, net = _pair()
    assert net.config["cond_film"] is True
    again = GraphTransformerDenoiser.from_config(json.loads(json.dumps(net.config)))
    assert again.backbone.cond_film is not None
    # an unconditional network has nothing to FiLM with: no new weights
    unc = GraphTransformerDenoiser(**SMALL, cond_film=True)
    assert unc.backbone.cond_film is None and not hasattr(unc.conditioning, "film_mlp")
    with pytest.raises(ValueError, match="pass the condition embedding"):
        GraphTransformer(3, 3, 3, 2, 2, hidden=8, edge_hidden=4, global_hidden=4, depth=1, heads=2, cond_dim=4)(
            torch.zeros(1, 2, 3), torch.zeros(1, 2, 2, 3), torch.zeros(1, 3), torch.ones(1, 2, dtype=torch.bool))


def test_cond_lr_scale_covers_the_new_weights():
    _, net = _pair()
    names = {n for n, p in net.named_parameters() if any(p is q for q in conditioning_parameters(net))}
    new = {n for n in dict(net.named_parameters()) if n.startswith(("conditioning.film_mlp.", "backbone.cond_film."))}
    assert new and new <= names
    assert not any("time_mlp" in n or n.startswith("backbone.layers.") for n in names)
    [(params, scale)] = conditioning_lr_scales(net, 10)
    assert scale == 10.0 and {id(p) for p in params} == {id(p) for n, p in net.named_parameters() if n in names}


def test_bundled_qm9_cond_gains_the_path_with_identical_outputs():
    pipe = load_pretrained("qm9_cond")
    if pipe.network.config.get("cond_film"):  # bundled with the path already: start from its weights without it
        net = pipe.network
        plain = type(net).from_config({k: v for k, v in net.config.items() if k != "cond_film"})
        plain.load_state_dict({k: v for k, v in net.state_dict().items()
                               if not k.startswith(("conditioning.film_mlp.", "backbone.cond_film."))})
        pipe.network = plain
    before = pipe.network
    set_cond_film(pipe, True)
    after = pipe.network
    assert after.config["cond_film"] is True and after is not before
    extra = sum(p.numel() for p in after.parameters()) - sum(p.numel() for p in before.parameters())
    assert extra == 73_248  # 5 x Linear(48, 288) + the 2-layer 6 -> 48 -> 48 embedding: 0.29 MB in float32
    g = torch.Generator().manual_seed(0)
    B, N = 3, 9
    nm = torch.ones(B, N, dtype=torch.bool)
    nm[0, 6:] = False
    X = torch.randint(0, 8, (B, N), generator=g) * nm
    E = torch.randint(0, 4, (B, N, N), generator=g).triu(1)
    E = (E + E.transpose(1, 2)) * (nm[:, :, None] & nm[:, None, :])
    s, t = GraphState(X, E, nm), torch.rand(B, generator=g)
    for cond in ({"logp": torch.randn(B, generator=g), "qed": torch.randn(B, generator=g),
                  "mw": torch.randn(B, generator=g)}, {}):
        with torch.no_grad():
            a, b = before(s, t, **cond), after(s, t, **cond)
        assert torch.equal(a.X, b.X) and torch.equal(a.A, b.A)
    set_cond_film(pipe, True)  # already on: nothing happens
    assert pipe.network is after
    with pytest.raises(ValueError, match="cannot be turned off"):
        set_cond_film(pipe, False)


# ------------------------------------------------------------------------------- init_from
def _write(path, graphs) -> str:
    path.write_text(json.dumps([nx.node_link_data(g, edges="links") for g in graphs]))
    return str(path)


def _labelled(g, label):
    g.graph["label"] = label
    return g


@pytest.fixture(scope="module")
def labelled_model(tmp_path_factory):
    """A tiny conditional (label) discrete model trained 3 steps on labelled cycles and paths."""
    tmp = tmp_path_factory.mktemp("base")
    graphs = ([_labelled(nx.cycle_graph(n), 0) for n in range(4, 8)]
              + [_labelled(nx.path_graph(n), 1) for n in range(4, 8)])
    gfile = _write(tmp / "toy.json", graphs)
    s = train_from_options({"graphs_file": gfile, "family": "discrete", "condition": {"labels": ["label"]},
                            "network": dict(hidden=16, edge_hidden=8, global_hidden=8, depth=2, heads=2, time_dim=16,
                                            K=4),
                            "train": {"steps": 3, "batch_size": 4}, "out": str(tmp / "run"), "progress": False})
    return s.model_dir, gfile


def test_init_from_adds_the_path_and_starts_where_the_model_was(labelled_model, tmp_path):
    base_dir, gfile = labelled_model
    opts = {"graphs_file": gfile, "family": "discrete", "init_from": str(base_dir), "network": {"cond_film": True},
            "condition": {"labels": ["label"]}, "out": str(tmp_path / "ft"), "progress": False,
            "train": {"steps": 2, "batch_size": 4, "lr": 0.0, "warmup_steps": 0, "cond_lr_scale": 10}}
    model_dir = train_from_options(opts).model_dir
    tuned, base = load_pretrained(str(model_dir)), load_pretrained(str(base_dir))
    assert tuned.network.config["cond_film"] is True and "cond_film" not in base.network.config
    assert json.loads((model_dir / "config.json").read_text())["card"]["network"]["config"]["cond_film"] is True
    sd = tuned.network.state_dict()
    for k, v in base.network.state_dict().items():  # lr 0: the old weights unchanged, the new ones still zero
        assert torch.equal(v, sd[k]), k
    assert all(sd[k].abs().sum() == 0 for k in sd if k.startswith("backbone.cond_film."))
    s, t = categorical_state(Cx=1, Ce=2), torch.rand(4)
    s = GraphState(s.X.clamp(max=0), s.A.clamp(max=1), s.node_mask)
    for cond in ({"label": torch.tensor([0, 1, 1, -1])}, {}):
        with torch.no_grad():
            a, b = base.network(s, t, **cond), tuned.network(s, t, **cond)
        assert torch.equal(a.X, b.X) and torch.equal(a.A, b.A)
    # a second stage from the FiLM model keeps the path (cond_film: true again, or left out)
    again = load_pretrained(str(train_from_options({**opts, "init_from": str(tmp_path / "ft" / "model"),
                                                    "out": str(tmp_path / "ft2")}).model_dir))
    assert again.network.config["cond_film"] is True


def test_init_from_refuses_other_network_changes(labelled_model, tmp_path):
    base_dir, gfile = labelled_model
    opts = {"graphs_file": gfile, "family": "discrete", "init_from": str(base_dir), "condition": {"labels": ["label"]},
            "out": str(tmp_path / "r"), "progress": False, "train": {"steps": 1, "batch_size": 4}}
    with pytest.raises(ValueError, match="keeps the saved model's network and process: remove the network"):
        train_from_options({**opts, "network": {"cond_film": True, "hidden": 32}})
    film = train_from_options({**opts, "network": {"cond_film": True}, "out": str(tmp_path / "f")}).model_dir
    with pytest.raises(ValueError, match="cannot be turned off"):
        train_from_options({**opts, "init_from": str(film), "network": {"cond_film": False}})
