"""Scale-out through the user-facing entry points: ``train_from_options(..., nproc=2)`` (what
``graphdiff train --nproc 2`` runs: DDP over gloo) and sharded sampling ``sample(..., nproc=2)``."""

from __future__ import annotations

import json

import networkx as nx
import pytest
import torch

from graphdiff.pipelines import load_pretrained, prepare_training, train_from_options
from graphdiff.pipelines.discrete import DiscreteGraphDiffusion
from graphdiff.states import GraphState
from graphdiff.training import load_weights

TINY = dict(hidden=16, edge_hidden=8, global_hidden=8, depth=1, heads=2, K=3, time_dim=8)


def _graphs(n: int = 12) -> list[nx.Graph]:
    return [nx.cycle_graph(4 + i % 4) if i % 2 else nx.path_graph(4 + i % 3) for i in range(n)]


def _options(tmp_path, out: str) -> dict:
    f = tmp_path / "graphs.json"
    f.write_text(json.dumps([nx.node_link_data(g, edges="links") for g in _graphs()]))
    return {"graphs_file": str(f), "family": "discrete", "network": dict(TINY),
            "train": {"steps": 3, "batch_size": 8, "lr": 1e-3, "seed": 0, "checkpoint_every": 10, "log_every": 1,
                      "ema_decay": None},  # saved weights = trained weights (no EMA lag)
            "out": str(tmp_path / out)}


@pytest.mark.slow
def test_two_process_training_is_reproducible_and_starts_from_the_seeded_init(tmp_path):
    """``graphdiff train --nproc 2``: DDP over gloo. Diffusion losses draw per-rank noise, so a
    2-process run is not the 1-process run (that equality, for a deterministic loss, is tested in
    tests/training); it must be reproducible and start from the same seeded weights."""
    opts = _options(tmp_path, "a")
    a = train_from_options(opts, nproc=2)
    b = train_from_options(_options(tmp_path, "b"), nproc=2)
    one = train_from_options({**_options(tmp_path, "one"), "train": {**opts["train"], "steps": 1}}, nproc=1)
    torch.manual_seed(opts["train"]["seed"])  # the seeded initial weights, as every rank builds them
    init_dir = prepare_training(_options(tmp_path, "init"))[0].save_pretrained(tmp_path / "init" / "model")
    wa, card = load_weights(a.model_dir)
    wb, _ = load_weights(b.model_dir)
    w0, _ = load_weights(init_dir)
    assert card["pipeline"] == "DiscreteGraphDiffusion" and card["training"]["steps"] == 3
    assert card["training"]["processes"] == 2 and "processes" not in load_weights(one.model_dir)[1]["training"]
    assert all(torch.equal(wa[k], wb[k]) for k in wa), "two identical 2-process runs gave different weights"
    moved = max((wa[k].float() - w0[k].float()).abs().max().item() for k in wa)
    assert moved > 1e-4, "training did not change the weights"
    out = load_pretrained(str(a.model_dir)).sample(3, steps=3, seed=0)
    assert len(out) == 3


@pytest.mark.slow
def test_sharded_sampling_gathers_every_shard_in_order():
    pipe = DiscreteGraphDiffusion.create(train_state=GraphState.from_networkx(_graphs()), network=dict(TINY))
    seed, n = 3, 7
    dist = pipe.sample(n, steps=4, seed=seed, nproc=2)
    assert len(dist) == n
    dist.state.validate()
    assert (dist.nfe_per_graph, dist.nfe) == (4, 2 * 4)  # 4 ancestral steps on each of the 2 ranks
    # rank r samples its contiguous share of the sizes drawn from `seed`, with seed + 7919 * (r + 1)
    sizes = pipe.node_counts.sample(n, generator=torch.Generator().manual_seed(seed))
    chunks = torch.tensor_split(torch.arange(n), 2)
    parts = [pipe.sample(len(c), steps=4, seed=seed + 7919 * (r + 1), num_nodes=sizes[c]).state for r, c in enumerate(chunks)]
    ref = GraphState.cat(parts)
    N = dist.state.max_nodes
    assert torch.equal(dist.state.node_mask, ref.node_mask[:, :N])
    assert torch.equal(dist.state.A, ref.A[:, :N, :N])
    assert torch.equal(dist.state.X, ref.X[:, :N])
    # sort_sizes: each rank samples its share in size order and returns it in draw order
    dist_sorted = pipe.sample(n, steps=4, seed=seed, nproc=2, sort_sizes=True)
    parts = [pipe.sample(len(c), steps=4, seed=seed + 7919 * (r + 1), num_nodes=sizes[c], sort_sizes=True).state
             for r, c in enumerate(chunks)]
    ref = GraphState.cat(parts)
    assert dist_sorted.info["sort_sizes"] is True and torch.equal(dist_sorted.state.node_mask, dist.state.node_mask)
    assert torch.equal(dist_sorted.state.A, ref.A[:, :N, :N]) and torch.equal(dist_sorted.state.X, ref.X[:, :N])


@pytest.mark.slow
def test_sharded_sampling_keeps_the_callers_sizes_and_refuses_nproc_below_one(tmp_path):
    """``num_nodes`` with ``nproc=2``: each rank samples its share of the given sizes (before, the
    sharded path drew its own sizes and ignored ``num_nodes``). ``nproc=0`` is refused, not run as 1."""
    pipe = DiscreteGraphDiffusion.create(train_state=GraphState.from_networkx(_graphs()), network=dict(TINY))
    sizes = [7, 3, 5, 6, 4]
    dist = pipe.sample(5, steps=3, seed=1, nproc=2, num_nodes=sizes)
    assert dist.state.node_mask.sum(1).tolist() == sizes
    with pytest.raises(ValueError, match="num_nodes has 2 entries for n=5"):
        pipe.sample(5, steps=3, nproc=2, num_nodes=[3, 4])
    with pytest.raises(ValueError, match="nproc must be >= 1"):
        pipe.sample(2, steps=3, nproc=0)
    with pytest.raises(ValueError, match="nproc must be >= 1"):
        train_from_options(_options(tmp_path, "zero"), nproc=0)


def test_rank_zero_of_sharded_sampling_shows_the_progress_bar(capsys):
    """``graphdiff sample --nproc 2`` shows a bar: rank 0 draws it for its share, the other ranks stay quiet."""
    from graphdiff.pipelines.shards import _sample_shard

    pipe = DiscreteGraphDiffusion.create(train_state=GraphState.from_networkx(_graphs()), network=dict(TINY))
    sizes = torch.tensor([4, 5, 6, 4])
    args = (pipe.to_card(), pipe.network.state_dict(), sizes, [[0, 1], [2, 3]], 2, "ancestral", 0, 2)
    for rank, shown in ((0, True), (1, False)):
        _sample_shard(rank, *args, progress=True)
        err = capsys.readouterr().err
        assert ("2/2" in err) is shown, err


def test_training_processes_share_the_cpus_unless_the_user_chose():
    from graphdiff.pipelines.train import threads_per_process

    assert threads_per_process(2, cpus=2, environ={}) == 1  # not 2 x 2 threads on two cores
    assert threads_per_process(2, cpus=16, environ={}) == 8
    assert threads_per_process(4, cpus=2, environ={}) == 1
    assert threads_per_process(1, cpus=16, environ={}) is None  # one process: torch's own choice
    assert threads_per_process(2, cpus=16, environ={"OMP_NUM_THREADS": "3"}) is None  # the user's choice stands
