"""Speech enhancement example (SGMSE+ on the core): the compressed complex STFT round trip, the
y-conditioned network's shapes, SI-SDR, the Wiener baseline, save/load, and a seconds-long
training + conditional-sampling smoke test that must beat the noisy input in SI-SDR."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from graphdiff.errors import CheckpointError
from graphdiff.examples.speech import (
    SpectrogramTransform,
    SpeechEnhancer,
    SpeechScoreNet,
    add_noise,
    harmonic_speech,
    sgmse_sde,
    si_sdr,
    wiener_filter,
)
from graphdiff.processes import OUVESDE

SMALL = SpectrogramTransform(n_fft=126, hop=32)  # 64 bins at 8 kHz: fast tests


def test_stft_compression_round_trip():
    tf = SpectrogramTransform()
    assert (tf.n_fft, tf.hop, tf.exponent, tf.scale, tf.freq_bins) == (510, 128, 0.5, 0.15, 256)
    wave = harmonic_speech(3, seconds=0.5, generator=torch.Generator().manual_seed(0))
    x = tf(wave)
    assert x.shape == (3, 2, 256, 0.5 * 16000 // 128 + 1)
    torch.testing.assert_close(tf.inverse(x, wave.shape[1]), wave, atol=1e-5, rtol=0)
    spec = tf.stft(wave)
    c = tf.compress(spec)
    torch.testing.assert_close(c.abs(), 0.15 * spec.abs() ** 0.5)
    ok = spec.abs() > 1e-3  # same phase: equal unit phasors
    torch.testing.assert_close((c / c.abs())[ok], (spec / spec.abs())[ok], atol=1e-5, rtol=0)


@settings(max_examples=20, deadline=None)
@given(exponent=st.floats(0.2, 1.0), scale=st.floats(0.05, 2.0), seed=st.integers(0, 1000))
def test_compress_decompress_inverse(exponent, scale, seed):
    tf = SpectrogramTransform(exponent=exponent, scale=scale)
    g = torch.Generator().manual_seed(seed)
    z = torch.complex(torch.randn(2, 5, 7, generator=g, dtype=torch.float64), torch.randn(2, 5, 7, generator=g, dtype=torch.float64))
    torch.testing.assert_close(tf.decompress(tf.compress(z)), z)
    torch.testing.assert_close(tf.from_state(tf.to_state(z)), z)


def test_transform_rejects_bad_settings():
    with pytest.raises(ValueError, match="hop"):
        SpectrogramTransform(n_fft=64, hop=65)
    with pytest.raises(ValueError, match="exponent"):
        SpectrogramTransform(exponent=0.0)
    with pytest.raises(ValueError, match=r"\(B, L\)"):
        SpectrogramTransform().stft(torch.zeros(10))


def test_network_shapes_and_conditioning():
    net = SpeechScoreNet(channels=8)
    torch.nn.init.normal_(net.out[-1].weight, std=0.1)  # the output layer starts at zero
    x, y = torch.randn(2, 2, 64, 12), torch.randn(2, 2, 64, 12)
    t = torch.tensor([0.2, 0.7])
    out = net(x, t, y=y)
    assert out.shape == x.shape and torch.isfinite(out).all()
    assert not torch.allclose(out, net(x, 1 - t, y=y))
    assert not torch.allclose(out, net(x, t, y=torch.zeros_like(y)))
    out.pow(2).mean().backward()
    assert all(p.grad is not None for p in net.parameters())
    assert net(x, torch.tensor(0.3), y=y).shape == x.shape
    with pytest.raises(ValueError, match="divisible by 4"):
        net(x[..., :10], t, y=y[..., :10])
    with pytest.raises(ValueError, match=r"\(B, 2, F, T\)"):
        net(x, t, y=y[:1])
    with pytest.raises(ValueError, match="even"):
        SpeechScoreNet(channels=5)


def test_si_sdr_closed_form():
    g = torch.Generator().manual_seed(0)
    ref = torch.randn(2, 4000, generator=g, dtype=torch.float64)
    ref = ref - ref.mean(-1, keepdim=True)
    noise = torch.randn(2, 4000, generator=g, dtype=torch.float64)
    noise = noise - noise.mean(-1, keepdim=True)
    noise = noise - (noise * ref).sum(-1, keepdim=True) / (ref**2).sum(-1, keepdim=True) * ref  # orthogonal to ref
    noise = noise * torch.sqrt((ref**2).sum(-1, keepdim=True) / (noise**2).sum(-1, keepdim=True)) * 10 ** (-10 / 20)
    torch.testing.assert_close(si_sdr(3.0 * (ref + noise), ref), torch.full((2,), 10.0, dtype=torch.float64))


def test_wiener_baseline_improves_white_noise():
    g = torch.Generator().manual_seed(0)
    clean = harmonic_speech(4, seconds=1.0, generator=g)
    noisy = add_noise(clean, 5.0, generator=g)
    torch.testing.assert_close(si_sdr(noisy, clean), torch.full((4,), 5.0), atol=0.15, rtol=0)
    assert (si_sdr(wiener_filter(noisy), clean) > si_sdr(noisy, clean) + 3).all()


@pytest.mark.slow  # 38 s on the shared 2 cores under load
def test_train_and_enhance_beats_noisy_input(tmp_path):
    """Seconds of training on 8 kHz stand-in speech in white noise at 0-5 dB, then 10-step PC
    sampling: the enhanced signals must gain SI-SDR over the noisy input."""
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    clean = harmonic_speech(24, seconds=0.5, sample_rate=8000, generator=g)
    noisy = add_noise(clean, 5 * torch.rand(24, generator=g), generator=g)
    enh = SpeechEnhancer(SpeechScoreNet(channels=8), transform=SMALL)
    log = enh.fit(clean[:16], noisy[:16], steps=60, batch_size=8, crop_frames=32, lr=2e-3, seed=0, log_every=20)
    assert log.steps == 60 and log.losses[-1] < log.losses[0]
    out = enh.enhance(noisy[16:], steps=10, generator=torch.Generator().manual_seed(1))
    assert out.shape == noisy[16:].shape and torch.isfinite(out).all()
    gain = si_sdr(out, clean[16:]) - si_sdr(noisy[16:], clean[16:])
    assert float(gain.mean()) > 2.0, gain
    # save / load round trip (safetensors + JSON) gives the same enhancement
    enh.save(tmp_path / "m")
    back = SpeechEnhancer.load(tmp_path / "m")
    assert back.card() == enh.card()
    a = enh.enhance(noisy[16], steps=3, generator=torch.Generator().manual_seed(2))
    b = back.enhance(noisy[16], steps=3, generator=torch.Generator().manual_seed(2))
    assert a.shape == noisy[16].shape
    torch.testing.assert_close(a, b)


def test_enhancer_rejects_bad_input(tmp_path):
    with pytest.raises(ValueError, match="valid choices"):
        SpeechEnhancer(parametrization="v")
    enh = SpeechEnhancer(SpeechScoreNet(channels=4), transform=SMALL)
    with pytest.raises(ValueError, match="multiple of 4"):
        enh.fit(torch.zeros(2, 800), torch.zeros(2, 800), steps=1, crop_frames=30)
    with pytest.raises(ValueError, match="as many clean as noisy"):
        enh.fit(torch.zeros(2, 800), torch.zeros(3, 800), steps=1)
    from graphdiff.training.checkpoint import save_weights

    calls = []
    real_forward = enh.net.forward
    enh.net.forward = lambda *a, **k: calls.append(1) or real_forward(*a, **k)
    for bad, msg in (({"start": "regenerate"}, "needs t_start"), ({"start": "regenerate", "t_start": 5.0}, "needs t_start"),
                     ({"t_start": 0.5}, "regenerate' only"), ({"steps": 0}, "steps must be"), ({"sampler": "x"}, "need sampler")):
        with pytest.raises(ValueError, match=msg):
            enh.enhance(torch.zeros(800), **bad)
    assert calls == []  # every option is checked before the first network call
    save_weights(tmp_path / "other", {"w": torch.zeros(1)}, {"kind": "something_else"})
    with pytest.raises(CheckpointError, match="speech-enhancer"):
        SpeechEnhancer.load(tmp_path / "other")


def test_eps_parametrization_score_matches_marginal():
    """With the eps form and a network that returns the true noise, the score is -z / sigma."""
    sde = OUVESDE()
    enh = SpeechEnhancer(SpeechScoreNet(channels=4), sde=sde, transform=SMALL, parametrization="eps")
    g = torch.Generator().manual_seed(0)
    x0, y = torch.randn(2, 2, 64, 8, generator=g), torch.randn(2, 2, 64, 8, generator=g)
    t = torch.tensor([0.3, 0.8])
    xt, z = sde.sample_marginal(x0, t, generator=g, y=y)
    enh.net.forward = lambda x, t, y: z  # an oracle network
    score = enh.score_fn(y)(xt, t)
    m = sde.marginal(x0, t, y=y)
    torch.testing.assert_close(score, -(xt - m.mean) / m.std**2, rtol=1e-4, atol=1e-4)
    assert math.isfinite(float(score.abs().max()))


def test_sgmse_sde_has_sgmse_complex_noise_marginals():
    """SGMSE+ draws complex noise of unit complex variance (each part 1/2): its std for sigma_min
    0.05, sigma_max 0.5 (its sdes.py formula) is sqrt(2) times the per-channel std here."""
    sde = sgmse_sde()
    t = torch.tensor([0.03, 0.3, 1.0], dtype=torch.float64)
    theta, smin, L = 1.5, 0.05, math.log(10.0)
    sgmse_std = torch.sqrt(smin**2 * torch.exp(-2 * theta * t) * (torch.exp(2 * (theta + L) * t) - 1) * L / (theta + L))
    torch.testing.assert_close(math.sqrt(2) * sde.sigma(t), sgmse_std)
    assert (sde.theta, sde.eps) == (1.5, 0.03)
    assert SpeechEnhancer(SpeechScoreNet(channels=4)).sde.config() == sde.config()


@pytest.mark.parametrize("t", [0.03, 0.2, 1.0])
def test_precond_starts_at_the_gaussian_posterior_mean(t):
    """With the output layer at zero (its init), the preconditioned denoiser is c_skip r_t: for a
    Gaussian residual d = x0 - y ~ N(0, sigma_d^2) that is the exact posterior mean
    E[d | x_t, y] = sigma_d^2 / (sigma_d^2 + (sigma/a)^2) (x_t - y) / a, and the training target
    has unit variance. The x0 form at init returns y (no denoising): at t = eps its error is the
    whole residual, the precond error only the posterior std."""
    sd = 0.07
    sde = sgmse_sde()
    g = torch.Generator().manual_seed(0)
    y = 0.1 * torch.randn(16, 2, 64, 16, generator=g)
    x0 = y + sd * torch.randn(y.shape, generator=g)
    tt = torch.full((16,), t)
    xt, _ = sde.sample_marginal(x0, tt, generator=g, y=y)
    a, sig = float(sde.alpha(tt[:1])), float(sde.sigma(tt[:1]))
    s2 = (sig / a) ** 2
    pre = SpeechEnhancer(SpeechScoreNet(channels=4), sde=sde, transform=SMALL, sigma_data=sd)
    with torch.no_grad():
        x0_hat = pre.denoise(xt, tt, y)
        torch.testing.assert_close(x0_hat, y + sd**2 / (sd**2 + s2) * (xt - y) / a, rtol=1e-4, atol=1e-6)
        loss = float(pre.loss(x0, y, generator=torch.Generator().manual_seed(1)))
    assert abs(loss - 1.0) < 0.05, loss
    post_std = math.sqrt(sd**2 * s2 / (sd**2 + s2))
    err = float((x0_hat - x0).pow(2).mean().sqrt())
    assert abs(err / post_std - 1) < 0.05, (err, post_std)
    x0_form = SpeechEnhancer(SpeechScoreNet(channels=4), sde=sde, transform=SMALL, parametrization="x0")
    with torch.no_grad():
        err_x0 = float((x0_form.denoise(xt, tt, y) - x0).pow(2).mean().sqrt())
    torch.testing.assert_close(err_x0, float((y - x0).pow(2).mean().sqrt()))
    if t == 0.03:
        assert err < 0.35 * err_x0


def test_posterior_mean_of_untrained_enhancer_is_the_input():
    """At T with x_T = y the residual input is 0 and the untrained output is 0: x0_hat = y, so the
    one-call posterior mean returns the noisy waveform (through the STFT round trip)."""
    g = torch.Generator().manual_seed(0)
    noisy = add_noise(harmonic_speech(2, seconds=0.25, sample_rate=8000, generator=g), 5.0, generator=g)
    enh = SpeechEnhancer(SpeechScoreNet(channels=4), transform=SMALL)
    out = enh.posterior_mean(noisy)
    torch.testing.assert_close(out, noisy, atol=1e-5, rtol=0)
    assert enh.posterior_mean(noisy[0]).shape == noisy[0].shape
    assert enh.enhance(noisy[0], steps=2, denoise_final=True, generator=g).shape == noisy[0].shape


def _gaussian_oracle(enh: SpeechEnhancer, s0: float, sn: float, seed: int = 0):
    """Clean state x0 ~ N(0, s0^2), y = x0 + N(0, sn^2) per entry: the posterior p(x0 | y) is
    N(m, v), m = k y, v = k sn^2 (k = s0^2 / (s0^2 + sn^2)), and the denoiser E[x0 | x_t, y] is
    closed form; ``enh.denoise`` is replaced by it (so its score is exact)."""
    g = torch.Generator().manual_seed(seed)
    x0 = s0 * torch.randn(4, 2, 64, 64, generator=g, dtype=torch.float64)
    y = x0 + sn * torch.randn(x0.shape, generator=g, dtype=torch.float64)
    k = s0**2 / (s0**2 + sn**2)
    m, v = k * y, k * sn**2

    def denoise(x, t, yy):
        a, s = enh.sde.alpha(t)[:, None, None, None], enh.sde.sigma(t)[:, None, None, None]
        return m + a * v / (a**2 * v + s**2) * (x - a * m - (1 - a) * yy)

    enh.denoise = denoise
    return y, m, v


@pytest.mark.parametrize("t_start", [0.2, 0.5])
def test_regeneration_with_exact_score_samples_the_closed_form_law(t_start):
    """Regeneration noises the predictive estimate x0_hat to x_s ~ N(a_s x0_hat + (1 - a_s) y,
    sigma_s^2) and reverses from s to eps. With the exact score the reverse SDE draws
    p(x_eps | x_s, y): Gaussian with mean mu_e + c (x_s - mu_s) / S and variance
    a_e^2 v + sigma_e^2 - c^2 / S, where mu_t = a_t m + (1 - a_t) y, S = a_s^2 v + sigma_s^2 and
    c = a_e a_s v + e^{-theta (s - eps)} sigma_e^2; averaged over the start's noise the output is
    mu_e + (c a_s / S) (x0_hat - m) with variance a_e^2 v + sigma_e^2 - c^2 / S + c^2 sigma_s^2 / S^2.
    The reverse-diffusion predictor alone (``corrector=None``) matches it. The ALD corrector,
    Langevin on the marginal p_t(x | y), mixes the draw back towards a full posterior draw: it
    keeps far less of the pull towards x0_hat."""
    enh = SpeechEnhancer(SpeechScoreNet(channels=4), transform=SMALL)
    y, m, v = _gaussian_oracle(enh, 0.07, 0.057)
    sde = enh.sde
    ts = torch.tensor([t_start, sde.eps], dtype=torch.float64)
    (a_s, a_e), (sg_s, sg_e) = sde.alpha(ts).tolist(), sde.sigma(ts).tolist()
    big_s = a_s**2 * v + sg_s**2
    c = a_e * a_s * v + math.exp(-sde.theta * (t_start - sde.eps)) * sg_e**2
    law_std = math.sqrt(a_e**2 * v + sg_e**2 - c**2 / big_s + c**2 * sg_s**2 / big_s**2)
    mu_e = a_e * m + (1 - a_e) * y
    d = (y - m).flatten()
    for x0_hat in (m, y):
        out = enh.sample_states(y, steps=100, corrector=None, start="regenerate", t_start=t_start, x0_hat=x0_hat,
                                generator=torch.Generator().manual_seed(1))
        r = out - (mu_e + c * a_s / big_s * (x0_hat - m))
        assert abs(float(r.mean())) < 0.02 * law_std, float(r.mean()) / law_std
        assert abs(float(r.std()) / law_std - 1) < 0.03, float(r.std()) / law_std
    slope = float(((out - m).flatten() * d).sum() / (d * d).sum())  # the pull towards x0_hat = y
    assert abs(slope - ((1 - a_e) + c * a_s / big_s)) < 0.015, (slope, (1 - a_e) + c * a_s / big_s)
    ald = enh.sample_states(y, steps=30, start="regenerate", t_start=t_start, x0_hat=y, generator=torch.Generator().manual_seed(1))
    slope_ald = float(((ald - m).flatten() * d).sum() / (d * d).sum())
    assert slope_ald < 0.6 * slope, (slope_ald, slope)
    # the default predictive estimate is the one-call denoiser at T with x_T = y
    out = enh.sample_states(y, steps=2, start="regenerate", t_start=t_start, generator=torch.Generator().manual_seed(2))
    ref = enh.sample_states(y, steps=2, start="regenerate", t_start=t_start, generator=torch.Generator().manual_seed(2),
                            x0_hat=enh.denoise(y, torch.ones(4, dtype=torch.float64), y))
    torch.testing.assert_close(out, ref)


def test_regeneration_from_T_and_y_is_the_plain_sampler_and_calls_add_up():
    """t_start = T with x0_hat = y starts from N(y, sigma(T)^2), the prior: the same draws as the
    plain PC sampler. Network calls: 1 (predictive) + 2 per PC step, shared over ``average``."""
    torch.manual_seed(0)
    enh = SpeechEnhancer(SpeechScoreNet(channels=4), transform=SMALL)
    torch.nn.init.normal_(enh.net.out[-1].weight, std=0.05)  # a non-trivial network
    g = torch.Generator().manual_seed(0)
    noisy = add_noise(harmonic_speech(2, seconds=0.25, sample_rate=8000, generator=g), 5.0, generator=g)
    y, _, _ = enh.states(noisy)
    plain = enh.sample_states(y, steps=3, generator=torch.Generator().manual_seed(3))
    regen = enh.sample_states(y, steps=3, start="regenerate", t_start=enh.sde.T, x0_hat=y, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(regen, plain, rtol=1e-5, atol=1e-6)
    calls = []
    forward = enh.net.forward
    enh.net.forward = lambda *a, **k: calls.append(1) or forward(*a, **k)
    one = enh.enhance(noisy, steps=4, start="regenerate", t_start=0.4, generator=torch.Generator().manual_seed(4))
    assert len(calls) == 1 + 2 * 4 and one.shape == noisy.shape
    calls.clear()
    avg = enh.enhance(noisy, steps=4, start="regenerate", t_start=0.4, average=3, generator=torch.Generator().manual_seed(4))
    assert len(calls) == 1 + 3 * 2 * 4
    # average = K: the mean of K samples in the state domain, drawn in sequence from the generator
    gen = torch.Generator().manual_seed(4)
    x0_hat = enh.denoise(y, torch.ones(2), y)
    states = [enh.sample_states(y, steps=4, start="regenerate", t_start=0.4, x0_hat=x0_hat, generator=gen) for _ in range(3)]
    frames = noisy.shape[1] // SMALL.hop + 1
    ref = SMALL.inverse(torch.stack(states).mean(0)[..., :frames], noisy.shape[1]) * noisy.abs().amax(1, keepdim=True)
    torch.testing.assert_close(avg, ref, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(one, enh.enhance(noisy, steps=4, start="regenerate", t_start=0.4, generator=torch.Generator().manual_seed(4)))


def test_sampling_options_are_checked():
    enh = SpeechEnhancer(SpeechScoreNet(channels=4), transform=SMALL)
    y = torch.zeros(1, 2, 64, 8)
    with pytest.raises(ValueError, match="needs t_start"):
        enh.sample_states(y, start="regenerate")
    with pytest.raises(ValueError, match="needs t_start"):
        enh.sample_states(y, start="regenerate", t_start=0.01)
    with pytest.raises(ValueError, match="regenerate' only"):
        enh.sample_states(y, t_start=0.5)
    with pytest.raises(ValueError, match="start in"):
        enh.sample_states(y, start="storm")
    with pytest.raises(ValueError, match="steps must be"):
        enh.sample_states(y, steps=0)
    with pytest.raises(ValueError, match="average must be"):
        enh.enhance(torch.zeros(800), average=0)
