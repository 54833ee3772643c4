"""Provenance lines shared by the benchmark scripts (date, commit, machine)."""

from __future__ import annotations

import datetime as _dt
import os
import platform
import subprocess
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent


def git_commit() -> str:
    """Short hash of HEAD, or ``"unknown"`` outside a git checkout."""
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
    except Exception:  # noqa: BLE001 - informational only
        return "unknown"


def utc_now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def cpu_name(default: str = "") -> str:
    """The CPU model from ``/proc/cpuinfo``, else ``default``."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return default


def machine_line(threads: int) -> str:
    """One line naming the CPU, visible cores, torch build and thread count."""
    return (f"{platform.machine()} {cpu_name(platform.processor() or '')}, {os.cpu_count()} cores visible, "
            f"torch {torch.__version__}, {threads} torch thread(s)")


def sample_by_size(sample_batch, sizes: torch.Tensor, batch_size: int, *, sort: bool):
    """Sample graphs of the given ``sizes`` in batches of ``batch_size`` by calling
    ``sample_batch(node_mask) -> (GraphState, nfe)``; with ``sort`` the sizes are taken in
    increasing order (each batch padded only to similar sizes) and the graphs are returned in the
    order of ``sizes``. Returns ``(GraphState, total nfe)``."""
    from graphdiff.states import GraphState

    order = torch.sort(sizes, stable=True).indices if sort else torch.arange(sizes.numel())
    parts, nfe = [], 0
    for start in range(0, sizes.numel(), batch_size):
        sz = sizes[order[start:start + batch_size]]
        st, k = sample_batch(torch.arange(max(int(sz.max()), 1))[None] < sz[:, None])
        parts.append(st)
        nfe += k
    state = GraphState.cat(parts)
    return (state[torch.argsort(order)] if sort else state), nfe
