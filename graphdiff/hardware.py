"""What the machine offers the process: bfloat16 instructions (to pick the sampling precision) and the
CPU cores actually free to it (to pick torch's thread count).

* :func:`cpu_flags` reads the instruction-set flags of ``/proc/cpuinfo`` (an empty set elsewhere);
  :func:`cpu_has_bf16` is true with AVX512-BF16 or AMX-BF16, where bfloat16 matrix products run in
  hardware (elsewhere torch emulates them and bfloat16 is slower than float32);
  :func:`auto_precision` resolves ``precision="auto"`` from them.
* :func:`free_cpus` counts the cores of the process's affinity set that are idle right now
  (``/proc/stat`` over a short window, so a busy neighbour is seen at once, unlike the one-minute
  load average); :func:`auto_threads` turns it into a thread count unless the user chose one with
  ``OMP_NUM_THREADS``; :func:`torch_threads` sets a count for a ``with`` block and restores it.

Readers are arguments so tests can feed them fixed text.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import Callable, Iterator, Mapping

import torch

__all__ = ["cpu_flags", "cpu_has_bf16", "auto_precision", "BF16_FLAGS", "cpu_times", "free_cpus", "auto_threads",
           "torch_threads"]

#: ``/proc/cpuinfo`` flags that mean bfloat16 matrix products run in hardware.
BF16_FLAGS = ("avx512_bf16", "amx_bf16")


def _read_cpuinfo() -> str:
    try:
        return Path("/proc/cpuinfo").read_text()
    except OSError:
        return ""


def cpu_flags(read: Callable[[], str] | None = None) -> frozenset[str]:
    """The instruction-set flags of the first CPU listed by ``read()`` (default: ``/proc/cpuinfo``;
    x86 ``flags`` or ARM ``Features`` lines); an empty set when there is none."""
    for line in (read or _read_cpuinfo)().splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return frozenset(value.split())
    return frozenset()


def cpu_has_bf16(flags: frozenset[str] | None = None) -> bool:
    """Whether the CPU computes bfloat16 matrix products in hardware (any of :data:`BF16_FLAGS`)."""
    flags = cpu_flags() if flags is None else flags
    return any(f in flags for f in BF16_FLAGS)


def auto_precision(device: str | torch.device = "cpu", flags: frozenset[str] | None = None) -> str:
    """``"bfloat16"`` where the network runs faster in it (a CPU with :data:`BF16_FLAGS`, a CUDA GPU
    that supports bfloat16), else ``"float32"``."""
    dev = torch.device(device)
    if dev.type == "cuda":
        return "bfloat16" if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else "float32"
    if dev.type == "cpu":
        return "bfloat16" if cpu_has_bf16(flags) else "float32"
    return "float32"


def _read_proc_stat() -> str:
    try:
        return Path("/proc/stat").read_text()
    except OSError:
        return ""


def cpu_times(read: Callable[[], str] | None = None) -> dict[int, tuple[int, int]]:
    """``{cpu index: (busy jiffies, total jiffies)}`` from ``/proc/stat`` text (idle and iowait count
    as not busy); empty where the file is missing."""
    out: dict[int, tuple[int, int]] = {}
    for line in (read or _read_proc_stat)().splitlines():
        name, *vals = line.split()
        if not name.startswith("cpu") or name == "cpu" or not name[3:].isdigit():
            continue
        v = [int(x) for x in vals[:8]] + [0] * max(0, 8 - len(vals))
        idle = v[3] + v[4]
        total = sum(v)
        out[int(name[3:])] = (total - idle, total)
    return out


def free_cpus(window: float = 0.1, *, affinity: set[int] | None = None,
              read: Callable[[], str] | None = None, sleep: Callable[[float], None] = time.sleep) -> int:
    """The number of cores of the process's affinity set left idle by everything running now: the
    sum of their idle fractions over ``window`` seconds of ``/proc/stat``, rounded to the nearest
    core, at least 1 and at most the set's size. Falls back to the set's size where ``/proc/stat``
    cannot be read."""
    cpus = set(os.sched_getaffinity(0)) if affinity is None else set(affinity)
    if not cpus:
        return 1
    a = cpu_times(read)
    sleep(window)
    b = cpu_times(read)
    idle = 0.0
    seen = 0
    for c in cpus:
        if c in a and c in b:
            dt = b[c][1] - a[c][1]
            if dt > 0:
                idle += 1.0 - (b[c][0] - a[c][0]) / dt
                seen += 1
    if not seen:
        return len(cpus)
    return max(1, min(len(cpus), int(idle + 0.5)))


def auto_threads(environ: Mapping[str, str] | None = None, **free_kwargs) -> int | None:
    """Torch threads for a compute-bound call: the cores free now (:func:`free_cpus`), or ``None``
    (leave torch's setting) when the user chose a count with ``OMP_NUM_THREADS``."""
    environ = os.environ if environ is None else environ
    if environ.get("OMP_NUM_THREADS"):
        return None
    return free_cpus(**free_kwargs)


@contextlib.contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run a block with ``torch.set_num_threads(n)`` and restore the previous count after it
    (``None``: leave the setting alone)."""
    if n is None:
        yield
        return
    if int(n) < 1:
        raise ValueError(f"threads must be >= 1, got {n}")
    old = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(old)
