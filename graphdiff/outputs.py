"""Writing generated samples to files, chosen by the file's suffix.

Molecules (a model with an atom vocabulary):

- ``.smi``: one canonical SMILES per line; an invalid sample is the line ``INVALID``, so line ``i``
  is sample ``i``.
- ``.csv``: a header, then one row per sample: ``index, smiles, valid, valid_without_correction,
  corrected, logp, qed, mol_weight`` (RDKit Crippen logP, QED and average molecular weight; empty
  for invalid samples).
- ``.sdf``: RDKit ``SDWriter``, one record per sample (an invalid sample is an empty record with
  ``valid = 0``), each with the properties above.

Graphs (a model without a vocabulary):

- ``.json``: a JSON list of networkx node-link dicts.
- ``.graphml``: one GraphML document holding one ``<graph>`` per sample (read them all with
  ``networkx.readwrite.graphml.GraphMLReader()(path=...)``); node features as ``x``, edge
  values as ``edge_attr``, as JSON text.
- ``.pt``: a ``torch.save``'d list of PyTorch Geometric ``Data`` (read with
  ``torch.load(path, weights_only=False)``: only load files you made). The list is held in
  memory until the file is closed; use ``.json`` or ``.graphml`` for very large runs.

A suffix that does not fit the model is refused with the valid ones listed. Every writer streams
(:func:`open_writer`: ``write(samples)`` per batch, then ``close()``) into a temporary file next to
the target, renamed into place on ``close()``, so a file at the target is always complete.
:func:`check_output` checks the suffix and that the folder can be written **before** any work.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Protocol

from ._io import atomic_file

__all__ = ["MOLECULE_SUFFIXES", "GRAPH_SUFFIXES", "check_output", "open_writer", "write_samples", "suffixes_for"]

MOLECULE_SUFFIXES = (".smi", ".csv", ".sdf")
GRAPH_SUFFIXES = (".json", ".graphml", ".pt")

CSV_COLUMNS = ("index", "smiles", "valid", "valid_without_correction", "corrected", "logp", "qed", "mol_weight")


def suffixes_for(molecules: bool) -> tuple[str, ...]:
    """The file suffixes a molecule model (``True``) or a graph model (``False``) can write."""
    return MOLECULE_SUFFIXES if molecules else GRAPH_SUFFIXES


def check_output(path: str | os.PathLike, *, molecules: bool) -> Path:
    """Refuse an output path before any work: a suffix that does not fit the model (a
    ``ValueError`` listing the valid ones), a path that is a folder, or a folder that cannot be
    created or written (``ValueError`` naming it). Creates missing parent folders."""
    p = Path(path)
    valid = suffixes_for(molecules)
    if p.suffix.lower() not in valid:
        what = "a molecule model" if molecules else "a graph model (no atom vocabulary)"
        other = suffixes_for(not molecules)
        hint = f" ({p.suffix} is for {'graph' if molecules else 'molecule'} models)" if p.suffix.lower() in other else ""
        raise ValueError(f"cannot write {p.name!r}: {what} writes {', '.join(valid)}{hint}; got suffix {p.suffix or '(none)'!r}")
    if p.is_dir():
        raise ValueError(f"output {p} is a folder; give a file name ending in {', '.join(valid)}")
    check_writable_dir(p.parent)
    return p


def check_writable_dir(folder: str | os.PathLike, *, create: bool = True) -> Path:
    """Check a file can be written in ``folder`` (``ValueError`` naming it if not). With ``create``
    the folder is made if missing; without, nothing is left behind: the nearest existing ancestor
    must be a writable folder (a refused training config used to leave an empty ``--out``)."""
    d = Path(folder)
    probe = d
    if not create:
        while not probe.exists() and probe.parent != probe:
            probe = probe.parent
        if not probe.is_dir():
            raise ValueError(f"cannot write to {d}: {probe} is not a folder")
    try:
        if create:
            d.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=".graphdiff-write-check-", dir=probe)
        os.close(fd)
        os.unlink(name)
    except OSError as exc:
        raise ValueError(f"cannot write to {d}: {exc.strerror or exc}") from exc
    return d


class SampleWriter(Protocol):
    path: Path

    def write(self, samples: Any) -> None: ...

    def close(self) -> Path: ...

    def abort(self) -> None: ...


class _AtomicWriter:
    """Streams into a temporary file next to ``path``; ``close()`` renames it into place."""

    mode = "w"

    def __init__(self, path: Path) -> None:
        self.path = path
        # the package's one atomic writer (graphdiff._io), held open across write() calls
        self._file = atomic_file(path, self.mode, **({"newline": ""} if "b" not in self.mode else {}))
        self._fh = self._file.__enter__()
        self.count = 0
        self.start()

    def start(self) -> None:
        pass

    def finish(self) -> None:
        pass

    def close(self) -> Path:
        self.finish()
        self._file.__exit__(None, None, None)  # flush, fsync, rename into place
        return self.path

    def abort(self) -> None:
        if not self._fh.closed:  # removes the temporary file; the target is untouched
            err = RuntimeError("sample writing aborted")
            self._file.__exit__(type(err), err, None)

    def __enter__(self) -> "_AtomicWriter":
        return self

    def __exit__(self, exc_type: Any, *rest: Any) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


# ----------------------------------------------------------------------------- molecules
def _molecule_rows(samples: Any):
    """``(smiles or None, mol or None, result or None)`` per sample of a ``MoleculeSamples``."""
    report = getattr(samples, "report", None)
    results = list(getattr(report, "results", []) or [])
    for i, (smi, mol) in enumerate(zip(samples.smiles, samples.molecules)):
        yield smi, mol, (results[i] if i < len(results) else None)


def _properties(mol: Any) -> tuple[float, float, float]:
    from rdkit.Chem import QED, Crippen, Descriptors

    return float(Crippen.MolLogP(mol)), float(QED.qed(mol)), float(Descriptors.MolWt(mol))


class _SmiWriter(_AtomicWriter):
    def write(self, samples: Any) -> None:
        for smi, _, _ in _molecule_rows(samples):
            self._fh.write((smi if smi is not None else "INVALID") + "\n")
            self.count += 1


class _CsvWriter(_AtomicWriter):
    def start(self) -> None:
        import csv

        self._csv = csv.writer(self._fh, lineterminator="\n")
        self._csv.writerow(CSV_COLUMNS)

    def write(self, samples: Any) -> None:
        for smi, mol, res in _molecule_rows(samples):
            props = _properties(mol) if mol is not None else ("", "", "")
            fmt = [f"{v:.4f}" if isinstance(v, float) else v for v in props]
            self._csv.writerow([self.count, smi or "", int(mol is not None),
                                int(bool(getattr(res, "valid_without_correction", mol is not None))),
                                int(bool(getattr(res, "corrected", False))), *fmt])
            self.count += 1


class _SdfWriter(_AtomicWriter):
    def start(self) -> None:
        from rdkit import Chem

        self._sdf = Chem.SDWriter(self._fh)

    def write(self, samples: Any) -> None:
        from rdkit import Chem

        for smi, mol, res in _molecule_rows(samples):
            m = Chem.Mol(mol) if mol is not None else Chem.Mol()
            m.SetProp("_Name", f"sample_{self.count}")
            m.SetIntProp("index", self.count)
            m.SetIntProp("valid", int(mol is not None))
            if res is not None:
                m.SetIntProp("valid_without_correction", int(bool(res.valid_without_correction)))
                m.SetIntProp("corrected", int(bool(res.corrected)))
            if mol is not None:
                m.SetProp("smiles", smi)
                logp, qed, mw = _properties(mol)
                m.SetDoubleProp("logp", logp)
                m.SetDoubleProp("qed", qed)
                m.SetDoubleProp("mol_weight", mw)
            self._sdf.write(m)
            self.count += 1

    def finish(self) -> None:
        self._sdf.flush()


# ----------------------------------------------------------------------------- graphs
class _JsonWriter(_AtomicWriter):
    def start(self) -> None:
        self._fh.write("[")

    def write(self, samples: Any) -> None:
        import networkx as nx

        for g in samples.graphs:
            self._fh.write(("," if self.count else "") + json.dumps(nx.node_link_data(g, edges="links")))
            self.count += 1

    def finish(self) -> None:
        self._fh.write("]\n")


class _GraphmlWriter(_AtomicWriter):
    """GraphML by hand (networkx writes one graph per document): keys ``x`` (node) and
    ``edge_attr`` (edge), values as JSON text."""

    def start(self) -> None:
        self._fh.write('<?xml version="1.0" encoding="utf-8"?>\n'
                       '<graphml xmlns="http://graphml.graphdrawing.org/xmlns" '
                       'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
                       'xsi:schemaLocation="http://graphml.graphdrawing.org/xmlns '
                       'http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd">\n'
                       '<key id="x" for="node" attr.name="x" attr.type="string"/>\n'
                       '<key id="edge_attr" for="edge" attr.name="edge_attr" attr.type="string"/>\n')

    def write(self, samples: Any) -> None:
        from xml.sax.saxutils import escape

        for g in samples.graphs:
            out = [f'<graph id="G{self.count}" edgedefault="undirected">']
            for v, d in g.nodes(data=True):
                data = f'<data key="x">{escape(json.dumps(d["x"]))}</data>' if "x" in d else ""
                out.append(f'<node id="{v}">{data}</node>')
            for u, v, d in g.edges(data=True):
                data = f'<data key="edge_attr">{escape(json.dumps(d["edge_attr"]))}</data>' if "edge_attr" in d else ""
                out.append(f'<edge source="{u}" target="{v}">{data}</edge>')
            out.append("</graph>\n")
            self._fh.write("\n".join(out))
            self.count += 1

    def finish(self) -> None:
        self._fh.write("</graphml>\n")


class _PtWriter(_AtomicWriter):
    mode = "wb"

    def start(self) -> None:
        self._data: list = []

    def write(self, samples: Any) -> None:
        data = samples.state.to_data_list()
        self._data.extend(data)
        self.count += len(data)

    def finish(self) -> None:
        import torch

        torch.save(self._data, self._fh)


_WRITERS = {".smi": _SmiWriter, ".csv": _CsvWriter, ".sdf": _SdfWriter,
            ".json": _JsonWriter, ".graphml": _GraphmlWriter, ".pt": _PtWriter}


def open_writer(path: str | os.PathLike, *, molecules: bool) -> SampleWriter:
    """A streaming writer for ``path`` (format by suffix, checked by :func:`check_output`):
    ``write(samples)`` appends a batch of ``GraphSamples`` / ``MoleculeSamples``; ``close()``
    renames the finished file into place; ``abort()`` removes the partial file."""
    p = check_output(path, molecules=molecules)
    return _WRITERS[p.suffix.lower()](p)


def write_samples(samples: Any, path: str | os.PathLike) -> Path:
    """Write ``samples`` (``GraphSamples`` or ``MoleculeSamples``) to ``path`` in the format of its
    suffix (see the module docstring); atomic."""
    writer = open_writer(path, molecules=hasattr(samples, "smiles"))
    try:
        writer.write(samples)
    except BaseException:
        writer.abort()
        raise
    return writer.close()
