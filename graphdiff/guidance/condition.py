"""The named condition ``y`` of a conditional model: which entries it has (RDKit properties, the
user's own numeric columns, class labels), how continuous entries are standardised, the range
seen in training (targets far outside it are warned about), and condition dropout for
classifier-free guidance.

A batch of conditions is a float tensor ``Y`` ``(B, k)`` in entry order: standardised values for
continuous entries, class indices for labels, NaN wherever an entry is absent (the all-NaN row
is the null condition). :meth:`ConditionSpec.network_kwargs` turns it into the ``**cond`` the
networks take (:class:`graphdiff.nn.layers.GlobalConditioning`).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import torch
from torch import Tensor

__all__ = ["ConditionEntry", "ConditionSpec", "drop_conditions", "KINDS"]

KINDS = ("property", "column", "label")
#: a target this many training standard deviations beyond the training range is warned about
FAR_OUTSIDE_STDS = 1.0


@dataclass(frozen=True)
class ConditionEntry:
    """One entry of a condition. ``kind``: ``"property"`` (an RDKit property of
    :mod:`graphdiff.data.properties`), ``"column"`` (a user's numeric column) or ``"label"`` (a
    class index in ``[0, num_classes)``). Continuous entries carry their training ``mean`` /
    ``std`` (standardisation) and ``low`` / ``high`` (the training range)."""

    name: str
    kind: str = "property"
    mean: float = 0.0
    std: float = 1.0
    low: float = -math.inf
    high: float = math.inf
    num_classes: int = 0

    def to_dict(self) -> dict[str, Any]:
        if self.kind == "label":
            return {"name": self.name, "kind": self.kind, "num_classes": self.num_classes}
        return {"name": self.name, "kind": self.kind, "mean": self.mean, "std": self.std, "low": self.low, "high": self.high}


@dataclass
class ConditionSpec:
    """The condition a model was trained with (stored in its card as ``card["condition"]``).

    ``dropout``: probability that a training graph's whole condition is dropped (the null
    condition, so one network is conditional and unconditional: classifier-free guidance, Ho &
    Salimans 2022); ``entry_dropout``: probability that each remaining entry is dropped on its own
    (so any subset of the entries can be given at sampling)."""

    entries: list[ConditionEntry]
    dropout: float = 0.1
    entry_dropout: float = 0.1
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        names = [e.name for e in self.entries]
        if not names:
            raise ValueError("a condition needs at least one entry")
        if len(set(names)) != len(names):
            raise ValueError(f"condition entries must have distinct names, got {names}")
        for e in self.entries:
            if e.kind not in KINDS:
                raise ValueError(f"unknown condition kind {e.kind!r}; valid kinds: {', '.join(KINDS)}")
            if e.kind == "label" and e.num_classes < 1:
                raise ValueError(f"label {e.name!r} needs num_classes >= 1")
            if e.kind != "label" and not (e.std > 0 and math.isfinite(e.std)):
                raise ValueError(f"condition {e.name!r} needs a positive finite std, got {e.std}")
        for k, v in (("dropout", self.dropout), ("entry_dropout", self.entry_dropout)):
            if not 0.0 <= float(v) < 1.0:
                raise ValueError(f"condition {k} must lie in [0, 1), got {v}")

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_data(cls, names: Sequence[str], values: np.ndarray | Tensor, *, kinds: Sequence[str] | None = None,
                  num_classes: Mapping[str, int] | None = None, dropout: float = 0.1,
                  entry_dropout: float = 0.1) -> "ConditionSpec":
        """Statistics of raw training ``values`` ``(n, k)`` (NaN = absent, ignored): mean, std and
        range of continuous entries; labels take ``num_classes[name]`` (default: max + 1)."""
        vals = np.asarray(values, dtype=np.float64).reshape(-1, len(names))
        kinds = list(kinds or ["property"] * len(names))
        entries = []
        for j, (n, k) in enumerate(zip(names, kinds)):
            col = vals[:, j][~np.isnan(vals[:, j])]
            if col.size == 0:
                raise ValueError(f"condition {n!r} has no value in the training data")
            if k == "label":
                if np.any(col != np.round(col)) or col.min() < 0:
                    raise ValueError(f"label {n!r} must hold non-negative integers")
                K = int((num_classes or {}).get(n, int(col.max()) + 1))
                entries.append(ConditionEntry(n, "label", num_classes=K))
            else:
                std = float(col.std()) if col.size > 1 else 1.0
                entries.append(ConditionEntry(n, k, mean=float(col.mean()), std=std if std > 0 else 1.0,
                                              low=float(col.min()), high=float(col.max())))
        return cls(entries, dropout=dropout, entry_dropout=entry_dropout)

    def to_dict(self) -> dict[str, Any]:
        return {"entries": [e.to_dict() for e in self.entries], "dropout": self.dropout,
                "entry_dropout": self.entry_dropout, **self.extra}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "ConditionSpec":
        d = dict(d)
        entries = [ConditionEntry(**e) for e in d.pop("entries")]
        return cls(entries, dropout=float(d.pop("dropout", 0.1)), entry_dropout=float(d.pop("entry_dropout", 0.1)), extra=d)

    # ------------------------------------------------------------------ views
    @property
    def names(self) -> list[str]:
        return [e.name for e in self.entries]

    def __getitem__(self, name: str) -> ConditionEntry:
        for e in self.entries:
            if e.name == name:
                return e
        raise self._unknown(name)

    def _unknown(self, name: str) -> ValueError:
        return ValueError(f"unknown condition {name!r}; this model is conditioned on: {', '.join(self.describe())}")

    def describe(self) -> list[str]:
        """``name (training range low..high)`` / ``name (label 0..K-1)`` per entry."""
        out = []
        for e in self.entries:
            out.append(f"{e.name} (label 0..{e.num_classes - 1})" if e.kind == "label"
                       else f"{e.name} (training range {e.low:.4g}..{e.high:.4g})")
        return out

    def cond_dims(self) -> dict[str, int]:
        """Continuous entries for the network's ``cond_dims``."""
        return {e.name: 1 for e in self.entries if e.kind != "label"}

    def cond_classes(self) -> dict[str, int]:
        """Label entries for the network's ``cond_classes``."""
        return {e.name: e.num_classes for e in self.entries if e.kind == "label"}

    @property
    def property_names(self) -> list[str]:
        """The entries computed with RDKit from a molecule (:mod:`graphdiff.data.properties`)."""
        return [e.name for e in self.entries if e.kind == "property"]

    # ------------------------------------------------------------------ values
    def standardise(self, raw: np.ndarray | Tensor) -> Tensor:
        """Raw values ``(n, k)`` (NaN = absent) -> the float32 ``Y`` ``(n, k)`` the network takes."""
        y = torch.as_tensor(np.asarray(raw, dtype=np.float64)).reshape(-1, len(self.entries)).clone()
        for j, e in enumerate(self.entries):
            if e.kind != "label":
                y[:, j] = (y[:, j] - e.mean) / e.std
        return y.float()

    def unstandardise(self, y: Tensor) -> Tensor:
        """Inverse of :meth:`standardise`."""
        y = y.double().clone()
        for j, e in enumerate(self.entries):
            if e.kind != "label":
                y[:, j] = y[:, j] * e.std + e.mean
        return y

    def network_kwargs(self, y: Tensor) -> dict[str, Tensor]:
        """``Y`` ``(B, k)`` -> the network's ``**cond`` (one ``(B,)`` tensor per entry)."""
        return {e.name: y[:, j] for j, e in enumerate(self.entries)}

    def targets(self, condition: Mapping[str, Any], n: int, *, warn: bool = True) -> np.ndarray:
        """Raw target values ``(n, k)`` from a user's ``{name: value or n values}`` (absent entries
        NaN). Raises ``ValueError`` for an empty condition, unknown names (listing the valid ones),
        a wrong number of values or an invalid label; warns, with the training range, about targets
        more than :data:`FAR_OUTSIDE_STDS` training standard deviations outside it."""
        if not condition:
            raise ValueError(f"empty condition; give at least one of: {', '.join(self.describe())}")
        out = np.full((n, len(self.entries)), np.nan)
        index = {e.name: j for j, e in enumerate(self.entries)}
        for name, value in condition.items():
            if name not in index:
                raise self._unknown(name)
            e = self.entries[index[name]]
            v = np.asarray(value, dtype=np.float64).reshape(-1)
            if v.size == 1:
                v = np.full(n, v[0])
            if v.size != n:
                raise ValueError(f"condition {name!r} has {v.size} values for {n} samples (give one value or {n})")
            if e.kind == "label":
                ok = np.isnan(v) | ((v == np.round(v)) & (v >= 0) & (v < e.num_classes))
                if not ok.all():
                    raise ValueError(f"label {name!r} must be an integer in [0, {e.num_classes}), got {v[~ok][0]!r}")
            else:
                fin = v[~np.isnan(v)]
                if not np.all(np.isfinite(fin)):
                    raise ValueError(f"condition {name!r} must be finite, got {fin[~np.isfinite(fin)][0]!r}")
                far = fin[(fin < e.low - FAR_OUTSIDE_STDS * e.std) | (fin > e.high + FAR_OUTSIDE_STDS * e.std)]
                if warn and far.size:
                    warnings.warn(f"target {name}={far[0]:.4g} lies far outside the training range "
                                  f"{e.low:.4g}..{e.high:.4g}: the model has not seen such molecules, expect poor "
                                  f"targeting", UserWarning, stacklevel=3)
            out[:, index[name]] = v
        return out


def drop_conditions(y: Tensor, dropout: float, entry_dropout: float = 0.0,
                    generator: torch.Generator | None = None) -> Tensor:
    """Condition dropout for classifier-free guidance: each row of ``Y`` ``(B, k)`` becomes the
    null condition (all NaN) with probability ``dropout``; each entry of the other rows becomes
    NaN with probability ``entry_dropout``. Returns a new tensor."""
    if y.numel() == 0 or (dropout <= 0 and entry_dropout <= 0):
        return y
    B, k = y.shape
    u = torch.rand(B, 1 + k, generator=generator, device=y.device)
    drop = (u[:, :1] < dropout) | (u[:, 1:] < entry_dropout)
    return y.masked_fill(drop, float("nan"))
