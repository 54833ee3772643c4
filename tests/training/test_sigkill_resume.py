"""A real crash: a training subprocess is killed with SIGKILL mid-run; a second subprocess resumes
from the last atomic checkpoint and must end with the parameters of an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

sys.path.insert(0, str(Path(__file__).resolve().parent))  # helper modules next to this file
import _train_problem as P

SCRIPT = Path(P.__file__)


def _env() -> dict[str, str]:
    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(root), env.get("PYTHONPATH", "")])
    env["OMP_NUM_THREADS"] = "1"
    return env


def _last_step(d: Path) -> int:
    try:
        return int(json.loads((d / "last.json").read_text())["step"])
    except (OSError, ValueError, KeyError):
        return -1


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX SIGKILL")
@pytest.mark.slow
def test_sigkill_mid_run_then_resume_matches_uninterrupted(tmp_path: Path) -> None:
    ckpt, out = tmp_path / "ckpt", tmp_path / "final.safetensors"
    proc = subprocess.Popen([sys.executable, str(SCRIPT), str(ckpt), str(out), "--slow", "0.05"], env=_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    try:
        while _last_step(ckpt) < 12:
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "the training subprocess made no progress"
            time.sleep(0.02)
        time.sleep(0.07)  # land somewhere inside the following steps / a checkpoint write
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    killed_at = _last_step(ckpt)
    assert 12 <= killed_at < P.STEPS and not out.exists()

    done = subprocess.run([sys.executable, str(SCRIPT), str(ckpt), str(out)], env=_env(), capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    assert _last_step(ckpt) == P.STEPS

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        ref = P.run(None).state_dict()
    finally:
        torch.set_num_threads(threads)
    got = load_file(str(out))
    err = max((got[k] - ref[k]).abs().max().item() for k in ref)
    assert err <= 1e-6, f"resumed-after-SIGKILL parameters differ by {err}"
