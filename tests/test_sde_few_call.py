"""graphdiff.losses.flow_matching.reflow_loss (reflow for any Gaussian path and parametrisation) and
benchmarks/sde_few_call.py (teacher PF-ODE pairs of qm9_sde, their padded storage, the report parser)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import torch
from torch import nn

from graphdiff.losses import reflow_loss  # exported beside flow_matching_loss
from graphdiff.processes.sde.vp import VPSDE
from graphdiff.samplers import sample_ddim

ROOT = Path(__file__).resolve().parents[1]


def _script():
    spec = importlib.util.spec_from_file_location("_graphdiff_sde_few_call", ROOT / "benchmarks" / "sde_few_call.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def test_reflow_loss_zero_for_the_coupled_noise_and_weighted():
    proc = VPSDE(beta_min=0.1, beta_max=20.0)
    g = torch.Generator().manual_seed(0)
    x0, z = torch.randn(6, 5, generator=g), torch.randn(6, 5, generator=g)
    t = torch.linspace(0.1, 1.0, 6)
    kw = {"t": t, "through_start": False}
    assert float(reflow_loss(lambda x, t: z, proc, x0, z, **kw).loss) == 0.0
    out1 = reflow_loss(lambda x, t: z + 0.1, proc, x0, z, **kw)  # eps error 0.1 everywhere
    assert torch.allclose(out1.per_sample, torch.full((6,), 0.01))
    outw = reflow_loss(lambda x, t: z + 0.1, proc, x0, z, max_weight=50.0, **kw)
    w = (proc.sigma(t) ** 2 / proc.alpha(t) ** 2).clamp(1.0, 50.0)
    assert torch.allclose(outw.per_sample, 0.01 * w, rtol=1e-5)
    # masked entries do not count
    mask = torch.ones(6, 5, dtype=torch.bool)
    mask[:, -1] = False
    bad = z.clone()
    bad[:, -1] += 5.0
    assert float(reflow_loss(lambda x, t: bad, proc, x0, z, mask=mask, **kw).loss) == 0.0
    # through_start: the path passes through the sampler's start z at t = T
    seen = []
    reflow_loss(lambda x, t: seen.append(x) or x, proc, x0, z, t=torch.full((6,), proc.T))
    assert torch.allclose(seen[0], z, atol=1e-6)


class _Eps(nn.Module):
    """A residual noise predictor for 2-D toys."""

    def __init__(self, hidden: int = 64):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(4, hidden), nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, 2))

    def forward(self, x, t):
        return x + self.net(torch.cat([x, torch.sin(3 * t[:, None]), torch.cos(3 * t[:, None])], 1))


def test_reflow_student_reproduces_its_pairs_in_few_ddim_steps():
    torch.manual_seed(0)
    proc = VPSDE(beta_min=0.1, beta_max=5.0)  # alpha(T) ~ 0.29: a toy that trains in seconds
    g = torch.Generator().manual_seed(1)
    z = torch.randn(4, 2, generator=g)
    x0 = torch.tanh(2 * z)  # monotone per coordinate: the straight paths do not cross
    net = _Eps()

    def score(x, t):
        return -net(x, t) / proc.sigma(t)[:, None]

    with torch.no_grad():
        before = float((sample_ddim(proc, score, z.clone(), steps=1).samples - x0).abs().max())
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, 600)
    for _ in range(600):
        idx = torch.randint(0, 4, (64,), generator=g)
        loss = reflow_loss(net, proc, x0[idx], z[idx], max_weight=20.0, generator=g).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    with torch.no_grad():
        for steps in (1, 2, 4):
            err = float((sample_ddim(proc, score, z.clone(), steps=steps).samples - x0).abs().max())
            assert err < 0.08, (steps, err, before)
    assert before > 0.3


def test_pairs_round_trip_padded_and_deterministic(tmp_path):
    from graphdiff import load_pretrained

    mod = _script()
    pipe = load_pretrained("qm9_sde")
    pipe.network.eval()
    torch.set_num_threads(1)
    pairs = mod.make_pairs(pipe, torch.tensor([4, 6, 4]), steps=2, seed=3)
    assert pairs["X0"].shape == (3, mod.N_MAX, 8) and pairs["A0"].shape == (3, mod.N_MAX, mod.N_MAX)
    assert pairs["n"].tolist() == [4, 4, 6]  # grouped by size
    for key in ("A0", "Az"):  # symmetric, zero diagonal, zero padding
        A = pairs[key]
        assert torch.equal(A, A.transpose(1, 2)) and float(A.diagonal(dim1=1, dim2=2).abs().max()) == 0.0
    assert float(pairs["Az"][0, 4:].abs().max()) == 0.0 and float(pairs["X0"][0, 4:].abs().max()) == 0.0
    (tmp_path / "pairs").mkdir()
    torch.save(pairs, tmp_path / "pairs" / "chunk_0000.pt")
    back = mod.load_pairs(tmp_path)
    assert all(torch.equal(back[k], pairs[k]) for k in pairs)
    chk = mod.determinism_check(pipe, back, steps=2)
    assert chk["same_size_max_abs"] == 0.0 and chk["padded_max_abs"] < 1e-4
    # the teacher at its own pairs: every graph decodes identically, RMS ~ 0
    ag = mod.pair_agreement(pipe, pipe.network, back, steps=2, sampler="dpm_solver")
    assert ag["same_graph"] == 1.0 and ag["rms"] < 1e-3


def test_report_parses_a_molecule_eval_page(tmp_path):
    mod = _script()
    page = tmp_path / "x.md"
    page.write_text(
        "- machine: x86_64 CPU, 1 torch thread(s), torch 2; load average 3.4 at the end\n"
        "- sampling: ddim, 4 steps, 4 network calls per molecule (12 in all), seed 0; 3.7 s for 1000 molecules = 3.74 ms per molecule\n\n"
        "| metric | value | protocol |\n|---|---|---|\n| validity_wo_correction | 0.9300 | gdss |\n| fcd | 4.4096 | moses |\n\n"
        "Single-fragment samples: **87.9%** (121 of 1000 in several fragments).\n")
    r = mod.parse_result(page)
    assert r["validity_wo_correction"] == "0.9300" and r["fcd"] == "4.4096"
    assert (r["calls"], r["ms"], r["load"], r["single"]) == ("4", "3.74", "3.4", "87.9")
