"""The models shipped in ``graphdiff/pretrained/``: they load offline without pickle, sample, and
their cards carry the measured metrics with the protocol."""

from __future__ import annotations

import json

import pytest
import torch

import graphdiff
from graphdiff.errors import CheckpointError
from graphdiff.pipelines import GraphSamples, MoleculeSamples, list_pretrained, load_pretrained
from graphdiff.pipelines.pretrained import PRETRAINED_DIR


def test_bundled_models_are_small_and_described():
    names = list_pretrained()
    assert {"community_small_sde", "ego_small_sde", "qm9_ctmc", "qm9_sde", "zinc250k_ctmc"} <= set(names)
    total = sum(p.stat().st_size for p in PRETRAINED_DIR.rglob("*.safetensors"))
    assert total < 12 * 2**20, f"bundled weights are {total / 2**20:.1f} MB"  # six models, 3.1 MB the largest
    for info in list_pretrained(details=True):
        card = json.loads((PRETRAINED_DIR / info["name"] / "config.json").read_text())["card"]
        assert card["summary"] and card["metrics"], f"{info['name']}: card lacks summary / metrics"
        assert "protocol" in json.dumps(card["metrics"]), f"{info['name']}: metrics without their protocol"
        assert card["training"]["steps"] > 0


def test_graph_model_samples_valid_graphs():
    pipe = load_pretrained("community_small")
    out = pipe.sample(4, steps=5, seed=0)
    assert isinstance(out, GraphSamples) and len(out) == 4
    out.state.validate()
    again = pipe.sample(4, steps=5, seed=0)
    assert torch.equal(out.state.A, again.state.A)
    with pytest.raises(ValueError, match="generates plain graphs"):
        graphdiff.generate_molecules(n=2, model="community_small")


def test_generate_molecules_offline_with_the_default_model():
    mols = graphdiff.generate_molecules(n=24, steps=10, seed=1)
    assert isinstance(mols, MoleculeSamples) and len(mols) == 24
    assert len(mols.smiles) == 24 and len(mols.molecules) == 24
    rep = mols.report
    assert rep.n_total == 24 and 0 <= rep.n_valid_without_correction <= rep.n_total
    from rdkit import Chem

    for m, s in zip(mols.molecules, mols.smiles):
        assert (m is None) == (s is None)
        if m is not None:
            assert Chem.MolToSmiles(Chem.MolFromSmiles(s)) == s
    assert sum(s is not None for s in mols.smiles) >= 12, "fewer than half of the samples decode to molecules"


def test_save_and_reload_round_trip(tmp_path):
    pipe = load_pretrained("qm9")
    path = pipe.save_pretrained(tmp_path / "copy")
    again = load_pretrained(str(path))
    a = pipe.sample(6, steps=4, seed=3)
    b = again.sample(6, steps=4, seed=3)
    assert a.smiles == b.smiles
    # a tampered weights file is refused with a clear error
    w = path / "model.safetensors"
    data = bytearray(w.read_bytes())
    data[-1] ^= 0xFF
    w.write_bytes(bytes(data))
    with pytest.raises(CheckpointError):
        load_pretrained(str(path))


def test_continuous_qm9_model_generates_molecules():
    mols = graphdiff.generate_molecules(n=16, model="qm9_sde", steps=10, seed=0)
    assert len(mols) == 16 and mols.report.n_total == 16
    assert sum(s is not None for s in mols.smiles) >= 8


def test_unknown_model_name_lists_valid_ones():
    with pytest.raises(ValueError, match="qm9"):
        load_pretrained("qm10")


@pytest.mark.parametrize("model", ["qm9", "qm9_sde"])
def test_bfloat16_sampling_runs_the_network_in_bfloat16(model):
    """``precision="bfloat16"``: the network's linear layers compute in bf16 (autocast), the
    sampler gets float32 back, and the molecules are as good as the float32 ones."""
    pipe = load_pretrained(model)
    seen: set[torch.dtype] = set()
    lin = next(m for m in pipe.network.modules() if isinstance(m, torch.nn.Linear))
    handle = lin.register_forward_hook(lambda mod, inp, out: seen.add(out.dtype))
    try:
        out = pipe.sample(32, steps=10, seed=2, precision="bfloat16")
    finally:
        handle.remove()
    assert seen == {torch.bfloat16}
    assert out.info["precision"] == "bfloat16" and len(out) == 32
    ref = pipe.sample(32, steps=10, seed=2)
    assert ref.info["precision"] == "float32"
    valid_bf16 = out.report.n_valid_without_correction
    valid_fp32 = ref.report.n_valid_without_correction
    assert valid_bf16 >= 16 and abs(valid_bf16 - valid_fp32) <= 8, (valid_bf16, valid_fp32)


def test_unknown_precision_lists_the_valid_ones():
    pipe = load_pretrained("qm9")
    with pytest.raises(ValueError, match="bfloat16"):
        pipe.sample(2, steps=2, precision="fp8")
    with pytest.raises(ValueError, match="float32"):
        graphdiff.generate_molecules(n=2, steps=2, precision="half")


def test_sampler_options_override_the_card_and_are_recorded():
    """``sampler_options={"temperature": t}`` reaches the continuous sampler (a colder prior gives
    other, reproducible samples) and ``info`` records the options; an option the sampler does not
    take, or a bad value, is refused."""
    pipe = load_pretrained("qm9_sde")
    base = pipe.sample(16, steps=8, seed=4)
    cold = pipe.sample(16, steps=8, seed=4, sampler_options={"temperature": 0.5})
    again = pipe.sample(16, steps=8, seed=4, sampler_options={"temperature": 0.5})
    assert cold.info["options"] == {"temperature": 0.5} and base.info["options"] == {}
    assert cold.smiles == again.smiles and cold.smiles != base.smiles
    with pytest.raises(TypeError, match="no_such_option"):
        pipe.sample(2, steps=2, sampler_options={"no_such_option": 1})
    with pytest.raises(ValueError, match="temperature"):
        pipe.sample(2, steps=2, sampler_options={"temperature": 0})
    mols = graphdiff.generate_molecules(n=4, model="qm9_sde", steps=4, seed=4, sampler_options={"temperature": 0.5})
    assert mols.info["options"] == {"temperature": 0.5}
    # the card's default is the SDE solver: s_noise reaches it; the ODE solver refuses it
    assert base.info["sampler"] == "dpm_solver_sde"
    quiet = pipe.sample(16, steps=8, seed=4, sampler_options={"s_noise": 0.5})
    assert quiet.info["options"] == {"s_noise": 0.5} and quiet.smiles != base.smiles
    with pytest.raises(ValueError, match="s_noise"):
        pipe.sample(2, steps=2, sampler="dpm_solver", sampler_options={"s_noise": 0.5})


def test_measured_line_states_quality_and_protocol():
    from graphdiff.pipelines.pretrained import measured

    mol = {"metrics": {"sampler": "pc", "nfe": 49, "n_samples": 10000,
                       "values": {"validity_wo_correction": 0.99391, "fcd": 0.17512, "nspdk": 0.000432}}}
    assert measured(mol) == "99.4% valid w/o correction, FCD 0.175, NSPDK 0.00043; pc, 49 network calls, 10,000 samples"
    mol["metrics"]["values"]["single_fragment"] = 0.7649
    assert measured(mol) == ("99.4% valid w/o correction, 76.5% single fragment, FCD 0.175, NSPDK 0.00043; pc, 49 network "
                             "calls, 10,000 samples")
    rows = [{"sampler": "ddpm", "steps": 50, "nfe": 50, "seeds": 3, "degree": 0.5, "clustering": 0.25, "orbit": 0.125},
            {"sampler": "dpm_solver_sde", "steps": 50, "nfe": 50, "seeds": 10, "degree": 0.0186, "clustering": 0.0879, "orbit": 0.0095}]
    graph = {"sampling": {"sampler": "dpm_solver_sde", "steps": 50}, "metrics": {"n_generated": 20, "rows": rows}}
    assert measured(graph) == ("MMD degree 0.019 / clustering 0.088 / orbit 0.009; dpm_solver_sde, 50 network calls, "
                               "20 graphs x 10 seeds")  # the row of the card's default sampler
    assert measured({}) == "not measured"


def test_generate_molecules_defaults_auto_precision_threads_and_fragments(monkeypatch):
    """The default call resolves ``precision="auto"`` from the CPU flags (a monkeypatched reader:
    bfloat16 with AVX512-BF16, float32 with AVX2 only), samples size-sorted, runs on the thread
    count it is given and restores torch's, and reports the single-fragment fraction."""
    from graphdiff import hardware

    old = torch.get_num_threads()
    monkeypatch.setattr(hardware, "_read_cpuinfo", lambda: "flags\t: avx2 avx512f avx512_bf16\n")
    seen: list[int] = []
    pipe_sample = graphdiff.pipelines.base.GraphDiffusionPipeline.sample

    def spy(self, *a, **k):
        seen.append(torch.get_num_threads())
        return pipe_sample(self, *a, **k)

    monkeypatch.setattr(graphdiff.pipelines.base.GraphDiffusionPipeline, "sample", spy)
    out = graphdiff.generate_molecules(n=6, steps=2, seed=3, threads=1)
    assert out.info["precision"] == "bfloat16" and out.info["sort_sizes"] is True
    assert seen == [1] and torch.get_num_threads() == old
    frag = out.single_fragment_fraction
    assert frag == 1 - out.report.n_multi_fragment / 6 and f"{100 * frag:.1f}% in one fragment" in out.summary()
    monkeypatch.setattr(hardware, "_read_cpuinfo", lambda: "flags\t: avx avx2 fma\n")
    assert graphdiff.generate_molecules(n=2, steps=2, threads=None).info["precision"] == "float32"
    with pytest.raises(ValueError, match="threads must be"):
        graphdiff.generate_molecules(n=2, steps=2, threads="many")
