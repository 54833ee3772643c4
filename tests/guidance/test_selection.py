"""Best-of-k selection (``candidates=k``), exact small cases and through the pipeline, and
predictor guidance on top of a conditional model's classifier-free guidance."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from graphdiff.guidance.selection import (INVALID, VALID_CORRECTED, VALID_WITHOUT_CORRECTION, candidate_tiers,
                                          check_candidates, repeat_for_candidates, select_nearest)
from graphdiff.guidance.training import condition_spec

V, C, X = VALID_WITHOUT_CORRECTION, VALID_CORRECTED, INVALID
FAST = {"steps": 3, "sampler": "ancestral"}


def test_select_nearest_uses_the_standardised_distance():
    # two molecules x two candidates; targets logp 1, mw 100
    targets = {"logp": np.full(4, 1.0), "mw": np.full(4, 100.0)}
    achieved = {"logp": np.array([1.5, 1.0, 1.5, 1.0]), "mw": np.array([100.0, 103.0, 100.0, 101.0])}
    # mw std 10: d = 0.25, 0.09 | 0.25, 0.01 -> the logp-exact candidates
    idx, dist = select_nearest(targets, achieved, {"logp": 1.0, "mw": 10.0}, [V] * 4, 2)
    assert idx.tolist() == [1, 3]
    np.testing.assert_allclose(dist, [0.09, 0.01])
    # mw std 1: d = 0.25, 9 | 0.25, 1 -> the mw-exact candidates
    idx, dist = select_nearest(targets, achieved, {"logp": 1.0, "mw": 1.0}, [V] * 4, 2)
    assert idx.tolist() == [0, 2]
    np.testing.assert_allclose(dist, [0.25, 0.25])


def test_validity_ranks_before_distance_and_missing_targets_are_left_out():
    targets = {"logp": np.array([1.0, 1.0, 1.0, 2.0, 2.0, 2.0]), "qed": np.array([0.5, 0.5, 0.5] + [np.nan] * 3)}
    achieved = {"logp": np.array([1.0, np.nan, 3.0, 2.0, 2.1, 9.0]), "qed": np.array([0.5, np.nan, 0.9, 0.0, 0.0, 0.0])}
    # molecule 0: the exact candidate needed correction, the invalid one has no properties: the far one
    # that was valid without correction is chosen; molecule 1: qed not asked, so candidate 3 (logp exact)
    idx, dist = select_nearest(targets, achieved, {"logp": 1.0, "qed": 0.1}, [C, X, V, V, V, V], 3)
    assert idx.tolist() == [2, 3]
    np.testing.assert_allclose(dist, [4.0 + 16.0, 0.0])
    # with no candidate valid without correction the corrected one beats the invalid one
    idx, _ = select_nearest(targets, achieved, {"logp": 1.0, "qed": 0.1}, [C, X, X, V, V, V], 3)
    assert idx[0] == 0
    # all invalid: the first candidate, at distance inf; ties go to the earliest candidate
    idx, dist = select_nearest({"logp": np.full(2, 1.0)}, {"logp": np.full(2, np.nan)}, {"logp": 1.0}, [X, X], 2)
    assert idx.tolist() == [0] and np.isinf(dist[0])
    with pytest.raises(ValueError, match="needs a target among the properties"):
        select_nearest({"edges": np.ones(2)}, {"logp": np.ones(2)}, {}, [V, V], 2)
    with pytest.raises(ValueError, match="not a whole number of groups of 2"):
        select_nearest({"logp": np.ones(3)}, {"logp": np.ones(3)}, {}, [V] * 3, 2)


def test_check_and_repeat():
    assert check_candidates(4) == 4 and check_candidates(np.int64(2)) == 2
    for bad in (0, -1):
        with pytest.raises(ValueError, match="candidates must be >= 1"):
            check_candidates(bad)
    for bad in (1.5, True, "2"):
        with pytest.raises(ValueError, match="candidates must be an int >= 1"):
            check_candidates(bad)
    rep = repeat_for_candidates({"logp": [0.0, 1.0], "qed": 0.5}, 2, 3)
    assert rep["logp"].tolist() == [0.0, 0.0, 0.0, 1.0, 1.0, 1.0] and rep["qed"] == 0.5
    assert repeat_for_candidates(None, 2, 3) is None


@pytest.fixture(scope="module")
def qm9_cond():
    pytest.importorskip("rdkit")
    from graphdiff.pipelines import load_pretrained

    return load_pretrained("qm9_cond")


def test_best_of_k_picks_the_nearest_candidate_and_counts_its_cost(qm9_cond):
    cond = {"logp": [-1.0, 0.5, 2.0], "qed": 0.45}
    k = 4
    best = qm9_cond.sample(3, condition=cond, seed=5, candidates=k, **FAST)
    one = qm9_cond.sample(3, condition=cond, seed=5, **FAST)
    # the candidates: the same call for 3 * k molecules, molecule i's at i * k .. i * k + k - 1
    cands = qm9_cond.sample(3 * k, condition=repeat_for_candidates(cond, 3, k), seed=5, **FAST)
    assert len(best) == 3 and best.info["candidates"] == k
    assert best.nfe_per_graph == k * one.nfe_per_graph == k * 3
    std = {e.name: e.std for e in condition_spec(qm9_cond).entries}
    tiers = candidate_tiers(cands)
    for i in range(3):
        group = range(i * k, i * k + k)
        d = [((cands.properties["logp"][j] - cond["logp"][i]) / std["logp"]) ** 2
             + ((cands.properties["qed"][j] - 0.45) / std["qed"]) ** 2 for j in group]
        d = [np.inf if not np.isfinite(x) else x for x in d]
        key = [(tiers[j], d[j - i * k]) for j in group]
        want = i * k + min(range(k), key=lambda m: key[m])
        assert best.smiles[i] == cands.smiles[want]
        assert best.properties["logp"][i] == pytest.approx(cands.properties["logp"][want], nan_ok=True)
        assert best.targets["logp"][i] == cond["logp"][i]
    # the achieved values travel with the chosen molecules (recomputed from them)
    from graphdiff.data.properties import compute_properties

    np.testing.assert_allclose(compute_properties(best.molecules, ["logp", "qed"]),
                               np.stack([best.properties["logp"], best.properties["qed"]], 1))
    # candidates=1 is plain sampling
    same = qm9_cond.sample(3, condition=cond, seed=5, candidates=1, **FAST)
    assert same.smiles == one.smiles and "candidates" not in same.info


def test_best_of_k_errors(qm9_cond):
    from graphdiff.pipelines import load_pretrained

    with pytest.raises(ValueError, match="candidates must be >= 1"):
        qm9_cond.sample(2, condition={"logp": 1.0}, candidates=0, **FAST)
    with pytest.raises(ValueError, match="it needs a condition"):
        qm9_cond.sample(2, candidates=2, **FAST)
    with pytest.raises(ValueError, match="needs a molecule model; community_small generates plain graphs"):
        load_pretrained("community_small_sde").sample(2, candidates=2, condition={"logp": 1.0}, steps=2)
    with pytest.raises(ValueError, match="runs in one process"):
        qm9_cond.sample(2, condition={"logp": 1.0}, candidates=2, nproc=2)


def test_best_of_k_user_surface(qm9_cond, tmp_path):
    from typer.testing import CliRunner

    import graphdiff
    from graphdiff.cli import app

    s = graphdiff.generate_molecules(2, model="qm9_cond", condition={"mw": 120.0}, candidates=2, threads=None, **FAST)
    assert s.info["candidates"] == 2 and s.nfe_per_graph == 2 * 3 and len(s) == 2
    out = tmp_path / "c.smi"
    res = CliRunner().invoke(app, ["sample", "-m", "qm9_cond", "-n", "2", "--steps", "2", "--condition", "logp=1",
                                   "--candidates", "3", "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert len(out.read_text().split()) == 2
    res = CliRunner().invoke(app, ["sample", "-m", "qm9_cond", "-n", "2", "--steps", "2", "--candidates", "3",
                                   "-o", str(tmp_path / "d.smi")])
    assert res.exit_code == 2 and "needs a condition" in res.output


def test_predictor_guidance_on_top_of_classifier_free_guidance(qm9_cond):
    """A conditional model takes its condition and a predictor of the same entries together: the
    model's classifier-free guidance and the predictor's tilt, each one call per step."""
    from graphdiff.guidance import ConditionSpec
    from graphdiff.guidance.predictor import NoisyGraphPredictor

    rng = np.random.default_rng(0)
    spec = ConditionSpec.from_data(["logp", "qed", "mw"], rng.normal([0.3, 0.46, 122.0], [1.0, 0.07, 7.5], (50, 3)),
                                   dropout=0.0, entry_dropout=0.0)
    torch.manual_seed(0)
    pred = NoisyGraphPredictor.for_pipeline(qm9_cond, spec, network={"hidden": 16, "depth": 1})
    torch.nn.init.normal_(pred.readout[-1].weight, std=3.0)  # an untrained predictor with a say
    cond = {"logp": 1.0, "qed": 0.5, "mw": 120.0}
    kw = dict(condition=cond, num_nodes=[9] * 4, seed=2, **FAST)
    plain = qm9_cond.sample(4, **kw)
    both = qm9_cond.sample(4, predictor=pred, predictor_scale=5.0, **kw)
    assert plain.nfe_per_graph == 3 and both.nfe_per_graph == 2 * 3
    assert both.info["condition"] == cond and both.info["predictor"] == cond and both.info["guidance_scale"] == 1.0
    assert not torch.equal(plain.state.A, both.state.A)  # the tilt changes the samples
    # scale 0: exactly the conditional model alone (the model still gets its condition)
    zero = qm9_cond.sample(4, predictor=pred, predictor_scale=0.0, **kw)
    assert torch.equal(zero.state.X, plain.state.X) and torch.equal(zero.state.A, plain.state.A)
    uncond = qm9_cond.sample(4, num_nodes=[9] * 4, seed=2, **FAST)
    assert not torch.equal(uncond.state.A, plain.state.A)
    w2 = qm9_cond.sample(4, predictor=pred, guidance_scale=2.0, **kw)
    assert w2.nfe_per_graph == 3 * 3 and w2.info["guidance_scale"] == 2.0
    # with best-of-k on top: k times all of it
    bk = qm9_cond.sample(2, predictor=pred, candidates=2, condition=cond, seed=2, **FAST)
    assert bk.nfe_per_graph == 2 * 2 * 3
