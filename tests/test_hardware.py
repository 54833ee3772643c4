"""graphdiff.hardware: bf16 detection from CPU flags, free cores from /proc/stat, thread scoping."""

import pytest
import torch

from graphdiff import hardware

AVX2 = "processor\t: 0\nflags\t\t: fpu sse sse2 avx avx2 fma\n\nprocessor\t: 1\nflags\t\t: fpu sse avx avx2\n"
ZEN4 = "processor\t: 0\nflags\t\t: fpu avx2 avx512f avx512_bf16 avx512_vnni\n"
SPR = "processor\t: 0\nflags\t\t: avx2 avx512f amx_bf16 amx_tile amx_int8\n"
ARM = "processor\t: 0\nFeatures\t: fp asimd bf16 i8mm\n"


@pytest.mark.parametrize("text, bf16", [(AVX2, False), (ZEN4, True), (SPR, True), (ARM, False), ("", False)])
def test_bf16_detection_from_cpu_flags(text, bf16):
    flags = hardware.cpu_flags(lambda: text)
    assert hardware.cpu_has_bf16(flags) is bf16
    assert hardware.auto_precision("cpu", flags) == ("bfloat16" if bf16 else "float32")


def test_auto_precision_reads_the_monkeypatched_flags_reader(monkeypatch):
    monkeypatch.setattr(hardware, "_read_cpuinfo", lambda: AVX2)
    assert hardware.auto_precision("cpu") == "float32"
    monkeypatch.setattr(hardware, "_read_cpuinfo", lambda: ZEN4)
    assert hardware.auto_precision("cpu") == "bfloat16"
    assert hardware.auto_precision("meta") == "float32"


def _stat(rows):
    """/proc/stat text: per cpu (user, idle) jiffies."""
    lines = ["cpu  0 0 0 0 0 0 0 0 0 0"]
    lines += [f"cpu{i} {u} 0 0 {idle} 0 0 0 0 0 0" for i, (u, idle) in enumerate(rows)]
    return "\n".join(lines + ["intr 1 2 3", "ctxt 5"]) + "\n"


def test_free_cpus_counts_idle_cores_of_the_affinity_set():
    # cpu0 fully busy over the window, cpu1 idle, cpu2 half busy, cpu3 idle but outside the affinity set
    texts = iter([_stat([(0, 0), (0, 0), (0, 0), (0, 0)]), _stat([(100, 0), (0, 100), (50, 50), (0, 100)])])
    assert hardware.free_cpus(affinity={0, 1, 2}, read=lambda: next(texts), sleep=lambda s: None) == 2  # 1.5 -> 2
    texts = iter([_stat([(0, 0), (0, 0)]), _stat([(100, 0), (100, 0)])])
    assert hardware.free_cpus(affinity={0, 1}, read=lambda: next(texts), sleep=lambda s: None) == 1  # never below 1
    texts = iter([_stat([(0, 0), (0, 0)]), _stat([(0, 100), (0, 100)])])
    assert hardware.free_cpus(affinity={0, 1}, read=lambda: next(texts), sleep=lambda s: None) == 2
    assert hardware.free_cpus(affinity={0, 1}, read=lambda: "", sleep=lambda s: None) == 2  # no /proc/stat


def test_free_cpus_sees_a_busy_process_on_this_machine():
    n = hardware.free_cpus(window=0.05)
    import os

    assert 1 <= n <= len(os.sched_getaffinity(0))


def test_auto_threads_leaves_the_users_omp_choice_and_torch_threads_restores():
    assert hardware.auto_threads({"OMP_NUM_THREADS": "3"}) is None
    assert hardware.auto_threads({}, affinity={0}, read=lambda: "", sleep=lambda s: None) == 1
    old = torch.get_num_threads()
    with hardware.torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == old
    with hardware.torch_threads(None):
        assert torch.get_num_threads() == old
    with pytest.raises(ValueError, match="threads must be >= 1"):
        with hardware.torch_threads(0):
            pass
