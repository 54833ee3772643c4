"""What sampling returns reads well: summaries that lead with the protocol's validity, short reprs,
tables (pandas) and HTML for notebooks."""

from __future__ import annotations

import pytest
import torch

from graphdiff.pipelines.results import GraphSamples, MoleculeSamples
from graphdiff.states import GraphState

pytest.importorskip("rdkit")


def _molecules(n_over: int, n_ok: int) -> MoleculeSamples:
    """``n_over`` carbons with five neighbours (valid only after valence correction) and ``n_ok``
    ethanol-like chains (valid as drawn), decoded with the GDSS protocol (correction on)."""
    from graphdiff.data.molecules import AtomVocabulary, decode_molecules

    vocab = AtomVocabulary.qm9()
    B, N = n_over + n_ok, 6
    X = torch.zeros(B, N, dtype=torch.long)
    A = torch.zeros(B, N, N, dtype=torch.long)
    mask = torch.zeros(B, N, dtype=torch.bool)
    for b in range(B):
        if b < n_over:  # pentavalent carbon: a star of 5
            mask[b] = True
            A[b, 0, 1:] = A[b, 1:, 0] = 1
        else:  # C-C-O
            mask[b, :3] = True
            X[b, 2] = vocab.index("O")
            A[b, 0, 1] = A[b, 1, 0] = A[b, 1, 2] = A[b, 2, 1] = 1
    state = GraphState(X, A, mask)
    rep = decode_molecules(state, vocab, protocol="gdss")
    return MoleculeSamples(state, nfe=10, nfe_per_graph=10, seconds=0.5, molecules=[r.mol for r in rep.results],
                           smiles=[r.smiles if r.mol is not None else None for r in rep.results], report=rep)


def test_summary_leads_with_validity_without_correction():
    out = _molecules(3, 5)
    assert out.report.n_valid == 8 and out.report.n_valid_without_correction == 5  # the fixture is what it says
    text = out.summary()
    assert text.startswith("8 molecules, 5 valid without correction (62.5%); 8 (100.0%) after correcting 3"), text
    clean = _molecules(0, 4).summary()
    assert "4 valid without correction (100.0%), none corrected" in clean
    by_hand = MoleculeSamples(out.state, smiles=["CCO"] * 8)  # no decoding report: no claim about correction
    assert "8 valid (100.0%; correction unknown)" in by_hand.summary()


def test_stream_result_summary_leads_with_validity_without_correction(tmp_path):
    from graphdiff.pipelines.streaming import StreamResult

    res = StreamResult(tmp_path / "x.smi", 64, 1, 0, 10, 1.0, n_valid=64, n_valid_without_correction=28)
    assert "64 molecules, 28 valid without correction (43.8%); 64 (100.0%) after correcting 36" in res.summary()
    assert "graphs" in StreamResult(tmp_path / "x.json", 3, 1, 0, 10, 1.0).summary()


def test_graph_samples_summary_unchanged():
    st = GraphState(torch.zeros(2, 3, 1), torch.zeros(2, 3, 3), torch.ones(2, 3, dtype=torch.bool))
    assert GraphSamples(st, nfe=4, nfe_per_graph=4).summary().startswith("2 graphs, 4 network calls per graph")


def test_samples_have_short_reprs_tables_and_html():
    out = _molecules(3, 5)
    assert len(repr(out)) < 300 and repr(out).startswith("<MoleculeSamples: 8 molecules") and "tensor" not in repr(out)
    df = out.to_dataframe()
    assert list(df.columns[:5]) == ["smiles", "valid", "valid_without_correction", "corrected", "num_atoms"]
    assert len(df) == 8 and int(df.corrected.sum()) == 3 and int(df.valid_without_correction.sum()) == 5
    assert df.loc[5, "smiles"] == "CCO" and abs(df.loc[5, "mol_weight"] - 46.07) < 0.01
    html = out._repr_html_()
    assert html.count("<svg") == 1 and "<?xml" not in html and "<td>valid without correction</td><td>5 (62.5%)" in html
    g = GraphSamples(out.state, nfe=4, nfe_per_graph=4)
    gdf = g.to_dataframe()
    assert gdf.num_nodes.tolist() == [6] * 3 + [3] * 5 and gdf.num_edges.tolist() == [5] * 3 + [2] * 5
    assert "tensor" not in repr(g) and "<table>" in g._repr_html_()


def test_metric_results_are_tables():
    import networkx as nx

    from graphdiff.metrics import graph_metrics, molecule_metrics

    res = molecule_metrics(["CCO", "CCO", "c1ccccc1", "xx"], metrics=("validity", "uniqueness"))
    df = res.to_dataframe()
    assert df.loc["validity", "value"] == 0.75 and df.loc["uniqueness", "value"] == res["uniqueness"]
    assert len(repr(res)) < 200 and "validity=0.75" in repr(res)
    assert "<table>" in res._repr_html_() and "validity" in res._repr_html_()
    g = graph_metrics([nx.cycle_graph(6)] * 3, [nx.path_graph(6)] * 3, metrics=("degree",))
    assert g.to_dataframe().loc["degree", "value"] == g["degree"] and "degree" in g._repr_html_()
