"""What sampling returns: :class:`GraphSamples` (dense graphs, network calls, timings) and
:class:`MoleculeSamples` (plus the decoded molecules and their SMILES)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..states import GraphState

__all__ = ["GraphSamples", "MoleculeSamples"]


@dataclass(repr=False)
class GraphSamples:
    """Generated graphs: the dense :class:`GraphState` plus timings. ``nfe`` counts every network
    call of the run (summed over batches and processes); ``nfe_per_graph`` the calls each graph went
    through (its batch's count; the most over batches, which all make the same number except with
    the adaptive ``rk45``)."""

    state: GraphState
    nfe: int = 0
    seconds: float = 0.0
    info: dict[str, Any] = field(default_factory=dict)
    nfe_per_graph: int = 0

    def __len__(self) -> int:
        return self.state.batch_size

    @property
    def graphs(self) -> list:
        """The samples as networkx graphs (nodes 0..n-1)."""
        return self.state.to_networkx()

    def summary(self) -> str:
        n = len(self)
        per = 1000 * self.seconds / max(n, 1)
        return f"{n} graphs, {self._calls()}, {self.seconds:.1f} s ({per:.2f} ms per graph)"

    def _calls(self) -> str:
        if not self.nfe_per_graph:  # made by hand, without the per-graph count
            return f"{self.nfe} network calls"
        if self.nfe_per_graph != self.nfe:
            return f"{self.nfe_per_graph} network calls per graph ({self.nfe} in all, over batches)"
        return f"{self.nfe} network calls per graph"

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {self.summary()}>"

    def to_dataframe(self) -> Any:
        """One row per sample (``pandas.DataFrame``): ``num_nodes``, ``num_edges``."""
        import pandas as pd

        nodes = self.state.node_mask.sum(-1).tolist()
        A = self.state.A if self.state.A.dim() == 3 else self.state.A.argmax(-1)
        edges = ((A != 0).sum((-1, -2)) // 2).tolist()
        return pd.DataFrame({"num_nodes": nodes, "num_edges": edges})

    def _repr_html_(self) -> str:
        import html

        df = self.to_dataframe()
        rows = [("samples", len(self)), ("network calls per graph", self.nfe_per_graph or self.nfe),
                ("seconds", f"{self.seconds:.1f}")]
        if len(df):
            rows += [("nodes (min / mean / max)", f"{df.num_nodes.min()} / {df.num_nodes.mean():.1f} / {df.num_nodes.max()}"),
                     ("edges (mean)", f"{df.num_edges.mean():.1f}")]
        return _html_table(rows, html)

    def save(self, path: str | Path) -> Path:
        """Write the samples in the format of the file's suffix (:mod:`graphdiff.outputs`: ``.json``,
        ``.graphml``, ``.pt`` for graphs; ``.smi``, ``.csv``, ``.sdf`` for molecules); atomic."""
        from ..outputs import write_samples

        return write_samples(self, path)


@dataclass(repr=False)
class MoleculeSamples(GraphSamples):
    """Generated molecules. ``molecules[i]`` is an RDKit ``Mol`` or ``None`` (invalid, reported in
    :attr:`report`); :attr:`smiles` holds canonical SMILES (``None`` for invalid ones). Conditional
    sampling fills :attr:`targets` (``{name: (n,) array}``, NaN where not asked) and
    :attr:`properties` (the achieved values, NaN for invalid molecules)."""

    molecules: list = field(default_factory=list)
    smiles: list = field(default_factory=list)
    report: Any = None
    targets: dict = field(default_factory=dict)
    properties: dict = field(default_factory=dict)

    def __getitem__(self, i: int) -> Any:
        return self.molecules[i]

    def __iter__(self):
        return iter(self.molecules)

    @property
    def valid_smiles(self) -> list[str]:
        return [s for s in self.smiles if s is not None]

    @property
    def single_fragment_fraction(self) -> float:
        """Fraction of the samples that decoded to one connected molecule (before the largest
        fragment is kept); NaN without a decoding report."""
        rep = self.report
        if rep is None or not getattr(rep, "n_total", 0):
            return float("nan")
        return 1.0 - rep.n_multi_fragment / rep.n_total

    def to_dataframe(self, *, properties: bool = True) -> Any:
        """One row per sample (``pandas.DataFrame``): ``smiles`` (None when invalid), ``valid``,
        ``valid_without_correction``, ``corrected``, ``num_atoms`` and, with ``properties``, RDKit's
        ``logp``, ``qed`` and ``mol_weight`` (the columns of ``sample -o x.csv``)."""
        import pandas as pd

        from ..outputs import _molecule_rows, _properties

        rows = []
        for smi, mol, res in _molecule_rows(self):
            row = {"smiles": smi, "valid": mol is not None,
                   "valid_without_correction": bool(getattr(res, "valid_without_correction", mol is not None)),
                   "corrected": bool(getattr(res, "corrected", False)),
                   "num_atoms": None if mol is None else mol.GetNumAtoms()}
            if properties:
                logp, qed, mw = _properties(mol) if mol is not None else (None, None, None)
                row.update(logp=logp, qed=qed, mol_weight=mw)
            rows.append(row)
        return pd.DataFrame(rows)

    def _repr_html_(self) -> str:
        """A grid of the first 12 valid molecules (RDKit SVG) and a table of the counts."""
        import html

        n = len(self)
        rep = self.report
        rows = [("molecules", n)]
        if rep is not None and rep.n_total == n:
            rows += [("valid without correction", f"{rep.n_valid_without_correction} ({100 * rep.validity_without_correction:.1f}%)"),
                     ("corrected", rep.n_corrected)]
        valid = self.valid_smiles
        rows += [("valid", f"{len(valid)} ({100 * len(valid) / max(n, 1):.1f}%)"),
                 ("unique among valid", len(set(valid))), ("network calls per graph", self.nfe_per_graph or self.nfe),
                 ("seconds", f"{self.seconds:.1f}")]
        grid = ""
        mols = [(m, s) for m, s in zip(self.molecules, self.smiles) if m is not None][:12]
        if mols:
            from rdkit.Chem import Draw

            grid = Draw.MolsToGridImage([m for m, _ in mols], molsPerRow=6, subImgSize=(140, 140), useSVG=True,
                                        legends=[s if len(s) <= 24 else s[:22] + "..." for _, s in mols])
            grid = f"<div>{grid[grid.find('<svg'):]}</div>"  # inline: without the XML declaration
        return grid + _html_table(rows, html)

    def summary(self) -> str:
        """One line that leads with validity *without* correction (the number the GDSS / DiGress
        protocols report), then how many molecules valence correction repaired."""
        n = len(self)
        per = 1000 * self.seconds / max(n, 1)
        frag = self.single_fragment_fraction
        frag_text = "" if frag != frag else f", {100 * frag:.1f}% in one fragment"
        return (f"{n} molecules, {validity_text(n, len(self.valid_smiles), self.report)}{frag_text}, {self._calls()}, "
                f"{self.seconds:.1f} s ({per:.2f} ms per molecule)")


def validity_text(n: int, n_valid: int, report: Any = None, *, n_valid_without_correction: int | None = None) -> str:
    """``"28 valid without correction (43.8%); 64 (100.0%) after correcting 36"``: the protocol's
    number first. Without a decoding report (or a count) only the valid count is known."""
    raw = n_valid_without_correction
    if raw is None and report is not None and getattr(report, "n_total", 0) == n:
        raw = report.n_valid_without_correction
    pct = lambda k: f"{100 * k / max(n, 1):.1f}%"  # noqa: E731
    if raw is None:
        return f"{n_valid} valid ({pct(n_valid)}; correction unknown)"
    if n_valid == raw:
        return f"{raw} valid without correction ({pct(raw)}), none corrected"
    return f"{raw} valid without correction ({pct(raw)}); {n_valid} ({pct(n_valid)}) after correcting {n_valid - raw}"


def _html_table(rows: list[tuple[str, Any]], html: Any) -> str:
    body = "".join(f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(str(v))}</td></tr>" for k, v in rows)
    return f"<table>{body}</table>"
