"""Metric cards: every number graphdiff reports travels with how it was computed.

A :class:`MetricCard` records the value together with the protocol preset, the kernel and its
bandwidth, the sample sizes, and how many inputs were empty, invalid or dropped, so that a table
of results can state exactly which definition it used (see ``docs/protocols.md``). Shared by the graph
metrics (``graphdiff.metrics.graph``) and the molecule metrics (``graphdiff.metrics.molecules``).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable

from ..errors import unknown_name


@dataclass(frozen=True)
class MetricCard:
    """One reported number and the facts needed to reproduce it.

    Attributes:
        name: metric name, e.g. ``"degree"``, ``"fcd"``, ``"validity"``.
        value: the value (``nan`` when it could not be computed; ``notes`` says why).
        protocol: the named preset, e.g. ``"gdss"``, ``"spectre"``, ``"moses"``.
        estimator: what the number is, e.g. ``"biased MMD^2"``, ``"fraction"``, ``"Frechet distance"``.
        kernel: kernel name for kernel-based metrics (``"gaussian_emd"``, ``"gaussian_tv"``, ...).
        sigma: kernel bandwidth, when there is one.
        distance_scaling: ground-distance divisor of the EMD (GDSS clustering: 100), when used.
        n_generated: number of generated samples handed in.
        n_reference: number of reference samples handed in.
        n_used_generated: generated samples that entered the value (after the protocol's drops).
        n_used_reference: reference samples that entered the value.
        n_empty: generated samples with zero nodes / empty molecules.
        n_edgeless: generated graphs with nodes but no edges (kept; counted for the record).
        n_dropped: generated samples the protocol removed before computing the value.
        n_invalid: samples that were invalid (molecule metrics), when relevant.
        notes: free text: drop rules, denominators, deviations from the reference code.
        extra: further numbers (counts, ratios, per-split values), JSON-serialisable.
    """

    name: str
    value: float
    protocol: str
    estimator: str = ""
    kernel: str | None = None
    sigma: float | None = None
    distance_scaling: float | None = None
    n_generated: int | None = None
    n_reference: int | None = None
    n_used_generated: int | None = None
    n_used_reference: int | None = None
    n_empty: int = 0
    n_edgeless: int = 0
    n_dropped: int = 0
    n_invalid: int | None = None
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (``nan`` becomes ``None``)."""
        d = asdict(self)
        if isinstance(d["value"], float) and math.isnan(d["value"]):
            d["value"] = None
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    def to_markdown(self, digits: int = 6) -> str:
        """A one-row markdown table (with header) for this card."""
        return cards_to_markdown([self], digits=digits)


_COLUMNS = (
    ("metric", lambda c, d: c.name),
    ("value", lambda c, d: _fmt(c.value, d)),
    ("protocol", lambda c, d: c.protocol),
    ("estimator", lambda c, d: c.estimator),
    ("kernel", lambda c, d: c.kernel or ""),
    ("sigma", lambda c, d: "" if c.sigma is None else f"{c.sigma:g}"),
    ("n_gen", lambda c, d: "" if c.n_generated is None else str(c.n_generated)),
    ("n_ref", lambda c, d: "" if c.n_reference is None else str(c.n_reference)),
    ("empty", lambda c, d: str(c.n_empty)),
    ("dropped", lambda c, d: str(c.n_dropped)),
    ("notes", lambda c, d: c.notes.replace("|", "/").replace("\n", " ")),
)


def _fmt(v: float, digits: int) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "nan"
    return f"{v:.{digits}f}"


def cards_to_markdown(cards: Iterable[MetricCard], digits: int = 6) -> str:
    """A markdown table with one row per card."""
    cards = list(cards)
    head = "| " + " | ".join(name for name, _ in _COLUMNS) + " |"
    sep = "|" + "|".join("---" for _ in _COLUMNS) + "|"
    rows = ["| " + " | ".join(fn(c, digits) for _, fn in _COLUMNS) + " |" for c in cards]
    return "\n".join([head, sep, *rows])


def cards_to_dataframe(cards: Iterable[MetricCard]) -> Any:
    """A ``pandas.DataFrame`` with one row per card, indexed by metric name (every card field a column)."""
    import pandas as pd

    rows = [asdict(c) for c in cards]
    return pd.DataFrame(rows).set_index("name") if rows else pd.DataFrame(columns=["value"])


class CardTable:
    """Tables for a result that holds metric cards (``_card_list()``): ``to_dataframe()`` and the
    HTML table Jupyter shows (metric, value, protocol, estimator, counts, notes)."""

    def _card_list(self) -> list[MetricCard]:
        raise NotImplementedError

    def to_dataframe(self) -> Any:
        """One row per metric (``pandas.DataFrame`` indexed by metric name; ``value`` and every card field)."""
        return cards_to_dataframe(self._card_list())

    def _repr_html_(self) -> str:
        import html

        head = "".join(f"<th>{name}</th>" for name, _ in _COLUMNS)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(fn(c, 4))}</td>" for _, fn in _COLUMNS) + "</tr>"
                       for c in self._card_list())
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


@dataclass(repr=False)
class MoleculeMetricsResult(CardTable):
    """Values, metric cards and the counts behind them.

    Attributes:
        values: metric name -> value (``nan`` when undefined; the card's notes say why).
        cards: one :class:`MetricCard` per value, in the order computed.
        counts: ``n_total`` (samples drawn), ``n_given`` (entries handed in), ``n_valid``,
            ``n_invalid`` (= n_total - n_valid), ``n_unique``, ``n_novel``, ``n_test``,
            ``n_test_invalid``, ``n_train`` where they apply.
        valid_smiles: canonical SMILES of the valid samples, duplicates kept, in input order."""

    values: dict[str, float]
    cards: list[MetricCard]
    counts: dict[str, int]
    valid_smiles: list[str] = field(default_factory=list, repr=False)

    def __getitem__(self, name: str) -> float:
        if name not in self.values:
            raise unknown_name("metric", name, list(self.values))
        return self.values[name]

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable values, counts and cards (``nan`` -> ``None``)."""
        return {
            "values": {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in self.values.items()},
            "counts": dict(self.counts),
            "cards": [c.to_dict() for c in self.cards],
        }

    def to_markdown(self, digits: int = 4) -> str:
        """Markdown table, one row per metric (value, protocol, counts, notes)."""
        return cards_to_markdown(self.cards, digits=digits)

    def _card_list(self) -> list[MetricCard]:
        return list(self.cards)

    def __repr__(self) -> str:
        vals = ", ".join(f"{k}={v:.4g}" for k, v in self.values.items())
        n = self.counts.get("n_total")
        return f"MoleculeMetricsResult({vals}{'' if n is None else f', n_total={n}'})"
