"""Every sampler, fed the exact score (or velocity) of a 2-D Gaussian mixture, reproduces the
mixture at its documented number of steps (the cases ship in :mod:`graphdiff.testing.samplers`,
so a sampler a user registers can run them too); every registered sampler has a case. A control
shows the same checks fail for a 3-step sampler."""

from __future__ import annotations

import pytest
import torch

from graphdiff.processes import VESDE, VPSDE, SubVPSDE, energy_distance, mean_cov_error
from graphdiff.samplers import SAMPLERS, StepInfo, sample, sample_dpm_solver_sde
from graphdiff.testing.samplers import GMM, N, SAMPLER_CASES, assert_reproduces, assert_sampler_reproduces, run_sampler_case
from graphdiff.testing.samplers import data as _data

_assert_reproduces = assert_reproduces


def _check(x: torch.Tensor) -> tuple[float, float, float]:
    mean_err, cov_err = mean_cov_error(x, GMM.mean(), GMM.covariance())
    return mean_err, cov_err, energy_distance(x, _data(11))


def test_every_registered_sampler_has_an_exact_score_case():
    missing = sorted(set(SAMPLERS) - set(SAMPLER_CASES))
    assert not missing, f"registered samplers without an exact-score case in graphdiff.testing.samplers: {missing}"


@pytest.mark.parametrize("method", list(SAMPLERS))
def test_sampler_reproduces_gmm(method):
    assert_sampler_reproduces(method)


@pytest.mark.parametrize("proc", [SubVPSDE(), VESDE(sigma_min=0.01, sigma_max=20.0)], ids=["subvp", "ve"])
@pytest.mark.parametrize("method", ["euler_maruyama", "ode_heun", "dpm_solver"])
def test_sampler_reproduces_gmm_other_sdes(proc, method):
    assert_sampler_reproduces(method, proc)


def test_run_sampler_case_returns_the_samples():
    out = run_sampler_case("ddim")
    assert isinstance(out, torch.Tensor) and out.shape == (N, 2)


def test_checks_fail_for_a_too_coarse_sampler():
    """Control: with 3 Euler–Maruyama steps the same statistics flag the error."""
    proc = VPSDE()
    out = sample(proc, GMM.score_fn(proc), _data(), method="euler_maruyama", steps=3, generator=torch.Generator().manual_seed(5))
    with pytest.raises(AssertionError):
        _assert_reproduces(out.samples, "EM/3")


def test_nfe_callback_trajectory_and_reproducibility():
    proc = VPSDE()
    seen: list[StepInfo] = []
    kw = dict(method="pc", steps=7, n_corrector=2, callback=seen.append, return_trajectory=True)
    a = sample(proc, GMM.score_fn(proc), torch.zeros(16, 2), generator=torch.Generator().manual_seed(0), **kw)
    assert a.nfe == 7 * 3
    assert [s.step for s in seen] == list(range(7)) and seen[-1].nfe == 21
    assert len(a.trajectory) == 8 and len(a.times) == 8
    assert a.times[0] == pytest.approx(1.0) and a.times[-1] == pytest.approx(proc.eps)
    b = sample(proc, GMM.score_fn(proc), torch.zeros(16, 2), generator=torch.Generator().manual_seed(0), method="pc", steps=7, n_corrector=2)
    assert torch.equal(a.samples, b.samples)
    c = sample(proc, GMM.score_fn(proc), torch.zeros(16, 2), generator=torch.Generator().manual_seed(1), method="pc", steps=7, n_corrector=2)
    assert not torch.equal(a.samples, c.samples)
    for method, nfe in [("ode_heun", 14), ("dpm_solver", 7), ("euler_maruyama", 7)]:
        assert sample(proc, GMM.score_fn(proc), torch.zeros(4, 2), method=method, steps=7).nfe == nfe


def test_unknown_sampler_lists_choices():
    with pytest.raises(ValueError, match="valid choices"):
        sample(VPSDE(), GMM.score_fn(VPSDE()), torch.zeros(2, 2), method="euler_maruyamaa")


def test_parametrizations_give_the_same_samples():
    """A model predicting eps / x0 / v is converted to the same score (deterministic sampler)."""
    proc = VPSDE()
    outs = {}
    for par, fn in {"score": GMM.score_fn(proc), "eps": GMM.eps_fn(proc), "x0": GMM.x0_fn(proc)}.items():
        outs[par] = sample(proc, fn, torch.zeros(64, 2), method="dpm_solver", steps=10, parametrization=par, generator=torch.Generator().manual_seed(0)).samples
    torch.testing.assert_close(outs["eps"], outs["score"], atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(outs["x0"], outs["score"], atol=1e-4, rtol=1e-4)


def test_temperature_scales_the_prior_and_concentrates_the_samples():
    """``temperature`` multiplies the prior draw (the trajectory's first state); with the exact
    score a deterministic sampler then lands closer to the modes: smaller spread than at T = 1,
    while T = 1 is the default and reproduces the mixture."""
    proc = VPSDE()
    kw = dict(method="dpm_solver", steps=20, return_trajectory=True)
    hot = sample(proc, GMM.score_fn(proc), torch.zeros(N, 2), generator=torch.Generator().manual_seed(0), **kw)
    cold = sample(proc, GMM.score_fn(proc), torch.zeros(N, 2), generator=torch.Generator().manual_seed(0), temperature=0.5, **kw)
    torch.testing.assert_close(cold.trajectory[0], 0.5 * hot.trajectory[0])
    default = sample(proc, GMM.score_fn(proc), torch.zeros(N, 2), generator=torch.Generator().manual_seed(0), temperature=1.0, **kw)
    assert torch.equal(default.samples, hot.samples)
    # mean squared distance to the nearest mode shrinks
    def spread(x: torch.Tensor) -> float:
        return float(torch.cdist(x.double(), GMM.means).min(-1).values.pow(2).mean())

    assert spread(cold.samples) < 0.8 * spread(hot.samples)
    for bad in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="temperature"):
            sample(proc, GMM.score_fn(proc), torch.zeros(2, 2), method="dpm_solver", steps=2, temperature=bad)


def test_sde_exponential_integrator_noise_and_limits():
    """``eta`` interpolates the exponential integrators between the PF ODE and the reverse SDE:
    ``eta = 0`` is bit-for-bit the deterministic solver, ``eta > 0`` draws its noise from the
    generator (same seed, same samples; another seed, other samples), and only [0, 1] is allowed;
    ``s_noise`` scales that noise."""
    proc = VPSDE()
    x = torch.zeros(64, 2)
    run = lambda method, seed, **kw: sample(proc, GMM.score_fn(proc), x, method=method, steps=12,  # noqa: E731
                                            generator=torch.Generator().manual_seed(seed), **kw).samples
    assert torch.equal(run("dpm_solver_sde", 0, eta=0.0), run("dpm_solver", 0))
    assert torch.equal(run("ddpm", 0, eta=0.0), run("ddim", 0))
    assert torch.equal(run("dpm_solver_sde", 3), run("dpm_solver_sde", 3))
    assert not torch.equal(run("dpm_solver_sde", 3), run("dpm_solver_sde", 4))
    assert not torch.equal(run("dpm_solver_sde", 3, eta=0.5), run("dpm_solver_sde", 3))
    assert sample(proc, GMM.score_fn(proc), x, method="dpm_solver_sde", steps=12).nfe == 12
    for eta in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match="eta"):
            run("dpm_solver_sde", 0, eta=eta)
    # s_noise scales the injected noise: 0 removes it (no dependence on the seed), 0.5 is between
    x_T = proc.prior_sample(x, generator=torch.Generator().manual_seed(0))
    direct = lambda seed, sn: sample_dpm_solver_sde(proc, GMM.score_fn(proc), x_T, steps=12, s_noise=sn,  # noqa: E731
                                                    generator=torch.Generator().manual_seed(seed)).samples
    assert torch.equal(direct(3, 0.0), direct(4, 0.0)) and not torch.equal(direct(3, 0.5), direct(4, 0.5))
    spread = {sn: float(run("dpm_solver_sde", 3, s_noise=sn).std(0).sum()) for sn in (0.0, 0.5, 1.0)}
    assert spread[0.0] < spread[0.5] < spread[1.0], spread
    for sn in (-1.0, float("inf"), float("nan")):
        with pytest.raises(ValueError, match="s_noise"):
            run("dpm_solver_sde", 0, s_noise=sn)
    with pytest.raises(ValueError, match="ODE solver"):  # no noise to scale: refused, not ignored
        run("dpm_solver", 0, s_noise=0.9)


def test_sde_integrator_fixes_what_the_ode_solver_gets_wrong():
    """At 25 steps DDIM's covariance is off (0.51 Frobenius: the error of holding the denoiser
    fixed over a step is carried to the end); DDPM's ancestral steps, same NFE, re-inject noise and
    land closer (0.43), and the second-order SDE-DPM-Solver++ closer still (0.15)."""
    proc = VPSDE()
    gen = lambda: torch.Generator().manual_seed(5)  # noqa: E731
    cov = {m: _check(sample(proc, GMM.score_fn(proc), _data(), method=m, steps=25, generator=gen()).samples)[1]
           for m in ("ddim", "ddpm", "dpm_solver_sde")}
    assert cov["ddpm"] < cov["ddim"] and cov["dpm_solver_sde"] < cov["ddpm"], cov
