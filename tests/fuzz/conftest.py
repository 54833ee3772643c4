"""Fuzz-suite harness: every generated input goes through :func:`classify`, which records its
outcome class per entry point in a session-wide tally and fails on anything that is not a result
or a clear, typed error. The tally is printed at the end of the session (and written as JSON to
``$GRAPHDIFF_FUZZ_REPORT`` when set, for ``benchmarks/reliability.py``).

``GRAPHDIFF_FUZZ_SCALE`` (default 1) multiplies every test's ``max_examples``."""

from __future__ import annotations

import json
import os

import pytest

from ._harness import SKIPS, TALLY


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # noqa: ARG001
    if not TALLY:
        return
    total = sum(sum(c.values()) for c in TALLY.values())
    tr = terminalreporter
    tr.section("graphdiff fuzz inputs")
    for entry in sorted(TALLY):
        c = TALLY[entry]
        outcomes = ", ".join(f"{k}={v}" for k, v in sorted(c.items()))
        tr.write_line(f"{entry:<40s} {sum(c.values()):>6d}  {outcomes}")
    tr.write_line(f"{'TOTAL':<40s} {total:>6d}")
    path = os.environ.get("GRAPHDIFF_FUZZ_REPORT")
    if path:
        with open(path, "w") as f:
            json.dump({"tally": {e: dict(c) for e, c in TALLY.items()}, "skips": dict(SKIPS)}, f, indent=1, sort_keys=True)


@pytest.fixture(scope="session")
def fuzz_tally():
    """The session-wide ``{entry point: Counter(outcome class)}`` tally."""
    return TALLY
