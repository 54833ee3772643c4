"""Class-label (and numeric) conditions of generic graphs read from their graph attributes: the
values, the errors, and the path through a training config and the Python API on tiny graphs."""

from __future__ import annotations

import json

import networkx as nx
import numpy as np
import pytest
import torch

from graphdiff.guidance import ConditionalNodeCounts, condition_on_graph_attributes
from graphdiff.guidance.graph_labels import graph_condition_values
from graphdiff.pipelines import load_pretrained, train_from_options
from graphdiff.pipelines.continuous import ContinuousGraphDiffusion
from graphdiff.states import GraphState

TINY = {"hidden": 16, "edge_hidden": 8, "global_hidden": 8, "depth": 1, "heads": 2, "K": 4}


def _labelled(label, n, **attrs):
    g = nx.cycle_graph(n)
    if label is not None:
        g.graph["label"] = label
    g.graph.update(attrs)
    return g


def test_values_from_graph_attributes_labels_first_missing_is_nan():
    graphs = [_labelled(1, 4, w=0.5), _labelled(0, 5), _labelled(None, 6, w=2.0), _labelled(True, 4, w=1)]
    names, kinds, v = graph_condition_values(graphs, labels=["label"], columns=["w"])
    assert names == ["label", "w"] and kinds == ["label", "column"]
    np.testing.assert_array_equal(v, [[1, 0.5], [0, np.nan], [np.nan, 2.0], [1, 1.0]])


@pytest.mark.parametrize("graphs, kw, match", [
    ([_labelled("cat", 4)], {"labels": ["label"]}, "class index 0..K-1.*map class names"),
    ([_labelled(-1, 4)], {"labels": ["label"]}, "non-negative integer"),
    ([_labelled(1.5, 4)], {"labels": ["label"]}, "non-negative integer"),
    ([_labelled(1, 4)], {"labels": ["kind"]}, "no training graph has the attribute 'kind'"),
    ([_labelled(1, 4, w=float("inf"))], {"columns": ["w"]}, "must be finite"),
    ([_labelled(1, 4)], {}, "needs `labels`"),
    ([_labelled(1, 4)], {"labels": ["label"], "columns": ["label"]}, "distinct"),
])
def test_bad_attributes_are_clear_errors(graphs, kw, match):
    with pytest.raises(ValueError, match=match):
        graph_condition_values(graphs, **kw)


def test_pyg_graph_label_is_read_from_data_y():
    tg = pytest.importorskip("torch_geometric.data")
    d = tg.Data(edge_index=torch.tensor([[0, 1], [1, 0]]), num_nodes=3, y=torch.tensor([2]))
    assert graph_condition_values([d], labels=["y"])[2].tolist() == [[2.0]]
    with pytest.raises(ValueError, match="one number per graph"):
        graph_condition_values([tg.Data(num_nodes=2, y=torch.tensor([1, 2]))], labels=["y"])


def _graphs_file(tmp_path):
    # class 0: three 4-cycles, class 1: three 6-paths -> p(N | label) has a closed form
    graphs = [_labelled(0, 4) for _ in range(3)] + [nx.path_graph(6, create_using=None) for _ in range(3)]
    for g in graphs[3:]:
        g.graph["label"] = 1
    f = tmp_path / "graphs.json"
    f.write_text(json.dumps([nx.node_link_data(g, edges="links") for g in graphs]))
    return f


def test_training_config_with_graph_labels_and_p_of_n_given_label(tmp_path):
    opts = {"graphs_file": str(_graphs_file(tmp_path)), "family": "continuous", "out": str(tmp_path / "r"),
            "progress": False, "network": TINY, "condition": {"labels": ["label"], "dropout": 0.2},
            "train": {"steps": 2, "batch_size": 6}}
    pipe = load_pretrained(str(train_from_options(opts).model_dir))
    cond = pipe.card["condition"]
    assert cond["entries"] == [{"name": "label", "kind": "label", "num_classes": 2}] and cond["dropout"] == 0.2
    assert pipe.network.config["cond_classes"] == {"label": 2}
    # labels are their own bins: p(N | y) = (tally + 1 pseudo-graph from the marginal) / (3 + 1)
    nc = ConditionalNodeCounts.from_dict(cond["node_counts"])
    assert nc.is_label == [True]
    p = nc.probs(np.array([[0.0], [1.0], [np.nan]]))
    torch.testing.assert_close(p[:, [4, 6]], torch.tensor([[0.875, 0.125], [0.125, 0.875], [0.5, 0.5]],
                                                          dtype=torch.float64))
    out = pipe.sample(8, condition={"label": 1}, guidance_scale=2.0, steps=2, seed=0)
    assert out.info["guidance_scale"] == 2.0 and len(out.graphs) == 8
    assert set(out.state.node_mask.sum(-1).tolist()) <= {4, 6}
    with pytest.raises(ValueError, match=r"integer in \[0, 2\)"):
        pipe.sample(2, condition={"label": 2}, steps=2)


def test_molecule_condition_keys_on_graphs_and_labels_on_molecules_are_refused(tmp_path):
    base = {"graphs_file": str(_graphs_file(tmp_path)), "family": "continuous", "out": str(tmp_path / "r"),
            "progress": False, "network": TINY, "train": {"steps": 1, "batch_size": 2}}
    with pytest.raises(ValueError, match="properties need molecules"):
        train_from_options({**base, "condition": {"properties": ["logp"]}})
    smi = tmp_path / "m.smi"
    smi.write_text("CCO\nCCN\n")
    with pytest.raises(ValueError, match="labels` are graph attributes"):
        train_from_options({"smiles_file": str(smi), "out": str(tmp_path / "m"), "progress": False, "network": TINY,
                            "train": {"steps": 1, "batch_size": 2}, "condition": {"labels": ["label"]}})


def test_python_api_condition_on_graph_attributes_trains_and_steers():
    graphs = [_labelled(i % 2, 4 + 2 * (i % 2)) for i in range(6)]
    pipe = ContinuousGraphDiffusion.create(train_state=GraphState.from_networkx(graphs), network=TINY)
    state, y = condition_on_graph_attributes(pipe, graphs, labels=["label"], dropout=0.3)
    assert state.batch_size == 6 and y.tolist() == [[0.0], [1.0]] * 3
    assert pipe.card["condition"]["dropout"] == 0.3
    pipe.fit(state, condition=y, steps=1, batch_size=6, progress=False)
    # w = 0 is the null condition: the same graphs as the unconditional sampler with the same sizes
    kw = dict(steps=2, seed=0, num_nodes=[4, 6])
    assert torch.equal(pipe.sample(2, condition={"label": 1}, guidance_scale=0.0, **kw).state.A,
                       pipe.sample(2, **kw).state.A)
