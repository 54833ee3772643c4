"""Bundled names load the diffusers way: an alias resolves within the class's family, pipelines are
callable, and ``graphdiff models`` shows the aliases."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from graphdiff.cli import app
from graphdiff.pipelines import GraphDiffusionPipeline, list_pretrained, load_pretrained
from graphdiff.pipelines.continuous import ContinuousGraphDiffusion
from graphdiff.pipelines.discrete import DiscreteGraphDiffusion
from graphdiff.pipelines.pretrained import resolve

pytestmark = pytest.mark.skipif(not {"qm9_ctmc", "qm9_sde"} <= set(list_pretrained()), reason="bundled qm9 models absent")


def test_an_alias_resolves_within_the_family_of_the_class():
    assert resolve("qm9").name == "qm9_ctmc" and resolve("qm9", family="continuous").name == "qm9_sde"
    cont = ContinuousGraphDiffusion.from_pretrained("qm9")
    disc = DiscreteGraphDiffusion.from_pretrained("qm9")
    assert type(cont) is ContinuousGraphDiffusion and type(disc) is DiscreteGraphDiffusion
    assert type(GraphDiffusionPipeline.from_pretrained("qm9")) is type(load_pretrained("qm9")) is DiscreteGraphDiffusion
    with pytest.raises(ValueError, match="no bundled continuous model for 'zinc250k'.*qm9_sde"):
        ContinuousGraphDiffusion.from_pretrained("zinc250k")


def test_a_pipeline_is_callable(tmp_path):
    pipe = DiscreteGraphDiffusion.from_pretrained("qm9")
    a, b = pipe(3, steps=2, seed=1), pipe.sample(3, steps=2, seed=1)
    assert a.smiles == b.smiles and len(a) == 3
    path = pipe.save_pretrained(tmp_path / "m")
    assert type(DiscreteGraphDiffusion.from_pretrained(str(path))) is DiscreteGraphDiffusion  # a folder still loads


def test_models_command_shows_the_aliases():
    res = CliRunner().invoke(app, ["models"])
    assert res.exit_code == 0, res.output
    row = {line.split()[0]: line for line in res.output.splitlines() if line.strip()}
    assert " qm9 " in row["qm9_ctmc"] and "qm9 (ContinuousGraphDiffusion)" in row["qm9_sde"]
    cards = {c["name"]: c for c in list_pretrained(details=True)}
    assert cards["qm9_ctmc"]["aliases"] == ["qm9"]
