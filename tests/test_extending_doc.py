"""docs/extending.md stays true: its python blocks run, in order, in one namespace (registering a
toy sampler, SDE and CTMC rate family and running the conformance suites on them, as the page
shows); the registrations are removed afterwards."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parent.parent / "docs" / "extending.md"


def test_extending_page_code_runs():
    from graphdiff.processes import PROCESSES
    from graphdiff.samplers import SAMPLERS
    from graphdiff.testing.samplers import SAMPLER_CASES

    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert len(blocks) >= 6
    ns: dict = {"__name__": "extending_doc"}
    try:
        for i, code in enumerate(blocks):
            exec(compile(code, f"{DOC.name}[block {i}]", "exec"), ns)
        assert "ode_midpoint" in SAMPLERS and "constant_vp" in PROCESSES and "first_class" in PROCESSES
        with pytest.raises(ValueError, match="valid choices"):
            SAMPLERS.get("ode_midpointt")
    finally:
        for reg, name in ((SAMPLERS, "ode_midpoint"), (PROCESSES, "constant_vp"), (PROCESSES, "first_class")):
            if name in reg:
                reg.unregister(name)
        SAMPLER_CASES.pop("ode_midpoint", None)
