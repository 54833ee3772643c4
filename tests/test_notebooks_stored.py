"""Notebooks are stored with their outputs, so their plots show on a code host without running them
(``python notebooks/store_outputs.py NAME`` executes one in fast mode and stores it), and stay small.
CI still executes every notebook (``make test`` runs them with nbmake)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))
MAX_BYTES = 2_000_000  # a whole notebook
MAX_IMAGE_BYTES = 400_000  # one stored figure


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_stored_executed_with_its_plots(path):
    nb = json.loads(path.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    fix = f"run: python notebooks/store_outputs.py {path.stem}"
    assert all(c.get("execution_count") for c in code if "".join(c["source"]).strip()), f"{path.name} is not executed; {fix}"
    plots = any("plt." in "".join(c["source"]) or "subplots(" in "".join(c["source"]) for c in code)
    images = [base64.b64decode(o["data"][kind]) for c in code for o in c.get("outputs", [])
              for kind in ("image/png", "image/jpeg") if kind in o.get("data", {})]
    if plots:
        assert images, f"{path.name} draws plots but stores none; {fix}"
    assert path.stat().st_size < MAX_BYTES, f"{path.name} is {path.stat().st_size:,} bytes"
    assert all(len(im) < MAX_IMAGE_BYTES for im in images), f"{path.name} stores a figure over {MAX_IMAGE_BYTES:,} bytes"
    errors = [o for c in code for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, f"{path.name} stores an error output"
