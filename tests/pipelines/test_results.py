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
