"""Small readers for SMILES files (plain text, optionally gzipped)."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path


def read_lines(path: str | os.PathLike) -> list[str]:
    """Lines of a text file (``.gz`` transparently), without line endings; trailing empty lines dropped."""
    p = Path(path)
    opener = gzip.open if p.suffix == ".gz" else open
    with opener(p, "rt", encoding="utf-8") as fh:
        lines = fh.read().splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def read_index_json(path: str | os.PathLike) -> list[int]:
    """A GDSS/MoFlow split file: ``{"valid_idxs": ["000123", ...]}`` (QM9) or ``[12, ...]`` (ZINC250k)."""
    with open(path) as fh:
        d = json.load(fh)
    if isinstance(d, dict):
        d = d["valid_idxs"]
    return [int(i) for i in d]


def split_by_index(rows: list[str], test_idx: list[int]) -> dict[str, list[str]]:
    """GDSS split: test = ``rows[i]`` for ``i`` in ``test_idx`` (in that order), train = the other rows in order."""
    test_set = set(test_idx)
    return {"train": [s for i, s in enumerate(rows) if i not in test_set], "test": [rows[i] for i in test_idx]}
