"""Checks that run before a pipeline allocates or computes anything: a model card against the
shapes of its weight file, and the arguments of ``sample()``.

Both raise clear, typed errors (:class:`~graphdiff.errors.CheckpointError`, ``ValueError``) so a
wrong card or a wrong number fails at once, instead of allocating 40 GB for ``hidden: 100000``
or silently running the card's default for ``steps=0``.
"""

from __future__ import annotations

import math
import numbers
from pathlib import Path
from typing import Any, Mapping, Sequence

import torch
from torch import Tensor

from ..errors import CheckpointError

__all__ = ["check_device", "resolve_device", "check_card_against_weights", "check_count", "check_sample_args", "check_sampler_options"]


def check_card_against_weights(card: Mapping[str, Any], state_dict: Mapping[str, Tensor], where: str | Path) -> None:
    """Raise :class:`CheckpointError` unless the network that ``card["network"]`` describes has
    exactly the parameter names and shapes of ``state_dict`` (the weight file, already read and
    sha256-checked). The network is built on PyTorch's ``meta`` device, which records shapes and
    allocates no memory, so a card that says ``hidden: 100000`` costs nothing here; a card whose
    numbers cannot build a network at all (``hidden: -5``) is reported the same way."""
    from .. import nn as gnn

    net_cfg = card.get("network")
    if not isinstance(net_cfg, Mapping) or not isinstance(net_cfg.get("config"), Mapping):
        raise CheckpointError(f"{where}: the card's 'network' must be an object with a 'config' object")
    name = net_cfg.get("class")
    klass = getattr(gnn, name, None) if isinstance(name, str) else None
    if klass is None or not hasattr(klass, "from_config"):
        return  # a network this check does not know: the family's _build names the valid classes
    try:
        with torch.device("meta"):
            net = klass.from_config(net_cfg["config"])
    except Exception as exc:  # noqa: BLE001 - any failure to build is a bad card
        raise CheckpointError(f"{where}: config.json describes no buildable {name}: {type(exc).__name__}: {exc}") from exc
    expected = {k: tuple(v.shape) for k, v in net.state_dict().items()}
    stored = {k: tuple(v.shape) for k, v in state_dict.items()}
    missing = sorted(set(expected) - set(stored))
    extra = sorted(set(stored) - set(expected))
    wrong = [f"{k} {expected[k]} in the card vs {stored[k]} in the weights" for k in expected if k in stored and expected[k] != stored[k]]
    if missing or extra or wrong:
        parts = []
        if wrong:
            parts.append(f"{len(wrong)} shape(s) differ, e.g. {wrong[0]}")
        if missing:
            parts.append(f"{len(missing)} tensor(s) missing from the weights, e.g. {missing[0]}")
        if extra:
            parts.append(f"{len(extra)} unexpected tensor(s) in the weights, e.g. {extra[0]}")
        raise CheckpointError(f"{where}: config.json does not match the weight file ({'; '.join(parts)}); "
                              "the card was edited or belongs to other weights")


def resolve_device(device: Any) -> Any:
    """``"auto"`` -> ``"cuda"`` when PyTorch sees a GPU, else ``"cpu"``; any other value unchanged."""
    if isinstance(device, str) and device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def check_device(device: Any) -> torch.device:
    """``device`` as a ``torch.device`` if this PyTorch can use it; a ValueError otherwise (e.g.
    ``"cuda"`` on a CPU-only build, instead of torch's AssertionError deep in the first call).
    ``"auto"`` is resolved by :func:`resolve_device`."""
    device = resolve_device(device)
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"unknown device {device!r}; use auto, cpu, cuda or cuda:N") from exc
    if dev.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"device {device!r}: graphdiff runs on cpu, cuda or mps")
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"device {device!r}: MPS is not available here; use cpu")
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device {device!r}: CUDA is not available (torch {torch.__version__}, "
                             f"{'a CPU-only build' if torch.version.cuda is None else 'no GPU visible'}); use cpu")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(f"device {device!r}: only {torch.cuda.device_count()} CUDA device(s) visible")
    return dev


def check_count(value: Any, name: str, *, minimum: int = 1) -> int:
    """``value`` as an int if it is a whole number >= ``minimum`` (``2.0`` passes, ``2.7``, ``True``
    and ``"3"`` do not); otherwise a ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or isinstance(value, complex):
        raise ValueError(f"{name} must be >= {minimum} and a whole number, got {value!r}")
    if not math.isfinite(float(value)) or float(value) != int(value) or int(value) < minimum:
        raise ValueError(f"{name} must be >= {minimum} and a whole number, got {value!r}")
    return int(value)


def check_sample_args(*, n: Any, steps: Any, nfe: Any, batch_size: Any, nproc: Any,
                      num_nodes: Sequence[int] | Tensor | None, max_nodes: int) -> Tensor | None:
    """Validate the numbers of a ``sample()`` call before any work; returns ``num_nodes`` as a long
    tensor (or ``None``). ``steps`` / ``nfe`` are ``None`` (the card's default) or whole numbers
    >= 1: ``steps=0`` used to run the card's default and ``steps=2.7`` ran 2."""
    check_count(n, "n", minimum=0)
    if steps is not None:
        check_count(steps, "steps")
    if nfe is not None:
        check_count(nfe, "nfe")
    check_count(batch_size, "batch_size")
    check_count(nproc, "nproc")
    if num_nodes is None:
        return None
    sizes = torch.as_tensor(num_nodes)
    if sizes.dtype.is_floating_point:
        if not torch.isfinite(sizes).all() or (sizes != sizes.round()).any():
            raise ValueError("num_nodes must hold whole numbers of nodes, got fractions or non-finite values")
    elif sizes.dtype == torch.bool or sizes.is_complex():
        raise ValueError(f"num_nodes must hold whole numbers of nodes, got {sizes.dtype}")
    sizes = sizes.long().reshape(-1) if sizes.dim() <= 1 else sizes.long()
    if sizes.dim() != 1:
        raise ValueError(f"num_nodes must be a flat list of node counts, got shape {tuple(sizes.shape)}")
    if sizes.numel() != int(n):
        raise ValueError(f"num_nodes has {sizes.numel()} entries for n={n}")
    if sizes.numel() and int(sizes.min()) < 1:
        raise ValueError(f"num_nodes must be >= 1 node per graph, got {int(sizes.min())}")
    if sizes.numel() and int(sizes.max()) > max_nodes:
        raise ValueError(f"num_nodes asks for {int(sizes.max())} nodes; this model handles at most {max_nodes}")
    return sizes


#: sampler options that must be whole numbers >= 0 / finite numbers > 0 / finite numbers >= 0
_COUNT_OPTIONS = ("corrector_steps",)
_POSITIVE_OPTIONS = ("snr", "temperature")
_NONNEGATIVE_OPTIONS = ("s_noise", "target_guidance", "guidance_scale")
#: the largest ``s_noise`` (a multiplier of the sampler's noise; 1 is the exact reverse process)
MAX_S_NOISE = 10.0


def check_sampler_options(options: Mapping[str, Any]) -> None:
    """Refuse out-of-range values of the sampler options every sampler shares the meaning of:
    ``corrector_steps`` a whole number >= 0, ``snr`` / ``temperature`` finite and > 0, ``s_noise``
    in [0, 10], ``target_guidance`` / ``guidance_scale`` finite and >= 0 (``corrector_steps=-1``, ``snr=-1``
    and ``s_noise=1e9`` used to be accepted)."""
    for key, value in options.items():
        if key in _COUNT_OPTIONS:
            check_count(value, key, minimum=0)
            continue
        if key not in _POSITIVE_OPTIONS + _NONNEGATIVE_OPTIONS:
            continue
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(float(value)):
            raise ValueError(f"sampler option {key} must be a finite number, got {value!r}")
        if key in _POSITIVE_OPTIONS and value <= 0:
            raise ValueError(f"sampler option {key} must be > 0, got {value!r}")
        if key in _NONNEGATIVE_OPTIONS and value < 0:
            raise ValueError(f"sampler option {key} must be >= 0, got {value!r}")
        if key == "s_noise" and value > MAX_S_NOISE:
            raise ValueError(f"sampler option s_noise must be in [0, {MAX_S_NOISE:g}] (1 is the exact reverse process), got {value!r}")


def _finite(value: Any, name: str, *, low: float = 0.0, low_open: bool = False, high: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(float(value)):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    v = float(value)
    if v < low or (low_open and v == low) or (high is not None and v > high):
        rng = f"{'>' if low_open else '>='} {low:g}" + (f" and <= {high:g}" if high is not None else "")
        raise ValueError(f"{name} must be {rng}, got {value!r}")
    return v


def check_training_options(options: Mapping[str, Any], *, nproc: int = 1) -> None:
    """Validate every block of a training config before any data is read or any step is taken
    (a model used to train, save and then fail every ``sample`` for a bad ``sampling:`` block;
    ``batch_size: 0`` became 1, ``steps: 20.7`` ran 21 and ``steps: 0`` saved an untrained model).
    The sampler name and options are checked later, on the built model, by a dry run."""
    from ..outputs import check_writable_dir

    check_count(nproc, "nproc")
    for block in ("train", "sampling", "network", "process", "condition"):
        if options.get(block) is not None and not isinstance(options[block], Mapping):
            raise ValueError(f"config block {block!r} must be a mapping of option: value, got {type(options[block]).__name__}")
    train = dict(options.get("train") or {})
    check_count(train.get("steps", 1000), "train.steps")
    if "batch_size" in train:
        check_count(train["batch_size"], "train.batch_size")
        if nproc > 1 and int(train["batch_size"]) % nproc:
            raise ValueError(f"train.batch_size {train['batch_size']} is the global batch and must divide evenly over "
                             f"--nproc {nproc} processes")
    for key in ("checkpoint_every", "log_every"):
        if key in train:
            check_count(train[key], f"train.{key}")
    for key in ("seed", "warmup_steps"):
        if key in train:
            check_count(train[key], f"train.{key}", minimum=0)
    if "lr" in train:
        _finite(train["lr"], "train.lr")
    if "weight_decay" in train:
        _finite(train["weight_decay"], "train.weight_decay")
    if "ema_decay" in train and train["ema_decay"] is not None:
        _finite(train["ema_decay"], "train.ema_decay", high=1.0)
    if train.get("grad_clip") is not None:
        _finite(train["grad_clip"], "train.grad_clip", low_open=True)
    sampling = dict(options.get("sampling") or {})
    if sampling.get("steps") is not None:
        check_count(sampling["steps"], "sampling.steps")
    if sampling.get("sampler") is not None and not isinstance(sampling["sampler"], str):
        raise ValueError(f"sampling.sampler must be a sampler name, got {sampling['sampler']!r}")
    for name, opts in dict(sampling.get("options") or {}).items():
        if not isinstance(opts, Mapping):
            raise ValueError(f"sampling.options.{name} must be a mapping of option: value, got {opts!r}")
        check_sampler_options(opts)
    if options.get("device") is not None:
        check_device(options["device"])
    if options.get("max_train") is not None:
        check_count(options["max_train"], "max_train")
    out = options.get("out", "runs/model")
    if not isinstance(out, (str, Path)) or not str(out):
        raise ValueError(f"out must be a folder path, got {out!r}")
    check_writable_dir(Path(out), create=False)  # made when the first checkpoint is written


def data_fingerprint(tensors: Sequence[Tensor]) -> str:
    """sha256 of the training tensors' shapes, dtypes and bytes: the data's identity, which a
    resumed run must share with the run it continues (the trainer refuses another; resuming into an
    ``out`` folder with a different data file used to go unnoticed)."""
    import hashlib

    h = hashlib.sha256()
    for t in tensors:
        t = t.detach().cpu().contiguous()
        h.update(f"{tuple(t.shape)}:{t.dtype};".encode())
        h.update((t.to(torch.uint8) if t.dtype == torch.bool else t).view(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()
