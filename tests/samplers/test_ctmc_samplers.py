"""CTMC samplers with the exact denoiser (p(x0 | x_t) by enumeration) reproduce the data law.

Thresholds: with n samples on J support states the total variation of the empirical law has
sampling noise about 0.5 * sqrt(2 / (pi n)) * sum_j sqrt(p_j) (~0.02 for n = 4000, J = 9);
tests use 0.05, and a wrong denoiser is checked to exceed it."""

from __future__ import annotations

import pytest
import torch

from graphdiff.processes.ctmc import AbsorbingCTMC, GraphCTMC, MarginalCTMC, UniformCTMC
from graphdiff.processes.ctmc.exact import ExactDenoiser, empirical_total_variation, enumerate_states
from graphdiff.samplers.ctmc import (
    CTMC_SAMPLERS,
    sample_ctmc_ancestral,
    sample_ctmc_predictor_corrector,
    sample_ctmc_tau_leaping,
)
from graphdiff.states import GraphState, TensorState

K, D, N_SAMPLES, TOL = 3, 2, 4000, 0.05


def correlated_law(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    support = enumerate_states(K, D)
    g = torch.Generator().manual_seed(seed)
    p = torch.rand(len(support), generator=g, dtype=torch.float64) ** 3 + 0.01
    return support, p / p.sum()


def independent_law() -> tuple[torch.Tensor, torch.Tensor]:
    support = enumerate_states(K, D)
    m = torch.tensor([[0.6, 0.3, 0.1], [0.1, 0.2, 0.7]], dtype=torch.float64)
    return support, m[torch.arange(D), support].prod(-1)


PROCS = {
    "uniform": lambda: UniformCTMC(K, schedule="cosine"),
    "absorbing": lambda: AbsorbingCTMC(K, schedule="linear"),
    "marginal": lambda: MarginalCTMC([0.5, 0.3, 0.2], schedule="cosine"),
}


def run(sampler, proc, support, probs, seed=0, **kw):
    g = torch.Generator().manual_seed(seed)
    x = proc.prior_sample((N_SAMPLES, D), generator=g)
    out = sampler(proc, ExactDenoiser(proc, support, probs), x, generator=g, **kw)
    return out, empirical_total_variation(proc, out.samples, support, probs)


@pytest.mark.parametrize("name", list(PROCS))
def test_ancestral_exact_in_few_steps_for_independent_coordinates(name):
    proc = PROCS[name]()
    support, probs = independent_law()
    out, tv = run(sample_ctmc_ancestral, proc, support, probs, steps=5)
    assert out.nfe == 5
    assert tv < TOL, tv


@pytest.mark.parametrize("name", list(PROCS))
def test_ancestral_reproduces_correlated_law(name):
    proc = PROCS[name]()
    support, probs = correlated_law()
    _, tv = run(sample_ctmc_ancestral, proc, support, probs, steps=50)
    assert tv < TOL, tv


@pytest.mark.parametrize("name", list(PROCS))
@pytest.mark.parametrize("jump", ["poisson", "exponential"])
def test_tau_leaping_reproduces_correlated_law(name, jump):
    proc = PROCS[name]()
    support, probs = correlated_law()
    out, tv = run(sample_ctmc_tau_leaping, proc, support, probs, steps=200, jump=jump)
    assert out.nfe == 200
    assert tv < TOL, tv


@pytest.mark.parametrize("predictor", ["tau_leaping", "ancestral"])
def test_predictor_corrector_reproduces_correlated_law(predictor):
    proc = PROCS["uniform"]()
    support, probs = correlated_law()
    out, tv = run(sample_ctmc_predictor_corrector, proc, support, probs, steps=40, predictor=predictor, corrector_steps=1)
    assert out.nfe == 40 + 39
    assert tv < TOL, tv


def test_wrong_denoiser_is_detected():
    """The check can fail: a denoiser for another law (and too few tau-leaping steps) misses."""
    proc = PROCS["uniform"]()
    support, probs = correlated_law(0)
    _, other = correlated_law(1)
    g = torch.Generator().manual_seed(0)
    x = proc.prior_sample((N_SAMPLES, D), generator=g)
    out = sample_ctmc_ancestral(proc, ExactDenoiser(proc, support, other), x, steps=20, generator=g)
    assert empirical_total_variation(proc, out.samples, support, probs) > 2 * TOL
    _, tv5 = run(sample_ctmc_tau_leaping, proc, support, probs, steps=5, final="none")
    assert tv5 > 2 * TOL


def test_reproducible_callback_trajectory_and_options():
    proc = PROCS["absorbing"]()
    support, probs = correlated_law()
    den = ExactDenoiser(proc, support, probs)
    x = proc.prior_sample((64, D), generator=torch.Generator().manual_seed(0))
    seen = []
    a = sample_ctmc_ancestral(proc, den, x, steps=7, generator=torch.Generator().manual_seed(3), callback=seen.append, return_trajectory=True)
    b = sample_ctmc_ancestral(proc, den, x, steps=7, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a.samples, b.samples)
    assert [s.i for s in seen] == list(range(7)) and len(a.trajectory) == 8 and len(a.times) == 8
    assert torch.equal(a.trajectory[0], x)
    assert (a.samples < K).all()  # no mask state left
    c = sample_ctmc_ancestral(proc, den, x, steps=7, final="argmax", generator=torch.Generator().manual_seed(3))
    assert (c.samples < K).all()
    custom = torch.tensor([1.0, 0.9, 0.5, 0.1, 0.0])
    d = sample_ctmc_tau_leaping(proc, den, x, times=custom, generator=torch.Generator().manual_seed(3))
    assert d.nfe == 4 and d.times == pytest.approx(custom.tolist())
    with pytest.raises(ValueError, match="valid choices"):
        sample_ctmc_ancestral(proc, den, x, steps=3, final="mode")
    with pytest.raises(ValueError, match="valid choices"):
        sample_ctmc_tau_leaping(proc, den, x, steps=3, jump="binomial")
    with pytest.raises(ValueError, match="decreasing"):
        sample_ctmc_ancestral(proc, den, x, times=torch.tensor([0.0, 1.0]))
    assert set(CTMC_SAMPLERS) == {"ancestral", "tau_leaping", "predictor_corrector"}


def test_masked_tensor_state_keeps_padding():
    proc = PROCS["uniform"]()
    x = torch.zeros(8, 5, dtype=torch.long)
    mask = torch.arange(5)[None].expand(8, -1) < 3
    state = TensorState(proc.prior_sample((8, 5), generator=torch.Generator().manual_seed(0)) * mask, mask)
    den = lambda s, t: torch.randn(s.x.shape + (K,))
    for fn in CTMC_SAMPLERS.values():
        out = fn(proc, den, state, steps=6, generator=torch.Generator().manual_seed(0))
        assert isinstance(out.samples, TensorState)
        assert (out.samples.x[~mask] == 0).all()
        assert (out.samples.x[mask] != x[mask]).any()


def tiny_graph_law():
    """Four 3-node graphs (2 node classes, 2 edge classes) with known probabilities."""
    X = torch.tensor([[0, 0, 0], [1, 0, 1], [1, 1, 0], [0, 1, 1]])
    ups = torch.tensor([[1, 1, 0], [1, 0, 0], [0, 0, 0], [1, 1, 1]])  # (0,1), (0,2), (1,2)
    A = torch.zeros(4, 3, 3, dtype=torch.long)
    i, j = torch.triu_indices(3, 3, 1)
    A[:, i, j] = ups
    A[:, j, i] = ups
    G = GraphState(X, A, torch.ones(4, 3, dtype=torch.bool)).validate()
    return G, torch.tensor([0.4, 0.3, 0.2, 0.1], dtype=torch.float64)


@pytest.mark.parametrize("sampler,kw", [(sample_ctmc_ancestral, {"steps": 30}), (sample_ctmc_tau_leaping, {"steps": 150})], ids=["ancestral", "tau"])
def test_graph_samplers_reproduce_graph_law(sampler, kw):
    proc = GraphCTMC(UniformCTMC(2), AbsorbingCTMC(2, schedule="linear"))
    support, probs = tiny_graph_law()
    g = torch.Generator().manual_seed(0)
    x = proc.prior_sample(torch.ones(3000, 3, dtype=torch.bool), generator=g)
    out = sampler(proc, ExactDenoiser(proc, support, probs), x, generator=g, **kw)
    out.samples.validate()
    tv = empirical_total_variation(proc, out.samples, support, probs)
    assert tv < TOL, tv


def test_graph_sampler_keeps_padding_symmetric():
    proc = GraphCTMC(MarginalCTMC([0.3, 0.7]), UniformCTMC(3))
    nm = torch.arange(5)[None] < torch.tensor([5, 2, 4])[:, None]
    x = proc.prior_sample(nm, generator=torch.Generator().manual_seed(0))

    def den(state, t):
        B, N = state.node_mask.shape
        e = torch.randn(B, N, N, 3)
        return torch.randn(B, N, 2), e

    for fn in CTMC_SAMPLERS.values():
        out = fn(proc, den, x, steps=5, generator=torch.Generator().manual_seed(1))
        s = out.samples.validate()
        pad_e = ~(nm[:, :, None] & nm[:, None, :])
        assert (s.X[~nm] == 0).all() and (s.A[pad_e] == 0).all()


def test_warped_time_grid_is_defog_polydec_and_validated():
    from graphdiff.samplers.ctmc import warped_time_grid

    t = torch.linspace(1.0, 0.0, 11)
    u = 1 - t  # DeFoG's time (data at u = 1)
    polydec = 2 * u - u**2
    assert torch.allclose(warped_time_grid(t, 2.0), 1 - polydec, atol=1e-6)
    assert torch.equal(warped_time_grid(t, 1.0), t)
    w = warped_time_grid(t, 3.0)
    assert w[0] == 1 and w[-1] == 0 and (w[1:] < w[:-1]).all()
    steps = w[:-1] - w[1:]
    assert steps[-1] < steps[0]  # finer near the data
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="time_power"):
            warped_time_grid(t, bad)
    with pytest.raises(ValueError, match="inside"):
        warped_time_grid(torch.tensor([2.0, 0.0]), 2.0)


@pytest.mark.parametrize("sampler,kw", [(sample_ctmc_ancestral, {"steps": 50}), (sample_ctmc_tau_leaping, {"steps": 200})], ids=["ancestral", "tau"])
def test_warped_grid_samplers_reproduce_correlated_law(sampler, kw):
    proc = PROCS["marginal"]()
    support, probs = correlated_law()
    out, tv = run(sampler, proc, support, probs, time_power=2.0, **kw)
    assert out.times[1] == pytest.approx((1 - 1 / kw["steps"]) ** 2)
    assert tv < TOL, tv


@pytest.mark.parametrize("sampler", list(CTMC_SAMPLERS))
def test_temperature_sharpens_towards_the_mode_under_absorbing_noise(sampler):
    """Independent coordinates with marginals (0.6, 0.3, 0.1) and (0.1, 0.2, 0.7): the model draws the
    joint mode (0, 2) with probability 0.42. Under absorbing noise a masked coordinate's exact
    prediction is its marginal, so a low temperature unmasks it to its mode almost always. (Under
    uniform or marginal noise a sharpened prediction also commits to the current noisy value, so
    there is no such closed form; the knob is an empirical one, measured in BENCHMARKS.md.)"""
    proc = PROCS["absorbing"]()
    support, probs = independent_law()
    mode = torch.tensor([0, 2])
    kw = {"steps": 20} if sampler == "ancestral" else {"steps": 60}
    plain, _ = run(CTMC_SAMPLERS[sampler], proc, support, probs, **kw)
    cold, _ = run(CTMC_SAMPLERS[sampler], proc, support, probs, temperature=0.1, **kw)
    at_mode = lambda out: (out.samples == mode).all(-1).double().mean().item()  # noqa: E731
    assert abs(at_mode(plain) - 0.42) < 0.05
    assert at_mode(cold) > 0.95, at_mode(cold)


@pytest.mark.parametrize("name", list(PROCS))
def test_temperature_one_is_the_model_itself(name):
    proc = PROCS[name]()
    support, probs = correlated_law()
    for fn in CTMC_SAMPLERS.values():
        plain, _ = run(fn, proc, support, probs, steps=10)
        same, _ = run(fn, proc, support, probs, steps=10, temperature=1.0)
        warm, _ = run(fn, proc, support, probs, steps=10, temperature=2.0)
        assert torch.equal(plain.samples, same.samples)  # draw for draw
        assert not torch.equal(plain.samples, warm.samples)


def test_temperature_is_validated_and_reaches_graph_denoisers():
    proc = GraphCTMC(MarginalCTMC([0.3, 0.7]), UniformCTMC(3))
    nm = torch.ones(6, 4, dtype=torch.bool)
    x = proc.prior_sample(nm, generator=torch.Generator().manual_seed(0))
    seen = []

    def den(state, t):  # fixed logits favouring node class 1 and edge class 2
        B, N = state.node_mask.shape
        seen.append(B)
        return torch.tensor([0.0, 1.0]).expand(B, N, 2), torch.tensor([0.0, 0.0, 1.0]).expand(B, N, N, 3)

    for fn in CTMC_SAMPLERS.values():
        for bad in (0.0, -1.0, float("nan"), float("inf")):
            with pytest.raises(ValueError, match="temperature"):
                fn(proc, den, x, steps=3, temperature=bad)
        out = fn(proc, den, x, steps=10, temperature=0.02, generator=torch.Generator().manual_seed(1))
        s = out.samples.validate()
        off = ~torch.eye(4, dtype=torch.bool)
        assert (s.X == 1).all() and (s.A[:, off] == 2).all()  # e^(1/0.02): the favoured classes only
    assert seen


@pytest.mark.parametrize("sampler", list(CTMC_SAMPLERS))
def test_target_guidance_under_absorbing_noise_keeps_an_independent_law(sampler):
    """Under absorbing noise a masked coordinate's guided jump goes to y with probability
    proportional to p(x0 = y | x_t), the same law as its unguided unmasking, so for independent
    coordinates target guidance only unmasks earlier: the samples keep the data law."""
    proc = PROCS["absorbing"]()
    support, probs = independent_law()
    kw = {"steps": 20} if sampler == "ancestral" else {"steps": 60}
    _, tv = run(CTMC_SAMPLERS[sampler], proc, support, probs, target_guidance=2.0, **kw)
    assert tv < TOL, tv


@pytest.mark.parametrize("sampler", list(CTMC_SAMPLERS))
def test_target_guidance_pushes_towards_the_predicted_clean_value(sampler):
    """A denoiser that always predicts class 2 under uniform noise: with guidance, more coordinates
    sit at 2 half-way through sampling (the guided jumps add to the reverse process's own)."""
    proc = PROCS["uniform"]()

    def den(x, t):
        return torch.tensor([0.0, 0.0, 4.0]).expand(*x.shape, 3)

    def share_at_2_midway(**kw):
        seen = {}

        def cb(info):
            if info.i == 9:
                seen["x"] = info.state
        x = proc.prior_sample((2000, D), generator=torch.Generator().manual_seed(0))
        CTMC_SAMPLERS[sampler](proc, den, x, steps=20, generator=torch.Generator().manual_seed(1), callback=cb, **kw)
        return (seen["x"] == 2).double().mean().item()

    plain, guided = share_at_2_midway(), share_at_2_midway(target_guidance=3.0)
    assert guided > plain + 0.05, (plain, guided)


def test_target_guidance_zero_is_the_default_and_is_validated():
    proc = PROCS["marginal"]()
    support, probs = correlated_law()
    for fn in CTMC_SAMPLERS.values():
        plain, _ = run(fn, proc, support, probs, steps=10)
        zero, _ = run(fn, proc, support, probs, steps=10, target_guidance=0.0)
        assert torch.equal(plain.samples, zero.samples)  # draw for draw
        for bad in (-0.1, float("nan"), float("inf")):
            with pytest.raises(ValueError, match="target_guidance"):
                run(fn, proc, support, probs, steps=3, target_guidance=bad)
        with pytest.raises(ValueError, match="`guidance` .* is now called `target_guidance`"):
            run(fn, proc, support, probs, steps=3, guidance=0.1)
