"""``python -m graphdiff`` is the command line, and ``torchrun -m graphdiff train`` trains one model
over torchrun's processes (two local gloo ranks here, as a user on one machine runs it)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parent.parent
TINY = {"hidden": 16, "edge_hidden": 8, "global_hidden": 8, "depth": 1, "heads": 2, "time_dim": 16, "K": 4}


def _env() -> dict[str, str]:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("WORLD_SIZE", None)
    return env


def test_python_dash_m_graphdiff_is_the_cli():
    res = subprocess.run([sys.executable, "-m", "graphdiff", "--help"], capture_output=True, text=True, env=_env(),
                         timeout=120)
    assert res.returncode == 0, res.stderr
    assert "Usage: graphdiff" in res.stdout and "train" in res.stdout


@pytest.mark.slow  # ~15-30 s on two shared cores: three Python processes import torch
def test_torchrun_trains_over_two_processes(tmp_path):
    torchrun = shutil.which("torchrun") or str(Path(sys.executable).parent / "torchrun")
    if not Path(torchrun).exists():
        pytest.skip("torchrun is not installed next to this Python")
    graphs = [nx.cycle_graph(n) for n in range(4, 10)] + [nx.path_graph(n) for n in range(4, 10)]
    gfile = tmp_path / "g.json"
    gfile.write_text(json.dumps([nx.node_link_data(g, edges="links") for g in graphs]))
    cfg = tmp_path / "run.yaml"
    cfg.write_text(json.dumps({"network": TINY, "progress": False, "device": "cpu",
                               "train": {"batch_size": 4, "checkpoint_every": 100}}))
    # --standalone: a local rendezvous on a free port (what one machine needs; see docs/scaling.md)
    cmd = [torchrun, "--standalone", "--nnodes", "1", "--nproc-per-node", "2", "-m", "graphdiff", "train",
           "--config", str(cfg), "--graphs", str(gfile), "--steps", "3", "--out", str(tmp_path / "run")]
    res = subprocess.run(cmd, capture_output=True, text=True, env=_env(), timeout=240, cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.count("trained 3 steps") == 1, res.stdout  # rank 0 reports, once
    card = json.loads((tmp_path / "run" / "model" / "config.json").read_text())["card"]
    assert card["training"]["processes"] == 2 and card["training"]["steps"] == 3
