"""molecule_metrics: MOSES/GDSS definitions on hand-counted cases, counts and cards, caching of
the reference statistics, and a QM9 run."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import graphdiff.metrics as metrics_pkg
from graphdiff.metrics import fcd as fcd_mod
from graphdiff.metrics import molecules as mol_mod
from graphdiff.metrics.molecules import (
    MoleculeReference,
    canonical_smiles,
    canonicalize_smiles,
    molecule_metrics,
    molecule_reference,
)

Chem = pytest.importorskip("rdkit.Chem")

REF = [
    "CCO", "CC(=O)O", "c1ccccc1", "c1ccncc1", "C1CCCCC1", "CC(C)C", "C#N", "CC#CC", "O=C=O",
    "[NH3+]CC([O-])=O", "FC(F)(F)Cl", "C1=CC=CN1", "c1ccc2ccccc2c1", "CC(=O)Nc1ccc(O)cc1",
    "OC1COC(O)C1O", "C1CC2CCC1C2", "N#CC1=CC=CC=C1", "CCOC(=O)C", "CCN(CC)CC", "OCCO", "C=CC=C",
]  # fmt: skip


def _hand_case() -> list:
    return [
        "CCO",  # valid
        "OCC",  # same molecule as CCO
        "C1=CC=CC=C1",  # benzene, Kekulé form
        "c1ccccc1",  # benzene again
        "CC(=O)O",
        "C(C)(C)(C)(C)C",  # pentavalent carbon: invalid
        "not_a_smiles",
        "",
        None,
        Chem.MolFromSmiles("CN"),  # a Mol
        Chem.MolFromSmiles("C(C)(C)(C)(C)C", sanitize=False),  # an unsanitisable Mol
    ]


def test_canonical_smiles() -> None:
    assert canonical_smiles("OCC") == canonical_smiles("CCO") == "CCO"
    assert canonical_smiles("C1=CC=CC=C1") == "c1ccccc1"
    assert canonical_smiles(Chem.MolFromSmiles("OCC")) == "CCO"
    for bad in (None, "", "c1cccc1", "C(C)(C)(C)(C)C", "xyz"):
        assert canonical_smiles(bad) is None
    assert canonical_smiles(Chem.Mol()) is None  # empty molecule
    with pytest.raises(TypeError):
        canonical_smiles(3.5)
    assert canonicalize_smiles(["OCC", None, "c1ccccc1"]) == ["CCO", None, "c1ccccc1"]


def test_validity_uniqueness_novelty_by_hand() -> None:
    res = molecule_metrics(_hand_case(), train_smiles=["OCC", "c1ccccc1", "bad("], metrics=("validity", "uniqueness", "novelty"))
    assert res["validity"] == pytest.approx(6 / 11)
    assert res["uniqueness"] == pytest.approx(4 / 6)
    assert res["novelty"] == pytest.approx(2 / 4)  # CC(=O)O and CN are not in train
    assert res.counts == {
        "n_total": 11, "n_given": 11, "n_valid": 6, "n_invalid": 5, "n_unique": 4, "n_novel": 2, "n_train": 3,
    }  # fmt: skip
    assert res.valid_smiles == ["CCO", "CCO", "c1ccccc1", "c1ccccc1", "CC(=O)O", "CN"]
    card = {c.name: c for c in res.cards}
    assert card["validity"].n_invalid == 5 and card["validity"].n_generated == 11
    assert card["novelty"].n_used_reference == 2  # distinct valid canonical train molecules
    md = res.to_markdown()
    assert md.count("\n") == 4 and "| validity | 0.5455 | moses |" in md
    json.dumps(res.to_dict())
    with pytest.raises(ValueError, match="valid choices"):
        res["fcd"]


def test_n_total_and_validity_without_correction() -> None:
    res = molecule_metrics(_hand_case(), metrics=("validity",), n_total=20, num_valid_without_correction=5)
    assert res["validity"] == pytest.approx(6 / 20)
    assert res.counts["n_invalid"] == 14
    assert res["validity_wo_correction"] == pytest.approx(5 / 20)
    assert res["validity_wo_correction_gdss"] == pytest.approx(5 / 6)  # GDSS: / molecules after decoding
    notes = {c.name: c.notes for c in res.cards}
    assert "5/20" in notes["validity_wo_correction"] and "5/6" in notes["validity_wo_correction_gdss"]
    with pytest.raises(ValueError):
        molecule_metrics(_hand_case(), metrics=("validity",), n_total=3)
    with pytest.raises(ValueError):
        molecule_metrics(_hand_case(), metrics=("validity",), num_valid_without_correction=12)


def test_argument_errors() -> None:
    with pytest.raises(ValueError, match="valid choices: fcd, novelty, nspdk, uniqueness, validity"):
        molecule_metrics(["CCO"], metrics=("validty",))
    with pytest.raises(ValueError, match="train_smiles"):
        molecule_metrics(["CCO"], metrics=("novelty",))
    with pytest.raises(ValueError, match="test_smiles"):
        molecule_metrics(["CCO"], metrics=("fcd",))


def test_all_invalid_gives_nan_with_counts() -> None:
    res = molecule_metrics([None, "xx"], train_smiles=["CCO"], test_smiles=REF, cache=False)
    assert res["validity"] == 0.0
    for name in ("uniqueness", "novelty", "fcd", "nspdk"):
        assert math.isnan(res[name])
    assert res.to_dict()["values"]["fcd"] is None


def test_fcd_nspdk_identity_and_reference_cache(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("GRAPHDIFF_CACHE", str(tmp_path))
    seen: list[int] = []
    real_act = fcd_mod.chemnet_activations

    def counting(smiles, **kw):
        seen.append(len(smiles))
        return real_act(smiles, **kw)

    monkeypatch.setattr(fcd_mod, "chemnet_activations", counting)
    gen = list(reversed(REF)) + [None]
    first = molecule_metrics(gen, test_smiles=REF + ["bad("], metrics=("fcd", "nspdk"))
    assert first["fcd"] == pytest.approx(0.0, abs=1e-6)
    assert first["nspdk"] == pytest.approx(0.0, abs=1e-15)
    assert first.counts["n_test"] == len(REF) + 1 and first.counts["n_test_invalid"] == 1
    assert sorted(seen) == [len(REF), len(REF)]  # test set + generated
    for kind in ("canonical", "fcd_stats", "nspdk"):
        assert len(list((tmp_path / kind).glob("*.npz"))) == 1
    seen.clear()
    again = molecule_metrics(REF[:10], test_smiles=REF + ["bad("], metrics=("fcd", "nspdk"))
    assert seen == [10]  # the test-set statistics came from the cache
    fresh = molecule_metrics(REF[:10], test_smiles=REF + ["bad("], metrics=("fcd", "nspdk"), cache=False)
    assert again["fcd"] == pytest.approx(fresh["fcd"], rel=1e-9)
    assert again["nspdk"] == pytest.approx(fresh["nspdk"], rel=1e-12)
    card = {c.name: c for c in again.cards}
    assert card["fcd"].n_used_reference == len(REF) and card["nspdk"].protocol == "gdss"


def test_reference_stats_roundtrip(tmp_path) -> None:
    ref = molecule_reference(REF, cache=False)
    path = tmp_path / "ref.npz"
    ref.save(path)
    loaded = MoleculeReference.load(path)
    a = molecule_metrics(REF[:12], reference_stats=loaded, metrics=("fcd", "nspdk"))
    b = molecule_metrics(REF[:12], test_smiles=REF, metrics=("fcd", "nspdk"), cache=False)
    assert a["fcd"] == pytest.approx(b["fcd"], rel=1e-12) and a["nspdk"] == b["nspdk"]
    assert loaded.n_given == len(REF) and loaded.nspdk_mean.shape == (2**16 + 1,)


def test_package_front_is_lazy() -> None:
    assert metrics_pkg.molecule_metrics is molecule_metrics
    assert {"graph_metrics", "molecule_metrics"} <= set(dir(metrics_pkg))
    assert mol_mod.MOLECULE_METRICS == ("validity", "uniqueness", "novelty", "fcd", "nspdk")
    with pytest.raises(AttributeError):
        metrics_pkg.not_a_metric  # noqa: B018


@pytest.mark.data
def test_qm9_train_sample_against_test(shared_data, tmp_path, monkeypatch) -> None:
    import pandas as pd

    monkeypatch.setenv("GRAPHDIFF_CACHE", str(tmp_path))
    df = pd.read_csv(shared_data / "molecules/qm9/qm9.csv.gz", index_col=0)
    test_idx = {int(i) for i in json.loads((shared_data / "molecules/qm9/valid_idx_qm9.json").read_text())["valid_idxs"]}
    assert len(test_idx) == 13_082
    smiles = df.SMILES1.tolist()
    test = [s for i, s in enumerate(smiles) if i in test_idx][:500]
    train = [s for i, s in enumerate(smiles) if i not in test_idx][:3000]
    res = molecule_metrics(train[:300], train_smiles=train, test_smiles=test)
    assert res["validity"] == 1.0 and res["uniqueness"] == 1.0 and res["novelty"] == 0.0
    assert 0.0 < res["fcd"] < 10.0 and 0.0 < res["nspdk"] < 0.05
    assert res.counts["n_test"] == 500 and res.counts["n_test_invalid"] == 0
    assert np.isfinite(list(res.values.values())).all()


@pytest.mark.parametrize("kwargs", [dict(generated="CCO"), dict(generated=["CCO"], train_smiles="CCO"),
                                    dict(generated=["CCO"], test_smiles="CCO", metrics=("validity",)),
                                    dict(generated=b"CCO")])
def test_a_bare_string_is_refused_not_read_per_character(kwargs):
    from graphdiff.metrics import molecule_metrics

    with pytest.raises(TypeError, match="list of SMILES"):
        molecule_metrics(**kwargs)
