"""CTMC rate families: closed-form transitions vs matrix exponentials, Chapman-Kolmogorov,
stationarity, Monte Carlo of the forward jump process, Bayes posteriors, time reversal."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from graphdiff.processes.ctmc import (
    AbsorbingCTMC,
    CosineCTMCSchedule,
    ExponentialCTMCSchedule,
    LinearCTMCSchedule,
    MarginalCTMC,
    UniformCTMC,
    get_ctmc_schedule,
    guidance_rate,
    make_ctmc,
    reverse_rate,
)
from graphdiff.processes.ctmc.base import _categorical
from graphdiff.testing import CTMCConformance

M = [0.5, 0.3, 0.15, 0.05]


def families():
    return [
        UniformCTMC(4, schedule="cosine"),
        AbsorbingCTMC(3, schedule="linear"),
        MarginalCTMC(M, schedule=ExponentialCTMCSchedule(a=0.5, b=15.0)),
        UniformCTMC(3, schedule=LinearCTMCSchedule(alpha_min=1e-2)),
    ]


IDS = ["uniform-cosine", "absorbing-linear", "marginal-exponential", "uniform-linear"]
D64 = torch.float64


@pytest.mark.parametrize("proc", families(), ids=IDS)
def test_transition_is_matrix_exponential_and_stochastic(proc):
    R = proc.rate_matrix(D64)
    assert torch.allclose(R.sum(-1), torch.zeros(proc.num_states, dtype=D64))
    s = torch.tensor([0.0, 0.1, 0.3, 0.6], dtype=D64)
    t = torch.tensor([0.2, 0.5, 0.9, 1.0], dtype=D64)
    P = proc.transition(s, t)
    assert P.shape == (4, proc.num_states, proc.num_states)
    assert torch.allclose(P.sum(-1), torch.ones(4, proc.num_states, dtype=D64), atol=1e-12)
    assert (P >= 0).all()
    c = proc.schedule.integral(t) - proc.schedule.integral(s)
    expm = torch.linalg.matrix_exp(c[:, None, None] * R)
    assert torch.allclose(P, expm, atol=1e-10)


@pytest.mark.parametrize("proc", families(), ids=IDS)
def test_rate_is_derivative_of_integrated_rate(proc):
    # B(t) - B(s) = int_s^t beta: fine trapezoid of rate(t) against the closed form
    u = torch.linspace(0.05, 0.95, 20001, dtype=D64)
    integral = torch.trapezoid(proc.schedule.rate(u), u)
    exact = proc.schedule.integral(u[-1:]) - proc.schedule.integral(u[:1])
    assert torch.allclose(integral, exact.squeeze(), rtol=1e-6)
    Q = proc.rate(torch.tensor([0.3], dtype=D64))
    assert torch.allclose(Q[0], proc.schedule.rate(torch.tensor(0.3, dtype=D64)) * proc.rate_matrix(D64))


@pytest.mark.parametrize("proc", families(), ids=IDS)
def test_chapman_kolmogorov(proc):
    for s, t in [(0.2, 0.7), (0.05, 0.5), (0.5, 1.0)]:
        s_, t_ = torch.tensor(s, dtype=D64), torch.tensor(t, dtype=D64)
        lhs = proc.transition(torch.tensor(0.0, dtype=D64), t_)
        rhs = proc.transition(torch.tensor(0.0, dtype=D64), s_) @ proc.transition(s_, t_)
        assert torch.allclose(lhs, rhs, atol=1e-12)


@pytest.mark.parametrize("proc", families(), ids=IDS)
def test_t1_marginal_is_stationary(proc):
    x0 = torch.arange(proc.num_classes)[None]
    q1 = proc.marginal(x0, torch.ones(1, dtype=D64))
    pi = proc.stationary(D64)
    alpha1 = float(proc.schedule.alpha(torch.tensor(1.0, dtype=D64)))
    err = (q1 - pi).abs().max().item()
    assert err <= alpha1 + 1e-12
    assert alpha1 < 0.02
    # pi is stationary: pi P = pi
    assert torch.allclose(pi @ proc.transition(torch.tensor(0.2, dtype=D64), torch.tensor(0.8, dtype=D64)), pi, atol=1e-12)


@pytest.mark.parametrize("proc", families()[:3], ids=IDS[:3])
def test_forward_jump_process_monte_carlo(proc):
    """Simulate the jump process with small Euler steps of rate(t) and compare class
    frequencies with the closed-form marginal."""
    g = torch.Generator().manual_seed(0)
    n, steps, t_end = 6000, 200, 0.6
    x0 = torch.arange(n) % proc.num_classes
    x = x0.clone()
    h = t_end / steps
    for k in range(steps):
        Q = proc.rate(torch.tensor((k + 0.5) * h, dtype=D64))
        P = torch.eye(proc.num_states, dtype=D64) + h * Q
        x = _categorical(P[x], g)
    emp = torch.nn.functional.one_hot(x, proc.num_states).double()
    for c in range(proc.num_classes):
        sel = x0 == c
        q = proc.marginal(torch.tensor([[c]]), torch.tensor([t_end], dtype=D64))[0, 0]
        freq = emp[sel].mean(0)
        assert (freq - q).abs().max() < 0.035, (c, freq, q)


@pytest.mark.parametrize("proc", families(), ids=IDS)
def test_sample_marginal_matches_closed_form_and_respects_mask(proc):
    g = torch.Generator().manual_seed(1)
    n = 8000
    x0 = torch.full((n, 2), 1)
    t = torch.full((n,), 0.5)
    xt = proc.sample_marginal(x0, t, generator=g)
    freq = torch.bincount(xt.flatten(), minlength=proc.num_states).double() / xt.numel()
    q = proc.marginal(x0[:1, :1], t[:1].double())[0, 0]
    assert (freq - q).abs().max() < 0.02
    mask = torch.zeros(n, 2, dtype=torch.bool)
    mask[:, 0] = True
    xm = proc.sample_marginal(x0, t, generator=g, mask=mask)
    assert torch.equal(xm[:, 1], x0[:, 1])
    assert (xm[:, 0] != x0[:, 0]).any()


@pytest.mark.parametrize("proc", families(), ids=IDS)
def test_prior_sample_and_logp(proc):
    g = torch.Generator().manual_seed(2)
    x = proc.prior_sample((20000,), generator=g)
    freq = torch.bincount(x, minlength=proc.num_states).double() / x.numel()
    assert (freq - proc.stationary(D64)).abs().max() < 0.015
    y = proc.prior_sample(torch.zeros(2, 3, dtype=torch.long), generator=g)
    assert y.shape == (2, 3)
    lp = proc.prior_logp(y)
    assert torch.allclose(lp, torch.log(proc.stationary())[y].sum(-1))


@pytest.mark.parametrize("proc", families(), ids=IDS)
def test_posterior_with_known_x0_is_bayes(proc):
    g = torch.Generator().manual_seed(3)
    B, D = 5, 4
    x0 = torch.randint(0, proc.num_classes, (B, D), generator=g)
    t = torch.rand(B, generator=g, dtype=D64) * 0.8 + 0.1
    s = t * torch.rand(B, generator=g, dtype=D64)
    xt = proc.sample_marginal(x0, t, generator=g)
    post = proc.posterior(xt, torch.nn.functional.one_hot(x0, proc.num_classes).double(), s, t)
    zero = torch.zeros((), dtype=D64)
    for b in range(B):
        P0s, Pst, P0t = proc.transition(zero, s[b]), proc.transition(s[b], t[b]), proc.transition(zero, t[b])
        for d in range(D):
            a, c = x0[b, d], xt[b, d]
            bayes = P0s[a, :] * Pst[:, c] / P0t[a, c]
            assert torch.allclose(post[b, d], bayes, atol=1e-10)


@pytest.mark.parametrize("proc", [families()[0], families()[2]], ids=["uniform", "marginal"])
def test_posterior_with_soft_x0_is_mixture(proc):
    g = torch.Generator().manual_seed(4)
    B = 6
    p0 = torch.softmax(torch.randn(B, proc.num_classes, generator=g, dtype=D64), -1)
    xt = torch.randint(0, proc.num_states, (B,), generator=g)
    s, t = torch.full((B,), 0.3, dtype=D64), torch.full((B,), 0.7, dtype=D64)
    post = proc.posterior(xt, p0, s, t)
    P0s, Pst, P0t = proc.transition(0.0 * s[0], s[0]), proc.transition(s[0], t[0]), proc.transition(0.0 * s[0], t[0])
    for b in range(B):
        c = xt[b]
        brute = sum(p0[b, a] * P0s[a, :] * Pst[:, c] / P0t[a, c] for a in range(proc.num_classes))
        assert torch.allclose(post[b], brute, atol=1e-10)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), t=st.floats(0.01, 1.0), frac=st.floats(0.0, 1.0), fam=st.integers(0, 3))
def test_posterior_is_a_distribution(seed, t, frac, fam):
    proc = families()[fam]
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(3, 5, proc.num_classes, generator=g, dtype=D64) * 3
    xt = torch.randint(0, proc.num_states, (3, 5), generator=g)
    post = proc.posterior(xt, torch.softmax(logits, -1), frac * t, t)
    assert torch.isfinite(post).all() and (post >= 0).all()
    assert torch.allclose(post.sum(-1), torch.ones(3, 5, dtype=D64), atol=1e-9)


@pytest.mark.parametrize("proc", families(), ids=IDS)
def test_reverse_rate_is_time_reversal(proc):
    """With the exact p(x0 | x) for a 1-D data law, p_t(x) R_rev(x, y) = p_t(y) Q_t(y, x) (y != x),
    and the reverse outflow of the conditioned process equals Bayes' formula."""
    g = torch.Generator().manual_seed(5)
    K, S = proc.num_classes, proc.num_states
    pdata = torch.softmax(torch.randn(K, generator=g, dtype=D64), -1)
    for t in (0.1, 0.5, 0.9):
        tt = torch.tensor([t], dtype=D64)
        P0t = proc.transition(torch.zeros((), dtype=D64), tt[0])
        pt = pdata @ P0t[:K]  # (S,)
        Q = proc.rate(tt)[0]
        for x in range(S):
            if pt[x] <= 0:
                continue
            px0 = pdata * P0t[:K, x] / pt[x]  # exact p(x0 | x_t = x)
            rr = reverse_rate(proc, torch.tensor([[x]]), px0[None, None], tt)[0, 0]
            assert rr[x] == 0
            for y in range(S):
                if y != x:
                    assert torch.allclose(pt[x] * rr[y], pt[y] * Q[y, x], atol=1e-12), (t, x, y)


@pytest.mark.parametrize("proc", families(), ids=IDS)
def test_guidance_rate_is_defog_target_guidance(proc):
    """g_t(x, y) = p(x0 = y | x) / (Z(y) q_t(x | y)) for y != x (DeFoG Sec. 4.2 with tau = alpha),
    written out by hand from the mixture form q_t(x | y) = alpha [x = y] + (1 - alpha) pi(x)."""
    g = torch.Generator().manual_seed(3)
    K, S = proc.num_classes, proc.num_states
    pi = proc.stationary(D64)
    for t in (0.05, 0.5, 0.95):
        a = float(proc.schedule.alpha(torch.tensor(t, dtype=D64)))
        for x in range(S):
            p0 = torch.softmax(torch.randn(K, generator=g, dtype=D64), -1)
            got = guidance_rate(proc, torch.tensor([[x]]), p0[None, None], t)[0, 0]
            assert got.shape == (S,) and got[x] == 0
            for y in range(K):
                if y == x:
                    continue
                q = (1 - a) * float(pi[x])
                Z = int((pi > 0).sum()) + int(pi[y] == 0)
                want = float(p0[y]) / (Z * q) if q > 0 else 0.0
                assert float(got[y]) == pytest.approx(want, rel=1e-6), (t, x, y)  # t is float32 here
            if S > K:  # the absorbing mask state is never a target
                assert (got[K:] == 0).all()


def test_names_and_validation():
    with pytest.raises(ValueError, match="valid choices: absorbing, marginal, uniform"):
        make_ctmc("gaussian", num_classes=3)
    with pytest.raises(ValueError, match="valid choices"):
        get_ctmc_schedule("sigmoid")
    with pytest.raises(ValueError):
        MarginalCTMC([0.5, -0.1])
    with pytest.raises(ValueError):
        UniformCTMC(3).posterior(torch.zeros(2, 1, dtype=torch.long), torch.ones(2, 1, 5) / 5, 0.1, 0.2)
    assert make_ctmc("marginal", probs=[1, 3]).stationary().tolist() == [0.25, 0.75]
    m = MarginalCTMC.from_data(torch.tensor([[0, 1, 1, 2]]), 4, mask=torch.tensor([[True, True, True, False]]))
    assert torch.allclose(m.stationary(D64), torch.tensor([1 / 3, 2 / 3, 0, 0], dtype=D64))
    ab = AbsorbingCTMC(2)
    assert ab.num_states == 3 and ab.mask_index == 2
    assert isinstance(get_ctmc_schedule("cosine"), CosineCTMCSchedule)
    g = UniformCTMC(3).time_grid(4)
    assert torch.allclose(g, torch.tensor([1.0, 0.75, 0.5, 0.25, 0.0]))


# ----------------------------------------------------------------------------- conformance suite
class TestUniformConformance(CTMCConformance):
    def make_process(self):
        return UniformCTMC(4)


class TestAbsorbingConformance(CTMCConformance):
    def make_process(self):
        return AbsorbingCTMC(3, schedule="linear")


class TestMarginalConformance(CTMCConformance):
    def make_process(self):
        return MarginalCTMC([0.5, 0.2, 0.3], schedule="exponential")


def test_every_rate_family_has_a_conformance_class():
    from graphdiff.processes import CTMC_FAMILIES

    tested = {c().make_process().name for c in CTMCConformance.__subclasses__() if c.__module__ == __name__}
    assert set(CTMC_FAMILIES) <= tested, f"rate families without a CTMCConformance test: {sorted(set(CTMC_FAMILIES) - tested)}"
