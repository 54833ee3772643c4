"""Shared pieces of the fuzz suite: the outcome tally, the classifier and hypothesis settings."""

from __future__ import annotations

import os
import traceback
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Callable

from hypothesis import HealthCheck, settings

from graphdiff.errors import GraphdiffError

#: ``{entry point: Counter(outcome class)}``; outcome classes are ``"result"``, ``"typed:<Error>"``
TALLY: "defaultdict[str, Counter]" = defaultdict(Counter)

#: ``{entry point: rows skipped}``: input rows a reader skipped and counted in its report
SKIPS: Counter = Counter()

SCALE = float(os.environ.get("GRAPHDIFF_FUZZ_SCALE", "1"))
_PKG = str(Path(__import__("graphdiff").__file__).resolve().parent)


def fuzz_settings(n: int, **kw: Any) -> settings:
    """Hypothesis settings with ``max_examples = n * GRAPHDIFF_FUZZ_SCALE``, derandomized (the same
    inputs every run), no deadline (shared CPUs) and no database (nothing written to the repo)."""
    return settings(max_examples=max(1, int(n * SCALE)), deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck), **kw)


class UnexplainedError(AssertionError):
    """An input made an entry point fail with an exception that is not a clear, typed error."""


def _raised_in_graphdiff(exc: BaseException) -> bool:
    """The innermost frame is graphdiff source and its line is a ``raise`` statement (so the
    message was written by graphdiff, not by a C function graphdiff happened to call)."""
    tb = traceback.extract_tb(exc.__traceback__)
    if not tb:
        return False
    last = tb[-1]
    return str(Path(last.filename).resolve()).startswith(_PKG) and (last.line or "").lstrip().startswith("raise")


def is_typed(exc: BaseException) -> bool:
    """A clear error: a :class:`GraphdiffError`, or a ``ValueError`` / ``TypeError`` /
    ``FileNotFoundError`` raised by graphdiff's own code (so its message was written for the user),
    never one bubbling up from torch / numpy / RDKit internals."""
    if isinstance(exc, GraphdiffError):
        return True
    return isinstance(exc, (ValueError, TypeError, FileNotFoundError)) and _raised_in_graphdiff(exc)


#: a known bug: ``(bug id, exception type, substring of the message)``; see ``test_known_bugs.py``
KnownBug = tuple[str, type, str]


def classify(entry: str, fn: Callable[[], Any], known: tuple[KnownBug, ...] = ()) -> Any:
    """Run ``fn()``; tally ``"result"`` or ``"typed:<Error>"`` under ``entry`` and return the
    result (``None`` after a typed error). An exception matching a ``known`` bug (each has a
    strict-xfail reproducer in ``test_known_bugs.py``) is tallied as ``"known_bug:<id>"`` so it is
    counted, not dropped. Any other exception fails the test, naming it."""
    try:
        out = fn()
    except Exception as exc:  # noqa: BLE001 - the point is to sort every exception
        if is_typed(exc):
            TALLY[entry][f"typed:{type(exc).__name__}"] += 1
            return None
        for bug_id, etype, text in known:
            if isinstance(exc, etype) and text in str(exc):
                TALLY[entry][f"known_bug:{bug_id}"] += 1
                return None
        TALLY[entry]["UNEXPLAINED"] += 1
        raise UnexplainedError(f"{entry}: unexplained {type(exc).__name__}: {exc}") from exc
    TALLY[entry]["result"] += 1
    return out
