"""benchmarks/speech_data.py without espeak-ng: mixing at an exact SNR, the pink-noise slope, the
seeded sentence grammar and the CLI's argument errors."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

_SPEC = importlib.util.spec_from_file_location("speech_data", Path(__file__).resolve().parents[1] / "benchmarks" / "speech_data.py")
speech_data = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(speech_data)


@pytest.mark.parametrize("snr", [0.0, 7.5, 15.0])
def test_mix_hits_the_snr(snr):
    rng = np.random.default_rng(0)
    clean, noise = np.sin(np.arange(16000) / 7.0), rng.standard_normal(16000)
    y = speech_data.mix(clean, noise, snr)
    assert 10 * np.log10(np.mean(clean**2) / np.mean((y - clean) ** 2)) == pytest.approx(snr, abs=1e-9)


def test_pink_noise_has_a_one_over_f_spectrum():
    x = speech_data.pink_noise(np.random.default_rng(0), 2**16)
    p = np.abs(np.fft.rfft(x)) ** 2
    f = np.arange(p.size)
    bands = [(f >= lo) & (f < 2 * lo) for lo in (64, 128, 256, 512, 1024, 2048, 4096)]
    slope = np.polyfit(np.log([f[b].mean() for b in bands]), np.log([p[b].mean() for b in bands]), 1)[0]
    assert slope == pytest.approx(-1.0, abs=0.1)


def test_sentences_are_distinct_and_seeded():
    a = speech_data.sentences(np.random.default_rng(3), 50)
    assert len(set(a)) == 50 and a == speech_data.sentences(np.random.default_rng(3), 50)
    assert all(s[0].isupper() and s.endswith(".") for s in a)


def test_cli_rejects_bad_counts(capsys):
    assert speech_data.main(["--train", "0"]) == 2
    assert capsys.readouterr().err.startswith("error:")
