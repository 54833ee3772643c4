"""The bundled models' cards keep loading through the generic process (de)serialisation:
each loads, its process saves and restores itself to the same maths, and it samples a couple of
graphs."""

from __future__ import annotations

import json

import pytest
import torch

from graphdiff.pipelines import list_pretrained, load_pretrained
from graphdiff.processes.registry import process_from_config
from graphdiff.testing import assert_configs_close

BUNDLED = ["community_small_sde", "ego_small_sde", "qm9_cond", "qm9_ctmc", "qm9_sde", "zinc250k_ctmc"]


def test_the_bundled_models_are_installed():
    assert sorted(list_pretrained()) == BUNDLED


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_card_loads_restores_its_process_and_samples(name):
    pipe = load_pretrained(name)
    proc = pipe.process
    back = process_from_config(json.loads(json.dumps(proc.config())))
    assert_configs_close(back.config(), proc.config())
    t = torch.tensor([0.2, 0.7], dtype=torch.float64)
    if pipe.family == "continuous":
        for key, comp in proc.components.items():
            torch.testing.assert_close(back.components[key].alpha(t), comp.alpha(t))
            torch.testing.assert_close(back.components[key].sigma(t), comp.sigma(t))
    else:
        for a, b in zip(back.components, proc.components):
            torch.testing.assert_close(a.transition(0.2, 0.7), b.transition(0.2, 0.7))
    out = pipe.sample(2, steps=2, seed=0)
    assert len(out) == 2 and out.nfe > 0
