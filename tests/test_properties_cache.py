"""The on-disk cache of RDKit properties (graphdiff.data.properties.cached_properties): a second call
reads the cache instead of calling RDKit, the key follows the SMILES, the names and the RDKit
version, a damaged or mismatching entry is recomputed with a warning, and the cache can be turned off."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from graphdiff.data import properties as P

pytest.importorskip("rdkit")

SMILES = ["CCO", "c1ccccc1", "not a smiles", "CC(=O)O"]


@pytest.fixture
def counted(tmp_path, monkeypatch):
    """A fresh cache root and a logP whose calls are counted (the per-molecule function)."""
    monkeypatch.setenv("GRAPHDIFF_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv(P.CACHE_ENV, raising=False)
    calls = {"n": 0}
    real = P._FACTORIES["logp"]()

    def logp(mol):
        calls["n"] += 1
        return real(mol)

    monkeypatch.setitem(P._FACTORIES, "logp", lambda: logp)
    return calls


def _files(tmp_path):
    return sorted(p.name for p in (tmp_path / "cache" / "properties").iterdir())


def test_second_call_reads_the_cache_without_calling_rdkit(counted, tmp_path):
    first = P.cached_properties(SMILES, ["logp", "mw"])
    assert counted["n"] == 3  # the three parsable molecules
    np.testing.assert_array_equal(first, P.compute_properties(SMILES, ["logp", "mw"]))
    counted["n"] = 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a clean hit warns about nothing
        again = P.cached_properties(SMILES, ["logp", "mw"])
    assert counted["n"] == 0
    np.testing.assert_array_equal(again, first)  # NaN row included
    assert np.isnan(again[2]).all() and again.dtype == np.float64
    key = P.property_cache_key(SMILES, ["logp", "mw"])
    assert _files(tmp_path) == [f"{key}.json", f"{key}.npy"]  # no temporary file left behind
    meta = json.loads((tmp_path / "cache" / "properties" / f"{key}.json").read_text())
    assert meta["names"] == ["logp", "mw"] and meta["n"] == 4 and meta["rdkit"] == P._rdkit_version()


def test_the_key_follows_smiles_names_order_and_rdkit_version():
    k = P.property_cache_key(SMILES, ["logp", "mw"], "2024.03.1")
    assert k == P.property_cache_key(list(SMILES), ["logp", "mw"], "2024.03.1")
    others = {
        P.property_cache_key(SMILES, ["mw", "logp"], "2024.03.1"),
        P.property_cache_key(SMILES, ["logp"], "2024.03.1"),
        P.property_cache_key(SMILES[:3], ["logp", "mw"], "2024.03.1"),
        P.property_cache_key(SMILES[::-1], ["logp", "mw"], "2024.03.1"),
        P.property_cache_key(["CCO", "c1ccccc1", "not a smiles", "CC(=O)N"], ["logp", "mw"], "2024.03.1"),
        P.property_cache_key(["CCOc1ccccc1", "not a smiles", "CC(=O)O"], ["logp", "mw"], "2024.03.1"),  # joined differently
        P.property_cache_key(SMILES, ["logp", "mw"], "2024.09.1"),
    }
    assert k not in others and len(others) == 7


def test_other_names_or_smiles_are_computed_not_read(counted, tmp_path):
    P.cached_properties(SMILES, ["logp"])
    counted["n"] = 0
    P.cached_properties(SMILES, ["logp", "qed"])
    assert counted["n"] == 3
    counted["n"] = 0
    P.cached_properties(SMILES[:2], ["logp"])
    assert counted["n"] == 2
    assert len(_files(tmp_path)) == 6  # three entries


@pytest.mark.parametrize("damage", ["truncate_npy", "flip_npy", "garble_json", "other_names_in_json", "other_rdkit",
                                    "npy_missing"])
def test_a_damaged_or_mismatching_entry_is_recomputed_with_a_warning(counted, tmp_path, damage):
    want = P.cached_properties(SMILES, ["logp", "mw"])
    key = P.property_cache_key(SMILES, ["logp", "mw"])
    npy = tmp_path / "cache" / "properties" / f"{key}.npy"
    js = npy.with_suffix(".json")
    if damage == "truncate_npy":
        npy.write_bytes(npy.read_bytes()[:-9])
    elif damage == "flip_npy":  # same size, one value changed: only the checksum sees it
        arr = np.load(npy)
        arr[0, 0] += 1.0
        np.save(npy, arr)
    elif damage == "garble_json":
        js.write_text("{not json")
    elif damage == "npy_missing":
        npy.unlink()
    else:
        meta = json.loads(js.read_text())
        meta.update({"names": ["mw", "logp"]} if damage == "other_names_in_json" else {"rdkit": "1999.01"})
        js.write_text(json.dumps(meta))
    counted["n"] = 0
    with pytest.warns(UserWarning, match="property cache .*recomputing"):
        got = P.cached_properties(SMILES, ["logp", "mw"])
    assert counted["n"] == 3
    np.testing.assert_array_equal(got, want)
    counted["n"] = 0  # the entry was rewritten whole: the next call is a clean hit
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(P.cached_properties(SMILES, ["logp", "mw"]), want)
    assert counted["n"] == 0


def test_opt_out_by_argument_or_environment(counted, tmp_path, monkeypatch):
    P.cached_properties(SMILES, ["logp"], cache=False)
    assert not (tmp_path / "cache" / "properties").exists()
    monkeypatch.setenv(P.CACHE_ENV, "0")
    P.cached_properties(SMILES, ["logp"])
    assert not (tmp_path / "cache" / "properties").exists() and counted["n"] == 6
    P.cached_properties(SMILES, ["logp"], cache=True)  # the argument wins over the environment
    counted["n"] = 0
    P.cached_properties(SMILES, ["logp"])  # off: computed although an entry exists
    assert counted["n"] == 3
    monkeypatch.setenv(P.CACHE_ENV, "1")
    counted["n"] = 0
    P.cached_properties(SMILES, ["logp"])
    assert counted["n"] == 0


def test_unknown_names_fail_before_touching_the_cache(counted, tmp_path):
    with pytest.raises(ValueError, match="unknown property"):
        P.cached_properties(SMILES, ["logp", "tpsa"])
    assert not (tmp_path / "cache" / "properties").exists()


def test_an_unwritable_cache_warns_and_still_returns_the_values(counted, tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv("GRAPHDIFF_CACHE", str(blocker))  # a file where the folder should be
    with pytest.warns(UserWarning, match="could not write the property cache"):
        got = P.cached_properties(SMILES, ["logp"])
    np.testing.assert_array_equal(got, P.compute_properties(SMILES, ["logp"]))


def test_training_condition_values_go_through_the_cache(counted, tmp_path):
    from graphdiff.guidance.training import training_condition_values

    names, kinds, v1 = training_condition_values({"properties": ["logp", "qed"]}, SMILES)
    counted["n"] = 0
    _, _, v2 = training_condition_values({"properties": ["logp", "qed"]}, SMILES)
    assert counted["n"] == 0 and names == ["logp", "qed"] and kinds == ["property", "property"]
    np.testing.assert_array_equal(v1, v2)
