# Over 450 lines on purpose: the checkpoint file pair, its atomic writes, verification and pickle-free loading are one contract.
"""Pickle-free, atomic, verifiable checkpoints.

A training checkpoint lives in a directory and is a *file pair*:

* ``tensors-<step>-<token>.safetensors`` holds every tensor (model and EMA weights, optimiser
  state tensors, RNG states as ``uint8`` tensors, any tensor inside ``extra``), flattened to
  ``/``-separated keys;
* ``last.json`` holds everything else as plain JSON (step, ``extra`` such as epoch, data position,
  hyperparameters and architecture kwargs, scheduler state, optimiser ``param_groups``), the
  schema version, the tensor file name and its sha256. Where a tensor sat in the nested state a
  ``{"__tensor__": key}`` marker points into the safetensors file.

Writes are atomic: the tensor file is written to a temporary file in the same directory, fsynced
and renamed to a fresh name; then the previous ``last.json`` is copied to ``previous.json`` and
the new record replaces ``last.json`` with one ``os.replace`` (the commit point). A crash or an
exception at any moment leaves the last good checkpoint loadable; tensor files referenced by
neither record are deleted only after the commit.

Loading never unpickles anything (no ``torch.load``): the JSON is parsed, the sha256 of the
tensor file is checked, and tensors are read with :mod:`safetensors`. A missing, truncated or
tampered file raises :class:`graphdiff.errors.CheckpointError`.

Small pretrained model files use the same ideas with a Hugging-Face-like pair
``model.safetensors`` + ``config.json`` (:func:`save_weights` / :func:`load_weights`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import random
import secrets
from pathlib import Path
from typing import Any, Iterator, Mapping

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load as _st_load
from safetensors.torch import save as _st_save
from torch import Tensor, nn

from .._io import TMP_MARK, write_bytes_atomic
from ..errors import CheckpointError

__all__ = [
    "SCHEMA_VERSION",
    "save_checkpoint",
    "load_checkpoint",
    "checkpoint_exists",
    "read_checkpoint_record",
    "save_weights",
    "load_weights",
    "capture_rng_state",
    "restore_rng_state",
    "flatten_state",
    "unflatten_state",
]

SCHEMA_VERSION = 1
_FORMAT = "graphdiff-checkpoint"
_WEIGHTS_FORMAT = "graphdiff-weights"
LAST = "last.json"
PREVIOUS = "previous.json"


# --------------------------------------------------------------------------------------------
# nested state <-> (JSON tree, flat tensor dict)
# --------------------------------------------------------------------------------------------


def _esc(seg: str) -> str:
    return seg.replace("%", "%25").replace("/", "%2F")


def flatten_state(obj: Any) -> tuple[Any, dict[str, Tensor]]:
    """Split a nested state into a JSON-serialisable tree and a flat ``{key: tensor}`` dict.

    Supported leaves: tensors, ``None``, bool, int, float (incl. nan/inf), str, numpy arrays and
    scalars. Containers: dict (any hashable JSON-able keys), list, tuple. Tensors are replaced by
    ``{"__tensor__": key}``; tuples by ``{"__tuple__": [...]}``; dicts whose keys are not all
    strings by ``{"__items__": [[k, v], ...]}`` so that optimiser ``state`` (int keys) survives
    exactly. Raises :class:`TypeError` for anything else (no pickle fallback, by design)."""
    tensors: dict[str, Tensor] = {}

    def walk(o: Any, path: tuple[str, ...]) -> Any:
        if isinstance(o, Tensor):
            key = "/".join(_esc(p) for p in path) or "_"
            while key in tensors:  # pragma: no cover - escaping makes keys unique
                key += "_"
            # clone: safetensors refuses shared storage, and we must not alias live buffers
            tensors[key] = o.detach().to("cpu", copy=True).contiguous()
            return {"__tensor__": key}
        if isinstance(o, np.ndarray):
            return walk(torch.from_numpy(np.ascontiguousarray(o)), path)
        if isinstance(o, np.generic):
            return o.item()
        if o is None or isinstance(o, (bool, int, str)):
            return o
        if isinstance(o, float):
            if math.isfinite(o):
                return o
            return {"__float__": repr(o)}
        if isinstance(o, tuple):
            return {"__tuple__": [walk(v, path + (str(i),)) for i, v in enumerate(o)]}
        if isinstance(o, list):
            return [walk(v, path + (str(i),)) for i, v in enumerate(o)]
        if isinstance(o, Mapping):
            if all(isinstance(k, str) for k in o) and not any(k.startswith("__") and k.endswith("__") for k in o):
                return {k: walk(v, path + (k,)) for k, v in o.items()}
            return {"__items__": [[walk(k, path + ("k",)), walk(v, path + (str(k),))] for k, v in o.items()]}
        if isinstance(o, (torch.dtype, torch.device)):
            return {"__str__": str(o)}
        raise TypeError(f"cannot store a {type(o).__name__} in a checkpoint at {'/'.join(path) or '<root>'}; "
                        "use tensors, numbers, strings, lists, tuples and dicts")

    return walk(obj, ()), tensors


def unflatten_state(tree: Any, tensors: Mapping[str, Tensor]) -> Any:
    """Inverse of :func:`flatten_state`."""
    if isinstance(tree, list):
        return [unflatten_state(v, tensors) for v in tree]
    if isinstance(tree, dict):
        if set(tree) == {"__tensor__"}:
            key = tree["__tensor__"]
            if key not in tensors:
                raise CheckpointError(f"checkpoint index names tensor {key!r} that is not in the tensor file")
            return tensors[key]
        if set(tree) == {"__tuple__"}:
            return tuple(unflatten_state(v, tensors) for v in tree["__tuple__"])
        if set(tree) == {"__items__"}:
            return {_hashable(unflatten_state(k, tensors)): unflatten_state(v, tensors) for k, v in tree["__items__"]}
        if set(tree) == {"__float__"}:
            return float(tree["__float__"])
        if set(tree) == {"__str__"}:
            return tree["__str__"]
        return {k: unflatten_state(v, tensors) for k, v in tree.items()}
    return tree


def _hashable(k: Any) -> Any:
    return tuple(k) if isinstance(k, list) else k


# --------------------------------------------------------------------------------------------
# RNG states
# --------------------------------------------------------------------------------------------


def _bytes_tensor(b: bytes) -> Tensor:
    return torch.frombuffer(bytearray(b), dtype=torch.uint8).clone() if b else torch.zeros(0, dtype=torch.uint8)


def capture_rng_state() -> dict[str, Any]:
    """Global RNG states as ``uint8`` tensors: torch CPU, every CUDA device, numpy, Python."""
    np_state = np.random.get_state()
    py_version, py_internal, py_gauss = random.getstate()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": {
            "kind": str(np_state[0]),
            "keys": _bytes_tensor(np.asarray(np_state[1], dtype="<u4").tobytes()),
            "pos": int(np_state[2]),
            "has_gauss": int(np_state[3]),
            "cached_gaussian": float(np_state[4]),
        },
        "python": {
            "version": int(py_version),
            "internal": _bytes_tensor(np.asarray(py_internal, dtype="<u8").tobytes()),
            "gauss_next": py_gauss,
        },
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = list(torch.cuda.get_rng_state_all())
    return state


def restore_rng_state(state: Mapping[str, Any]) -> None:
    """Inverse of :func:`capture_rng_state` (CUDA states are restored when present and possible)."""
    try:
        torch.set_rng_state(state["torch"].to(torch.uint8).cpu())
        n = state["numpy"]
        keys = np.frombuffer(n["keys"].cpu().numpy().tobytes(), dtype="<u4").astype(np.uint32)
        np.random.set_state((n["kind"], keys, int(n["pos"]), int(n["has_gauss"]), float(n["cached_gaussian"])))
        p = state["python"]
        internal = tuple(int(v) for v in np.frombuffer(p["internal"].cpu().numpy().tobytes(), dtype="<u8"))
        random.setstate((int(p["version"]), internal, p["gauss_next"]))
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"checkpoint RNG state is malformed: {exc}") from exc
    if "cuda" in state and torch.cuda.is_available():
        cuda_states = [s.to(torch.uint8).cpu() for s in state["cuda"]]
        if len(cuda_states) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda_states)


# --------------------------------------------------------------------------------------------
# atomic file helpers
# --------------------------------------------------------------------------------------------


def _write_atomic(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` via a fsynced temp file in the same directory + ``os.replace``."""
    write_bytes_atomic(target, data, sync_dir=True)


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _json_bytes(obj: Any) -> bytes:
    return (json.dumps(obj, indent=1, sort_keys=False, allow_nan=False) + "\n").encode()


def _read_json(path: Path, what: str) -> dict[str, Any]:
    try:
        text = path.read_text()
    except FileNotFoundError as exc:
        raise CheckpointError(f"{what} not found: {path}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"cannot read {what} {path}: {exc}") from exc
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"{what} {path} is not valid JSON (truncated or corrupted?): {exc}") from exc
    if not isinstance(obj, dict):
        raise CheckpointError(f"{what} {path} does not hold a JSON object")
    return obj


def _read_tensors(path: Path, sha256: str | None, what: str) -> dict[str, Tensor]:
    """Read a safetensors file after checking its sha256; never unpickles."""
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise CheckpointError(f"{what}: tensor file {path} is missing") from exc
    except OSError as exc:
        raise CheckpointError(f"{what}: cannot read tensor file {path}: {exc}") from exc
    if sha256 is not None:
        got = hashlib.sha256(data).hexdigest()
        if got != sha256:
            raise CheckpointError(
                f"{what}: sha256 mismatch for {path} (expected {sha256[:16]}..., got {got[:16]}...); "
                "the file was truncated, tampered with or belongs to another checkpoint"
            )
    try:
        return _st_load(data)
    except (SafetensorError, ValueError, RuntimeError, OSError) as exc:
        raise CheckpointError(f"{what}: {path} is not a valid safetensors file: {exc}") from exc


# --------------------------------------------------------------------------------------------
# training checkpoints
# --------------------------------------------------------------------------------------------


def _record_path(path: str | os.PathLike[str]) -> Path:
    p = Path(path)
    if p.suffix == ".json":
        return p
    return p / LAST


def checkpoint_exists(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` (a checkpoint directory or a record ``.json``) holds a committed checkpoint."""
    return _record_path(path).is_file()


def read_checkpoint_record(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The parsed JSON record of a checkpoint (no tensors are read)."""
    rec = _read_json(_record_path(path), "checkpoint record")
    if rec.get("format") != _FORMAT:
        raise CheckpointError(f"{_record_path(path)} is not a graphdiff checkpoint (format={rec.get('format')!r})")
    version = rec.get("schema_version", -1)
    if isinstance(version, bool) or not isinstance(version, int):
        raise CheckpointError(f"{_record_path(path)}: schema_version must be an integer, got {version!r}")
    if version > SCHEMA_VERSION:
        raise CheckpointError(
            f"checkpoint schema version {rec.get('schema_version')} is newer than this graphdiff "
            f"({SCHEMA_VERSION}); upgrade graphdiff"
        )
    return rec


def _record_digest(record: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON of a record without its own digest (detects edits/bit rot)."""
    body = {k: v for k, v in record.items() if k != "record_sha256"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, allow_nan=False).encode()).hexdigest()


def _unwrap(model: nn.Module) -> nn.Module:
    """The module inside a ``DistributedDataParallel`` / ``DataParallel`` wrapper (or ``model``)."""
    wrappers = (nn.parallel.DistributedDataParallel, nn.DataParallel)
    return model.module if isinstance(model, wrappers) else model


def save_checkpoint(
    path: str | os.PathLike[str],
    *,
    model: nn.Module,
    ema: Any = None,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: Any = None,
    step: int,
    extra: Mapping[str, Any] | None = None,
    rng: bool = True,
    keep_previous: bool = True,
) -> Path:
    """Atomically write a checkpoint into directory ``path``; returns the path of ``last.json``.

    ``ema`` is anything with ``state_dict()`` (e.g. :class:`graphdiff.training.EMA`);
    ``scheduler`` any ``torch.optim.lr_scheduler`` object; ``extra`` a nested dict of numbers,
    strings, lists and tensors (epoch, data position, hyperparameters, architecture kwargs...).
    With ``rng=True`` the global torch / numpy / Python RNG states are stored too. The previous
    ``last.json`` is kept as ``previous.json`` (when ``keep_previous``)."""
    directory = Path(path)
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob(f"*{TMP_MARK}*"):  # leftovers of a killed writer
        with contextlib.suppress(OSError):
            stale.unlink()

    state: dict[str, Any] = {"model": dict(_unwrap(model).state_dict())}
    if ema is not None:
        state["ema"] = ema.state_dict()
    if optimizer is not None:
        state["optimizer"] = optimizer.state_dict()
    if scheduler is not None:
        state["scheduler"] = scheduler.state_dict()
    if rng:
        state["rng"] = capture_rng_state()
    state["extra"] = dict(extra or {})
    try:
        tree, tensors = flatten_state(state)
    except TypeError as exc:
        raise CheckpointError(f"cannot save checkpoint: {exc}") from exc

    blob = _st_save(tensors, metadata={"format": _FORMAT, "schema_version": str(SCHEMA_VERSION)})
    tensor_name = f"tensors-{int(step):09d}-{secrets.token_hex(4)}.safetensors"
    _write_atomic(directory / tensor_name, blob)

    record = {
        "format": _FORMAT,
        "schema_version": SCHEMA_VERSION,
        "step": int(step),
        "tensor_file": tensor_name,
        "sha256": hashlib.sha256(blob).hexdigest(),
        "num_bytes": len(blob),
        "torch_version": torch.__version__,
        "state": tree,
    }
    record["record_sha256"] = _record_digest(record)
    last = directory / LAST
    if keep_previous and last.is_file():
        old = last.read_bytes()
        try:  # only rotate a record that is itself readable
            json.loads(old)
        except ValueError:
            old = b""
        if old:
            _write_atomic(directory / PREVIOUS, old)  # a failure here aborts the save: last is untouched
    _write_atomic(last, _json_bytes(record))  # commit point
    _collect_garbage(directory)
    return last


def _referenced(directory: Path) -> set[str]:
    names = set()
    for rec_name in (LAST, PREVIOUS):
        try:
            rec = json.loads((directory / rec_name).read_text())
            names.add(str(rec["tensor_file"]))
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return names


def _collect_garbage(directory: Path) -> None:
    keep = _referenced(directory)
    for f in directory.glob("tensors-*.safetensors"):
        if f.name not in keep:
            with contextlib.suppress(OSError):
                f.unlink()


def _load_module_state(module: nn.Module, sd: Mapping[str, Tensor], what: str, path: Path) -> None:
    try:
        module.load_state_dict(sd, strict=True)
    except RuntimeError as exc:
        raise CheckpointError(f"{what} in {path} does not match the given module: {exc}") from exc


def load_checkpoint(
    path: str | os.PathLike[str],
    *,
    model: nn.Module | None = None,
    ema: Any = None,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: Any = None,
    map_location: str | torch.device = "cpu",
    restore_rng: bool = False,
) -> dict[str, Any]:
    """Verify and load a checkpoint written by :func:`save_checkpoint`; never unpickles.

    ``path`` is the checkpoint directory (reads ``last.json``) or a record file such as
    ``previous.json``. The given objects are filled in place; returns
    ``{"step", "extra", "rng", "path", "schema_version"}`` (``rng`` is the stored RNG state or
    ``None``; with ``restore_rng=True`` it is also applied). Raises :class:`CheckpointError` on a
    missing, truncated, tampered or mismatching checkpoint."""
    record_path = _record_path(path)
    rec = read_checkpoint_record(record_path)
    if "record_sha256" in rec and rec["record_sha256"] != _record_digest(rec):
        raise CheckpointError(f"checkpoint record {record_path} was modified after it was written (record sha256 mismatch)")
    for key in ("tensor_file", "sha256", "state", "step"):
        if key not in rec:
            raise CheckpointError(f"checkpoint record {record_path} lacks {key!r} (truncated or hand-edited?)")
    tensor_name = str(rec["tensor_file"])
    if Path(tensor_name).name != tensor_name:
        raise CheckpointError(f"checkpoint record {record_path} names a tensor file outside its directory")
    tensors = _read_tensors(record_path.parent / tensor_name, str(rec["sha256"]), f"checkpoint {record_path}")
    if map_location is not None:
        tensors = {k: v.to(map_location) for k, v in tensors.items()}
    state = unflatten_state(rec["state"], tensors)

    if model is not None:
        _load_module_state(_unwrap(model), state["model"], "model weights", record_path)
    if ema is not None:
        if "ema" not in state:
            raise CheckpointError(f"checkpoint {record_path} has no EMA state")
        try:
            ema.load_state_dict(state["ema"])
        except (KeyError, ValueError, RuntimeError) as exc:
            raise CheckpointError(f"EMA state in {record_path} does not match: {exc}") from exc
    if optimizer is not None:
        if "optimizer" not in state:
            raise CheckpointError(f"checkpoint {record_path} has no optimizer state")
        try:
            optimizer.load_state_dict(state["optimizer"])
        except (KeyError, ValueError, RuntimeError) as exc:
            raise CheckpointError(f"optimizer state in {record_path} does not match: {exc}") from exc
    if scheduler is not None:
        if "scheduler" not in state:
            raise CheckpointError(f"checkpoint {record_path} has no scheduler state")
        scheduler.load_state_dict(state["scheduler"])
    rng_state = state.get("rng")
    if restore_rng and rng_state is not None:
        restore_rng_state(rng_state)
    return {
        "step": int(rec["step"]),
        "extra": state.get("extra", {}),
        "rng": rng_state,
        "path": record_path,
        "schema_version": int(rec["schema_version"]),
    }


# --------------------------------------------------------------------------------------------
# small pretrained weights: model.safetensors + config.json
# --------------------------------------------------------------------------------------------


def save_weights(path: str | os.PathLike[str], state_dict: Mapping[str, Tensor], card: Mapping[str, Any]) -> Path:
    """Write ``path/model.safetensors`` and ``path/config.json`` (the card plus the sha256).

    ``card`` must be JSON-serialisable (architecture kwargs, training summary, license...)."""
    directory = Path(path)
    directory.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().to("cpu", copy=True).contiguous() for k, v in state_dict.items()}
    blob = _st_save(tensors, metadata={"format": _WEIGHTS_FORMAT})
    try:
        card_json = json.loads(json.dumps(dict(card), allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"the model card must be plain JSON: {exc}") from exc
    config = {
        "format": _WEIGHTS_FORMAT,
        "schema_version": SCHEMA_VERSION,
        "weights_file": "model.safetensors",
        "sha256": hashlib.sha256(blob).hexdigest(),
        "card": card_json,
    }
    _write_atomic(directory / "model.safetensors", blob)
    _write_atomic(directory / "config.json", _json_bytes(config))
    return directory


def load_weights(path: str | os.PathLike[str]) -> tuple[dict[str, Tensor], dict[str, Any]]:
    """Read ``(state_dict, card)`` written by :func:`save_weights`, checking the sha256."""
    directory = Path(path)
    config = _read_json(directory / "config.json", "model config")
    if config.get("format") != _WEIGHTS_FORMAT:
        raise CheckpointError(f"{directory / 'config.json'} is not a graphdiff weights card")
    name = config.get("weights_file", "model.safetensors")
    if not isinstance(name, str) or name in ("", ".", ".."):
        raise CheckpointError(f"{directory / 'config.json'}: weights_file must be a file name, got {name!r}")
    if Path(name).name != name:
        raise CheckpointError("weights card names a file outside its directory")
    card = config.get("card", {})
    if not isinstance(card, dict):
        raise CheckpointError(f"{directory / 'config.json'}: 'card' must be a JSON object, got {type(card).__name__}")
    if not isinstance(config.get("sha256"), str):
        raise CheckpointError(f"{directory / 'config.json'} lacks the sha256 of its weights file")
    sd = _read_tensors(directory / name, config["sha256"], f"weights {directory}")
    return sd, dict(card)


def iter_tensor_files(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Tensor files currently present in a checkpoint directory (for inspection/tests)."""
    return iter(sorted(Path(path).glob("tensors-*.safetensors")))
