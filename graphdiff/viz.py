"""Pictures: molecule grids, graph drawings, generated-vs-reference statistic histograms and
training curves. matplotlib (extra ``viz``) and RDKit (extra ``mol``) are imported lazily."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ._optional import require

__all__ = ["molecule_grid", "draw_graphs", "statistics_histograms", "training_curve"]


def _mpl():
    """pyplot, leaving the backend to matplotlib (it falls back to a headless one by itself, and
    notebooks keep their inline backend)."""
    require("matplotlib")
    return require("matplotlib.pyplot")


def molecule_grid(mols: Sequence[Any], path: str | Path | None = None, *, mols_per_row: int = 6,
                  size: int = 200, legends: Sequence[str] | None = None):
    """Draw RDKit molecules in a grid; writes a PNG or SVG (by ``path``'s suffix) and returns the
    image (PIL image for PNG, SVG text for SVG). ``None`` entries are skipped."""
    Chem = require("rdkit.Chem")
    Draw = require("rdkit.Chem.Draw")
    mols = [m for m in mols if m is not None]
    if legends is None:
        legends = [Chem.MolToSmiles(m) for m in mols]
    svg = path is not None and str(path).lower().endswith(".svg")
    if not mols:
        raise ValueError("molecule_grid needs at least one molecule")
    img = Draw.MolsToGridImage(list(mols), molsPerRow=mols_per_row, subImgSize=(size, size), legends=list(legends), useSVG=svg)
    if path is not None:
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        if svg:
            p.write_text(img if isinstance(img, str) else img.data)
        else:
            img.save(str(p))
    return img


def draw_graphs(graphs: Sequence[Any], path: str | Path | None = None, *, ncols: int = 5, title: str | None = None,
                node_size: int = 30, seed: int = 0):
    """Draw networkx graphs (spring layout, fixed seed) in a grid; returns the matplotlib figure."""
    plt = _mpl()
    import networkx as nx

    n = max(len(graphs), 1)
    nrows = (n + ncols - 1) // ncols
    fig, axes = plt.subplots(nrows, ncols, figsize=(2.4 * ncols, 2.4 * nrows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, g in zip(axes.flat, graphs):
        pos = nx.spring_layout(g, seed=seed) if g.number_of_nodes() else {}
        nx.draw_networkx(g, pos=pos, ax=ax, node_size=node_size, with_labels=False, width=0.6, node_color="#3b75af")
        ax.set_title(f"n={g.number_of_nodes()}, m={g.number_of_edges()}", fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig


def _degree_values(graphs: Sequence[Any]) -> np.ndarray:
    return np.array([d for g in graphs for _, d in g.degree()], dtype=float)


def _clustering_values(graphs: Sequence[Any]) -> np.ndarray:
    import networkx as nx

    return np.array([c for g in graphs for c in nx.clustering(g).values()], dtype=float)


def statistics_histograms(reference: Sequence[Any], generated: Sequence[Any], path: str | Path | None = None, *,
                          labels: tuple[str, str] = ("reference", "generated"), orbits: bool = True):
    """Generated-vs-reference histograms of degree, clustering coefficient and (if the ``eval``
    extra is installed) mean 4-node orbit counts; returns the figure."""
    plt = _mpl()
    panels = [("degree", _degree_values), ("clustering", _clustering_values)]
    if orbits:
        try:
            from .metrics.graph_stats import mean_orbit_counts

            panels.append(("orbit counts (mean per node)", lambda gs: np.concatenate([mean_orbit_counts(g).ravel() for g in gs])))
        except Exception:  # orbit extra missing: two panels
            pass
    fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 3.2))
    for ax, (name, fn) in zip(np.atleast_1d(axes), panels):
        a, b = fn(reference), fn(generated)
        hi = max(a.max(initial=0), b.max(initial=0))
        bins = np.linspace(0, hi if hi > 0 else 1, 30)
        ax.hist(a, bins=bins, alpha=0.55, density=True, label=labels[0])
        ax.hist(b, bins=bins, alpha=0.55, density=True, label=labels[1])
        ax.set_title(name)
    np.atleast_1d(axes)[0].legend()
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig


def training_curve(losses: Sequence[float], path: str | Path | None = None, *, smooth: int = 50, title: str = "training loss"):
    """Plot a loss curve (raw and moving average); returns the figure."""
    plt = _mpl()
    y = np.asarray(losses, dtype=float)
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.plot(np.arange(1, len(y) + 1), y, alpha=0.3, lw=0.8, label="loss")
    if len(y) >= smooth > 1:
        k = np.ones(smooth) / smooth
        ax.plot(np.arange(smooth, len(y) + 1), np.convolve(y, k, mode="valid"), lw=1.5, label=f"moving average ({smooth})")
    ax.set_xlabel("step")
    ax.set_yscale("log" if (y > 0).all() and len(y) else "linear")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig
