"""ContinuousGraphDiffusion: encoding, masks, symmetry, every sampler, checkpoints, training, NLL."""

from __future__ import annotations

import json
import math

import networkx as nx
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from graphdiff.pipelines.continuous import (
    CONTINUOUS_SAMPLERS,
    ContinuousGraphDiffusion,
    make_sde,
)
from graphdiff.data.transforms import GraphEncoding
from graphdiff.states import GraphState

TINY = dict(hidden=16, edge_hidden=8, global_hidden=8, depth=1, heads=2, time_dim=16, K=4)


def _graphs() -> list[nx.Graph]:
    return [nx.cycle_graph(n) for n in range(4, 8)] * 2 + [nx.path_graph(n) for n in range(4, 8)] * 2


def _pipe(**process) -> ContinuousGraphDiffusion:
    torch.manual_seed(0)
    return ContinuousGraphDiffusion.create(train_state=GraphState.from_networkx(_graphs()), dataset="toy",
                                           network=dict(TINY), process=process)


def _mask(sizes: list[int]) -> torch.Tensor:
    s = torch.tensor(sizes)
    return torch.arange(int(s.max()))[None] < s[:, None]


def _check_graph_batch(state: GraphState, sizes: list[int]) -> None:
    A, nm = state.A, state.node_mask
    assert torch.equal(nm, _mask(sizes))
    assert torch.equal(A, A.transpose(1, 2))
    assert (torch.diagonal(A, dim1=1, dim2=2) == 0).all()
    pair = nm[:, :, None] & nm[:, None, :]
    assert (A[~pair] == 0).all()


# ----------------------------------------------------------------------------- encoding
@settings(max_examples=25, deadline=None)
@given(st.integers(1, 6), st.integers(0, 2**31 - 1), st.booleans())
def test_molecule_encoding_round_trip_is_exact(n_max: int, seed: int, centered: bool):
    g = torch.Generator().manual_seed(seed)
    B = 3
    sizes = torch.randint(0, n_max + 1, (B,), generator=g)
    nm = torch.arange(n_max)[None] < sizes[:, None]
    up = torch.triu(torch.randint(0, 4, (B, n_max, n_max), generator=g), 1)
    pair = nm[:, :, None] & nm[:, None, :]
    A = (up + up.transpose(1, 2)) * pair
    X = torch.randint(0, 5, (B, n_max), generator=g) * nm
    enc = GraphEncoding("atoms", 5, "bond_order", centered)
    cont = enc.encode(GraphState(X, A, nm))
    lo, hi = (-1.0, 1.0) if centered else (0.0, 3.0)
    real = cont.A[pair & ~torch.eye(n_max, dtype=torch.bool)]
    assert ((real >= lo) & (real <= hi)).all()
    assert (cont.A[~pair] == 0).all() and (cont.X[~nm] == 0).all()
    back = enc.decode(cont)
    assert torch.equal(back.A, A) and torch.equal(back.X, X) and back.A.dtype == torch.long


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2**31 - 1), st.floats(-0.24, 0.24))
def test_binary_decoding_thresholds_at_one_half_and_symmetrises(seed: int, jitter: float):
    """Values within 0.25 of 0 / 1 (raw scale) decode to 0 / 1; the upper triangle decides."""
    g = torch.Generator().manual_seed(seed)
    enc = GraphEncoding("degree", 4, "binary", True)
    nm = _mask([5, 3])
    gs = [nx.gnp_random_graph(5, 0.5, seed=seed % 1000), nx.path_graph(3)]
    state = GraphState.from_networkx(gs)
    cont = enc.encode(state)
    noisy = cont.A + 2 * jitter * torch.triu(torch.ones(5, 5), 1) + 5 * torch.tril(torch.randn(2, 5, 5, generator=g), -1)
    back = enc.decode(GraphState(cont.X, noisy, nm))
    assert torch.equal(back.A, state.A)
    assert back.X.shape == (2, 5, 0)


def test_degree_features_are_one_hot_of_clipped_degree():
    enc = GraphEncoding("degree", 3, "binary", centered=False)
    star = nx.star_graph(4)  # centre degree 4 -> clipped to class 2
    cont = enc.encode(GraphState.from_networkx([star]))
    assert torch.equal(cont.X[0].argmax(-1), torch.tensor([2, 1, 1, 1, 1]))
    assert torch.equal(cont.X.sum(-1), torch.ones(1, 5))


def test_create_reads_sizes_and_rejects_bad_options():
    pipe = _pipe()
    assert pipe.encoding == GraphEncoding("degree", 3, "binary", True)  # max degree 2 -> 3 classes
    assert pipe.node_counts.max_nodes == 7
    assert pipe.network.config["threshold"] == pytest.approx(0.0)  # centered binary: 0.5 -> 0
    with pytest.raises(ValueError, match="valid"):
        _pipe(bogus=1)
    with pytest.raises(ValueError, match="subvp, ve, vp"):
        _pipe(adj_sde={"type": "vpp"})
    with pytest.raises(ValueError, match="eps"):
        _pipe(parametrization="velocity")
    # the GDSS preset: VP on X, VE (sigma 0.2 .. 1) on A, raw {0, 1} values
    gdss = _pipe(x_sde={"type": "vp", "beta_min": 0.1, "beta_max": 1.0}, adj_sde={"type": "ve", "sigma_min": 0.2, "sigma_max": 1.0},
                 centered=False)
    assert gdss.network.config["threshold"] == pytest.approx(0.5)
    assert make_sde({"type": "ve", "sigma_min": 0.2, "sigma_max": 1.0}).prior_std == 1.0


def test_encoding_and_model_function_are_permutation_equivariant():
    from graphdiff.testing import assert_permutation_equivariant

    pipe = _pipe()
    data = GraphState.from_networkx([nx.cycle_graph(5), nx.path_graph(7)])
    assert_permutation_equivariant(pipe.encoding.encode, data, atol=0.0)
    enc = pipe.encoding.encode(data)
    flat, fm = pipe.process.pack(enc)
    noisy = pipe.process.unpack(flat + 0.5 * pipe.process.noise(flat, torch.Generator().manual_seed(0), fm), enc.node_mask)
    t = torch.tensor([0.3, 0.7])

    def fn(s: GraphState) -> GraphState:
        f, _ = pipe.process.pack(s)
        return pipe.process.unpack(pipe._model_fn(pipe.network, s.node_mask)(f, t), s.node_mask)

    assert_permutation_equivariant(fn, noisy, atol=1e-4)


# ----------------------------------------------------------------------------- sampling
@pytest.mark.parametrize("sampler", CONTINUOUS_SAMPLERS)
def test_every_sampler_gives_symmetric_masked_graphs(sampler: str):
    pipe = _pipe()
    pipe.card["sampling"] = {"options": {"rk45": {"rtol": 1e-2, "atol": 1e-2}}}
    sizes = [3, 7, 5, 1]
    steps = 3
    state, nfe = pipe.sample_batch(_mask(sizes), steps=steps, sampler=sampler, generator=torch.Generator().manual_seed(0))
    _check_graph_batch(state, sizes)
    assert set(state.A.unique().tolist()) <= {0.0, 1.0}
    expected = {"euler_maruyama": steps, "pc": 2 * steps, "ode_euler": steps, "ode_heun": 2 * steps,
                "ddim": steps, "dpm_solver": steps, "ddpm": steps, "dpm_solver_sde": steps, "repaint": steps}
    if sampler == "rk45":
        assert nfe > 0
    else:
        assert nfe == expected[sampler]


def test_an_nfe_budget_sets_the_steps_and_is_refused_where_it_cannot():
    pipe = _pipe()
    for sampler, per_step in (("dpm_solver_sde", 1), ("ode_heun", 2), ("pc", 2)):
        steps = pipe.steps_for_nfe(20, sampler=sampler)
        assert steps == 20 // per_step
        out = pipe.sample(2, nfe=20, sampler=sampler, seed=1)
        assert out.info["steps"] == steps and out.nfe <= 20
    with pytest.raises(ValueError, match="below one step of sampler 'ode_heun' \\(2 network calls\\)"):
        pipe.steps_for_nfe(1, sampler="ode_heun")
    with pytest.raises(ValueError, match="chooses its own number of steps"):
        pipe.sample(2, nfe=20, sampler="rk45")


def test_unknown_or_velocity_sampler_is_rejected_with_the_valid_names():
    pipe = _pipe()
    for bad in ("heun", "flow_euler"):
        with pytest.raises(ValueError) as err:
            pipe.sample_batch(_mask([3]), steps=2, sampler=bad, generator=torch.Generator())
        assert all(name in str(err.value) for name in CONTINUOUS_SAMPLERS)


def test_padding_values_do_not_change_the_model_or_the_loss():
    pipe = _pipe()
    state = GraphState.from_networkx([nx.cycle_graph(4), nx.path_graph(6)])
    garbage = GraphState(state.X, state.A + 7 * (~(state.node_mask[:, :, None] & state.node_mask[:, None, :])).float(),
                         state.node_mask)
    l1 = pipe.loss(pipe.network, state, torch.Generator().manual_seed(3))
    l2 = pipe.loss(pipe.network, garbage, torch.Generator().manual_seed(3))
    assert torch.allclose(l1, l2)
    # the 4-node graph alone (N = 4) and padded to N = 6 inside a batch: same output on real entries
    enc = pipe.encoding.encode(state)
    alone = pipe.encoding.encode(state[:1].replace(X=state.X[:1, :4], A=state.A[:1, :4, :4], node_mask=state.node_mask[:1, :4]))
    t = torch.tensor([0.4, 0.4])
    flat, fm = pipe.process.pack(enc)
    noisy = flat + pipe.process.noise(flat, torch.Generator().manual_seed(0), fm)
    big = pipe.process.unpack(pipe._model_fn(pipe.network, enc.node_mask)(noisy, t), enc.node_mask)
    nz = pipe.process.unpack(noisy, enc.node_mask)
    small_in, _ = pipe.process.pack(GraphState(nz.X[:1, :4], nz.A[:1, :4, :4], alone.node_mask))
    small = pipe.process.unpack(pipe._model_fn(pipe.network, alone.node_mask)(small_in, t[:1]), alone.node_mask)
    assert torch.allclose(big.A[0, :4, :4], small.A[0], atol=1e-5)
    assert torch.allclose(big.X[0, :4], small.X[0], atol=1e-5)
    assert (big.A[0, 4:] == 0).all() and (big.X[0, 4:] == 0).all()


def test_molecule_model_returns_categorical_states():
    from graphdiff.data.molecules import AtomVocabulary, smiles_to_state

    vocab = AtomVocabulary.qm9()
    train = smiles_to_state(["CCO", "C=CC#N", "OC(F)C", "CC(=O)N"], vocab).state
    torch.manual_seed(0)
    pipe = ContinuousGraphDiffusion.create(train_state=train, vocabulary=vocab, network=dict(TINY))
    assert pipe.encoding == GraphEncoding("atoms", vocab.num_types, "bond_order", True)
    sizes = [4, 2, 3]
    state, _ = pipe.sample_batch(_mask(sizes), steps=3, sampler="dpm_solver", generator=torch.Generator().manual_seed(0))
    _check_graph_batch(state, sizes)
    assert state.X.dtype == torch.long and state.A.dtype == torch.long
    assert state.X.shape == (3, 4) and int(state.X.max()) < vocab.num_types and int(state.A.max()) <= 3
    assert (state.X[~state.node_mask] == 0).all()


# ----------------------------------------------------------------------------- checkpoints
def test_save_and_load_give_identical_samples(tmp_path):
    pipe = _pipe(adj_sde={"type": "ve", "sigma_min": 0.2, "sigma_max": 1.0})
    with torch.no_grad():  # move away from the init so the check is not trivially satisfied
        for p in pipe.network.parameters():
            p.add_(0.01 * torch.randn_like(p))
    pipe.card["sampling"] = {"sampler": "ode_heun", "steps": 4}
    path = pipe.save_pretrained(tmp_path / "model", metrics={"degree": 0.5})
    card = json.loads((path / "config.json").read_text())
    assert "process" in json.dumps(card)
    loaded = ContinuousGraphDiffusion.from_pretrained(path)
    assert loaded.adj_sde == {"type": "ve", "sigma_min": 0.2, "sigma_max": 1.0}
    assert loaded.encoding == pipe.encoding and loaded.card["sampling"] == pipe.card["sampling"]
    mask = _mask([6, 4])
    for sampler in ("euler_maruyama", "dpm_solver"):
        a = pipe.sample_continuous(mask, steps=4, sampler=sampler, seed=5)
        b = loaded.sample_continuous(mask, steps=4, sampler=sampler, seed=5)
        assert torch.equal(a.A, b.A) and torch.equal(a.X, b.X)
    s1, _ = pipe.sample_batch(mask, steps=4, sampler="pc", generator=torch.Generator().manual_seed(1))
    s2, _ = loaded.sample_batch(mask, steps=4, sampler="pc", generator=torch.Generator().manual_seed(1))
    assert torch.equal(s1.A, s2.A)


# ----------------------------------------------------------------------------- training / likelihood
def test_tiny_training_run_lowers_the_loss():
    pipe = _pipe()
    data = GraphState.from_networkx(_graphs())
    res = pipe.fit(data, steps=40, batch_size=16, lr=3e-3, ema_decay=0.9, progress=False, log_every=1000)
    first, last = sum(res.losses[:10]) / 10, sum(res.losses[-10:]) / 10
    assert last < 0.8 * first, (first, last)
    assert pipe.card["training"]["steps"] == 40
    state, _ = pipe.sample_batch(_mask([5, 6]), steps=5, sampler="ode_heun", generator=torch.Generator().manual_seed(0))
    _check_graph_batch(state, [5, 6])


def test_config_driven_training_builds_this_family(tmp_path):
    from graphdiff.pipelines import train_from_options

    gfile = tmp_path / "graphs.json"
    gfile.write_text(json.dumps([nx.node_link_data(g, edges="links") for g in _graphs()]))
    summary = train_from_options({"graphs_file": str(gfile), "family": "continuous", "network": dict(TINY),
                                  "process": {"adj_sde": {"type": "subvp"}}, "train": {"steps": 3, "batch_size": 8},
                                  "out": str(tmp_path / "run")})
    loaded = ContinuousGraphDiffusion.from_pretrained(summary.model_dir)
    assert loaded.adj_sde == {"type": "subvp"} and loaded.card["training"]["steps"] == 3


def test_nll_counts_each_node_pair_once():
    pipe = _pipe()
    data = GraphState.from_networkx([nx.cycle_graph(4), nx.path_graph(6)])
    out = pipe.nll(data, rtol=1e-2, atol=1e-2)
    assert out.nll.shape == (2,) and torch.isfinite(out.nll).all() and out.nfe > 0
    F = pipe.encoding.num_node_features
    dims = torch.tensor([4 * F + 4 * 3 / 2, 6 * F + 6 * 5 / 2])
    assert torch.allclose(out.bpd, out.nll / (dims * math.log(2)))


def test_community_small_gets_gdss_degree_features(shared_data):
    from graphdiff.data import load

    train = GraphState.from_networkx(load("community_small", root=shared_data).split("train"))
    pipe = ContinuousGraphDiffusion.create(train_state=train, network=dict(TINY))
    assert pipe.encoding.node_features == "degree" and pipe.encoding.num_node_features == 10  # GDSS max_feat_num
    assert pipe.node_counts.max_nodes == 20


def test_public_sample_is_seeded_and_the_shipped_model_loads():
    from graphdiff.pipelines import load_pretrained

    pipe = _pipe()
    a = pipe.sample(4, steps=3, sampler="ddim", seed=2)
    b = pipe.sample(4, steps=3, sampler="ddim", seed=2)
    assert len(a) == 4 and a.nfe == 3 and torch.equal(a.state.A, b.state.A)
    _check_graph_batch(a.state, a.state.node_mask.sum(-1).tolist())
    shipped = load_pretrained("community_small")
    assert isinstance(shipped, ContinuousGraphDiffusion) and shipped.card["metrics"]["protocol"] == "gdss"
    out = shipped.sample(2, steps=4, sampler="dpm_solver", seed=0)
    assert all(g.number_of_nodes() >= 12 for g in out.graphs)
