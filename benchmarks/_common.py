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

