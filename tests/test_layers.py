"""The package's import layers, read from the source with ``ast`` (every import, also the ones
inside functions, since a lazy import is still a dependency).

Each module belongs to a room (the longest prefix listed in :data:`FLOORS`) and each room to a
floor; an import may go to a room on the same floor or below, never up. Besides: processes never
import ``graphdiff.nn``; training imports nothing from data, metrics or pipelines; no two metrics
modules import each other. A new top-level module or subpackage must be placed on a floor here.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "graphdiff"

#: rooms by floor, lowest first
FLOORS: list[list[str]] = [
    # 0: foundations
    ["graphdiff.errors", "graphdiff._optional", "graphdiff._lazy", "graphdiff._io", "graphdiff.registry", "graphdiff.utils", "graphdiff.hardware",
     "graphdiff.outputs"],
    # 1: the state containers
    ["graphdiff.states"],
    # 2: maths on states, networks, data, metrics (none of which knows the others' internals)
    ["graphdiff.processes", "graphdiff.guidance.ctmc", "graphdiff.guidance.condition", "graphdiff.guidance.node_counts",
     "graphdiff.nn", "graphdiff.data", "graphdiff.metrics"],
    # 3: what runs a process: losses, samplers, the training loop
    ["graphdiff.losses", "graphdiff.samplers", "graphdiff.training"],
    # 4: built from processes + samplers + losses
    ["graphdiff.likelihood", "graphdiff.latent", "graphdiff.testing", "graphdiff.examples", "graphdiff.viz"],
    # 5: user-facing models (conditional training / sampling is part of them)
    ["graphdiff.pipelines", "graphdiff.guidance"],
    # 6: applications of the models
    ["graphdiff.cli"],
    # 7: the curated public API (lazy) and the demo that uses it
    ["graphdiff", "graphdiff.demo"],
]
FLOOR = {room: i for i, rooms in enumerate(FLOORS) for room in rooms}


def room_of(module: str) -> str:
    """The longest prefix of ``module`` listed in :data:`FLOORS`."""
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        prefix = ".".join(parts[:n])
        if prefix in FLOOR:
            return prefix
    raise KeyError(module)


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imports() -> list[tuple[str, str, int]]:
    """``(importing module, imported graphdiff module, line)`` for every import in the package."""
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        mod = _module_name(path)
        pkg = mod if path.name == "__init__.py" else mod.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = pkg.split(".")[: len(pkg.split(".")) - (node.level - 1)]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                if not target.startswith("graphdiff"):
                    continue
                # "from . import x" / "from graphdiff import x": x may be a submodule
                for alias in node.names:
                    sub = f"{target}.{alias.name}"
                    out.append((mod, sub if _is_module(sub) else target, node.lineno))
            elif isinstance(node, ast.Import):
                out += [(mod, a.name, node.lineno) for a in node.names if a.name.startswith("graphdiff")]
    return out


def _is_module(name: str) -> bool:
    p = PACKAGE.parent.joinpath(*name.split("."))
    return p.with_suffix(".py").is_file() or (p / "__init__.py").is_file()


IMPORTS = imports()


def test_every_module_has_a_floor():
    rooms = {m for m, _, _ in IMPORTS} | {_module_name(p) for p in PACKAGE.rglob("*.py")}
    missing = sorted(m for m in rooms if not any(m == r or m.startswith(r + ".") for r in FLOOR))
    assert not missing, f"modules on no floor (add their room to FLOORS in tests/test_layers.py): {missing}"


def test_no_import_runs_up_the_floors():
    bad = []
    for mod, target, line in IMPORTS:
        a, b = room_of(mod), room_of(target)
        if FLOOR[b] > FLOOR[a]:
            bad.append(f"{mod}:{line} imports {target} ({b}, floor {FLOOR[b]} above {a}, floor {FLOOR[a]})")
    assert not bad, "imports running up the floors:\n" + "\n".join(bad)


@pytest.mark.parametrize("room,forbidden", [
    ("graphdiff.processes", ("graphdiff.nn",)),
    ("graphdiff.training", ("graphdiff.data", "graphdiff.metrics", "graphdiff.pipelines")),
    ("graphdiff.nn", ("graphdiff.data",)),
])
def test_rooms_that_must_not_meet(room, forbidden):
    bad = [f"{m}:{line} imports {t}" for m, t, line in IMPORTS
           if (m == room or m.startswith(room + ".")) and any(t == f or t.startswith(f + ".") for f in forbidden)]
    assert not bad, "\n".join(bad)


def test_no_mutual_imports_between_metrics_modules():
    edges = {(m, t) for m, t, _ in IMPORTS if m.startswith("graphdiff.metrics.") and t.startswith("graphdiff.metrics.") and m != t}
    mutual = sorted({tuple(sorted(e)) for e in edges if (e[1], e[0]) in edges})
    assert not mutual, f"metrics modules importing each other: {mutual}"


def test_the_checker_sees_a_violation():
    """Control: an import from processes up to pipelines is reported."""
    assert FLOOR[room_of("graphdiff.pipelines.base")] > FLOOR[room_of("graphdiff.processes.sde.vp")]
    assert room_of("graphdiff.guidance.ctmc") == "graphdiff.guidance.ctmc"
    assert room_of("graphdiff.guidance.sampling") == "graphdiff.guidance"
    assert len(IMPORTS) > 200


def test_samplers_do_not_load_the_predictor():
    """``graphdiff.samplers.ctmc`` imports ``graphdiff.guidance.ctmc``, which runs the guidance
    package's init first: that init is lazy, so a sampler import stays below the predictor (an
    ``nn`` model and its training loop). Checked in a fresh interpreter."""
    import json
    import subprocess
    import sys

    code = ("import json, sys, graphdiff.samplers; "
            "print(json.dumps([m for m in sys.modules if m.startswith('graphdiff.guidance.')]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    loaded = json.loads(out)
    assert "graphdiff.guidance.ctmc" in loaded
    assert not {"graphdiff.guidance.predictor", "graphdiff.guidance.predictor_training"} & set(loaded)

    from graphdiff import guidance  # the names still resolve, on first use

    assert guidance.NoisyGraphPredictor.__name__ == "NoisyGraphPredictor"
    assert set(guidance.__all__) <= set(dir(guidance))
