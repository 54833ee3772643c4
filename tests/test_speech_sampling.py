"""benchmarks/speech_sampling.py's paired helpers: the paired-difference statistics on an exact
small case, and that skipping a draw with ``advance_generator`` leaves the generator exactly where
the real draw would (so a stream's scored draws reproduce)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

from graphdiff.examples.speech import SpeechEnhancer, SpeechScoreNet, SpectrogramTransform

_PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "speech_sampling.py"
_SPEC = importlib.util.spec_from_file_location("_speech_sampling", _PATH)
speech_sampling = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(speech_sampling)


def test_paired_stats_exact_small_case():
    # differences 1, 2, 3, 0: mean 1.5, sd sqrt(5/3), se sqrt(5/3)/2; t(0.975, 3) = 3.182446305284263
    s = speech_sampling.paired_stats([2.0, 4.0, 6.0, 1.0], [1.0, 2.0, 3.0, 1.0])
    se = np.sqrt(5 / 3) / 2
    assert s["n"] == 4 and s["mean"] == pytest.approx(1.5) and s["se"] == pytest.approx(se)
    assert s["lo"] == pytest.approx(1.5 - 3.182446305284263 * se) and s["hi"] == pytest.approx(1.5 + 3.182446305284263 * se)
    assert (s["wins"], s["losses"], s["ties"]) == (3, 0, 1)
    flipped = speech_sampling.paired_stats([1.0, 2.0, 3.0, 1.0], [2.0, 4.0, 6.0, 1.0])
    assert (flipped["wins"], flipped["losses"]) == (0, 3) and flipped["hi"] == pytest.approx(-s["lo"])
    with pytest.raises(ValueError, match="at least 2"):
        speech_sampling.paired_stats([1.0], [0.0])


def test_blocks_parse_and_reject_reversed_ranges():
    assert speech_sampling._blocks("0-15,24-39") == [(0, 15), (24, 39)]
    assert speech_sampling._blocks("3") == [(3, 3)] and speech_sampling._blocks("") == []
    with pytest.raises(ValueError, match="LO <= HI"):
        speech_sampling._blocks("5-2")


@pytest.mark.parametrize("kw", [dict(steps=3), dict(steps=2, corrector=None, start="regenerate", t_start=0.4)])
def test_advance_generator_consumes_what_a_real_draw_does(kw):
    torch.manual_seed(0)
    enh = SpeechEnhancer(SpeechScoreNet(channels=4), transform=SpectrogramTransform(n_fft=126, hop=32))
    y, _, _ = enh.states(torch.randn(1, 2000) * 0.1)
    real, skip = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    calls = []
    enh.net.register_forward_hook(lambda *a: calls.append(1))
    enh.sample_states(y, generator=real, **kw)
    n_real = len(calls)
    speech_sampling.advance_generator(enh, y, skip, **kw)
    assert n_real > 0 and len(calls) == n_real  # the skip made no network call
    assert torch.equal(real.get_state(), skip.get_state())
    assert "denoise" not in vars(enh)  # the stand-in is gone: the next draw is real again
    a = enh.sample_states(y, generator=real, **kw)
    b = enh.sample_states(y, generator=skip, **kw)
    torch.testing.assert_close(a, b)
