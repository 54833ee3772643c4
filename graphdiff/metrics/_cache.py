"""The on-disk cache of reference statistics shared by the molecule metrics (canonical SMILES,
FCD and NSPDK statistics of reference sets): ``.npz`` files under :func:`cache_dir`, keyed by a hash
of the input strings, written atomically and read without pickle."""

from __future__ import annotations

import warnings
import zipfile
from typing import Sequence

import numpy as np

from .._io import atomic_file, cache_dir, hash_strings  # cache_dir: $GRAPHDIFF_CACHE, else the XDG cache folder

__all__ = ["cache_dir", "hash_strings", "pack_strings", "unpack_strings", "cache_load", "cache_save"]


def pack_strings(strings: Sequence[str]) -> np.ndarray:
    return np.frombuffer("\n".join(strings).encode("utf-8"), dtype=np.uint8)


def unpack_strings(arr: np.ndarray) -> list[str]:
    text = arr.tobytes().decode("utf-8")
    return text.split("\n")


def cache_load(kind: str, key: str) -> dict[str, np.ndarray] | None:
    path = cache_dir() / kind / f"{key}.npz"
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:  # a truncated .npz raises BadZipFile
        warnings.warn(f"ignoring unreadable cache file {path}: {exc}")
        return None


def cache_save(kind: str, key: str, **arrays: np.ndarray) -> None:
    folder = cache_dir() / kind
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with atomic_file(folder / f"{key}.npz") as f:
            np.savez(f, **arrays)
    except OSError as exc:
        warnings.warn(f"could not write cache under {folder}: {exc}")
