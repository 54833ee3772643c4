"""The property-targeting benchmark (benchmarks/conditional_qm9.py) is one code path for QM9 and
ZINC250k: ``--dataset`` picks the test split the targets come from, the default models and results
page, and what the report puts beside the rows (QM9: the issue-25 gate; ZINC250k: FreeGress's
published rows). Checked on a tiny stand-in for the datasets, without sampling."""

from __future__ import annotations

import argparse
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("rdkit")

ROOT = Path(__file__).resolve().parents[1]
_SPEC = importlib.util.spec_from_file_location("conditional_bench", ROOT / "benchmarks" / "conditional_qm9.py")
bench = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(bench)

SPLITS = {  # a stand-in per dataset: (test, train); "C1CC" does not parse and must be skipped
    "qm9": (["CCO", "C1CC", "CC(=O)N", "CCF"], ["CO", "CCC", "CC=O"]),
    "zinc250k": (["c1ccccc1O", "C1CC", "CCN(CC)C(=O)c1ccccc1", "CC(C)Cc1ccc(C(C)C(=O)O)cc1"], ["c1ccccc1", "CCOC(C)=O"]),
}


class _Stand:
    def __init__(self, name):
        self.name = name

    def smiles(self, split):
        return list(SPLITS[self.name][0 if split == "test" else 1])


@pytest.fixture
def tiny_data(monkeypatch):
    import graphdiff.data

    asked = []

    def load(name, *a, **k):
        asked.append(name)
        return _Stand(name)

    monkeypatch.setattr(graphdiff.data, "load", load)
    return asked


def _args(dataset, tmp_path, **kw):
    ns = argparse.Namespace(dataset=dataset, model=None, reference=None, work=None, out=None, targets=3, per=2, scale=1.0,
                            scales="0,1,2", sweep_per=2, seed=0, threads=1, train_props=None, plot=False, commands=None)
    ns.__dict__.update(kw)
    return bench.resolve(ns)


def test_defaults_follow_the_dataset(tmp_path):
    q, z = _args("qm9", tmp_path), _args("zinc250k", tmp_path)
    assert (q.model, q.reference) == ("qm9_cond", "qm9_ctmc")
    assert (z.model, z.reference) == ("runs/zinc_cond/model", "zinc250k_ctmc")
    assert q.out.endswith("results/conditional_qm9.md") and z.out.endswith("results/conditional_zinc250k.md")
    assert q.work != z.work
    given = _args("zinc250k", tmp_path, model="m", reference="r", out="o.md")  # what the user gives is kept
    assert (given.model, given.reference, given.out) == ("m", "r", "o.md")


class _Seen(Exception):
    pass


def test_sample_seed_draws_new_samples_on_the_same_targets(tiny_data, tmp_path, monkeypatch):
    import graphdiff

    class _Pipe:
        def sample(self, n, *, seed, **kw):
            raise _Seen(seed, kw.get("condition"))

    monkeypatch.setattr(graphdiff, "load_pretrained", lambda *a, **k: _Pipe())
    assert _args("qm9", tmp_path).sample_seed == 0
    seen = []
    for sample_seed in (None, 3):
        with pytest.raises(_Seen) as e:
            bench.run_part("main", _args("qm9", tmp_path, sample_seed=sample_seed, work=str(tmp_path)))
        seen.append(e.value.args)
    assert [s[0] for s in seen] == [0, 3]  # the sampling seed alone changed ...
    assert all((a == b).all() for a, b in zip(seen[0][1].values(), seen[1][1].values()))  # ... the targets did not


@pytest.mark.parametrize("dataset", ["qm9", "zinc250k"])
def test_targets_come_from_the_datasets_test_split(tiny_data, dataset):
    from graphdiff.data.properties import compute_properties

    smi, vals = bench.targets(0, 3, dataset)
    assert tiny_data == [dataset]
    assert sorted(smi) == sorted(s for s in SPLITS[dataset][0] if s != "C1CC")  # the unparsable one skipped
    np.testing.assert_allclose(vals, compute_properties(smi, bench.PROPS))
    again, _ = bench.targets(0, 3, dataset)
    assert again == smi  # the seed fixes the draw


def test_oracle_is_the_nearest_training_molecule_in_standardised_space():
    train = np.array([[0.0, 0.0, 100.0], [1.0, 1.0, 300.0], [np.nan, 0.5, 200.0]])  # the NaN row is ignored
    # standardised over the two finite rows (mean 0.5 / 0.5 / 200, sd 0.5 / 0.5 / 100): the target is nearer row 0
    got = bench.oracle(np.array([[0.2, 0.1, 130.0]]), train)
    assert got == pytest.approx({"logp": 0.2, "qed": 0.1, "mw": 30.0})


def _row(mae, calls=97, n=6):
    return {"mae": dict(zip(bench.PROPS, mae)), "n": n, "n_valid": n, "validity_wo_correction": 0.95, "validity": 1.0,
            "uniqueness": 1.0, "novelty": 1.0, "calls": calls, "seconds": 12.0, "load": 3.5}


@pytest.mark.parametrize("dataset", ["qm9", "zinc250k"])
def test_report_puts_the_datasets_references_beside_the_rows(tiny_data, tmp_path, dataset):
    work = tmp_path / "work"
    work.mkdir()
    (work / "uncond.json").write_text(json.dumps({"uncond": _row([1.0, 0.2, 100.0])}))
    (work / "main.json").write_text(json.dumps({"w=1": _row([0.1, 0.02, 10.0])}))
    props = tmp_path / "train_props.npy"
    np.save(props, np.array([[0.0, 0.5, 100.0], [3.0, 0.9, 400.0]]))
    ref = {"qm9": "qm9_ctmc", "zinc250k": "zinc250k_ctmc"}[dataset]
    out = tmp_path / "page.md"
    bench.report(_args(dataset, tmp_path, model=ref, work=str(work), out=str(out), train_props=str(props)))
    page = out.read_text()
    name = {"qm9": "QM9", "zinc250k": "ZINC250k"}[dataset]
    assert page.startswith(f"<!-- report:begin -->\n# Property-targeted generation on {name} ")
    assert f"--dataset {dataset}" in page and "main w=1 12 s (load 3.5)" in page
    assert "| conditional, w=1 (main) | 6 | 97 | 0.100 | 0.0200 | 10.00 | 0.9500 |" in page
    published = "| published: FreeGress | - | - | 0.17 | 0.04 | 8.96 |"
    if dataset == "zinc250k":  # reported beside FreeGress's rows, no gate
        assert published in page and "| published: DiGress | - | - | 0.74 | 0.15 | 20.92 |" in page
        assert "**Gate**" not in page
    else:  # QM9: the gate (ratios 10% / 10% / 10% at 95% validity w/o correction: fails on validity)
        assert published not in page
        assert "MAE ratios logp 10%, qed 10%, mw 10%" in page and "**FAIL**" in page
    # a second report rewrites only its block: a hand-written section after it survives
    out.write_text(page + "\n## Reading (by hand)\n\nkept\n")
    (work / "main.json").write_text(json.dumps({"w=1": _row([0.2, 0.02, 10.0])}))
    bench.report(_args(dataset, tmp_path, model=ref, work=str(work), out=str(out), train_props=str(props)))
    again = out.read_text()
    assert again.endswith("## Reading (by hand)\n\nkept\n") and again.count("<!-- report:begin -->") == 1
    assert "| conditional, w=1 (main) | 6 | 97 | 0.200 |" in again and "| 0.100 |" not in again


def test_fine_tuning_counts_the_stages_since_the_unconditional_parent():
    """zinc250k_ctmc was trained in several stages itself: only what came after it is fine-tuning."""
    def stage(name, steps, seconds, parent=None):
        return {"model": name, "steps": steps, "seconds": seconds, **({"init_from": parent} if parent else {})}

    parent = {"init_from": stage("u2", 20, 600, stage("u1", 10, 600)), "training": {"steps": 30, "seconds": 600}}
    child = {"init_from": stage("c1", 100, 120, stage("u3", 30, 600, parent["init_from"])),
             "training": {"steps": 200, "seconds": 240}}
    assert [s["steps"] for s in bench.fine_tuning_stages(child, parent)] == [100, 200]
    assert bench.fine_tuning(child, parent) == (300, 6.0)
    # a parent trained from scratch (qm9_ctmc): everything after the first entry
    scratch = {"init_from": stage("q", 5, 60), "training": {"steps": 7, "seconds": 60}}
    assert bench.fine_tuning(scratch, {"training": {}}) == (7, 1.0)
