"""DiscreteGraphDiffusion: categorical states, rate families, every sampler, checkpoints, training,
ELBO, molecule decoding."""

from __future__ import annotations

import dataclasses
import json

import networkx as nx
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from graphdiff.errors import InvalidGraphError
from graphdiff.losses.ctmc import ctmc_denoising_loss
from graphdiff.pipelines import GraphDiffusionPipeline, MoleculeSamples
from graphdiff.pipelines.discrete import (
    DISCRETE_SAMPLERS,
    RATE_FAMILIES,
    DiscreteGraphDiffusion,
)
from graphdiff.data.transforms import to_categorical
from graphdiff.states import GraphState

TINY = dict(hidden=16, edge_hidden=8, global_hidden=8, depth=1, heads=2, time_dim=16, K=4)


def _graphs() -> list[nx.Graph]:
    return [nx.cycle_graph(n) for n in range(4, 8)] * 2 + [nx.path_graph(n) for n in range(4, 8)] * 2


def _pipe(**process) -> DiscreteGraphDiffusion:
    torch.manual_seed(0)
    return DiscreteGraphDiffusion.create(train_state=GraphState.from_networkx(_graphs()), dataset="toy",
                                         network=dict(TINY), process=process)


def _mask(sizes: list[int]) -> torch.Tensor:
    s = torch.tensor(sizes)
    return torch.arange(int(s.max()))[None] < s[:, None]


def _check_batch(state: GraphState, sizes: list[int], node_classes: int, edge_classes: int) -> None:
    X, A, nm = state.X, state.A, state.node_mask
    assert X.dtype == torch.long and A.dtype == torch.long
    assert torch.equal(nm, _mask(sizes))
    assert torch.equal(A, A.transpose(1, 2))
    assert (torch.diagonal(A, dim1=1, dim2=2) == 0).all()
    pair = nm[:, :, None] & nm[:, None, :]
    assert (A[~pair] == 0).all() and (X[~nm] == 0).all()
    assert int(X.min()) >= 0 and int(X.max()) < node_classes
    assert int(A.min()) >= 0 and int(A.max()) < edge_classes


# ----------------------------------------------------------------------------- construction
def test_create_reads_classes_and_marginal_frequencies():
    graphs = [nx.cycle_graph(4), nx.path_graph(3)]
    pipe = DiscreteGraphDiffusion.create(train_state=GraphState.from_networkx(graphs), network=dict(TINY))
    assert (pipe.num_node_classes, pipe.num_edge_classes) == (1, 2)
    # 4 + 2 edges among 6 + 3 = 9 upper-triangle pairs
    edge = pipe.process.edge_process.probs
    assert torch.allclose(edge, torch.tensor([3 / 9, 6 / 9], dtype=torch.float64))
    assert torch.equal(pipe.process.node_process.probs, torch.tensor([1.0], dtype=torch.float64))
    assert pipe.node_counts.probs[3] == pytest.approx(0.5) and pipe.node_counts.probs[4] == pytest.approx(0.5)


@pytest.mark.parametrize("rates", RATE_FAMILIES)
def test_rate_families_size_the_network(rates: str):
    pipe = _pipe(rates=rates)
    extra = 1 if rates == "absorbing" else 0
    assert (pipe.network.num_node_classes, pipe.network.num_edge_classes) == (1 + extra, 2 + extra)
    assert pipe.process_config()["rates"] == rates


def test_unknown_names_list_the_valid_choices():
    with pytest.raises(ValueError, match="marginal"):
        _pipe(rates="gaussian")
    with pytest.raises(ValueError, match="edge_weight"):
        _pipe(weighting="x")
    with pytest.raises(ValueError, match="unknown sampler 'euler'") as err:
        _pipe().sample(2, steps=2, sampler="euler")
    assert all(name in str(err.value) for name in ("ancestral", "tau_leaping", "pc"))


def test_to_categorical_binarises_and_zeroes_padding():
    nm = torch.tensor([[True, True, False]])
    A = torch.tensor([[[0.0, 2.5, 1.0], [2.5, 0.0, 1.0], [1.0, 1.0, 1.0]]])
    out = to_categorical(GraphState(torch.zeros(1, 3, 0), A, nm), node_classes=1, edge_classes=2)
    assert torch.equal(out.A, torch.tensor([[[0, 1, 0], [1, 0, 0], [0, 0, 0]]]))
    assert torch.equal(out.X, torch.zeros(1, 3, dtype=torch.long))
    with pytest.raises(InvalidGraphError):
        to_categorical(GraphState(torch.tensor([[0, 5, 0]]), A.long(), nm), node_classes=2, edge_classes=2)


# ----------------------------------------------------------------------------- sampling
@pytest.mark.parametrize("sampler", list(DISCRETE_SAMPLERS))
@pytest.mark.parametrize("rates", RATE_FAMILIES)
def test_every_sampler_gives_valid_variable_size_graphs(sampler: str, rates: str):
    pipe = _pipe(rates=rates)
    sizes = [2, 7, 5, 1]
    out = pipe.sample(4, steps=5, sampler=sampler, num_nodes=sizes, seed=3)
    _check_batch(out.state, sizes, 1, 2)
    # one call per step; the corrector adds one per step except the final (x0 read-out) step
    assert out.nfe == (5 + 4 if sampler in ("pc", "predictor_corrector") else 5)
    assert len(out.graphs) == 4 and [g.number_of_nodes() for g in out.graphs] == sizes


@settings(max_examples=8, deadline=None)
@given(st.lists(st.integers(1, 6), min_size=1, max_size=4), st.integers(0, 2**16), st.sampled_from(list(DISCRETE_SAMPLERS)))
def test_sample_batch_respects_any_mask(sizes: list[int], seed: int, sampler: str):
    pipe = _PIPE
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        state, nfe = pipe.sample_batch(_mask(sizes), steps=3, sampler=sampler, generator=g)
    _check_batch(state, sizes, 1, 2)
    assert nfe >= 3


_PIPE = _pipe()


def test_sampling_is_seeded():
    pipe = _pipe()
    a = pipe.sample(6, steps=4, seed=11)
    b = pipe.sample(6, steps=4, seed=11)
    c = pipe.sample(6, steps=4, seed=12)
    assert torch.equal(a.state.A, b.state.A) and torch.equal(a.state.node_mask, b.state.node_mask)
    assert not (torch.equal(a.state.A, c.state.A) and torch.equal(a.state.node_mask, c.state.node_mask))


def test_time_power_defaults_to_polydec_and_is_saved(tmp_path):
    from graphdiff.pipelines.discrete import DEFAULT_TIME_POWER

    pipe = _pipe()
    assert pipe.time_power == DEFAULT_TIME_POWER == 2.0
    seen = []
    real = DISCRETE_SAMPLERS["ancestral"]
    DISCRETE_SAMPLERS.register("ancestral", dataclasses.replace(real, run=lambda *a, **kw: (seen.append(kw["time_power"]), real(*a, **kw))[1]),
                               replace=True)
    try:
        warped = pipe.sample(6, steps=5, seed=3, sampler="ancestral")
        pipe.time_power = 1
        plain = pipe.sample(6, steps=5, seed=3, sampler="ancestral")
    finally:
        DISCRETE_SAMPLERS.register("ancestral", real, replace=True)
    assert seen == [2.0, 1.0]
    assert warped.state.A.shape == plain.state.A.shape
    with pytest.raises(ValueError, match="time_power"):
        pipe.time_power = 0
    back = GraphDiffusionPipeline.from_pretrained(pipe.save_pretrained(tmp_path / "m"))
    assert back.time_power == 1.0


@pytest.mark.parametrize("sampler,options", [("ancestral", {}), ("tau_leaping", {}), ("pc", {}),
                                             ("pc", {"predictor": "ancestral", "corrector_steps": 2})])
def test_an_nfe_budget_gives_the_most_steps_that_fit(sampler: str, options: dict):
    pipe = _pipe()
    for budget in (1, 7, 10, 24):
        steps = pipe.steps_for_nfe(budget, sampler=sampler, sampler_options=options)
        used = pipe.sample(3, nfe=budget, sampler=sampler, sampler_options=options, seed=2)
        assert used.info["steps"] == steps and used.nfe <= budget  # one batch: nfe is the calls per graph
        assert pipe.sample(3, steps=steps + 1, sampler=sampler, sampler_options=options, seed=2).nfe > budget
        same = pipe.sample(3, steps=steps, sampler=sampler, sampler_options=options, seed=2)
        assert torch.equal(same.state.A, used.state.A)  # nfe only chooses the steps
    # predictor-corrector with 2 corrector steps: 3 calls a step, 1 for the last
    assert pipe.steps_for_nfe(100, sampler="pc", sampler_options={"corrector_steps": 2}) == 34


def test_calls_are_reported_per_graph_and_in_all():
    pipe = _pipe()
    out = pipe.sample(5, steps=3, sampler="ancestral", batch_size=2, seed=0)  # 3 batches of 3 calls
    assert (out.nfe_per_graph, out.nfe) == (3, 9)
    assert "3 network calls per graph (9 in all, over batches)" in out.summary()
    one = pipe.sample(5, steps=3, sampler="ancestral", seed=0)
    assert (one.nfe_per_graph, one.nfe) == (3, 3) and "3 network calls per graph," in one.summary()
    from graphdiff.pipelines import GraphSamples

    assert "12 network calls," in GraphSamples(one.state, nfe=12).summary()  # no per-graph count: no claim about it


def test_an_nfe_budget_is_checked():
    pipe = _pipe()
    with pytest.raises(ValueError, match="steps or nfe"):
        pipe.sample(2, steps=3, nfe=9)
    with pytest.raises(ValueError, match="nfe must be >= 1"):
        pipe.sample(2, nfe=0)


def test_steps_must_be_positive():
    with pytest.raises(ValueError, match="steps"):
        _pipe().sample_batch(_mask([3]), steps=0, sampler="ancestral", generator=torch.Generator())


# ----------------------------------------------------------------------------- persistence
@pytest.mark.parametrize("rates", ["marginal", "absorbing"])
def test_save_and_load_round_trip_gives_identical_samples(tmp_path, rates: str):
    pipe = _pipe(rates=rates, schedule={"name": "linear", "alpha_min": 0.01}, edge_weight=2.0)
    pipe.card["sampling"] = {"steps": 6, "sampler": "tau_leaping"}
    path = pipe.save_pretrained(tmp_path / "m", metrics={"note": "untrained"})
    card = json.loads((tmp_path / "m" / "config.json").read_text())["card"]
    assert card["pipeline"] == "DiscreteGraphDiffusion" and card["family"] == "discrete"
    assert card["metrics"] == {"note": "untrained"}
    back = GraphDiffusionPipeline.from_pretrained(path)
    assert isinstance(back, DiscreteGraphDiffusion)
    assert back.rates == rates and back.edge_weight == 2.0 and back.process.config() == pipe.process.config()
    a, b = pipe.sample(5, seed=4), back.sample(5, seed=4)
    assert a.info == b.info == {"steps": 6, "sampler": "tau_leaping", "seed": 4, "precision": "float32", "options": {},
                                "sort_sizes": True}
    assert torch.equal(a.state.A, b.state.A) and torch.equal(a.state.X, b.state.X)


# ----------------------------------------------------------------------------- training / likelihood
def test_tiny_training_lowers_the_loss_and_the_elbo():
    graphs = [nx.cycle_graph(6)] * 16
    torch.manual_seed(0)
    pipe = DiscreteGraphDiffusion.create(train_state=GraphState.from_networkx(graphs), network=dict(TINY))
    data = GraphState.from_networkx(graphs)
    t = torch.linspace(0.05, 0.6, 16)

    def fixed_loss() -> float:  # the training loss at fixed times and noise
        with torch.no_grad():
            out = ctmc_denoising_loss(pipe.process, pipe._denoiser(pipe.network), pipe.categorical(data), t=t,
                                      generator=torch.Generator().manual_seed(0))
        return float(out.loss)

    nelbo0, loss0 = float(pipe.nll(data[:4], n_samples=8).mean()), fixed_loss()
    res = pipe.fit(data, steps=60, batch_size=16, lr=3e-3, ema_decay=None, progress=False)
    assert len(res.losses) == 60
    assert fixed_loss() < 0.6 * loss0
    nelbo1 = float(pipe.nll(data[:4], n_samples=8).mean())
    assert nelbo1 < nelbo0
    assert pipe.card["training"]["steps"] == 60
    out = pipe.sample(8, steps=20, seed=0)
    _check_batch(out.state, [6] * 8, 1, 2)


def test_elbo_parts_add_up_and_prior_term_is_exact():
    pipe = _pipe()
    data = GraphState.from_networkx([nx.cycle_graph(5), nx.path_graph(3)])
    out = pipe.elbo(data, n_samples=2)
    assert out.nelbo.shape == (2,)
    assert torch.allclose(out.nelbo, out.prior + out.diffusion)
    assert (out.diffusion >= 0).all()
    # prior KL of the marginal CTMC at t = 1: per coordinate KL(a e_x + (1 - a) m || m), alpha(1) = alpha_min
    edge = pipe.process.edge_process
    a = float(edge.schedule.alpha(torch.tensor(1.0, dtype=torch.float64)))
    m = edge.probs
    kl = [float(((a * torch.eye(2, dtype=torch.float64)[x] + (1 - a) * m) * torch.log((a * torch.eye(2, dtype=torch.float64)[x] + (1 - a) * m) / m)).sum()) for x in (0, 1)]
    expected = torch.tensor([5 * kl[1] + 5 * kl[0], 2 * kl[1] + 1 * kl[0]], dtype=torch.float64)
    assert torch.allclose(out.prior.double(), expected, rtol=1e-5)


# ----------------------------------------------------------------------------- molecules
def test_molecule_model_decodes_to_molecule_samples():
    from graphdiff.data.molecules import AtomVocabulary, smiles_to_state

    vocab = AtomVocabulary.qm9()
    train = smiles_to_state(["CCO", "C=CC#N", "OC(F)C", "CC(=O)N", "C[N+](=O)[O-]"], vocab).state
    torch.manual_seed(0)
    pipe = DiscreteGraphDiffusion.create(train_state=train, vocabulary=vocab, network=dict(TINY))
    assert (pipe.num_node_classes, pipe.num_edge_classes) == (vocab.num_types, 4)
    # marginal: atom types never seen in training are never entered by the noise
    probs = pipe.process.node_process.probs
    assert (probs > 0).sum() == len({int(x) for x in train.X[train.node_mask]})
    out = pipe.sample(6, steps=4, seed=1)
    assert isinstance(out, MoleculeSamples) and len(out.molecules) == 6 == len(out.smiles)
    assert out.report is not None
    _check_batch(out.state, out.state.node_mask.sum(-1).tolist(), vocab.num_types, 4)
    valid = [s for s in out.smiles if s is not None]
    assert out.valid_smiles == valid
    assert "molecules" in out.summary()
