"""Steered sampling through the pipeline: conditions with classifier-free guidance, sizes from
p(N | y), scaffold-constrained (inpainting) sampling, achieved properties, and the input errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from graphdiff.pipelines import load_pretrained

pytest.importorskip("rdkit")

FAST = {"steps": 3, "sampler": "ancestral"}


@pytest.fixture(scope="module")
def cond_model(toy_conditional):
    """qm9_ctmc given a logp / mw condition (the conditioning's last layer made non-zero) and a p(N | y)
    table in which the weight fixes the size."""
    pipe, _, _ = toy_conditional()
    torch.manual_seed(0)
    torch.nn.init.normal_(pipe.network.conditioning.cond_mlp.net[-1].weight, std=0.3)  # make y matter
    return pipe


def test_condition_sizes_properties_and_cost(cond_model):
    out = cond_model.sample(12, condition={"mw": 14.0 * 9}, guidance_scale=2.0, seed=0, **FAST)
    assert (out.state.node_mask.sum(-1) >= 8).all()  # p(N | mw = 126): 9 atoms
    small = cond_model.sample(12, condition={"mw": 14.0 * 4}, guidance_scale=2.0, seed=0, **FAST)
    assert (small.state.node_mask.sum(-1) <= 5).all()
    assert out.nfe_per_graph == 2 * 3  # the unconditional pass is a network call too
    assert cond_model.sample(4, condition={"mw": 100.0}, guidance_scale=1.0, **FAST).nfe_per_graph == 3
    assert cond_model.sample(4, condition={"mw": 100.0}, guidance_scale=0.0, **FAST).nfe_per_graph == 3
    assert set(out.properties) == {"logp", "mw"} and out.properties["mw"].shape == (12,)
    assert (out.targets["mw"] == 126.0).all() and "logp" not in out.targets
    valid = [i for i, m in enumerate(out.molecules) if m is not None]
    assert valid and np.isfinite(out.properties["mw"][valid]).all()
    assert out.info["guidance_scale"] == 2.0 and out.info["condition"] == {"mw": 126.0}
    # per-sample targets, seeded
    per = cond_model.sample(4, condition={"logp": [0.0, 1.0, 2.0, 3.0]}, seed=3, **FAST)
    again = cond_model.sample(4, condition={"logp": [0.0, 1.0, 2.0, 3.0]}, seed=3, **FAST)
    assert per.smiles == again.smiles and list(per.targets["logp"]) == [0.0, 1.0, 2.0, 3.0]


def test_guidance_scale_zero_is_the_null_condition(cond_model):
    a = cond_model.sample(6, condition={"logp": 2.0}, guidance_scale=0.0, num_nodes=[7] * 6, seed=1, **FAST)
    b = cond_model.sample(6, num_nodes=[7] * 6, seed=1, **FAST)  # unsteered: the null condition
    c = cond_model.sample(6, condition={"logp": 2.0}, guidance_scale=1.0, num_nodes=[7] * 6, seed=1, **FAST)
    assert torch.equal(a.state.X, b.state.X) and torch.equal(a.state.A, b.state.A)
    assert not (torch.equal(a.state.X, c.state.X) and torch.equal(a.state.A, c.state.A))


def test_steering_input_errors(cond_model):
    plain = load_pretrained("qm9_ctmc")
    with pytest.raises(ValueError, match="unconditional model: it cannot take a condition .*qm9_cond"):
        plain.sample(2, condition={"logp": 1.0}, **FAST)
    with pytest.raises(ValueError, match=r"unknown condition 'qed'; this model is conditioned on: logp \(training range"):
        cond_model.sample(2, condition={"qed": 0.5}, **FAST)
    with pytest.raises(ValueError, match="guidance_scale needs a condition"):
        cond_model.sample(2, guidance_scale=2.0, **FAST)
    with pytest.raises(ValueError, match="guidance_scale must be a finite number >= 0"):
        cond_model.sample(2, condition={"logp": 1.0}, guidance_scale=-1.0, **FAST)
    with pytest.warns(UserWarning, match="far outside the training range"):
        cond_model.sample(2, condition={"logp": 40.0}, **FAST)
    with pytest.raises(ValueError, match="one process"):
        cond_model.sample(2, condition={"logp": 1.0}, nproc=2, **FAST)


def test_scaffold_is_in_every_sample():
    from rdkit import Chem

    pipe = load_pretrained("qm9_ctmc")
    out = pipe.sample(16, scaffold="c1ccncc1", seed=0, steps=5)
    k = 6
    assert (out.state.node_mask.sum(-1) >= k).all()
    # exact: the scaffold's atoms and every bond / non-bond among them are as given
    from graphdiff.data.molecules import smiles_to_state

    ref = smiles_to_state(["c1ccncc1"], pipe.vocabulary).state
    assert (out.state.X[:, :k] == ref.X[0, :k]).all() and (out.state.A[:, :k, :k] == ref.A[0, :k, :k]).all()
    # the decoded molecules contain pyridine, unless the valence correction edited the ring (counted
    # as invalid without correction) or a bridge keeps RDKit from perceiving the ring as aromatic
    patt = Chem.MolFromSmiles("c1ccncc1")
    clean = [r.mol for r in out.report.results if r.valid_without_correction]
    assert len(clean) >= 10 and np.mean([m.HasSubstructMatch(patt) for m in clean]) >= 0.8
    assert out.info["scaffold"] == "c1ccncc1"
    sized = pipe.sample(4, scaffold="CCO", num_nodes=[5, 6, 7, 9], steps=3)
    assert sized.state.node_mask.sum(-1).tolist() == [5, 6, 7, 9]


def test_scaffold_errors():
    pipe = load_pretrained("qm9_ctmc")
    with pytest.raises(ValueError, match=r"atoms \['S'\] are not in the qm9 vocabulary"):
        pipe.sample(2, scaffold="c1ccsc1", steps=2)
    with pytest.raises(ValueError, match="the scaffold has 10 atoms; this model generates at most 9"):
        pipe.sample(2, scaffold="CCCCCCCCCC", steps=2)
    with pytest.raises(ValueError, match="invalid scaffold SMILES"):
        pipe.sample(2, scaffold="C1CC", steps=2)
    with pytest.raises(ValueError, match="below the scaffold's 6 atoms"):
        pipe.sample(2, scaffold="c1ccncc1", num_nodes=[5, 7], steps=2)


def test_cli_and_generate_molecules(tmp_path, cond_model):
    from typer.testing import CliRunner

    import graphdiff
    from graphdiff.cli import app

    out = tmp_path / "s.csv"
    res = CliRunner().invoke(app, ["sample", "-m", "qm9_ctmc", "-n", "3", "--steps", "2", "--scaffold", "CCO", "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert len(out.read_text().splitlines()) == 4
    res = CliRunner().invoke(app, ["sample", "-m", "qm9_sde", "-n", "2", "--steps", "2", "--scaffold", "CCO",
                                   "-o", str(tmp_path / "sde.smi")])
    assert res.exit_code == 0, res.output  # the repaint sampler is chosen for the scaffold
    res = CliRunner().invoke(app, ["sample", "-m", "qm9_ctmc", "-n", "3", "--steps", "2", "--condition", "logp=1",
                                   "-o", str(tmp_path / "x.smi")])
    assert res.exit_code == 2 and "unconditional model" in res.output and not (tmp_path / "x.smi").exists()
    res = CliRunner().invoke(app, ["sample", "-m", "qm9_ctmc", "-n", "3", "--condition", "logp", "-o", str(tmp_path / "y.smi")])
    assert res.exit_code == 2 and "NAME=NUMBER" in res.output
    folder = tmp_path / "cond"
    cond_model.save_pretrained(folder)
    res = CliRunner().invoke(app, ["sample", "-m", str(folder), "-n", "2", "--steps", "2", "--condition", "mw=100",
                                   "--guidance-scale", "2", "-o", str(tmp_path / "c.smi")])
    assert res.exit_code == 0, res.output
    s = graphdiff.generate_molecules(2, model=str(folder), steps=2, condition={"logp": 1.0}, guidance_scale=1.5, threads=None)
    assert s.info["guidance_scale"] == 1.5 and "logp" in s.properties


def test_scaffold_with_a_continuous_model_repaint():
    """qm9_sde keeps the scaffold's atoms and bonds / non-bonds exactly (RePaint inpainting), the
    free atoms fill the requested sizes, and another sampler is refused by name."""
    from graphdiff.data.molecules import smiles_to_state

    pipe = load_pretrained("qm9_sde")
    out = pipe.sample(8, scaffold="c1ccncc1", seed=0, steps=10, sampler_options={"jumps": 2})
    ref = smiles_to_state(["c1ccncc1"], pipe.vocabulary).state
    assert (out.state.X[:, :6] == ref.X[0, :6]).all() and (out.state.A[:, :6, :6] == ref.A[0, :6, :6]).all()
    assert out.info["sampler"] == "repaint" and out.nfe_per_graph == 2 * 9 + 1
    sized = pipe.sample(3, scaffold="CCO", num_nodes=[4, 7, 9], steps=3)
    assert sized.state.node_mask.sum(-1).tolist() == [4, 7, 9]
    assert (sized.state.A[:, 0, 1] == 1).all() and (sized.state.A[:, 1, 2] == 1).all() and (sized.state.A[:, 0, 2] == 0).all()
    with pytest.raises(ValueError, match="uses the 'repaint' sampler, not 'dpm_solver'"):
        pipe.sample(2, scaffold="CCO", sampler="dpm_solver", steps=2)
