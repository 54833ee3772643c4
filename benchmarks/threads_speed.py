"""Torch's default thread count versus the cores free to the process (:func:`graphdiff.hardware.auto_threads`),
sampling the bundled ``qm9_ctmc`` with its default sampler, with and without one other busy process.

The busy neighbour is ``yes > /dev/null`` pinned to CPU 0 with ``taskset`` (started by this script
and stopped at the end). For each condition the two settings run interleaved (A, B, A, B, ...),
``--repeats`` times each, on the same batch and seed, so the machine's other load hits both alike;
the block reports the median wall clock per molecule of each, their ratio, the thread count
``auto_threads`` chose each time and the load average. ::

    python benchmarks/threads_speed.py --n 64 --repeats 3

Writes ``benchmarks/results/threads_speed.md``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, git_commit, machine_line, utc_now  # noqa: E402


def _busy_neighbour() -> subprocess.Popen:
    cmd = ["yes"]
    if shutil.which("taskset"):
        cmd = ["taskset", "-c", str(min(os.sched_getaffinity(0))), "yes"]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="qm9_ctmc")
    ap.add_argument("--n", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "threads_speed.md"))
    a = ap.parse_args(argv)
    if a.n < 1 or a.repeats < 1:
        ap.error("--n and --repeats must be >= 1")
    if os.environ.get("OMP_NUM_THREADS"):
        ap.error("unset OMP_NUM_THREADS: this benchmark compares torch's default count with the automatic one")
    import graphdiff
    from graphdiff.hardware import auto_threads, torch_threads

    default = torch.get_num_threads()
    pipe = graphdiff.load_pretrained(a.model)
    pipe.sample(8, seed=1, batch_size=8)  # warm-up

    def run(threads: int) -> float:
        with torch_threads(threads):
            t0 = time.perf_counter()
            pipe.sample(a.n, seed=0, batch_size=a.n)
            return 1000 * (time.perf_counter() - t0) / a.n

    rows = []
    for busy in (False, True):
        proc = _busy_neighbour() if busy else None
        try:
            time.sleep(0.5 if busy else 0.0)
            times: dict[str, list[float]] = {"default": [], "auto": []}
            chosen, loads = [], []
            for _ in range(a.repeats):
                loads.append(os.getloadavg()[0])
                times["default"].append(run(default))
                k = auto_threads()
                chosen.append(k)
                times["auto"].append(run(k))
                print(busy, times, chosen, flush=True)
        finally:
            if proc is not None:
                proc.terminate()
                proc.wait()
        d, au = statistics.median(times["default"]), statistics.median(times["auto"])
        rows.append((busy, d, au, chosen, loads, times))

    lines = [f"## Torch threads: default vs the free cores, `{a.model}` sampling ({utc_now()})", "",
             f"- commit `{git_commit()}`; machine: {machine_line(default)} (torch's default); float32; "
             f"affinity set {len(os.sched_getaffinity(0))} cores",
             f"- command: `python benchmarks/threads_speed.py {' '.join(argv if argv is not None else sys.argv[1:])}`",
             f"- protocol: `pipe.sample({a.n}, seed=0)` in one batch with the card's sampler, wall clock per molecule; "
             f"default ({default} threads) and auto (`graphdiff.hardware.auto_threads()`, measured before each run) "
             f"interleaved, {a.repeats} runs each, medians; busy neighbour = `taskset -c 0 yes > /dev/null`; "
             "the machine is shared with other users, whose load (the load average column) hits both settings alike", "",
             "| other busy process | load average (1 min) | default: ms per molecule | auto: threads chosen | "
             "auto: ms per molecule | default / auto |", "|---|---|---|---|---|---|"]
    for busy, d, au, chosen, loads, times in rows:
        lines.append(f"| {'yes, pinned to CPU 0' if busy else 'none'} | {min(loads):.1f}-{max(loads):.1f} | "
                     f"{d:.1f} ({', '.join(f'{x:.0f}' for x in times['default'])}) | {', '.join(map(str, chosen))} | "
                     f"{au:.1f} ({', '.join(f'{x:.0f}' for x in times['auto'])}) | {d / au:.2f}x |")
    Path(a.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
