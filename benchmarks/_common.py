"""Provenance lines shared by the benchmark scripts (date, commit, machine)."""

from __future__ import annotations

import datetime as _dt
import os
import platform
import statistics
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



def lineage_text(card: dict) -> str:
    """``", trained on from `m` (itself 11963 steps in 110.0 min on zinc250k, after 14447 steps in 95.0
    min on zinc250k)"``: the stages behind a model card (``init_from``, oldest last); empty for a model
    trained from scratch."""
    from graphdiff.pipelines.train import training_lineage

    stages = training_lineage(card)
    if not stages:
        return ""
    done = [f"{st.get('steps', '?')} steps in {float(st.get('seconds') or 0) / 60:.1f} min on {st.get('dataset')}"
            for st in reversed(stages)]
    return f", trained on from `{stages[-1].get('model')}` (itself " + ", after ".join(done) + ")"


def mean_sd(values: list[float], fmt: str = ".4f") -> str:
    """``mean ± sample sd`` over seeds or subsets (just the mean for one value), each in ``fmt``."""
    if len(values) < 2:
        return format(statistics.fmean(values), fmt)
    return f"{format(statistics.fmean(values), fmt)} ± {format(statistics.stdev(values), fmt)}"


def write_page_block(page: str | Path, block_lines: list[str], name: str) -> str:
    """Write a generated block into a results page between ``<!-- name:begin -->`` and
    ``<!-- name:end -->``, keeping everything else on the page (hand-written readings, other blocks).

    A page without the markers gets the block appended (with a warning: an older generated copy
    above it is left for the reader to delete); a new page is the block alone. Returns the text."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    page = Path(page)
    text = page.read_text() if page.exists() else ""
    block = "\n".join([begin, *block_lines, end])
    if begin in text and end in text:
        text = text[: text.index(begin)] + block + text[text.index(end) + len(end):]
    elif text.strip():
        print(f"warning: {page} has no {begin} / {end} markers: the new block is appended, the page's other text kept")
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    else:
        text = block + "\n"
    page.write_text(text)
    return text
