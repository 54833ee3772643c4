"""benchmarks/speech_enhancement.py end to end on a tiny model and data: ``train`` then ``eval``;
``--no-ode`` drops only the ODE row and leaves the PC draws (the gate row) unchanged. The metrics
are stubbed (pesq and pystoi are optional), so this runs in seconds on CPU."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import torch

_PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "speech_enhancement.py"
_SPEC = importlib.util.spec_from_file_location("_speech_enhancement", _PATH)
speech_enhancement = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(speech_enhancement)


def _write_split(path: Path, n: int, rng: np.random.Generator) -> None:
    lens = rng.integers(3000, 4000, n)
    clean = [(0.1 * np.sin(np.arange(k) * rng.uniform(0.05, 0.2))).astype(np.float32) for k in lens]
    noisy = [c + 0.03 * rng.standard_normal(c.size).astype(np.float32) for c in clean]
    np.savez(path, clean=np.concatenate(clean), noisy=np.concatenate(noisy), offsets=np.concatenate([[0], np.cumsum(lens)]),
             snr_db=np.full(n, 5.0, np.float32), noise_type=np.array(["white"] * n))


def test_train_then_eval_with_and_without_ode(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    data = tmp_path / "data"
    data.mkdir()
    _write_split(data / "train.npz", 4, rng)
    _write_split(data / "test.npz", 3, rng)
    run = tmp_path / "run"
    assert speech_enhancement.main(["train", "--data", str(data), "--run", str(run), "--minutes", "1", "--max-steps", "2",
                                    "--channels", "2", "--batch", "2", "--crop-frames", "8", "--checkpoint-minutes", ""]) == 0

    def fake_metrics(est: torch.Tensor, ref: torch.Tensor) -> tuple[float, float, float]:
        err = float(torch.mean((est.double() - ref.double()) ** 2))
        return (1.0 + err, 0.5 - err, -10 * np.log10(err + 1e-12))

    monkeypatch.setattr(speech_enhancement, "_metrics", fake_metrics)
    pages = {}
    for flag in ([], ["--no-ode"]):
        out = tmp_path / f"page{len(flag)}.md"
        assert speech_enhancement.main(["eval", "--data", str(data), "--run", str(run), "--n", "2", "--steps", "2",
                                        "--results", str(out), *flag]) == 0
        pages[len(flag)] = out.read_text()
    table = {k: p.split("|---|---|---|---|---|\n", 1)[1].split("\n\n", 1)[0].splitlines() for k, p in pages.items()}
    assert len(table[0]) == 6 and len(table[1]) == 5
    assert not any("ODE" in ln for ln in table[1]) and any("ODE" in ln for ln in table[0])
    assert [ln for ln in table[0] if "ODE" not in ln] == table[1]  # same PC draws, same other rows
    assert "--no-ode`" in pages[1] and "Gate (the PC sampling row" in pages[1]
    assert "train 4 utterances (white 4)" in pages[1]  # the training mix is read from the data, not hard-coded
